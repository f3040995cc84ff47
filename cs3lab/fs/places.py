"""The file browser's places (``Spaces``, ``Shared with me``, ``Federated shares``) in
``cs3://`` and the kernels' mount.

The Jupyter server writes what its :class:`~cs3lab.contents_manager.mounts.MountTable` knows
to a JSON file of its kernels' folder (mode 0600) whenever a place is listed and before a
kernel starts; ``CS3LAB_PLACES`` names that file. A ``cs3://`` filesystem reads it again
when it changes, so ``Spaces/common/data.csv`` means in a kernel what it means in JupyterLab,
and a notebook in ``Shared with me/results`` runs in that folder of the mount.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ..contents_manager.mounts import MountTable, Resolved

log = logging.getLogger(__name__)


class PlacesFile:
    """A MountTable read from the server's places file, re-read when the file changes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._table = MountTable(ttl_seconds=float("inf"))
        self.shown = True

    def table(self) -> MountTable:
        try:
            info = self.path.stat()
        except OSError:
            return self._table  # not written yet (or gone with the server): what was known
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._table = MountTable.from_snapshot(data)
                self.shown = bool(data.get("shown", True))
            except (OSError, ValueError, KeyError, TypeError) as err:
                log.warning("cs3lab: cannot read the places file %s: %s", self.path, err)
            self._stamp = stamp
        return self._table

    def resolve(self, path: str) -> Resolved | None:
        """None for a path of the home; raises cs3lab's NotFound for a name a place does not
        hold (see :meth:`MountTable.resolve`)."""
        return self.table().resolve(path)
