"""The browser test: a real JupyterLab with cs3lab, in Debian's headless Chromium.

JupyterLab opens with the CS3 home as its root, the status bar names the CS3 user, a notebook
stored in CS3 is opened, edited and saved, and after a reload the change is still there. The
test then reads the notebook back through CS3 (not through the browser) to be sure the save
reached the storage. Screenshots land in tests/artifacts/ui/.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest
from site_runner import cs3lab_server_args, free_port, sync_mkdir

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "ui-tests" / "edit-notebook.mjs"
SHOTS = REPO / "tests" / "artifacts" / "ui"
READY_SECONDS = 90
RUN_SECONDS = 300

pytestmark = pytest.mark.ui


def _request(url: str, token: str, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"token {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


@pytest.fixture
def lab(site, tmp_path):
    """`jupyter lab` as a subprocess, signed in to site A as alice, rooted in a fresh folder."""
    if not shutil.which("node") or not (REPO / "ui-tests" / "node_modules").is_dir():
        pytest.fail("ui-tests/node_modules is missing: run `npm ci --prefix ui-tests`")
    home = f"{site.home('alice')}/ui-{uuid.uuid4().hex[:8]}"
    sync_mkdir(site, "alice", home)
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_TOKEN": token,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.allow_root=True",
        f"--ServerApp.port={port}",
        f"--ServerApp.root_dir={tmp_path}",
        "--LabApp.expose_app_in_browser=True",
        *cs3lab_server_args(site, "alice", home),
    ]
    log = open(tmp_path / "lab.log", "wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                _request(f"{base}/api/status", token)
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("jupyter lab did not start:\n" + (tmp_path / "lab.log").read_text())
                time.sleep(0.5)
        yield {"base": base, "token": token, "log": tmp_path / "lab.log"}
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_open_edit_save_reload_a_cs3_notebook(lab):
    base, token = lab["base"], lab["token"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    _request(f"{base}/api/contents/demo.ipynb", token, "PUT", {"type": "notebook", "content": nb})
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
    assert run.returncode == 0, output + "\n--- jupyter lab log ---\n" + lab["log"].read_text()
    marker = re.search(r"and typing (cs3lab-ui-[0-9a-f]+)", output)
    assert marker, output
    expected = marker.group(1)
    stored = _request(f"{base}/api/contents/demo.ipynb", token)
    assert expected in stored["content"]["cells"][0]["source"]
    assert (SHOTS / "after-reopen.png").stat().st_size > 10_000
