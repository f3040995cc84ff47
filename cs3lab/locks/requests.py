"""Edit requests ("Request edit") kept in the storage beside the file, so that they reach the
holder whichever Jupyter server or site the holder works on.

A request is a hidden folder ``.cs3lab-request.<name>.<username>`` whose arbitrary metadata
(``cs3lab.request``) says who asks, since when, and the holder's answer (granted / declined).
A granted request reserves the lock for the requester for a short while, so that nobody else
snatches it between the holder's release and the requester's acquire.

Anyone who may write the folder can write such a folder, so a request is data to check: the
requester is the username in the folder's name (a request whose record names someone else is
not this file's request; the storages do not record who made a folder: Reva v3's local driver
reports the reader as every entry's owner, decomposedfs the space's owner), every field must be
what cs3lab writes (else the request is ignored and reported), and a reservation lasts at most
``RESERVATION_SECONDS`` after the answer. Whether the answer came from the holder is for the
LockService to check against the lock's own record.
"""

from __future__ import annotations

import json
import posixpath
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..cs3.errors import AlreadyExists, InvalidArgument, NotFound
from ..cs3.files import Files, ResourceInfo
from .markers import Malformed, holder, load_record, number, past_time, report
from .model import CLOCK_SKEW_SECONDS, EditRequest, StaleMarker, valid_username

PREFIX = ".cs3lab-request."
METADATA_KEY = "cs3lab.request"
RESERVATION_SECONDS = 60
STATES = ("pending", "granted", "declined")


def request_name(name: str, username: str) -> str:
    """The request folder of ``username`` for the file ``name``; InvalidArgument (400) for a
    username that could not be one part of a path."""
    if not valid_username(username):
        raise InvalidArgument(f"'{username}' is not a username cs3lab can keep a request for")
    return f"{PREFIX}{name}.{username}"


@dataclass
class RequestReading:
    """The requests for one file (oldest first) and the request folders cs3lab ignores."""

    requests: list[EditRequest] = field(default_factory=list)
    stale: list[StaleMarker] = field(default_factory=list)


def parse_request(raw: str, username: str, now: float) -> EditRequest | None:
    """The request in a record of the folder named for ``username``; None when the record is
    another user's (a request for another file whose name extends this one's); Malformed when
    it is not a record cs3lab writes. A reservation is capped to ``RESERVATION_SECONDS`` after
    the answer."""
    data = load_record(raw)
    requester = holder(data.get("requester"), "requester")
    if requester.username != username:
        return None
    at = past_time(data, "at", now)
    state = data.get("state", "pending")
    if state not in STATES:
        raise Malformed("'state' is not pending, granted or declined")
    request = EditRequest(requester, at, state)
    if state == "pending":
        return request
    request.answered_by = holder(data.get("answered_by"), "answered_by")
    request.answered_at = past_time(data, "answered_at", now)
    if request.answered_at + CLOCK_SKEW_SECONDS < at:
        raise Malformed("'answered_at' is before 'at'")
    if state == "granted":
        until = number(data, "reserved_until")
        request.reserved_until = min(until, request.answered_at + RESERVATION_SECONDS)
    return request


def read_requests(
    entries: Iterable[ResourceInfo], name: str, now: float | None = None
) -> RequestReading:
    """The edit requests for file ``name`` in a listing of its folder, oldest first."""
    now = time.time() if now is None else now
    prefix = f"{PREFIX}{name}."
    reading = RequestReading()
    for entry in entries:
        marker = posixpath.basename(entry.path.rstrip("/"))
        if not marker.startswith(prefix):
            continue
        raw = entry.arbitrary_metadata.metadata.get(METADATA_KEY)
        username = marker[len(prefix) :]
        if not raw:
            continue  # being written, or another file's
        try:
            if not valid_username(username):
                raise Malformed("its name holds no valid username")
            request = parse_request(raw, username, now)
        except Malformed as err:
            report(entry.path or marker, str(err))
            reading.stale.append(StaleMarker(marker, f"malformed: {err}"))
            continue
        if request is not None:
            reading.requests.append(request)
    reading.requests.sort(key=lambda r: r.at)
    return reading


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

    async def remove_marker(self, path: str, marker: str) -> None:
        """Remove a request folder beside ``path`` by its name (a stale one being cleared)."""
        if not marker.startswith(PREFIX) or "/" in marker:
            raise InvalidArgument(f"{marker} is not a request marker")
        try:
            await self.files.delete(posixpath.join(posixpath.dirname(path), marker))
        except NotFound:
            pass
