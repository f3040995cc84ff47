"""MergeService: copy with origin, diff, three-way merge back into the original, resolve-and-save.

Paths are CS3 paths. CPU work (JSON parsing, nbdime, merge3, serialisation) runs off the event
loop. Writes into an original happen only under its write lock (LockService.acquire, then an
upload with this server's lock id, then release), only if the original is still the version the
merge was computed against (else the merge is done again: nothing is ever overwritten), and
only for a user allowed to write it. Errors are the CS3 exception family.
"""

from __future__ import annotations

import asyncio
import json
import logging
import posixpath
import uuid
from collections import OrderedDict
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

import nbformat

from ..contents_manager.paths import MAX_NAME_BYTES
from ..cs3.errors import (
    AlreadyExists,
    Conflict,
    CS3Error,
    InvalidArgument,
    NotFound,
    NotSupported,
    PermissionDenied,
    ServerError,
)
from ..cs3.files import CONTAINER, Files, ResourceInfo
from . import notebooks as nbmerge
from . import text as textmerge
from .offload import offload
from .origin import (
    MERGE_KEY,
    NB_KEY,
    ORIGIN_KEY,
    InvalidNotebook,
    NoOrigin,
    Origin,
    OriginGone,
    download_version,
    find_version,
    now_iso,
    sha256,
    snapshot_path,
    stat_by_id,
    trusted_snapshot,
)

log = logging.getLogger(__name__)
REMERGE_ATTEMPTS = 3
COPY_NAME_ATTEMPTS = 5  # copies of one file made at the same moment, each its own name
KEPT_ORIGINALS = 16  # originals remembered for re-merging a resolved save
MB = 1024 * 1024


class TooLarge(InvalidArgument):
    reason = "File too large to compare"


class _Changed(Exception):
    """The original changed between merge and write."""


def kind_of(path: str, *datas: bytes, copy_path: str = "") -> str:
    """notebook, text or binary. ``copy_path``: the copy merged into ``path`` (a file shared
    by another site has a CS3 path without its name: /ocm/<share id>)."""
    if path.endswith(".ipynb") or copy_path.endswith(".ipynb"):
        return "notebook"
    return "text" if all(textmerge.is_text(d) for d in datas) else "binary"


def parse_notebook(data: bytes, what: str) -> dict:
    try:
        invalid: dict = {}
        nb = nbformat.reads(data.decode("utf-8"), as_version=4, capture_validation_error=invalid)
        if invalid.get("ValidationError") is not None:
            raise invalid["ValidationError"]
    except Exception as err:  # nbformat raises many types
        raise InvalidNotebook(
            f"{what} is not a valid notebook ({_short(err)}). Nothing was written."
        ) from None
    return nb


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


def notebook_bytes(nb: dict) -> bytes:
    """Serialised as Jupyter writes notebooks to disk (nbformat, final newline)."""
    text = nbformat.writes(nbformat.from_dict(nb), version=nbformat.NO_CONVERT)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def notebook_origin(data: bytes) -> Any:
    """The origin recorded in a notebook's metadata (``metadata.cs3lab.origin``), or None."""
    try:
        nb = json.loads(data)
    except ValueError:
        return None
    meta = nb.get("metadata") if isinstance(nb, dict) else None
    ours = meta.get(NB_KEY) if isinstance(meta, dict) else None
    return ours.get("origin") if isinstance(ours, dict) else None


def without_origin(nb: dict) -> dict:
    """The copy's notebook without its origin record (which must not flow into the original)."""
    meta = nb.get("metadata", {}).get(NB_KEY)
    if isinstance(meta, dict) and "origin" in meta:
        meta = {k: v for k, v in meta.items() if k != "origin"}
        nb = {**nb, "metadata": {**nb["metadata"]}}
        if meta:
            nb["metadata"][NB_KEY] = meta
        else:
            del nb["metadata"][NB_KEY]
    return nb


