"""Folders of this Unix user only, on a host other users share (a Hub's users, a lab machine):
where the kernels' mount points and their token file go.

A folder is private when ``os.lstat`` says it is a real folder (not a symbolic link), owned by
this uid, with mode exactly 0700. Anything else is refused with a message that names the
folder and the reason, never used: in a shared ``/tmp`` another user can create the folder
first, or plant a link to a folder of theirs. Only the standard library here, so that any
Python of the host can import this module (the tests run it as other Unix users).
"""

from __future__ import annotations

import os
import pwd
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

PRIVATE_MODE = 0o700


class NotPrivate(Exception):
    """A folder cs3lab would use is not this user's own; the message says which and why."""


def user_folder(name: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where this user's folder ``name`` is (nothing is created): ``$XDG_RUNTIME_DIR/<name>``
    when the runtime folder is this user's private one, else ``<tmp>/<name>-<uid>``."""
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and why_not_private(Path(runtime)) is None:
        return Path(runtime) / name
    return Path(env.get("TMPDIR") or tempfile.gettempdir()) / f"{name}-{os.getuid()}"


def make_private(folder: Path) -> Path:
    """``folder``, created with mode 0700 unless it exists; :class:`NotPrivate` unless it is
    then a real folder of this user with mode 0700."""
    try:
        os.mkdir(folder, PRIVATE_MODE)
    except FileExistsError:
        pass  # checked below like a new one: it may be another user's
    except OSError as err:
        raise NotPrivate(
            f"cs3lab cannot create its private folder {folder}: {err.strerror}"
        ) from None
    check_private(folder)
    return folder


def private_temp_folder(prefix: str) -> Path:
    """A new folder of this user only, with a random name in the temporary folder."""
    return make_private(Path(tempfile.mkdtemp(prefix=prefix)))


def check_private(folder: Path) -> None:
    """:class:`NotPrivate` unless ``folder`` is a real folder of this user with mode 0700."""
    problem = why_not_private(folder)
    if problem is not None:
        raise NotPrivate(
            f"{folder} {problem}, so cs3lab does not use it: the kernels' mount and files go "
            f"only in a folder of this user (uid {os.getuid()}) with mode 0700; remove it, or "
            "set XDG_RUNTIME_DIR or TMPDIR to a folder of your own"
        )


def why_not_private(folder: Path) -> str | None:
    """Why ``folder`` is not a private folder of this user, or None when it is."""
    try:
        info = os.lstat(folder)
    except OSError as err:
        return f"cannot be examined ({err.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a folder"
    if info.st_uid != os.getuid():
        return f"belongs to another user ({_user_name(info.st_uid)})"
    mode = stat.S_IMODE(info.st_mode)
    if mode != PRIVATE_MODE:
        return f"has mode {mode:04o}, not 0700"
    return None


def _user_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name}, uid {uid}"
    except KeyError:
        return f"uid {uid}"
