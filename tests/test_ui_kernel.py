"""The browser test of kernels: the demo's analysis/station-summary.ipynb, run in a real
JupyterLab with cs3lab in Debian's headless Chromium (ui-tests/kernel.mjs). Its kernel works
in the notebook's folder of cs3lab's FUSE mount: pandas reads measurements.csv by relative path
and the plot saved beside it shows in the notebook and in the file browser (screenshot
tests/artifacts/ui/kernel-plot.png). This wrapper then checks the stored PNG through CS3."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from lockers import signed_in, stored
from servers import start_server

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "ui-tests" / "kernel.mjs"
SHOTS = REPO / "tests" / "artifacts" / "ui"
RUN_SECONDS = 600

pytestmark = pytest.mark.ui


async def _seed_demo(site, home: str) -> None:
    """The files scripts/demo.py seeds into alice's home, in ``home``."""
    sys.path.insert(0, str(REPO / "scripts"))
    from demo_files import seed_files

    async with signed_in(site) as files:
        await files.mkdir(home)
        await files.mkdir(f"{home}/analysis")
        for path, data in seed_files().items():
            await files.upload(f"{home}/{path}", data)


def test_the_demo_notebook_reads_by_relative_path_and_shows_its_plot(site_a, tmp_path):
    if not shutil.which("node") or not (REPO / "ui-tests" / "node_modules").is_dir():
        pytest.fail("ui-tests/node_modules is missing: run `npm ci --prefix ui-tests`")
    home = f"{site_a.home('alice')}/ui-kernel-{uuid.uuid4().hex[:8]}"
    asyncio.run(_seed_demo(site_a, home))
    lab = start_server(site_a, "alice", home, tmp_path, app="lab")
    try:
        SHOTS.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "CS3LAB_LAB_URL": f"{lab.base}/lab",
            "CS3LAB_TOKEN": lab.token,
            "CS3LAB_SCREENSHOT_DIR": str(SHOTS),
        }
        run = subprocess.run(
            ["node", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=RUN_SECONDS
        )
        output = run.stdout + run.stderr
        assert run.returncode == 0, output + "\n--- jupyter lab log ---\n" + lab.log.read_text()
    finally:
        lab.stop()
    png = asyncio.run(stored(site_a, f"{home}/analysis/temperature.png"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    assert (SHOTS / "kernel-plot.png").stat().st_size > 0
