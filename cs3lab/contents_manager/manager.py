"""An AsyncContentsManager over CS3: JupyterLab's file system is the user's CS3 home."""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
from datetime import datetime
from typing import Any

import nbformat
from jupyter_server.services.contents.manager import AsyncContentsManager
from tornado.web import HTTPError
from traitlets import Bool, Enum, Integer, Unicode, default, observe

from ..config import CS3Connection
from ..cs3 import Files
from ..cs3.errors import Conflict, CS3Error, InsufficientStorage, Locked, NotFound, ServerError
from ..cs3.files import Cached, ResourceInfo
from ..fs.spool import Spool, spool_chunks
from ..locks import LISTING_METADATA_KEYS, LockService, is_lock_artifact
from ..locks.guards import PathGuards
from . import models, recent, spaces
from .errors import as_http_errors, http_error
from .folder_copy import copy_folder
from .mounts import MountTable, Resolved, read_only_error
from .paths import clean_api_path, is_hidden_name, is_hidden_path, split, to_cs3
from .uploads import ChunkStager, check_chunk, no_room_message

# What a write stores: the bytes, or (a chunked upload's) the spool holding them.
Content = bytes | Spool
SPOOL_UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024


class CS3ContentsManager(AsyncContentsManager):
    """Serve the user's CS3 home (Reva, CERNBox, ScienceMesh) as Jupyter contents."""

    max_upload_bytes = Integer(
        4 * 1024**3, help="Largest file accepted through JupyterLab's chunked upload"
    ).tag(config=True)
    max_staged_upload_bytes = Integer(
        help="The bytes all chunked uploads in progress may hold together (staged in memory "
        "within the spool budget, CS3LAB_SPOOL_MEMORY_MB, else in temporary files) until "
        "their last chunk is stored. Default: twice max_upload_bytes."
    ).tag(config=True)
    root_dir = Unicode("/", help="Unused: the root is CS3Connection.home").tag(config=True)
    delete_to_trash = Bool(
        help="Deletes go to the storage's recycle bin (CS3 Delete keeps what it deletes); "
        "tells JupyterLab to say 'Move to Trash'. Default: true, false for public links."
    ).tag(config=True)
    max_copy_folder_size_mb = Integer(
        500, help="The largest folder (in MB, its files' sizes summed) that can be copied"
    ).tag(config=True)
    hash_algorithm = Enum(
        sorted(a for a in hashlib.algorithms_available if not a.startswith("shake_")),
        default_value="sha256",
        help="Hash algorithm of the file contents in models asked with require_hash (as "
        "jupyter_server's file managers)",
    ).tag(config=True)
    lock_expiry_seconds = Integer(
        120,
        help="Seconds after which a write lock whose holder stopped refreshing it (a crash, a "
        "closed laptop) expires and can be taken by someone else. Open documents refresh "
        "their lock every third of this.",
    ).tag(config=True)

    spaces_folder = Unicode(
        "Spaces",
        help="Name of the root folder that shows the project spaces the user can reach (CS3 "
        "ListStorageSpaces), beside the home's own files. Empty: not shown.",
    ).tag(config=True)

    show_places = Bool(
        True,
        help="Show the places beside the home in the root folder (Spaces, Shared with me, "
        "Federated shares, where the user has any). Off: they stay reachable by path only.",
    ).tag(config=True)

    @default("max_staged_upload_bytes")
    def _max_staged_upload_bytes_default(self) -> int:
        return 2 * self.max_upload_bytes

    @observe("max_upload_bytes", "max_staged_upload_bytes")
    def _upload_limits_changed(self, change) -> None:
        if hasattr(self, "_stager"):
            self._stager.max_bytes = self.max_upload_bytes
            self._stager.max_total_bytes = self.max_staged_upload_bytes

    @default("delete_to_trash")
    def _delete_to_trash_default(self) -> bool:
        return self.connection.auth_mode != "publiclink"

    @default("checkpoints_class")
    def _checkpoints_class_default(self):
        from .checkpoints import CS3Checkpoints

        return CS3Checkpoints

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.connection = CS3Connection(parent=self, log=self.log)
        self._files: Files | None = None
        self._locks: LockService | None = None
        self._stager = ChunkStager(self.max_upload_bytes, self.max_staged_upload_bytes)
        #: One writer at a time per file in this server (a save and a checkpoint at once).
        self.write_guards = PathGuards()
        # Places beside the home (project spaces, federated shares): see mounts.py.
        self.mounts = MountTable()
        if self.spaces_folder:
            self.mounts.add_place(
                self.spaces_folder, lambda: spaces.project_spaces(self.files), spaces.DESCRIPTION
            )

    # -- connection -------------------------------------------------------------------------

    @property
    def files(self) -> Files:
        """The CS3 file API on the one channel of this server process (opened on first use)."""
        if self._files is None:
            self._files = self.connection.open()
        return self._files

    @property
    def locks(self) -> LockService:
        """The write locks of this server's user (one service per server process)."""
        if self._locks is None:
            self._locks = LockService(
                self.files,
                site=self.connection.site_name,
                expiry_seconds=self.lock_expiry_seconds,
            )
            self._locks.unlockable = self.mounts.unlockable
        return self._locks

    @property
    def home(self) -> str:
        return self.connection.home_path

    async def close(self) -> None:
        if self._locks is not None:
            await self._locks.close()
            self._locks = None
        if self._files is not None:
            self._files.close()
            await self._files.client.close()
            self._files = None

    def cs3_path(self, path: str) -> str:
        """The CS3 path of a JupyterLab path: in the home, or below a mount of a place."""
        try:
            resolved = self.mounts.resolve(clean_api_path(path))
            return to_cs3(self.home, path) if resolved is None else resolved.cs3_path
        except CS3Error as err:
            raise http_error(err, self.home) from None

    def _resolved(self, path: str) -> Resolved | None:
        try:
            return self.mounts.resolve(path)
        except NotFound:
            return None

    def _read_only_mount(self, path: str):
        """The read-only mount a path is below (a share received as viewer), or None."""
        resolved = self._resolved(path)
        mount = resolved.mount if resolved is not None else None
        return mount if mount is not None and not mount.writable else None

    def _base_model(self, path: str, info: ResourceInfo) -> dict:
        model = models.base_model(path, info)
        if self._read_only_mount(path) is not None:
            model["writable"] = False
        return model

    def refuse_read_only(self, path: str) -> None:
        """403 below a share received read-only, also where the storage would not refuse
        it (Reva v3's local driver enforces no share permissions): every write path of the
        contents manager and its checkpoints asks this first."""
        mount = self._read_only_mount(path)
        if mount is not None:
            raise http_error(read_only_error(mount), self.home)

    def refuse_in_place(self, path: str) -> None:
        """403 for a new file or folder right in a place (only its mounts are there)."""
        parent, name = split(path)
        resolved = self._resolved(parent) if parent else None
        if (
            resolved is not None
            and resolved.mount is None
            and name not in (resolved.place.mounts or {})
        ):
            raise HTTPError(
                403,
                f"Cannot create {name} in {parent}: it shows {resolved.place.description}, "
                "open one of them to create files inside it",
            )

    def _refuse_mount_change(self, path: str, verb: str) -> None:
        """Places and their mounts are not folders of the user's: 403 to delete or rename
        them (a federated share is declined in the Shared panel)."""
        resolved = self._resolved(path)
        if resolved is not None and not resolved.rest:
            what = resolved.mount.name if resolved.mount else resolved.place.name
            raise HTTPError(
                403,
                f"Cannot {verb} {what}: it is {resolved.place.description}, not a file or "
                "folder of your storage",
            )

    def errors(self):
        return as_http_errors(self.home)

    async def _stat(self, path: str, cached: Cached = False) -> ResourceInfo | None:
        """Stat an API path; None when it does not exist. ``cached``: from the user's metadata
        cache if it holds a recent one (a model shown, never a write's checks; Files.stat)."""
        await self.mounts.ensure(path)
        resolved = self._resolved(path) if path else None
        if resolved is not None and resolved.mount is None:
            return models.place_info(list((resolved.place.mounts or {}).values()))
        try:
            # With the lock metadata: a model's lock state comes from this one Stat.
            return await self.files.stat(self.cs3_path(path), LISTING_METADATA_KEYS, cached=cached)
        except (NotFound, HTTPError) as err:
            if isinstance(err, HTTPError) and err.status_code != 404:
                raise
            return None

    def _refuse_hidden(self, path: str, status: int, verb: str) -> None:
        if not self.allow_hidden and is_hidden_path(path):
            raise HTTPError(status, f"Cannot {verb} hidden file or directory {path!r}")

    # -- existence --------------------------------------------------------------------------

    async def dir_exists(self, path: str) -> bool:
        info = await self._checked(path)
        return info is not None and models.is_dir(info)

    async def file_exists(self, path: str) -> bool:
        info = await self._checked(path)
        return info is not None and not models.is_dir(info)

    async def exists(self, path: str) -> bool:
        return await self._checked(path) is not None

    async def _checked(self, path: str) -> ResourceInfo | None:
        """An existence check's Stat, kept for a write of the same path that follows it in
        this request (recent.py): a save costs one Stat for all its checks."""
        path = clean_api_path(path)
        with self.errors():
            info = await self._stat(path)
        recent.remember(path, info)
        return info

    async def is_hidden(self, path: str) -> bool:
        return is_hidden_path(clean_api_path(path))

    # -- reading ----------------------------------------------------------------------------

    async def get(self, path, content=True, type=None, format=None, require_hash=False):
        path = clean_api_path(path)
        if not self.allow_hidden and is_hidden_path(path):
            self.log.info("Refusing to serve hidden file or directory %r, via 404 Error", path)
            raise HTTPError(404, f"No such file or directory: {path}")
        with self.errors():
            # A model without content (JupyterLab's poll of an open document) and a folder
            # may come from the cache; a file's content is read with the Stat it matches.
            info = await self._stat(path, cached=_without_content(content, require_hash))
            if info is None:
                raise HTTPError(404, f"No such file or directory: {path}")
            if models.is_dir(info):
                if type not in (None, "directory"):
                    raise HTTPError(400, f"{path} is a directory, not a {type}", reason="bad type")
                model = await self._dir_model(path, info, content)
            elif type == "notebook" or (type is None and path.endswith(".ipynb")):
                model = await self._notebook_model(path, info, content, require_hash)
                await self._add_lock(model, path, info)
            else:
                if type == "directory":
                    raise HTTPError(400, f"{path} is not a directory", reason="bad type")
                model = await self._file_model(path, info, content, format, require_hash)
                await self._add_lock(model, path, info)
            model["share"] = (await self._share_state([info])).get(models.resource_key(info))
        self.emit(data={"action": "get", "path": path})
        return model

    async def _dir_model(self, path: str, info: ResourceInfo, content: bool) -> dict:
        model = self._base_model(path, info)
        model["type"] = "directory"
        if content:
            resolved = self._resolved(path)
            if resolved is not None and resolved.mount is None:
                model["content"] = [
                    models.mount_model(f"{path}/{m.name}", m)
                    for m in (resolved.place.mounts or {}).values()
                ]
                model["format"] = "json"
                return model
            children = []
            entries = await self.files.list(self.cs3_path(path), LISTING_METADATA_KEYS, cached=True)
            locks = await self.locks.locks_in(entries)
            shares = await self._share_state(entries)
            me = (await self.locks.me())[0] if locks else None
            for child in entries:
                name = child.name or posixpath.basename(child.path.rstrip("/"))
                if not name or not self.should_list(name) or is_lock_artifact(name):
                    continue
                if not self.allow_hidden and is_hidden_name(name):
                    continue
                child_path = f"{path}/{name}" if path else name
                model_ = self._listing_model(child_path, child)
                self._apply_lock(model_, self.cs3_path(child_path), locks.get(name), me)
                model_["share"] = shares.get(models.resource_key(child))
                children.append(model_)
            if not path and self.show_places:
                children.extend(await self._place_models())
            model["content"] = children
            model["format"] = "json"
        return model

    async def _share_state(self, entries: list[ResourceInfo]) -> dict:
        """Share state of ``entries`` by :func:`models.resource_key` (set by cs3lab.sharing, which
        makes a fixed number of calls, reused a few seconds, whatever the entries); {}
        without sharing, or when it cannot be had: share state is extra, a listing or a
        model never fails for it (sharing's channel may be closed while the site
        reconnects)."""
        share_state = getattr(self, "share_state", None)
        if share_state is None:
            return {}
        try:
            return await share_state(entries)
        except Exception:
            self.log.debug("cs3lab: no share state", exc_info=True)
            return {}

    async def _place_models(self) -> list[dict]:
        """The places shown beside the home's own entries in the root listing."""
        shown = []
        for place in await self.mounts.visible_places():
            mounts = list((place.mounts or {}).values())
            model = models.base_model(place.name, models.place_info(mounts))
            model.update(type="directory", place=place.description)
            shown.append(model)
        return shown

    def _apply_lock(self, model: dict, cs3_path: str, lock, me) -> None:
        """Lock state into a model: ``lock`` (who, since, mine) and, when someone else
        holds the file, ``writable: false``, which is how JupyterLab shows read-only."""
        model["lock"] = self.locks.lock_json(cs3_path, lock, me)
        if lock is not None and not self.locks.held_here(cs3_path, lock):
            model["writable"] = False

    async def _add_lock(self, model: dict, path: str, info: ResourceInfo) -> None:
        cs3_path = self.cs3_path(path)
        lock = await self.locks.lock_shown(cs3_path, info)
        me = (await self.locks.me())[0] if lock is not None else None
        self._apply_lock(model, cs3_path, lock, me)

    def _listing_model(self, path: str, info: ResourceInfo) -> dict:
        model = self._base_model(path, info)
        model["type"] = models.guess_type(path, info)
        if model["type"] == "file":
            model["mimetype"] = models.file_mimetype(path)
        return model

    async def _file_model(self, path, info, content, format, require_hash) -> dict:
        data = None
        if content or require_hash:
            data, info = await self.files.read_whole(self.cs3_path(path), info)
        model = self._base_model(path, info)
        model["type"] = "file"
        model["mimetype"] = models.file_mimetype(path)
        if content:
            text, format = _decode(data, format, path)
            if model["mimetype"] is None:
                model["mimetype"] = "text/plain" if format == "text" else "application/octet-stream"
            model.update(content=text, format=format)
        if require_hash:
            model.update(models.content_hash(data, self.hash_algorithm))
        return model

    async def _notebook_model(self, path, info, content, require_hash) -> dict:
        data = nb = None
        validation_error: dict = {}

        async def parse(data: bytes) -> dict:
            validation_error.clear()
            try:
                return nbformat.reads(
                    data.decode("utf-8"), as_version=4, capture_validation_error=validation_error
                )
            except Exception as err:
                raise HTTPError(400, f"Unreadable Notebook: {path} {err!r}") from None

        if content:
            data, info, nb = await self.files.read_parsed(self.cs3_path(path), info, parse)
        elif require_hash:
            data, info = await self.files.read_whole(self.cs3_path(path), info)
        model = self._base_model(path, info)
        model["type"] = "notebook"
        if content:
            self.mark_trusted_cells(nb, path)
            model["content"] = nb
            model["format"] = "json"
            self.validate_notebook_model(model, validation_error)
        if require_hash:
            model.update(models.content_hash(data, self.hash_algorithm))
        return model

    # -- writing ----------------------------------------------------------------------------

    async def save(self, model, path=""):
        path = clean_api_path(path)
        if not path:
            raise HTTPError(400, "Cannot save to the root folder itself")
        chunk = check_chunk(model.get("chunk"))
        if chunk is None or chunk == 1:
            self.run_pre_save_hooks(model=model, path=path)
        if "type" not in model:
            raise HTTPError(400, "No file type provided")
        if "content" not in model and model["type"] != "directory":
            raise HTTPError(400, "No file content provided")
        self._refuse_hidden(path, 400, "create")

        message = None
        with self.errors():
            await self.mounts.ensure(path)
            self.refuse_in_place(path)
            self.refuse_read_only(path)  # before a chunk is staged
            if model["type"] == "directory":
                await self._save_directory(path)
            else:
                if model["type"] == "notebook":
                    data, message = self._notebook_bytes(model, path)
                elif model["type"] == "file":
                    data = _encode(model["content"], model.get("format"), path)
                else:
                    raise HTTPError(400, f"Unhandled contents type: {model['type']}")
                if chunk is not None:
                    room = await self._room(path) if chunk == 1 else None
                    whole = await self._stager.add(path, chunk, data, room)
                    if whole is None:
                        return self._staging_model(path)
                    data = whole
                try:
                    async with self.write_guards.hold(path):
                        await self._write(path, data, model)
                except BaseException:
                    if isinstance(data, Spool):  # a resent last chunk is not the whole file
                        self._stager.stop(path)
                    raise
                finally:
                    if isinstance(data, Spool):
                        data.close()
            saved = await self.get(path, content=False)
        if message:
            saved["message"] = message
        self.run_post_save_hooks(model=saved, os_path=self.cs3_path(path))
        self.emit(data={"action": "save", "path": path})
        return saved

    def _notebook_bytes(self, model: dict, path: str) -> tuple[bytes, str | None]:
        content = model["content"]
        if not isinstance(content, dict):
            raise HTTPError(400, f"Invalid notebook {path}: the content must be a JSON object")
        validation_error: dict = {}
        try:
            nb = nbformat.from_dict(content)
            self.check_and_sign(nb, path)
            text = nbformat.writes(
                nb, version=nbformat.NO_CONVERT, capture_validation_error=validation_error
            )
        except HTTPError:
            raise
        except Exception as err:
            raise HTTPError(400, f"Invalid notebook {path}: {err}") from None
        checked = {"content": nb, "type": "notebook"}
        self.validate_notebook_model(checked, validation_error)
        # Written as Jupyter writes notebooks to disk: with a final newline.
        return (text if text.endswith("\n") else text + "\n").encode("utf-8"), checked.get(
            "message"
        )

    async def _save_directory(self, path: str) -> None:
        recent.forget()
        info = await self._stat(path)
        if info is None:
            await self.files.mkdir(self.cs3_path(path))
        elif not models.is_dir(info):
            raise HTTPError(400, f"Not a directory: {path}")

    async def _write(self, path: str, data: Content, model: dict) -> None:
        """Upload ``data`` unless that would overwrite a newer version or a read-only file."""
        found, stored = recent.take(path)
        if not found:
            stored = await self._stat(path)
        if stored is not None:
            if models.is_dir(stored):
                raise HTTPError(400, f"{path} is a directory, not a file")
            if not models.can_write(stored):
                raise HTTPError(403, f"Permission denied: {path} is read-only for you")
            _refuse_stale(path, stored, model)
        else:
            parent, _ = split(path)
            if parent and not await self.dir_exists(parent):
                raise HTTPError(404, f"No such directory: {parent}")
        await self.upload_as_holder(path, data, stored)

    async def upload_as_holder(self, path: str, data: Content, stored: ResourceInfo | None) -> None:
        """Store ``data`` at ``path`` with this server's lock id; 423 naming the holder (and
        nothing written) when someone else holds the file's lock; 403 (nothing written)
        below a share received read-only."""
        self.refuse_read_only(path)
        cs3_path = self.cs3_path(path)
        mount = self.mounts.mount_of(cs3_path)
        try:
            await self._upload_with_lock(cs3_path, data, stored)
        except CS3Error as err:
            if mount is not None and mount.explain_write_error is not None:
                raise mount.explain_write_error(err) from None
            if isinstance(err, Locked):
                raise await self.locks.explain_refusal(cs3_path) from None
            if isinstance(err, InsufficientStorage):
                room = await self._room(path)
                if room is not None:
                    raise HTTPError(507, no_room_message(path, _size(data), room)) from None
            raise

    async def _upload_with_lock(
        self, cs3_path: str, data: Content, stored: ResourceInfo | None
    ) -> None:
        lock_id = await self.locks.write_lock_id(cs3_path, stored)
        try:
            await self._upload(cs3_path, data, lock_id, stored)
        except (ServerError, Conflict):
            # The lock may have changed between the check and the write: this server's given
            # back (the last tab closing: a native-lock storage refuses the lock id, "not
            # locked"), or someone's taken (decomposedfs's data server then answers HTTP 500).
            # Asked again, the lock state says what to send, or who holds it now (423).
            now = await self.files.stat(cs3_path)
            fresh = await self.locks.write_lock_id(cs3_path, now)
            if fresh == lock_id:
                raise
            await self._upload(cs3_path, data, fresh, now)

    async def _upload(
        self, cs3_path: str, data: Content, lock_id: str, stored: ResourceInfo | None
    ) -> None:
        if isinstance(data, Spool):  # streamed from the spool itself, never joined
            chunks = spool_chunks(data, SPOOL_UPLOAD_CHUNK_BYTES)
            await self.files.upload_stream(cs3_path, data.size, chunks, lock_id, stored)
        else:
            await self.files.upload(cs3_path, data, lock_id, stored)

    async def _room(self, path: str) -> int | None:
        """The bytes the quota leaves where ``path`` would be stored (None: no quota, or the
        site does not say)."""
        parent, _ = split(path)
        try:
            return (await self.files.quota(self.cs3_path(parent))).remaining
        except (CS3Error, HTTPError):
            return None

    def _staging_model(self, path: str) -> dict:
        _, name = split(path)
        return {
            "name": name,
            "path": path,
            "type": "file",
            "format": None,
            "content": None,
            "mimetype": None,
            "writable": True,
            "hash": None,
            "hash_algorithm": None,
            "size": self._stager.staged_size(path),
            "last_modified": models.EPOCH,
            "created": models.EPOCH,
        }

    async def delete_file(self, path):
        path = clean_api_path(path)
        recent.forget()
        self._refuse_hidden(path, 400, "delete")
        with self.errors():
            await self.mounts.ensure(path)
            self._refuse_mount_change(path, "delete")
            self.refuse_read_only(path)
            info = await self._stat(path)
            if info is None:
                raise HTTPError(404, f"File or directory does not exist: {path}")
            cs3_path = self.cs3_path(path)
            lock_id = await self.locks.write_lock_id(cs3_path, info)
            try:
                await self.files.delete(cs3_path, lock_id=lock_id)
            except Locked:
                raise await self.locks.explain_refusal(cs3_path) from None
            self.locks.forget(cs3_path)

    async def rename_file(self, old_path, new_path):
        old_path, new_path = clean_api_path(old_path), clean_api_path(new_path)
        recent.forget()
        if old_path == new_path:
            return
        if not old_path or not new_path:
            raise HTTPError(400, "Cannot rename the root folder")
        self._refuse_hidden(old_path, 400, "rename")
        self._refuse_hidden(new_path, 400, "rename to")
        with self.errors():
            for path in (old_path, new_path):
                await self.mounts.ensure(path)
                self._refuse_mount_change(path, "rename")
                self.refuse_read_only(path)
            self.refuse_in_place(new_path)
            if await self._stat(new_path) is not None:
                raise HTTPError(409, f"File already exists: {new_path}")
            info = await self._stat(old_path)
            if info is None:
                raise HTTPError(404, f"File or directory does not exist: {old_path}")
            source, target = self.cs3_path(old_path), self.cs3_path(new_path)
            lock_id = await self.locks.write_lock_id(source, info)
            try:
                await self.files.move(source, target, lock_id=lock_id)
            except Locked:
                raise await self.locks.explain_refusal(source) from None
            await self.locks.moved(source, target)

    async def copy(self, from_path, to_path=None):
        """Copy a file (jupyter_server's way) or a folder (folder_copy.py) and return the
        model of the copy."""
        path = clean_api_path(from_path)
        with self.errors():
            info = await self._stat(path) if path else None
        if info is not None and models.is_dir(info):
            return await copy_folder(self, path, to_path)
        return await super().copy(from_path, to_path)

    async def get_kernel_path(self, path, model=None):
        if await self.dir_exists(path):
            return path
        parent, _ = split(clean_api_path(path))
        return parent


