"""Federated sharing (OCM) for one user: invitations, federated contacts, shares with users at
other sites, and the shares received from them (pending, accepted, declined), which the user
opens and, where the role allows, saves back.

Where received shares live: the user's site mounts each one at ``/ocm/<received share id>``
(its ``ocmreceived`` storage, which reads and writes the owner's site over WebDAV). They are
outside the user's home, so JupyterLab's contents API does not reach them; this service reads
and writes them by CS3 path (``read`` / ``write``), with the etag a save was based on.

Locks on federated files (Reva v2.27.7, both sites decomposedfs; see cs3lab/cs3/ocm.py and
tests/test_ocm.py): a lock the owner's site holds is honoured at the recipient's (an upload
without the lock id is refused by the owner's storage; here: 423); the recipient sees no lock
in Stat and cannot inspect, refresh or release a lock through its gateway (GetLock, Unlock and
RefreshLock on /ocm paths fail in that Reva line), and a SetLock it sends becomes an EXCL lock
without expiry at the owner's site. So this service never takes a native lock on a received
file; a stale save from either side is refused by the etag check (409) instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cs3.sharing.ocm.v1beta1 import resources_pb2 as ocm_res
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from traitlets import Unicode
from traitlets.config import LoggingConfigurable

from ..contents_manager.mounts import Mount, MountTable, unique_names
from ..cs3.errors import (
    AlreadyExists,
    Conflict,
    CS3Error,
    InvalidArgument,
    Locked,
    NotFound,
    ServerError,
)
from ..cs3.files import Files
from ..cs3.ocm import OCM, ROLES, received_path, received_permissions, role_of, share_permissions

# The root folder of JupyterLab's file browser that shows accepted received shares.
PLACE = "Federated shares"
PLACE_DESCRIPTION = "the files and folders people at other sites share with you"

STATES = {
    ocm_res.SHARE_STATE_PENDING: "pending",
    ocm_res.SHARE_STATE_ACCEPTED: "accepted",
    ocm_res.SHARE_STATE_REJECTED: "declined",
}


class CS3OCM(LoggingConfigurable):
    """OCM settings of the user's site."""

    domain = Unicode(
        "",
        config=True,
        help="The OCM domain of this CS3 site (as in the mesh's providers list), written into "
        "invitations so that the invited person's site knows where the invitation is from.",
    )


@dataclass(frozen=True)
class Contact:
    opaque_id: str
    idp: str  # the contact's site, by OCM domain
    display_name: str
    mail: str

    @property
    def id(self) -> str:
        return f"{self.opaque_id}@{self.idp}"

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "display_name": self.display_name,
            "mail": self.mail,
            "site": self.idp,
        }


def _type(resource_type: int) -> str:
    return "directory" if resource_type == res.RESOURCE_TYPE_CONTAINER else "file"


def _time(ts) -> float:
    return float(ts.seconds) + ts.nanos / 1e9 if ts.seconds else 0.0


