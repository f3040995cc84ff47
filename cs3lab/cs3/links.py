"""Public links (the CS3 link API) through the gateway: CreatePublicShare, GetPublicShare,
ListPublicShares, UpdatePublicShare, RemovePublicShare. Passwords go to the site and are
never returned (a link says only ``password_protected``)."""

from __future__ import annotations

from cs3.sharing.link.v1beta1 import link_api_pb2 as link_api
from cs3.sharing.link.v1beta1 import resources_pb2 as link_res
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from cs3.types.v1beta1 import types_pb2

from .client import CS3Client
from .errors import CS3Error, NotFound, ServerError
from .shares import _reclassify

PublicShare = link_res.PublicShare
Update = link_api.UpdatePublicShareRequest.Update


def _grant(
    permissions: res.ResourcePermissions | None, password: str, expiration: float | None
) -> link_res.Grant:
    grant = link_res.Grant(password=password)
    if permissions is not None:
        grant.permissions.CopyFrom(link_res.PublicSharePermissions(permissions=permissions))
    if expiration is not None:
        grant.expiration.CopyFrom(types_pb2.Timestamp(seconds=int(expiration)))
    return grant


def link_ref(link_id: str) -> link_res.PublicShareReference:
    return link_res.PublicShareReference(id=link_res.PublicShareId(opaque_id=link_id))


class Links:
    def __init__(self, client: CS3Client) -> None:
        self.client = client

    async def _call(self, method: str, request, what: str):
        try:
            return await self.client.call(method, request, what)
        except CS3Error as err:
            raise _reclassify(err, what) from None

    async def create(
        self,
        info: res.ResourceInfo,
        permissions: res.ResourcePermissions,
        *,
        password: str = "",
        expiration: float | None = None,
        display_name: str = "",
        what: str,
    ) -> PublicShare:
        request = link_api.CreatePublicShareRequest(
            resource_info=info,
            grant=_grant(permissions, password, expiration),
            description=display_name,
        )
        return (await self._call("CreatePublicShare", request, what)).share

    async def get(self, link_id: str) -> PublicShare:
        request = link_api.GetPublicShareRequest(ref=link_ref(link_id))
        return (await self._call("GetPublicShare", request, f"link {link_id}")).share

    async def list(self, resource_id: res.ResourceId | None = None) -> list[PublicShare]:
        """The signed-in user's links (on one resource when ``resource_id`` is given)."""
        filters = []
        if resource_id is not None:
            filters.append(
                link_api.ListPublicSharesRequest.Filter(
                    type=link_api.ListPublicSharesRequest.Filter.TYPE_RESOURCE_ID,
                    resource_id=resource_id,
                )
            )
        links: list[PublicShare] = []
        token = ""
        while True:
            request = link_api.ListPublicSharesRequest(filters=filters, page_token=token)
            response = await self._call("ListPublicShares", request, "your public links")
            links.extend(response.share)
            token = response.next_page_token
            if not token:
                return links

    async def update(self, link_id: str, update: Update) -> PublicShare:
        request = link_api.UpdatePublicShareRequest(ref=link_ref(link_id), update=update)
        return (await self._call("UpdatePublicShare", request, f"link {link_id}")).share

    async def set_permissions(self, link_id: str, permissions: res.ResourcePermissions):
        return await self.update(
            link_id, Update(type=Update.TYPE_PERMISSIONS, grant=_grant(permissions, "", None))
        )

    async def set_password(self, link_id: str, password: str):
        return await self.update(
            link_id, Update(type=Update.TYPE_PASSWORD, grant=_grant(None, password, None))
        )

    async def set_expiration(self, link_id: str, expiration: float | None):
        # No expiry: an empty timestamp (seconds 0), which Reva reads as "never".
        grant = _grant(None, "", expiration if expiration is not None else 0)
        return await self.update(link_id, Update(type=Update.TYPE_EXPIRATION, grant=grant))

    async def remove(self, link_id: str) -> None:
        request = link_api.RemovePublicShareRequest(ref=link_ref(link_id))
        try:
            await self._call("RemovePublicShare", request, f"link {link_id}")
        except ServerError:
            # Reva v3 answers an unknown link with CODE_INTERNAL ("error deleting public
            # share"): a link that is not there is a 404, not a server failure.
            try:
                await self.get(link_id)
            except NotFound:
                raise NotFound(f"No such link: {link_id}") from None
            raise


async def list_existing_links(links: Links) -> tuple[list, int]:
    """The user's links with their resources (ShareWithInfo): one ListExistingPublicShares
    call per page where the gateway has it (Reva v3), else ListPublicShares + one Stat per
    link. Returns the items and the number of CS3 calls made."""
    from .errors import NotSupported
    from .shares import ShareWithInfo, _with_infos

    items, calls, token = [], 0, ""
    try:
        while True:
            request = link_api.ListPublicSharesRequest(page_token=token)
            calls += 1
            response = await links._call("ListExistingPublicShares", request, "your links")
            for entry in response.share_infos:
                info = entry.resource_info if entry.HasField("resource_info") else None
                items.append(ShareWithInfo(entry.public_share, info))
            token = response.next_page_token
            if not token:
                return items, calls
    except (NotSupported, ServerError):
        pass
    plain = await links.list()
    return await _with_infos(links.client, plain, lambda s: s.resource_id), calls + 1 + len(plain)
