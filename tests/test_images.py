"""The container images of docker/, built from this repository and run.

tools/images/images.py builds docker/revad.Dockerfile, docker/jupyterlab.Dockerfile and
docker/hub.Dockerfile with buildah (no Docker engine here), from a debian:bookworm-slim made
by debootstrap; buildah's layer cache lives in the cache (~/.cache/cs3lab/containers), so
after the first build a run rebuilds only what changed (cs3lab's wheel, seconds). The site
image starts revad from a site description, and `jupyter cs3lab check` in the JupyterLab
image, configured by environment variables alone, connects to it: everything works; with the
site stopped, check fails and says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools" / "images"))
import images

pytestmark = [
    pytest.mark.images,
    pytest.mark.skipif(
        shutil.which("buildah") is None or shutil.which("debootstrap") is None,
        reason="needs Debian's buildah and debootstrap (scripts/test.sh installs them)",
    ),
]

SITE_READY_SECONDS = 120


@pytest.fixture(scope="module")
def built() -> dict[str, tuple[float, float]]:
    """Every image built; {name: (seconds the build took, size in MB)}, printed."""
    made = {}
    for image in images.images():
        seconds = images.build(image)
        made[image.name] = (seconds, images.size_mb(image.name))
    for name, (seconds, size) in made.items():
        print(f"{name}: built in {seconds:.0f} s, {size:.0f} MB")
    return made


@pytest.fixture
def site_in_container(built, tmp_path):
    """The site image running site-a.json; yields (run dir, its gateway, stop())."""
    run = tmp_path / "run"
    run.mkdir()
    run.chmod(0o777)  # the image runs as uid 1000
    container = images.Container("cs3lab-site", {run: "/run/cs3lab"})
    log = tmp_path / "site.log"
    process = container.start(["python", "/opt/cs3lab/docker/site-entrypoint.py"], log)
    workdir = ""

    def stop() -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the entrypoint stops revad
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if workdir:  # whatever outlived it
            subprocess.run(["pkill", "-f", workdir], check=False)

    try:
        deadline = time.monotonic() + SITE_READY_SECONDS
        while not (run / "gateway").exists():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        workdir = os.readlink(run / "current").rsplit("/", 1)[-1]
        yield run, (run / "gateway").read_text().strip(), stop
    finally:
        stop()
        container.remove()


def check_in_lab_image(run: Path, gateway: str) -> subprocess.CompletedProcess:
    """`jupyter cs3lab check` in the JupyterLab image, as alice, from the environment."""
    lab = images.Container("cs3lab-jupyterlab", {run: "/run/cs3lab:ro"})
    try:
        return lab.run(
            ["jupyter", "cs3lab", "check"],
            env={
                "CS3LAB_GATEWAY": gateway,
                "CS3LAB_USER": "alice",
                "CS3LAB_SECRET_FILE": "/run/cs3lab/current/secrets/alice",
                "CS3LAB_HOME": "/localfs/{username}",
                "CS3LAB_STORAGE_REPORTS_QUOTA": "false",
            },
        )
    finally:
        lab.remove()


def test_the_lab_image_checks_the_site_image(site_in_container):
    run, gateway, stop = site_in_container
    done = check_in_lab_image(run, gateway)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"ok    gateway       {gateway} (TLS off) answers"), lines[0]
    assert any(
        line.startswith("ok    credentials   accepted: alice (Alice Anders)") for line in lines
    ), done.stdout
    assert any(line.startswith("ok    home ") for line in lines), done.stdout
    assert "Traceback" not in done.stderr

    stop()
    done = check_in_lab_image(run, gateway)
    print(done.stdout)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith(f"FAIL  gateway       unreachable: nothing answers at {gateway}")


def test_the_hub_image_has_the_hub_its_proxy_and_its_configuration(built):
    hub = images.Container("cs3lab-hub")
    try:
        versions = hub.run(["sh", "-c", "jupyterhub --version; configurable-http-proxy --version"])
        assert versions.returncode == 0, versions.stderr
        assert versions.stdout.split() == ["6.1.1", "5.3.0"], versions.stdout
        # The configuration loads with the environment a site gives it, and names cs3lab.
        shown = hub.run(
            ["python", "-c", SHOW_CONFIG],
            env={"CS3LAB_OIDC_ISSUER": "https://sso.example.org/realms/example"},
        )
        assert shown.returncode == 0, shown.stderr
        assert "generic-oauth simple cs3lab.CS3ContentsManager" in shown.stdout, shown.stdout
    finally:
        hub.remove()


# Load /etc/jupyterhub/jupyterhub_config.py as JupyterHub does and print what matters here.
SHOW_CONFIG = """
from traitlets.config.loader import PyFileConfigLoader
c = PyFileConfigLoader("jupyterhub_config.py", path="/etc/jupyterhub").load_config()
args = c.Spawner.args if "args" in c.Spawner else []
manager = [a.split("=", 1)[1] for a in args if "contents_manager_class" in a]
print(c.JupyterHub.authenticator_class, c.JupyterHub.spawner_class, *manager)
"""