class OCMService:
    """What the REST handlers under /cs3lab/api/ocm call; knows nothing of HTTP."""

    def __init__(
        self, ocm: OCM, files: Files, domain: str = "", places: MountTable | None = None
    ) -> None:
        self.ocm = ocm
        self.files = files
        self.domain = domain
        self.places = places  # the contents manager's mount table, where shares are shown

    # --- invitations and contacts
    async def invite(self, description: str = "") -> dict[str, Any]:
        made = await self.ocm.generate_invite(description)
        return {
            "token": made.token,
            "site": self.domain,
            # What the user sends to the person they invite (who pastes it at their site).
            "invitation": f"{made.token}@{self.domain}" if self.domain else made.token,
            "expires": made.expires,
            "description": made.description,
        }

    async def accept_invite(self, invitation: str, site: str = "") -> dict[str, str]:
        token, _, domain = invitation.strip().rpartition("@")
        if not token:  # no '@': the token alone, the site given separately
            token, domain = invitation.strip(), site.strip()
        if not token or not domain:
            raise InvalidArgument(
                "An invitation looks like '<token>@<site>' (or give the token and the site)"
            )
        known = {p.domain for p in await self.ocm.providers()}
        if domain not in known:
            raise NotFound(
                f"The site {domain!r} is not one this site federates with "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )
        try:
            accepted = await self.ocm.forward_invite(token, domain)
        except NotFound as err:
            raise NotFound(
                f"The invitation is unknown or has expired at {domain}; ask for a new one",
                detail=err.detail,
            ) from None
        except AlreadyExists as err:
            raise AlreadyExists(
                f"You already accepted an invitation from this person at {domain}",
                detail=err.detail,
            ) from None
        except (InvalidArgument, ServerError) as err:
            if "expired" in err.detail.lower() or "not found" in err.detail.lower():
                raise NotFound(
                    f"The invitation is unknown or has expired at {domain}; ask for a new one",
                    detail=err.detail,
                ) from None
            raise
        return Contact(
            accepted.user_id.opaque_id, accepted.user_id.idp, accepted.display_name, accepted.email
        ).to_json()

    async def contacts(self, query: str = "") -> list[dict[str, str]]:
        return [
            Contact(u.id.opaque_id, u.id.idp, u.display_name, u.mail).to_json()
            for u in await self.ocm.contacts(query)
        ]

    async def sites(self) -> list[dict[str, str]]:
        return [
            {"domain": p.domain, "name": p.full_name or p.name, "organization": p.organization}
            for p in await self.ocm.providers()
        ]

    async def _contact(self, contact_id: str):
        for user in await self.ocm.contacts():
            if Contact(user.id.opaque_id, user.id.idp, "", "").id == contact_id:
                return user.id
        raise NotFound(
            f"{contact_id!r} is not one of your federated contacts: invite them, or accept "
            "their invitation, first"
        )

    # --- shares this user made
    async def share(self, cs3_path: str, contact_id: str, role: str) -> dict[str, Any]:
        if role not in ROLES:
            raise InvalidArgument(f"Unknown role {role!r} (one of: {', '.join(ROLES)})")
        grantee = await self._contact(contact_id)
        info = await self.files.stat(cs3_path)
        share = await self.ocm.create_share(info.id, grantee, role)
        return self._share_json(share, await self._contact_names(), cs3_path)

    async def shares(self) -> list[dict[str, Any]]:
        shares = await self.ocm.shares()
        names = await self._contact_names() if shares else {}
        return [self._share_json(s, names) for s in shares]

    async def revoke(self, share_id: str) -> None:
        if share_id not in {s.id.opaque_id for s in await self.ocm.shares()}:
            raise NotFound(f"You have no federated share {share_id!r}")
        await self.ocm.remove_share(share_id)

    def _share_json(
        self, share: ocm_res.Share, names: dict[str, str], path: str = ""
    ) -> dict[str, Any]:
        grantee = share.grantee.user_id
        grantee_id = Contact(grantee.opaque_id, grantee.idp, "", "").id
        data = {
            "id": share.id.opaque_id,
            "name": share.name,
            "with": grantee_id,
            # The grantee's name as the contact entry has it ("" if no contact).
            "with_name": names.get(grantee_id, ""),
            "site": grantee.idp,
            "role": role_of(share_permissions(share)),
            "created": _time(share.ctime),
        }
        if path:
            data["cs3_path"] = path
        return data

    # --- shares received from other sites
    async def received(self) -> list[dict[str, Any]]:
        shares = await self.ocm.received()
        self._show(shares)
        names = await self._contact_names() if shares else {}
        return [self._received_json(s, names) for s in shares]

    async def _contact_names(self) -> dict[str, str]:
        """Contact id -> display name, for naming who shared (a share holds only the
        owner's id at their site); empty when the contacts cannot be listed."""
        try:
            users = await self.ocm.contacts()
        except CS3Error:
            return {}
        return {Contact(u.id.opaque_id, u.id.idp, "", "").id: u.display_name for u in users}

    def _show(self, shares: list[ocm_res.ReceivedShare]) -> None:
        """What was just listed is what the file browser's place shows (no second call)."""
        if self.places is not None:
            self.places.update(PLACE, self._mounts_of(shares))

    async def set_state(self, share_id: str, state: str) -> dict[str, Any]:
        wanted = {
            "accepted": ocm_res.SHARE_STATE_ACCEPTED,
            "declined": ocm_res.SHARE_STATE_REJECTED,
        }
        if state not in wanted:
            raise InvalidArgument("'state' must be 'accepted' or 'declined'")
        shares = await self.ocm.received()
        share = _find(shares, share_id)
        await self.ocm.set_received_state(share, wanted[state])
        share.state = wanted[state]
        self._show(shares)  # the list just read, with the new state: no second listing
        return self._received_json(share, await self._contact_names())

    def _received_json(self, share: ocm_res.ReceivedShare, names: dict[str, str]) -> dict[str, Any]:
        owner = share.owner
        owner_id = Contact(owner.opaque_id, owner.idp, "", "").id
        return {
            "id": share.id.opaque_id,
            "name": share.name,
            "state": STATES.get(share.state, "unknown"),
            "owner": owner_id,
            # The owner's name as her contact entry has it ("" if she is no contact).
            "owner_name": names.get(owner_id, ""),
            "site": owner.idp,
            "role": role_of(received_permissions(share)),
            "type": _type(share.resource_type),
            "cs3_path": received_path(share),
            # Where JupyterLab shows it once accepted (the Federated shares place).
            "path": self.api_path(share),
            "created": _time(share.ctime),
        }

    # --- opening and saving what was received: a place of JupyterLab's root
    async def mounts(self) -> list[Mount]:
        """The accepted received shares, as the mounts of the ``Federated shares`` place:
        the file browser opens and saves them with the ordinary contents API."""
        return self._mounts_of(await self.ocm.received())

    def _mounts_of(self, shares: list[ocm_res.ReceivedShare]) -> list[Mount]:
        mounts = []
        for share in shares:
            if share.state != ocm_res.SHARE_STATE_ACCEPTED:
                continue
            owner = Contact(share.owner.opaque_id, share.owner.idp, "", "").id
            role = role_of(received_permissions(share))
            mounts.append(
                Mount(
                    name=(share.name or share.id.opaque_id).replace("/", "_"),
                    cs3_path=received_path(share),
                    is_dir=share.resource_type == res.RESOURCE_TYPE_CONTAINER,
                    writable=role == "editor",
                    mtime=_time(share.mtime) or _time(share.ctime),
                    kind="ocm",
                    lockable=False,
                    explain_write_error=_federated_write_error,
                    details={"owner": owner, "site": share.owner.idp, "role": role},
                )
            )
        return unique_names(mounts, lambda m: m.details["owner"])

    def api_path(self, share: ocm_res.ReceivedShare) -> str | None:
        """Where JupyterLab shows an accepted received share (None: not mounted yet)."""
        if self.places is None or share.state != ocm_res.SHARE_STATE_ACCEPTED:
            return None
        return self.places.api_path(received_path(share))


