"""The LockService: one writer per file, the lock kept in the storage.

Acquire, refresh (heartbeat), release, inspect and take over, over two backends with one
behaviour: native CS3 locks where the storage has them, race-free marker folders where it has
none (probed once per storage and remembered). Edit requests and hand-over on top.

A Jupyter server holds at most one lock per file for its user (a "session" with its own lock
id); every browser tab that edits the file is a client of that session, so a second tab of the
same server is not locked out. The lock ends when the last client releases it, or expires
when no client has refreshed it for ``expiry_seconds``.

Errors are raised as the CS3 exception family (cs3lab.cs3.errors): 423 Locked names the holder.
Knows nothing of tornado or Jupyter; paths are CS3 paths.
"""

from __future__ import annotations

import json
import logging
import posixpath
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import NoReturn

from ..cs3.errors import (
    Conflict,
    CS3Error,
    InvalidArgument,
    Locked,
    NotFound,
    NotSupported,
    PermissionDenied,
    ServerError,
    Unavailable,
)
from ..cs3.files import CONTAINER, Files, ResourceInfo
from ..cs3.users import UserId, Users
from . import advlock
from . import markers as marker_mod
from . import requests as request_mod
from .guards import PathGuards
from .markers import AlreadyLocked as MarkerHeld
from .markers import MarkerLocks, entry_named, markers_by_file, read_markers, report
from .model import (
    APP_NAME,
    CLOCK_SKEW_SECONDS,
    MARKER,
    NATIVE,
    EditRequest,
    Holder,
    LockInfo,
    LockState,
    new_lock_id,
    seen_id,
)
from .native import AlreadyLocked as NativeHeld
from .native import NativeLocks
from .requests import RESERVATION_SECONDS, EditRequests, read_requests

log = logging.getLogger(__name__)
# On a file with a native lock, the holder's record of a hand-over (who to, by whom, when),
# written with the holder's lock id: while the file is locked nobody else can write it.
HANDOVER_KEY = "cs3lab.handover"
HIDDEN_PREFIXES = (marker_mod.PREFIX, request_mod.PREFIX)
GIVEN_BACK_REMEMBERED = 1024


# The metadata a folder listing must ask for to carry the lock state of its files: the
# markers' key, cs3client's advisory lock, and "lockdiscovery", without which decomposedfs
# leaves out ResourceInfo.lock as soon as any key is named.
LISTING_METADATA_KEYS = (marker_mod.METADATA_KEY, advlock.KEY, "lockdiscovery")
# A lock's whole state (markers, requests to edit, other apps' locks) from one listing.
STATE_METADATA_KEYS = (*LISTING_METADATA_KEYS, request_mod.METADATA_KEY)


def is_lock_artifact(name: str) -> bool:
    """Names of cs3lab's own lock and request markers, never shown as files."""
    return name.startswith(HIDDEN_PREFIXES)


@dataclass
class Session:
    """This server's hold on one file: its lock id and the browser tabs editing it."""

    lock_id: str
    kind: str
    since: float
    refreshed: float
    clients: dict[str, float] = field(default_factory=dict)  # client id -> last heartbeat

    @property
    def seen_id(self) -> str:
        """This session's lock id as readers of the storage see it (LockInfo.lock_id)."""
        return seen_id(self.lock_id, self.kind)


def when(epoch: float | None) -> str:
    if not epoch:
        return "an unknown time"
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


