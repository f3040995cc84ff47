"""``jupyter cs3lab check`` and ``jupyter cs3lab config``, run as the CLI (a subprocess) against
real revads: a healthy site, a stopped one, wrong credentials, an expired reva token; and the
configuration reference (docs/configuration.md), which must match the code."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import site_runner
from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
from cs3.storage.provider.v1beta1 import resources_pb2 as res

from cs3lab.check import PROBE_PREFIX
from cs3lab.config import CS3Connection
from cs3lab.cs3.auth import token_expiry
from cs3lab.settings import MASK, reference_markdown

REPO = Path(__file__).resolve().parent.parent
CLI_SECONDS = 180  # a generous bound for a loaded machine; the runs take seconds


def cs3lab_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``python -m cs3lab.cli ARGS`` with only the given CS3LAB_* variables and Jupyter's
    config dir in ``tmp_path`` (where a test may write jupyter_server_config.py)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CS3LAB_", "JUPYTER_"))}
    clean |= {"PYTHONPATH": str(REPO), "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    return subprocess.run(
        [sys.executable, "-m", "cs3lab.cli", *args],
        env=clean | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=CLI_SECONDS,
    )


def lines_of(out: str) -> dict[str, str]:
    """{check name: its whole line} of check's output."""
    found = {}
    for line in out.splitlines():
        rest = line.split(None, 1)[1]
        name = next(n for n in CHECKS if rest.startswith(n))
        found[name] = line
    return found


CHECKS = (
    "gateway",
    "credentials",
    "home",
    "data gateway",
    "locks",
    "versions",
    "recycle bin",
    "sharing",
    "OCM",
    "public links",
    "kernel mount",
)


def env_for(site, user: str = "alice", **more: str) -> dict[str, str]:
    return {
        "CS3LAB_GATEWAY": site.gateway,
        "CS3LAB_USER": user,
        "CS3LAB_SECRET_FILE": str(site.secret_file(user)),
        "CS3LAB_HOME": site.home(user),
    } | more


def leftovers(site, user: str) -> list[str]:
    """Names of check probes left in the user's home or recycle bin."""
    channel, stub, metadata = site_runner.sync_login(site, user)
    with channel:
        home = res.Reference(path=site.home(user))
        listed = stub.ListContainer(sp.ListContainerRequest(ref=home), metadata=metadata)
        binned = stub.ListRecycle(sp.ListRecycleRequest(ref=home), metadata=metadata)
    names = [i.path.rsplit("/", 1)[-1] for i in listed.infos]
    names += [i.ref.path.rsplit("/", 1)[-1] for i in binned.recycle_items]
    return [n for n in names if n.startswith(PROBE_PREFIX)]


