"""What a lock is, as cs3lab reads it from the storage: who holds it, since when, until when.

The same shape for both backends (native CS3 locks and cs3lab's marker folders), so the rest of
cs3lab never asks which backend a file lives on. Pure data, no I/O.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

APP_NAME = "cs3lab"
NATIVE = "native"
MARKER = "marker"
# How far another server's clock may run ahead of ours: a time written into a marker later
# than now + this is not one cs3lab wrote, and the marker is malformed.
CLOCK_SKEW_SECONDS = 60
# A username as it may appear in a marker's name: never '/', never '.' or '..' alone.
_USERNAME = re.compile(r"[A-Za-z0-9_@+=~-][A-Za-z0-9_.@+=~-]{0,127}")


def valid_username(username: str) -> bool:
    """Whether ``username`` is safe as one part of a marker's name (no path in it)."""
    return bool(_USERNAME.fullmatch(username)) and username not in (".", "..")


def lock_digest(lock_id: str) -> str:
    """What a marker keeps of a lock id: its SHA-256, so a reader of the folder never learns
    the id, while the holder (which keeps the id in memory) still recognises its marker."""
    return "sha256:" + hashlib.sha256(lock_id.encode()).hexdigest()


def seen_id(lock_id: str, backend: str) -> str:
    """The ``lock_id`` a reader finds in a LockInfo read from the storage for a lock whose
    id is ``lock_id``: the id itself for native locks, its digest for marker locks."""
    return lock_digest(lock_id) if backend == MARKER else lock_id


@dataclass(frozen=True)
class Holder:
    """Who holds a lock. ``site`` is the holder's site; ``app`` the CS3 application."""

    idp: str
    opaque_id: str
    username: str = ""
    display_name: str = ""
    mail: str = ""
    site: str = ""
    app: str = APP_NAME

    @property
    def key(self) -> tuple[str, str]:
        return (self.idp, self.opaque_id)

    @property
    def label(self) -> str:
        """How a person is named in messages: 'Alice Anders (site-a)'."""
        name = self.display_name or self.username or self.opaque_id or "someone"
        return f"{name} ({self.site})" if self.site else name

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class LockInfo:
    """A write lock found on a file. ``lock_id`` is a secret of the holder's session: it never
    leaves the server (``to_json`` omits it). A marker lock read from the storage carries the
    id's digest here (:func:`lock_digest`: the marker never holds the id itself)."""

    lock_id: str
    holder: Holder
    since: float | None  # epoch seconds
    expires: float | None  # epoch seconds; None: no expiry
    backend: str

    def expired(self, now: float | None = None) -> bool:
        return self.expires is not None and self.expires <= (now or time.time())

    def to_json(self) -> dict[str, Any]:
        return {
            "holder": self.holder.to_json(),
            "since": iso(self.since),
            "expires": iso(self.expires),
            "backend": self.backend,
        }


@dataclass
class EditRequest:
    """A request by someone who reads a locked file to get the lock ("Request edit")."""

    requester: Holder
    at: float
    state: str = "pending"  # pending | granted | declined
    answered_by: Holder | None = None
    answered_at: float | None = None
    reserved_until: float | None = None  # a granted request reserves the lock for a while

    def to_json(self) -> dict[str, Any]:
        return {
            "requester": self.requester.to_json(),
            "at": iso(self.at),
            "state": self.state,
            "answered_by": self.answered_by.to_json() if self.answered_by else None,
            "answered_at": iso(self.answered_at),
            "reserved_until": iso(self.reserved_until),
        }


@dataclass(frozen=True)
class StaleMarker:
    """A lock or request marker cs3lab ignores: expired, abandoned or malformed. Shown to
    the user (who may clear it), never its content."""

    name: str
    problem: str

    def to_json(self) -> dict[str, str]:
        return {"marker": self.name, "problem": self.problem}


@dataclass
class LockState:
    """What a user is told about one file's lock (GET /cs3lab/api/locks)."""

    path: str
    lock: LockInfo | None
    mine: bool = False  # held by the signed-in user (in this session or another)
    this_session: bool = False  # held by this Jupyter server for this user
    expiry_seconds: int = 0
    requests: list[EditRequest] = field(default_factory=list)  # shown to the holder
    my_request: EditRequest | None = None  # shown to a requester
    stale_markers: list[StaleMarker] = field(default_factory=list)  # ignored, clearable

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "locked": self.lock is not None,
            "lock": self.lock.to_json() if self.lock else None,
            "mine": self.mine,
            "this_session": self.this_session,
            "expiry_seconds": self.expiry_seconds,
            "requests": [r.to_json() for r in self.requests],
            "my_request": self.my_request.to_json() if self.my_request else None,
            "stale_markers": [m.to_json() for m in self.stale_markers],
        }


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat()


def new_lock_id(site: str, since: float) -> str:
    """A lock id for one editing session: unique, and saying which app and site made it and
    when (``cs3lab:<site>:<epoch seconds>:<random>``). Storages that keep no creation time
    with a lock (Reva's decomposedfs) still let every reader tell since when it is held."""
    return f"{APP_NAME}:{site}:{int(since)}:{uuid.uuid4().hex}"


def parse_lock_id(lock_id: str) -> tuple[str, float | None]:
    """(site, since) of a lock id made by :func:`new_lock_id`; ("", None) for other apps'."""
    parts = lock_id.split(":")
    if len(parts) < 4 or parts[0] != APP_NAME or not parts[-2].isdigit():
        return "", None
    return ":".join(parts[1:-2]), float(parts[-2])
