"""``cs3://``: an fsspec AsyncFileSystem over cs3lab's async CS3 client.

Paths: ``cs3://analysis/data.csv`` is relative to the user's CS3 home (``CS3Connection.home``),
``cs3:///projects/common/x`` is an absolute CS3 path. Listings answer paths in the form they
were asked in. In a kernel of cs3lab, the file browser's places are folders of the home as in
JupyterLab: ``cs3://Spaces/common/x`` (see :mod:`cs3lab.fs.places`); their entries cannot be
created, renamed or removed, and a share received as viewer cannot be written.

The connection (gateway, user, credentials) comes from keyword arguments or, for each one
not given, from the ``CS3LAB_*`` environment variables that cs3lab sets for the
kernels it starts (see :mod:`cs3lab.fs.kernels`), so ``pd.read_csv("cs3://data.csv")`` works
in such a kernel without any argument.

Bytes travel through the CS3 data gateway: reads are ranged where the storage honours HTTP
ranges, and otherwise streamed once into a temporary file; writes are buffered in a temporary
file and stored with one streamed upload when the file is closed (a new version, like a save
in JupyterLab). No file is ever held in memory whole. Writes refuse a file locked by someone
(the lock backends of :mod:`cs3lab.locks`) with a PermissionError naming the holder.

Works synchronously (fsspec's own IO thread and loop) and, with ``asynchronous=True``, inside
an asyncio application (the ``_`` methods).
"""

from __future__ import annotations

import asyncio
import errno
import os
import posixpath
from typing import Any

from fsspec.asyn import AsyncFileSystem, sync

from ..config import CS3Connection
from ..contents_manager.mounts import Resolved
from ..cs3 import Files
from ..cs3.cache import Listing
from ..cs3.errors import AlreadyExists, CS3Error, Locked, NotFound, says_not_found
from ..cs3.files import CONTAINER, ResourceInfo, mtime_seconds
from ..locks import LockService, is_lock_artifact
from .errors import as_os_errors, os_error
from .places import PlacesFile
from .streams import CS3File, file_sink, spooled_download, upload_file

# CS3Connection's settings that can be given as keyword arguments (others: environment).
CONNECTION_KEYS = (
    "gateway",
    "site_name",
    "tls",
    "ca_file",
    "allow_insecure_data_transfers",
    "auth_mode",
    "username",
    "secret_env",
    "secret_file",
    "home",
    "timeout",
    "revalidate_seconds",
)
PLACES_ENV = "CS3LAB_PLACES"  # the server's places file (cs3lab.fs.places), in its kernels


def _name(info: ResourceInfo) -> str:
    return info.path.rstrip("/").rpartition("/")[2]


