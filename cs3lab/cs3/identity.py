"""Users and groups of the site: find by name or mail, look up one by id or name.

All through the gateway (FindUsers, FindGroups, GetUser, GetUserByClaim, GetGroup,
GetGroupByClaim) on the one :class:`CS3Client`.
"""

from __future__ import annotations

from cs3.identity.group.v1beta1 import group_api_pb2 as group_api
from cs3.identity.group.v1beta1 import resources_pb2 as group_res
from cs3.identity.user.v1beta1 import resources_pb2 as user_res
from cs3.identity.user.v1beta1 import user_api_pb2 as user_api

from .client import CS3Client
from .errors import InvalidArgument, NotFound

User = user_res.User
UserId = user_res.UserId
Group = group_res.Group
GroupId = group_res.GroupId


class Identity:
    def __init__(self, client: CS3Client) -> None:
        self.client = client

    async def find_users(self, query: str) -> list[User]:
        """Users whose username, display name or mail matches ``query`` (the site decides
        how: Reva's json provider matches substrings)."""
        request = user_api.FindUsersRequest(
            filters=[user_api.Filter(type=user_api.Filter.TYPE_QUERY, query=query)],
            skip_fetching_user_groups=True,
        )
        try:
            response = await self.client.call("FindUsers", request, f"users matching {query!r}")
        except NotFound:
            return []
        return list(response.users)

    async def find_groups(self, query: str) -> list[Group]:
        request = group_api.FindGroupsRequest(
            filters=[group_api.Filter(type=group_api.Filter.TYPE_QUERY, query=query)],
            skip_fetching_members=True,
        )
        try:
            response = await self.client.call("FindGroups", request, f"groups matching {query!r}")
        except NotFound:
            return []
        return list(response.groups)

    async def get_user(self, user_id: UserId) -> User:
        request = user_api.GetUserRequest(user_id=user_id, skip_fetching_user_groups=True)
        return (await self.client.call("GetUser", request, f"user {user_id.opaque_id}")).user

    async def user_by_name(self, username: str) -> User:
        """The user called ``username``; :class:`NotFound` when the site has none."""
        if not username:
            raise InvalidArgument("A user name is needed")
        request = user_api.GetUserByClaimRequest(
            claim="username", value=username, skip_fetching_user_groups=True
        )
        try:
            response = await self.client.call("GetUserByClaim", request, f"user {username}")
        except (NotFound, InvalidArgument):
            raise NotFound(f"No user {username!r} on this site") from None
        if not response.user.id.opaque_id:
            raise NotFound(f"No user {username!r} on this site")
        return response.user

    async def get_group(self, group_id: GroupId) -> Group:
        request = group_api.GetGroupRequest(group_id=group_id, skip_fetching_members=True)
        return (await self.client.call("GetGroup", request, f"group {group_id.opaque_id}")).group

    async def group_by_name(self, name: str) -> Group:
        """The group called ``name``; :class:`NotFound` when the site has none."""
        if not name:
            raise InvalidArgument("A group name is needed")
        request = group_api.GetGroupByClaimRequest(
            claim="group_name", value=name, skip_fetching_members=True
        )
        try:
            response = await self.client.call("GetGroupByClaim", request, f"group {name}")
        except (NotFound, InvalidArgument):
            raise NotFound(f"No group {name!r} on this site") from None
        if not response.group.id.opaque_id:
            raise NotFound(f"No group {name!r} on this site")
        return response.group
