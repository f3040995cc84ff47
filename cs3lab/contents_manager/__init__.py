"""Jupyter contents (files, notebooks, folders, checkpoints) stored in CS3.

The manager and its checkpoints are imported on first use: a kernel's ``cs3://`` imports the
pure :mod:`.mounts` of this package without jupyter_server.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CS3Checkpoints", "CS3ContentsManager"]


def __getattr__(name: str) -> Any:
    if name == "CS3ContentsManager":
        from .manager import CS3ContentsManager

        return CS3ContentsManager
    if name == "CS3Checkpoints":
        from .checkpoints import CS3Checkpoints

        return CS3Checkpoints
    raise AttributeError(name)
