"""cs3lab's configurable classes in one list: the effective configuration (secrets masked)
and the configuration reference (docs/configuration.md), both read from the traits.

A trait's environment variable is its ``env`` tag (``.tag(config=True, env="CS3LAB_...")``),
which is also where its default is read from (cs3lab/config.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from traitlets import Bool, Enum, Float, Integer, TraitType, Unicode
from traitlets.config import Application, Configurable

from .app import CS3LabApp
from .config import CS3Connection
from .contents_manager import CS3ContentsManager
from .contents_manager.checkpoints import CS3Checkpoints
from .merge.handlers import MergeConfig
from .sharing.config import CS3Sharing
from .sharing.ocm import CS3OCM

# The configuration files the Jupyter server reads (and cs3lab's extension after it), in
# every directory of Jupyter's config path.
CONFIG_FILES = ("jupyter_config", "jupyter_server_config", "jupyter_cs3lab_config")
# Each configurable class, with what it configures (the reference's section intro).
SECTIONS: dict[type[Configurable], str] = {
    CS3Connection: "Where the CS3 site is and how to sign in to it.",
    CS3ContentsManager: "JupyterLab's files: the user's CS3 home, uploads, copies, locks.",
    CS3Checkpoints: "'Revert to checkpoint': the storage's file versions, or copies.",
    CS3Sharing: "Shares with users and groups of the site, and public links.",
    CS3OCM: "Federated sharing with people at other sites (OCM).",
    MergeConfig: "'Make a copy' and 'Merge into original'.",
    CS3LabApp: "The jupyter_server extension itself.",
}
CONFIGURABLES: list[type[Configurable]] = list(SECTIONS)
MASK = "********"
_SECRET_NAME = re.compile(r"token|password|passwd|secret|credential", re.IGNORECASE)
_SECRET_VALUE = re.compile(r"eyJ[\w-]+\.[\w-]+|[A-Za-z0-9+_-]{40,}")
# Names of a secret's *source*, not of a secret: shown as they are.
_SOURCE_NAMES = ("secret_env", "secret_file")
_LONG_ENUM = 8  # an Enum with more choices is described, not listed


def own_traits(cls: type[Configurable]) -> dict[str, TraitType]:
    """The configurable traits a class defines itself (not those of jupyter_server's bases)."""
    return dict(sorted(cls.class_own_traits(config=True).items()))


def env_of(trait: TraitType) -> str:
    return trait.metadata.get("env", "")


# -- the effective configuration ------------------------------------------------------------


def masked(name: str, value: Any, mode: str = "") -> str:
    """``repr(value)``, or MASK where it could be a secret."""
    if name in _SOURCE_NAMES:
        return repr(value)
    secret_like = isinstance(value, str) and value and _SECRET_VALUE.search(value)
    link_token = name == "username" and mode == "publiclink" and value
    if (_SECRET_NAME.search(name) and value) or secret_like or link_token:
        return repr(MASK)
    return repr(value)


def _where(app: Application, cls: type[Configurable], name: str, trait: TraitType) -> str:
    if name in app.config.get(cls.__name__, {}):
        return "configured"
    env = env_of(trait)
    if env and env in os.environ:
        return f"from {env}"
    return "default"


def _instance(app: Application, cls: type[Configurable]) -> Configurable | None:
    """The class configured as the server would configure it; None for the extension app
    itself (a whole application), whose traits are read from the configuration."""
    if issubclass(cls, Application):
        return None
    return cls(parent=app)


def configured(app: Application, cls: type[Configurable], name: str) -> Any:
    """A static-default trait's value as ``app``'s configuration sets it for ``cls``."""
    return app.config.get(cls.__name__, {}).get(name, cls.class_traits()[name].default_value)


def _value(app: Application, instance: Configurable | None, cls, name: str) -> Any:
    return configured(app, cls, name) if instance is None else getattr(instance, name)


def _secret_note(connection: CS3Connection) -> list[str]:
    if connection.secret_file:
        path = Path(connection.secret_file).expanduser()
        state = "readable" if os.access(path, os.R_OK) else "MISSING or unreadable"
        return [f"# the secret is read from the file {path} ({state}; never shown)"]
    state = "set" if os.environ.get(connection.secret_env) else "NOT SET"
    return [f"# the secret is read from ${connection.secret_env} ({state}; never shown)"]


def effective_config(app: Application) -> str:
    """The effective configuration as ``c.Class.trait = value`` lines, secrets masked."""
    lines = ["# cs3lab's effective configuration (jupyter cs3lab config)"]
    files = app.loaded_config_files
    lines.append(f"# config files: {', '.join(files) if files else 'none found'}")
    server = app.config.get("ServerApp", {}).get("contents_manager_class", "")
    if server:
        lines.append(f"# c.ServerApp.contents_manager_class = {server!r}")
    else:
        lines.append(
            "# c.ServerApp.contents_manager_class is not set here: the server shows its "
            "local disk unless it is 'cs3lab.CS3ContentsManager'"
        )
    for cls in CONFIGURABLES:
        instance = _instance(app, cls)
        mode = getattr(instance, "auth_mode", "")
        lines.append("")
        for name, trait in own_traits(cls).items():
            value = masked(name, _value(app, instance, cls, name), mode)
            lines.append(f"c.{cls.__name__}.{name} = {value}  # {_where(app, cls, name, trait)}")
        if isinstance(instance, CS3Connection):
            lines += _secret_note(instance)
    return "\n".join(lines) + "\n"


# -- the reference ----------------------------------------------------------------------------


def type_words(trait: TraitType) -> str:
    if isinstance(trait, Enum):
        values = list(trait.values or ())
        if len(values) > _LONG_ENUM:
            return "str (a name from a fixed list; see the text)"
        return "one of " + ", ".join(f"`{v}`" for v in values)
    for kind, words in ((Bool, "bool"), (Integer, "int"), (Float, "float"), (Unicode, "str")):
        if isinstance(trait, kind):
            return words
    return type(trait).__name__


@contextmanager
def _without_cs3lab_environment() -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("CS3LAB_")}
    for key in saved:
        del os.environ[key]
    try:
        yield
    finally:
        os.environ.update(saved)


