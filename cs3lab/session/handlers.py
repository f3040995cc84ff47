"""GET /cs3lab/api/session (who is signed in where) and GET /cs3lab/api/quota?path= (quota
and usage of the storage holding a JupyterLab path, the root by default)."""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..cs3.errors import CS3Error
from ..web import CS3APIHandler
from .service import SessionService


class SessionHandler(APIHandler):
    auth_resource = "contents"

    def initialize(self, session: SessionService) -> None:
        self.session = session

    @web.authenticated
    @authorized
    async def get(self) -> None:
        try:
            described = await self.session.describe()
        except CS3Error as err:
            raise web.HTTPError(err.http_status, err.message, reason=err.reason) from None
        self.finish(json.dumps(described))


class QuotaHandler(CS3APIHandler):
    auth_resource = "contents"

    def initialize(self, session: SessionService) -> None:
        self.session = session

    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.get_query_argument("path", "")
        cs3_path = self.cs3_path(path)
        with self.cs3_errors():
            quota = await self.session.quota(cs3_path)
        self.write_json({"path": path, **quota})
