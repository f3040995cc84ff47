"""Received shares in JupyterLab's file browser, through the ordinary /api/contents.

Site N (Reva v2) runs Reva's sharesstorageprovider (the "share jail",
tools/sites/revad-ocis-shares.toml): the shares a user has accepted are folders and files of
their personal space at /users/<user id>/Shares/<mount point>, so the recipient's JupyterLab,
rooted at their home, lists them in "Shares" and opens and saves them with the ordinary
contents API; cs3lab needs no code of its own for it. The storage of the sharer
(decomposedfs) enforces the share: the viewer's save is refused (403), nothing written."""

from __future__ import annotations

import json
import uuid

import pytest
from helpers import api
from servers import start_server
from site_runner import sync_mkdir, sync_upload

pytestmark = pytest.mark.sites("site-n")

SHARES = "Shares"  # where the site mounts accepted shares in the user's home (share_folder)


def notebook(text: str) -> dict:
    return {
        "cells": [{"cell_type": "markdown", "id": "c1", "metadata": {}, "source": text}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


async def share(jp_fetch, path: str, role: str) -> dict:
    body = {"path": path, "grantee": {"name": "bob"}, "role": role}
    response = await jp_fetch("cs3lab", "api", "shares", method="POST", body=json.dumps(body))
    assert response.code == 201
    return json.loads(response.body)


def accept(server, share_id: str) -> dict:
    status, body = server.request(
        "PATCH", f"cs3lab/api/shares/received/{share_id}", {"state": "accepted"}
    )
    assert status == 200, body
    return body


def listing(server, path: str) -> dict[str, dict]:
    status, body = server.request("GET", f"api/contents/{path}?content=1")
    assert status == 200, body
    return {entry["name"]: entry for entry in body["content"]}


async def test_accepted_shares_are_browsable_openable_and_saveable(jp_fetch, site, home, tmp_path):
    tag = uuid.uuid4().hex[:6]
    folder, nb = f"data-{tag}", f"analysis-{tag}.ipynb"
    sync_mkdir(site, "alice", f"{home}/{folder}")
    sync_upload(site, "alice", f"{home}/{folder}/notes.txt", b"original")
    await api(
        jp_fetch, "PUT", nb, {"type": "notebook", "format": "json", "content": notebook("v1")}
    )
    viewer = await share(jp_fetch, folder, "viewer")
    editor = await share(jp_fetch, nb, "editor")

    server = start_server(site, "bob", site.home("bob"), tmp_path / "bob")
    try:
        # Pending shares are not mounted yet.
        status, top = server.request("GET", "api/contents?content=1")
        assert status == 200, top
        if any(e["name"] == SHARES for e in top["content"]):
            assert folder not in listing(server, SHARES)

        for made in (viewer, editor):
            accepted = accept(server, made["id"])
            assert accepted["state"] == "accepted"

        # Bob's home lists the share folder; in it, the accepted shares.
        status, top = server.request("GET", "api/contents?content=1")
        assert status == 200, top
        assert SHARES in {e["name"] for e in top["content"]}
        shared = listing(server, SHARES)
        assert shared[folder]["type"] == "directory"
        assert shared[nb]["type"] == "notebook"
        assert shared[folder]["path"] == f"{SHARES}/{folder}"
        # The viewer's folder is read-only, the editor's notebook writable (the storage's
        # permission set).
        assert shared[folder]["writable"] is False
        assert shared[nb]["writable"] is True

        # Into the shared folder: its file lists and opens.
        inside = listing(server, f"{SHARES}/{folder}")
        assert set(inside) == {"notes.txt"}
        assert inside["notes.txt"]["writable"] is False
        status, notes = server.request("GET", f"api/contents/{SHARES}/{folder}/notes.txt")
        assert status == 200, notes
        assert notes["content"] == "original"

        # The viewer's save is refused by the storage, nothing written.
        status, body = server.request(
            "PUT",
            f"api/contents/{SHARES}/{folder}/notes.txt",
            {"type": "file", "format": "text", "content": "bob was here"},
        )
        assert status == 403, body
        status, body = server.request(
            "PUT",
            f"api/contents/{SHARES}/{folder}/new.txt",
            {"type": "file", "format": "text", "content": "new"},
        )
        assert status == 403, body
        got = await api(jp_fetch, "GET", f"{folder}/notes.txt")
        assert got["content"] == "original"
        assert {e["name"] for e in (await api(jp_fetch, "GET", folder))["content"]} == {"notes.txt"}

        # The editor opens the notebook and saves it; the change is at alice's.
        status, opened = server.request("GET", f"api/contents/{SHARES}/{nb}")
        assert status == 200, opened
        assert opened["type"] == "notebook"
        assert opened["content"]["cells"][0]["source"] == "v1"
        status, saved = server.request(
            "PUT",
            f"api/contents/{SHARES}/{nb}",
            {"type": "notebook", "format": "json", "content": notebook("v2 by bob")},
        )
        assert status == 200, saved
        at_alice = await api(jp_fetch, "GET", nb)
        assert at_alice["content"]["cells"][0]["source"] == "v2 by bob"

        # Revoked: gone from bob's listing.
        for made in (viewer, editor):
            response = await jp_fetch("cs3lab", "api", "shares", made["id"], method="DELETE")
            assert response.code in (200, 204)
        status, top = server.request("GET", "api/contents?content=1")
        assert status == 200, top
        if any(e["name"] == SHARES for e in top["content"]):
            assert not {folder, nb} & set(listing(server, SHARES))
        status, _ = server.request("GET", f"api/contents/{SHARES}/{nb}")
        assert status == 404
    finally:
        server.stop()
