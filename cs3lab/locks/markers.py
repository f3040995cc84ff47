"""Race-free write locks for storages without native CS3 locks (Reva's local driver).

A lock is a hidden marker folder beside the file, ``.cs3lab-lock.<name>.<generation>``, made
with CreateContainer, which fails when the folder exists: of any number of contenders for the
same generation exactly one gets it. The holder's identity, the SHA-256 of its lock id and its
times are the marker's arbitrary metadata (key ``cs3lab.lock``), so every reader of the folder
sees who holds the file and until when, and one ListContainer of the folder gives the lock state
of every file in it. The lock id itself stays in the holder's server: a reader never learns it.

The lock of a file is its highest-generation well-formed marker (the "top"), unless that marker
is released or expired. Taking a free or expired lock means creating generation top + 1 (above
every marker folder there, malformed ones too); the winner then checks that no higher generation
exists (a contender with an old view may have re-created a lower number, never a higher one) and
only then removes older markers. The highest marker folder is never removed (clearing a stale one
takes a new, released generation above it instead), so a generation number is never handed out
twice while it matters: there is no window in which two contenders both believe they hold the lock.

Anyone who may write the folder can write a marker, so a marker is data to check, not to trust:
one that is not exactly what cs3lab writes (a time that is not a number, no expiry, a holder of
the wrong shape) is ignored and reported (logged once, and shown in the lock state as a stale
marker the user may clear), and an expiry is honoured at most ``expiry`` seconds (the reader's
own configuration) after the marker was last written (``refreshed``; ``since`` in markers of
the earlier format, which carried the lock id itself).

A marker whose metadata is not written yet (its creator is between the two calls) counts as
held for ``GRACE_SECONDS`` after its creation, then as abandoned.
"""

from __future__ import annotations

import json
import logging
import math
import posixpath
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from ..cs3.errors import AlreadyExists, CS3Error, NotFound, ServerError, says_not_found
from ..cs3.files import Files, ResourceInfo, mtime_seconds
from . import advlock
from .model import (
    CLOCK_SKEW_SECONDS,
    MARKER,
    Holder,
    LockInfo,
    StaleMarker,
    lock_digest,
    valid_username,
)

PREFIX = ".cs3lab-lock."
METADATA_KEY = "cs3lab.lock"
GRACE_SECONDS = 30
MAX_ATTEMPTS = 5
DEFAULT_EXPIRY = 120
MAX_RECORD_CHARS = 8192
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HOLDER_FIELDS = frozenset(f.name for f in fields(Holder))

log = logging.getLogger(__name__)
_reported: set[tuple[str, str]] = set()
REPORTED_REMEMBERED = 4096


class AlreadyLocked(Exception):
    """Someone holds the file (``lock``: who; None while the holder's marker is being made)."""

    def __init__(self, lock: LockInfo | None) -> None:
        super().__init__("locked")
        self.lock = lock


class Malformed(ValueError):
    """A marker's record is not what cs3lab writes; the message says what is wrong (never the
    record's content, which may be anything)."""


def report(where: str, problem: str) -> None:
    """Log an ignored marker at warning level, once per process for each marker and problem."""
    key = (where, problem)
    if key in _reported:
        return
    if len(_reported) >= REPORTED_REMEMBERED:
        _reported.clear()
    _reported.add(key)
    log.warning("Ignored a lock or request marker %s: %s", where, problem)


@dataclass(frozen=True)
class Marker:
    generation: int
    info: ResourceInfo

    @property
    def name(self) -> str:
        # Some storages list entries with paths relative to the folder: use the name only.
        return posixpath.basename(self.info.path.rstrip("/"))


@dataclass
class Reading:
    """What a file's markers say: the live ``lock`` or None; ``top``, the marker that decides
    (the highest well-formed one); ``last``, its record even when released or expired (who
    held the file last); ``stale``, the markers cs3lab ignores and a user may clear."""

    lock: LockInfo | None = None
    top: Marker | None = None
    last: LockInfo | None = None
    stale: list[StaleMarker] = field(default_factory=list)


def marker_name(name: str, generation: int) -> str:
    return f"{PREFIX}{name}.{generation}"


def is_marker_name(name: str) -> bool:
    return name.startswith(PREFIX)


def entry_named(entries: Iterable[ResourceInfo], name: str) -> ResourceInfo | None:
    """The entry called ``name`` in a folder listing (None: not there)."""
    return next((e for e in entries if posixpath.basename(e.path.rstrip("/")) == name), None)


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


# -- reading a record that anyone may have written -----------------------------------------


def load_record(raw: str) -> dict[str, Any]:
    if len(raw) > MAX_RECORD_CHARS:
        raise Malformed("its record is too long")
    try:
        data = json.loads(raw)
    except ValueError:
        raise Malformed("its record is not JSON") from None
    if not isinstance(data, dict):
        raise Malformed("its record is not a JSON object")
    return data


def number(data: dict[str, Any], key: str) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Malformed(f"'{key}' is not a number")
    if not math.isfinite(value) or value < 0:
        raise Malformed(f"'{key}' is not a time")
    return float(value)


