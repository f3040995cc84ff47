"""CS3 ``ResourceInfo`` to Jupyter contents models, with the shape and values that
jupyter_server's FileContentsManager gives for the same operation.
"""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import datetime, timezone
from typing import Any

from ..cs3.files import CONTAINER, FILE, Permissions, ResourceInfo, mtime_seconds
from .mounts import Mount

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def mtime_of(info: ResourceInfo) -> datetime:
    if not info.HasField("mtime"):
        return EPOCH
    return datetime.fromtimestamp(mtime_seconds(info), tz=timezone.utc)


def is_dir(info: ResourceInfo) -> bool:
    return info.type == CONTAINER


def resource_key(info: ResourceInfo) -> tuple[str, str]:
    """What identifies a resource in share state (cs3lab.sharing.model.resource_key)."""
    return info.id.storage_id, info.id.opaque_id


def content_hash(data: bytes, algorithm: str) -> dict[str, str]:
    """``hash`` and ``hash_algorithm`` of a model, as jupyter_server's file managers give them."""
    return {"hash": hashlib.new(algorithm, data).hexdigest(), "hash_algorithm": algorithm}


def guess_type(api_path: str, info: ResourceInfo) -> str:
    if is_dir(info):
        return "directory"
    return "notebook" if api_path.endswith(".ipynb") else "file"


def base_model(api_path: str, info: ResourceInfo) -> dict[str, Any]:
    mtime = mtime_of(info)
    return {
        "name": api_path.rsplit("/", 1)[-1],
        "path": api_path,
        # CS3 has no creation time; FileContentsManager falls back to ctime, we to mtime.
        "last_modified": mtime,
        "created": mtime,
        "content": None,
        "format": None,
        "mimetype": None,
        "size": None if is_dir(info) else int(info.size),
        "writable": can_write(info),
        "hash": None,
        "hash_algorithm": None,
        # Not part of Jupyter's model: the CS3 etag, which a client may send back with a save
        # so that a save based on an older version is refused instead of overwriting.
        "etag": info.etag.strip('"'),
        # Not part of Jupyter's model either: who holds the file's write lock (None: nobody).
        "lock": None,
        # Not part of Jupyter's model either: the file's share state (cs3lab.sharing's
        # listing_state; None: not shared), the same in a listing entry and in the file's model.
        "share": None,
    }


def file_mimetype(api_path: str) -> str | None:
    return mimetypes.guess_type(api_path)[0]


def can_write(info: ResourceInfo) -> bool:
    perms = info.permission_set
    if not info.HasField("permission_set"):
        return True
    return bool(perms.create_container if is_dir(info) else perms.initiate_file_upload)


def place_info(mounts: list[Mount]) -> ResourceInfo:
    """A ResourceInfo for a place (a virtual folder of the root): listable, not writable,
    modified when its newest mount was."""
    info = ResourceInfo(type=CONTAINER, permission_set=Permissions(list_container=True))
    newest = max((m.mtime for m in mounts), default=0.0)
    info.mtime.seconds, info.mtime.nanos = int(newest), int((newest % 1) * 1e9)
    return info


def mount_model(api_path: str, mount: Mount) -> dict[str, Any]:
    """The listing model of a mount in its place, from what its place's lister knew (no
    Stat per mount)."""
    info = ResourceInfo(
        type=CONTAINER if mount.is_dir else FILE,
        permission_set=Permissions(
            list_container=True,
            create_container=mount.writable,
            initiate_file_upload=mount.writable,
        ),
    )
    info.mtime.seconds, info.mtime.nanos = int(mount.mtime), int((mount.mtime % 1) * 1e9)
    model = base_model(api_path, info)
    model["type"] = guess_type(api_path, info)
    if model["type"] != "directory":
        model["mimetype"] = file_mimetype(api_path)
        model["size"] = None  # not known without a Stat of each
    model["mount"] = {"kind": mount.kind, **mount.details}
    return model
