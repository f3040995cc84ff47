"""The demo's collaboration (scripts/demo_collaboration.py), set up as scripts/demo.py does it:
three users' Jupyter servers on site A, a shared folder, a notebook another user is editing,
and a copy ready to merge with both people's edits."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from servers import start_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import demo_collaboration as collab
from demo_files import seed_files
from site_runner import sync_mkdir, sync_upload


@pytest.fixture
def demo(site_a, tmp_path):
    """Alice's home seeded as the demo seeds it, in a folder of its own (the fixture's site is
    shared with other tests), and the three servers rooted at the users' homes."""
    root = f"{site_a.home('alice')}/demo-{tmp_path.name[-8:]}"
    sync_mkdir(site_a, "alice", root)
    sync_mkdir(site_a, "alice", f"{root}/analysis")
    for path, data in seed_files().items():
        sync_upload(site_a, "alice", f"{root}/{path}", data)
    servers = {
        user: start_server(site_a, user, home, tmp_path / user)
        for user, home in (
            ("alice", root),
            ("bob", site_a.home("bob")),
            ("carol", site_a.home("carol")),
        )
    }
    yield servers
    for server in servers.values():
        server.stop()


def test_the_demo_sets_up_a_share_a_lock_and_a_copy_ready_to_merge(demo):
    alice, bob, carol = demo["alice"], demo["bob"], demo["carol"]
    together = collab.set_up(alice, bob, carol)
    try:
        # The shared folder, as bob's file browser shows it.
        status, folder = bob.request("GET", f"api/contents/{quote(together.bobs_folder)}")
        assert status == 200, folder
        assert {e["name"] for e in folder["content"]} >= {collab.LOCKED, collab.COPIED}

        # Carol is editing the summary: alice and bob see her lock.
        for server, path in (
            (alice, f"{collab.SHARED}/{collab.LOCKED}"),
            (bob, f"{together.bobs_folder}/{collab.LOCKED}"),
        ):
            state = collab.lock_seen_by(server, path)
            assert state["locked"] is True and state["mine"] is False, state
            assert state["lock"]["holder"]["username"] == "carol"

        # Bob's copy merges back cleanly, with alice's edit and his.
        preview = collab.merge_preview(bob, together.bobs_copy)
        assert preview["status"] == "clean", preview
        merged = preview["merged"] if "merged" in preview else preview
        text = str(merged)
        assert collab.ALICES_EDIT in text and "ridge thermometer was replaced" in text
    finally:
        together.heartbeat.set()
