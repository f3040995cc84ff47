"""The kernels' view of CS3: the fsspec ``cs3://`` filesystem (``cs3lab.fs.CS3FileSystem``),
the FUSE mount that gives kernels relative paths, and what cs3lab hands to the kernels it
starts. The filesystem is imported on first use, so that the server (which needs only the
kernel and mount parts) does not import fsspec."""

from __future__ import annotations

from typing import Any

__all__ = ["CS3FileSystem"]


def __getattr__(name: str) -> Any:
    if name == "CS3FileSystem":
        from .filesystem import CS3FileSystem

        return CS3FileSystem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