class CS3FileSystem(AsyncFileSystem):
    """The user's CS3 storage as an fsspec filesystem (protocol ``cs3``)."""

    protocol = ("cs3",)
    root_marker = ""
    sep = "/"
    cachable = True

    def __init__(
        self,
        *,
        asynchronous: bool = False,
        loop: Any = None,
        block_size: int | None = None,
        places_file: str | None = None,
        **kwargs: Any,
    ) -> None:
        settings = {k: kwargs.pop(k) for k in CONNECTION_KEYS if kwargs.get(k) is not None}
        super().__init__(
            asynchronous=asynchronous,
            loop=loop,
            # Stats and listings are kept in the user's metadata cache (cs3lab.cs3.cache), for
            # CS3Connection.revalidate_seconds (a setting of this file system too).
            use_listings_cache=False,
            **kwargs,
        )
        self.connection = CS3Connection(**settings)
        self.home = self.connection.home_path
        self.block_size = block_size or CS3File.DEFAULT_BLOCK_SIZE
        self._files: Files | None = None
        self._locks: LockService | None = None
        self._opening: asyncio.Lock | None = None
        self.ranges_supported: bool | None = None  # learnt at the first ranged read
        # The entries of the latest listings as fsspec shows them, made once per listing.
        self._shown: dict[str, tuple[Listing, list[dict[str, Any]]]] = {}
        places = places_file or os.environ.get(PLACES_ENV)
        self.places = PlacesFile(places) if places else None

    # -- connection -----------------------------------------------------------------------

    async def _cs3(self) -> Files:
        """The CS3 file API, opened on this filesystem's loop at first use."""
        if self._files is None:
            if self._opening is None:
                self._opening = asyncio.Lock()
            async with self._opening:
                if self._files is None:
                    self._files = self.connection.open()
        return self._files

    async def _lock_service(self) -> LockService:
        if self._locks is None:
            files = await self._cs3()
            self._locks = LockService(files, site=self.connection.site_name)
            if self.places is not None:
                places = self.places
                self._locks.unlockable = lambda cs3_path: places.table().unlockable(cs3_path)
        return self._locks

    async def _close(self) -> None:
        if self._files is not None:
            files, self._files, self._locks = self._files, None, None
            files.close()
            await files.client.close()

    def close(self) -> None:
        """Close the gRPC channel and the HTTP client (a later call opens them again)."""
        if self.asynchronous:
            raise RuntimeError("use 'await fs._close()' on an asynchronous filesystem")
        sync(self.loop, self._close)

    # -- paths ----------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        for prefix in ("cs3://", "cs3::"):
            if path.startswith(prefix):
                path = path[len(prefix) :]
        if "\x00" in path:
            raise ValueError(f"Invalid path {path!r}: NUL characters are not allowed")
        stripped = path.rstrip("/")
        return stripped or (cls.root_marker if not path.startswith("/") else "/")

    def unstrip_protocol(self, name: str) -> str:
        return f"cs3://{name}"

    def cs3_path(self, path: str) -> str:
        """The absolute CS3 path of an fsspec path (a path in a place: where it points)."""
        path = self._strip_protocol(path)
        if path.startswith("/"):
            return path
        resolved = self._resolve(path)
        if resolved is not None:
            if resolved.mount is None:
                raise self._place_refusal(path, resolved, "use")
            return resolved.cs3_path
        return f"{self.home.rstrip('/')}/{path}" if path else self.home

    # -- places ---------------------------------------------------------------------------

    def _resolve(self, path: str) -> Resolved | None:
        """The place and mount a relative path names (None: the home, or no places)."""
        if self.places is None or not path or path.startswith("/"):
            return None
        try:
            return self.places.resolve(path)
        except NotFound:
            raise FileNotFoundError(
                errno.ENOENT, f"No such file or directory: {path}", path
            ) from None

    def _place_refusal(self, path: str, resolved: Resolved, verb: str) -> PermissionError:
        place = resolved.place
        return PermissionError(
            errno.EACCES,
            f"Cannot {verb} {path}: {place.name} is not a folder of your storage, it shows "
            f"{place.description}; its entries cannot be created, renamed or removed here",
            path,
        )

    def _check_changeable(self, path: str, verb: str) -> None:
        """PermissionError for a change of a place's own structure (the place, one of its
        entries, a new entry in it) or anything below a share received read-only."""
        try:
            resolved = self._resolve(path)
        except FileNotFoundError:
            parent = self._resolve(self._parent(path))
            if parent is not None and parent.mount is None:  # a new entry of the place
                raise self._place_refusal(path, parent, verb) from None
            raise
        if resolved is None:
            return
        if resolved.mount is None or (not resolved.rest and verb != "write"):
            raise self._place_refusal(path, resolved, verb)
        if not resolved.mount.writable:
            raise PermissionError(
                errno.EACCES,
                f"Cannot {verb} {path}: {resolved.mount.name} is shared with you read-only",
                path,
            )

    def _place_entries(self, path: str) -> list[dict[str, Any]] | None:
        """The entries of a place's own folder (None: ``path`` is no place); the places
        themselves for the root, when the server shows them."""
        if self.places is None or path.startswith("/"):
            return None
        table = self.places.table()
        if not path:
            if not self.places.shown:
                return []
            return [self._virtual_dir(place.name) for place in table.places() if place.mounts]
        resolved = self._resolve(path)
        if resolved is None or resolved.mount is not None:
            return None
        return [
            {
                "name": self._join(path, m.name),
                "size": 0,
                "type": "directory" if m.is_dir else "file",
                "mtime": m.mtime,
                "writable": m.writable,
            }
            for m in (resolved.place.mounts or {}).values()
        ]

    def _virtual_dir(self, path: str) -> dict[str, Any]:
        return {"name": path, "size": 0, "type": "directory", "mtime": 0.0, "writable": False}

    def _join(self, parent: str, name: str) -> str:
        if not parent:
            return name
        return f"{parent.rstrip('/')}/{name}"

    def _details(self, path: str, info: ResourceInfo) -> dict[str, Any]:
        is_dir = info.type == CONTAINER
        return {
            "name": path,
            "size": 0 if is_dir else int(info.size),
            "type": "directory" if is_dir else "file",
            "mtime": mtime_seconds(info),
            "etag": info.etag.strip('"'),
            "id": f"{info.id.storage_id}${info.id.opaque_id}",
            "writable": bool(info.permission_set.initiate_file_upload),
        }

    # -- reading metadata -----------------------------------------------------------------

    async def _stat(
        self, path: str, cached: bool = False, max_age: float | None = None
    ) -> ResourceInfo:
        """The Stat of ``path`` (``cached``: a recent one of the user's metadata cache, or
        of a listing of its folder, will do; ``max_age``: made at most that long ago)."""
        resolved = self._resolve(path)
        if resolved is not None and resolved.mount is None:  # a place: a folder of nothing
            return ResourceInfo(type=CONTAINER, path=path)
        files = await self._cs3()
        with as_os_errors(path):
            return await files.stat(self.cs3_path(path), cached=cached, max_age=max_age)

    async def _info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        resolved = self._resolve(path)
        if resolved is not None and resolved.mount is None:
            return self._virtual_dir(path)
        if resolved is not None and not resolved.rest:
            return self._details(path, await self._stat(path))  # a mount: its real size
        return self._details(path, await self._stat(path, cached=True))

    async def _ls(self, path: str, detail: bool = True, **kwargs: Any) -> list:
        path = self._strip_protocol(path)
        places = self._place_entries(path)
        if places is not None and path:  # a place's own folder: its mounts
            return places if detail else [e["name"] for e in places]
        files = await self._cs3()
        try:
            listing = await files.listing(self.cs3_path(path), cached=not kwargs.get("refresh"))
        except NotFound:
            raise FileNotFoundError(
                errno.ENOENT, f"No such file or directory: {path}", path
            ) from None
        except CS3Error as err:
            # ListContainer of a file: fsspec wants the file's own entry.
            info = await self._stat(path)
            if info.type == CONTAINER:
                raise os_error(err, path) from None
            return [self._details(path, info)] if detail else [path]
        entries = self._entries_shown(path, listing, places)
        return entries if detail else [e["name"] for e in entries]

    def _entries_shown(
        self, path: str, listing: Listing, places: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]]:
        """fsspec's entries of a listing (the places too, in the root), made once per
        listing the cache holds."""
        shown = self._shown.get(path)
        if shown is not None and shown[0] is listing and not places:
            return list(shown[1])
        entries = []
        for info in listing.infos:  # (a loop, not a comprehension: one _name per entry)
            name = _name(info)
            if name and not is_lock_artifact(name):
                entries.append(self._details(self._join(path, name), info))
        if places:  # the root: the places, over any home folder of the same name
            named = {e["name"] for e in places}
            entries = [e for e in entries if e["name"] not in named] + places
        entries.sort(key=lambda e: e["name"])
        if len(self._shown) >= 64:
            self._shown.clear()
        self._shown[path] = (listing, entries)
        return list(entries)

    # -- reading bytes --------------------------------------------------------------------

    async def _cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        path = self._strip_protocol(path)
        info = await self._info(path)
        if info["type"] == "directory":
            raise IsADirectoryError(errno.EISDIR, f"Is a directory: {path}", path)
        size = info["size"]
        start = 0 if start is None else (max(size + start, 0) if start < 0 else start)
        end = size if end is None else (max(size + end, 0) if end < 0 else min(end, size))
        if start >= end:
            return b""
        reader = self.reader(path, size)
        try:
            return await reader.read(start, end)
        finally:
            reader.close()

    def reader(self, path: str, size: int, ahead: bool = True):
        from .streams import RangeReader

        return RangeReader(self, path, size, ahead)

    async def _get_file(self, rpath: str, lpath: str, **kwargs: Any) -> None:
        rpath = self._strip_protocol(rpath)
        if await asyncio.to_thread(os.path.isdir, lpath):
            return
        info = await self._info(rpath)
        if info["type"] == "directory":
            await asyncio.to_thread(os.makedirs, lpath, exist_ok=True)
            return
        files = await self._cs3()
        with as_os_errors(rpath):
            download = await files.initiate_download(self.cs3_path(rpath))
            out = await asyncio.to_thread(open, lpath, "wb")
            try:
                await files.download_stream(download, file_sink(out), rpath)
            finally:
                out.close()

    # -- writing --------------------------------------------------------------------------

    async def _check_writable(self, path: str, info: ResourceInfo | None = None) -> None:
        """PermissionError naming the holder when someone (another user, or this user in
        JupyterLab) holds the lock of ``path``; nothing when it is free or does not exist."""
        if info is None:
            try:
                info = await self._stat(path)
            except FileNotFoundError:
                return
        if info.type == CONTAINER:
            return
        locks = await self._lock_service()
        with as_os_errors(path):
            await locks.write_lock_id(self.cs3_path(path), info)

    async def _lock_label(self, path: str) -> str | None:
        """Who holds the write lock of ``path`` and since when, or None when nobody does."""
        from ..locks.service import when

        info = await self._stat(path)
        locks = await self._lock_service()
        with as_os_errors(path):
            lock = await locks.lock_of(self.cs3_path(path), info)
        if lock is None:
            return None
        return f"{lock.holder.label} since {when(lock.since)}"

    async def _refusal(self, path: str, err: Locked) -> PermissionError:
        """The storage refused a write as locked (native locks): say by whom."""
        locks = await self._lock_service()
        explained = await locks.explain_refusal(self.cs3_path(path))
        return PermissionError(errno.EACCES, explained.message or err.message, path)

    async def upload(
        self, path: str, size: int, chunks, info: ResourceInfo | None = None, checked=False
    ) -> None:
        """Store ``size`` bytes from the async iterable ``chunks`` at ``path`` (a new version
        when it exists), after checking that nobody holds its lock (unless ``checked``: the
        caller just did, and ``info`` is what it found, None for a new file)."""
        path = self._strip_protocol(path)
        if not checked:
            self._check_changeable(path, "write")
            info = await self._existing(path)
            if info is not None:
                await self._check_writable(path, info)
        files = await self._cs3()
        try:
            await files.upload_stream(self.cs3_path(path), size, chunks, replacing=info)
        except Locked as err:
            raise await self._refusal(path, err) from None
        except CS3Error as err:
            if says_not_found(err):
                raise FileNotFoundError(
                    errno.ENOENT, f"No such directory: {self._parent(path)}", path
                ) from None
            raise os_error(err, path) from None

    async def _prepare_write(
        self, path: str, mode: str = "overwrite", recent: float = 0.0
    ) -> ResourceInfo | None:
        """The stored file that a write will replace (None: a new file, whose missing parent
        folders are made first, as object stores and ``auto_mkdir`` file systems do).
        ``recent``: a Stat made that many seconds ago at most will do (the mount's open
        after the kernel's lookup; the storage or the upload checks the lock again)."""
        self._check_changeable(path, "write")
        info = await self._existing(path, recent)
        if info is None:
            parent = self._parent(path)
            if parent not in ("", "/") and parent != path and await self._existing(parent) is None:
                await self._makedirs(parent, exist_ok=True)
            return None
        if mode == "create":
            raise FileExistsError(errno.EEXIST, f"File exists: {path}", path)
        if info.type == CONTAINER:
            raise IsADirectoryError(errno.EISDIR, f"Is a directory: {path}", path)
        await self._check_writable(path, info)
        return info

    async def _pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs):
        from ..cs3.transfer import chunks_of

        path = self._strip_protocol(path)
        info = await self._prepare_write(path, mode)
        await self.upload(path, len(value), chunks_of(bytes(value)), info, checked=True)

    async def _put_file(self, lpath: str, rpath: str, mode: str = "overwrite", **kwargs):
        rpath = self._strip_protocol(rpath)
        if await asyncio.to_thread(os.path.isdir, lpath):
            await self._makedirs(rpath, exist_ok=True)
            return
        info = await self._prepare_write(rpath, mode)
        with await asyncio.to_thread(open, lpath, "rb") as source:
            await upload_file(self, rpath, source, info)

    async def _cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        info = await self._info(path1)
        if info["type"] == "directory":
            await self._makedirs(path2, exist_ok=True)
            return
        existing = await self._prepare_write(path2)
        files = await self._cs3()
        try:
            if existing is None:
                # CS3 has no copy call: streamed from data server to data server.
                await files.copy_file(self.cs3_path(path1), self.cs3_path(path2), info["size"])
                return
            # Over an existing file: a new version of it, through a temporary file.
            with await spooled_download(self, path1) as spool:
                await upload_file(self, path2, spool, existing)
        except CS3Error as err:
            raise os_error(err, path2) from None

    async def _existing(self, path: str, recent: float = 0.0) -> ResourceInfo | None:
        try:
            return await self._stat(path, cached=recent > 0, max_age=recent)
        except FileNotFoundError:
            return None

    async def _touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        info = await self._existing(path)
        if info is None or truncate:
            await self._pipe_file(path, b"")

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        return sync(self.loop, self._touch, path, truncate=truncate, **kwargs)

    # -- folders --------------------------------------------------------------------------

    async def _mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        self._check_changeable(path, "create")
        if await self._existing(path) is not None:
            raise FileExistsError(errno.EEXIST, f"File exists: {path}", path)
        parent = self._parent(path)
        if parent != path and parent not in ("", "/") and await self._existing(parent) is None:
            if not create_parents:
                raise FileNotFoundError(errno.ENOENT, f"No such directory: {parent}", parent)
            await self._makedirs(parent, exist_ok=True)
        files = await self._cs3()
        try:
            await files.mkdir(self.cs3_path(path))
        except AlreadyExists:
            raise FileExistsError(errno.EEXIST, f"File exists: {path}", path) from None
        except CS3Error as err:
            # Two creates racing past Reva's local driver's check: the loser gets an internal
            # error (EEXIST, or a failed rename of its temporary folder) for a folder made.
            if await self._existing(path) is not None:
                raise FileExistsError(errno.EEXIST, f"File exists: {path}", path) from None
            raise os_error(err, path) from None

    async def _makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        info = await self._existing(path)
        if info is not None:
            if not exist_ok or info.type != CONTAINER:
                raise FileExistsError(errno.EEXIST, f"File exists: {path}", path)
            return
        try:
            await self._mkdir(path, create_parents=True)
        except FileExistsError:
            if not exist_ok:
                raise

    async def _rmdir(self, path: str) -> None:
        path = self._strip_protocol(path)
        if await self._ls(path, detail=False, refresh=True):
            raise OSError(errno.ENOTEMPTY, f"Directory not empty: {path}", path)
        await self._delete(path)

    def rmdir(self, path: str) -> None:
        return sync(self.loop, self._rmdir, path)

    # -- removing and moving --------------------------------------------------------------

    async def _delete(self, path: str) -> None:
        self._check_changeable(path, "remove")
        info = await self._stat(path)
        await self._check_writable(path, info)
        files = await self._cs3()
        try:
            await files.delete(self.cs3_path(path))
        except Locked as err:
            raise await self._refusal(path, err) from None
        except CS3Error as err:
            raise os_error(err, path) from None

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        if (await self._info(path))["type"] == "directory":
            raise IsADirectoryError(errno.EISDIR, f"Is a directory: {path}", path)
        await self._delete(path)

    async def _rm(
        self, path, recursive: bool = False, batch_size=None, maxdepth=None, **kwargs
    ) -> None:
        paths = await self._expand_path(path, recursive=recursive, maxdepth=maxdepth)
        done: list[str] = []
        # A CS3 Delete of a folder removes everything in it: delete the topmost paths only.
        for p in sorted(paths, key=len):
            if any(p.startswith(d.rstrip("/") + "/") for d in done):
                continue
            info = await self._info(p)
            if info["type"] == "directory" and not recursive:
                raise IsADirectoryError(errno.EISDIR, f"Is a directory: {p}", p)
            await self._delete(p)
            done.append(p)

    async def _mv(self, path1, path2, recursive: bool = False, maxdepth=None, **kwargs) -> None:
        """A server-side CS3 Move (no copy), refused when the source is locked."""
        if isinstance(path1, list) or isinstance(path2, list) or "*" in str(path1):
            sources = await self._expand_path(path1, recursive=recursive, maxdepth=maxdepth)
            targets = path2 if isinstance(path2, list) else None
            for i, source in enumerate(sources):
                target = targets[i] if targets else self._join(path2, posixpath.basename(source))
                await self._mv_file(source, target)
            return
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        if path1 == path2:
            return
        target = await self._existing(path2)
        if target is not None and target.type == CONTAINER:
            path2 = self._join(path2, posixpath.basename(path1))
        await self._mv_file(path1, path2)

    def mv(self, path1, path2, recursive: bool = False, maxdepth=None, **kwargs) -> None:
        return sync(self.loop, self._mv, path1, path2, recursive=recursive, maxdepth=maxdepth)

    async def _mv_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        self._check_changeable(path1, "rename")
        self._check_changeable(path2, "rename")
        info = await self._stat(path1)
        await self._check_writable(path1, info)
        target = await self._existing(path2)
        files = await self._cs3()
        try:
            if target is not None:
                if target.type == CONTAINER:
                    raise IsADirectoryError(errno.EISDIR, f"Is a directory: {path2}", path2)
                await self._check_writable(path2, target)
                # Move onto an existing file: replace it as a file system would.
                await files.delete(self.cs3_path(path2))
            await files.move(self.cs3_path(path1), self.cs3_path(path2))
        except Locked as err:
            raise await self._refusal(path1, err) from None
        except CS3Error as err:
            raise os_error(err, path1) from None

    # -- files ----------------------------------------------------------------------------

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict | None = None,
        **kwargs: Any,
    ) -> CS3File:
        return CS3File(
            self,
            self._strip_protocol(path),
            mode,
            block_size=block_size or self.block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget what the user's metadata cache holds of ``path`` (everything: None). This
        file system's own changes do so by themselves."""
        if self._files is None:
            return
        path = None if path is None else self._strip_protocol(path)
        if not path:
            self._files.cache.clear()
            return
        try:
            self._files.cache.drop_path(self.cs3_path(path))
        except OSError:  # a place's own entry: nothing of it is kept
            pass