def past_time(data: dict[str, Any], key: str, now: float) -> float:
    """A time the writer says has happened: a number, not later than now (give or take
    another server's clock)."""
    value = number(data, key)
    if value > now + CLOCK_SKEW_SECONDS:
        raise Malformed(f"'{key}' is in the future")
    return value


def holder(value: Any, key: str = "holder") -> Holder:
    """A person as cs3lab writes one: known fields, all text, an id, a safe username."""
    if not isinstance(value, dict) or not set(value) <= _HOLDER_FIELDS:
        raise Malformed(f"'{key}' is not a person")
    if not all(isinstance(v, str) and len(v) <= 256 for v in value.values()):
        raise Malformed(f"'{key}' is not a person")
    found = Holder(**value)
    if not found.opaque_id or (found.username and not valid_username(found.username)):
        raise Malformed(f"'{key}' is not a person")
    return found


def parse_lock(raw: str, now: float, expiry: int) -> LockInfo:
    """The lock a marker's record describes, its expiry capped to what cs3lab grants; raises
    Malformed when the record is not one cs3lab writes."""
    data = load_record(raw)
    digest = data.get("lock_digest")
    if digest is None:  # the earlier format kept the lock id itself
        legacy = data.get("lock_id")
        if not isinstance(legacy, str) or not legacy or len(legacy) > 512:
            raise Malformed("it names no lock id")
        digest = lock_digest(legacy)
    elif not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise Malformed("'lock_digest' is not a SHA-256 digest")
    who = holder(data.get("holder"))
    since = past_time(data, "since", now)
    expires = number(data, "expires")
    written = past_time(data, "refreshed", now) if "refreshed" in data else since
    if written + CLOCK_SKEW_SECONDS < since:
        raise Malformed("'refreshed' is before 'since'")
    if expires:  # 0: released
        expires = min(expires, written + expiry)
    return LockInfo(digest, who, since, expires, MARKER)


def read_markers(
    markers: list[Marker], now: float | None = None, expiry: int = DEFAULT_EXPIRY
) -> Reading:
    """What a file's markers say (see :class:`Reading`); malformed ones are reported."""
    now = time.time() if now is None else now
    reading = Reading()
    for marker in sorted(markers, key=lambda m: m.generation, reverse=True):
        raw = marker.info.arbitrary_metadata.metadata.get(METADATA_KEY)
        if not raw:
            if reading.top is None:
                reading.top = marker
                made = mtime_seconds(marker.info)
                if made + GRACE_SECONDS <= now:  # its creator never finished: abandoned
                    reading.stale.append(StaleMarker(marker.name, "abandoned"))
                else:  # being taken right now, by someone we cannot name yet
                    someone = Holder("", "", display_name="someone")
                    reading.lock = LockInfo("", someone, made, made + GRACE_SECONDS, MARKER)
            continue
        try:
            lock = parse_lock(raw, now, expiry)
        except Malformed as err:
            report(marker.info.path or marker.name, str(err))
            reading.stale.append(StaleMarker(marker.name, f"malformed: {err}"))
            continue
        if reading.top is not None:
            continue  # an older generation: the top one decides
        reading.top, reading.last = marker, lock
        if not lock.expired(now):
            reading.lock = lock
        elif lock.expires:  # not released: its holder stopped refreshing it
            reading.stale.append(StaleMarker(marker.name, "expired"))
    return reading


def _encode(lock: LockInfo, now: float) -> str:
    """The record of a lock whose ``lock_id`` is the holder's secret: only its digest goes in."""
    return json.dumps(
        {
            "lock_digest": lock_digest(lock.lock_id),
            "holder": lock.holder.to_json(),
            "since": lock.since,
            "refreshed": now,
            "expires": lock.expires or 0,
        }
    )


def _beside(path: str, marker: Marker) -> str:
    """The CS3 path of a marker of the file at ``path``."""
    return posixpath.join(posixpath.dirname(path), marker.name)