@pytest.mark.sites("site-a", "site-n")
def test_check_of_a_healthy_site_says_ok(site, tmp_path):
    """Configured as the server is (jupyter_server_config.py), every check a user needs is
    ok, the lock kind is the storage's, and the probe file is gone from home and bin."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "jupyter_server_config.py").write_text(
        "c.ServerApp.contents_manager_class = 'cs3lab.CS3ContentsManager'\n"
        f"c.CS3Connection.gateway = {site.gateway!r}\n"
        "c.CS3Connection.username = 'alice'\n"
        f"c.CS3Connection.secret_file = {str(site.secret_file('alice'))!r}\n"
        f"c.CS3Connection.home = {site.home('alice')!r}\n"
        "c.CS3Sharing.public_link_base = 'https://links.example.org/s/'\n"
    )
    done = cs3lab_cli(tmp_path, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = lines_of(done.stdout)
    assert list(lines) == list(CHECKS)
    for name in ("gateway", "credentials", "home", "data gateway", "locks", "recycle bin"):
        assert lines[name].startswith("ok"), lines[name]
    assert f"{site.gateway} (TLS off) answers" in lines["gateway"]
    assert "accepted: alice (Alice Anders)" in lines["credentials"]
    assert "the reva token expires at" in lines["credentials"]
    kind = "native CS3 locks" if site.reva == "v2" else "fallback"
    assert kind in lines["locks"]
    if site.reva == "v2":  # site-n runs no public link service: a warning, not a failure
        assert lines["public links"].startswith("warn  public links  the link service is not")
    else:
        assert "links open at https://links.example.org/s/<token>" in lines["public links"]
    assert "Traceback" not in done.stderr
    assert leftovers(site, "alice") == []


def test_check_with_wrong_password_says_refused(site_a, tmp_path):
    secret = tmp_path / "wrong"
    secret.write_text("not-the-password")
    done = cs3lab_cli(tmp_path, "check", **env_for(site_a, CS3LAB_SECRET_FILE=str(secret)))
    assert done.returncode == 1
    lines = lines_of(done.stdout)
    assert lines["gateway"].startswith("ok")
    assert lines["credentials"].startswith("FAIL  credentials   refused: ")
    assert "did not accept the credentials of alice" in lines["credentials"]
    assert lines["home"].startswith("skip")
    assert "credentials failed" in done.stderr and "Traceback" not in done.stderr
    assert "not-the-password" not in done.stdout + done.stderr


@pytest.fixture
def short_lived_site():
    """A site of its own whose reva tokens live one second (the test stops it)."""
    site = site_runner.start_site("site-a.json", token_expires=1, seed_homes=False)
    yield site
    site.stop()


def test_check_with_expired_token_then_stopped_site(short_lived_site, tmp_path):
    """A reva token from a site whose token manager expires them after a second is refused
    once expired; then the site is stopped and check says the gateway is unreachable."""
    site = short_lived_site
    channel, _, metadata = site_runner.sync_login(site, "alice")
    channel.close()
    token = dict(metadata)["x-access-token"]
    expiry = token_expiry(token)
    assert expiry is not None
    (tmp_path / "token").write_text(token)
    while time.time() <= expiry:  # at most the token's one second
        time.sleep(0.2)
    env = env_for(site, CS3LAB_AUTH_MODE="token", CS3LAB_SECRET_FILE=str(tmp_path / "token"))
    done = cs3lab_cli(tmp_path, "check", **env)
    assert done.returncode == 1, done.stdout + done.stderr
    line = lines_of(done.stdout)["credentials"]
    assert line.startswith("FAIL  credentials   refused: the reva token expired at "), line
    assert token not in done.stdout + done.stderr

    site.stop(remove=False)
    done = cs3lab_cli(tmp_path, "check", **env)
    assert done.returncode == 1
    lines = lines_of(done.stdout)
    assert lines["gateway"].startswith(
        f"FAIL  gateway       unreachable: nothing answers at {site.gateway}"
    )
    assert all(lines[n].startswith("skip") for n in CHECKS[1:-2])
    assert "gateway failed" in done.stderr and "Traceback" not in done.stderr


def test_config_prints_effective_values_with_secrets_masked(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    jwt_like = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    (config / "jupyter_server_config.py").write_text(
        "c.CS3Connection.gateway = 'cs3.example.org:443'\n"
        "c.CS3Connection.tls = True\n"
        f"c.CS3Connection.username = {jwt_like!r}\n"
        "c.CS3Sharing.public_link_base = 'https://links.example.org/s/'\n"
    )
    done = cs3lab_cli(
        tmp_path, "config", CS3LAB_HOME="/eos/{username}", CS3LAB_SECRET="the-password-1"
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "c.CS3Connection.gateway = 'cs3.example.org:443'  # configured" in out
    assert "c.CS3Connection.tls = True  # configured" in out
    assert "c.CS3Connection.home = '/eos/{username}'  # from CS3LAB_HOME" in out
    assert "c.CS3Connection.auth_mode = 'basic'  # default" in out
    assert f"c.CS3Connection.username = {MASK!r}" in out
    assert "the secret is read from $CS3LAB_SECRET (set; never shown)" in out
    assert "c.CS3LabApp.kernel_mount = True  # default" in out
    assert "the-password-1" not in out and jwt_like not in out


def test_check_with_invalid_configuration_says_so(tmp_path):
    done = cs3lab_cli(tmp_path, "check", CS3LAB_GATEWAY="127.0.0.1:1", CS3LAB_AUTH_MODE="kerberos")
    assert done.returncode == 2
    assert done.stderr.startswith("Invalid cs3lab configuration: The 'auth_mode' trait")
    assert "Traceback" not in done.stderr


def test_configuration_reference_is_up_to_date():
    """docs/configuration.md is what the traits say; regenerate it with
    ``jupyter cs3lab config --reference > docs/configuration.md``."""
    written = (REPO / "docs" / "configuration.md").read_text()
    assert written == reference_markdown(), (
        "docs/configuration.md is out of date: run "
        "`python -m cs3lab.cli config --reference > docs/configuration.md`"
    )


def test_each_environment_variable_sets_its_option(monkeypatch):
    """The ``env`` tag of each CS3Connection option is the variable its default reads."""
    samples = {
        "tls": ("1", True),
        "allow_insecure_data_transfers": ("yes", True),
        "storage_reports_quota": ("0", False),
        "auth_mode": ("token", "token"),
        "home": ("/h/{username}",) * 2,
        "revalidate_seconds": ("0.5", 0.5),
    }
    tagged = {n: t.metadata.get("env", "") for n, t in CS3Connection.class_traits().items()}
    tagged = {n: env for n, env in tagged.items() if env}
    assert set(tagged) == {
        "gateway",
        "site_name",
        "tls",
        "ca_file",
        "allow_insecure_data_transfers",
        "storage_reports_quota",
        "auth_mode",
        "username",
        "secret_file",
        "home",
        "revalidate_seconds",
    }
    for name, env in tagged.items():
        raw, expected = samples.get(name, (f"value-of-{name}",) * 2)
        monkeypatch.setenv(env, raw)
        assert getattr(CS3Connection(), name) == expected, env
        monkeypatch.delenv(env)
