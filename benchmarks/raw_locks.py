"""The raw client's locks: native CS3 locks, and cs3lab's marker folders by hand."""

from __future__ import annotations

import hashlib
import json
import posixpath
import time
import uuid

import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
import nbformat
from common import USER
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from cs3.types.v1beta1 import types_pb2
from raw import RawCS3

NATIVE, MARKER = "native", "marker"
MARKER_PREFIX = ".cs3lab-lock."  # cs3lab's marker format (cs3lab/locks/markers.py), by hand
MARKER_KEY = "cs3lab.lock"
MARKER_GRACE = 30
LOCK_CLIENT = "bench-tab"
LOCK_EXPIRY = 120  # seconds: cs3lab's default lock_expiry_seconds


def small_notebook() -> bytes:
    nb = nbformat.v4.new_notebook()
    for i in range(5):
        nb.cells.append(nbformat.v4.new_code_cell(f"x = {i}\nprint(x)", execution_count=i + 1))
    return nbformat.writes(nb, version=nbformat.NO_CONVERT).encode()


class RawNativeLock:
    """The raw client's write lock on one file with native CS3 locks (Reva v2 decomposedfs).

    Reva's lock calls need a resource-id reference: acquire Stats the path for the id (the
    contents model of the open needs that Stat anyway), then keeps the id, like a session."""

    def __init__(self, raw: RawCS3, path: str) -> None:
        self.raw, self.path = raw, path
        self.ref: res.Reference | None = None
        self.lock: res.Lock | None = None

    def _lock(self, lock_id: str) -> res.Lock:
        now = int(time.time())
        return res.Lock(
            lock_id=lock_id,
            type=res.LOCK_TYPE_WRITE,
            user=self.raw.user_id,
            app_name="bench-raw",
            expiration=types_pb2.Timestamp(seconds=now + LOCK_EXPIRY),
        )

    async def acquire(self, info: res.ResourceInfo | None = None) -> str:
        info = info or await self.raw.stat(self.path)  # Stat: path -> resource id
        self.ref = res.Reference(resource_id=info.id)
        self.lock = self._lock(uuid.uuid4().hex)
        await self.raw.set_lock(self.ref, self.lock)  # SetLock
        return self.lock.lock_id

    async def refresh(self) -> str:
        assert self.ref is not None and self.lock is not None
        self.lock = self._lock(self.lock.lock_id)
        await self.raw.refresh_lock(self.ref, self.lock)  # RefreshLock: fails if not ours
        return self.lock.lock_id

    async def release(self) -> None:
        assert self.ref is not None and self.lock is not None
        await self.raw.unlock(self.ref, self.lock)  # Unlock
        self.lock = None

    async def tidy(self) -> None:
        return None


class RawMarkerLock:
    """The raw client's lock on one file of a storage without locks (Reva v3 local driver):
    cs3lab's marker folders ``.cs3lab-lock.<name>.<generation>``, done with the fewest calls.

    acquire = ListContainer (the folder with the markers' metadata: is the top generation
    live?) + CreateContainer of generation top + 1 (fails when it exists: exactly one
    contender gets each number) + SetArbitraryMetadata (holder, lock id, expiry). That is
    race-free as long as markers are never removed (a number, once taken, cannot be taken
    again, so nobody can win with an outdated view), which is why it needs no second
    listing. cs3lab removes older markers and so must list again after creating (see
    cs3lab/locks/markers.py). To keep the folder the same size as cs3lab's, ``tidy`` removes
    the raw client's older markers between timed runs, untimed."""

    def __init__(self, raw: RawCS3, path: str, site: str) -> None:
        self.raw, self.path = raw, path
        self.parent, self.name = posixpath.split(path)
        self.site = site
        self.marker = ""
        self.generation = 0
        self.lock_id = ""
        self.digest = ""  # what the marker keeps of the lock id (cs3lab.locks.model.lock_digest)
        self.since = 0.0

    def _markers(self, infos: list[res.ResourceInfo]) -> dict[int, res.ResourceInfo]:
        found = {}
        prefix = f"{MARKER_PREFIX}{self.name}."
        for info in infos:
            base = posixpath.basename(info.path.rstrip("/"))
            if base.startswith(prefix) and base[len(prefix) :].isdigit():
                found[int(base[len(prefix) :])] = info
        return found

    def _encode(self, expires: float) -> dict[str, str]:
        # cs3lab's record: the lock id's SHA-256 (not the id), the holder, since, refreshed, expiry
        holder = {"idp": self.raw.user_id.idp, "opaque_id": self.raw.user_id.opaque_id}
        holder.update(username=USER, display_name="", mail="", site=self.site, app="bench-raw")
        data = {"lock_digest": self.digest, "holder": holder, "since": self.since}
        return {MARKER_KEY: json.dumps({**data, "refreshed": time.time(), "expires": expires})}

    @staticmethod
    def live_lock_id(info: res.ResourceInfo, now: float) -> str | None:
        """The lock digest (or, in the earlier format, lock id) of a live marker ("" while its
        metadata is being written), else None."""
        stored = info.arbitrary_metadata.metadata.get(MARKER_KEY)
        if not stored:
            return "" if info.mtime.seconds + MARKER_GRACE > now else None
        data = json.loads(stored)
        expires = data.get("expires")
        seen = data.get("lock_digest") or data.get("lock_id")
        return seen if expires is None or expires > now else None

    async def acquire(self) -> str:
        for _ in range(5):
            markers = self._markers(await self.raw.list(self.parent, (MARKER_KEY,)))
            top = max(markers, default=0)
            if top and self.live_lock_id(markers[top], time.time()) is not None:
                raise RuntimeError(f"{self.path} is locked")
            marker = posixpath.join(self.parent, f"{MARKER_PREFIX}{self.name}.{top + 1}")
            if not await self.raw.create_if_absent(marker):
                continue  # another contender took this number: look again
            self.marker, self.generation = marker, top + 1
            self.lock_id, self.since = uuid.uuid4().hex, time.time()
            self.digest = "sha256:" + hashlib.sha256(self.lock_id.encode()).hexdigest()
            await self.raw.set_metadata(marker, self._encode(self.since + LOCK_EXPIRY))
            return self.lock_id
        raise RuntimeError(f"{self.path}: no marker after 5 attempts")

    async def refresh(self) -> str:
        # the heartbeat must learn whether the lock is still ours: is our marker the live top?
        markers = self._markers(await self.raw.list(self.parent, (MARKER_KEY,)))
        top = max(markers, default=0)
        if top != self.generation or self.live_lock_id(markers[top], time.time()) != self.digest:
            raise RuntimeError(f"lost the lock on {self.path}")
        await self.raw.set_metadata(self.marker, self._encode(time.time() + LOCK_EXPIRY))
        return self.lock_id

    async def release(self) -> None:
        # no check needed: marking our own marker released is harmless if it is not the top
        await self.raw.set_metadata(self.marker, self._encode(0))

    async def tidy(self) -> None:
        markers = self._markers(await self.raw.list(self.parent))
        for generation, info in markers.items():
            if generation < max(markers):
                await self.raw.delete(info.path)