class MergeService:
    def __init__(
        self, contents: Any, *, site: str, copy_folder: str = "", max_diff_size_mb: int = 0
    ) -> None:
        """``contents``: the CS3ContentsManager (files, locks, home, upload_as_holder).
        ``max_diff_size_mb``: files larger than this are not compared or merged (0: no limit)."""
        self.contents = contents
        self.site = site
        self.copy_folder = copy_folder.strip("/")
        self.max_diff_size_mb = max_diff_size_mb
        self._originals: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    @property
    def files(self) -> Files:
        return self.contents.files

    @property
    def locks(self):
        return self.contents.locks

    async def _me(self) -> str:
        holder, _ = await self.locks.me()
        return holder.display_name or holder.username

    async def _stat_file(self, path: str, keys=()) -> ResourceInfo:
        info = await self.files.stat(path, keys)
        if info.type == CONTAINER:
            raise InvalidArgument(f"{path} is a folder, not a file")
        return info

    def _check_size(self, what: str, size: int) -> None:
        """Refuse to load a file past the size limit (diffs and merges hold it in memory
        several times over)."""
        limit = self.max_diff_size_mb
        if limit and size > limit * MB:
            raise TooLarge(
                f"{what} is {size / MB:.1f} MB, larger than the {limit} MB up to which cs3lab "
                "compares and merges files on this server. Nothing was written."
            )

    # -- copy -------------------------------------------------------------------------------

    async def default_copy_path(self, source: str) -> str:
        folder, name = posixpath.split(source)
        mount = self.contents.mounts.mount_of(source)
        if self.copy_folder:
            folder = f"{self.contents.home.rstrip('/')}/{self.copy_folder}"
        elif mount is not None and mount.kind != "space":
            # A share: the copy is the user's own, in their home, not in the owner's folder.
            folder = self.contents.home.rstrip("/")
        if mount is not None and source.rstrip("/") == mount.cs3_path.rstrip("/"):
            name = mount.name  # /ocm/<share id> is the share, named as the file browser shows
        stem, dot, ext = name.rpartition(".")
        stem, ext = (stem, f".{ext}") if dot and stem else (name, "")
        for n in range(1, 100):
            suffix = "-copy" if n == 1 else f"-copy{n}"
            candidate = f"{folder}/{stem}{suffix}{ext}"
            if len(f"{stem}{suffix}{ext}".encode()) > MAX_NAME_BYTES:
                raise InvalidArgument(
                    f"A copy of {name} would have a name longer than the storage keeps "
                    f"({MAX_NAME_BYTES} bytes): rename the file first"
                )
            try:
                await self.files.stat(candidate)
            except NotFound:
                return candidate
        raise Conflict(f"Too many copies of {source} in {folder}: name one yourself")

    async def copy(self, source: str, destination: str | None = None) -> dict[str, Any]:
        info = _named(await self._stat_file(source), source)  # (a place's Stat may not)
        data, info, notebook = await self._read_original(info)
        origin = Origin.of(info, data, self.site, await self._me())
        origin.path = source
        # A name nobody else takes meanwhile: another copy made at the same moment gets the
        # next one, and one the user named is never written over.
        for _ in range(COPY_NAME_ATTEMPTS):
            target = destination or await self.default_copy_path(source)
            self.contents.mounts.refuse_read_only(target)
            # The base of a later merge is kept beside the copy: a storage's versions are
            # keyed by the time they were superseded, and matching one to the content copied
            # proved unreliable (Reva v3's local driver lists versions it cannot serve); the
            # versions remain the fallback when the snapshot is gone.
            origin.snapshot = snapshot_path(target)
            if notebook is not None:
                notebook.setdefault("metadata", {}).setdefault(NB_KEY, {})["origin"] = (
                    origin.to_json()
                )
                copy_data = await offload(notebook_bytes, notebook)
            else:
                copy_data = data
            try:
                await self.files.create(target, copy_data)
                break
            except AlreadyExists:
                if destination:
                    raise Conflict(
                        f"{target} already exists: choose another name for the copy"
                    ) from None
        else:
            raise Conflict(f"Too many copies of {source} made at once: try again")
        if origin.snapshot:
            await self._keep_snapshot(origin.snapshot, data)
        try:
            await self.files.set_metadata(target, {ORIGIN_KEY: origin.dumps()})
        except NotSupported:
            log.info(
                "cs3lab: %s keeps no arbitrary metadata; the origin is in the notebook", target
            )
        return {"path": target, "origin": origin.to_json()}

    # -- origin and base --------------------------------------------------------------------

    async def origin_of(self, copy_path: str) -> tuple[Origin, ResourceInfo, bytes]:
        """The copy's origin (checked field by field: DamagedOrigin when malformed), its
        info and content. The origin's snapshot is kept only where cs3lab puts the snapshot of
        this copy: anything else it names is ignored, never read nor deleted."""
        info = await self._stat_file(copy_path, [ORIGIN_KEY])
        self._check_size(copy_path, info.size)
        data = await self.files.download(copy_path)
        origin = Origin.from_json(info.arbitrary_metadata.metadata.get(ORIGIN_KEY) or None)
        if origin is None and copy_path.endswith(".ipynb"):
            origin = Origin.from_json(await offload(notebook_origin, data))
        if origin is None:
            raise NoOrigin(
                f"{copy_path} records no original: it was not made with 'Make a copy', so "
                "there is nothing to merge it into. Nothing was written."
            )
        snapshot = trusted_snapshot(origin, copy_path)
        if snapshot != origin.snapshot:
            log.warning("cs3lab: %s names a base snapshot elsewhere; ignored", copy_path)
            origin.snapshot = snapshot
        return origin, info, data

    async def locate(self, origin: Origin) -> tuple[ResourceInfo, str | None]:
        """The original now, and the path it was moved from (None when not moved). The file
        at the origin's path is the original only if it has the resource id recorded (none
        when none is recorded); one the user cannot see is refused."""
        recorded = origin.resource_id.get("opaque_id", "")
        try:
            info = await self._stat_file(origin.path)
        except NotFound:
            pass
        except PermissionDenied:
            raise self._unseen(origin) from None
        else:
            if info.id.opaque_id != recorded:
                raise Conflict(
                    f"{origin.path} is not the file this copy was made from (its resource id "
                    "is not the one the copy records): the original was replaced, or the "
                    "copy's origin record was changed. Nothing was written."
                )
            info.path = origin.path
            return info, None
        if recorded:
            try:
                info = await stat_by_id(self.files, origin.resource_id, origin.path)
                info.path = await self._absolute(info, origin)
            except NotFound:
                raise OriginGone(
                    f"The original {origin.path} was deleted, or is not shared with you (it "
                    "is not found by its resource id either). Nothing was written."
                ) from None
            except PermissionDenied:
                raise self._unseen(origin) from None
            except (NotSupported, InvalidArgument):
                raise OriginGone(
                    f"The original {origin.path} was moved or deleted, and this storage cannot "
                    "look it up by its resource id. Nothing was written."
                ) from None
            if info.path and info.path != origin.path:
                return info, origin.path
            return info, None
        raise OriginGone(
            f"The original {origin.path} was moved or deleted. Nothing was written."
        ) from None

    @staticmethod
    def _unseen(origin: Origin) -> PermissionDenied:
        return PermissionDenied(
            f"You cannot open the original {origin.path} of this copy: it is not shared with "
            "you. Nothing was written."
        )

    async def _original(
        self, origin: Origin, expected: str | None
    ) -> tuple[ResourceInfo, str | None]:
        """The original located, if it is the one the user confirmed (``expected``, a CS3
        path; None: not asked) and small enough to merge."""
        original, moved = await self.locate(origin)
        if expected is not None and original.path.rstrip("/") != expected.rstrip("/"):
            raise Conflict(
                f"The original of this copy is {original.path}, not {expected} as you "
                "confirmed: check which file the copy is merged into, and merge again. "
                "Nothing was written."
            )
        self._check_size(original.path, original.size)
        return original, moved

    async def _absolute(self, info: ResourceInfo, origin: Origin) -> str:
        """The full CS3 path of a resource found by id: storages such as decomposedfs answer
        with a path relative to their space ('./dir/x'); the space is one of the folders above
        the original's old path, the one where that relative path has the same resource id."""
        rel = info.path.lstrip(".").lstrip("/")
        folder = posixpath.dirname(origin.path)
        while True:
            candidate = posixpath.join(folder, rel)
            if candidate == info.path:
                return candidate
            try:
                found = await self.files.stat(candidate)
                if found.id.opaque_id == info.id.opaque_id:
                    return candidate
            except CS3Error:
                pass
            if folder in ("/", ""):
                return info.path
            folder = posixpath.dirname(folder)

    async def base_of(self, origin: Origin, original: ResourceInfo, current: bytes) -> bytes | None:
        if sha256(current) == origin.sha256:
            return current
        self._check_size(f"The version of {original.path} that was copied", origin.size)
        if origin.snapshot:  # where cs3lab puts it (origin_of keeps no other)
            try:
                snap = await self.files.stat(origin.snapshot)
                if snap.type != CONTAINER and snap.size == origin.size:
                    data = await self.files.download(origin.snapshot)
                    if sha256(data) == origin.sha256:
                        return data
            except (NotFound, PermissionDenied):
                pass
        found = await find_version(
            self.files,
            original,
            digest=origin.sha256,
            size=origin.size,
            etag=origin.etag,
            mtime=origin.mtime,
        )
        if found is not None:
            origin.version_key = found[0]
            return found[1]
        return None

    # -- diff -------------------------------------------------------------------------------

    async def diff_bytes(self, path: str, base: bytes, remote: bytes) -> dict[str, Any]:
        kind = kind_of(path, base, remote)
        if kind == "notebook":
            b = await offload(parse_notebook, base, "The first notebook")
            r = await offload(parse_notebook, remote, "The second notebook")
            return {
                "type": "notebook",
                "base": b,
                "diff": await offload(nbmerge.diff, b, r),
            }
        if kind == "text":
            return {"type": "text", "base": base.decode(), "remote": remote.decode()}
        return {
            "type": "binary",
            "same": base == remote,
            "base_size": len(base),
            "remote_size": len(remote),
        }

    async def diff_files(self, a: str, b: str) -> dict[str, Any]:
        for info in await asyncio.gather(self._stat_file(a), self._stat_file(b)):
            self._check_size(info.path, info.size)
        da, db = await asyncio.gather(self.files.download(a), self.files.download(b))
        return await self.diff_bytes(b, da, db)

    async def diff_version(self, path: str, key: str) -> dict[str, Any]:
        """The changes of ``path`` since its version ``key``."""
        info = await self._stat_file(path)
        self._check_size(path, info.size)
        for version in await self.files.list_versions(path):
            if version.key == key:
                self._check_size(f"That version of {path}", version.size)
        old = await download_version(self.files, info, key)
        current = await self.files.download(path)
        return await self.diff_bytes(path, old, current)

    async def diff_copy(self, copy_path: str) -> dict[str, Any]:
        origin, _, remote = await self.origin_of(copy_path)
        original, moved = await self._original(origin, None)
        local, original, _ = await self._read_original(original)
        result = await self.diff_bytes(copy_path, local, await self._strip(copy_path, remote))
        result["original"] = self._original_json(original, moved)
        return result

    async def _read_original(
        self, original: ResourceInfo
    ) -> tuple[bytes, ResourceInfo, dict | None]:
        """The original's bytes, the Stat they match and, for a notebook, the notebook: read
        again while it is being written (see Files.read_whole; a notebook until it parses)."""
        path, notebook = original.path, None
        if kind_of(path) == "notebook":
            what = f"The original {path}"
            data, info, notebook = await self.files.read_parsed(
                path, original, lambda data: offload(parse_notebook, data, what)
            )
        else:
            data, info = await self.files.read_whole(path, original)
        return data, _named(info, path), notebook

    async def _strip(self, path: str, data: bytes) -> bytes:
        if not path.endswith(".ipynb"):
            return data

        def strip() -> bytes:
            try:
                nb = json.loads(data)
            except ValueError:
                return data
            return json.dumps(without_origin(nb)).encode() if isinstance(nb, dict) else data

        return await asyncio.to_thread(strip)

    # -- merge ------------------------------------------------------------------------------

    def _original_json(self, info: ResourceInfo, moved: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"path": info.path, "etag": info.etag.strip('"')}
        if moved:
            out["moved_from"] = moved
        return out

    async def merge(
        self, copy_path: str, *, dry_run: bool = False, original: str | None = None
    ) -> dict[str, Any]:
        """Merge the copy into its original; ``original``: the CS3 path of the original the
        user confirmed (a Conflict, nothing written, when the copy's original is another)."""
        for _ in range(REMERGE_ATTEMPTS):
            try:
                return await self._merge_once(copy_path, dry_run, original)
            except _Changed:
                continue
        raise Conflict(
            "The original keeps changing while cs3lab merges into it: try again. Nothing "
            "was written."
        )

    async def _merge_once(
        self, copy_path: str, dry_run: bool, expected: str | None
    ) -> dict[str, Any]:
        origin, _, remote = await self.origin_of(copy_path)
        original, moved = await self._original(origin, expected)
        self._check_writable(original)
        local, original, _ = await self._read_original(original)
        base = await self.base_of(origin, original, local)
        info = self._original_json(original, moved)
        kind = kind_of(original.path, local, remote, copy_path=copy_path)
        if base is None:
            result = await self.diff_bytes(
                original.path, local, await self._strip(copy_path, remote)
            )
            result.update(
                status="two-way",
                original=info,
                message=(
                    f"The version of {original.path} that {copy_path} was copied from is no "
                    "longer stored, so a three-way merge is not possible: here are the "
                    "differences between the original and the copy. Nothing was written."
                ),
            )
            return result
        self._remember(original, local)
        if kind == "notebook":
            return await self._merge_notebooks(
                copy_path, origin, original, info, base, local, remote, dry_run
            )
        if kind == "text":
            return await self._merge_text(
                copy_path, origin, original, info, base, local, remote, dry_run
            )
        if local == remote:
            return {
                "status": "merged",
                "type": "binary",
                "written": False,
                "original": info,
                "summary": [],
                "message": "The copy and the original are the same.",
            }
        return {
            "status": "choose",
            "type": "binary",
            "original": info,
            "message": (
                f"{posixpath.basename(copy_path)} is not a text file or notebook: keep the "
                "original or take the copy."
            ),
        }

    async def _merge_notebooks(
        self, copy_path, origin, original, info, base, local, remote, dry_run, remerged=False
    ):
        b, l_, r = await asyncio.gather(
            offload(parse_notebook, base, f"The base of {copy_path} (the original when copied)"),
            offload(parse_notebook, local, f"The original {original.path}"),
            offload(parse_notebook, remote, f"The copy {copy_path}"),
        )
        r = without_origin(r)
        result = await offload(nbmerge.merge, b, l_, r)
        out: dict[str, Any] = {
            "type": "notebook",
            "original": info,
            "summary": result.summary(),
            "conflicts": len(result.conflicts),
        }
        if remerged:
            out["remerged"] = True
        if result.clean and not dry_run:
            merged = await offload(nbmerge.apply, b, result.decisions)
            written = await self.write_merge(copy_path, origin, original, merged, "notebook")
            return {**out, "status": "merged", "written": True, **written}
        out.update(
            status="clean" if result.clean else "conflicts",
            base=b,
            merge_decisions=result.decisions,
        )
        return out

    async def _merge_text(
        self, copy_path, origin, original, info, base, local, remote, dry_run, remerged=False
    ):
        result = await offload(textmerge.merge, base.decode(), local.decode(), remote.decode())
        out: dict[str, Any] = {
            "type": "text",
            "original": info,
            "summary": [],
            "conflicts": len(result.conflicts),
        }
        if remerged:
            out["remerged"] = True
        if result.clean and not dry_run:
            written = await self.write_merge(copy_path, origin, original, result.merged, "text")
            return {**out, "status": "merged", "written": True, **written}
        out.update(
            status="clean" if result.clean else "conflicts",
            base=base.decode(),
            local=local.decode(),
            remote=remote.decode(),
            merged=result.merged,
            conflict_regions=result.conflicts,
        )
        return out

    def _remember(self, original: ResourceInfo, data: bytes) -> None:
        key = (original.path, original.etag.strip('"'))
        self._originals[key] = data
        self._originals.move_to_end(key)
        while len(self._originals) > KEPT_ORIGINALS:
            self._originals.popitem(last=False)

    def _check_writable(self, original: ResourceInfo) -> None:
        self.contents.mounts.refuse_read_only(original.path)  # also where storages allow it
        if original.HasField("permission_set") and not original.permission_set.initiate_file_upload:
            raise PermissionDenied(
                f"You may read {original.path} but not write it, so you cannot merge into it: "
                "ask its owner for edit rights, or keep working in your copy. Nothing was written."
            )

    # -- resolve and save -------------------------------------------------------------------

    async def resolve(
        self,
        copy_path: str,
        *,
        etag: str,
        content: Any = None,
        choice: str = "",
        original: str | None = None,
    ) -> dict[str, Any]:
        """Save what the editor resolved (a notebook dict or text), merged against
        ``etag``: re-merged if the original changed meanwhile, never overwriting it.
        ``original``: as for merge, the original the user confirmed."""
        expected = original
        origin, _, remote = await self.origin_of(copy_path)
        original, moved = await self._original(origin, expected)
        self._check_writable(original)
        info = self._original_json(original, moved)
        kind = kind_of(original.path, remote, copy_path=copy_path)
        if choice:
            if choice not in ("original", "copy"):
                raise InvalidArgument("choice must be 'original' or 'copy'")
            if choice == "original":
                await self._cleanup(copy_path, origin)
                return {"status": "merged", "written": False, "original": info, "summary": []}
            content, kind = remote, "binary"
            etag = etag or original.etag
        elif kind == "notebook":
            if not isinstance(content, dict):
                raise InvalidArgument("The resolved notebook ('content') must be a JSON object")
            resolved = await offload(
                parse_notebook, json.dumps(content).encode(), "The resolved notebook"
            )
            content = without_origin(resolved)
        elif not isinstance(content, str):
            raise InvalidArgument("The resolved text ('content') must be a string")
        for _ in range(REMERGE_ATTEMPTS):
            original, moved = await self._original(origin, expected)
            info = self._original_json(original, moved)
            if original.etag.strip('"') == etag.strip('"'):
                try:
                    written = await self.write_merge(
                        copy_path, origin, original, content, kind, etag=etag
                    )
                except _Changed:
                    continue
                return {
                    "status": "merged",
                    "written": True,
                    "original": info,
                    "summary": [],
                    **written,
                }
            # The original changed while the editor resolved: merge the resolution into it.
            base = self._originals.get((original.path, etag.strip('"')))
            if base is None:
                base = await self._version_by_etag(original, etag)
            if base is None:
                raise Conflict(
                    f"{original.path} was changed by someone else while you were merging, and "
                    "the version you merged against is no longer available: merge again. "
                    "Nothing was written."
                )
            local = await self.files.download(original.path)
            self._remember(original, local)
            if kind == "notebook":
                remote_bytes = await offload(notebook_bytes, content)
                return await self._merge_notebooks(
                    copy_path, origin, original, info, base, local, remote_bytes, False, True
                )
            if kind == "text":
                return await self._merge_text(
                    copy_path, origin, original, info, base, local, content.encode(), False, True
                )
            raise Conflict(
                f"{original.path} was changed by someone else meanwhile: choose again. "
                "Nothing was written."
            )
        raise Conflict("The original keeps changing: try again. Nothing was written.")

    async def _version_by_etag(self, original: ResourceInfo, etag: str) -> bytes | None:
        try:
            versions = await self.files.list_versions(original.path)
        except CS3Error:
            return None
        for v in versions:
            if v.etag.strip('"') == etag.strip('"'):
                try:
                    return await download_version(self.files, original, v.key)
                except CS3Error:
                    return None
        return None

    # -- writing ----------------------------------------------------------------------------

    async def write_merge(
        self,
        copy_path: str,
        origin: Origin,
        original: ResourceInfo,
        content: Any,
        kind: str,
        etag: str | None = None,
    ) -> dict[str, Any]:
        """Write the merge result into the original under its write lock, if the original is
        still at ``etag`` (raises _Changed otherwise), and record the merge."""
        expected = (etag or original.etag).strip('"')
        me = await self._me()
        copy_info = await self.files.stat(copy_path)
        record = {
            "copy": copy_path,
            "copy_resource_id": copy_info.id.opaque_id,
            "copy_etag": copy_info.etag.strip('"'),
            "base_sha256": origin.sha256,
            "base_version_key": origin.version_key,
            "base_etag": origin.etag,
            "original_etag": expected,
            "merged_by": me,
            "merged_at": now_iso(),
            "site": self.site,
        }
        if kind == "notebook":
            nb = dict(content)
            meta = dict(nb.get("metadata", {}))
            ours = dict(meta.get(NB_KEY, {}))
            ours["merges"] = [*ours.get("merges", []), record]
            meta[NB_KEY] = ours
            nb["metadata"] = meta
            data = await offload(notebook_bytes, nb)
        elif kind == "text":
            data = content.encode("utf-8")
        else:
            data = content
        path = original.path
        client = f"merge-{uuid.uuid4().hex[:12]}"
        # No lock where cs3lab takes none (a file another site shares): the etag check below
        # is then what refuses to overwrite a newer version.
        locking = not self.locks.unlockable(path)
        if locking:
            await self.locks.acquire(path, client)  # Locked (423, naming the holder) if held
        try:
            # One writer per file in this server: a tab's save of the same session waits, or
            # lands first and the etag check sees it (Reva's decomposedfs failed one of two
            # uploads at once with HTTP 500 "etag mismatch").
            async with self._one_writer(path):
                info = await self.files.stat(path)
                if info.etag.strip('"') != expected:
                    raise _Changed()
                lock_id = await self.locks.write_lock_id(path, info)
                await self._upload(path, data, info)
                try:
                    await self.files.set_metadata(
                        path, {MERGE_KEY: json.dumps(record)}, lock_id=lock_id
                    )
                except NotSupported:
                    pass
        finally:
            if locking:
                await self.locks.release(path, client)
        await self._cleanup(copy_path, origin)
        after = await self.files.stat(path)
        return {"etag": after.etag.strip('"'), "merge": record}

    def _one_writer(self, path: str) -> AbstractAsyncContextManager[None]:
        """The contents manager's write guard of a CS3 path in the home (none elsewhere)."""
        home = self.contents.home.rstrip("/") + "/"
        if path.startswith(home):
            return self.contents.write_guards.hold(path[len(home) :])
        return nullcontext()

    async def _upload(self, path: str, data: bytes, info: ResourceInfo) -> None:
        home = self.contents.home.rstrip("/") + "/"
        if path.startswith(home):
            await self.contents.upload_as_holder(path[len(home) :], data, info)
        else:
            lock_id = await self.locks.write_lock_id(path, info)
            from ..cs3.errors import Locked

            try:
                await self.files.upload(path, data, lock_id=lock_id)
            except Locked:
                raise await self.locks.explain_refusal(path) from None

    async def _keep_snapshot(self, snapshot: str, data: bytes) -> None:
        """Store the copy's base snapshot. The copy is made already: a storage that fails
        the snapshot twice (decomposedfs answers some uploads with an internal error under
        load) leaves the copy without one, and its merge takes the base from the versions."""
        for attempt in (1, 2):
            try:
                await self.files.upload(snapshot, data)
                return
            except ServerError as err:
                if attempt == 2:
                    log.warning(
                        "cs3lab: no base snapshot %s (%s); a merge uses the versions",
                        snapshot,
                        err.detail or err.message,
                    )

    async def _cleanup(self, copy_path: str, origin: Origin) -> None:
        """Remove the copy's base snapshot: only a file where cs3lab puts it for this copy."""
        snapshot = trusted_snapshot(origin, copy_path)
        if not snapshot:
            return
        try:
            if (await self.files.stat(snapshot)).type != CONTAINER:
                await self.files.delete(snapshot)
        except CS3Error:
            log.info("cs3lab: could not remove the base snapshot %s", snapshot)


def _named(info: ResourceInfo, path: str) -> ResourceInfo:
    """``info`` naming ``path``: a copy when it names another (Stat answers are shared through
    the user's metadata cache, never changed)."""
    if info.path == path:
        return info
    named = ResourceInfo()
    named.CopyFrom(info)
    named.path = path
    return named
