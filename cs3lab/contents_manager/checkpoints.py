"""Checkpoints are the storage's own versions.

Reva keeps a version of a file each time it is overwritten, so "Revert to checkpoint" lists
and restores real CS3 versions, the same ones the site's web UI shows. Creating a checkpoint
stores the current content once more, which makes the storage keep it as a version.

Where the storage keeps no versions (ListFileVersions not supported), checkpoints fall back
to copies in a hidden ``.ipynb_checkpoints`` folder beside the file, as Jupyter does on disk.
The mode is probed once per server and remembered.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime, timezone

from jupyter_server.services.contents.checkpoints import AsyncCheckpoints
from tornado.web import HTTPError
from traitlets import Enum

from ..cs3.errors import NotFound, NotSupported
from .paths import clean_api_path, split

FALLBACK_DIR = ".ipynb_checkpoints"
FALLBACK_ID = "checkpoint"
STORED_NOW_ID = "stored"  # a file kept by another site: the file as stored there now


# jupyter_server routes checkpoint ids matching [\w-]+ only; decomposedfs keys such as
# "<node id>.REV.2026-12-01T19:07:28.674Z" need an encoding that stays inside that set.
_ROUTE_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def route_safe_id(version_key: str) -> str:
    """The checkpoint id of a CS3 version key: the key itself where Jupyter's routes accept
    it, else ``k_`` + its unpadded URL-safe base64."""
    if _ROUTE_SAFE.fullmatch(version_key):
        return version_key
    encoded = base64.urlsafe_b64encode(version_key.encode()).decode().rstrip("=")
    return f"k_{encoded}"


def _version_time(mtime: int) -> datetime:
    # Reva's local driver reports version times in milliseconds, the CS3 API in seconds.
    seconds = mtime / 1000 if mtime > 100_000_000_000 else mtime
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class CS3Checkpoints(AsyncCheckpoints):
    mode = Enum(
        ["auto", "versions", "files"],
        "auto",
        help="versions: CS3 file versions; files: copies in .ipynb_checkpoints; auto: probe",
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The mode of each storage (the home: "", a place's mount: its CS3 path), probed
        # once: a share from another site keeps no versions we can see, the home may.
        self._probed: dict[str, str] = {}

    @property
    def manager(self):
        return self.parent

    def _storage(self, path: str):
        """The mount a path is below (None: the home)."""
        return self.manager.mounts.mount_of(self.manager.cs3_path(path))

    def _known_mode(self, path: str) -> str | None:
        if self.mode != "auto":
            return self.mode
        mount = self._storage(path)
        return self._probed.get(mount.cs3_path if mount else "")

    async def _mode(self, path: str) -> str:
        """versions, files, or (below a mount whose storage shows no versions) none."""
        known = self._known_mode(path)
        if known is not None:
            return known
        mount = self._storage(path)
        try:
            await self.manager.files.list_versions(self.manager.cs3_path(path))
            mode = "versions"
        except NotSupported:
            # Copies in .ipynb_checkpoints in the user's own storage; never in someone
            # else's folder (a share from another site: its owner's site keeps versions).
            mode = "files" if mount is None else "none"
            self.log.info("No CS3 versions where %s is: checkpoints are %s", path, mode)
        self._probed[mount.cs3_path if mount else ""] = mode
        return mode

    async def _stored_now(self, path: str) -> dict:
        """The one checkpoint of a file kept by another site: the file as stored there now
        (that site keeps its versions, which cannot be listed from here). JupyterLab makes
        a checkpoint when it opens a file that has none and after each save: both find
        this one, so nothing fails; reverting to it reloads the stored file."""
        info = await self.manager.files.stat(self.manager.cs3_path(path))
        return {"id": STORED_NOW_ID, "last_modified": _version_time(info.mtime.seconds)}

    # -- the Checkpoints API ----------------------------------------------------------------

    async def _refuse_read_only(self, path: str) -> None:
        """403 below a share received read-only: a checkpoint made, restored or deleted
        there is a write into someone else's folder, also where the storage would allow it."""
        await self.manager.mounts.ensure(path)
        self.manager.refuse_read_only(path)

    async def create_checkpoint(self, contents_mgr, path):
        path = clean_api_path(path)
        with self.manager.errors():
            await self._refuse_read_only(path)
            mode = await self._mode(path)
            if mode == "none":
                return await self._stored_now(path)
            if mode == "files":
                async with self.manager.write_guards.hold(path):
                    return await self._create_copy(path)
            cs3_path = self.manager.cs3_path(path)
            async with self.manager.write_guards.hold(path):
                info = await self.manager.files.stat(cs3_path)
                data = await self.manager.files.download(cs3_path)
                await self.manager.upload_as_holder(path, data, info)
            checkpoints = await self._list_versions(path)
        if not checkpoints:
            raise HTTPError(500, f"The storage kept no version of {path}")
        return checkpoints[-1]

    async def list_checkpoints(self, path):
        path = clean_api_path(path)
        with self.manager.errors():
            mode = await self._mode(path)
            if mode == "none":
                return [await self._stored_now(path)]
            if mode == "files":
                return await self._list_copies(path)
            return await self._list_versions(path)

    async def restore_checkpoint(self, contents_mgr, checkpoint_id, path):
        path = clean_api_path(path)
        with self.manager.errors():
            await self._refuse_read_only(path)
            mode = await self._mode(path)
            if mode == "none":
                if checkpoint_id != STORED_NOW_ID:
                    raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}")
                return  # the stored file is that checkpoint: JupyterLab reloads it
            async with self.manager.write_guards.hold(path):
                await self._restore(mode, checkpoint_id, path)

    async def _restore(self, mode: str, checkpoint_id: str, path: str) -> None:
        if mode == "files":
            return await self._restore_copy(checkpoint_id, path)
        keys = {route_safe_id(v.key): v.key for v in await self._versions(path)}
        if checkpoint_id not in keys:
            raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}")
        cs3_path = self.manager.cs3_path(path)
        lock_id = await self.manager.locks.write_lock_id(
            cs3_path, await self.manager.files.stat(cs3_path)
        )
        await self.manager.files.restore_version(cs3_path, keys[checkpoint_id], lock_id=lock_id)

    async def delete_checkpoint(self, checkpoint_id, path):
        path = clean_api_path(path)
        with self.manager.errors():
            await self._refuse_read_only(path)
            if await self._mode(path) == "files":
                return await self._delete_copy(checkpoint_id, path)
        raise HTTPError(
            405, "Checkpoints are versions kept by the storage; they cannot be deleted here"
        )

    async def rename_checkpoint(self, checkpoint_id, old_path, new_path):
        if self._known_mode(old_path) == "files":
            src, dst = self._copy_path(old_path), self._copy_path(new_path)
            with self.manager.errors():
                await self._ensure_dir(new_path)
                await self.manager.files.move(src, dst)

    async def rename_all_checkpoints(self, old_path, new_path):
        if self._known_mode(old_path) != "files":
            return  # versions belong to the file in the storage
        for cp in await self._list_copies(clean_api_path(old_path)):
            await self.rename_checkpoint(cp["id"], old_path, new_path)

    async def delete_all_checkpoints(self, path):
        if self._known_mode(path) != "files":
            return
        for cp in await self._list_copies(clean_api_path(path)):
            await self._delete_copy(cp["id"], path)

    # -- versions ---------------------------------------------------------------------------

    async def _versions(self, path: str):
        cs3_path = self.manager.cs3_path(path)
        await self.manager.files.stat(cs3_path)  # 404 for a missing file, not an empty list
        versions = await self.manager.files.list_versions(cs3_path)
        return sorted(versions, key=lambda v: (v.mtime, v.key))

    async def _list_versions(self, path: str) -> list[dict]:
        return [
            {"id": route_safe_id(v.key), "last_modified": _version_time(v.mtime)}
            for v in await self._versions(path)
        ]

    # -- file copies (storages without versions) ---------------------------------------------

    def _copy_path(self, path: str) -> str:
        parent, name = split(clean_api_path(path))
        stem, dot, ext = name.rpartition(".")
        copy_name = f"{stem}-{FALLBACK_ID}{dot}{ext}" if dot else f"{name}-{FALLBACK_ID}"
        folder = f"{parent}/{FALLBACK_DIR}" if parent else FALLBACK_DIR
        return self.manager.cs3_path(f"{folder}/{copy_name}")

    async def _ensure_dir(self, path: str) -> None:
        folder = self._copy_path(path).rsplit("/", 1)[0]
        try:
            await self.manager.files.stat(folder)
        except NotFound:
            await self.manager.files.mkdir(folder)

    async def _create_copy(self, path: str) -> dict:
        data = await self.manager.files.download(self.manager.cs3_path(path))
        await self._ensure_dir(path)
        await self.manager.files.upload(self._copy_path(path), data)
        return (await self._list_copies(path))[0]

    async def _list_copies(self, path: str) -> list[dict]:
        try:
            info = await self.manager.files.stat(self._copy_path(path))
        except NotFound:
            return []
        return [{"id": FALLBACK_ID, "last_modified": _version_time(info.mtime.seconds)}]

    async def _restore_copy(self, checkpoint_id: str, path: str) -> None:
        if checkpoint_id != FALLBACK_ID or not await self._list_copies(path):
            raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}")
        data = await self.manager.files.download(self._copy_path(path))
        stored = await self.manager.files.stat(self.manager.cs3_path(path))
        await self.manager.upload_as_holder(path, data, stored)

    async def _delete_copy(self, checkpoint_id: str, path: str) -> None:
        if checkpoint_id != FALLBACK_ID or not await self._list_copies(path):
            raise HTTPError(404, f"Checkpoint does not exist: {path}@{checkpoint_id}")
        await self.manager.files.delete(self._copy_path(path))
