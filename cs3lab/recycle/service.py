"""The user's recycle bin: what they deleted below JupyterLab's root, restored or purged.

Paths in and out are JupyterLab paths. The bin is the storage's own (CS3 ListRecycle): on a
site whose bin is shared by every user of the storage (Reva v3's ``local`` driver keeps one
for the whole storage) only items deleted below this server's root are shown, restored or
purged; items whose key is not among them are "not found". cs3lab's own lock and request
markers, and hidden items when hidden files are not shown, are left out.

Purging never empties the storage's whole bin (on ``local`` that is every user's): "purge
all" purges the shown items one by one. Reva v3.12.1's ``local`` driver cannot purge a
folder that has content (it removes it with a call that refuses non-empty folders); such a
folder is restored to a hidden folder, its content deleted piece by piece and then purged.
"""

from __future__ import annotations

import asyncio
import itertools
import posixpath
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..contents_manager.paths import clean_api_path, is_hidden_path, split, to_api
from ..cs3.errors import AlreadyExists, CS3Error, InvalidArgument, NotFound, NotSupported
from ..cs3.files import CONTAINER, Files, RecycleItem, space_path
from ..cs3.recycle import RecycleBin
from ..locks import is_lock_artifact

PURGE_PREFIX = ".cs3lab-purge-"
PARALLEL_CALLS = 4
# Deletion times past this many seconds (year 5138) are milliseconds: Reva v3.12.1's local
# driver puts its millisecond key suffix into the timestamp's seconds.
_MS_THRESHOLD = 100_000_000_000
NO_BIN = "This storage has no recycle bin: what is deleted here cannot be restored from JupyterLab"


class RestoreConflict(AlreadyExists):
    """The place to restore to is taken (or its folder is gone): ``suggestion`` is a free
    path beside it."""

    def __init__(self, message: str, path: str, suggestion: str) -> None:
        super().__init__(message)
        self.path = path
        self.suggestion = suggestion


@dataclass(frozen=True)
class Deleted:
    key: str
    path: str  # where it was, as a JupyterLab path
    is_dir: bool
    size: int | None  # None where the storage does not tell (folders)
    deleted: datetime
    cs3_path: str

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "path": self.path,
            "type": "directory" if self.is_dir else "file",
            "size": self.size,
            "deleted": self.deleted.isoformat(),
        }


def restored_name(name: str, n: int) -> str:
    """``notes (restored).txt``, ``notes (restored 2).txt``...: the extension kept as
    jupyter_server's increment_filename keeps it (the last dot for notebooks, else the first)."""
    base, dot, ext = name.rpartition(".")
    if ext != "ipynb":
        base, dot, ext = name.partition(".")
    if not base:  # ".bashrc": no extension to keep
        base, dot, ext = name, "", ""
    tag = " (restored)" if n == 1 else f" (restored {n})"
    return f"{base}{tag}{dot}{ext}"


def _seconds(item: RecycleItem) -> float:
    seconds = float(item.deletion_time.seconds) + item.deletion_time.nanos / 1e9
    return seconds / 1000 if seconds > _MS_THRESHOLD else seconds


