"""Run JupyterHub on loopback with docs/jupyterhub_config.py, signing users in at a Keycloak
realm (keycloak_runner.py) and spawning cs3lab single-user servers against a CS3 site
(site_runner.py) in bearer mode.

The configuration file is the documented one; this module only supplies what it reads from
the environment (issuer, client, crypt key, gateway) and the run's addresses on the command
line. Secrets (the client secret, the crypt key) go through the environment only.
configurable-http-proxy comes from npm, installed under the cache by scripts/setup.sh
(setup_hub); :func:`proxy_bin_dir` finds it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from keycloak_runner import Keycloak, cache_root, end_process
from site_runner import Site, free_port

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CONFIG = REPO / "docs" / "jupyterhub_config.py"
PROXY_VERSION = "5.3.0"
READY_TIMEOUT = 90.0


def proxy_bin_dir() -> Path:
    """The folder holding configurable-http-proxy (npm), or a RuntimeError saying how to get it."""
    folder = cache_root() / f"configurable-http-proxy-{PROXY_VERSION}" / "node_modules" / ".bin"
    if (folder / "configurable-http-proxy").exists():
        return folder
    found = shutil.which("configurable-http-proxy")
    if found:
        return Path(found).parent
    raise RuntimeError(
        f"configurable-http-proxy {PROXY_VERSION} is not in {folder.parent.parent} nor on PATH: "
        "run scripts/setup.sh's setup_hub (npm install configurable-http-proxy)"
    )


@dataclass
class Hub:
    url: str  # the public URL, http://127.0.0.1:<port>
    workdir: Path
    process: subprocess.Popen = field(repr=False)

    @property
    def log_file(self) -> Path:
        return self.workdir / "jupyterhub.log"

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_file.exists():
            return "(no hub log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, remove: bool = True) -> None:
        """Stop the Hub (its proxy and the users' servers with it: cleanup_servers)."""
        end_process(self.process, group=False)  # the Hub itself ends what it started
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_hub(keycloak: Keycloak, site: Site) -> Hub:
    """Start JupyterHub with docs/jupyterhub_config.py for ``keycloak``'s realm and ``site``;
    returns when the Hub's API answers. Users' servers run in folders of the Hub's temp dir."""
    workdir = Path(tempfile.mkdtemp(prefix="cs3lab-hub-"))
    port, hub_port, api_port = free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ) | {
        "PATH": f"{proxy_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}",
        "CS3LAB_OIDC_ISSUER": keycloak.issuer,
        "OAUTH_CLIENT_ID": keycloak.client_id,
        "OAUTH_CLIENT_SECRET": keycloak.client_secret,
        "OAUTH_CALLBACK_URL": f"{url}/hub/oauth_callback",
        "JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32),
        "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(32),
        "CS3LAB_GATEWAY": site.gateway,
        "CS3LAB_SITE": site.name,
        # The CS3 home of each user ({username} filled in by cs3lab): the site's homes.
        "CS3LAB_HOME": site.home_template,
    }
    command = [
        sys.executable,
        "-m",
        "jupyterhub",
        "-f",
        str(CONFIG),
        f"--JupyterHub.bind_url={url}",
        f"--JupyterHub.hub_bind_url=http://127.0.0.1:{hub_port}",
        f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}",
        f"--SimpleLocalProcessSpawner.home_dir_template={workdir}/users/{{username}}",
        f"--JupyterHub.db_url=sqlite:///{workdir}/jupyterhub.sqlite",
        f"--JupyterHub.cookie_secret_file={workdir}/cookie_secret",
        f"--ConfigurableHTTPProxy.pid_file={workdir}/proxy.pid",
        # A busy test machine: a server may take longer than the default 30 s to answer.
        "--Spawner.http_timeout=120",
        "--Spawner.start_timeout=120",
    ]
    log = open(workdir / "jupyterhub.log", "ab")
    try:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()
    hub = Hub(url=url, workdir=workdir, process=process)
    try:
        _wait_ready(hub)
    except BaseException:
        hub.stop(remove=False)
        print(f"JupyterHub did not start; log in {workdir}:\n{hub.log_tail()}", file=sys.stderr)
        raise
    return hub


def _wait_ready(hub: Hub) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        if not hub.alive():
            raise RuntimeError(f"JupyterHub exited with code {hub.process.returncode}")
        try:
            with urllib.request.urlopen(f"{hub.url}/hub/api", timeout=5) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError) as err:
            last = str(err)
        time.sleep(0.3)
    raise TimeoutError(f"JupyterHub at {hub.url} not ready after {READY_TIMEOUT:.0f} s: {last}")
