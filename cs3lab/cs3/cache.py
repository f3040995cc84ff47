"""One per-user cache of CS3 metadata: Stats, folder listings, and what is derived from them
(share state). It lives in the user's :class:`~.client.CS3Client`, so every capability of
one server process shares it (contents, locks, sharing, ``cs3://``; the kernels' mount, a
process of its own, has its own).

- Reads ask for it (``Files.stat(..., cached=True)``): polls (a document's model, a file
  browser's listing, lock and share state shown) are answered from an entry at most
  ``revalidate_seconds`` old; changes made elsewhere show after that at the latest. Every
  decision (a save's stale and lock checks, taking a lock, a heartbeat) asks the site.
- Every call that changes something drops what it touches, when it has been answered (the
  client calls :meth:`MetadataCache.wrote` for each gateway call; ``Files`` also drops a path
  when an upload's bytes have landed). A read that was under way while something was dropped
  is not kept (the generation count), so an own write shows at once.
- Reads for the cache of one thing at the same time (fifty tabs polling one folder) share
  one call (:meth:`MetadataCache.read_once`), unless something was dropped since it began.
- Bounded: at most ``max_entries`` entries and ``max_bytes`` bytes (the entries' encoded
  size), least recently used out first.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cs3.storage.provider.v1beta1 import resources_pb2 as res

ResourceInfo = res.ResourceInfo
T = TypeVar("T")

REVALIDATE_SECONDS = 2.0
MAX_ENTRIES = 20_000
MAX_BYTES = 64 * 1024 * 1024

STAT, LISTING, VALUE = "stat", "listing", "value"
#: Gateway calls that change nothing a Stat or a listing shows.
READS = frozenset(
    {
        "Authenticate",
        "WhoAmI",
        "Stat",
        "ListContainer",
        "GetLock",
        "GetQuota",
        "InitiateFileDownload",
        "ListFileVersions",
        "ListRecycle",
        "ListStorageSpaces",
        "GetUser",
        "GetUserByClaim",
        "FindUsers",
        "GetGroup",
        "GetGroupByClaim",
        "FindGroups",
        "GetShare",
        "ListShares",
        "GetReceivedShare",
        "ListReceivedShares",
        "GetPublicShare",
        "GetPublicShareByToken",
        "ListPublicShares",
        "ListExistingShares",
        "ListExistingReceivedShares",
        "ListExistingPublicShares",
        "GetOCMShare",
        "ListOCMShares",
        "GetReceivedOCMShare",
        "ListReceivedOCMShares",
        "GenerateInviteToken",
        "ForwardInvite",
        "FindAcceptedUsers",
        "GetInfoByDomain",
        "ListAllProviders",
        "GetPath",
        "PurgeRecycle",  # (what is in the recycle bin is no Stat nor listing)
    }
)
#: Calls that change one resource, named by the request's ``ref``.
FILE_WRITES = frozenset(
    {
        "CreateContainer",
        "TouchFile",
        "Delete",
        "InitiateFileUpload",
        "SetArbitraryMetadata",
        "UnsetArbitraryMetadata",
        "RestoreFileVersion",
        "SetLock",
        "RefreshLock",
        "Unlock",
    }
)
#: Calls that change who a resource is shared with: its share state, not its metadata.
SHARE_WRITES = frozenset(
    {
        "CreateShare",
        "UpdateShare",
        "RemoveShare",
        "CreatePublicShare",
        "UpdatePublicShare",
        "RemovePublicShare",
        "CreateOCMShare",
        "RemoveOCMShare",
    }
)
#: Calls that change what is mounted or where: they drop everything (as any call not named
#: here would).
CHANGES_ALL = frozenset({"UpdateReceivedShare", "UpdateReceivedOCMShare", "RestoreRecycleItem"})


def resource_key(rid: res.ResourceId) -> str:
    return f"{rid.storage_id}${rid.space_id}!{rid.opaque_id}"


def _clean(path: str) -> str:
    return path.rstrip("/") or "/"


def _parent(path: str) -> str:
    return path.rpartition("/")[0] or "/"


def _name(info: ResourceInfo) -> str:
    return info.path.rstrip("/").rpartition("/")[2]


class Listing:
    """A folder's entries as the site listed them (never changed), found by name too."""

    __slots__ = ("_by_name", "infos")

    def __init__(self, infos: Iterable[ResourceInfo]) -> None:
        self.infos: tuple[ResourceInfo, ...] = tuple(infos)
        self._by_name: dict[str, ResourceInfo] | None = None

    def child(self, name: str) -> ResourceInfo | None:
        if self._by_name is None:
            self._by_name = {_name(info): info for info in self.infos}
        return self._by_name.get(name)


