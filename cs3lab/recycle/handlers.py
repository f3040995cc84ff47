"""REST: /cs3lab/api/recycle (GET list, DELETE purge all), /cs3lab/api/recycle/restore (POST
{key, path?}) and /cs3lab/api/recycle/items?key= (DELETE purge one). Paths are JupyterLab
paths. A restore onto a taken place answers 409 with ``conflict`` and ``suggestion``."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from ..web import CS3APIHandler
from .service import RecycleService, RestoreConflict


class _RecycleHandler(CS3APIHandler):
    auth_resource = "contents"  # restoring and purging are writes

    def initialize(self, recycle: RecycleService) -> None:
        self.recycle = recycle


class RecycleHandler(_RecycleHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.cs3_errors():
            items = await self.recycle.items()
        self.write_json({"items": [item.to_json() for item in items]})

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        if self.get_query_argument("all", "") != "1":
            raise web.HTTPError(400, "To empty the recycle bin, say all=1")
        with self.cs3_errors():
            purged = await self.recycle.purge_all()
        self.write_json({"purged": purged})


class RestoreHandler(_RecycleHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        key = self.required(body, "key")
        to = body.get("path")
        if to is not None and not isinstance(to, str):
            raise web.HTTPError(400, "'path' must be a string")
        with self.cs3_errors():
            try:
                restored = await self.recycle.restore(key, to or None)
            except RestoreConflict as err:
                conflict = {"conflict": err.path, "suggestion": err.suggestion}
                self.write_json({"message": err.message, "reason": err.reason, **conflict}, 409)
                return
        self.write_json(restored.to_json())


class ItemHandler(_RecycleHandler):
    @web.authenticated
    @authorized
    async def delete(self) -> None:
        key = self.get_query_argument("key", "")
        if not key:
            raise web.HTTPError(400, "Missing 'key'")
        with self.cs3_errors():
            await self.recycle.purge(key)
        self.set_status(204)
        self.finish()


def recycle_handlers(prefix: str, recycle: RecycleService) -> list[tuple]:
    args = {"recycle": recycle}
    return [
        (url_path_join(prefix, "recycle"), RecycleHandler, args),
        (url_path_join(prefix, "recycle", "restore"), RestoreHandler, args),
        (url_path_join(prefix, "recycle", "items"), ItemHandler, args),
    ]
