"""The SharingService: find people, share with users and groups, received shares, public
links, and the share state of listings.

One service per Jupyter server (its user). Paths are CS3 paths; JSON for the REST API comes
from :mod:`.model`. Errors are the CS3 exception family: unknown user or group 404, sharing
what you may not share 403, a share that exists 409, bad input 400.

Kinds of grantee are providers behind one API: ``user`` and ``group`` are both served by the
CS3 collaboration API of this site (:class:`LocalShares`); federated (OCM) shares are one
more provider that registers its grantee kinds with :meth:`SharingService.register` and gets
share ids of the form ``<provider>:<id>``. Knows nothing of tornado or Jupyter.
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import time
from collections.abc import Awaitable
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar

from cs3.storage.provider.v1beta1 import resources_pb2 as res

from ..contents_manager.mounts import Mount, MountTable, unique_names
from ..cs3.errors import CS3Error, InvalidArgument, NotFound, NotSupported, PermissionDenied
from ..cs3.files import CONTAINER, Files, ResourceInfo, mtime_seconds
from ..cs3.identity import Identity
from ..cs3.links import Links, list_existing_links
from ..cs3.shares import ACCEPTED, PENDING, REJECTED, Shares, by_resource, list_existing
from ..cs3.users import Users
from . import model, roles

log = logging.getLogger(__name__)
SHARE_STATE = "share state"  # its entry in the user's metadata cache
_STATE_NAMES = {"accepted": ACCEPTED, "declined": REJECTED, "pending": PENDING}


class ShareProvider(Protocol):
    """One kind of share (this site's user/group shares; OCM later)."""

    name: str
    grantee_kinds: tuple[str, ...]

    async def create(self, info: ResourceInfo, kind: str, grantee: str, role: str) -> dict: ...
    async def on_resource(self, info: ResourceInfo) -> list[dict]: ...
    async def mine(self) -> list[dict]: ...
    async def update_role(self, share_id: str, role: str) -> dict: ...
    async def remove(self, share_id: str) -> None: ...
    async def received(self) -> list[dict]: ...
    async def set_received_state(self, share_id: str, state: str) -> dict: ...


def parse_expiration(value: Any, now: float | None = None) -> float | None:
    """An ISO 8601 date or date-time (UTC unless it says otherwise) in the future, or None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidArgument("The expiry must be an ISO 8601 date such as 2030-01-31")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"{value!r} is not a date: use ISO 8601, e.g. 2030-01-31") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    seconds = when.timestamp()
    if seconds <= (now if now is not None else time.time()):
        raise InvalidArgument(f"The expiry {value} is in the past")
    return seconds


def _check_password(password: Any) -> str:
    if password is None:
        return ""
    if not isinstance(password, str) or not password.strip():
        raise InvalidArgument("The password is empty: give one, or leave the password out")
    return password


# The root folder of JupyterLab's file browser that shows accepted shares of this site when
# the site mounts them nowhere in the user's home.
RECEIVED_PLACE = "Shared with me"
RECEIVED_DESCRIPTION = "the files and folders people of your site share with you"


class LocalShares:
    """User and group shares of this site (CS3 collaboration API through the gateway)."""

    name = "local"
    grantee_kinds = ("user", "group")

    def __init__(self, service: SharingService) -> None:
        self.s = service
        self.shares = Shares(service.files.client)

    # -- JSON ------------------------------------------------------------------------------

    async def _grantee_json(self, grantee: res.Grantee) -> dict:
        if grantee.type == res.GRANTEE_TYPE_GROUP:
            try:
                g = await self.s.identity.get_group(grantee.group_id)
            except CS3Error:
                g = None
            return {"type": "group", **model.group(g, grantee.group_id)}
        user = await self.s.users.get(grantee.user_id)
        return {"type": "user", **model.person(user, grantee.user_id)}

    async def _share_json(self, share, info: ResourceInfo | None, cs3_path: str = "") -> dict:
        return {
            "id": f"{self.name}:{share.id.opaque_id}",
            "provider": self.name,
            "grantee": await self._grantee_json(share.grantee),
            **model.permissions(share.permissions.permissions),
            "resource": model.resource(self.s.home, info, cs3_path),
            "resource_id": model.resource_id(share.resource_id),
            "created": model.iso(share.ctime),
            "expiration": model.iso(share.expiration),
        }

    # -- shares I make ---------------------------------------------------------------------

    async def create(self, info: ResourceInfo, kind: str, grantee: str, role: str) -> dict:
        is_folder = info.type == CONTAINER
        try:
            perms = roles.permissions_for(role, is_folder, self.s.role_set)
        except roles.RoleError as err:
            raise InvalidArgument(str(err)) from None
        if kind == "group":
            g = await self.s.identity.group_by_name(grantee)
            target = res.Grantee(type=res.GRANTEE_TYPE_GROUP, group_id=g.id)
            label = f"The share of {info.path or 'this'} with group {grantee}"
        else:
            user = await self.s.find_user(grantee)
            me = await self.s.me()
            if (user.id.idp, user.id.opaque_id) == (me.id.idp, me.id.opaque_id):
                raise InvalidArgument("You cannot share with yourself")
            target = res.Grantee(type=res.GRANTEE_TYPE_USER, user_id=user.id)
            label = f"The share of {info.path or 'this'} with {user.username}"
        share = await self.shares.create(info, target, perms, label)
        return await self._share_json(share, info, info.path)

    async def on_resource(self, info: ResourceInfo) -> list[dict]:
        found = await self.shares.list([by_resource(info.id)], what=f"the shares of {info.path}")
        mine = [
            s for s in found if model.resource_key(s.resource_id) == model.resource_key(info.id)
        ]
        return list(await asyncio.gather(*(self._share_json(s, info, info.path) for s in mine)))

    async def mine(self) -> list[dict]:
        items, calls = await list_existing(self.shares)
        self.s.last_calls = calls
        return list(await asyncio.gather(*(self._share_json(i.share, i.info) for i in items)))

    async def update_role(self, share_id: str, role: str) -> dict:
        share = await self.shares.get(share_id)
        info = await self.s.stat_id(share.resource_id)
        is_folder = info.type == CONTAINER if info is not None else True
        try:
            perms = roles.permissions_for(role, is_folder, self.s.role_set)
        except roles.RoleError as err:
            raise InvalidArgument(str(err)) from None
        updated = await self.shares.update_permissions(share_id, perms)
        if not updated.id.opaque_id:  # some sites answer OK with an empty share
            updated = await self.shares.get(share_id)
        return await self._share_json(updated, info)

    async def remove(self, share_id: str) -> None:
        await self.shares.remove(share_id)

    # -- shares I received -----------------------------------------------------------------

    async def _received_json(self, received, info: ResourceInfo | None) -> dict:
        share = received.share
        owner = await self.s.users.get(share.owner) if share.owner.opaque_id else None
        mount = received.mount_point.path
        data = await self._share_json(share, info)
        data.pop("grantee")
        data["owner"] = model.person(owner, share.owner)
        data["state"] = model.STATES.get(received.state, "pending")
        data["mount_point"] = mount or None
        # Where it opens in JupyterLab: the site's share folder in the user's home, where the
        # site mounts accepted shares (Reva v2's sharesstorageprovider), else its own path
        # when that lies under the user's root.
        data["resource"]["path"] = (
            self.s.mounted_path(mount) or self._shown_at(received, info) or data["resource"]["path"]
        )
        return data

    async def received(self) -> list[dict]:
        items, calls = await list_existing(self.shares, received=True)
        self.s.last_calls = calls
        self._show(items)
        return list(await asyncio.gather(*(self._received_json(i.share, i.info) for i in items)))

    # -- the "Shared with me" place (sites without a share jail) --------------------------

    def _shown_at(self, received, info: ResourceInfo | None) -> str | None:
        """Where the "Shared with me" place shows an accepted share (None: it does not)."""
        if self.s.places is None or info is None or received.state != ACCEPTED:
            return None
        return self.s.places.api_path(info.path)

    @property
    def _place_shown(self) -> bool:
        """Whether the file browser has a "Shared with me" place (no share jail here)."""
        return self.s.places is not None and self.s.places.place(RECEIVED_PLACE) is not None

    def _show(self, items) -> None:
        if self._place_shown:
            self.s.places.update(RECEIVED_PLACE, self._mounts_of(items))

    async def mounts(self) -> list[Mount]:
        """Accepted received shares, where the site mounts them nowhere in the user's root:
        the entries of JupyterLab's "Shared with me" folder (one listing call on Reva v3)."""
        items, _ = await list_existing(self.shares, received=True)
        return self._mounts_of(items)

    def _mounts_of(self, items) -> list[Mount]:
        mounts = []
        for item in items:
            info, share = item.info, item.share.share
            if item.share.state != ACCEPTED or info is None or not info.path.startswith("/"):
                continue
            mounts.append(
                Mount(
                    name=posixpath.basename(info.path.rstrip("/")) or share.id.opaque_id,
                    cs3_path=info.path,
                    is_dir=info.type == CONTAINER,
                    writable=bool(share.permissions.permissions.initiate_file_upload),
                    mtime=mtime_seconds(info),
                    kind="share",
                    details={"owner": share.owner.opaque_id, "share_id": share.id.opaque_id},
                )
            )
        return unique_names(mounts, lambda m: m.details["owner"])

    async def set_received_state(self, share_id: str, state: str) -> dict:
        if state not in ("accepted", "declined"):
            raise InvalidArgument("'state' must be 'accepted' or 'declined'")
        received = await self.shares.get_received(share_id)
        info = await self.s.stat_id(received.share.resource_id)
        mount = ""
        # Only a site that mounts accepted shares (a share jail) takes a mount point; Reva
        # v3's share managers refuse to update one ("updating mount_point is not supported").
        if (
            state == "accepted"
            and self.s.share_folder
            and not received.mount_point.path
            and info is not None
        ):
            mount = info.path.rstrip("/").rsplit("/", 1)[-1] or share_id
        updated = await self.shares.set_received_state(received, _STATE_NAMES[state], mount)
        if not updated.share.id.opaque_id:
            updated = await self.shares.get_received(share_id)
        if self._place_shown:
            self._show((await list_existing(self.shares, received=True))[0])
        return await self._received_json(updated, info)


class SharingService:
    def __init__(
        self,
        files: Files,
        *,
        home: str,
        role_set: str = "reva-v3",
        public_link_base: str = "",
        share_folder: str = "",
        places: MountTable | None = None,
    ) -> None:
        if role_set not in roles.ROLE_SETS:
            raise ValueError(f"unknown role set {role_set!r}")
        self.files = files
        self.home = home.rstrip("/") or "/"
        self.role_set = role_set
        self.public_link_base = public_link_base
        self.share_folder = share_folder.strip("/")
        self.places = places  # the contents manager's mount table
        self.identity = Identity(files.client)
        self.users = Users(files.client)
        self.links = Links(files.client)
        self.providers: dict[str, ShareProvider] = {}
        self._kinds: dict[str, ShareProvider] = {}
        self._me = None
        self.last_calls = 0  # CS3 calls of the last list (for benchmarks and tests)
        self.local = LocalShares(self)
        self.register(self.local)
        if places is not None and not self.share_folder:
            # The site mounts accepted shares nowhere in the user's root (Reva v3's local
            # driver): JupyterLab's root shows them in a folder of their own.
            places.add_place(RECEIVED_PLACE, self.local.mounts, RECEIVED_DESCRIPTION)

    def register(self, provider: ShareProvider) -> None:
        """Add a kind of share (OCM registers its provider and grantee kinds here)."""
        self.providers[provider.name] = provider
        for kind in provider.grantee_kinds:
            self._kinds[kind] = provider

    def _provider_of(self, share_id: str) -> tuple[ShareProvider, str]:
        name, sep, opaque = share_id.partition(":")
        if not sep or name not in self.providers or not opaque:
            raise NotFound(f"No such share: {share_id}")
        return self.providers[name], opaque

    async def me(self):
        if self._me is None:
            self._me = await self.files.client.whoami()
        return self._me

    async def stat_id(self, rid: res.ResourceId) -> ResourceInfo | None:
        from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp

        try:
            request = sp.StatRequest(ref=res.Reference(resource_id=rid))
            return (await self.files.client.call("Stat", request, "a shared resource")).info
        except CS3Error:
            return None

    def mounted_path(self, mount: str) -> str | None:
        if not mount or not self.share_folder:
            return None
        if mount.startswith("/"):
            return model.api_path(self.home, mount)
        return f"{self.share_folder}/{mount.strip('/')}"

    # -- people ----------------------------------------------------------------------------

    async def find_users(self, query: str) -> list[dict]:
        query = query.strip()
        if not query:
            raise InvalidArgument("Say whom to look for: a name or an e-mail address")
        found = await self.identity.find_users(query)
        if not found:
            # Reva v2 reads FindUsers' query from a field that newer CS3 APIs replaced: ask
            # for the exact user name there.
            try:
                found = [await self.identity.user_by_name(query)]
            except (NotFound, InvalidArgument):
                found = []
        return [model.person(u) for u in found]

    async def find_user(self, username: str):
        return await self.identity.user_by_name(username)

    async def user(self, username: str) -> dict:
        return model.person(await self.identity.user_by_name(username))

    async def find_groups(self, query: str) -> list[dict]:
        query = query.strip()
        if not query:
            raise InvalidArgument("Say which group to look for")
        found = await self.identity.find_groups(query)
        if not found:
            try:
                found = [await self.identity.group_by_name(query)]
            except (NotFound, InvalidArgument):
                found = []
        return [model.group(g) for g in found]

    async def group(self, name: str) -> dict:
        return model.group(await self.identity.group_by_name(name))

    # -- shares ----------------------------------------------------------------------------

    async def _shareable(self, path: str) -> ResourceInfo:
        info = await self.files.stat(path)
        if info.HasField("permission_set") and not info.permission_set.add_grant:
            raise PermissionDenied(
                f"You may not share {path}: you can only share what you own or manage"
            )
        return info

    async def share(self, path: str, kind: str, grantee: str, role: str) -> dict:
        provider = self._kinds.get(kind)
        if provider is None:
            raise InvalidArgument(
                f"Unknown kind of grantee {kind!r}: use one of {', '.join(self._kinds)}"
            )
        if not grantee:
            raise InvalidArgument("Say whom to share with")
        info = await self._shareable(path)
        created = await provider.create(info, kind, grantee, role)
        return created

    async def access(self, path: str) -> dict:
        """Who has access to ``path`` through the user's shares and links."""
        info = await self.files.stat(path)
        results = await asyncio.gather(
            *(_unless_unsupported(p.on_resource(info)) for p in self.providers.values()),
            _unless_unsupported(self.links.list(info.id)),
        )
        found = results[-1]
        return {
            "resource": model.resource(self.home, info, path),
            "shares": [s for chunk in results[:-1] for s in chunk or []],
            "links": [self._link_json(link, info, path) for link in found or []],
            # False where the site has none of them (a site made for federation may not).
            "shares_available": any(chunk is not None for chunk in results[:-1]),
            "links_available": found is not None,
        }

    async def shared_by_me(self) -> dict:
        shares: list[dict] = []
        calls = 0
        for provider in self.providers.values():
            shares.extend(await provider.mine())
            calls += self.last_calls
        links, link_calls = await list_existing_links(self.links)
        self.last_calls = calls + link_calls
        return {"shares": shares, "links": [self._link_json(i.share, i.info) for i in links]}

    async def update_share(self, share_id: str, role: str) -> dict:
        provider, opaque = self._provider_of(share_id)
        updated = await provider.update_role(opaque, role)
        return updated

    async def revoke(self, share_id: str) -> None:
        provider, opaque = self._provider_of(share_id)
        await provider.remove(opaque)

    async def received(self) -> list[dict]:
        out: list[dict] = []
        calls = 0
        for provider in self.providers.values():
            out.extend(await provider.received())
            calls += self.last_calls
        self.last_calls = calls
        return out

    async def set_received_state(self, share_id: str, state: str) -> dict:
        provider, opaque = self._provider_of(share_id)
        return await provider.set_received_state(opaque, state)

    # -- public links ----------------------------------------------------------------------

    def link_url(self, token: str) -> str:
        return f"{self.public_link_base}{token}" if self.public_link_base else token

    def _link_json(self, link, info: ResourceInfo | None, cs3_path: str = "") -> dict:
        return {
            "id": link.id.opaque_id,
            "token": link.token,
            "url": self.link_url(link.token),
            **model.permissions(link.permissions.permissions),
            "password_protected": bool(link.password_protected),
            "expiration": model.iso(link.expiration) if link.HasField("expiration") else None,
            "name": link.description or link.display_name or None,
            "resource": model.resource(self.home, info, cs3_path),
            "resource_id": model.resource_id(link.resource_id),
            "created": model.iso(link.ctime),
        }

    def _link_permissions(self, role: str, info: ResourceInfo | None) -> res.ResourcePermissions:
        is_folder = info.type == CONTAINER if info is not None else True
        try:
            return roles.permissions_for(role, is_folder, self.role_set)
        except roles.RoleError as err:
            raise InvalidArgument(str(err)) from None

    async def create_link(
        self, path: str, role: str, password: Any = None, expiration: Any = None, name: str = ""
    ) -> dict:
        secret = _check_password(password)
        expires = parse_expiration(expiration)
        info = await self._shareable(path)
        perms = self._link_permissions(role, info)
        link = await self.links.create(
            info,
            perms,
            password=secret,
            expiration=expires,
            display_name=name,
            what=f"A public link on {path}",
        )
        return self._link_json(link, info, path)

    async def links_of(self, path: str) -> list[dict]:
        info = await self.files.stat(path)
        return [self._link_json(link, info, path) for link in await self.links.list(info.id)]

    async def update_link(self, link_id: str, changes: dict[str, Any]) -> dict:
        """Apply ``role``, ``password`` (a new one; None removes it), ``expiration`` (None:
        never) — only the keys present."""
        known = {"role", "password", "expiration"}
        if not changes or not set(changes) <= known:
            raise InvalidArgument("Change 'role', 'password' or 'expiration'")
        expires = parse_expiration(changes["expiration"]) if "expiration" in changes else None
        secret = None
        if "password" in changes and changes["password"] is not None:
            secret = _check_password(changes["password"])
        link = await self.links.get(link_id)
        if "role" in changes:
            info = await self.stat_id(link.resource_id)
            link = await self.links.set_permissions(
                link_id, self._link_permissions(changes["role"], info)
            )
        if "password" in changes:
            link = await self.links.set_password(link_id, secret or "")
        if "expiration" in changes:
            link = await self.links.set_expiration(link_id, expires)
        link = await self.links.get(link_id)
        info = await self.stat_id(link.resource_id)
        return self._link_json(link, info)

    async def delete_link(self, link_id: str) -> None:
        await self.links.remove(link_id)

    # -- share state in listings -----------------------------------------------------------

    async def listing_state(self, entries: list[ResourceInfo]) -> dict[tuple[str, str], dict]:
        """Share state of a folder's entries, keyed by resource: two CS3 calls (ListShares,
        ListPublicShares) whatever the number of entries, kept in the user's metadata cache
        (a share or link the user makes or removes drops it); {} when the site cannot say (a
        listing never fails for it), and that answer is kept as long."""
        if not entries:
            return {}
        cache = self.files.cache
        state = cache.value(SHARE_STATE)
        if state is None:
            since = cache.since()
            local = self.providers["local"]
            try:
                shares, links = await asyncio.gather(local.shares.list(), self.links.list())
            except CS3Error as err:
                # Kept as long: a site without shares (or one away) costs no calls per stat
                # or listing.
                log.debug("no share state for a listing: %s", err.detail or err.message)
                shares, links = [], []
            by_shares: dict = {}
            for s in shares:
                by_shares.setdefault(model.resource_key(s.resource_id), []).append(s)
            by_links: dict = {}
            for link in links:
                by_links.setdefault(model.resource_key(link.resource_id), []).append(link)
            state = (by_shares, by_links)
            size = sum(item.ByteSize() for item in (*shares, *links))
            cache.put_value(SHARE_STATE, state, size, since)
        by_shares, by_links = state
        out = {}
        for info in entries:
            key = model.resource_key(info.id)
            shares, links = by_shares.get(key, []), by_links.get(key, [])
            if shares or links:
                out[key] = {
                    "shared": True,
                    "users": sum(s.grantee.type == res.GRANTEE_TYPE_USER for s in shares),
                    "groups": sum(s.grantee.type == res.GRANTEE_TYPE_GROUP for s in shares),
                    "links": len(links),
                    "roles": sorted({roles.role_of(s.permissions.permissions) for s in shares}),
                }
        return out


T = TypeVar("T")


async def _unless_unsupported(call: Awaitable[T]) -> T | None:
    """What ``call`` gives; None where the site does not support it."""
    try:
        return await call
    except NotSupported:
        return None
