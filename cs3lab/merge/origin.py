"""Where a copy came from: its origin, kept in CS3 arbitrary metadata on the copy and, for
notebooks, in the notebook's metadata (``metadata.cs3lab.origin``), so it survives a storage
that drops arbitrary metadata and a download/upload round trip.

The base (the original's content at copy time) is found again by its SHA-256: the original
itself while unchanged, else the storage's versions of the original (matched by size, then by
hash), else a hidden snapshot kept beside the copy (written at copy time when the storage
cannot hand out version contents), removed after the merge. No I/O here except through the
``Files`` passed in; knows nothing of Jupyter.
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
from cs3.storage.provider.v1beta1 import resources_pb2 as res

from ..cs3.errors import CS3Error, InvalidArgument, NotFound, NotSupported
from ..cs3.files import Files, ResourceInfo, mtime_seconds

ORIGIN_KEY = "cs3lab.origin"  # CS3 arbitrary metadata of a copy: the Origin as JSON
MERGE_KEY = "cs3lab.merged"  # CS3 arbitrary metadata of an original: its last merge as JSON
NB_KEY = "cs3lab"  # notebook metadata: {"origin": {...}} on copies, {"merges": [...]} on originals
SNAPSHOT_SUFFIX = ".cs3lab-base"


class NoOrigin(InvalidArgument):
    reason = "Not a copy"


class OriginGone(NotFound):
    reason = "Original not found"


class InvalidNotebook(InvalidArgument):
    reason = "Invalid notebook"


class DamagedOrigin(InvalidArgument):
    reason = "Damaged origin record"

    @classmethod
    def because(cls, problem: str) -> DamagedOrigin:
        return cls(
            f"The copy's origin record is damaged ({problem}), so it cannot say which file "
            "the copy was made from. Nothing was written."
        )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Origin:
    resource_id: dict[str, str]
    path: str  # CS3 path of the original at copy time
    site: str
    etag: str
    sha256: str
    size: int
    mtime: float
    copied_at: str
    copied_by: str
    # The CS3 version key of the base once the original has been overwritten (the content
    # current at copy time has no key yet): filled in when the base is found among versions.
    version_key: str = ""
    snapshot: str = ""  # CS3 path of the hidden base snapshot, "" when versions serve the base
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["extra"]:
            del data["extra"]
        return data

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)

    @classmethod
    def from_json(cls, data: Any) -> Origin | None:
        """The origin recorded with a copy (JSON text or its parsed value); None when there is
        none. The record is data from whoever made or edited the copy: every field is checked
        for type and shape, and a malformed one raises DamagedOrigin, never trusted."""
        if data is None or data == "":
            return None
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                raise DamagedOrigin.because("it is not JSON") from None
        if not isinstance(data, dict):
            raise DamagedOrigin.because("it is not a JSON object")
        return cls(
            resource_id=_resource_id(data.get("resource_id", {})),
            path=_cs3_path(data.get("path"), "path"),
            site=_text(data, "site"),
            etag=_text(data, "etag"),
            sha256=_sha256(data.get("sha256")),
            size=_size(data.get("size", 0)),
            mtime=_mtime(data.get("mtime", 0.0)),
            copied_at=_text(data, "copied_at"),
            copied_by=_text(data, "copied_by"),
            version_key=_text(data, "version_key"),
            snapshot=_snapshot(data.get("snapshot", "")),
            extra=_extra(data.get("extra", {})),
        )

    @classmethod
    def of(cls, info: ResourceInfo, data: bytes, site: str, by: str) -> Origin:
        rid = info.id
        return cls(
            resource_id={
                "storage_id": rid.storage_id,
                "space_id": rid.space_id,
                "opaque_id": rid.opaque_id,
            },
            path=info.path,
            site=site,
            etag=info.etag.strip('"'),
            sha256=sha256(data),
            size=len(data),
            mtime=mtime_seconds(info),
            copied_at=now_iso(),
            copied_by=by,
        )


RESOURCE_ID_KEYS = frozenset({"storage_id", "space_id", "opaque_id"})
MAX_FIELD = 4096  # characters of one text field of an origin
_HEX = frozenset("0123456789abcdef")


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise DamagedOrigin.because(f"'{key}' is not a text of at most {MAX_FIELD} characters")
    return value


def _cs3_path(value: Any, key: str) -> str:
    """An absolute CS3 path of a file: '/', then names, none empty, '.' or '..'."""
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or len(value) > MAX_FIELD
        or any(ord(ch) < 32 or ch == "\x7f" for ch in value)
        or any(part in ("", ".", "..") for part in value[1:].split("/"))
    ):
        raise DamagedOrigin.because(
            f"'{key}' is not an absolute CS3 path of a file without '.' or '..' segments"
        )
    return value


def _snapshot(value: Any) -> str:
    return "" if value == "" else _cs3_path(value, "snapshot")


def _resource_id(value: Any) -> dict[str, str]:
    if (
        not isinstance(value, dict)
        or not set(value) <= RESOURCE_ID_KEYS
        or not all(isinstance(v, str) and len(v) <= MAX_FIELD for v in value.values())
    ):
        raise DamagedOrigin.because(
            "'resource_id' is not an object of storage_id, space_id and opaque_id texts"
        )
    return dict(value)


def _sha256(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX:
        raise DamagedOrigin.because("'sha256' is not 64 hexadecimal digits")
    return value


def _size(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DamagedOrigin.because("'size' is not a whole number of bytes")
    return value


def _mtime(value: Any) -> float:
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value < 0
    ):
        raise DamagedOrigin.because("'mtime' is not a time in seconds")
    return float(value)


def _extra(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DamagedOrigin.because("'extra' is not an object")
    return value


def snapshot_path(copy_path: str) -> str:
    folder, name = posixpath.split(copy_path)
    return posixpath.join(folder, f".{name}{SNAPSHOT_SUFFIX}")


def trusted_snapshot(origin: Origin, copy_path: str) -> str:
    """The origin's base snapshot if it is where cs3lab puts the snapshot of this copy, else
    "": a snapshot recorded anywhere else is never read, and never deleted after a merge."""
    return origin.snapshot if origin.snapshot == snapshot_path(copy_path) else ""


def resource_ref(resource_id: dict[str, str]) -> res.Reference:
    return res.Reference(resource_id=res.ResourceId(**resource_id))


async def stat_by_id(files: Files, resource_id: dict[str, str], what: str) -> ResourceInfo:
    """Stat by resource id (a moved original is found again where the storage allows)."""
    request = sp.StatRequest(ref=resource_ref(resource_id))
    info = (await files.client.call("Stat", request, what)).info
    if not info.path.startswith("/"):
        from cs3.gateway.v1beta1 import gateway_api_pb2 as gw

        got = await files.client.call(
            "GetPath", gw.GetPathRequest(resource_id=res.ResourceId(**resource_id)), what
        )
        if got.path:
            info.path = got.path
    return info


async def download_version(files: Files, info: ResourceInfo, key: str) -> bytes:
    """The content of version ``key`` of a file. decomposedfs (Reva v2) serves a version as a
    download of the resource id '<node>.REV.<time>'; Reva v3's data servers take
    ``?version_key=`` (its local driver answers 404 there: v3.12.1 lists a version as '<ms>'
    and opens it by that name, but stores it as 'v<ms>')."""
    what = f"version {key} of {info.path}"
    if ".REV." in key:
        ref = res.Reference(
            resource_id=res.ResourceId(
                storage_id=info.id.storage_id, space_id=info.id.space_id, opaque_id=key
            )
        )
        response = await files.client.call(
            "InitiateFileDownload", sp.InitiateFileDownloadRequest(ref=ref), what
        )
        suffix = ""
    else:
        response = await files.client.call(
            "InitiateFileDownload",
            sp.InitiateFileDownloadRequest(ref=res.Reference(path=info.path)),
            what,
        )
        suffix = f"?version_key={key}"
    protocol = next((p for p in response.protocols if p.protocol in ("simple", "spaces")), None)
    if protocol is None:
        raise NotSupported(f"The storage offers no way to download {what}")
    return await files.transfer.get(
        protocol.download_endpoint + suffix,
        transfer_token=protocol.token,
        access_token=await files.client.access_token(),
        what=what,
    )


async def find_version(
    files: Files,
    info: ResourceInfo,
    *,
    digest: str,
    size: int | None = None,
    etag: str = "",
    mtime: float = 0.0,
    tries: int = 6,
) -> tuple[str, bytes] | None:
    """(key, content) of the stored version of ``info`` whose content has SHA-256 ``digest``."""
    try:
        versions = await files.list_versions(info.path)
    except NotSupported:
        return None
    if etag:
        versions = [v for v in versions if v.etag.strip('"') == etag] or versions
    if size is not None:
        versions = [v for v in versions if v.size == size]

    def distance(v) -> float:
        t = v.mtime / 1000 if v.mtime > 100_000_000_000 else v.mtime
        return abs(t - mtime)

    for version in sorted(versions, key=distance)[:tries]:
        try:
            data = await download_version(files, info, version.key)
        except CS3Error:
            continue
        if sha256(data) == digest:
            return version.key, data
    return None
