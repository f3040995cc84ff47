"""Isolation on a storage that isolates users (site N: Reva v2, a personal space per user):
alice's Jupyter server cannot read, list, copy, merge from, share, link, version or restore
bob's private file by any path it is handed: his CS3 path, `..` out of her root, encoded,
doubled or odd-unicode spellings of them, or his file's resource id. Every cs3lab handler and
the contents API are tried; bob's file must come through unchanged, unseen and unshared.
"""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import grpc
import pytest
from cs3.sharing.collaboration.v1beta1 import collaboration_api_pb2 as collab_api
from cs3.sharing.link.v1beta1 import link_api_pb2 as link_api
from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from helpers import api_error
from site_runner import sync_login, sync_upload
from test_session_and_auth import cs3lab_routes, implemented, route_parts
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.sites("site-n")

SENTINEL = f"bob-private-{uuid.uuid4().hex}"


@pytest.fixture
def bobs_file(site):
    """A file in bob's personal space, and its resource id."""
    path = f"{site.home('bob')}/private-{uuid.uuid4().hex[:8]}.ipynb"
    sync_upload(site, "bob", path, json.dumps({"secret": SENTINEL}).encode())
    channel, stub, metadata = sync_login(site, "bob")
    with channel:
        info = stub.Stat(sp.StatRequest(ref=res.Reference(path=path)), metadata=metadata).info
    return path, info.id


def spellings(site, path: str, resource_id) -> list[str]:
    """Ways to name bob's file from alice's root (her test folder in her home)."""
    name = path.rsplit("/", 1)[1]
    bob_space = site.home("bob").rsplit("/", 1)[1]
    up = "../" * 6
    return [
        path,
        path.lstrip("/"),
        f"{up}{path.lstrip('/')}",
        f"{up}users/{bob_space}/{name}",
        quote(f"{up}{path.lstrip('/')}", safe=""),
        f"..%2f..%2f..%2fusers%2f{bob_space}%2f{name}",
        f"{path}/.",
        f"//{path.lstrip('/')}",
        f"{up}users/{bob_space}/./{name}",
        f"\u2025/\u2025/users/{bob_space}/{name}",  # two-dot leader, not "..": a name
        f"..\u2215..\u2215users\u2215{bob_space}\u2215{name}",  # division slash
        f"{resource_id.storage_id}${resource_id.space_id}!{resource_id.opaque_id}",
        resource_id.opaque_id,
        f"{path}\x00.txt",
    ]


async def answer(jp_fetch, *parts, **kwargs) -> tuple[int, str]:
    try:
        response = await jp_fetch(*parts, allow_nonstandard_methods=True, **kwargs)
        return response.code, response.body.decode(errors="replace")
    except HTTPClientError as err:
        body = err.response.body.decode(errors="replace") if err.response else ""
        return err.code, body


async def test_alice_reaches_nothing_of_bobs_private_file(jp_fetch, jp_serverapp, site, bobs_file):
    path, resource_id = bobs_file
    tried = 0
    leaks = []
    for spelling in spellings(site, path, resource_id):
        # The contents API: read, copy from it, rename it, delete it, its checkpoints.
        code, message = await api_error(jp_fetch, "GET", spelling)
        tried += 1
        assert code in (400, 404), (spelling, code, message)
        attempts = [
            ("POST", ["api", "contents"], {"copy_from": spelling}),
            ("PATCH", ["api", "contents", *spelling.split("/")], {"path": "stolen.ipynb"}),
            ("GET", ["api", "contents", *spelling.split("/"), "checkpoints"], None),
        ]
        # Every cs3lab handler, with the spelling as each field and parameter a path goes in.
        for pattern, handler in cs3lab_routes(jp_serverapp.web_app).items():
            parts = route_parts(pattern, jp_serverapp.base_url, quote(spelling, safe=""))
            for method in implemented(handler):
                body = {
                    "path": spelling,
                    "copy": spelling,
                    "source": spelling,
                    "original": spelling,
                    "role": "editor",
                    "grantee": {"type": "user", "name": "alice"},
                }
                attempts.append((method, parts, None if method in ("GET", "DELETE") else body))
        for method, parts, body in attempts:
            kwargs = {"method": method}
            if body is not None:
                kwargs["body"] = json.dumps(body)
            if method in ("GET", "DELETE"):
                kwargs["params"] = {"path": spelling, "id": spelling, "copy": spelling}
            code, text = await answer(jp_fetch, *parts, **kwargs)
            tried += 1
            # A DELETE may answer 204 for nothing there (withdrawing a request nobody made):
            # what it changed is checked on bob's side below.
            if SENTINEL in text or (200 <= code < 300 and method not in ("GET", "DELETE")):
                leaks.append((method, "/".join(parts), spelling, code, text[:200]))
    assert leaks == [], "\n".join(map(str, leaks))
    assert tried > 300

    # Bob's file as it was, and nobody (no share, no link) given access to it.
    channel, stub, metadata = sync_login(site, "bob")
    with channel:
        ref = res.Reference(path=path)
        info = stub.Stat(sp.StatRequest(ref=ref), metadata=metadata).info
        assert info.size == len(json.dumps({"secret": SENTINEL}))
        shares = stub.ListShares(collab_api.ListSharesRequest(), metadata=metadata).shares
        try:
            request = link_api.ListPublicSharesRequest()
            links = list(stub.ListPublicShares(request, metadata=metadata).share)
        except grpc.RpcError as err:  # site N runs no public link service
            assert err.code() == grpc.StatusCode.UNIMPLEMENTED, err
            links = []
    assert [s for s in shares if s.resource_id.opaque_id == resource_id.opaque_id] == []
    assert [s for s in links if s.resource_id.opaque_id == resource_id.opaque_id] == []
