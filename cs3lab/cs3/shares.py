"""User and group shares (the CS3 collaboration API) through the gateway: CreateShare,
GetShare, ListShares, UpdateShare, RemoveShare, ListReceivedShares, UpdateReceivedShare.

Results are the protobuf messages (``Share``, ``ReceivedShare``). Reva's v3 gateway reports
some share-manager refusals as plain gRPC errors, not CS3 statuses; :func:`_reclassify`
gives those their place in the exception family.
"""

from __future__ import annotations

from cs3.sharing.collaboration.v1beta1 import collaboration_api_pb2 as collab_api
from cs3.sharing.collaboration.v1beta1 import resources_pb2 as collab_res
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from google.protobuf import field_mask_pb2

from .client import CS3Client
from .errors import AlreadyExists, CS3Error, NotFound, PermissionDenied, ServerError

Share = collab_res.Share
ReceivedShare = collab_res.ReceivedShare
PENDING = collab_res.SHARE_STATE_PENDING
ACCEPTED = collab_res.SHARE_STATE_ACCEPTED
REJECTED = collab_res.SHARE_STATE_REJECTED
Filter = collab_res.Filter


def _reclassify(err: CS3Error, what: str) -> CS3Error:
    """Reva's v3 gateway wraps share-manager failures as gRPC UNKNOWN ("ShareClient returned
    error: CODE_ALREADY_EXISTS: ..."): map the code named in the text."""
    if not isinstance(err, ServerError):
        return err
    text = err.detail.lower()
    if "already_exists" in text or "already exists" in text:
        return AlreadyExists(f"{what} already exists", detail=err.detail)
    if "not_found" in text or "not found" in text:
        return NotFound(f"No such share: {what}", detail=err.detail)
    if "permission_denied" in text or "permission denied" in text:
        return PermissionDenied(f"You do not have permission for {what}", detail=err.detail)
    return err


def by_resource(resource_id: res.ResourceId) -> Filter:
    return Filter(type=Filter.TYPE_RESOURCE_ID, resource_id=resource_id)


def share_ref(share_id: str) -> collab_res.ShareReference:
    return collab_res.ShareReference(id=collab_res.ShareId(opaque_id=share_id))


class Shares:
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
        grantee: res.Grantee,
        permissions: res.ResourcePermissions,
        what: str,
    ) -> Share:
        request = collab_api.CreateShareRequest(
            resource_info=info,
            grant=collab_res.ShareGrant(
                grantee=grantee, permissions=collab_res.SharePermissions(permissions=permissions)
            ),
        )
        return (await self._call("CreateShare", request, what)).share

    async def get(self, share_id: str) -> Share:
        request = collab_api.GetShareRequest(ref=share_ref(share_id))
        return (await self._call("GetShare", request, f"share {share_id}")).share

    async def list(self, filters: list[Filter] = (), what: str = "your shares") -> list[Share]:
        """Shares the signed-in user made (owns or created), narrowed by ``filters``; all
        pages (one call while the site answers in one page)."""
        shares: list[Share] = []
        token = ""
        while True:
            request = collab_api.ListSharesRequest(filters=list(filters), page_token=token)
            response = await self._call("ListShares", request, what)
            shares.extend(response.shares)
            token = response.next_page_token
            if not token:
                return shares

    async def update_permissions(
        self, share_id: str, permissions: res.ResourcePermissions
    ) -> Share:
        perms = collab_res.SharePermissions(permissions=permissions)
        request = collab_api.UpdateShareRequest(
            ref=share_ref(share_id),
            field=collab_api.UpdateShareRequest.UpdateField(permissions=perms),
            # Reva v2 reads share + update_mask, v3 reads field: send both.
            share=collab_res.Share(id=collab_res.ShareId(opaque_id=share_id), permissions=perms),
            update_mask=field_mask_pb2.FieldMask(paths=["permissions"]),
        )
        return (await self._call("UpdateShare", request, f"share {share_id}")).share

    async def remove(self, share_id: str) -> None:
        request = collab_api.RemoveShareRequest(ref=share_ref(share_id))
        await self._call("RemoveShare", request, f"share {share_id}")

    async def list_received(self, filters: list[Filter] = ()) -> list[ReceivedShare]:
        received: list[ReceivedShare] = []
        token = ""
        while True:
            request = collab_api.ListReceivedSharesRequest(filters=list(filters), page_token=token)
            response = await self._call("ListReceivedShares", request, "shares with you")
            received.extend(response.shares)
            token = response.next_page_token
            if not token:
                return received

    async def get_received(self, share_id: str) -> ReceivedShare:
        request = collab_api.GetReceivedShareRequest(ref=share_ref(share_id))
        return (await self._call("GetReceivedShare", request, f"share {share_id}")).share

    async def set_received_state(
        self, received: ReceivedShare, state: int, mount_point: str = ""
    ) -> ReceivedShare:
        """Accept (ACCEPTED, mounted at ``mount_point`` where the site mounts shares) or
        decline (REJECTED) a share made with the signed-in user."""
        updated = ReceivedShare()
        updated.CopyFrom(received)
        updated.state = state
        paths = ["state"]
        if mount_point:
            updated.mount_point.CopyFrom(res.Reference(path=mount_point))
            paths.append("mount_point")
        request = collab_api.UpdateReceivedShareRequest(
            share=updated, update_mask=field_mask_pb2.FieldMask(paths=paths)
        )
        what = f"share {received.share.id.opaque_id}"
        return (await self._call("UpdateReceivedShare", request, what)).share


