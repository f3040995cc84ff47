"""Share roles as CS3 ResourcePermissions, the way the EFSS defines them.

Copied from Reva's own role definitions, so that a share made in JupyterLab is the same
share the site's web UI makes (and shows under the same role):
- Reva v3 (CERNBox): ``pkg/permissions/role.go`` of v3.12.1 (NewViewerRole, NewEditorRole,
  NewFileEditorRole, NewUploaderRole).
- Reva v2 (ownCloud Infinite Scale): ``pkg/conversions/role.go`` of v2.27.7 (same names).
Both EFSS give a *file* the file-editor permissions when the role is "editor" (no
create_container/delete/move on a single file), and offer "uploader" only on folders.
"""

from __future__ import annotations

from cs3.storage.provider.v1beta1 import resources_pb2 as res

VIEWER, EDITOR, UPLOADER = "viewer", "editor", "uploader"
ROLES = (VIEWER, EDITOR, UPLOADER)
ROLE_SETS = ("reva-v3", "reva-v2")

_V3 = {
    (VIEWER, True): dict(
        get_path=True,
        initiate_file_download=True,
        list_container=True,
        list_file_versions=True,
        list_recycle=True,
        stat=True,
    ),
    (EDITOR, True): dict(
        get_path=True,
        initiate_file_download=True,
        list_container=True,
        list_file_versions=True,
        list_recycle=True,
        stat=True,
        initiate_file_upload=True,
        restore_file_version=True,
        restore_recycle_item=True,
        create_container=True,
        delete=True,
        move=True,
        purge_recycle=True,
    ),
    (EDITOR, False): dict(  # NewFileEditorRole
        get_path=True,
        initiate_file_download=True,
        list_container=True,
        list_file_versions=True,
        list_recycle=True,
        stat=True,
        initiate_file_upload=True,
        restore_file_version=True,
        restore_recycle_item=True,
    ),
    (UPLOADER, True): dict(
        stat=True, list_container=True, get_path=True, initiate_file_upload=True
    ),
}
_V3[(VIEWER, False)] = _V3[(VIEWER, True)]

_V2 = {
    (VIEWER, True): dict(
        get_path=True,
        get_quota=True,
        initiate_file_download=True,
        list_container=True,
        list_recycle=True,
        stat=True,
    ),
    (EDITOR, True): dict(
        create_container=True,
        delete=True,
        get_path=True,
        get_quota=True,
        initiate_file_download=True,
        initiate_file_upload=True,
        list_container=True,
        list_recycle=True,
        move=True,
        restore_recycle_item=True,
        stat=True,
    ),
    (EDITOR, False): dict(  # NewFileEditorRole
        get_path=True,
        get_quota=True,
        initiate_file_download=True,
        list_container=True,
        list_recycle=True,
        stat=True,
        initiate_file_upload=True,
        restore_recycle_item=True,
    ),
    (UPLOADER, True): dict(
        stat=True, get_path=True, create_container=True, initiate_file_upload=True
    ),
}
_V2[(VIEWER, False)] = _V2[(VIEWER, True)]

TABLES = {"reva-v3": _V3, "reva-v2": _V2}
_FIELDS = [f.name for f in res.ResourcePermissions.DESCRIPTOR.fields if f.type == f.TYPE_BOOL]


class RoleError(ValueError):
    """A role that does not exist, or does not apply to this kind of resource."""


def permissions_for(
    role: str, is_folder: bool, role_set: str = "reva-v3"
) -> res.ResourcePermissions:
    if role not in ROLES:
        raise RoleError(f"Unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == UPLOADER and not is_folder:
        raise RoleError("The uploader role is for folders only")
    return res.ResourcePermissions(**TABLES[role_set][(role, is_folder)])


def granted(perms: res.ResourcePermissions) -> list[str]:
    """The names of the permissions that are set (for the REST API)."""
    return [name for name in _FIELDS if getattr(perms, name)]


def role_of(perms: res.ResourcePermissions) -> str:
    """The role a permission set is: an exact match with either EFSS's definitions first,
    else by what it allows (a share made elsewhere with other bits); "custom" otherwise."""
    given = set(granted(perms))
    for table in TABLES.values():
        for (role, _), fields in table.items():
            if given == set(fields):
                return role
    if perms.initiate_file_upload and perms.initiate_file_download:
        return EDITOR
    if perms.initiate_file_upload:
        return UPLOADER
    if perms.initiate_file_download or perms.stat:
        return VIEWER
    return "custom"
