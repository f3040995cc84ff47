"""Native CS3 write locks (SetLock / GetLock / RefreshLock / Unlock), held by the storage.

The storage enforces them itself: a write without the holder's lock id is refused. Reva's lock
calls need a resource-id reference, so every call here takes the file's ResourceInfo.
"""

from __future__ import annotations

import time

from cs3.types.v1beta1 import types_pb2

from ..cs3.errors import Conflict
from ..cs3.files import WRITE_LOCK, Files, Lock, ResourceInfo
from ..cs3.users import UserId, Users
from .model import APP_NAME, NATIVE, Holder, LockInfo, parse_lock_id


class AlreadyLocked(Exception):
    """The storage refused to lock: someone holds the file."""


class NativeLocks:
    kind = NATIVE

    def __init__(self, files: Files, users: Users, site: str) -> None:
        self.files = files
        self.users = users
        self.site = site

    def _lock(self, lock_id: str, user: UserId, expiry: int) -> Lock:
        now = time.time()
        return Lock(
            lock_id=lock_id,
            type=WRITE_LOCK,
            user=user,
            app_name=APP_NAME,
            expiration=types_pb2.Timestamp(seconds=int(now + expiry)),
            creation_time=types_pb2.Timestamp(seconds=int(now)),
        )

    async def holder_of(self, lock: Lock) -> Holder:
        user = await self.users.get(lock.user) if lock.HasField("user") else None
        site = parse_lock_id(lock.lock_id)[0] or self.site
        if user is None:
            return Holder(lock.user.idp, lock.user.opaque_id, site=site, app=lock.app_name)
        return Holder(
            user.id.idp,
            user.id.opaque_id,
            username=user.username,
            display_name=user.display_name,
            mail=user.mail,
            site=site,
            app=lock.app_name or "",
        )

    async def info_of(self, lock: Lock) -> LockInfo:
        since = lock.creation_time.seconds if lock.HasField("creation_time") else None
        since = since or parse_lock_id(lock.lock_id)[1]
        expires = lock.expiration.seconds if lock.HasField("expiration") else None
        return LockInfo(lock.lock_id, await self.holder_of(lock), since, expires, NATIVE)

    async def read(self, info: ResourceInfo) -> LockInfo | None:
        """The lock from a Stat / ListContainer entry (the storage sends it along)."""
        if not info.HasField("lock") or not info.lock.lock_id:
            return None
        found = await self.info_of(info.lock)
        return None if found.expired() else found

    async def create(
        self, info: ResourceInfo, lock_id: str, user: UserId, expiry: int, what: str
    ) -> None:
        try:
            await self.files.set_lock(info, self._lock(lock_id, user, expiry), what)
        except Conflict:  # FAILED_PRECONDITION: it is locked
            raise AlreadyLocked(what) from None

    async def refresh(
        self, info: ResourceInfo, lock_id: str, user: UserId, expiry: int, what: str
    ) -> None:
        await self.files.refresh_lock(info, self._lock(lock_id, user, expiry), what)

    async def replace(
        self, info: ResourceInfo, old_lock_id: str, lock_id: str, user: UserId, expiry: int, what
    ) -> None:
        """Give a lock of the same user a new lock id (take over one's own other session)."""
        await self.files.refresh_lock(
            info, self._lock(lock_id, user, expiry), what, existing_lock_id=old_lock_id
        )

    async def release(self, info: ResourceInfo, lock_id: str, user: UserId, what: str) -> None:
        await self.files.unlock(info, self._lock(lock_id, user, 0), what)
