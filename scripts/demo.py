"""The cs3lab demo: a real CS3 site (revad) on loopback and JupyterLab showing alice's home.

Run it through ``bash scripts/demo.sh``, which installs everything first. This script:

1. starts site-a (tools/sites/site-a.json: users alice, bob, carol) with
   ``site_runner.start_site``: revad on free loopback ports, random per-run passwords that exist
   only in the site's temporary directory;
2. seeds alice's home through the CS3 APIs (gRPC + the HTTP data gateway, with cs3lab's own
   client): welcome.ipynb, README.md, analysis/station-summary.ipynb and
   analysis/measurements.csv;
3. starts ``jupyter lab`` on 127.0.0.1 with cs3lab as its contents manager, signed in as alice
   (the password is read from the site's 0600 secret file; the Jupyter token goes through the
   JUPYTER_TOKEN environment variable; Jupyter's runtime files, notebook signatures and
   workspaces go into the site's temp dir);
4. prints the URL, the gateway and the users, and waits. Ctrl+C (or SIGTERM) stops JupyterLab
   and revad and removes the temporary directory.

Environment: CS3LAB_DEMO_PORT (default 8888), CS3LAB_REVAD (a revad binary; demo.sh sets it).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools" / "sites"))

import site_runner  # noqa: E402

from cs3lab.cs3 import AuthConfig, CS3Client, Files, GatewayConfig, SecretSource  # noqa: E402

USER = "alice"
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0

# -- the files seeded into alice's home ------------------------------------------------------

WELCOME_INTRO = """\
# Welcome to cs3lab

