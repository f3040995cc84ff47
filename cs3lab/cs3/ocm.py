"""Federated sharing (OCM, Open Cloud Mesh) through the CS3 gateway: invitations, federated
contacts, shares with users at other sites, and shares received from them.

What the calls do on Reva v2.27.7 (tools/sites/site-fa.json, site-fb.json; verified):
- ``GenerateInviteToken`` at the inviter's site; the invitee's site ``ForwardInvite``s it (with
  the inviter's ``ProviderInfo`` from ``GetInfoByDomain``); both sides then list each other in
  ``FindAcceptedUsers`` as ``USER_TYPE_FEDERATED`` users (idp = the other site's domain). An
  unknown token is NOT_FOUND, a token used twice by the same user ALREADY_EXISTS.
- ``CreateOCMShare(resource_id, grantee, recipient_mesh_provider, access_methods=[webdav with
  permissions])``; the recipient's ``ListReceivedOCMShares`` shows it pending;
  ``UpdateReceivedOCMShare`` (mask ``state``) accepts or declines it.
- The recipient reads and writes the shared resource at ``/ocm/<received share id>`` (its
  ``ocmreceived`` storage, which talks WebDAV to the owner's site): Stat, ListContainer,
  downloads and uploads by path work; uploads honour ``if_match``. ``/ocm`` itself cannot be
  listed, and references by resource id fail once a user has several received shares.
- ``RemoveOCMShare`` at the owner's site removes the received share at the recipient's too.
"""

from __future__ import annotations

from dataclasses import dataclass

from cs3.identity.user.v1beta1 import resources_pb2 as user_res
from cs3.ocm.invite.v1beta1 import invite_api_pb2 as invite_api
from cs3.ocm.invite.v1beta1 import resources_pb2 as invite_res
from cs3.ocm.provider.v1beta1 import provider_api_pb2 as provider_api
from cs3.ocm.provider.v1beta1 import resources_pb2 as provider_res
from cs3.sharing.ocm.v1beta1 import ocm_api_pb2 as ocm_api
from cs3.sharing.ocm.v1beta1 import resources_pb2 as ocm_res
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from google.protobuf import field_mask_pb2

from .client import CS3Client

# Where a site's ocmreceived storage mounts the shares its users received.
RECEIVED_MOUNT = "/ocm"

# The EFSS roles, as Reva's conversions package maps them to ResourcePermissions.
_VIEWER = dict(
    get_path=True,
    get_quota=True,
    initiate_file_download=True,
    list_container=True,
    list_recycle=True,
    stat=True,
)
_EDITOR = _VIEWER | dict(
    create_container=True,
    delete=True,
    initiate_file_upload=True,
    move=True,
    restore_recycle_item=True,
)
ROLES = {"viewer": _VIEWER, "editor": _EDITOR}


def permissions_for(role: str) -> res.ResourcePermissions:
    return res.ResourcePermissions(**ROLES[role])


def role_of(permissions: res.ResourcePermissions) -> str:
    """'editor' when the permissions allow uploads, else 'viewer'."""
    return "editor" if permissions.initiate_file_upload else "viewer"


@dataclass(frozen=True)
class Invitation:
    token: str
    expires: int  # epoch seconds, 0 if none
    description: str


def received_path(share: ocm_res.ReceivedShare) -> str:
    """The CS3 path where the recipient's site mounts a received share."""
    return f"{RECEIVED_MOUNT}/{share.id.opaque_id}"


def received_permissions(share: ocm_res.ReceivedShare) -> res.ResourcePermissions:
    for protocol in share.protocols:
        if protocol.HasField("webdav_options"):
            return protocol.webdav_options.permissions.permissions
    return res.ResourcePermissions()


def share_permissions(share: ocm_res.Share) -> res.ResourcePermissions:
    for method in share.access_methods:
        if method.HasField("webdav_options"):
            return method.webdav_options.permissions
    return res.ResourcePermissions()


class OCM:
    """OCM calls of one signed-in user, over the process's one :class:`CS3Client`."""

    def __init__(self, client: CS3Client) -> None:
        self.client = client

    # --- invitations and contacts
    async def generate_invite(self, description: str = "") -> Invitation:
        request = invite_api.GenerateInviteTokenRequest(description=description)
        response = await self.client.call("GenerateInviteToken", request, "an invitation")
        token = response.invite_token
        return Invitation(token.token, int(token.expiration.seconds), token.description)

    async def provider(self, domain: str) -> provider_res.ProviderInfo:
        request = provider_api.GetInfoByDomainRequest(domain=domain)
        response = await self.client.call("GetInfoByDomain", request, f"the site {domain}")
        return response.provider_info

    async def providers(self) -> list[provider_res.ProviderInfo]:
        request = provider_api.ListAllProvidersRequest()
        return list((await self.client.call("ListAllProviders", request, "the sites")).providers)

    async def forward_invite(self, token: str, domain: str) -> invite_api.ForwardInviteResponse:
        """Accept an invitation made at the site ``domain`` (tell that site who accepted)."""
        request = invite_api.ForwardInviteRequest(
            invite_token=invite_res.InviteToken(token=token),
            origin_system_provider=await self.provider(domain),
        )
        return await self.client.call("ForwardInvite", request, f"the invitation from {domain}")

    async def contacts(self, query: str = "") -> list[user_res.User]:
        request = invite_api.FindAcceptedUsersRequest(filter=query)
        return list(
            (await self.client.call("FindAcceptedUsers", request, "your contacts")).accepted_users
        )

    # --- shares made by this user
    async def create_share(
        self, resource_id: res.ResourceId, grantee: user_res.UserId, role: str
    ) -> ocm_res.Share:
        request = ocm_api.CreateOCMShareRequest(
            resource_id=resource_id,
            grantee=res.Grantee(type=res.GRANTEE_TYPE_USER, user_id=grantee),
            recipient_mesh_provider=await self.provider(grantee.idp),
            access_methods=[
                ocm_res.AccessMethod(
                    webdav_options=ocm_res.WebDAVAccessMethod(permissions=permissions_for(role))
                )
            ],
        )
        return (await self.client.call("CreateOCMShare", request, "the federated share")).share

    async def shares(self) -> list[ocm_res.Share]:
        request = ocm_api.ListOCMSharesRequest()
        return list((await self.client.call("ListOCMShares", request, "your shares")).shares)

    async def remove_share(self, share_id: str) -> None:
        request = ocm_api.RemoveOCMShareRequest(
            ref=ocm_res.ShareReference(id=ocm_res.ShareId(opaque_id=share_id))
        )
        await self.client.call("RemoveOCMShare", request, f"the share {share_id}")

    # --- shares received from other sites
    async def received(self) -> list[ocm_res.ReceivedShare]:
        request = ocm_api.ListReceivedOCMSharesRequest()
        response = await self.client.call("ListReceivedOCMShares", request, "your received shares")
        return list(response.shares)

    async def get_received(self, share_id: str) -> ocm_res.ReceivedShare:
        request = ocm_api.GetReceivedOCMShareRequest(
            ref=ocm_res.ShareReference(id=ocm_res.ShareId(opaque_id=share_id))
        )
        what = f"the received share {share_id}"
        return (await self.client.call("GetReceivedOCMShare", request, what)).share

    async def set_received_state(self, share: ocm_res.ReceivedShare, state: int) -> None:
        share.state = state
        request = ocm_api.UpdateReceivedOCMShareRequest(
            share=share, update_mask=field_mask_pb2.FieldMask(paths=["state"])
        )
        await self.client.call("UpdateReceivedOCMShare", request, f"the share {share.name}")
