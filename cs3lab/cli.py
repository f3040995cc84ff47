"""``jupyter cs3lab check`` and ``jupyter cs3lab config`` (console script ``jupyter-cs3lab``).

Both load the configuration the Jupyter server loads (``jupyter_server_config`` and
``jupyter_cs3lab_config`` files in Jupyter's config path, ``CS3LAB_*`` variables, and
``--Class.trait=value`` arguments). The logic is in cs3lab/check.py and cs3lab/settings.py.
"""

from __future__ import annotations

import sys

from jupyter_core.application import JupyterApp
from traitlets import Bool, TraitError
from traitlets.config import Application

from . import __version__
from .app import CS3LabApp
from .check import check_site
from .config import CS3Connection
from .settings import (
    CONFIG_FILES,
    CONFIGURABLES,
    configured,
    effective_config,
    reference_markdown,
)
from .sharing.config import CS3Sharing


class _SiteApp(JupyterApp):
    """A subcommand that reads the server's configuration."""

    classes = CONFIGURABLES

    def load_config_file(self, suppress_errors: bool = True) -> None:  # type: ignore[override]
        for name in CONFIG_FILES:
            Application.load_config_file(self, name, path=self.config_file_paths)

    def start(self) -> None:
        try:
            self.run()
        except TraitError as err:  # a value of the wrong type or not among the choices
            print(f"Invalid cs3lab configuration: {err}", file=sys.stderr)
            self.exit(2)

    def run(self) -> None:
        raise NotImplementedError


class CheckApp(_SiteApp):
    name = "jupyter-cs3lab-check"
    description = (
        "Connect to the CS3 site with the effective configuration and say what works: "
        "gateway, credentials, home, data gateway, locks, versions, recycle bin, sharing, "
        "OCM, public links, kernel mount. Exits with 1 when something users need is broken."
    )

    def run(self) -> None:
        connection = CS3Connection(parent=self)
        sharing = CS3Sharing(parent=self)
        kernel_mount = configured(self, CS3LabApp, "kernel_mount")
        results = check_site(connection, sharing, kernel_mount)
        width = max(len(r.name) for r in results)
        for result in results:
            print(f"{result.status:<4}  {result.name:<{width}}  {result.message}")
        broken = [r.name for r in results if r.status == "FAIL"]
        if broken:
            print(f"cs3lab cannot work: {', '.join(broken)} failed", file=sys.stderr)
            self.exit(1)


class ConfigApp(_SiteApp):
    name = "jupyter-cs3lab-config"
    description = (
        "Print cs3lab's effective configuration (secrets are never configuration values; "
        "token- or password-like values are masked). --reference prints the configuration "
        "reference (docs/configuration.md) instead."
    )
    reference = Bool(False, help="Print the configuration reference in Markdown").tag(config=True)
    flags = {
        **JupyterApp.flags,
        "reference": ({"ConfigApp": {"reference": True}}, "Print the configuration reference"),
    }

    def run(self) -> None:
        if self.reference:
            sys.stdout.write(reference_markdown())
            return
        sys.stdout.write(effective_config(self))


class CS3LabCommand(JupyterApp):
    name = "jupyter-cs3lab"
    version = __version__
    description = "Operate cs3lab: check the connection to the CS3 site, show the configuration"
    subcommands = {
        "check": (CheckApp, CheckApp.description.splitlines()[0]),
        "config": (ConfigApp, ConfigApp.description.splitlines()[0]),
    }

    def start(self) -> None:
        if self.subapp is None:
            print("Use a subcommand: jupyter cs3lab check | jupyter cs3lab config", file=sys.stderr)
            self.print_subcommands()
            self.exit(2)
        self.subapp.start()


main = launch_new_instance = CS3LabCommand.launch_instance

if __name__ == "__main__":
    main()
