"""The browser test of clone, compare, merge back: alice on one `jupyter lab` (site A).

The notebook analysis.ipynb is stored (twice, so the storage keeps a version). ui-tests/merge.mjs
makes a copy with the file browser's "Make a copy", changes the same line differently in the
original and in the copy (through REST), opens "Show changes" (nbdime's diff view), the
"Versions…" panel, then "Merge into original": nbdime's merge view opens with the conflict; it
picks the copy's side in nbdime's widget and saves the merge. This wrapper checks the stored
original through REST. Screenshots: tests/artifacts/ui/merge-*.png.
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
SCRIPT = REPO / "ui-tests" / "merge.mjs"
SHOTS = REPO / "tests" / "artifacts" / "ui"
RUN_SECONDS = 400
NOTEBOOK = "analysis.ipynb"

pytestmark = pytest.mark.ui


@pytest.fixture
def lab(site, tmp_path):
    if not shutil.which("node") or not (REPO / "ui-tests" / "node_modules").is_dir():
        pytest.fail("ui-tests/node_modules is missing: run `npm ci --prefix ui-tests`")
    folder = f"{site.home('alice')}/ui-merge-{uuid.uuid4().hex[:8]}"
    sync_mkdir(site, "alice", folder)
    server = start_server(site, "alice", folder, tmp_path / "alice", app="lab")
    try:
        yield server
    finally:
        server.stop()


def _notebook(threshold: str) -> dict:
    cells = [
        nbformat.v4.new_markdown_cell("# Analysis\nA notebook alice copies and merges back."),
        nbformat.v4.new_code_cell("import math\nsamples = [1, 2, 3, 4]"),
        nbformat.v4.new_code_cell(
            f"threshold = {threshold}\nselected = [s for s in samples if s > threshold]"
        ),
        nbformat.v4.new_code_cell("print(len(selected), math.pi)"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def test_copy_diff_versions_and_resolve_a_conflict_in_nbdimes_merge_view(lab):
    for threshold in ("1", "2"):  # two saves: the storage keeps the first as a version
        status, _ = lab.request(
            "PUT", f"api/contents/{NOTEBOOK}", {"type": "notebook", "content": _notebook(threshold)}
        )
        assert status in (200, 201)

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("merge-*.png"):
        old.unlink()
    env = {
        **os.environ,
        "CS3LAB_URL": f"{lab.base}/lab",
        "CS3LAB_TOKEN": lab.token,
        "CS3LAB_NOTEBOOK": NOTEBOOK,
        "CS3LAB_SCREENSHOT_DIR": str(SHOTS),
        "CS3LAB_TIMEOUT_MS": "30000",
    }
    run = subprocess.run(
        ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=RUN_SECONDS
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output + "\n--- jupyter lab log ---\n" + lab.log.read_text()[-8000:]
    found = re.search(r"copy=(\S+) original-line=(\S+) copy-line=(\S+)", output)
    assert found, output
    copy, original_line, copy_line = found.groups()

    # The copy records its origin.
    status, info = lab.request("GET", f"cs3lab/api/copies?path={copy}")
    assert status == 200 and info["origin"]["path"].endswith(NOTEBOOK), info
    # The stored original has the side picked in the merge view (the copy's line), not its own.
    status, stored = lab.request("GET", f"api/contents/{NOTEBOOK}")
    assert status == 200
    source = stored["content"]["cells"][2]["source"]
    assert copy_line in source and original_line not in source, source
    assert [c["source"] for c in stored["content"]["cells"]][3] == "print(len(selected), math.pi)"
    merges = stored["content"]["metadata"]["cs3lab"]["merges"]
    assert merges and merges[-1]["copy"].endswith(copy), merges
    for name in ("diff", "versions", "view"):
        assert (SHOTS / f"merge-{name}.png").stat().st_size > 10_000
