"""The Stat an existence check just made, for the write that follows it in the same request.

jupyter_server's contents handler asks whether a file exists and then saves it, and a new
notebook is named by asking whether ``Untitled.ipynb`` exists before it is saved. The write's
own checks (a folder, read-only, a newer stored version) need that same Stat: it is taken from
the check when both run in the same asyncio task (one request: tornado runs each handler in a
task of its own, with a copy of the context), at most :data:`RECENT_SECONDS` apart, and once.
A Stat made by another request is never used, nor one made before a write of this request.
"""

from __future__ import annotations

import time
from contextvars import ContextVar

from ..cs3.files import ResourceInfo

RECENT_SECONDS = 0.5

_recent: ContextVar[tuple[str, ResourceInfo | None, float] | None] = ContextVar(
    "cs3lab_recent_stat", default=None
)


def remember(path: str, info: ResourceInfo | None) -> None:
    """An existence check of ``path`` found ``info`` (None: nothing there)."""
    _recent.set((path, info, time.monotonic()))


def take(path: str) -> tuple[bool, ResourceInfo | None]:
    """(True, the Stat) when this task's last existence check was of ``path`` a moment ago;
    (False, None) otherwise. Either way it is not given twice."""
    recent = _recent.get()
    _recent.set(None)
    if recent is None or recent[0] != path or time.monotonic() - recent[2] > RECENT_SECONDS:
        return False, None
    return True, recent[1]


def forget() -> None:
    """A write happened: what was checked before it no longer holds."""
    _recent.set(None)