class ShareWithInfo:
    """A share and the resource it is on (``info`` None when the site did not say)."""

    __slots__ = ("info", "share")

    def __init__(self, share, info: res.ResourceInfo | None) -> None:
        self.share = share
        self.info = info


async def _with_infos(client: CS3Client, items, resource_id_of) -> list[ShareWithInfo]:
    """Stat each share's resource by id (the fallback where the gateway has no
    ListExisting* call: one Stat per share, concurrently)."""
    import asyncio

    from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp

    async def one(item) -> ShareWithInfo:
        request = sp.StatRequest(ref=res.Reference(resource_id=resource_id_of(item)))
        try:
            info = (await client.call("Stat", request, "a shared resource")).info
        except CS3Error:
            info = None
        return ShareWithInfo(item, info)

    return list(await asyncio.gather(*(one(i) for i in items)))


async def list_existing(
    shares: Shares, filters: list[Filter] = (), received: bool = False
) -> tuple[list[ShareWithInfo], int]:
    """Shares (or received shares) with their resources: one ListExistingShares /
    ListExistingReceivedShares call per page where the gateway has it (Reva v3), else the
    plain list and one Stat per share (Reva v2 answers the ListExisting calls with
    UNIMPLEMENTED). Returns the items and the number of CS3 calls made."""
    from .errors import NotSupported

    method = "ListExistingReceivedShares" if received else "ListExistingShares"
    make = collab_api.ListReceivedSharesRequest if received else collab_api.ListSharesRequest
    items: list[ShareWithInfo] = []
    calls, token = 0, ""
    try:
        while True:
            request = make(filters=list(filters), page_token=token)
            calls += 1
            response = await shares._call(method, request, "shares")
            for entry in response.share_infos:
                share = entry.received_share if received else entry.share
                items.append(
                    ShareWithInfo(
                        share, entry.resource_info if entry.HasField("resource_info") else None
                    )
                )
            token = response.next_page_token
            if not token:
                return items, calls
    except (NotSupported, ServerError):
        pass
    plain = await (shares.list_received(filters) if received else shares.list(filters))
    resource_of = (lambda r: r.share.resource_id) if received else (lambda s: s.resource_id)
    return await _with_infos(shares.client, plain, resource_of), calls + 1 + len(plain)
