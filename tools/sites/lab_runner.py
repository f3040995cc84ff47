"""Real Jupyter servers as subprocesses, each signed in to a CS3 site as one user: the tests
that need two users on two servers at once (locks seen across servers, browser tests) and the
demo (scripts/demo.py) start them here, as the sites start in site_runner.

Each server keeps its Jupyter config, runtime files (token, kernel keys), workspaces and
JupyterLab user settings in its own ``workdir``; the settings turn JupyterLab's "official
Jupyter news" question off, so nothing stands in front of the first screen. The Jupyter token
goes through the environment, never the command line."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from site_runner import Site, cs3lab_server_args, free_port

READY_SECONDS = 90
# JupyterLab user settings of every server started here: no news question, no update check.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@dataclass
class RunningServer:
    base: str  # http://127.0.0.1:<port>
    token: str
    log: Path
    process: subprocess.Popen

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Call the server's REST API; returns (status, parsed JSON body or text)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}/{path.lstrip('/')}", data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def write_lab_settings(folder: Path) -> None:
    for name, values in LAB_SETTINGS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def start_server(
    site: Site,
    user: str,
    home: str,
    workdir: Path,
    *,
    app: str = "server",
    extra: list[str] = (),
    port: int = 0,
    env: dict[str, str] | None = None,
) -> RunningServer:
    """Start `jupyter <app>` (server or lab) on loopback as ``user`` of ``site``, rooted at
    the CS3 folder ``home`` (on ``port``, default a free one; ``env``: further environment
    variables); wait until its API answers."""
    workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
    port, token = port or free_port(), secrets.token_hex(16)
    write_lab_settings(workdir / "lab-settings")
    env = {
        **os.environ,
        **(env or {}),
        "JUPYTER_TOKEN": token,
        "JUPYTER_CONFIG_DIR": str(workdir / "config"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(workdir / "lab-settings"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyter",
        app,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.allow_root=True",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={workdir}",
        *cs3lab_server_args(site, user, home),
        *extra,
    ]
    if app == "lab":
        command.append("--LabApp.expose_app_in_browser=True")
    log = workdir / f"{app}-{user}.log"
    with open(log, "wb") as out:
        # A session of its own: a terminal's Ctrl+C reaches the caller only, which stops the
        # server with SIGTERM (no "Shutdown this Jupyter server (y/[n])?" prompt).
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RunningServer(f"http://127.0.0.1:{port}", token, log, process)
    deadline = time.monotonic() + READY_SECONDS
    while True:
        try:
            if server.request("GET", "api/status")[0] == 200:
                return server
        except (urllib.error.URLError, ConnectionError):
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"jupyter {app} did not start:\n{log.read_text()}")
        time.sleep(0.5)