class RecycleService:
    """List, restore and purge the items deleted below one JupyterLab root."""

    def __init__(
        self, files: Files, home: str, show_hidden: Callable[[], bool] = lambda: False
    ) -> None:
        self.files = files
        self.bin = RecycleBin(files.client)
        self.home = home.rstrip("/") or "/"
        self.show_hidden = show_hidden
        self._mount_point: str | None = None

    # -- listing ----------------------------------------------------------------------------

    async def mount_point(self) -> str:
        """Where the home's storage (space) is mounted: decomposedfs gives recycle paths
        relative to it."""
        if self._mount_point is None:
            found = ""
            try:
                spaces = await self.files.spaces()
            except CS3Error:
                spaces = []
            for space in spaces:
                root = space_path(space) or space.root_info.path
                if root.startswith("/") and (
                    self.home == root or self.home.startswith(root.rstrip("/") + "/")
                ):
                    found = root if len(root) > len(found) else found
            self._mount_point = found or "/"
        return self._mount_point

    def _absolute(self, path: str, mount: str) -> str:
        inside = self.home.rstrip("/") + "/"
        if path.startswith(inside):
            return path
        relative = path[2:] if path.startswith("./") else path
        return posixpath.normpath(posixpath.join(mount, relative.lstrip("/")))

    def _shown(self, api_path: str) -> bool:
        name = posixpath.basename(api_path)
        if is_lock_artifact(name) or name.startswith(PURGE_PREFIX):
            return False
        return self.show_hidden() or not is_hidden_path(api_path)

    async def items(self) -> list[Deleted]:
        """What was deleted below the root, newest first."""
        try:
            raw = await self.bin.list(self.home)
        except NotSupported:
            raise NotSupported(NO_BIN) from None
        mount = await self.mount_point()
        inside = self.home.rstrip("/") + "/"
        kept: list[tuple[RecycleItem, str]] = []
        for item in raw:
            absolute = self._absolute(item.ref.path, mount)
            if not absolute.startswith(inside):
                continue
            api_path = to_api(self.home, absolute)
            if self._shown(api_path):
                kept.append((item, absolute))
        sizes = await self.bin.sizes(self.home, [item for item, _ in kept])
        found = []
        for item, absolute in kept:
            is_dir = item.type == CONTAINER
            size = sizes.get(item.key, None if is_dir else int(item.size))
            found.append(
                Deleted(
                    key=item.key,
                    path=to_api(self.home, absolute),
                    is_dir=is_dir,
                    size=size,
                    deleted=datetime.fromtimestamp(_seconds(item), tz=timezone.utc),
                    cs3_path=absolute,
                )
            )
        found.sort(key=lambda d: d.deleted, reverse=True)
        return found

    async def item(self, key: str) -> Deleted:
        for deleted in await self.items():
            if deleted.key == key:
                return deleted
        raise NotFound("That item is not in your recycle bin (any more)")

    # -- restoring --------------------------------------------------------------------------

    def _cs3(self, api_path: str) -> str:
        return f"{self.home.rstrip('/')}/{api_path}" if api_path else self.home

    async def _exists(self, api_path: str) -> bool | None:
        """True/False for an existing folder / file, None when nothing is there."""
        try:
            info = await self.files.stat(self._cs3(api_path))
        except NotFound:
            return None
        return info.type == CONTAINER

    async def _free_beside(self, api_path: str) -> str:
        parent, name = split(api_path)
        if parent and await self._exists(parent) is not True:
            parent = ""  # its folder is gone: suggest the root
        for n in itertools.count(1):
            candidate = restored_name(name, n)
            candidate = f"{parent}/{candidate}" if parent else candidate
            if await self._exists(candidate) is None:
                return candidate
        raise AssertionError("unreachable")  # pragma: no cover

    async def restore(self, key: str, to: str | None = None) -> Deleted:
        """Restore item ``key`` where it was, or to JupyterLab path ``to``. A taken place (or
        a folder that no longer exists) is a :class:`RestoreConflict` suggesting a free one."""
        deleted = await self.item(key)
        target = deleted.path if to is None else clean_api_path(to)
        if not target:
            raise InvalidArgument("Restore to a path below the root, not the root itself")
        if not self._shown(target):
            raise InvalidArgument(f"Cannot restore to hidden file or directory {target!r}")
        parent, _ = split(target)
        if parent and await self._exists(parent) is not True:
            raise RestoreConflict(
                f"Cannot restore {deleted.name} to {target}: the folder {parent} no longer "
                "exists. Restore that folder first, or restore this elsewhere.",
                target,
                await self._free_beside(target),
            )
        if await self._exists(target) is not None:
            raise RestoreConflict(
                f"Cannot restore {deleted.name} to {target}: {target} exists again. Restore "
                "it under another name, or move the new one away first.",
                target,
                await self._free_beside(target),
            )
        await self.bin.restore(self.home, key, self._cs3(target), await self.mount_point())
        return Deleted(
            deleted.key, target, deleted.is_dir, deleted.size, deleted.deleted, self._cs3(target)
        )

    # -- purging ----------------------------------------------------------------------------

    async def purge(self, key: str) -> None:
        await self._purge(await self.item(key))

    async def purge_all(self) -> int:
        """Purge every shown item, a few at a time; the number purged."""
        items = await self.items()
        limit = asyncio.Semaphore(PARALLEL_CALLS)

        async def one(deleted: Deleted) -> None:
            async with limit:
                await self._purge(deleted)

        await asyncio.gather(*(one(d) for d in items))
        return len(items)

    async def discard_deleted(self, cs3_path: str) -> None:
        """Purge what was just deleted at ``cs3_path`` (the newest item from there), e.g. a
        failed copy's remains; nothing when the storage has no bin."""
        try:
            items = await self.items()
        except NotSupported:
            return
        for deleted in items:  # newest first
            if deleted.cs3_path == cs3_path:
                await self._purge(deleted)
                return

    async def _purge(self, deleted: Deleted) -> None:
        try:
            await self.bin.purge(self.home, deleted.key)
        except CS3Error as err:
            if not deleted.is_dir or isinstance(err, (NotFound, NotSupported)):
                raise
            await self._purge_piecewise(deleted)

    async def _purge_piecewise(self, deleted: Deleted) -> None:
        """A folder the storage cannot purge whole: restored to a hidden folder of the root,
        its files and then its (by then empty) folders deleted, each purged."""
        temp = f"{PURGE_PREFIX}{uuid.uuid4().hex[:12]}"
        await self.bin.restore(self.home, deleted.key, self._cs3(temp), await self.mount_point())
        files, folders = await self._tree(self._cs3(temp))
        limit = asyncio.Semaphore(PARALLEL_CALLS)

        async def delete(path: str) -> None:
            async with limit:
                await self.files.delete(path)

        await asyncio.gather(*(delete(f) for f in files))
        for folder in sorted(folders, key=lambda p: p.count("/"), reverse=True):
            await self.files.delete(folder)
        await self.files.delete(self._cs3(temp))
        mount = await self.mount_point()
        below = self._cs3(temp)
        for item in await self.bin.list(self.home):
            path = self._absolute(item.ref.path, mount)
            if path == below or path.startswith(below + "/"):
                await self.bin.purge(self.home, item.key)

    async def _tree(self, root: str) -> tuple[list[str], list[str]]:
        """The files and the folders below CS3 folder ``root``."""
        files: list[str] = []
        folders: list[str] = []
        level = [root]
        while level:
            listings = await asyncio.gather(*(self.files.list(p) for p in level))
            parents, level = level, []
            for parent, entries in zip(parents, listings, strict=True):
                for entry in entries:
                    child = f"{parent}/{posixpath.basename(entry.path.rstrip('/'))}"
                    (level if entry.type == CONTAINER else files).append(child)
            folders.extend(level)
        return files, folders
