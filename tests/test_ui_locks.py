"""The browser test of write locks: two users on two Jupyter servers, in two browser contexts.

alice and bob each run `jupyter lab` signed in to site A, both rooted at one CS3 folder made by
alice (site A's `local` driver does not enforce per-user permissions: bob reads and writes
alice's folder; the fixture checks that before the browser starts). ui-tests/locks.mjs drives
both browsers through holding, the banner and badge, read-only typing, the menus, palette,
shortcuts and commands that would change a read-only notebook, request and hand-over,
following the holder's saves while keeping the scroll position, and expiry; screenshots
tests/artifacts/ui/locks-*.png. This wrapper then checks the stored notebook through CS3.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from servers import start_server
from site_runner import sync_mkdir

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "ui-tests" / "locks.mjs"
SHOTS = REPO / "tests" / "artifacts" / "ui"
RUN_SECONDS = 600
EXPIRY_SECONDS = 10
NOTEBOOK = "shared.ipynb"
CELLS = 40
SCROLL_CELL = 20
OUTPUT_CELL = 2  # a code cell with a stored output, which no read-only run or clear may touch
OUTPUT = "stored output"

RELEASE_SECONDS = 15  # the 10 s expiry after the last 2.5 s heartbeat, and a margin

pytestmark = pytest.mark.ui


@pytest.fixture
def two_labs(site, tmp_path):
    """alice's and bob's `jupyter lab`, both rooted at one folder in alice's CS3 home."""
    if not shutil.which("node") or not (REPO / "ui-tests" / "node_modules").is_dir():
        pytest.fail("ui-tests/node_modules is missing: run `npm ci --prefix ui-tests`")
    folder = f"{site.home('alice')}/ui-locks-{uuid.uuid4().hex[:8]}"
    sync_mkdir(site, "alice", folder)
    extra = [f"--CS3ContentsManager.lock_expiry_seconds={EXPIRY_SECONDS}"]
    labs = {}
    try:
        for user in ("alice", "bob"):
            labs[user] = start_server(site, user, folder, tmp_path / user, app="lab", extra=extra)
        yield labs
    finally:
        for lab in labs.values():
            lab.stop()


def _notebook() -> dict:
    cells = [nbformat.v4.new_markdown_cell("# A notebook alice and bob share")]
    for i in range(1, CELLS):
        lines = "\n".join(f"value_{i}_{j} = {i} * {j}" for j in range(4))
        cells.append(nbformat.v4.new_code_cell(f"# cell {i}\n{lines}"))
    cells[OUTPUT_CELL].execution_count = 1
    cells[OUTPUT_CELL].outputs = [nbformat.v4.new_output("stream", name="stdout", text=OUTPUT)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def test_two_users_lock_request_hand_over_follow_and_expiry(two_labs):
    alice, bob = two_labs["alice"], two_labs["bob"]
    status, _ = alice.request(
        "PUT", f"api/contents/{NOTEBOOK}", {"type": "notebook", "content": _notebook()}
    )
    assert status in (200, 201)
    # Both servers see one folder: bob can read what alice stored (no sharing needed on the
    # local driver of site A) - and nobody holds the notebook yet.
    status, seen = bob.request("GET", f"api/contents/{NOTEBOOK}?content=0")
    assert status == 200, f"bob cannot read alice's folder: {status} {seen}"
    assert seen["lock"] is None and seen["writable"] is True

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("locks-*.png"):
        old.unlink()
    env = {
        **os.environ,
        "CS3LAB_ALICE_URL": f"{alice.base}/lab",
        "CS3LAB_ALICE_TOKEN": alice.token,
        "CS3LAB_BOB_URL": f"{bob.base}/lab",
        "CS3LAB_BOB_TOKEN": bob.token,
        "CS3LAB_NOTEBOOK": NOTEBOOK,
        "CS3LAB_SCROLL_CELL": str(SCROLL_CELL),
        "CS3LAB_OUTPUT_CELL": str(OUTPUT_CELL),
        "CS3LAB_OUTPUT": OUTPUT,
        "CS3LAB_EXPIRY_SECONDS": str(EXPIRY_SECONDS),
        "CS3LAB_SCREENSHOT_DIR": str(SHOTS),
    }
    run = subprocess.run(
        ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=RUN_SECONDS
    )
    output = run.stdout + run.stderr
    logs = "".join(
        f"\n--- jupyter lab log of {who} ---\n" + lab.log.read_text()[-6000:]
        for who, lab in two_labs.items()
    )
    assert run.returncode == 0, output + logs
    markers = re.search(r"markers: ignored=(\S+) bob=(\S+) alice=(\S+)", output)
    assert markers, output
    ignored, bob_marker, alice_marker = markers.groups()

    status, stored = alice.request("GET", f"api/contents/{NOTEBOOK}")
    assert status == 200
    sources = [cell["source"] for cell in stored["content"]["cells"]]
    assert len(sources) == CELLS, "a read-only user's cell commands reached the storage"
    kept = stored["content"]["cells"][OUTPUT_CELL]
    assert kept["outputs"][0]["text"] == OUTPUT and kept["execution_count"] == 1, kept
    assert ignored not in "".join(sources), "what bob typed read-only was stored"
    assert bob_marker in sources[SCROLL_CELL], "bob's save after the hand-over is missing"
    assert alice_marker in sources[1], "alice's save after 'Edit now' is missing"
    # alice closed her tab last: her lock is gone, given back by the pagehide release (a
    # keepalive DELETE, which headless Chromium does not always deliver when a page is
    # closed) or, at the latest, by its expiry once her heartbeats stopped.
    deadline = time.monotonic() + RELEASE_SECONDS
    while True:
        status, state = alice.request("GET", f"cs3lab/api/locks?path={NOTEBOOK}")
        if status != 200 or state["locked"] is False or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert status == 200 and state["locked"] is False, state
    shots = ("1-alice-holds", "3-bob-readonly", "3c-bob-run-menu", "3c-bob-palette")
    for name in (*shots, "8-alice-follows", "9-alice-edit-now"):
        assert (SHOTS / f"locks-{name}.png").stat().st_size > 10_000