def default_words(cls: type[Configurable], name: str, trait: TraitType) -> str:
    """The default as the code computes it where no CS3LAB_* variable is set."""
    if name in getattr(cls, "_trait_default_generators", {}) and not issubclass(cls, Application):
        with _without_cs3lab_environment():
            value = getattr(cls(), name)
    else:
        value = trait.default_value
    return f"`{value!r}`"


def reference_markdown() -> str:
    """docs/configuration.md: every option of cs3lab's classes, from the traits."""
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated from the code by `jupyter cs3lab config --reference`; do not edit. "
        "tests/test_check.py fails when this file is out of date. -->",
        "",
        "cs3lab reads the same configuration as the Jupyter server: `jupyter_server_config.py`"
        " (or `.json`) and `jupyter_cs3lab_config.py` in Jupyter's config path, command-line "
        "options such as `--CS3Connection.gateway=...`, and for the options that name one, an "
        "environment variable (a configured value wins over the variable). `jupyter cs3lab "
        "config` prints the values in effect, `jupyter cs3lab check` tries them.",
        "",
        "The secret (password, OIDC token or reva token) is never an option: it is read from "
        "the file named by `CS3Connection.secret_file`, or else from the environment variable "
        "named by `CS3Connection.secret_env`.",
        "",
        "Besides the options below, `CS3ContentsManager` accepts those of jupyter_server's "
        "`ContentsManager` (e.g. `allow_hidden`, `hide_globs`), and "
        "`c.ServerApp.contents_manager_class = 'cs3lab.CS3ContentsManager'` selects it.",
    ]
    for cls, about in SECTIONS.items():
        out += ["", f"## {cls.__name__}", "", about]
        for name, trait in own_traits(cls).items():
            help_text = " ".join((trait.help or "").split())
            facts = [f"type: {type_words(trait)}", f"default: {default_words(cls, name, trait)}"]
            if env_of(trait):
                facts.append(f"environment variable: `{env_of(trait)}`")
            out += ["", f"### `c.{cls.__name__}.{name}`", ""]
            if help_text:
                out += [help_text, ""]
            out += ["- " + "\n- ".join(facts)]
    return "\n".join(out).rstrip("\n") + "\n"
