"""What every cs3lab REST handler shares: JSON bodies, API paths to CS3 paths, and CS3 errors
turned into HTTP errors (jupyter_server's APIHandler writes them as ``{message, reason}``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from .contents_manager.errors import http_error
from .cs3.errors import CS3Error


class CS3APIHandler(APIHandler):
    """Base of cs3lab's handlers. Subclasses name an ``auth_resource`` and decorate each verb
    with ``@web.authenticated`` then jupyter_server's ``@authorized`` (README: Authorization)."""

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise HTTPError(400, "The request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise HTTPError(400, "The request body must be a JSON object")
        return body

    def required(self, body: dict[str, Any], name: str) -> str:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise HTTPError(400, f"Missing or empty {name!r}")
        return value

    def cs3_path(self, api_path: str) -> str:
        """The CS3 path of a JupyterLab path (refusing traversal out of the user's root)."""
        return self.contents_manager.cs3_path(api_path)

    @contextmanager
    def cs3_errors(self) -> Iterator[None]:
        try:
            yield
        except CS3Error as err:
            raise http_error(err, self.contents_manager.home) from None

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))