The file browser on the left is not this machine's disk: it is **alice's home on a CS3
site** (here `site-a`, a real [Reva](https://reva.link) server the demo started on this
machine). cs3lab is a JupyterLab extension whose contents manager talks to the site's CS3
gateway over gRPC and moves file bytes over the site's HTTP data gateway, so what you see is
the same storage a CERNBox or ScienceMesh web interface shows.

Things to try:

* **Save** this notebook (Ctrl+S): the new content is uploaded to the CS3 site.
* Save it a few times, then *File → Revert Notebook to Checkpoint*: the checkpoints are the
  file versions the storage kept.
* Create, rename, copy and delete files in the file browser. Deleted files go to the site's
  recycle bin.
* The status bar at the bottom shows who you are signed in as, and on which site.
"""

WELCOME_KERNEL = """\
## Where does code run?

The kernel runs on the machine of the Jupyter server, but it sees the same files as the file
browser: cs3lab mounts your CS3 home for its kernels and starts each kernel in the folder of
its notebook, so `open("README.md")` or `pd.read_csv("data.csv")` read CS3 files by relative
path, and what the kernel writes appears in the file browser (as a new version of the file).
`cs3://` URLs (an fsspec filesystem) reach the same files from any library that takes them.
"""

WELCOME_CODE = """\
import os
import platform

print(f"Python {platform.python_version()} on {platform.node()}")
print("working directory:", os.getcwd())
print("files here:", sorted(os.listdir(".")))
"""

SUMMARY_INTRO = """\
# Station summary

`measurements.csv` next to this notebook holds a week of readings from three weather
stations. The kernel works in this notebook's folder of your CS3 storage, so pandas reads the
file by its relative name, and the plot saved below appears beside it in the file browser.
"""

STATIONS = {
    "north": [(4.1, 81), (3.6, 84), (5.2, 77), (6.0, 72), (4.8, 79), (3.9, 86), (4.4, 80)],
    "river": [(6.3, 88), (5.9, 90), (7.1, 85), (7.8, 80), (6.6, 84), (6.0, 91), (6.4, 87)],
    "ridge": [(1.2, 70), (0.4, 74), (2.3, 66), (3.1, 61), (1.9, 68), (0.8, 75), (1.5, 69)],
}


def measurements_csv() -> str:
    rows = ["date,station,temperature_c,humidity_pct"]
    for day in range(7):
        for station, readings in STATIONS.items():
            temperature, humidity = readings[day]
            rows.append(f"2026-03-{day + 2:02d},{station},{temperature},{humidity}")
    return "\n".join(rows) + "\n"


SUMMARY_CODE = """\
import matplotlib.pyplot as plt
import pandas as pd

df = pd.read_csv("measurements.csv", parse_dates=["date"])
print(df.groupby("station").temperature_c.agg(["count", "mean", "min", "max"]).round(1))

fig, ax = plt.subplots(figsize=(7, 3.5))
for station, readings in df.groupby("station"):
    ax.plot(readings.date, readings.temperature_c, marker="o", label=station)
ax.set_ylabel("temperature (°C)")
ax.set_title("Daily temperature by station")
ax.legend()
fig.autofmt_xdate()
fig.savefig("temperature.png", dpi=100, bbox_inches="tight")
plt.show()
"""


HOME_README = """\
# alice's home on site-a

This folder lives on a CS3 site (a Reva server), not on the Jupyter server's disk. The
cs3lab demo (`bash scripts/demo.sh`) created it with:

* `welcome.ipynb`: what cs3lab is and what to try first;
* `analysis/measurements.csv`: a small table of weather station readings;
* `analysis/station-summary.ipynb`: a short analysis of those readings.

Everything is deleted when the demo stops.
"""


def notebook(*cells) -> bytes:
    nb = new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nbformat.writes(nb).encode("utf-8")


def seed_files() -> dict[str, bytes]:
    csv_text = measurements_csv()
    return {
        "README.md": HOME_README.encode(),
        "welcome.ipynb": notebook(
            new_markdown_cell(WELCOME_INTRO),
            new_markdown_cell(WELCOME_KERNEL),
            new_code_cell(WELCOME_CODE),
        ),
        "analysis/measurements.csv": csv_text.encode(),
        "analysis/station-summary.ipynb": notebook(
            new_markdown_cell(SUMMARY_INTRO), new_code_cell(SUMMARY_CODE)
        ),
    }


async def seed_home(site: site_runner.Site) -> list[str]:
    """Write the demo files into alice's home with cs3lab's CS3 client (gRPC + HTTP)."""
    home = site.home(USER)
    client = CS3Client(
        GatewayConfig(site.gateway),
        AuthConfig("basic", USER, SecretSource(file=str(site.secret_file(USER)))),
    )
    files = Files(client)
    try:
        await files.mkdir(f"{home}/analysis")
        for path, data in seed_files().items():
            await files.upload(f"{home}/{path}", data)
        listed = [info.path for info in await files.list(home)]
        listed += [info.path for info in await files.list(f"{home}/analysis")]
    finally:
        files.close()
        await client.close()
    return sorted(path.removeprefix(home + "/") for path in listed)


# -- JupyterLab --------------------------------------------------------------------------------


def start_lab(site: site_runner.Site, port: int, token: str) -> subprocess.Popen:
    scratch = site.workdir / "kernel-scratch"
    data = site.workdir / "jupyter-data"  # notebook signing key and signatures
    workspaces = site.workdir / "jupyter-workspaces"
    for folder in (scratch, data, workspaces):
        folder.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ)
    env["JUPYTER_TOKEN"] = token  # not on the command line, where `ps` would show it
    env["JUPYTER_RUNTIME_DIR"] = str(site.workdir / "jupyter-runtime")  # token, kernel keys
    env.pop("JUPYTER_TOKEN_FILE", None)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={scratch}",
        # Notebook trust signatures and workspaces of this run stay in its temp dir too.
        f"--NotebookNotary.data_dir={data}",
        f"--LabApp.workspaces_dir={workspaces}",
        *site_runner.cs3lab_server_args(site, USER),
    ]
    if os.geteuid() == 0:  # containers and CI machines often run as root
        command.append("--allow-root")
    # A session of its own: the terminal's Ctrl+C reaches this script only, which then stops
    # JupyterLab with SIGTERM (no "Shutdown this Jupyter server (y/[n])?" prompt).
    return subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, cwd=scratch, start_new_session=True
    )


def get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def wait_for_lab(lab: subprocess.Popen, base: str, token: str) -> dict:
    """Wait until the server answers, then return its /cs3lab/api/session (a real CS3 call)."""
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if lab.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {lab.returncode}")
        try:
            get_json(f"{base}/api/status", token)
            return get_json(f"{base}/cs3lab/api/session", token)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            last = str(err)
        time.sleep(0.3)
    raise TimeoutError(f"jupyter lab at {base} not ready after {READY_TIMEOUT}s: {last}")


def stop_lab(lab: subprocess.Popen) -> None:
    if lab.poll() is not None:
        return
    lab.terminate()  # jupyter_server shuts its kernels down on SIGTERM
    try:
        lab.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(lab.pid, signal.SIGKILL)
        lab.wait(timeout=STOP_TIMEOUT)


# -- main --------------------------------------------------------------------------------------


class Stop(Exception):
    """Ctrl+C, SIGTERM or SIGHUP."""


def main() -> int:
    port = int(os.environ.get("CS3LAB_DEMO_PORT", "8888"))
    token = secrets.token_hex(24)
    stop_requested: list[int] = []
    starting = True

    def on_signal(signum, _frame):
        stop_requested.append(signum)
        if not starting:
            raise Stop

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    print("starting site-a (revad on loopback)...", flush=True)
    # Not interruptible: start_site creates the temp dir and revad before it returns them.
    site = site_runner.start_site("site-a.json")
    lab: subprocess.Popen | None = None
    try:
        starting = False
        if stop_requested:
            raise Stop
        print(f"site-a is up: gateway {site.gateway}, data in {site.workdir}", flush=True)
        seeded = asyncio.run(seed_home(site))
        print(f"seeded {site.home(USER)}: {', '.join(seeded)}", flush=True)

        lab = start_lab(site, port, token)
        base = f"http://127.0.0.1:{port}"
        session = wait_for_lab(lab, base, token)
        user = session["user"]
        others = ", ".join(
            f"{u.username} ({u.display_name})" for u in site.users.values() if u.username != USER
        )
        print(
            "\n"
            "==============================================================================\n"
            " cs3lab demo is running\n"
            "\n"
            f"  JupyterLab   {base}/lab?token={token}\n"
            f"  signed in as {user['username']} ({user['display_name']}), "
            f"home {session['home']}\n"
            f"  CS3 site     {site.name}: revad gateway {site.gateway} (gRPC), "
            f"data server 127.0.0.1:{site.http_port}\n"
            f"  site users   {USER} ({site.users[USER].display_name}), {others}\n"
            "               (passwords are random for this run and stay in the site's\n"
            f"               temp dir {site.workdir})\n"
            "\n"
            "  Ctrl+C stops JupyterLab and revad and deletes the temp dir and its files.\n"
            "==============================================================================\n",
            flush=True,
        )
        code = lab.wait()
        print(f"jupyter lab exited with code {code}", file=sys.stderr)
        return 1
    except Stop:
        print("\nstopping the cs3lab demo...", flush=True)
        return 0
    except (RuntimeError, TimeoutError, OSError) as err:
        print(f"the cs3lab demo failed: {err}", file=sys.stderr)
        return 1
    finally:
        starting = True  # a second Ctrl+C must not interrupt the clean-up
        if lab is not None:
            stop_lab(lab)
        site.stop()
        print(f"stopped JupyterLab and revad; removed {site.workdir}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
