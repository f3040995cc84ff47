"""The browser test of folder copy and the recycle bin (site A, alice): ui-tests/recycle.mjs
copies a folder with Copy/Paste in the file browser, deletes a notebook (the dialog says
"Move to Trash" and where to restore it), and restores it from the Recycle Bin panel under
the offered "(restored)" name because a new notebook took its name; screenshots
tests/artifacts/ui/recycle-*.png. This wrapper then checks the storage through REST.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest
from servers import start_server
from site_runner import sync_mkdir, sync_upload

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "ui-tests" / "recycle.mjs"
SHOTS = REPO / "tests" / "artifacts" / "ui"
RUN_SECONDS = 300
NOTEBOOK = "analysis.ipynb"
FILES = {
    "README.md": b"# results\n",
    "run 1/data.csv": b"t,x\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(20000)),
    "run 1/notes ✓.txt": "ça marche\n".encode(),
    # Large enough that the copy takes a moment: its progress shows in a notification.
    "run 2/big.bin": os.urandom(40 * 1024 * 1024),
}

pytestmark = pytest.mark.ui


@pytest.fixture
def lab(site, tmp_path):
    """alice's `jupyter lab` rooted at a fresh CS3 folder holding a folder and a notebook."""
    if not shutil.which("node") or not (REPO / "ui-tests" / "node_modules").is_dir():
        pytest.fail("ui-tests/node_modules is missing: run `npm ci --prefix ui-tests`")
    root = f"{site.home('alice')}/ui-recycle-{uuid.uuid4().hex[:8]}"
    for rel in FILES:
        sync_mkdir(site, "alice", f"{root}/results/{rel}".rsplit("/", 1)[0])
    for rel, data in FILES.items():
        sync_upload(site, "alice", f"{root}/results/{rel}", data)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# the original")])
    sync_upload(site, "alice", f"{root}/{NOTEBOOK}", nbformat.writes(nb).encode())
    server = start_server(site, "alice", root, tmp_path / "alice", app="lab")
    try:
        yield server
    finally:
        server.stop()


def _tree(server, path: str) -> dict[str, str]:
    status, model = server.request("GET", f"api/contents/{quote(path)}?content=1")
    assert status == 200, model
    found = {}
    for child in model["content"]:
        if child["type"] == "directory":
            found.update(
                {f"{child['name']}/{k}": v for k, v in _tree(server, child["path"]).items()}
            )
        else:
            status, file = server.request(
                "GET", f"api/contents/{quote(child['path'])}?content=0&hash=1"
            )
            assert status == 200, file
            found[child["name"]] = file["hash"]
    return found


def test_copy_a_folder_and_restore_a_deleted_notebook(lab):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("recycle-*.png"):
        old.unlink()
    env = {
        **os.environ,
        "CS3LAB_URL": f"{lab.base}/lab",
        "CS3LAB_TOKEN": lab.token,
        "CS3LAB_FOLDER": "results",
        "CS3LAB_NOTEBOOK": NOTEBOOK,
        "CS3LAB_SCREENSHOT_DIR": str(SHOTS),
    }
    run = subprocess.run(
        ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=RUN_SECONDS
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output + "\n--- jupyter lab log ---\n" + lab.log.read_text()[-6000:]

    # What the browser did is what the storage holds.
    expected = {rel: hashlib.sha256(data).hexdigest() for rel, data in FILES.items()}
    assert _tree(lab, "results") == expected
    assert _tree(lab, "results-Copy1") == expected
    status, restored = lab.request("GET", "api/contents/analysis%20(restored).ipynb")
    assert status == 200, restored
    assert restored["content"]["cells"][0]["source"] == "# the original"
    status, new = lab.request("GET", f"api/contents/{NOTEBOOK}")
    assert status == 200 and new["content"]["cells"] == []
    status, recycle = lab.request("GET", "cs3lab/api/recycle")
    assert status == 200 and recycle["items"] == [], json.dumps(recycle)
    for name in ("2-folder-copied", "3-delete-dialog", "4-recycle-bin", "5-restore-conflict"):
        assert (SHOTS / f"recycle-{name}.png").stat().st_size > 10_000
