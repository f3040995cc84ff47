"""The advisory lock of CERN's cs3client, read and written beside cs3lab's marker locks.

Apps built on cs3client (cs3-jupyter among them), on a storage that answers lock calls with
"not implemented" or when configured so (``lock_by_setting_attr`` with ``lock_not_impl``), keep
their lock in the file's arbitrary metadata key ``cs3client.advlock`` as
``"<app>!<lock id>!<expiry epoch>"`` (cs3client 1.7.1, ``file.py``): set when the key is absent,
refreshed and removed by the same app, read back by ``get_lock``.

On a marker storage cs3lab honours such a lock of another app (the file is read-only, a save is
refused) until its expiry, and publishes its own marker lock the same way, as
``"cs3lab!<digest of cs3lab's lock id>!<expiry>"`` (never the lock id, a secret of the holder's
server), so a cs3client app sees the file locked. cs3lab's marker stays the source of truth: an
advisory lock that names cs3lab is never a lock to cs3lab (one left behind by a server that
stopped has no live marker behind it and means nothing).
"""

from __future__ import annotations

import logging
import math
import time

from ..cs3.files import ResourceInfo
from .model import APP_NAME, Holder, LockInfo, lock_digest

KEY = "cs3client.advlock"
ADVISORY = "advisory"
MAX_CHARS = 1024

log = logging.getLogger(__name__)


def parse(raw: str, now: float | None = None) -> LockInfo | None:
    """The live lock of another app that ``raw`` describes; None when there is none (absent,
    expired, cs3lab's own, or not in cs3client's format: the latter reported)."""
    if not raw:
        return None
    app, _, rest = raw.partition("!")
    lock_id, _, expiry = rest.rpartition("!")
    try:
        expires = float(expiry)
    except ValueError:
        expires = math.nan
    if len(raw) > MAX_CHARS or not app or not lock_id or not math.isfinite(expires):
        log.debug("Ignored a %s that is not '<app>!<lock id>!<expiry epoch>'", KEY)
        return None
    if app == APP_NAME or expires <= (time.time() if now is None else now):
        return None
    holder = Holder("", "", app=app)  # cs3client records no user: "someone ... in <app>"
    return LockInfo(f"{KEY}:{app}!{lock_id}", holder, None, expires, ADVISORY)


def of(info: ResourceInfo, now: float | None = None) -> LockInfo | None:
    """The live advisory lock of another app on a file (its Stat or listing entry, asked for
    :data:`KEY`)."""
    return parse(info.arbitrary_metadata.metadata.get(KEY, ""), now)


def encode(lock: LockInfo) -> str:
    """cs3lab's marker lock ``lock`` (whose ``lock_id`` is the holder's secret) as cs3client
    writes an advisory lock."""
    return f"{APP_NAME}!{lock_digest(lock.lock_id)}!{int(lock.expires or 0)}"


def published_by_cs3lab(info: ResourceInfo) -> bool:
    """Whether the file's advisory lock is one cs3lab published for a marker lock."""
    return info.arbitrary_metadata.metadata.get(KEY, "").partition("!")[0] == APP_NAME


def ours(info: ResourceInfo) -> bool:
    """Whether the file's advisory lock names cs3lab (or there is none)."""
    return not info.arbitrary_metadata.metadata.get(KEY, "") or published_by_cs3lab(info)
