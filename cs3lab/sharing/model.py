"""JSON shapes of shares, received shares and links for the REST API (no secrets in them:
a link says ``password_protected``, never the password)."""

from __future__ import annotations

import posixpath
from datetime import datetime, timezone
from typing import Any

from cs3.storage.provider.v1beta1 import resources_pb2 as res

from . import roles

STATES = {1: "pending", 2: "accepted", 3: "declined"}


def iso(ts) -> str | None:
    if ts is None or not ts.seconds:
        return None
    return datetime.fromtimestamp(ts.seconds, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def resource_id(rid: res.ResourceId) -> dict[str, str]:
    return {"storage_id": rid.storage_id, "space_id": rid.space_id, "opaque_id": rid.opaque_id}


def resource_key(rid: res.ResourceId) -> tuple[str, str]:
    """What identifies a resource across calls (space_id is not always filled in)."""
    return rid.storage_id, rid.opaque_id


def api_path(home: str, cs3_path: str) -> str | None:
    """The JupyterLab path of a CS3 path, or None when it is outside the user's root (or the
    site gave a path relative to a space, as Reva v2 does)."""
    if not cs3_path.startswith("/"):
        return None
    home = home.rstrip("/")
    if cs3_path == home:
        return ""
    if home and not cs3_path.startswith(home + "/"):
        return None
    return cs3_path[len(home) + 1 :] if home else cs3_path.lstrip("/")


def person(user: Any | None, fallback_id: Any = None) -> dict[str, Any]:
    if user is None:
        uid = fallback_id
        return {
            "username": "",
            "display_name": uid.opaque_id if uid is not None else "",
            "mail": "",
            "id": {"idp": uid.idp, "opaque_id": uid.opaque_id} if uid is not None else None,
        }
    return {
        "username": user.username,
        "display_name": user.display_name or user.username,
        "mail": user.mail,
        "id": {"idp": user.id.idp, "opaque_id": user.id.opaque_id},
    }


def group(g: Any | None, fallback_id: Any = None) -> dict[str, Any]:
    if g is None:
        return {
            "name": fallback_id.opaque_id if fallback_id is not None else "",
            "display_name": fallback_id.opaque_id if fallback_id is not None else "",
            "mail": "",
            "id": {"idp": fallback_id.idp, "opaque_id": fallback_id.opaque_id}
            if fallback_id is not None
            else None,
        }
    return {
        "name": g.group_name,
        "display_name": g.display_name or g.group_name,
        "mail": g.mail,
        "id": {"idp": g.id.idp, "opaque_id": g.id.opaque_id},
    }


def resource(home: str, info: res.ResourceInfo | None, cs3_path: str = "") -> dict[str, Any]:
    path = cs3_path or (info.path if info is not None else "")
    return {
        "path": api_path(home, path) if path else None,
        "cs3_path": path or None,
        "name": posixpath.basename(path.rstrip("/")) if path else None,
        "type": (
            ("directory" if info.type == res.RESOURCE_TYPE_CONTAINER else "file")
            if info is not None
            else None
        ),
    }


def permissions(perms: res.ResourcePermissions) -> dict[str, Any]:
    return {"role": roles.role_of(perms), "permissions": roles.granted(perms)}
