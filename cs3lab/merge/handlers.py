"""REST for copies, diffs, merges and versions (thin: parse, call the service, answer).

Paths in requests and answers are JupyterLab paths (relative to the server's root); paths
outside it (an original in a project space) are answered as CS3 paths.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.web import HTTPError
from traitlets import Integer, Unicode
from traitlets.config import Configurable

from ..contents_manager.checkpoints import _version_time, route_safe_id
from ..contents_manager.paths import clean_api_path
from ..cs3.files import mtime_seconds
from ..web import CS3APIHandler
from .offload import offload
from .service import MergeService


class MergeConfig(Configurable):
    copy_folder = Unicode(
        "",
        help="Folder (relative to the JupyterLab root) where 'Make a copy' puts copies when "
        "the request names no destination; empty: beside the original.",
    ).tag(config=True)
    max_diff_size_mb = Integer(
        20,
        min=0,
        help="Files larger than this (in MB) are not compared or merged: diffs and merges "
        "hold them in the server's memory several times over. 0: no limit.",
    ).tag(config=True)


class _Base(CS3APIHandler):
    auth_resource = "contents"  # copies, merges and restores write files

    def initialize(self, service: MergeService) -> None:
        self.service = service

    def api(self, cs3_path: str) -> str:
        """The path JupyterLab knows ``cs3_path`` by: in the home, or in a place (a file
        shared by another site: ``Federated shares/<name>``); else the CS3 path."""
        home = self.contents_manager.home.rstrip("/") + "/"
        if cs3_path.startswith(home):
            return cs3_path[len(home) :]
        return self.contents_manager.mounts.api_path(cs3_path) or cs3_path

    def paths_to_api(self, data: Any) -> Any:
        if isinstance(data, dict):
            out = dict(data)
            for key in ("path", "copy", "moved_from", "snapshot"):
                if isinstance(out.get(key), str) and out[key].startswith("/"):
                    out[key] = self.api(out[key])
            for key in ("original", "merge", "origin"):
                if isinstance(out.get(key), dict):
                    out[key] = self.paths_to_api(out[key])
            return out
        return data

    def confirmed_original(self, body: dict[str, Any]) -> str | None:
        """The CS3 path of the original the user confirmed (``original``: the path the dry
        run or GET copies answered, a JupyterLab path or, outside the root, a CS3 path)."""
        value = body.get("original")
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise HTTPError(400, "'original' must be the path of the original you confirmed")
        return value if value.startswith("/") else self.cs3_path(value)

    async def answer(self, data: Any, status: int = 200) -> None:
        body = await offload(json.dumps, self.paths_to_api(data))
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(body)


class CopiesHandler(_Base):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        source = self.cs3_path(self.required(body, "path"))
        dest = body.get("destination")
        if dest is not None and (not isinstance(dest, str) or not clean_api_path(dest)):
            raise HTTPError(400, "'destination' must be a file path")
        with self.cs3_errors():
            result = await self.service.copy(source, self.cs3_path(dest) if dest else None)
        await self.answer(result, 201)

    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.cs3_path(self.get_query_argument("path", ""))
        with self.cs3_errors():
            origin, _, _ = await self.service.origin_of(path)
            original, moved = await self.service.locate(origin)
        await self.answer(
            {
                "path": path,
                "origin": origin.to_json(),
                "original": {
                    **self.service._original_json(original, moved),
                    "changed": original.etag.strip('"') != origin.etag,
                },
            }
        )


class DiffHandler(_Base):
    @web.authenticated
    @authorized("read")  # a POST that only reads
    async def post(self) -> None:
        body = self.json_body()
        with self.cs3_errors():
            if "copy" in body:
                result = await self.service.diff_copy(self.cs3_path(self.required(body, "copy")))
            elif "version" in body:
                path = self.cs3_path(self.required(body, "path"))
                key = await _version_key(self.service, path, self.required(body, "version"))
                result = await self.service.diff_version(path, key)
            else:
                a = self.cs3_path(self.required(body, "base"))
                b = self.cs3_path(self.required(body, "remote"))
                result = await self.service.diff_files(a, b)
        await self.answer(result)


class MergeHandler(_Base):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        copy = self.cs3_path(self.required(body, "copy"))
        original = self.confirmed_original(body)
        with self.cs3_errors():
            result = await self.service.merge(
                copy, dry_run=bool(body.get("dry_run")), original=original
            )
        await self.answer(result)


class ResolveHandler(_Base):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        copy = self.cs3_path(self.required(body, "copy"))
        choice = body.get("choice") or ""
        etag = body.get("etag") or ""
        if not isinstance(choice, str):
            raise HTTPError(400, "'choice' must be 'original' or 'copy'")
        if not isinstance(etag, str):
            raise HTTPError(400, "'etag' must be the original's etag (a string) from the merge")
        if not choice and not etag:
            raise HTTPError(400, "Missing 'etag': the original's etag from the merge answer")
        original = self.confirmed_original(body)
        with self.cs3_errors():
            result = await self.service.resolve(
                copy, etag=etag, content=body.get("content"), choice=choice, original=original
            )
        await self.answer(result)


async def _version_key(service: MergeService, path: str, version_id: str) -> str:
    from ..cs3.errors import NotFound

    for v in await service.files.list_versions(path):
        if route_safe_id(v.key) == version_id or v.key == version_id:
            return v.key
    raise NotFound(f"No version {version_id} of {path}")


class VersionsHandler(_Base):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        api_path = clean_api_path(self.get_query_argument("path", ""))
        path = self.cs3_path(api_path)
        with self.cs3_errors():
            info = await self.service.files.stat(path)
            versions = await self.service.files.list_versions(path)
        items = [
            {
                "id": route_safe_id(v.key),
                "key": v.key,
                "last_modified": _version_time(v.mtime).isoformat(),
                "size": v.size,
                "etag": v.etag.strip('"'),
            }
            for v in sorted(versions, key=lambda v: (v.mtime, v.key), reverse=True)
        ]
        from datetime import datetime, timezone

        current = {
            "last_modified": datetime.fromtimestamp(mtime_seconds(info), timezone.utc).isoformat(),
            "size": info.size,
            "etag": info.etag.strip('"'),
        }
        await self.answer({"path": api_path, "current": current, "versions": items})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Restore a version, first keeping the current content as a version (checkpoints)."""
        body = self.json_body()
        api_path = clean_api_path(self.required(body, "path"))
        version = self.required(body, "id")
        cm = self.contents_manager
        with self.cs3_errors():
            # The id (or the raw key) must name a listed version before anything is written;
            # restored by its checkpoint id, which the keeping of the current content leaves.
            key = await _version_key(self.service, self.cs3_path(api_path), version)
            kept = await cm.checkpoints.create_checkpoint(cm, api_path)
            await cm.checkpoints.restore_checkpoint(cm, route_safe_id(key), api_path)
        await self.answer(
            {
                "path": api_path,
                "restored": version,
                "kept": {"id": kept["id"], "last_modified": kept["last_modified"].isoformat()},
            }
        )


def merge_handlers(prefix: str, contents) -> list[tuple[str, type, dict]]:
    config = MergeConfig(parent=contents)
    service = MergeService(
        contents,
        site=contents.connection.site_name,
        copy_folder=config.copy_folder,
        max_diff_size_mb=config.max_diff_size_mb,
    )
    args = {"service": service}
    return [
        (url_path_join(prefix, "copies"), CopiesHandler, args),
        (url_path_join(prefix, "diff"), DiffHandler, args),
        (url_path_join(prefix, "merge"), MergeHandler, args),
        (url_path_join(prefix, "merge", "resolve"), ResolveHandler, args),
        (url_path_join(prefix, "versions"), VersionsHandler, args),
    ]
