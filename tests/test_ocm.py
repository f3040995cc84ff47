"""Federated sharing (OCM) between two sites, through cs3lab's REST API on both sides.

Two Reva v2 sites on loopback (tools/sites/site-fa.json, site-fb.json: three revad processes
each, started together by site_runner.start_federation so that each knows the other's OCM
address), each with its own Jupyter server: alice at site-fa, carol at site-fb. Alice invites
carol, carol accepts, alice shares, carol receives, accepts, finds it in her file browser's
"Federated shares" folder, opens it and saves back with JupyterLab's own contents API
(editor) or is refused (viewer), alice revokes and the share is gone at carol's site. Locks:
a lock alice's site holds is honoured when carol saves from her site (423), carol's side takes
no lock (501, saying why), and a save based on an old version is refused (409) whoever
changed the file.
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import quote

import pytest
import site_runner
from servers import start_server

NB = {
    "type": "notebook",
    "format": "json",
    "content": {
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# from site-fa"}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    },
}


@pytest.fixture(scope="module")
def federation():
    started = time.monotonic()
    fa, fb = site_runner.start_federation(["site-fa.json", "site-fb.json"])
    print(f"two OCM sites ready in {time.monotonic() - started:.1f}s")
    yield fa, fb
    fa.stop()
    fb.stop()


@pytest.fixture(scope="module")
def alice(federation, tmp_path_factory):
    fa, _ = federation
    server = start_server(
        fa,
        "alice",
        fa.home("alice"),
        tmp_path_factory.mktemp("alice-fa"),
        extra=[f"--CS3OCM.domain={fa.domain}"],
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def carol(federation, tmp_path_factory):
    _, fb = federation
    server = start_server(
        fb,
        "carol",
        fb.home("carol"),
        tmp_path_factory.mktemp("carol-fb"),
        extra=[f"--CS3OCM.domain={fb.domain}"],
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def contacts(federation, alice, carol):
    """Alice invites carol; carol accepts at her site. Returns (carol's contact id at
    alice's site, alice's contact id at carol's site)."""
    fa, fb = federation
    status, made = alice.request("POST", "cs3lab/api/ocm/invitations", {"description": "carol"})
    assert status == 201, made
    assert made["invitation"] == f"{made['token']}@{fa.domain}"
    status, contact = carol.request(
        "POST", "cs3lab/api/ocm/invitations/accept", {"invitation": made["invitation"]}
    )
    assert status == 200, contact
    assert contact["display_name"] == "Alice Anders" and contact["site"] == fa.domain
    status, listed = alice.request("GET", "cs3lab/api/ocm/contacts")
    assert status == 200
    (carol_at_fa,) = [c for c in listed if c["display_name"] == "Carol Chen"]
    assert carol_at_fa["site"] == fb.domain and carol_at_fa["mail"] == "carol@site-fb.cs3lab.test"
    # The same invitation once more: already accepted.
    status, body = carol.request(
        "POST", "cs3lab/api/ocm/invitations/accept", {"invitation": made["invitation"]}
    )
    assert status == 409 and "already" in body["message"], body
    return carol_at_fa["id"], contact["id"]


def _name(stem: str, ext: str = "ipynb") -> str:
    return f"{stem}-{uuid.uuid4().hex[:6]}.{ext}"


PLACE = "Federated shares"  # the root folder where JupyterLab shows accepted received shares


def contents(path: str) -> str:
    return f"api/contents/{quote(path)}"


def _share(alice, carol, contact: str, path: str, role: str) -> tuple[dict, dict]:
    """Alice shares ``path``; carol finds it pending and accepts it. Returns (the share at
    alice's site, the received share at carol's)."""
    status, share = alice.request(
        "POST", "cs3lab/api/ocm/shares", {"path": path, "contact": contact, "role": role}
    )
    assert status == 201, share
    assert share["role"] == role and share["name"] == path.rsplit("/", 1)[-1]
    status, received = carol.request("GET", "cs3lab/api/ocm/received")
    assert status == 200
    (mine,) = [r for r in received if r["name"] == share["name"]]
    assert mine["state"] == "pending" and mine["role"] == role, mine
    assert mine["cs3_path"] == f"/ocm/{mine['id']}" and mine["path"] is None
    status, body = carol.request("GET", contents(f"{PLACE}/{share['name']}"))
    assert status == 404, body  # pending: not in the file browser yet
    status, accepted = carol.request(
        "PATCH", f"cs3lab/api/ocm/received/{mine['id']}", {"state": "accepted"}
    )
    assert status == 200 and accepted["state"] == "accepted", accepted
    assert accepted["path"] == f"{PLACE}/{share['name']}", accepted
    return share, accepted


def _edited(nb: dict, line: str) -> dict:
    cells = [*nb["cells"], {"cell_type": "markdown", "metadata": {}, "source": line}]
    return {"type": "notebook", "format": "json", "content": {**nb, "cells": cells}}


def test_invitation_errors(contacts, carol, federation):
    fa, _ = federation
    status, body = carol.request(
        "POST", "cs3lab/api/ocm/invitations/accept", {"invitation": f"no-such-token@{fa.domain}"}
    )
    assert status == 404 and "unknown or has expired" in body["message"], body
    status, body = carol.request(
        "POST", "cs3lab/api/ocm/invitations/accept", {"invitation": "tok@nowhere.invalid"}
    )
    assert status == 404 and "nowhere.invalid" in body["message"], body
    status, body = carol.request("POST", "cs3lab/api/ocm/invitations/accept", {})
    assert status == 400, body
    status, body = carol.request("POST", "cs3lab/api/ocm/invitations/accept", {"invitation": "x"})
    assert status == 400, body  # a token without a site


def test_share_with_unknown_contact_or_role_is_refused(contacts, alice):
    carol_id, _ = contacts
    name = _name("nobody")
    assert alice.request("PUT", f"api/contents/{name}", NB)[0] == 201
    status, body = alice.request(
        "POST", "cs3lab/api/ocm/shares", {"path": name, "contact": "x@nowhere", "role": "viewer"}
    )
    assert status == 404 and "federated contacts" in body["message"], body
    status, body = alice.request(
        "POST", "cs3lab/api/ocm/shares", {"path": name, "contact": carol_id, "role": "owner"}
    )
    assert status == 400, body
    # These sites have neither shares between their own users nor public links: the share
    # dialog's access answer says so (it was a 501, and the dialog showed only an error).
    status, access = alice.request("GET", f"cs3lab/api/shares?path={quote(name)}")
    assert status == 200, access
    assert access["links_available"] is False and access["shares_available"] is False, access
    assert access["links"] == [] and access["shares"] == [], access


def test_editor_share_open_save_back_stale_save_revoke(contacts, alice, carol):
    carol_id, alice_id = contacts
    name = _name("edit")
    assert alice.request("PUT", f"api/contents/{name}", NB)[0] == 201
    share, received = _share(alice, carol, carol_id, name, "editor")
    assert received["owner"] == alice_id
    assert received["owner_name"] == "Alice Anders"  # from carol's contact of alice
    status, listed = alice.request("GET", "cs3lab/api/ocm/shares")
    assert any(s["id"] == share["id"] and s["with"] == carol_id for s in listed)
    assert share["with_name"] == "Carol Chen"  # from alice's contact of carol

    # The root of carol's file browser shows the place; the place lists the share.
    status, root = carol.request("GET", "api/contents")
    (place,) = [e for e in root["content"] if e["name"] == PLACE]
    assert place["type"] == "directory" and place["writable"] is False, place
    status, listed = carol.request("GET", contents(PLACE))
    assert status == 200, listed
    (entry,) = [e for e in listed["content"] if e["name"] == name]
    assert entry["type"] == "notebook" and entry["writable"] is True
    assert entry["mount"] == {
        "kind": "ocm",
        "owner": alice_id,
        "site": alice_id.split("@")[1],
        "role": "editor",
    }

    # Carol opens it in JupyterLab at her site and saves a change back.
    path = received["path"]
    status, opened = carol.request("GET", contents(path))
    assert status == 200 and opened["writable"] is True, opened
    assert opened["type"] == "notebook" and opened["content"]["cells"][0]["source"] == (
        "# from site-fa"
    )
    new = _edited(opened["content"], "carol was here")
    status, saved = carol.request("PUT", contents(path), {**new, "etag": opened["etag"]})
    assert status == 200, saved
    assert saved["etag"] != opened["etag"]
    status, model = alice.request("GET", f"api/contents/{name}")
    assert [c["source"] for c in model["content"]["cells"]][-1] == "carol was here"

    # Alice changes it at her site: carol's save based on her old copy is refused.
    status, _ = alice.request("PUT", f"api/contents/{name}", _edited(new["content"], "alice again"))
    assert status == 200
    status, body = carol.request("PUT", contents(path), {**new, "etag": saved["etag"]})
    assert status == 409 and "changed" in body["message"], body
    status, model = alice.request("GET", f"api/contents/{name}")
    assert model["content"]["cells"][-1]["source"] == "alice again"

    # Checkpoints: the owner's site keeps the versions, which carol's site cannot list: the
    # one checkpoint is the file as stored there now (JupyterLab makes one when it opens a
    # file and after each save: neither fails); reverting to it reloads the stored file.
    # Her own home's checkpoints are still CS3 versions (probed per storage, not per server).
    status, listed = carol.request("GET", f"{contents(path)}/checkpoints")
    assert status == 200 and [c["id"] for c in listed] == ["stored"], listed
    status, made = carol.request("POST", f"{contents(path)}/checkpoints")
    assert status == 201 and made["id"] == "stored", made
    status, _ = carol.request("POST", f"{contents(path)}/checkpoints/stored")
    assert status == 204
    status, model = alice.request("GET", f"api/contents/{name}")
    assert model["content"]["cells"][-1]["source"] == "alice again"  # nothing written
    status, body = carol.request("POST", f"{contents(path)}/checkpoints/other")
    assert status == 404, body
    assert (
        carol.request(
            "PUT", contents("own.txt"), {"type": "file", "content": "a", "format": "text"}
        )[0]
        == 201
    )
    status, made = carol.request("POST", f"{contents('own.txt')}/checkpoints")
    assert status == 201 and made["id"] != "checkpoint", made  # a version, not a copy

    # No lock is taken on a federated file from carol's side (the owner's site would keep
    # it): 501 with the reason, and the etag check above is what protects her saves.
    status, body = carol.request("POST", "cs3lab/api/locks", {"path": path, "client": "tab-c"})
    assert status == 501 and "another site" in body["message"], body
    assert body["message"].startswith(f"{name} is shared with you"), body  # not the share id
    # Nor can she delete or rename the share as if it were her file.
    status, body = carol.request("DELETE", contents(path))
    assert status == 403, body
    status, body = carol.request("PATCH", contents(path), {"path": "mine.ipynb"})
    assert status == 403, body
    status, body = carol.request(
        "PUT", contents(f"{PLACE}/new.txt"), {"type": "file", "format": "text", "content": "x"}
    )
    assert status == 403, body

    # Alice revokes it: gone at carol's site.
    status, _ = alice.request("DELETE", f"cs3lab/api/ocm/shares/{share['id']}")
    assert status == 204
    status, received_now = carol.request("GET", "cs3lab/api/ocm/received")
    assert status == 200 and received["id"] not in [r["id"] for r in received_now]
    status, body = carol.request("GET", contents(path))
    assert status == 404, body
    status, body = alice.request("DELETE", f"cs3lab/api/ocm/shares/{share['id']}")
    assert status == 404, body


def test_viewer_share_opens_read_only_and_refuses_saves(contacts, alice, carol):
    carol_id, _ = contacts
    name = _name("view")
    assert alice.request("PUT", f"api/contents/{name}", NB)[0] == 201
    _, received = _share(alice, carol, carol_id, name, "viewer")
    status, opened = carol.request("GET", contents(received["path"]))
    assert status == 200 and opened["writable"] is False, opened
    status, body = carol.request(
        "PUT",
        contents(received["path"]),
        {**_edited(opened["content"], "no"), "etag": opened["etag"]},
    )
    assert status == 403 and "read-only" in body["message"], body
    status, model = alice.request("GET", f"api/contents/{name}")
    assert len(model["content"]["cells"]) == 1


def test_declined_share_cannot_be_opened(contacts, alice, carol):
    carol_id, _ = contacts
    name = _name("declined", "txt")
    assert (
        alice.request(
            "PUT", f"api/contents/{name}", {"type": "file", "format": "text", "content": "hi"}
        )[0]
        == 201
    )
    status, _ = alice.request(
        "POST", "cs3lab/api/ocm/shares", {"path": name, "contact": carol_id, "role": "editor"}
    )
    assert status == 201
    (mine,) = [r for r in carol.request("GET", "cs3lab/api/ocm/received")[1] if r["name"] == name]
    status, declined = carol.request(
        "PATCH", f"cs3lab/api/ocm/received/{mine['id']}", {"state": "declined"}
    )
    assert status == 200 and declined["state"] == "declined" and declined["path"] is None
    status, body = carol.request("GET", contents(f"{PLACE}/{name}"))
    assert status == 404, body
    status, body = carol.request(
        "PATCH", f"cs3lab/api/ocm/received/{mine['id']}", {"state": "maybe"}
    )
    assert status == 400, body


def test_folder_share_lists_and_takes_new_files(contacts, alice, carol):
    carol_id, _ = contacts
    folder = _name("project", "d")
    assert alice.request("PUT", f"api/contents/{folder}", {"type": "directory"})[0] == 201
    assert alice.request("PUT", f"api/contents/{folder}/a.ipynb", NB)[0] == 201
    _, received = _share(alice, carol, carol_id, folder, "editor")
    assert received["type"] == "directory"
    path = received["path"]
    status, listing = carol.request("GET", contents(path))
    assert status == 200 and listing["type"] == "directory", listing
    assert [e["name"] for e in listing["content"]] == ["a.ipynb"]
    assert listing["content"][0]["path"] == f"{path}/a.ipynb"
    status, opened = carol.request("GET", contents(f"{path}/a.ipynb"))
    assert status == 200 and opened["type"] == "notebook"
    status, saved = carol.request(
        "PUT",
        contents(f"{path}/from-carol.txt"),
        {"type": "file", "format": "text", "content": "hello A"},
    )
    assert status == 201, saved
    status, model = alice.request("GET", f"api/contents/{folder}/from-carol.txt")
    assert status == 200 and model["content"] == "hello A"
    status, body = carol.request("GET", f"api/contents/{quote(path)}/..%2F..%2Fescape")
    assert status in (400, 404), body


def test_lock_at_the_owners_site_refuses_the_federated_save(contacts, alice, carol):
    """Alice opens the notebook (cs3lab takes a native lock in her site's storage); carol's
    save from her site reaches alice's storage without the lock id and is refused (423),
    nothing written; once alice closes it, carol's save goes through."""
    carol_id, _ = contacts
    name = _name("locked")
    assert alice.request("PUT", f"api/contents/{name}", NB)[0] == 201
    _, received = _share(alice, carol, carol_id, name, "editor")
    path = received["path"]
    status, opened = carol.request("GET", contents(path))
    assert status == 200

    status, state = alice.request("POST", "cs3lab/api/locks", {"path": name, "client": "tab-a"})
    assert status == 200 and state["this_session"], state
    edited = {**_edited(opened["content"], "carol while locked"), "etag": opened["etag"]}
    status, body = carol.request("PUT", contents(path), edited)
    assert status == 423 and "locked" in body["message"], body
    status, model = alice.request("GET", f"api/contents/{name}")
    assert len(model["content"]["cells"]) == 1  # nothing written

    status, _ = alice.request("DELETE", f"cs3lab/api/locks?path={name}&client=tab-a")
    assert status == 204
    status, saved = carol.request("PUT", contents(path), edited)
    assert status == 200, saved
    status, model = alice.request("GET", f"api/contents/{name}")
    assert model["content"]["cells"][-1]["source"] == "carol while locked"


def test_copy_of_a_federated_notebook_merges_back_without_a_lock(contacts, alice, carol):
    """Carol makes a copy of alice's notebook in her own home, changes it, and merges it
    back: no lock is taken at alice's site (cs3lab takes none there), the write goes through
    the etag check, and alice sees carol's cell."""
    carol_id, _ = contacts
    name = _name("merge")
    assert alice.request("PUT", f"api/contents/{name}", NB)[0] == 201
    _, received = _share(alice, carol, carol_id, name, "editor")
    status, made = carol.request("POST", "cs3lab/api/copies", {"path": received["path"]})
    assert status == 201, made
    assert not made["path"].startswith(PLACE), made  # the copy is in carol's home
    status, copy = carol.request("GET", contents(made["path"]))
    assert status == 200 and copy["type"] == "notebook", (made, copy)
    edited = _edited(copy["content"], "merged from carol")
    assert carol.request("PUT", contents(made["path"]), edited)[0] == 200
    status, result = carol.request("POST", "cs3lab/api/merge", {"copy": made["path"]})
    assert status == 200 and result["status"] == "merged" and result["written"], result
    status, model = alice.request("GET", f"api/contents/{name}")
    assert model["content"]["cells"][-1]["source"] == "merged from carol"
    status, state = alice.request("GET", f"cs3lab/api/locks?path={name}")
    assert status == 200 and state["lock"] is None, state  # nothing left locked
