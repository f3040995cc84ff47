"""One writer at a time per file, inside this server: the lock service's per-path guard
(taking, refreshing, handing over a lock) and the contents manager's (a save, a checkpoint).

JupyterLab saves a notebook and makes its checkpoint at nearly the same moment (on the first
save, when a tab closes): two uploads, or an upload and a download, of the same file at once.
Reva's local driver moves the old content away while it stores the new one, so the other
transfer meets a missing file (404) or fails (500). Across servers the write lock keeps
writers apart; within one server these guards do, one asyncio lock per path, kept only
while someone holds or waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class PathGuards:
    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, path: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(path, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[path] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[path]
            if users == 1:
                del self._locks[path]
            else:
                self._locks[path] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
