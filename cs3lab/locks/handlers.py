"""REST: /cs3lab/api/locks (GET inspect, POST acquire, PUT heartbeat, DELETE release),
/cs3lab/api/locks/requests (POST ask to edit, DELETE withdraw),
/cs3lab/api/locks/handover (POST the holder's answer) and /cs3lab/api/locks/markers (DELETE:
clear a file's stale or malformed markers). Paths are JupyterLab paths."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..web import CS3APIHandler
from .service import LockService


class _LockHandler(CS3APIHandler):
    auth_resource = "contents"  # taking, keeping or asking for a lock is a write

    def initialize(self, locks: LockService) -> None:
        self.locks = locks

    def _api_path(self, value: str) -> tuple[str, str]:
        return value, self.cs3_path(value)

    def _finish_state(self, api_path: str, state, status: int = 200) -> None:
        data = state.to_json()
        data["path"] = api_path  # the JupyterLab path, not the CS3 one
        self.write_json(data, status)


class LocksHandler(_LockHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        api_path, path = self._api_path(self.get_query_argument("path", ""))
        with self.cs3_errors():
            state = await self.locks.inspect(path)
        self._finish_state(api_path, state)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        api_path, path = self._api_path(self.required(body, "path"))
        client = self.required(body, "client")
        with self.cs3_errors():
            state = await self.locks.acquire(path, client, takeover=bool(body.get("takeover")))
        self._finish_state(api_path, state)

    @web.authenticated
    @authorized
    async def put(self) -> None:
        body = self.json_body()
        api_path, path = self._api_path(self.required(body, "path"))
        with self.cs3_errors():
            state = await self.locks.refresh(path, self.required(body, "client"))
        self._finish_state(api_path, state)

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        _, path = self._api_path(self.get_query_argument("path", ""))
        client = self.get_query_argument("client", "")
        if not client:
            raise web.HTTPError(400, "Missing 'client'")
        with self.cs3_errors():
            await self.locks.release(path, client)
        self.set_status(204)
        self.finish()


class LockRequestsHandler(_LockHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        api_path, path = self._api_path(self.required(self.json_body(), "path"))
        with self.cs3_errors():
            state = await self.locks.request_edit(path)
        self._finish_state(api_path, state, 201)

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        _, path = self._api_path(self.get_query_argument("path", ""))
        with self.cs3_errors():
            await self.locks.withdraw_request(path)
        self.set_status(204)
        self.finish()


class HandoverHandler(_LockHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        api_path, path = self._api_path(self.required(body, "path"))
        requester = self.required(body, "requester")
        if not isinstance(body.get("grant"), bool):
            raise web.HTTPError(400, "'grant' must be true (hand over) or false (decline)")
        with self.cs3_errors():
            state = await self.locks.answer_request(path, requester, body["grant"])
        self._finish_state(api_path, state)


class StaleMarkersHandler(_LockHandler):
    @web.authenticated
    @authorized
    async def delete(self) -> None:
        api_path, path = self._api_path(self.get_query_argument("path", ""))
        with self.cs3_errors():
            state = await self.locks.clear_stale(path)
        self._finish_state(api_path, state)


def lock_handlers(prefix: str, locks: LockService) -> list[tuple]:
    args = {"locks": locks}
    return [
        (f"{prefix}/locks", LocksHandler, args),
        (f"{prefix}/locks/requests", LockRequestsHandler, args),
        (f"{prefix}/locks/handover", HandoverHandler, args),
        (f"{prefix}/locks/markers", StaleMarkersHandler, args),
    ]
