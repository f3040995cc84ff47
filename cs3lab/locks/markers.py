"""Race-free write locks for storages without native CS3 locks (Reva's local driver).

A lock is a hidden marker folder beside the file, ``.cs3lab-lock.<name>.<generation>``, made
with CreateContainer, which fails when the folder exists: of any number of contenders for the
same generation exactly one gets it. The holder's identity, lock id and expiry are the marker's
arbitrary metadata (key ``cs3lab.lock``), so every reader of the folder sees them, and one
ListContainer of the folder gives the lock state of every file in it.

The lock of a file is its marker with the highest generation (the "top"), unless that marker is
released or expired. Taking a free or expired lock means creating generation top + 1; the
winner then checks that no higher generation exists (a contender with an old view may have
re-created a lower number, never a higher one) and only then removes older markers. The top
marker is never removed, so a generation number is never handed out twice while it matters:
there is no window in which two contenders both believe they hold the lock.

A marker whose metadata is not written yet (its creator is between the two calls) counts as
held for ``GRACE_SECONDS`` after its creation, then as abandoned.
"""

from __future__ import annotations

import json
import posixpath
import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..cs3.errors import AlreadyExists, CS3Error, NotFound, ServerError, says_not_found
from ..cs3.files import Files, ResourceInfo, mtime_seconds
from .model import MARKER, Holder, LockInfo

PREFIX = ".cs3lab-lock."
METADATA_KEY = "cs3lab.lock"
GRACE_SECONDS = 30
MAX_ATTEMPTS = 5


class AlreadyLocked(Exception):
    """Someone holds the file (``lock``: who; None while the holder's marker is being made)."""

    def __init__(self, lock: LockInfo | None) -> None:
        super().__init__("locked")
        self.lock = lock


@dataclass(frozen=True)
class Marker:
    generation: int
    info: ResourceInfo

    @property
    def name(self) -> str:
        # Some storages list entries with paths relative to the folder: use the name only.
        return posixpath.basename(self.info.path.rstrip("/"))


def marker_name(name: str, generation: int) -> str:
    return f"{PREFIX}{name}.{generation}"


def is_marker_name(name: str) -> bool:
    return name.startswith(PREFIX)


def markers_by_file(entries: Iterable[ResourceInfo]) -> dict[str, list[Marker]]:
    """The lock markers in a folder listing, by the name of the file they lock."""
    found: dict[str, list[Marker]] = {}
    for entry in entries:
        name = posixpath.basename(entry.path.rstrip("/"))
        if not is_marker_name(name):
            continue
        target, _, generation = name[len(PREFIX) :].rpartition(".")
        if target and generation.isdigit():
            found.setdefault(target, []).append(Marker(int(generation), entry))
    return found


def lock_of_markers(markers: list[Marker], now: float | None = None) -> LockInfo | None:
    """The live lock that a file's markers describe, or None."""
    if not markers:
        return None
    now = time.time() if now is None else now
    top = max(markers, key=lambda m: m.generation)
    raw = top.info.arbitrary_metadata.metadata.get(METADATA_KEY)
    if not raw:
        made = mtime_seconds(top.info)
        if made + GRACE_SECONDS <= now:
            return None  # its creator never finished: abandoned
        # Being taken right now, by someone we cannot name yet.
        someone = Holder("", "", display_name="someone")
        return LockInfo("", someone, made, made + GRACE_SECONDS, MARKER)
    try:
        data = json.loads(raw)
        lock = LockInfo(
            data["lock_id"],
            Holder(**data["holder"]),
            data.get("since"),
            data.get("expires"),
            MARKER,
        )
    except (ValueError, TypeError, KeyError):
        return None  # not ours to read: treat as no lock rather than locking people out
    return None if lock.expired(now) else lock


def _encode(lock: LockInfo) -> str:
    return json.dumps(
        {
            "lock_id": lock.lock_id,
            "holder": lock.holder.to_json(),
            "since": lock.since,
            "expires": lock.expires,
        }
    )


def _beside(path: str, marker: Marker) -> str:
    """The CS3 path of a marker of the file at ``path``."""
    return posixpath.join(posixpath.dirname(path), marker.name)


class MarkerLocks:
    kind = MARKER

    def __init__(self, files: Files) -> None:
        self.files = files

    async def _markers(self, path: str) -> list[Marker]:
        parent, name = posixpath.split(path)
        entries = await self.files.list(parent, [METADATA_KEY])
        return markers_by_file(entries).get(name, [])

    async def read(self, path: str) -> LockInfo | None:
        return lock_of_markers(await self._markers(path))

    async def _made(self, marker_path: str) -> bool:
        """Create the marker folder; False when it exists already (someone else made it)."""
        try:
            await self.files.mkdir(marker_path)
        except AlreadyExists:
            return False
        except ServerError as err:
            # Two CreateContainer calls racing past the driver's existence check: the loser's
            # mkdir fails with EEXIST, which Reva reports as an internal error.
            if "exist" in err.detail.lower():
                return False
            raise
        return True

    async def create(self, path: str, lock: LockInfo) -> None:
        """Take the lock on ``path`` for ``lock.holder``; AlreadyLocked if someone holds it."""
        parent, name = posixpath.split(path)
        for _ in range(MAX_ATTEMPTS):
            markers = await self._markers(path)
            current = lock_of_markers(markers)
            if current is not None:
                raise AlreadyLocked(current)
            generation = max((m.generation for m in markers), default=0) + 1
            mine = posixpath.join(parent, marker_name(name, generation))
            if not await self._made(mine):
                continue  # another contender won this generation: look again
            try:
                await self.files.set_metadata(mine, {METADATA_KEY: _encode(lock)})
            except (NotFound, ServerError) as err:
                if not says_not_found(err):
                    raise
                # A contender of a higher generation removed our marker before we wrote
                # the lock into it: it won.
                raise AlreadyLocked(await self.read(path)) from None
            after = await self._markers(path)
            if any(m.generation > generation for m in after):
                # We re-created an old number with an outdated view: the higher one holds.
                await self._remove(path, [m for m in after if m.generation == generation])
                raise AlreadyLocked(lock_of_markers(after))
            await self._remove(path, [m for m in after if m.generation < generation])
            return
        raise AlreadyLocked(await self.read(path))

    async def _remove(self, path: str, markers: list[Marker]) -> None:
        for marker in markers:
            try:
                await self.files.delete(_beside(path, marker))
            except NotFound:
                pass
            except CS3Error:
                pass  # an old marker left behind is harmless: only the top one counts

    async def _top_if_mine(self, path: str, lock_id: str) -> Marker | None:
        markers = await self._markers(path)
        if not markers:
            return None
        top = max(markers, key=lambda m: m.generation)
        current = lock_of_markers([top])
        return top if current is not None and current.lock_id == lock_id else None

    async def update(self, path: str, lock: LockInfo, current_lock_id: str = "") -> bool:
        """Write ``lock`` (a new expiry, or a new lock id replacing ``current_lock_id``) into
        the top marker if it holds our lock; False when it is not ours any more."""
        top = await self._top_if_mine(path, current_lock_id or lock.lock_id)
        if top is None:
            return False
        await self.files.set_metadata(_beside(path, top), {METADATA_KEY: _encode(lock)})
        return True

    async def release(self, path: str, lock: LockInfo) -> None:
        """Mark our marker released (it stays as the top generation; see the module doc)."""
        top = await self._top_if_mine(path, lock.lock_id)
        if top is not None:
            released = LockInfo(lock.lock_id, lock.holder, lock.since, 0, MARKER)
            await self.files.set_metadata(_beside(path, top), {METADATA_KEY: _encode(released)})
