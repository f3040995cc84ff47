"""Who a CS3 user id is: display name, username and mail, looked up once per process."""

from __future__ import annotations

from cs3.identity.user.v1beta1 import resources_pb2 as user_res
from cs3.identity.user.v1beta1 import user_api_pb2 as user_api

from .client import CS3Client
from .errors import CS3Error, InvalidArgument, NotFound, PermissionDenied

UserId = user_res.UserId
User = user_res.User


class Users:
    """Look up users of the site by id (GetUser), with a per-process cache."""

    def __init__(self, client: CS3Client) -> None:
        self.client = client
        self._by_id: dict[tuple[str, str], User | None] = {}

    async def get(self, user_id: UserId) -> User | None:
        """The user, or None when the site does not know (or will not say) who it is."""
        key = (user_id.idp, user_id.opaque_id)
        if key not in self._by_id:
            request = user_api.GetUserRequest(user_id=user_id, skip_fetching_user_groups=True)
            try:
                response = await self.client.call("GetUser", request, "a user")
            except (NotFound, PermissionDenied, InvalidArgument):
                self._by_id[key] = None  # the site will not say: remember that
            except CS3Error:
                return None  # a passing failure: ask again next time
            else:
                self._by_id[key] = response.user
        return self._by_id[key]
