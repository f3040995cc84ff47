"""Typed wrappers for the CS3 file calls a user action needs, one CS3 call each where the
API allows. Paths are absolute CS3 paths (``/home/alice/x.ipynb``); results are the CS3
protobuf messages themselves (``ResourceInfo``, ``FileVersion``, ``RecycleItem``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from cs3.gateway.v1beta1 import gateway_api_pb2 as gw
from cs3.gateway.v1beta1 import resources_pb2 as gw_res
from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from cs3.storage.provider.v1beta1 import spaces_api_pb2 as spaces_api
from cs3.types.v1beta1 import types_pb2

from .cache import Listing, MetadataCache
from .client import CS3Client
from .errors import (
    AlreadyExists,
    Conflict,
    CS3Error,
    InsufficientStorage,
    NotFound,
    NotSupported,
    ServerError,
    Stalled,
    Unavailable,
)
from .transfer import DataTransfer, chunks_of

T = TypeVar("T")
Cached = bool | Callable[[res.ResourceInfo], bool]  # see Files.stat
LIST_ATTEMPTS = 3
# A file read while it is written is read again: this many reads in all, this far apart.
WHOLE_READ_ATTEMPTS = 4
WHOLE_READ_PAUSE_SECONDS = 0.05
PARSE_ATTEMPTS = 3  # reads of a file that does not parse (see Files.read_parsed)

ResourceInfo = res.ResourceInfo
FileVersion = res.FileVersion
RecycleItem = res.RecycleItem
Lock = res.Lock
Permissions = res.ResourcePermissions
WRITE_LOCK = res.LOCK_TYPE_WRITE
CONTAINER = res.RESOURCE_TYPE_CONTAINER
FILE = res.RESOURCE_TYPE_FILE

_PREFERRED_PROTOCOLS = ("simple", "spaces")
# ``Files.upload_stream(replacing=UNKNOWN)``: the upload looks up the file it replaces.
UNKNOWN = object()
# After an upload broke off without an answer, the data server may still store what arrived
# (Reva's local driver does, some milliseconds later): the pauses before each look.
BROKEN_UPLOAD_SETTLE_SECONDS = (0.1, 0.2, 0.4, 0.8, 1.5)

log = logging.getLogger(__name__)


def mtime_seconds(info: ResourceInfo) -> float:
    """The resource's modification time in epoch seconds (0 when the storage gives none)."""
    if not info.HasField("mtime"):
        return 0.0
    return info.mtime.seconds + info.mtime.nanos / 1e9


def _unchanged(now: ResourceInfo | None, before: ResourceInfo | None) -> bool:
    """Whether the stored file ``now`` is still the one ``before`` (None: none)."""
    if now is None or before is None:
        return now is None and before is None
    return now.etag == before.etag


def ref(path: str) -> res.Reference:
    return res.Reference(path=path)


def id_ref(info: ResourceInfo) -> res.Reference:
    """A reference by resource id (Reva's lock calls need one; path references fail there)."""
    return res.Reference(resource_id=info.id)


def _plain_opaque(entries: dict[str, str]) -> types_pb2.Opaque:
    return types_pb2.Opaque(
        map={
            k: types_pb2.OpaqueEntry(decoder="plain", value=v.encode()) for k, v in entries.items()
        }
    )


def _pick(protocols: Iterable[gw_res.FileUploadProtocol | gw_res.FileDownloadProtocol], what: str):
    by_name = {p.protocol: p for p in protocols}
    for name in _PREFERRED_PROTOCOLS:
        if name in by_name:
            return by_name[name]
    raise NotSupported(f"The storage offers no supported transfer protocol for {what}")


_UNLIMITED = 2**64 - 1  # what decomposedfs reports as "remaining" without a quota


@dataclass(frozen=True)
class Quota:
    """Quota and usage of the storage holding a path, as the site reports them (GetQuota).
    ``total`` None: no quota set; ``remaining`` None: the site said nothing of it."""

    total: int | None
    used: int
    remaining: int | None

    @classmethod
    def from_response(cls, response) -> Quota:
        opaque = response.opaque.map if response.HasField("opaque") else {}
        entry = opaque.get("remaining")
        remaining = int(entry.value) if entry is not None and entry.value.isdigit() else None
        total = int(response.total_bytes) or None
        if remaining is None and total is not None:
            remaining = max(total - int(response.used_bytes), 0)
        if remaining is not None and remaining >= _UNLIMITED:
            remaining = None
        return cls(total, int(response.used_bytes), remaining)


