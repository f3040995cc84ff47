"""The cross-site journey in a browser: alice's JupyterLab at site-fa, carol's at site-fb (two
Reva sites federated through OCM), two browser contexts (ui-tests/journey.mjs).

This wrapper makes them contacts (alice's invitation, accepted at carol's site, through REST:
the share dialog's invitation rows are tested in tests/test_ocm.py) and gives alice a notebook.
In the browsers alice shares it with carol, carol accepts it and opens it from "Federated
shares", alice opens it (her site locks it) and carol's save is refused as locked there, carol
makes a copy at her own site and edits it, alice saves and closes, carol merges the copy back,
and alice sees both edits. The wrapper then reads alice's stored notebook through REST.
Screenshots: tests/artifacts/ui/journey-*.png (docs/journey/ shows them).
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
import site_runner
from servers import start_server

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "ui-tests" / "journey.mjs"
SHOTS = REPO / "tests" / "artifacts" / "ui"
RUN_SECONDS = 600

pytestmark = pytest.mark.ui


@pytest.fixture
def labs(tmp_path):
    """alice's JupyterLab at site-fa and carol's at site-fb, contacts of each other."""
    if not shutil.which("node") or not (REPO / "ui-tests" / "node_modules").is_dir():
        pytest.fail("ui-tests/node_modules is missing: run `npm ci --prefix ui-tests`")
    started = time.monotonic()
    fa, fb = site_runner.start_federation(["site-fa.json", "site-fb.json"])
    print(f"two OCM sites ready in {time.monotonic() - started:.1f}s")
    servers = []
    try:
        for site, user in ((fa, "alice"), (fb, "carol")):
            servers.append(
                start_server(
                    site,
                    user,
                    site.home(user),
                    tmp_path / user,
                    app="lab",
                    extra=[f"--CS3OCM.domain={site.domain}"],
                )
            )
        alice, carol = servers
        status, made = alice.request("POST", "cs3lab/api/ocm/invitations", {"description": "c"})
        assert status == 201, made
        status, contact = carol.request(
            "POST", "cs3lab/api/ocm/invitations/accept", {"invitation": made["invitation"]}
        )
        assert status == 200, contact
        yield alice, carol
    finally:
        for server in servers:
            server.stop()
        fa.stop()
        fb.stop()


def _notebook() -> dict:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Beam test\nNotes from both institutions."),
            nbformat.v4.new_code_cell("energies = [6.5, 6.8, 7.0]"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nb


def test_share_across_sites_copy_and_merge_back_in_two_browsers(labs):
    alice, carol = labs
    name = f"beam-{uuid.uuid4().hex[:6]}.ipynb"
    status, _ = alice.request(
        "PUT", f"api/contents/{name}", {"type": "notebook", "content": _notebook()}
    )
    assert status == 201
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("journey-*.png"):
        old.unlink()
    env = {
        **os.environ,
        "CS3LAB_ALICE_URL": f"{alice.base}/lab",
        "CS3LAB_ALICE_TOKEN": alice.token,
        "CS3LAB_CAROL_URL": f"{carol.base}/lab",
        "CS3LAB_CAROL_TOKEN": carol.token,
        "CS3LAB_NOTEBOOK": name,
        "CS3LAB_SCREENSHOT_DIR": str(SHOTS),
    }
    run = subprocess.run(
        ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=RUN_SECONDS
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "PASS" in output, output
    found = re.search(r"alice-line=(.+?) carol-line=(.+)$", output, re.M)
    assert found, output
    alice_line, carol_line = found.group(1).strip(), found.group(2).strip()

    # alice's stored notebook has both edits; carol's copy is at carol's site.
    status, model = alice.request("GET", f"api/contents/{name}")
    assert status == 200
    text = "\n".join(cell["source"] for cell in model["content"]["cells"])
    assert alice_line in text and carol_line in text, text
    copy = re.search(r"copy=(\S+)", output).group(1)
    status, copied = carol.request("GET", f"api/contents/{copy}")
    assert status == 200 and carol_line in str(copied["content"]), copied
    # The refused save wrote nothing: the line carol typed into the original is nowhere.
    assert "carol typing into the original" not in text
    # The one lock on it is alice's, who has it open again: carol's merge left none.
    status, state = alice.request("GET", f"cs3lab/api/locks?path={name}")
    assert status == 200 and state["lock"]["holder"]["username"] == "alice", state
