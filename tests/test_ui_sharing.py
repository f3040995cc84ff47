"""The browser test of sharing: alice and bob on two Jupyter servers (site A), two browser
contexts. ui-tests/sharing.mjs drives alice's "Share…" dialog (find Bob by typing, share as
viewer, a public link with a password, copied), bob's "Shared with me" panel (the share from
Alice Anders; accept), alice's "Shared by me" and the share badge; screenshots
tests/artifacts/ui/sharing-*.png. This wrapper then checks the share and the link through REST.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from servers import start_server
from site_runner import sync_mkdir, sync_upload

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "ui-tests" / "sharing.mjs"
SHOTS = REPO / "tests" / "artifacts" / "ui"
RUN_SECONDS = 300
PASSWORD = "link-pw-42"

pytestmark = pytest.mark.ui


@pytest.fixture
def two_labs(site, tmp_path):
    """alice's and bob's `jupyter lab`, each rooted at their own CS3 home; a folder of alice's."""
    if not shutil.which("node") or not (REPO / "ui-tests" / "node_modules").is_dir():
        pytest.fail("ui-tests/node_modules is missing: run `npm ci --prefix ui-tests`")
    folder = f"ui-share-{uuid.uuid4().hex[:8]}"
    sync_mkdir(site, "alice", f"{site.home('alice')}/{folder}")
    sync_upload(site, "alice", f"{site.home('alice')}/{folder}/notes.txt", b"shared notes")
    extra = [
        f"--CS3Sharing.public_link_base=http://127.0.0.1:{site.http_port}/s/",
        "--CS3Sharing.role_set=" + ("reva-v2" if site.reva == "v2" else "reva-v3"),
    ]
    labs = {}
    try:
        for user in ("alice", "bob"):
            labs[user] = start_server(
                site, user, site.home(user), tmp_path / user, app="lab", extra=extra
            )
        yield labs, folder
    finally:
        for lab in labs.values():
            lab.stop()


def test_share_dialog_link_and_shared_with_me(two_labs):
    labs, folder = two_labs
    alice, bob = labs["alice"], labs["bob"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("sharing-*.png"):
        old.unlink()
    env = {
        **os.environ,
        "CS3LAB_ALICE_URL": f"{alice.base}/lab",
        "CS3LAB_ALICE_TOKEN": alice.token,
        "CS3LAB_BOB_URL": f"{bob.base}/lab",
        "CS3LAB_BOB_TOKEN": bob.token,
        "CS3LAB_FOLDER": folder,
        "CS3LAB_PASSWORD": PASSWORD,
        "CS3LAB_SCREENSHOT_DIR": str(SHOTS),
    }
    run = subprocess.run(
        ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=RUN_SECONDS
    )
    output = run.stdout + run.stderr
    logs = "".join(
        f"\n--- jupyter lab log of {who} ---\n" + lab.log.read_text()[-6000:]
        for who, lab in labs.items()
    )
    assert run.returncode == 0, output + logs
    url = re.search(r"link: (\S+)", output).group(1)
    share_id = re.search(r"share: (\S+)", output).group(1)

    # What the browser did is what the server holds.
    status, access = alice.request("GET", f"cs3lab/api/shares?path={folder}")
    assert status == 200, access
    assert [(s["grantee"]["username"], s["role"]) for s in access["shares"]] == [("bob", "viewer")]
    assert access["shares"][0]["id"] == share_id
    assert len(access["links"]) == 1
    link = access["links"][0]
    assert link["role"] == "viewer" and link["password_protected"] is True
    assert link["url"] == url and "password" not in link
    status, received = bob.request("GET", "cs3lab/api/shares/received")
    assert status == 200, received
    mine = next(s for s in received["shares"] if s["id"] == share_id)
    assert mine["state"] == "accepted" and mine["role"] == "viewer"
    assert mine["owner"]["display_name"] == "Alice Anders"
    for name in (
        "1-alice-finds-bob",
        "3-alice-link-copied",
        "6-bob-accepted",
        "6b-bob-opened-shared-folder",
    ):
        assert (SHOTS / f"sharing-{name}.png").stat().st_size > 10_000