class LockService:
    def __init__(self, files: Files, *, site: str, expiry_seconds: int = 120) -> None:
        if expiry_seconds < 10:
            raise ValueError("lock expiry must be at least 10 seconds")
        self.files = files
        self.site = site
        self.expiry = int(expiry_seconds)
        self.users = Users(files.client)
        self.native = NativeLocks(files, self.users, site)
        self.markers = MarkerLocks(files, self.expiry)
        self.requests = EditRequests(files)
        self._kinds: dict[str, str] = {}  # storage id -> NATIVE | MARKER
        self._sessions: dict[str, Session] = {}  # CS3 path -> session
        # Lock ids this server gave back lately: a write that read the lock before it was
        # given back is not refused as another session's (bounded: GIVEN_BACK_REMEMBERED).
        self._given_back: OrderedDict[str, None] = OrderedDict()
        # CS3 path -> the id of a lock this server could not give back because the site was
        # unreachable: it expires by itself (nothing refreshes it), and until then this
        # server takes it again rather than refuse its own user (bounded likewise).
        self._not_given_back: OrderedDict[str, str] = OrderedDict()
        self._guards = PathGuards()
        self._me: tuple[Holder, UserId] | None = None
        # Why this server may not lock a CS3 path (None: it may), e.g. a file that another
        # site shares with the user (set by the contents manager from its mounts).
        self.unlockable: Callable[[str], str | None] = lambda path: None

    # -- who and where ---------------------------------------------------------------------

    async def me(self) -> tuple[Holder, UserId]:
        if self._me is None:
            user = await self.files.client.whoami()
            holder = Holder(
                user.id.idp,
                user.id.opaque_id,
                username=user.username,
                display_name=user.display_name,
                mail=user.mail,
                site=self.site,
                app=APP_NAME,
            )
            self._me = (holder, user.id)
        return self._me

    async def _is_me(self, holder: Holder) -> bool:
        me, _ = await self.me()
        return holder.key == me.key

    async def kind_of(self, info: ResourceInfo) -> str:
        """NATIVE or MARKER for the storage holding ``info`` (probed once, remembered)."""
        storage = _storage(info)
        if storage not in self._kinds:
            try:
                await self.files.get_lock(info, info.path)
                self._kinds[storage] = NATIVE
            except (NotSupported, ServerError) as err:
                # Reva v3's local driver: CODE_INTERNAL "error getting lock: <ref>" (no native
                # locks); a storage with locks answers OK or NOT_FOUND (unlocked).
                log.info(
                    "No native CS3 locks on storage %s (%s): using lock markers",
                    storage,
                    err.detail,
                )
                self._kinds[storage] = MARKER
        return self._kinds[storage]

    def _session(self, path: str) -> Session | None:
        return self._sessions.get(path)

    def held_here(self, path: str, lock: LockInfo | None) -> bool:
        session = self._session(path)
        return bool(lock and session and lock.lock_id == session.seen_id)

    # -- reading lock state ----------------------------------------------------------------

    async def lock_of(self, path: str, info: ResourceInfo, cached: bool = False) -> LockInfo | None:
        """The live lock on a file: from the Stat answer (native) or the folder's markers
        (``cached``: a recent listing of the user's metadata cache may do, to show it)."""
        if info.type == CONTAINER:
            return None
        if info.HasField("lock") and info.lock.lock_id:
            return await self.native.read(info)
        if self.unlockable(path):
            return None
        try:
            if await self.kind_of(info) == MARKER:
                return await self.markers.read(path, cached=cached)
        except (PermissionDenied, NotFound):
            # A guest of a public link may read the file but not probe locks nor list the
            # folder: nobody's lock is visible to them, and the storage still enforces its own.
            return None
        return None

    async def lock_shown(self, path: str, info: ResourceInfo) -> LockInfo | None:
        """The lock a file's model shows, from ``info``: a Stat asked for
        :data:`LISTING_METADATA_KEYS`. On a marker storage, cs3lab publishes a marker lock in
        the file's advisory-lock metadata as it takes it and removes it as it gives it back,
        so a file whose Stat carries no cs3lab advisory lock has no marker lock to show, and
        its folder is not listed: a model costs one Stat (a poll of an unlocked file). Every
        decision (a save, taking the lock) reads the markers themselves (:meth:`lock_of`)."""
        if (
            info.type != CONTAINER
            and not (info.HasField("lock") and info.lock.lock_id)
            and self._kinds.get(_storage(info)) == MARKER
            and not advlock.published_by_cs3lab(info)
        ):
            return advlock.of(info)
        return await self.lock_of(path, info, cached=True)

    async def locks_in(self, entries: list[ResourceInfo]) -> dict[str, LockInfo]:
        """The lock of every file of one folder listing, by name, without further CS3 calls
        (GetUser for a holder not met before aside, once per process)."""
        found: dict[str, LockInfo] = {}
        by_file = markers_by_file(entries)
        for entry in entries:
            name = posixpath.basename(entry.path.rstrip("/"))
            if entry.type == CONTAINER or is_lock_artifact(name):
                continue
            lock = None
            if entry.HasField("lock") and entry.lock.lock_id:
                lock = await self.native.read(entry)
            elif self._kinds.get(_storage(entry)) != NATIVE:
                if name in by_file:
                    lock = read_markers(by_file[name], expiry=self.expiry).lock
                if lock is None:  # another app's, kept the way cs3client does
                    lock = advlock.of(entry)
            if lock is not None:
                found[name] = lock
        return found

    def lock_json(self, path: str, lock: LockInfo | None, me: Holder | None) -> dict | None:
        """A lock as shown in contents models: who, since, and whether it is the reader's."""
        if lock is None:
            return None
        return {
            **lock.to_json(),
            "mine": bool(me and lock.holder.key == me.key),
            "this_session": self.held_here(path, lock),
        }

    async def _stat_file(self, path: str, cached: bool = False) -> ResourceInfo:
        info = await self.files.stat(path, cached=cached)
        if info.type == CONTAINER:
            raise InvalidArgument(f"{path} is a folder: only files can be locked")
        return info

    async def inspect(self, path: str) -> LockState:
        """The lock state shown (from the user's metadata cache when it holds it)."""
        info = await self._stat_file(path, cached=True)
        return await self._state(path, info, cached=True)

    async def _with_folder(self, path: str) -> tuple[ResourceInfo, list[ResourceInfo]]:
        """The file's entry and its folder's entries, from one listing."""
        parent, name = posixpath.split(path)
        entries = await self.files.list(parent, STATE_METADATA_KEYS)
        info = entry_named(entries, name)
        if info is None:
            raise NotFound(f"No such file or directory: {path}")
        if info.type == CONTAINER:
            raise InvalidArgument(f"{path} is a folder: only files can be locked")
        return info, entries

    async def _state(
        self,
        path: str,
        info: ResourceInfo,
        entries: list[ResourceInfo] | None = None,
        cached: bool = False,
    ) -> LockState:
        me, _ = await self.me()
        parent, name = posixpath.split(path)
        if entries is None:
            entries = await self.files.list(parent, STATE_METADATA_KEYS, cached=cached)
        markers = read_markers(markers_by_file(entries).get(name, []), expiry=self.expiry)
        requests = read_requests(entries, name)
        if info.HasField("lock") and info.lock.lock_id:
            lock = await self.native.read(info)
        else:
            lock = markers.lock
            if lock is None and await self.kind_of(info) == MARKER:
                entry = entry_named(entries, name)
                lock = advlock.of(entry) if entry is not None else None
        state = LockState(path, lock, expiry_seconds=self.expiry)
        state.stale_markers = markers.stale + requests.stale
        if lock is not None:
            state.mine = lock.holder.key == me.key
            state.this_session = self.held_here(path, lock)
        if state.this_session:
            state.requests = [r for r in requests.requests if r.state == "pending"]
        state.my_request = next(
            (r for r in requests.requests if r.requester.username == me.username), None
        )
        return state

    # -- enforcement -----------------------------------------------------------------------

    def locked_error(self, path: str, lock: LockInfo, me: Holder) -> Locked:
        if lock.backend == advlock.ADVISORY:
            return Locked(
                f"{path} is locked by {lock.holder.app} until {when(lock.expires)}. "
                "Nothing was written. You can open it read-only or make a copy."
            )
        if lock.holder.key == me.key and lock.holder.app == APP_NAME:
            return Locked(
                f"You are editing {path} in another session (since {when(lock.since)}). "
                "Take it over there, or here with 'Take over', to edit it in this one."
            )
        app = "" if lock.holder.app in ("", APP_NAME) else f" in {lock.holder.app}"
        return Locked(
            f"{path} is locked: {lock.holder.label} is editing it{app} since {when(lock.since)}. "
            "Nothing was written. You can open it read-only, make a copy, or request edit."
        )

    async def write_lock_id(self, path: str, info: ResourceInfo | None) -> str:
        """The lock id this server must send with a write of ``path`` ("" when unlocked);
        raises Locked (423, naming the holder) when someone else holds the file."""
        if info is None:
            return ""
        lock = await self.lock_of(path, info)
        if lock is None:
            return ""
        session = self._session(path)
        if session is not None and self.held_here(path, lock):
            return session.lock_id
        if lock.lock_id in self._given_back:
            return ""  # read while this server was giving it back: the file is free now
        me, _ = await self.me()
        raise self.locked_error(path, lock, me)

    async def explain_refusal(self, path: str) -> Locked:
        """The storage refused a write as locked: say by whom."""
        me, _ = await self.me()
        try:
            info = await self.files.stat(path)
            lock = await self.lock_of(path, info)
        except CS3Error:
            lock = None
        if lock is None:
            return Locked(f"{path} is locked by another application. Nothing was written.")
        return self.locked_error(path, lock, me)

    # -- acquire / refresh / release -------------------------------------------------------

    async def acquire(self, path: str, client: str, takeover: bool = False) -> LockState:
        if not client:
            raise InvalidArgument("A lock request must name its client (the browser tab)")
        reason = self.unlockable(path)
        if reason:
            raise NotSupported(reason)
        async with self._guards.hold(path):
            info = await self._stat_file(path)
            me, user_id = await self.me()
            lock = await self.lock_of(path, info)
            session = self._session(path)
            now = time.time()
            if session is not None and lock is not None and lock.lock_id == session.seen_id:
                session.clients[client] = now
                return await self._state(path, info)
            kind = await self.kind_of(info)
            lock_id = new_lock_id(self.site, now)
            mine = LockInfo(lock_id, me, now, now + self.expiry, kind)
            if lock is not None:
                own = self._not_given_back.get(path) == lock.lock_id
                if not own and not (
                    takeover and lock.holder.key == me.key and lock.holder.app == APP_NAME
                ):
                    raise self.locked_error(path, lock, me)
                await self._replace(path, info, lock, mine, user_id)
            else:
                await self._refuse_if_reserved(path, info, kind, me)
                await self._create(path, info, mine, user_id, me)
            self._sessions[path] = Session(lock_id, kind, now, now, {client: now})
            self._not_given_back.pop(path, None)
            await self.requests.remove(path, me.username)  # a granted request is used up
            return await self._state(path, await self.files.stat(path))

    async def _create(
        self, path: str, info: ResourceInfo, lock: LockInfo, user_id: UserId, me: Holder
    ) -> None:
        try:
            if lock.backend == NATIVE:
                await self.native.create(info, lock.lock_id, user_id, self.expiry, path)
            else:
                await self.markers.create(path, lock)
        except (NativeHeld, MarkerHeld):
            current = await self.lock_of(path, await self.files.stat(path))
            if current is None:
                raise Locked(f"{path} is being locked by someone else right now") from None
            raise self.locked_error(path, current, me) from None

    async def _replace(
        self, path: str, info: ResourceInfo, old: LockInfo, new: LockInfo, user_id: UserId
    ) -> None:
        if new.backend == NATIVE:
            await self.native.replace(info, old.lock_id, new.lock_id, user_id, self.expiry, path)
        elif not await self.markers.update(path, new, current_digest=old.lock_id):
            raise Conflict(f"The lock on {path} changed hands while you took it over")

    async def _refuse_if_reserved(
        self, path: str, info: ResourceInfo, kind: str, me: Holder
    ) -> None:
        """Locked while the last holder's hand-over reserves the file for someone else."""
        parent, name = posixpath.split(path)
        entries = await self.files.list(parent, [request_mod.METADATA_KEY, marker_mod.METADATA_KEY])
        now = time.time()
        for request in read_requests(entries, name, now).requests:
            reserved = request.state == "granted" and (request.reserved_until or 0) > now
            if not reserved or request.requester.username == me.username:
                continue
            if not await self._granted_by_holder(path, info, kind, request, entries):
                report(path, f"a hand-over to {request.requester.username} not by the holder")
                continue
            raise Locked(
                f"{path} was just handed over to {request.requester.label}, who can take it "
                f"until {when(request.reserved_until)}."
            )

    async def _granted_by_holder(
        self,
        path: str,
        info: ResourceInfo,
        kind: str,
        request: EditRequest,
        entries: list[ResourceInfo],
    ) -> bool:
        """Whether ``request`` was granted by the file's holder at that time: the lock's own
        record names its granter (marker storages: the top marker, released by its holder;
        native: the hand-over the holder wrote on the file with its lock id)."""
        by, at = request.answered_by, request.answered_at or 0.0
        if by is None:
            return False
        if kind == MARKER:
            name = posixpath.basename(path)
            last = read_markers(markers_by_file(entries).get(name, []), expiry=self.expiry).last
            return (
                last is not None
                and last.holder.key == by.key
                and (last.since or 0.0) <= at + CLOCK_SKEW_SECONDS
            )
        stored = await self.files.stat(path, [HANDOVER_KEY])
        raw = stored.arbitrary_metadata.metadata.get(HANDOVER_KEY, "")
        try:
            record = json.loads(raw)
            return (
                record["to"] == request.requester.username
                and record["by"] == list(by.key)
                and abs(float(record["at"]) - at) < 1
            )
        except (ValueError, TypeError, KeyError):
            return False

    async def refresh(self, path: str, client: str) -> LockState:
        """A heartbeat of one client; refreshes the storage's lock well before it expires."""
        async with self._guards.hold(path):
            session = self._session(path)
            if session is None:
                raise Conflict(f"You do not hold the lock on {path}: open it again to edit")
            now = time.time()
            session.clients[client] = now
            for other, seen in list(session.clients.items()):
                if now - seen > self.expiry:
                    del session.clients[other]
            # One listing of the folder: the file's entry (its native lock), its markers and
            # the requests to edit it.
            info, entries = await self._with_folder(path)
            lock = (await self.locks_in(entries)).get(posixpath.basename(path))
            if lock is None or lock.lock_id != session.seen_id:
                await self._lost(path, lock)
            if now - session.refreshed >= self.expiry / 3:
                await self._refresh_storage(path, info, session, now)
            return await self._state(path, info, entries)

    async def _lost(self, path: str, lock: LockInfo | None) -> NoReturn:
        """Our lock on ``path`` expired or was taken over: forget it and say by whom."""
        self._sessions.pop(path, None)
        if lock is None:
            raise Conflict(
                f"Your lock on {path} expired. Nobody holds it now: open it again to edit."
            )
        if await self._is_me(lock.holder):
            raise Conflict(
                f"You took over {path} in another session (since {when(lock.since)}): "
                "it is read-only here now."
            )
        # Short enough for a JupyterLab notification (140 characters) with a usual path.
        raise Conflict(
            f"Your lock on {path} expired; {lock.holder.label} holds it now. "
            "Make a copy to keep your changes."
        )

    async def _refresh_storage(
        self, path: str, info: ResourceInfo, session: Session, now: float
    ) -> None:
        me, user_id = await self.me()
        renewed = LockInfo(session.lock_id, me, session.since, now + self.expiry, session.kind)
        try:
            if session.kind == NATIVE:
                await self.native.refresh(info, session.lock_id, user_id, self.expiry, path)
                kept = True
            else:
                kept = await self.markers.update(path, renewed)
        except (Conflict, Locked, NotFound):
            kept = False
        if not kept:
            await self._lost(path, await self.lock_of(path, await self.files.stat(path)))
        session.refreshed = now

    async def release(self, path: str, client: str) -> None:
        """One client is done; the lock is given back when no client of this server is left."""
        async with self._guards.hold(path):
            session = self._session(path)
            if session is None or client not in session.clients:
                return
            del session.clients[client]
            if not session.clients:
                await self._give_back(path, session)

    async def _give_back(self, path: str, session: Session) -> None:
        # The session is forgotten only once the storage has the lock back: a write that
        # arrives meanwhile (JupyterLab's first checkpoint of a tab closed right away) is
        # still this session's own, not "another session's"; one that read the lock before
        # and checks it after finds its id among those given back.
        me, user_id = await self.me()
        try:
            info = await self.files.stat(path)
            if session.kind == NATIVE:
                await self.native.release(info, session.lock_id, user_id, path)
            else:
                lock = LockInfo(session.lock_id, me, session.since, None, MARKER)
                await self.markers.release(path, lock)
            self._remember_given_back(session.seen_id)
        except (NotFound, Conflict, Locked):
            # Gone, expired or taken over already: nothing of ours to give back.
            self._remember_given_back(session.seen_id)
        except Unavailable:
            self._not_given_back[path] = session.seen_id
            while len(self._not_given_back) > GIVEN_BACK_REMEMBERED:
                self._not_given_back.popitem(last=False)
            raise
        finally:
            if self._sessions.get(path) is session:
                del self._sessions[path]

    def _remember_given_back(self, seen: str) -> None:
        self._given_back[seen] = None
        while len(self._given_back) > GIVEN_BACK_REMEMBERED:
            self._given_back.popitem(last=False)

    def forget(self, path: str) -> None:
        """The file was deleted by its holder: the lock went with it."""
        self._sessions.pop(path, None)

    async def moved(self, old: str, new: str) -> None:
        """The holder renamed a locked file: the lock follows it."""
        session = self._sessions.pop(old, None)
        if session is None:
            return
        if session.kind == NATIVE:  # the storage's lock follows the resource
            self._sessions[new] = session
            return
        # Markers are named after the file: give the old one back, take one for the new name.
        me, _ = await self.me()
        await self.markers.release(old, LockInfo(session.lock_id, me, session.since, None, MARKER))
        now = time.time()
        lock = LockInfo(session.lock_id, me, session.since, now + self.expiry, MARKER)
        try:
            await self.markers.create(new, lock)
        except MarkerHeld:
            return
        session.refreshed = now
        self._sessions[new] = session

    # -- requests and hand-over ------------------------------------------------------------

    async def request_edit(self, path: str) -> LockState:
        info = await self._stat_file(path)
        me, _ = await self.me()
        lock = await self.lock_of(path, info)
        if lock is None:
            raise Conflict(f"Nobody holds {path} now: you can edit it directly")
        if lock.holder.key == me.key:
            raise Conflict(f"You hold the lock on {path} yourself")
        await self.requests.write(path, EditRequest(me, time.time()))
        return await self._state(path, info)

    async def withdraw_request(self, path: str) -> None:
        me, _ = await self.me()
        await self.requests.remove(path, me.username)

    async def answer_request(self, path: str, requester: str, grant: bool) -> LockState:
        """The holder hands the lock over to ``requester`` (after saving) or declines."""
        async with self._guards.hold(path):
            info = await self._stat_file(path)
            session = self._session(path)
            lock = await self.lock_of(path, info)
            if session is None or lock is None or lock.lock_id != session.seen_id:
                raise Conflict(f"You do not hold the lock on {path}, so you cannot hand it over")
            request_mod.request_name(posixpath.basename(path), requester)  # 400 if not a name
            parent, name = posixpath.split(path)
            entries = await self.files.list(parent, [request_mod.METADATA_KEY])
            request = next(
                (
                    r
                    for r in read_requests(entries, name).requests
                    if r.requester.username == requester
                ),
                None,
            )
            if request is None:
                raise NotFound(f"{requester} has not asked to edit {path}")
            me, _ = await self.me()
            now = time.time()
            request.state = "granted" if grant else "declined"
            request.answered_by, request.answered_at = me, now
            if grant:
                request.reserved_until = now + RESERVATION_SECONDS
                if session.kind == NATIVE:
                    handover = {"to": requester, "by": list(me.key), "at": now}
                    await self.files.set_metadata(
                        path, {HANDOVER_KEY: json.dumps(handover)}, lock_id=session.lock_id
                    )
            await self.requests.write(path, request)
            if grant:
                await self._give_back(path, session)
            return await self._state(path, await self.files.stat(path))

    # -- stale markers ---------------------------------------------------------------------

    async def clear_stale(self, path: str) -> LockState:
        """Clear the stale or malformed lock and request markers of a file the user may write:
        expired, abandoned, released and malformed lock markers, malformed request markers.
        Never a live lock (423 naming its holder) nor a hand-over reserved for someone else."""
        reason = self.unlockable(path)
        if reason:
            raise NotSupported(reason)
        async with self._guards.hold(path):
            info = await self._stat_file(path)
            if info.HasField("permission_set") and not info.permission_set.initiate_file_upload:
                raise PermissionDenied(f"{path} is read-only for you: you cannot clear its locks")
            me, _ = await self.me()
            kind = await self.kind_of(info)
            lock = await self.lock_of(path, info)
            if lock is not None and self.held_here(path, lock):
                raise Conflict(f"You are editing {path} here: its lock is not stale")
            if lock is not None:
                raise self.locked_error(path, lock, me)
            await self._refuse_if_reserved(path, info, kind, me)
            parent, name = posixpath.split(path)
            entries = await self.files.list(
                parent, [marker_mod.METADATA_KEY, request_mod.METADATA_KEY]
            )
            markers = markers_by_file(entries).get(name, [])
            try:
                if kind == MARKER:
                    await self.markers.clear(path, me)
                else:  # no marker is a lock here: every one is left over or forged
                    for marker in markers:
                        await self.files.delete(posixpath.join(parent, marker.name))
            except MarkerHeld as held:
                if held.lock is None:
                    raise Locked(f"{path} is being locked by someone else right now") from None
                raise self.locked_error(path, held.lock, me) from None
            for stale in read_requests(entries, name).stale:
                await self.requests.remove_marker(path, stale.name)
            return await self._state(path, await self.files.stat(path))

    async def close(self) -> None:
        """Give back every lock this server holds (server shutdown)."""
        for path, session in list(self._sessions.items()):
            try:
                await self._give_back(path, session)
            except CS3Error:
                pass


def _storage(info: ResourceInfo) -> str:
    return f"{info.id.storage_id}${info.id.space_id}"
