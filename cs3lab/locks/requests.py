"""Edit requests ("Request edit") kept in the storage beside the file, so that they reach the
holder whichever Jupyter server or site the holder works on.

A request is a hidden folder ``.cs3lab-request.<name>.<username>`` whose arbitrary metadata
(``cs3lab.request``) says who asks, since when, and the holder's answer (granted / declined).
A granted request reserves the lock for the requester for a short while, so that nobody else
snatches it between the holder's release and the requester's acquire.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable

from ..cs3.errors import AlreadyExists, NotFound
from ..cs3.files import Files, ResourceInfo
from .model import EditRequest, Holder

PREFIX = ".cs3lab-request."
METADATA_KEY = "cs3lab.request"


def request_name(name: str, username: str) -> str:
    return f"{PREFIX}{name}.{username}"


def _decode(raw: str) -> EditRequest | None:
    try:
        data = json.loads(raw)
        answered_by = data.get("answered_by")
        return EditRequest(
            requester=Holder(**data["requester"]),
            at=data["at"],
            state=data.get("state", "pending"),
            answered_by=Holder(**answered_by) if answered_by else None,
            answered_at=data.get("answered_at"),
            reserved_until=data.get("reserved_until"),
        )
    except (ValueError, TypeError, KeyError):
        return None


def _encode(request: EditRequest) -> str:
    return json.dumps(
        {
            "requester": request.requester.to_json(),
            "at": request.at,
            "state": request.state,
            "answered_by": request.answered_by.to_json() if request.answered_by else None,
            "answered_at": request.answered_at,
            "reserved_until": request.reserved_until,
        }
    )


def requests_in(entries: Iterable[ResourceInfo], name: str) -> list[EditRequest]:
    """The edit requests for file ``name`` in a listing of its folder, oldest first."""
    prefix = f"{PREFIX}{name}."
    found = []
    for entry in entries:
        if posixpath.basename(entry.path.rstrip("/")).startswith(prefix):
            raw = entry.arbitrary_metadata.metadata.get(METADATA_KEY)
            request = _decode(raw) if raw else None
            if request is not None:
                found.append(request)
    return sorted(found, key=lambda r: r.at)


class EditRequests:
    def __init__(self, files: Files) -> None:
        self.files = files

    def _path(self, path: str, username: str) -> str:
        parent, name = posixpath.split(path)
        return posixpath.join(parent, request_name(name, username))

    async def write(self, path: str, request: EditRequest) -> None:
        marker = self._path(path, request.requester.username)
        try:
            await self.files.mkdir(marker)
        except AlreadyExists:
            pass  # asking again: the answer below replaces the old one
        await self.files.set_metadata(marker, {METADATA_KEY: _encode(request)})

    async def remove(self, path: str, username: str) -> None:
        try:
            await self.files.delete(self._path(path, username))
        except NotFound:
            pass