def _find(shares: list[ocm_res.ReceivedShare], share_id: str) -> ocm_res.ReceivedShare:
    for share in shares:
        if share.id.opaque_id == share_id:
            return share
    raise NotFound(f"You have received no federated share {share_id!r} (or it was revoked)")


def _federated_write_error(err: CS3Error) -> CS3Error:
    """A save to a federated file failed: say why in the owner's terms. The recipient's
    storage reports the owner's refusals as failed transfers, the owner's lock among them."""
    if isinstance(err, Conflict) or "etag" in err.detail.lower():
        return Conflict(
            "The file changed at its owner's site since you opened it. Your save was refused "
            "and nothing was written: reload it, or save your version under another name."
        )
    if isinstance(err, Locked | ServerError):
        return Locked(
            "The owner's site refused the save: the file is locked there (someone has it "
            "open). Nothing was written; try again later or make a copy.",
            detail=err.detail,
        )
    return err


def build_ocm(serverapp, contents, log) -> OCMService:
    """The OCM service of a server whose contents manager is CS3ContentsManager (one
    channel: the contents manager's); settings from ``c.CS3OCM`` (the site's OCM domain).
    Accepted received shares become the root folder ``Federated shares`` of the file
    browser, shown on sites that have any."""
    settings = CS3OCM(parent=serverapp, log=log)
    service = OCMService(
        OCM(contents.files.client), contents.files, settings.domain, contents.mounts
    )
    contents.mounts.add_place(PLACE, service.mounts, PLACE_DESCRIPTION)
    return service
