"""Places beside the home in JupyterLab's root: the project spaces (``Spaces``, CS3
ListStorageSpaces) and the quota of the storage a path is in (GetQuota).

Site N (Reva v2, decomposedfs) has a project space ``common`` every user can write; site A
(Reva v3, local driver) has none, so it shows no ``Spaces`` folder. The quota test runs on
site_nq (tests/conftest.py): site N with a quota of 1 MB on each personal space.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from urllib.parse import quote

import pytest
from conftest import QUOTA_BYTES
from servers import start_server
from site_runner import sync_upload


def contents(path: str) -> str:
    return f"api/contents/{quote(path)}"


def text(content: str) -> dict:
    return {"type": "file", "format": "text", "content": content}


@pytest.fixture(scope="module")
def alice_n(site_n, tmp_path_factory):
    """Alice's JupyterLab on site N, rooted at her home (places shown, as by default)."""
    server = start_server(site_n, "alice", site_n.home("alice"), tmp_path_factory.mktemp("n"))
    yield server
    server.stop()


def test_project_spaces_are_a_folder_of_the_root(alice_n, site_n):
    status, root = alice_n.request("GET", "api/contents")
    assert status == 200, root
    (spaces,) = [e for e in root["content"] if e["name"] == "Spaces"]
    assert spaces["type"] == "directory" and spaces["writable"] is False
    assert spaces["place"] == "the project spaces you can reach"

    status, listed = alice_n.request("GET", contents("Spaces"))
    assert status == 200, listed
    (common,) = [e for e in listed["content"] if e["name"] == "common"]
    assert common["path"] == "Spaces/common" and common["mount"]["kind"] == "space"

    # Files in the space open and save like files of the home, at the space's own path.
    name = f"notes-{uuid.uuid4().hex[:6]}.txt"
    status, saved = alice_n.request("PUT", contents(f"Spaces/common/{name}"), text("in space"))
    assert status == 201, saved
    assert saved["path"] == f"Spaces/common/{name}"
    status, listed = alice_n.request("GET", contents("Spaces/common"))
    assert name in [e["name"] for e in listed["content"]]
    status, model = alice_n.request("GET", contents(f"Spaces/common/{name}"))
    assert status == 200 and model["content"] == "in space"
    # Locks work there too (native, in the space's storage).
    status, state = alice_n.request(
        "POST", "cs3lab/api/locks", {"path": f"Spaces/common/{name}", "client": "t"}
    )
    assert status == 200 and state["this_session"], state
    status, _ = alice_n.request(
        "DELETE", f"cs3lab/api/locks?path={quote(f'Spaces/common/{name}')}&client=t"
    )
    assert status == 204
    status, _ = alice_n.request("DELETE", contents(f"Spaces/common/{name}"))
    assert status == 204


def test_places_refuse_what_would_change_them(alice_n):
    status, body = alice_n.request("PUT", contents("Spaces/new.txt"), text("x"))
    assert status == 403 and "project spaces" in body["message"], body
    status, body = alice_n.request("PUT", contents("Spaces/newdir"), {"type": "directory"})
    assert status == 403, body
    status, body = alice_n.request("DELETE", contents("Spaces/common"))
    assert status == 403 and "Cannot delete common" in body["message"], body
    status, body = alice_n.request("DELETE", contents("Spaces"))
    assert status == 403, body
    status, body = alice_n.request("PATCH", contents("Spaces/common"), {"path": "mine"})
    assert status == 403, body
    status, body = alice_n.request("GET", contents("Spaces/no-such-space"))
    assert status == 404, body
    status, body = alice_n.request("GET", contents("Spaces/common/../../etc"))
    assert status in (400, 404), body


def test_a_site_without_project_spaces_shows_no_spaces_folder(site_a, tmp_path):
    server = start_server(site_a, "alice", site_a.home("alice"), tmp_path / "a")
    try:
        status, root = server.request("GET", "api/contents")
        assert status == 200
        assert "Spaces" not in [e["name"] for e in root["content"]]
    finally:
        server.stop()


# -- quota ------------------------------------------------------------------------------


async def test_the_v3_sites_disk_is_not_shown_as_a_quota(site, contents, jp_fetch):
    """Reva v3's local driver answers GetQuota with statfs of its storage root: the disk's
    size and use, for every user alike. cs3lab (storage_reports_quota off for the site, as
    site_runner and the compose file set it) says "no quota reported" instead."""
    disk = os.statvfs(site.storage_root)
    answered = await contents.files.quota(contents.home)
    assert answered.total == disk.f_blocks * disk.f_bsize  # the disk, not a quota
    response = await jp_fetch("cs3lab", "api", "quota", params={"path": ""})
    assert json.loads(response.body) == {
        "path": "",
        "reported": False,
        "total": None,
        "used": None,
        "remaining": None,
    }


@pytest.fixture(scope="module")
def bob_q(site_nq, tmp_path_factory):
    server = start_server(site_nq, "bob", site_nq.home("bob"), tmp_path_factory.mktemp("q"))
    yield server
    server.stop()


def test_quota_is_reported_and_a_save_past_it_is_refused_before_writing(bob_q, site_nq):
    status, quota = bob_q.request("GET", "cs3lab/api/quota")
    assert status == 200, quota
    assert quota["reported"] is True
    assert quota["total"] == QUOTA_BYTES and quota["remaining"] <= QUOTA_BYTES

    sync_upload(site_nq, "bob", f"{site_nq.home('bob')}/big.bin", b"x" * 600_000)
    status, quota = bob_q.request("GET", "cs3lab/api/quota")
    assert quota["used"] >= 600_000 and quota["remaining"] <= 400_000, quota

    payload = base64.b64encode(b"y" * 500_000).decode()
    model = {"type": "file", "format": "base64", "content": payload}
    status, body = bob_q.request("PUT", contents("more.bin"), model)
    assert status == 507, body
    assert "does not fit" in body["message"] and "Nothing was written" in body["message"]
    status, _ = bob_q.request("GET", contents("more.bin"))
    assert status == 404  # nothing half-written

    # JupyterLab's chunked upload stops at the chunk that outgrows the quota.
    chunk = base64.b64encode(b"z" * 300_000).decode()
    for n, expected in ((1, 201), (2, 507)):
        status, body = bob_q.request(
            "PUT", contents("chunked.bin"), {**model, "content": chunk, "chunk": n}
        )
        assert status == expected, (n, body)
    assert "does not fit" in body["message"]
    status, _ = bob_q.request("GET", contents("chunked.bin"))
    assert status == 404

    # What fits is saved.
    status, saved = bob_q.request("PUT", contents("small.txt"), text("fits"))
    assert status == 201, saved
