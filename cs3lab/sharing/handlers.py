"""REST under /cs3lab/api: sharing/users, sharing/groups (find people), shares (share, who
has access, shared by me, change role, revoke), shares/received (shared with me, accept,
decline), links (public links). Paths in requests and answers are JupyterLab paths."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..web import CS3APIHandler
from .service import SharingService

# jupyter_server's Authorizer sees this resource for shares, links and OCM (README: Authorization).
SHARING_RESOURCE = "cs3lab:sharing"


class _Handler(CS3APIHandler):
    auth_resource = SHARING_RESOURCE

    def initialize(self, sharing: SharingService) -> None:
        self.sharing = sharing

    def _path(self, value: str) -> str:
        return self.cs3_path(value)


class UsersHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self, username: str = "") -> None:
        with self.cs3_errors():
            if username:
                self.write_json(await self.sharing.user(username))
            else:
                users = await self.sharing.find_users(self.get_query_argument("q", ""))
                self.write_json({"users": users})


class GroupsHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self, name: str = "") -> None:
        with self.cs3_errors():
            if name:
                self.write_json(await self.sharing.group(name))
            else:
                groups = await self.sharing.find_groups(self.get_query_argument("q", ""))
                self.write_json({"groups": groups})


class SharesHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.get_query_argument("path", None)
        with self.cs3_errors():
            if path is None:
                self.write_json(await self.sharing.shared_by_me())
            else:
                self.write_json(await self.sharing.access(self._path(path)))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        path = self._path(self.required(body, "path"))
        grantee = body.get("grantee")
        if not isinstance(grantee, dict):
            raise web.HTTPError(400, "'grantee' must be an object: {type, name}")
        kind = grantee.get("type") or "user"
        name = grantee.get("name") or grantee.get("username") or ""
        if not isinstance(kind, str) or not isinstance(name, str) or not name:
            raise web.HTTPError(400, "Say whom to share with: grantee.name")
        with self.cs3_errors():
            share = await self.sharing.share(path, kind, name, self.required(body, "role"))
        self.write_json(share, 201)


class ShareHandler(_Handler):
    @web.authenticated
    @authorized
    async def patch(self, share_id: str) -> None:
        role = self.required(self.json_body(), "role")
        with self.cs3_errors():
            self.write_json(await self.sharing.update_share(share_id, role))

    @web.authenticated
    @authorized
    async def delete(self, share_id: str) -> None:
        with self.cs3_errors():
            await self.sharing.revoke(share_id)
        self.set_status(204)
        self.finish()


class ReceivedHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.cs3_errors():
            self.write_json({"shares": await self.sharing.received()})


class ReceivedShareHandler(_Handler):
    @web.authenticated
    @authorized
    async def patch(self, share_id: str) -> None:
        state = self.required(self.json_body(), "state")
        with self.cs3_errors():
            self.write_json(await self.sharing.set_received_state(share_id, state))


class LinksHandler(_Handler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.get_query_argument("path", None)
        with self.cs3_errors():
            if path is None:
                self.write_json({"links": (await self.sharing.shared_by_me())["links"]})
            else:
                self.write_json({"links": await self.sharing.links_of(self._path(path))})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        path = self._path(self.required(body, "path"))
        name = body.get("name") or ""
        if not isinstance(name, str):
            raise web.HTTPError(400, "'name' must be a string")
        with self.cs3_errors():
            link = await self.sharing.create_link(
                path,
                self.required(body, "role"),
                password=body.get("password"),
                expiration=body.get("expiration"),
                name=name,
            )
        self.write_json(link, 201)


class LinkHandler(_Handler):
    @web.authenticated
    @authorized
    async def patch(self, link_id: str) -> None:
        with self.cs3_errors():
            self.write_json(await self.sharing.update_link(link_id, self.json_body()))

    @web.authenticated
    @authorized
    async def delete(self, link_id: str) -> None:
        with self.cs3_errors():
            await self.sharing.delete_link(link_id)
        self.set_status(204)
        self.finish()


def sharing_handlers(prefix: str, sharing: SharingService) -> list[tuple]:
    args = {"sharing": sharing}
    return [
        (f"{prefix}/sharing/users", UsersHandler, args),
        (f"{prefix}/sharing/users/(.+)", UsersHandler, args),
        (f"{prefix}/sharing/groups", GroupsHandler, args),
        (f"{prefix}/sharing/groups/(.+)", GroupsHandler, args),
        (f"{prefix}/shares", SharesHandler, args),
        (f"{prefix}/shares/received", ReceivedHandler, args),
        (f"{prefix}/shares/received/(.+)", ReceivedShareHandler, args),
        (f"{prefix}/shares/(.+)", ShareHandler, args),
        (f"{prefix}/links", LinksHandler, args),
        (f"{prefix}/links/(.+)", LinkHandler, args),
    ]
