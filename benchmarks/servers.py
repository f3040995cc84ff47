"""The Jupyter servers (bench_server.py subprocesses) and a REST client for them."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
import site_runner
from common import HERE, LOCKS_API, MAX_BODY, REPO, TIMEOUT, USER
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

SERVER_READY_TIMEOUT = 90.0
# (replaceable, e.g. to run the server under cProfile when investigating)
SERVER_COMMAND = [sys.executable, str(HERE / "bench_server.py")]


def cs3_connection(site: site_runner.Site, home: str, user: str = USER) -> dict[str, str]:
    return site_runner.cs3_connection(site, user, home)


def cs3lab_server_config(site: site_runner.Site, home: str) -> dict:
    """The settings of tests/conftest.py: cs3lab's contents manager, signed in as USER."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"cs3lab": True},
            "contents_manager_class": "cs3lab.CS3ContentsManager",
        },
        "CS3Connection": cs3_connection(site, home),
    }


def stock_server_config(root: Path) -> dict:
    """Jupyter's own FileContentsManager on a local folder: the reference for the REST layer."""
    return {"ServerApp": {"jpserver_extensions": {"cs3lab": False}, "root_dir": str(root)}}


@dataclass
class JupyterServer:
    """A jupyter_server (bench_server.py) as a subprocess on 127.0.0.1, in its own folder."""

    process: subprocess.Popen
    url: str
    token: str
    log: Path

    @classmethod
    def start(cls, workdir: Path, settings: dict) -> JupyterServer:
        workdir.mkdir(mode=0o700, exist_ok=True)
        dirs = {name: workdir / f"jupyter-{name}" for name in ("config", "data", "runtime")}
        for path in dirs.values():
            path.mkdir(mode=0o700)
        port, token = site_runner.free_port(), secrets.token_hex(24)
        server_app = {
            "ip": "127.0.0.1",
            "port": port,
            "port_retries": 0,
            "open_browser": False,
            "allow_root": True,  # containers and CI run as root
            "root_dir": str(workdir),
        }
        server_app.update(settings.get("ServerApp", {}))
        config = {**settings, "ServerApp": server_app, "IdentityProvider": {"token": token}}
        config_file = dirs["config"] / "jupyter_server_config.json"
        config_file.write_text(json.dumps(config, indent=1))
        config_file.chmod(0o600)
        env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        )
        log = workdir / "jupyter-server.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                SERVER_COMMAND,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl+C reaches us only; we stop it ourselves
            )
        server = cls(process, f"http://127.0.0.1:{port}", token, log)
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_READY_TIMEOUT
        request = urllib.request.Request(
            f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"}
        )
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise TimeoutError(f"jupyter server not ready after {SERVER_READY_TIMEOUT}s")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class RestClient:
    """Calls /api/contents like JupyterLab does, with the server's token."""

    def __init__(self, server: JupyterServer) -> None:
        self.server = server
        self.http = AsyncHTTPClient(
            force_instance=True, max_body_size=MAX_BODY, max_buffer_size=MAX_BODY
        )
        self.headers = {
            "Authorization": f"token {server.token}",
            "Content-Type": "application/json",
        }

    def close(self) -> None:
        self.http.close()

    async def fetch(self, method: str, url_path: str, body: bytes | None = None) -> bytes:
        reply = await self.http.fetch(
            HTTPRequest(
                f"{self.server.url}{url_path}",
                method=method,
                body=body,
                headers=self.headers,
                request_timeout=TIMEOUT,
            )
        )
        return reply.body

    async def contents(self, method: str, path: str, query: str = "", body: bytes | None = None):
        url_path = f"/api/contents/{quote(path)}" + (f"?{query}" if query else "")
        return await self.fetch(method, url_path, body)

    async def calls(self) -> dict[str, int]:
        return json.loads(await self.fetch("GET", "/bench/cs3-calls"))

    async def lock(self, method: str, path: str, client: str) -> bytes:
        """/cs3lab/api/locks as the frontend calls it: POST acquire, PUT heartbeat, DELETE
        release (the JSON body is built outside the timed span of nothing: it is tiny)."""
        if method == "DELETE":
            return await self.fetch(method, f"{LOCKS_API}?path={quote(path)}&client={client}")
        body = json.dumps({"path": path, "client": client}).encode()
        return await self.fetch(method, LOCKS_API, body)

    async def forget_metadata(self) -> None:
        """bench_server.py's hook: the server's metadata cache forgets its Stats and listings."""
        await self.fetch("DELETE", "/bench/metadata")

    async def lock_sessions(self, refreshed: str) -> None:
        """bench_server.py's hook: set ``Session.refreshed`` of the server's lock sessions to
        0 ("old": the next heartbeat refreshes the storage's lock) or now ("now": it does not)."""
        await self.fetch("POST", f"/bench/lock-sessions?refreshed={refreshed}", b"")
