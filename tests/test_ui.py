"""The browser test: a real JupyterLab with cs3lab, in Debian's headless Chromium.

JupyterLab opens with the CS3 home as its root, the status bar names the CS3 user, a notebook
stored in CS3 is opened, edited and saved, and after a reload the change is still there. The
test then reads the notebook back through CS3 (not through the browser) to be sure the save
reached the storage. Screenshots land in tests/artifacts/ui/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import nbformat
import pytest
from servers import start_server
from site_runner import sync_mkdir

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "ui-tests" / "edit-notebook.mjs"
SHOTS = REPO / "tests" / "artifacts" / "ui"
RUN_SECONDS = 300

pytestmark = pytest.mark.ui


@pytest.fixture
def lab(site, tmp_path):
    """`jupyter lab` as a subprocess, signed in to site A as alice, rooted in a fresh folder."""
    if not shutil.which("node") or not (REPO / "ui-tests" / "node_modules").is_dir():
        pytest.fail("ui-tests/node_modules is missing: run `npm ci --prefix ui-tests`")
    home = f"{site.home('alice')}/ui-{uuid.uuid4().hex[:8]}"
    sync_mkdir(site, "alice", home)
    server = start_server(site, "alice", home, tmp_path, app="lab")
    try:
        yield server
    finally:
        server.stop()


def test_open_edit_save_reload_a_cs3_notebook(lab):
    base, token = lab.base, lab.token
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    status, _ = lab.request("PUT", "api/contents/demo.ipynb", {"type": "notebook", "content": nb})
    assert status in (200, 201)
    SHOTS.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CS3LAB_LAB_URL": f"{base}/lab",
        "CS3LAB_TOKEN": token,
        "CS3LAB_NOTEBOOK": "demo.ipynb",
        "CS3LAB_SCREENSHOT_DIR": str(SHOTS),
        "CS3LAB_EXPECT_USER": "Alice Anders",
    }
    run = subprocess.run(
        ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=RUN_SECONDS
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output + "\n--- jupyter lab log ---\n" + lab.log.read_text()
    marker = re.search(r"and typing (cs3lab-ui-[0-9a-f]+)", output)
    assert marker, output
    expected = marker.group(1)
    _, stored = lab.request("GET", "api/contents/demo.ipynb")
    assert expected in stored["content"]["cells"][0]["source"]
    assert (SHOTS / "after-reopen.png").stat().st_size > 10_000
