"""GET /cs3lab/api/session"""

from __future__ import annotations

import json

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..cs3.errors import CS3Error
from .service import SessionService


class SessionHandler(APIHandler):
    def initialize(self, session: SessionService) -> None:
        self.session = session

    @web.authenticated
    async def get(self) -> None:
        try:
            described = await self.session.describe()
        except CS3Error as err:
            raise web.HTTPError(err.http_status, err.message, reason=err.reason) from None
        self.finish(json.dumps(described))