def _without_content(content: bool, require_hash: bool) -> Cached:
    """Which cached Stat a model may be built from: any, when it shows no content; a
    folder's, when it does (its listing has a cache entry of its own)."""
    return True if not content and not require_hash else models.is_dir


def _size(data: Content) -> int:
    return data.size if isinstance(data, Spool) else len(data)


def _refuse_stale(path: str, stored: ResourceInfo, model: dict) -> None:
    """409 when the save says which version it was based on and that is not the stored one."""
    stored_etag = stored.etag.strip('"')
    base_etag = model.get("etag")
    if base_etag and base_etag.strip('"') != stored_etag:
        raise HTTPError(409, _stale_message(path))
    base_mtime = model.get("last_modified")
    if isinstance(base_mtime, str) and base_mtime:
        try:
            based_on = datetime.fromisoformat(base_mtime)
        except ValueError:
            raise HTTPError(400, f"Invalid last_modified {base_mtime!r}") from None
        if based_on.tzinfo is None:
            raise HTTPError(400, f"last_modified {base_mtime!r} has no time zone")
        if based_on.timestamp() < models.mtime_of(stored).timestamp() - 1e-6:
            raise HTTPError(409, _stale_message(path))


def _stale_message(path: str) -> str:
    return (
        f"{path} was changed by someone else after you opened it. Your save was refused and "
        "nothing was written: reload the file, or save your version under another name."
    )


def _decode(data: bytes, format: str | None, path: str) -> tuple[str, str]:
    if format == "base64":
        return base64.b64encode(data).decode("ascii"), "base64"
    try:
        return data.decode("utf-8"), "text"
    except UnicodeDecodeError:
        if format == "text":
            raise HTTPError(400, f"{path} is not UTF-8 encoded", reason="bad format") from None
        return base64.b64encode(data).decode("ascii"), "base64"


def _encode(content: Any, format: str | None, path: str) -> bytes:
    if not isinstance(content, str):
        raise HTTPError(400, f"The content of {path} must be a string")
    if format == "base64":
        try:
            # Line breaks and surrounding whitespace, as base64.encodebytes writes, are fine.
            return base64.b64decode("".join(content.split()).encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as err:
            raise HTTPError(400, f"Encoding error saving {path}: {err}") from None
    if format not in (None, "text"):
        raise HTTPError(400, f"Unknown format {format!r} for {path}: use 'text' or 'base64'")
    return content.encode("utf-8")
