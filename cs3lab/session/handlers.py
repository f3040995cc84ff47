"""GET /cs3lab/api/session (who is signed in where) and GET /cs3lab/api/quota?path= (quota
and usage of the storage holding a JupyterLab path, the root by default)."""

from __future__ import annotations

import json

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..cs3.errors import CS3Error, Unauthenticated
from ..cs3.hub_tokens import sign_in_url
from ..web import CS3APIHandler
from .service import SessionService


class SessionHandler(APIHandler):
    """Who is signed in where. When the site no longer accepts the user's sign-in (401), the
    answer says where to sign in again (``sign_in_url``) if a JupyterHub started this server,
    which JupyterLab shows as a link (labextension/src/signin.ts)."""

    auth_resource = "contents"

    def initialize(self, session: SessionService) -> None:
        self.session = session
        self.sign_in_url: str | None = None

    @web.authenticated
    @authorized
    async def get(self) -> None:
        try:
            described = await self.session.describe()
        except CS3Error as err:
            if isinstance(err, Unauthenticated):
                self.sign_in_url = sign_in_url()
            raise web.HTTPError(err.http_status, err.message, reason=err.reason) from None
        self.finish(json.dumps(described))

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if status_code != 401 or self.sign_in_url is None or not isinstance(exc, web.HTTPError):
            super().write_error(status_code, **kwargs)
            return
        self.set_header("Content-Type", "application/json")
        reply = {"message": exc.log_message, "reason": exc.reason, "sign_in_url": self.sign_in_url}
        self.finish(json.dumps(reply))


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
