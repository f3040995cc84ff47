"""The ``Spaces`` place: the project spaces a user can reach, beside their home.

One ListStorageSpaces call (type ``project``) lists them; a site that has no project spaces
(Reva v3's local driver lists only the personal one) shows no ``Spaces`` folder.
"""

from __future__ import annotations

import logging

from ..cs3.files import Files, space_path
from .mounts import Mount, unique_names

log = logging.getLogger(__name__)

DESCRIPTION = "the project spaces you can reach"


async def project_spaces(files: Files) -> list[Mount]:
    mounts = []
    for space in await files.spaces("project"):
        path = space_path(space)
        if not path:
            log.debug("Project space %r has no path: not shown", space.name)
            continue
        mtime = space.mtime.seconds + space.mtime.nanos / 1e9 if space.HasField("mtime") else 0.0
        name = space.name or path.rstrip("/").rsplit("/", 1)[-1]
        mounts.append(
            Mount(
                name=name.replace("/", "_"),
                cs3_path=path,
                is_dir=True,
                # The space's own permissions decide each write; the listing shows it open.
                writable=True,
                mtime=mtime,
                kind="space",
                details={"space_id": space.id.opaque_id},
            )
        )
    return unique_names(mounts, lambda m: m.details["space_id"][:8])