class MarkerLocks:
    kind = MARKER

    def __init__(self, files: Files, expiry: int = DEFAULT_EXPIRY) -> None:
        self.files = files
        self.expiry = expiry

    async def _listing(
        self, path: str, cached: bool = False
    ) -> tuple[list[Marker], ResourceInfo | None]:
        """The file's markers and its own entry (with its advisory lock), from one listing
        (``cached``: a recent one of the user's metadata cache may do)."""
        parent, name = posixpath.split(path)
        entries = await self.files.list(parent, [METADATA_KEY, advlock.KEY], cached=cached)
        entry = entry_named(entries, name)
        return markers_by_file(entries).get(name, []), entry

    async def _markers(self, path: str) -> list[Marker]:
        return (await self._listing(path))[0]

    def _read(self, markers: list[Marker]) -> Reading:
        return read_markers(markers, expiry=self.expiry)

    def _current(self, markers: list[Marker], entry: ResourceInfo | None) -> LockInfo | None:
        """Who holds the file: a live marker, else another app's live advisory lock."""
        lock = self._read(markers).lock
        if lock is None and entry is not None:
            lock = advlock.of(entry)
        return lock

    async def read(self, path: str, cached: bool = False) -> LockInfo | None:
        return self._current(*await self._listing(path, cached))

    async def _publish(self, path: str, lock: LockInfo, entry: ResourceInfo | None) -> None:
        """Show our marker lock to cs3client's apps as their advisory lock (never over another
        app's: theirs stays, and a failure only logs: the marker is the lock)."""
        if entry is not None and not advlock.ours(entry):
            return
        try:
            await self.files.set_metadata(path, {advlock.KEY: advlock.encode(lock)})
        except CS3Error as err:
            log.warning("Could not show the lock on %s as %s: %s", path, advlock.KEY, err.detail)

    async def _unpublish(self, path: str) -> None:
        try:
            entry = await self.files.stat(path, [advlock.KEY])
            if advlock.ours(entry) and entry.arbitrary_metadata.metadata.get(advlock.KEY):
                await self.files.unset_metadata(path, [advlock.KEY])
        except NotFound:
            pass  # deleted, or renamed (the metadata went with it)
        except CS3Error as err:
            log.warning("Could not remove %s from %s: %s", advlock.KEY, path, err.detail)

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
        """Take the lock on ``path`` for ``lock.holder`` (``lock.lock_id``: the holder's secret,
        of which the marker keeps the digest); AlreadyLocked if someone holds it."""
        parent, name = posixpath.split(path)
        for _ in range(MAX_ATTEMPTS):
            markers, entry = await self._listing(path)
            current = self._current(markers, entry)
            if current is not None:
                raise AlreadyLocked(current)
            generation = max((m.generation for m in markers), default=0) + 1
            mine = posixpath.join(parent, marker_name(name, generation))
            if not await self._made(mine):
                continue  # another contender won this generation: look again
            try:
                await self.files.set_metadata(mine, {METADATA_KEY: _encode(lock, time.time())})
            except (NotFound, ServerError) as err:
                if not says_not_found(err):
                    raise
                # A contender of a higher generation removed our marker before we wrote
                # the lock into it: it won.
                raise AlreadyLocked(await self.read(path)) from None
            after, entry = await self._listing(path)
            if any(m.generation > generation for m in after):
                # We re-created an old number with an outdated view: the higher one holds.
                await self._remove(path, [m for m in after if m.generation == generation])
                raise AlreadyLocked(self._read(after).lock)
            await self._remove(path, [m for m in after if m.generation < generation])
            other_app = advlock.of(entry) if entry is not None else None
            if other_app is not None and lock.expires:
                # A cs3client app set its advisory lock meanwhile: it holds the file.
                released = LockInfo(lock.lock_id, lock.holder, lock.since, 0, MARKER)
                await self.files.set_metadata(mine, {METADATA_KEY: _encode(released, time.time())})
                raise AlreadyLocked(other_app)
            if lock.expires:
                await self._publish(path, lock, entry)
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

    async def _top_if_mine(
        self, path: str, digest: str
    ) -> tuple[Marker | None, ResourceInfo | None]:
        markers, entry = await self._listing(path)
        reading = self._read(markers)
        if reading.lock is not None and reading.lock.lock_id == digest:
            return reading.top, entry
        return None, entry

    async def update(self, path: str, lock: LockInfo, current_digest: str = "") -> bool:
        """Write ``lock`` (a new expiry, or a new lock id replacing the one whose digest is
        ``current_digest``) into the top marker if it holds our lock; False when it is not ours
        any more."""
        digest = current_digest or lock_digest(lock.lock_id)
        top, entry = await self._top_if_mine(path, digest)
        if top is None:
            return False
        record = _encode(lock, time.time())
        await self.files.set_metadata(_beside(path, top), {METADATA_KEY: record})
        await self._publish(path, lock, entry)
        return True

    async def release(self, path: str, lock: LockInfo) -> None:
        """Mark our marker released (it stays as the top generation; see the module doc)."""
        top, _ = await self._top_if_mine(path, lock_digest(lock.lock_id))
        if top is not None:
            released = LockInfo(lock.lock_id, lock.holder, lock.since, 0, MARKER)
            record = _encode(released, time.time())
            await self.files.set_metadata(_beside(path, top), {METADATA_KEY: record})
            await self._unpublish(path)

    async def clear(self, path: str, me: Holder) -> Reading:
        """Clear the stale markers of ``path`` (expired, abandoned, malformed, and the released
        ones below them): one released marker of ``me`` is left, a generation above them all,
        taken like a lock (race-free, see the module doc). AlreadyLocked when someone holds the
        file. Returns what the markers said before."""
        markers = await self._markers(path)
        reading = self._read(markers)
        if reading.lock is not None:
            raise AlreadyLocked(reading.lock)
        if reading.stale or len(markers) > 1:
            now = time.time()
            await self.create(path, LockInfo(uuid.uuid4().hex, me, now, 0, MARKER))
        return reading
