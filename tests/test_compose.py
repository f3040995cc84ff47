"""docker/compose.yaml and docker/z2jh-values.yaml refer to what exists.

No Docker engine runs here, so compose itself is not run; what it relies on is checked: the
Dockerfiles and site descriptions it names, the services, volumes and ports it connects, the
files it reads from the shared volume (written by the real site entrypoint here, with real
revads), and every CS3LAB_* variable it or the Helm values set is one that something reads.
The images themselves are built and run by tests/test_images.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
DOCKER = REPO / "docker"
SITES = REPO / "tools" / "sites"
RUN = "/run/cs3lab"
ENTRYPOINT = DOCKER / "site-entrypoint.py"
READY_SECONDS = 120


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def env_of(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def test_every_build_names_a_dockerfile_and_context_that_exist(services):
    built = {}
    for name, service in services.items():
        if "build" in service:
            context = (DOCKER / service["build"]["context"]).resolve()
            dockerfile = context / service["build"]["dockerfile"]
            assert dockerfile.is_file(), f"{name}: {dockerfile}"
            built[service["image"]] = dockerfile
            for extra in service["build"].get("additional_contexts", {}).values():
                assert extra.removeprefix("service:") in services, f"{name}: {extra}"
    local = {s["image"] for s in services.values() if s["image"].startswith("cs3lab-")}
    assert local == set(built) == {"cs3lab-site", "cs3lab-jupyterlab", "cs3lab-hub"}


def test_services_volumes_and_namespaces_are_declared(compose, services):
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on {needed}"
        mode = service.get("network_mode", "")
        if mode:
            assert mode.removeprefix("service:") in services, f"{name}: {mode}"
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            assert source in compose["volumes"], f"{name}: {source}"


def test_every_published_port_is_one_a_service_listens_on(services):
    listening = set()
    for service in services.values():
        command = " ".join(service.get("command", []))
        listening |= {int(p) for p in re.findall(r"--http-port=(\d+)", command)}
        if "CS3LAB_PORT" in env_of(service):
            listening.add(int(env_of(service)["CS3LAB_PORT"]))
        if service["image"] == "cs3lab-hub":
            hub_cmd = (DOCKER / "hub.Dockerfile").read_text()
            listening |= {int(p) for p in re.findall(r'"--port=(\d+)"', hub_cmd)}
    published = set()
    for service in services.values():
        for port in service.get("ports", []):
            host, _, inside = port.rpartition(":")
            assert host.startswith("127.0.0.1:"), port  # never on every interface
            published.add(int(inside))
    assert published == listening == {8080, 8000, 8888, 8889}


def test_site_descriptions_users_and_homes_exist(services):
    for name, service in services.items():
        if service["image"] != "cs3lab-site":
            continue
        descriptions = [a for a in service["command"] if a.endswith(".json")]
        assert descriptions, name
        for description in descriptions:
            desc = json.loads((SITES / description).read_text())
            if "--realm" in service["command"]:
                assert (SITES / desc["realm"]).is_file()
            if desc.get("realm") and "--realm" not in service["command"]:
                assert env_of(service)["CS3LAB_OIDC_ISSUER"].endswith("/realms/cs3lab")
    for name, service in services.items():
        env = env_of(service)
        if service["image"] != "cs3lab-jupyterlab":
            continue
        desc = json.loads((SITES / f"{env['CS3LAB_SITE']}.json").read_text())
        user = env["CS3LAB_USER"]
        assert user in [u["username"] for u in desc["users"]], name
        user_id = desc.get("user_id_template", "{username}").format(username=user)
        assert env["CS3LAB_HOME"] == desc["home_template"].format(user_id=user_id, username=user)


def referenced_paths(services) -> list[str]:
    """Every /run/cs3lab/... path the services read: the variables of the services that use
    the sites (a site's own are where it writes) and the health checks."""
    paths = []
    for service in services.values():
        reads = service["image"] != "cs3lab-site"
        values = list(env_of(service).values()) if reads else []
        values += [str(part) for part in service.get("healthcheck", {}).get("test", [])]
        paths += [v for v in values if v.startswith(f"{RUN}/") and "{" not in v]
    return paths


def test_the_files_compose_reads_are_the_ones_the_site_entrypoint_writes(services, tmp_path):
    """Run the site image's entrypoint here (real revads) as compose runs it: the realm, then
    the federation; every path compose reads in the volume is then there."""
    volume = tmp_path / "run"
    realm = services["realm"]
    federation = services["federation"]
    env = dict(os.environ) | {"CS3LAB_RUN_DIR": str(volume)}
    done = subprocess.run(
        [sys.executable, str(ENTRYPOINT), *realm["command"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    keycloak_import = next(v for v in services["keycloak"]["volumes"] if isinstance(v, dict))[
        "volume"
    ]["subpath"]
    assert list((volume / keycloak_import).glob("*.json")), keycloak_import

    fed_env = env_of(federation)
    folder = volume / Path(fed_env["CS3LAB_RUN_DIR"]).relative_to(RUN)
    log = tmp_path / "federation.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ENTRYPOINT), *federation["command"]],
            env=env | {"CS3LAB_RUN_DIR": str(folder), "TMPDIR": str(tmp_path)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ready = volume / Path(federation["healthcheck"]["test"][-1]).relative_to(RUN)
        deadline = time.monotonic() + READY_SECONDS
        while not ready.exists():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        missing = [
            path
            for path in referenced_paths(services)
            if not path.startswith(f"{RUN}/sso/")  # site-sso needs Keycloak: not started here
            and not (volume / Path(path).relative_to(RUN)).exists()
        ]
        assert missing == []
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
    assert not ready.exists()  # the markers go with the sites


def cs3lab_variables() -> set[str]:
    """Every CS3LAB_* name something reads: cs3lab itself, the entrypoints, the Hub's config."""
    sources = [*(REPO / "cs3lab").rglob("*.py"), *DOCKER.glob("*.sh"), ENTRYPOINT]
    sources += [REPO / "docs" / "jupyterhub_config.py", *SITES.glob("*.py")]
    text = "\n".join(path.read_text() for path in sources)
    return set(re.findall(r"\bCS3LAB_[A-Z_]+\b", text))


def test_every_variable_set_is_one_something_reads(services):
    known = cs3lab_variables()
    hub_entrypoint = (DOCKER / "hub-entrypoint.sh").read_text()
    values = yaml.safe_load((DOCKER / "z2jh-values.yaml").read_text())
    names = set(values["hub"]["extraEnv"])
    for service in services.values():
        names |= set(env_of(service))
    for name in sorted(names):
        if name.endswith("_FILE") and name != "CS3LAB_SECRET_FILE":
            assert name.removesuffix("_FILE") in hub_entrypoint, name
        elif name.startswith("CS3LAB_"):
            assert name in known, name


def test_the_helm_values_keep_kubespawner_and_mount_the_hub_config(tmp_path, monkeypatch):
    values = yaml.safe_load((DOCKER / "z2jh-values.yaml").read_text())
    hub = values["hub"]
    mount = hub["extraVolumeMounts"][0]
    assert mount["mountPath"].startswith("/usr/local/etc/jupyterhub/jupyterhub_config.d/")
    assert mount["name"] == hub["extraVolumes"][0]["name"]
    assert values["singleuser"]["image"]["name"].endswith("/cs3lab-jupyterlab")
    assert values["singleuser"]["cmd"] == "jupyterhub-singleuser"
    # The Hub's config, loaded with the chart's environment, leaves the spawner to the chart.
    env = {k: v for k, v in hub["extraEnv"].items() if isinstance(v, str)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(REPO / "docs")).load_config()
    assert "spawner_class" not in config.JupyterHub
    assert "cmd" not in config.Spawner
    assert config.Spawner.args == ["--ServerApp.contents_manager_class=cs3lab.CS3ContentsManager"]
    assert config.Spawner.environment["CS3LAB_GATEWAY"] == "cs3.example.org:443"
    assert config.GenericOAuthenticator.authorize_url.startswith(env["CS3LAB_OIDC_ISSUER"])
    # and without it, the compose Hub spawns local processes
    monkeypatch.delenv("CS3LAB_SPAWNER")
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(REPO / "docs")).load_config()
    assert config.JupyterHub.spawner_class == "simple"
