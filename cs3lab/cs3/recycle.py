"""The CS3 recycle bin: ListRecycle, RestoreRecycleItem, PurgeRecycle, one call each.

``scope`` is a CS3 path naming the storage (space) whose bin is meant; items are the CS3
``RecycleItem`` messages as the storage gives them. What the drivers do differently is
smoothed here, where it is known (Reva v3.12.1 ``local``, Reva v2.27.7 decomposedfs):

- decomposedfs needs a ``restore_ref`` even to restore an item where it was; ``local`` takes
  the ``restore_ref`` path as a path of its own namespace, without the storage's mount point
  (Reva v3's storage provider does not unwrap it): :meth:`RecycleBin.restore` tries the CS3
  path, and on an internal error the path below the mount point, and remembers what worked.
- decomposedfs lists file sizes as 0 and folder sizes as the folder's inode size, and gives
  the real ones per item (ListRecycle with the item's key); ``local`` ignores the key and
  lists the whole bin again: :meth:`RecycleBin.sizes` asks per item only while the storage
  answers for one item.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp

from .client import CS3Client
from .errors import CS3Error, ServerError
from .files import RecycleItem, ref

PARALLEL_CALLS = 8


class RecycleBin:
    """Recycle bin calls over a :class:`CS3Client`."""

    def __init__(self, client: CS3Client) -> None:
        self.client = client
        self._restore_below_mount: bool | None = None  # learned on the first restore
        self._per_item_listing = True  # False once the storage answered a key with all items

    async def list(self, scope: str, key: str = "") -> list[RecycleItem]:
        request = sp.ListRecycleRequest(ref=ref(scope), key=key)
        return list(
            (await self.client.call("ListRecycle", request, "the recycle bin")).recycle_items
        )

    async def sizes(self, scope: str, items: Iterable[RecycleItem]) -> dict[str, int]:
        """The real sizes of ``items`` by key, where the storage tells them per item."""
        limit = asyncio.Semaphore(PARALLEL_CALLS)
        found: dict[str, int] = {}

        async def one(item: RecycleItem) -> None:
            if not self._per_item_listing:
                return
            async with limit:
                try:
                    answer = await self.list(scope, item.key)
                except CS3Error:
                    return
            if len(answer) != 1 or answer[0].key != item.key:
                self._per_item_listing = False
                return
            if answer[0].size != item.size:
                found[item.key] = int(answer[0].size)

        await asyncio.gather(*(one(item) for item in items))
        return found

    async def restore(self, scope: str, key: str, target: str, mount_point: str) -> None:
        """Restore item ``key`` to CS3 path ``target`` (which must not exist); ``mount_point``
        is the path where the item's storage is mounted (for drivers that want the target
        below it)."""
        below = target[len(mount_point.rstrip("/")) :] if target.startswith(mount_point) else ""
        choices = [target, below] if below else [target]
        if self._restore_below_mount and below:
            choices.reverse()
        for i, path in enumerate(choices):
            request = sp.RestoreRecycleItemRequest(ref=ref(scope), key=key, restore_ref=ref(path))
            try:
                await self.client.call("RestoreRecycleItem", request, target)
            except ServerError:
                if i + 1 == len(choices):
                    raise
                continue
            self._restore_below_mount = path == below
            return

    async def purge(self, scope: str, key: str) -> None:
        """Purge one item (never the whole bin: on some drivers that is every user's)."""
        if not key:
            raise ValueError("a recycle item key is required")
        request = sp.PurgeRecycleRequest(ref=ref(scope), key=key)
        await self.client.call("PurgeRecycle", request, "the recycle bin item")
