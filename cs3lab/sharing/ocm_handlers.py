"""REST for federated sharing (OCM), under /cs3lab/api/ocm (beside /cs3lab/api/shares):

- ``POST   invitations``            {description?} -> 201 {token, site, invitation, expires}
- ``POST   invitations/accept``     {invitation: "<token>@<site>"} (or {token, site}) -> contact
- ``GET    contacts?q=``            federated contacts [{id, display_name, mail, site}]
- ``GET    sites``                  the sites this one federates with
- ``GET    shares  POST shares``    shares made: list; {path, contact, role} -> 201 share
- ``DELETE shares/<id>``           revoke a share -> 204
- ``GET    received``               received shares [{id, name, state, owner, role, cs3_path}]
- ``PATCH  received/<id>``          {state: accepted|declined}
- ``GET    received/<id>/files?path=``  open a received file (or list a folder)
- ``PUT    received/<id>/files?path=``  {content, format?, etag?} save back (editor role)

Paths in ``path`` are JupyterLab paths (of the user's home); ``path`` under received/ is
relative to the received resource.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..web import CS3APIHandler
from .handlers import SHARING_RESOURCE
from .ocm import OCMService


class _OCMHandler(CS3APIHandler):
    auth_resource = SHARING_RESOURCE

    def initialize(self, ocm: OCMService) -> None:
        self.ocm = ocm


class InvitationsHandler(_OCMHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        with self.cs3_errors():
            made = await self.ocm.invite(str(body.get("description", "")))
        self.write_json(made, 201)


class AcceptInvitationHandler(_OCMHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        invitation = body.get("invitation") or body.get("token")
        if not isinstance(invitation, str) or not invitation.strip():
            raise web.HTTPError(400, "Missing 'invitation' (the '<token>@<site>' you were sent)")
        with self.cs3_errors():
            contact = await self.ocm.accept_invite(invitation, str(body.get("site", "")))
        self.write_json(contact)


class ContactsHandler(_OCMHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.cs3_errors():
            self.write_json(await self.ocm.contacts(self.get_query_argument("q", "")))


class SitesHandler(_OCMHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.cs3_errors():
            self.write_json(await self.ocm.sites())


class SharesHandler(_OCMHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.cs3_errors():
            self.write_json(await self.ocm.shares())

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        path = self.cs3_path(self.required(body, "path"))
        contact = self.required(body, "contact")
        with self.cs3_errors():
            made = await self.ocm.share(path, contact, str(body.get("role", "viewer")))
        self.write_json(made, 201)


class ShareHandler(_OCMHandler):
    @web.authenticated
    @authorized
    async def delete(self, share_id: str) -> None:
        with self.cs3_errors():
            await self.ocm.revoke(share_id)
        self.set_status(204)
        self.finish()


class ReceivedHandler(_OCMHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        with self.cs3_errors():
            self.write_json(await self.ocm.received())


class ReceivedShareHandler(_OCMHandler):
    @web.authenticated
    @authorized
    async def patch(self, share_id: str) -> None:
        state = self.required(self.json_body(), "state")
        with self.cs3_errors():
            self.write_json(await self.ocm.set_state(share_id, state))


def ocm_handlers(prefix: str, ocm: OCMService) -> list[tuple]:
    """Handlers under ``<prefix>/ocm`` (prefix: 'cs3lab/api')."""
    base = f"{prefix}/ocm"
    sid = r"([^/]+)"
    args = {"ocm": ocm}
    return [
        (f"{base}/invitations", InvitationsHandler, args),
        (f"{base}/invitations/accept", AcceptInvitationHandler, args),
        (f"{base}/contacts", ContactsHandler, args),
        (f"{base}/sites", SitesHandler, args),
        (f"{base}/received", ReceivedHandler, args),
        (f"{base}/received/{sid}", ReceivedShareHandler, args),
        (f"{base}/shares", SharesHandler, args),
        (f"{base}/shares/{sid}", ShareHandler, args),
    ]