@dataclass(frozen=True)
class Download:
    """Where a file's bytes can be read (the answer of InitiateFileDownload). Its transfer
    token can be used for several (ranged) reads until it expires."""

    endpoint: str
    token: str


class Files:
    """File operations over a :class:`CS3Client`."""

    def __init__(self, client: CS3Client, transfer: DataTransfer | None = None) -> None:
        self.client = client
        self.transfer = transfer or DataTransfer(
            client.gateway.transfer_security(),
            stall_seconds=client.gateway.transfer_stall_seconds,
        )

    def close(self) -> None:
        self.transfer.close()

    @property
    def cache(self) -> MetadataCache:
        return self.client.cache

    async def stat(
        self,
        path: str,
        metadata_keys: Iterable[str] = (),
        *,
        cached: Cached = False,
        max_age: float | None = None,
    ) -> ResourceInfo:
        """The resource's Stat, with the arbitrary metadata ``metadata_keys``. ``cached``: one
        the user's cache holds may do (what is shown; never what a decision rests on), or
        one it holds for which ``cached(info)`` is true; ``max_age``: a Stat of the resource
        itself made at most that many seconds ago (MetadataCache.stat). Cached reads of the
        same resource at the same time share one call."""
        keys = tuple(metadata_keys)
        if cached:
            info = self.cache.stat(path, keys, max_age)
            if info is not None and (cached is True or cached(info)):
                return info
            if cached is True:
                return await self.cache.read_once(
                    ("Stat", path, keys), lambda: self._stat(path, keys)
                )
        return await self._stat(path, keys)

    async def _stat(self, path: str, keys: tuple[str, ...]) -> ResourceInfo:
        since = self.cache.since()
        request = sp.StatRequest(ref=ref(path), arbitrary_metadata_keys=list(keys))
        info = (await self.client.call("Stat", request, path)).info
        self.cache.put_stat(path, keys, info, since)
        return info

    async def list(
        self, path: str, metadata_keys: Iterable[str] = (), *, cached: bool = False
    ) -> list[ResourceInfo]:
        """The folder's entries (``cached``: as for :meth:`stat`)."""
        return list((await self.listing(path, metadata_keys, cached=cached)).infos)

    async def listing(
        self, path: str, metadata_keys: Iterable[str] = (), *, cached: bool = False
    ) -> Listing:
        """The folder's entries, also by name (``cached``: as for :meth:`stat`)."""
        keys = tuple(metadata_keys)
        if not cached:
            return await self._listing(path, keys)
        found = self.cache.listing(path, keys)
        if found is not None:
            return found
        return await self.cache.read_once(
            ("ListContainer", path, keys), lambda: self._listing(path, keys)
        )

    async def _listing(self, path: str, keys: tuple[str, ...]) -> Listing:
        """Asked again (twice at most) after an internal error: Reva v3's local driver fails
        a whole listing when an entry goes away while it lists (lstat of a name it has just
        read), as cs3lab's lock markers do all the time."""
        request = sp.ListContainerRequest(ref=ref(path), arbitrary_metadata_keys=list(keys))
        for attempt in range(LIST_ATTEMPTS):
            since = self.cache.since()
            try:
                infos = (await self.client.call("ListContainer", request, path)).infos
            except ServerError:
                if attempt == LIST_ATTEMPTS - 1:
                    raise
                continue
            return self.cache.put_listing(path, keys, infos, since)
        raise AssertionError("unreachable")  # pragma: no cover

    async def quota(self, path: str) -> Quota:
        response = await self.client.call("GetQuota", gw.GetQuotaRequest(ref=ref(path)), path)
        return Quota.from_response(response)

    async def spaces(self, space_type: str = "") -> list[res.StorageSpace]:
        """The storage spaces the user can reach (ListStorageSpaces), of one type if given
        ("personal", "project", ...)."""
        filters = []
        if space_type:
            filters.append(
                spaces_api.ListStorageSpacesRequest.Filter(
                    type=spaces_api.ListStorageSpacesRequest.Filter.TYPE_SPACE_TYPE,
                    space_type=space_type,
                )
            )
        request = spaces_api.ListStorageSpacesRequest(filters=filters)
        return list(
            (await self.client.call("ListStorageSpaces", request, "storage spaces")).storage_spaces
        )

    async def mkdir(self, path: str) -> None:
        """Make folder ``path``; AlreadyExists when it is there. Reva v3's local driver
        answers a mkdir that lost a race to another (its check, then the other's mkdir, then
        its own) with an internal error: a folder found there afterwards was not made by
        this call, which is what a lock marker's mkdir has to know."""
        try:
            await self.client.call(
                "CreateContainer", sp.CreateContainerRequest(ref=ref(path)), path
            )
        except ServerError as err:
            try:
                await self.stat(path)
            except CS3Error:
                raise err from None
            raise AlreadyExists(f"{path} already exists", detail=err.detail) from None

    async def touch(self, path: str) -> None:
        await self.client.call("TouchFile", sp.TouchFileRequest(ref=ref(path)), path)

    async def create(self, path: str, data: bytes) -> None:
        """Store ``data`` as a new file at ``path``, never in place of another: AlreadyExists
        when the name is taken, also by a create at the same moment. TouchFile claims the name
        (exclusive on Reva's local driver), and the upload names the claimed file's etag
        (decomposedfs, where two touches may both succeed, refuses all but the first)."""
        await self.touch(path)
        claimed = await self.stat(path)
        try:
            await self.upload(path, data, replacing=claimed, if_match=claimed.etag)
        except Conflict:
            raise AlreadyExists(f"{path} already exists") from None

    async def delete(self, path: str, lock_id: str = "") -> None:
        await self.client.call("Delete", sp.DeleteRequest(ref=ref(path), lock_id=lock_id), path)

    async def move(self, source: str, destination: str, lock_id: str = "") -> None:
        request = sp.MoveRequest(source=ref(source), destination=ref(destination), lock_id=lock_id)
        await self.client.call("Move", request, source)

    async def set_metadata(self, path: str, metadata: dict[str, str], lock_id: str = "") -> None:
        request = sp.SetArbitraryMetadataRequest(
            ref=ref(path),
            arbitrary_metadata=res.ArbitraryMetadata(metadata=metadata),
            lock_id=lock_id,
        )
        await self.client.call("SetArbitraryMetadata", request, path)

    async def unset_metadata(self, path: str, keys: Iterable[str], lock_id: str = "") -> None:
        request = sp.UnsetArbitraryMetadataRequest(
            ref=ref(path), arbitrary_metadata_keys=list(keys), lock_id=lock_id
        )
        await self.client.call("UnsetArbitraryMetadata", request, path)

    async def upload(
        self,
        path: str,
        data: bytes,
        lock_id: str = "",
        replacing: ResourceInfo | object | None = UNKNOWN,
        if_match: str = "",
    ) -> None:
        """Write ``data`` as the new content of ``path`` (creating or overwriting it;
        ``replacing``, ``if_match``: see :meth:`upload_stream`)."""
        await self.upload_stream(path, len(data), chunks_of(data), lock_id, replacing, if_match)

    async def upload_stream(
        self,
        path: str,
        size: int,
        chunks: AsyncIterable[bytes | memoryview],
        lock_id: str = "",
        replacing: ResourceInfo | object | None = UNKNOWN,
        if_match: str = "",
    ) -> None:
        """Write ``size`` bytes produced by ``chunks`` as the new content of ``path``, without
        holding them all in memory. ``replacing``: the stored file this upload replaces (None:
        a new file; by default it is looked up first). ``if_match``: an etag the stored file
        must still have (Conflict otherwise, where the storage checks it). When the transfer
        breaks off and the storage kept what arrived (Reva's local driver does), the file is
        put back as it was."""
        if replacing is UNKNOWN:
            replacing = await self._stat_or_none(path)
        request = sp.InitiateFileUploadRequest(
            ref=ref(path),
            lock_id=lock_id,
            if_match=if_match,
            opaque=_plain_opaque({"Upload-Length": str(size)}),
        )
        response = await self.client.call("InitiateFileUpload", request, path)
        protocol = _pick(response.protocols, path)
        try:
            await self._put(path, protocol, size, chunks, lock_id)
        except Exception as failure:
            # decomposedfs stores an empty file when the upload is initiated with length 0
            # and then refuses the (empty) transfer: what counts is what the storage holds.
            if not size and isinstance(failure, CS3Error) and (await self.stat(path)).size == 0:
                return
            # Refused outright (a lock, a changed etag, a server error): what is stored now
            # may be someone else's write, which putting back would undo. A storage that ran
            # out of room may have kept the part that arrived (Reva's local driver does).
            if isinstance(failure, CS3Error) and not isinstance(
                failure, (Unavailable, InsufficientStorage)
            ):
                raise
            # Without an answer the data server may still be storing what arrived.
            answered = isinstance(failure, CS3Error) and not isinstance(failure, Unavailable)
            outcome = await self._put_back(
                path,
                size,
                replacing,  # type: ignore[arg-type]
                lock_id,
                () if answered else BROKEN_UPLOAD_SETTLE_SECONDS,
            )
            if outcome is None and answered:
                raise
            outcome = outcome or "the stored file is as it was"
            if isinstance(failure, CS3Error):
                message = f"{failure.message}: {outcome}"
                raise type(failure)(message, detail=failure.detail) from None
            log.warning("An upload of %s broke off (%s): %s", path, failure, outcome)
            raise

    async def _put(self, path: str, protocol, size: int, chunks, lock_id: str) -> None:
        """Send the bytes of an initiated upload; the cache forgets the file once they are
        over (stored or not), as it does when a gateway call changed it."""
        try:
            await self.transfer.put_stream(
                protocol.upload_endpoint,
                size,
                chunks,
                transfer_token=protocol.token,
                access_token=await self.client.access_token(),
                lock_id=lock_id,
                what=path,
            )
        finally:
            self.cache.drop_path(path)

    async def _put_back(
        self,
        path: str,
        size: int,
        replacing: ResourceInfo | None,
        lock_id: str,
        settle: Iterable[float],
    ) -> str | None:
        """After a failed upload of ``size`` bytes: undo what the storage kept of it, so that
        ``path`` is as it was (``replacing``; None: it did not exist). Waits ``settle``
        seconds, one pause after another, for a change to show. Says what it did; None: the
        stored file is untouched."""
        try:
            now = await self._stat_or_none(path)
            for pause in settle:
                # A file that is gone for a moment is being replaced (Reva's local driver
                # moves the old content to its versions before the new one takes its place).
                if not _unchanged(now, replacing) and not (now is None and replacing is not None):
                    break
                await asyncio.sleep(pause)
                now = await self._stat_or_none(path)
            if _unchanged(now, replacing):
                return None
            if now is None:
                return "the file is missing: restore it from the recycle bin or its versions"
            if now.size == size:
                return "the storage may hold the new content: check the file"
            if replacing is None:
                await self.delete(path, lock_id)
                return "the part that arrived was removed"
            versions = await self.list_versions(path)
            newest = max(versions, key=lambda v: v.mtime, default=None)
            if newest is None or newest.size != replacing.size:
                return "the storage kept the part that arrived: restore a version of the file"
            await self.restore_version(path, newest.key, lock_id)
            return "the stored file was put back as it was"
        except CS3Error as err:
            log.warning("An upload of %s failed and could not be undone: %s", path, err)
            return "the storage may hold a partial file: check it and its versions"

    async def _stat_or_none(self, path: str) -> ResourceInfo | None:
        try:
            return await self.stat(path)
        except NotFound:
            return None

    async def download(self, path: str) -> bytes:
        """The file's bytes. A read the data server fails while the file is replaced or
        deleted (decomposedfs drops the old content as the new one lands: HTTP 500; Reva's
        local driver ends the connection early) is read once more while the site answers a
        Stat, or is NotFound. A data server that stopped answering (Stalled) is not asked
        again: that took CS3Connection.transfer_stall_seconds already."""
        for attempt in range(2):
            chunks: list[bytes] = []
            try:
                download = await self.initiate_download(path)
                await self.download_stream(download, chunks.append, path)
                return b"".join(chunks)
            except Stalled:
                raise
            except (ServerError, Unavailable):
                if await self._stat_or_none(path) is None:
                    raise NotFound(f"{path} was deleted while it was read") from None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def read_whole(self, path: str, info: ResourceInfo) -> tuple[bytes, ResourceInfo]:
        """The file's bytes as of a Stat (``info``): when the bytes read are not the size it
        gave, the file was being written meanwhile (Reva's local driver lets a reader see a
        part of it): it is stat'ed and, if it changed, read again, up to
        :data:`WHOLE_READ_ATTEMPTS` times. A file that did not change keeps the bytes read (a
        storage whose Stat gives another size costs one Stat more, not more reads). Returns
        the bytes and the Stat they match (the last one, if it never settled)."""
        data = await self.download(path)
        for _ in range(WHOLE_READ_ATTEMPTS - 1):
            if len(data) == info.size:
                break
            await asyncio.sleep(WHOLE_READ_PAUSE_SECONDS)
            now = await self.stat(path)
            if now.etag == info.etag and now.size == info.size and now.mtime == info.mtime:
                break
            info = now
            data = await self.download(path)
        return data, info

    async def read_parsed(
        self, path: str, info: ResourceInfo, parse: Callable[[bytes], Awaitable[T]]
    ) -> tuple[bytes, ResourceInfo, T]:
        """:meth:`read_whole`, then ``parse``: bytes that do not parse may have been read while
        the file was written at the size it had then, so they are read again, up to
        :data:`PARSE_ATTEMPTS` times, before the parse's error is raised."""
        data, info = await self.read_whole(path, info)
        for attempt in range(PARSE_ATTEMPTS):
            try:
                return data, info, await parse(data)
            except Exception:
                if attempt == PARSE_ATTEMPTS - 1:
                    raise
            await asyncio.sleep(WHOLE_READ_PAUSE_SECONDS * 2)
            data, info = await self.read_whole(path, await self.stat(path))
        raise AssertionError("unreachable")

    async def initiate_download(self, path: str) -> Download:
        request = sp.InitiateFileDownloadRequest(ref=ref(path))
        response = await self.client.call("InitiateFileDownload", request, path)
        protocol = _pick(response.protocols, path)
        return Download(protocol.download_endpoint, protocol.token)

    async def download_stream(
        self,
        download: Download,
        on_chunk: Callable[[bytes], object],
        what: str,
        byte_range: tuple[int, int] | None = None,
    ) -> int:
        """Stream the bytes of an initiated download (or of ``byte_range``) to ``on_chunk``;
        the HTTP status says whether the range was honoured (206) or not (200)."""
        return await self.transfer.get_stream(
            download.endpoint,
            on_chunk,
            transfer_token=download.token,
            access_token=await self.client.access_token(),
            what=what,
            byte_range=byte_range,
        )

    async def copy_file(
        self, source: str, target: str, size: int, on_bytes: Callable[[int], None] | None = None
    ) -> None:
        """Copy the ``size`` bytes of file ``source`` to a new file ``target``, streamed from
        the data server to the data server (CS3 has no server-side copy)."""
        if size == 0:
            await self.upload(target, b"")
            return
        request = sp.InitiateFileDownloadRequest(ref=ref(source))
        download = _pick(
            (await self.client.call("InitiateFileDownload", request, source)).protocols, source
        )
        request = sp.InitiateFileUploadRequest(
            ref=ref(target), opaque=_plain_opaque({"Upload-Length": str(size)})
        )
        upload = _pick(
            (await self.client.call("InitiateFileUpload", request, target)).protocols, target
        )
        try:
            await self.transfer.pipe(
                (download.download_endpoint, download.token),
                (upload.upload_endpoint, upload.token),
                size,
                access_token=await self.client.access_token(),
                what=(source, target),
                on_bytes=on_bytes,
            )
        finally:
            self.cache.drop_path(target)

    async def list_versions(self, path: str) -> list[FileVersion]:
        request = sp.ListFileVersionsRequest(ref=ref(path))
        return list((await self.client.call("ListFileVersions", request, path)).versions)

    async def restore_version(self, path: str, key: str, lock_id: str = "") -> None:
        request = sp.RestoreFileVersionRequest(ref=ref(path), key=key, lock_id=lock_id)
        try:
            await self.client.call("RestoreFileVersion", request, path)
        except NotFound:
            # Reva's local driver (v3.12) lists a version stored as "v<ms>" under the key
            # "<ms>" but restores by file name: ask once more by the stored name.
            if not key.isdigit():
                raise
            request.key = f"v{key}"
            await self.client.call("RestoreFileVersion", request, path)

    # -- locks (CS3 SetLock / GetLock / RefreshLock / Unlock, addressed by resource id) ---------

    async def set_lock(self, info: ResourceInfo, lock: Lock, what: str) -> None:
        await self.client.call("SetLock", sp.SetLockRequest(ref=id_ref(info), lock=lock), what)

    async def get_lock(self, info: ResourceInfo, what: str) -> Lock | None:
        """The lock on the resource, or None when it has none."""
        try:
            response = await self.client.call("GetLock", sp.GetLockRequest(ref=id_ref(info)), what)
        except NotFound:
            return None
        return response.lock if response.HasField("lock") and response.lock.lock_id else None

    async def refresh_lock(
        self, info: ResourceInfo, lock: Lock, what: str, existing_lock_id: str = ""
    ) -> None:
        request = sp.RefreshLockRequest(
            ref=id_ref(info), lock=lock, existing_lock_id=existing_lock_id
        )
        await self.client.call("RefreshLock", request, what)

    async def unlock(self, info: ResourceInfo, lock: Lock, what: str) -> None:
        await self.client.call("Unlock", sp.UnlockRequest(ref=id_ref(info), lock=lock), what)


def space_path(space: res.StorageSpace) -> str:
    """The CS3 path where the site mounts a storage space ("" when it says none)."""
    opaque = space.opaque.map if space.HasField("opaque") else {}
    entry = opaque.get("path")
    return entry.value.decode() if entry is not None and entry.decoder == "plain" else ""