@dataclass
class _Entry:
    value: Any
    keys: frozenset[str]
    at: float
    size: int
    ids: tuple[str, ...] = ()


@dataclass
class CacheStats:
    bytes: int = 0  # the entries' encoded size, together (bounded by max_bytes)
    evicted: int = 0
    discarded: int = 0  # reads not kept: something was dropped while they were under way


@dataclass
class MetadataCache:
    revalidate_seconds: float = REVALIDATE_SECONDS
    max_entries: int = MAX_ENTRIES
    max_bytes: int = MAX_BYTES
    clock: Callable[[], float] = time.monotonic
    stats: CacheStats = field(default_factory=CacheStats)

    def __post_init__(self) -> None:
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._by_id: dict[str, set[tuple[str, str]]] = {}
        #: Counts drops: a read started before a drop is not kept (see :meth:`since`).
        self.generation = 0
        self._reading: dict[tuple, tuple[int, asyncio.Future]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self.revalidate_seconds > 0

    # -- reading --------------------------------------------------------------------------

    def _get(self, kind: str, key: str, keys: Iterable[str], max_age: float | None = None) -> Any:
        found = self._entries.get((kind, key))
        if found is None or not self.enabled:
            return None
        age = self.revalidate_seconds if max_age is None else min(max_age, self.revalidate_seconds)
        if self.clock() - found.at > age or not found.keys.issuperset(keys):
            return None
        self._entries.move_to_end((kind, key))
        return found.value

    def stat(
        self, path: str, keys: Iterable[str] = (), max_age: float | None = None
    ) -> ResourceInfo | None:
        """A Stat of ``path`` made at most ``revalidate_seconds`` ago with (at least) the
        arbitrary metadata ``keys``, or from such a listing of its folder; None: ask the
        site. ``max_age``: a Stat of the file itself made at most that long ago (the one just
        made for a look-up), not a listing's entry."""
        path = _clean(path)
        keys = tuple(keys)
        info = self._get(STAT, path, keys, max_age)
        if info is None and path != "/" and max_age is None:
            listing = self._get(LISTING, _parent(path), keys)
            info = listing.child(path.rpartition("/")[2]) if listing is not None else None
        return info

    def listing(self, path: str, keys: Iterable[str] = ()) -> Listing | None:
        return self._get(LISTING, _clean(path), tuple(keys))

    def value(self, name: str) -> Any:
        return self._get(VALUE, name, ())

    async def read_once(self, key: tuple, read: Callable[[], Awaitable[T]]) -> T:
        """``read()``, or the answer of the same read under way (same ``key``) if nothing
        was dropped since it began (its answer could predate an own change otherwise)."""
        found = self._reading.get(key)
        if found is None or found[0] != self.generation:
            task = asyncio.ensure_future(read())
            found = (self.generation, task)
            self._reading[key] = found
            task.add_done_callback(lambda done: self._read_done(key, done))
        return await asyncio.shield(found[1])

    def _read_done(self, key: tuple, task: asyncio.Future) -> None:
        if self._reading.get(key, (0, None))[1] is task:
            del self._reading[key]
        if not task.cancelled():
            task.exception()  # retrieved: every reader may have gone (cancelled) meanwhile

    # -- filling --------------------------------------------------------------------------

    def since(self) -> tuple[int, float]:
        """Taken before a read is sent; given back to the ``put_*`` that keeps its answer."""
        return self.generation, self.clock()

    def _put(
        self,
        kind: str,
        key: str,
        value: Any,
        keys: Iterable[str],
        size: int,
        ids: tuple[str, ...],
        since: tuple[int, float],
    ) -> None:
        generation, at = since
        if not self.enabled:
            return
        if generation != self.generation:
            self.stats.discarded += 1
            return
        if size > self.max_bytes:
            return
        self._remove((kind, key))
        self._entries[(kind, key)] = _Entry(value, frozenset(keys), at, size, ids)
        self.stats.bytes += size
        for rid in ids:
            self._by_id.setdefault(rid, set()).add((kind, key))
        while len(self._entries) > self.max_entries or self.stats.bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._remove(oldest)
            self.stats.evicted += 1

    def put_stat(
        self, path: str, keys: Iterable[str], info: ResourceInfo, since: tuple[int, float]
    ) -> None:
        ids = (resource_key(info.id),) if info.HasField("id") else ()
        self._put(STAT, _clean(path), info, keys, info.ByteSize(), ids, since)

    def put_listing(
        self, path: str, keys: Iterable[str], infos: Iterable[ResourceInfo], since
    ) -> Listing:
        listing = Listing(infos)
        if self.enabled:
            size = sum(info.ByteSize() for info in listing.infos)
            ids = tuple(resource_key(info.id) for info in listing.infos if info.HasField("id"))
            self._put(LISTING, _clean(path), listing, keys, size, ids, since)
        return listing

    def put_value(self, name: str, value: Any, size: int, since: tuple[int, float]) -> None:
        self._put(VALUE, name, value, (), size, (), since)

    # -- dropping -------------------------------------------------------------------------

    def _remove(self, key: tuple[str, str]) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self.stats.bytes -= entry.size
        for rid in entry.ids:
            holders = self._by_id.get(rid)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._by_id[rid]
        return True

    def _dropped(self, keys: Iterable[tuple[str, str]]) -> None:
        self.generation += 1
        for key in list(keys):
            self._remove(key)

    def drop_path(self, path: str) -> None:
        """``path`` changed (written, made, deleted, moved away or here): its Stat, its
        listing and all below it, and its folder's listing."""
        path = _clean(path)
        below = "/" if path == "/" else path + "/"
        below_or_at = [
            key
            for key in self._entries
            if key[0] != VALUE and (key[1] == path or key[1].startswith(below))
        ]
        self._dropped([*below_or_at, (LISTING, _parent(path))])

    def drop_resource(self, rid: res.ResourceId) -> None:
        """The resource changed (addressed by id: a lock): every Stat and listing showing it."""
        self._dropped(self._by_id.get(resource_key(rid), ()))

    def drop_values(self) -> None:
        self._dropped(key for key in self._entries if key[0] == VALUE)

    def clear(self) -> None:
        self._dropped(self._entries)

    def wrote(self, method: str, request: Any) -> None:
        """A gateway call ``method`` with ``request`` was answered (or failed: it may have
        changed the storage all the same): drop what it may have changed."""
        if method in READS:
            return
        if method in SHARE_WRITES:
            self.drop_values()
        elif method in FILE_WRITES:
            self._drop_ref(request.ref)
        elif method == "Move":
            self._drop_ref(request.source)
            self._drop_ref(request.destination)
        else:
            self.clear()

    def _drop_ref(self, ref: res.Reference) -> None:
        if ref.path.startswith("/") and not ref.HasField("resource_id"):
            self.drop_path(ref.path)
        elif ref.HasField("resource_id") and ref.path in ("", "."):
            self.drop_resource(ref.resource_id)
        else:  # relative to a resource: its absolute path is unknown here
            self.clear()
