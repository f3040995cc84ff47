"""Run Keycloak (the identity provider of the SSO tests) on loopback, from a realm described
as data (``realm-cs3lab.json``: realm settings and the JupyterHub client) and the users of a
site description.

The distribution is Maven Central's ``org.keycloak:keycloak-quarkus-dist`` zip, fetched once
with ``mvn dependency:get`` and unpacked into ``$CS3LAB_CACHE/keycloak-<version>`` (default
``~/.cache/cs3lab``); it needs Java 21+ (``$CS3LAB_KEYCLOAK_JAVA_HOME``, default Temurin 25 at
:data:`JAVA_HOME`). Each run gets a Keycloak home of its own in a temporary directory: its
``bin``, ``conf`` and the small ``lib/quarkus`` build are copies, the 160 MB of jars and the
themes are symlinks into the cache, and its ``data`` (the realm to import, logs, transaction
logs) is its own. The database is in memory (``--db=dev-mem``), so nothing is ever written
into the cache by a run, except once: ``start-dev`` first re-builds the server for dev mode
(~25 s); the first run keeps that build as ``lib/quarkus-dev`` in the cache and later runs
start from it.

Secrets (user passwords, the client secret, the bootstrap admin's password) are generated per
run; they live in memory, in the run's realm file (mode 0600, in the run's temp dir) and in
Keycloak's environment, never on a command line or in the repository.

``python3 tools/sites/keycloak_runner.py`` (scripts/setup.sh's setup_keycloak) downloads,
unpacks and warms the cache: one start and stop. Only the standard library is used, so it runs
before any virtual environment exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from known_secrets import remember

HERE = Path(__file__).resolve().parent
KEYCLOAK_VERSION = "26.5.6"
ARTIFACT = ("org.keycloak", "keycloak-quarkus-dist", KEYCLOAK_VERSION, "zip")
JAVA_HOME = "/usr/lib/jvm/temurin-25-jdk-amd64"
READY_TIMEOUT = 600.0  # ~30 s on an idle machine; the first start of a fresh cache builds too
DEV_BUILD = "quarkus-dev"  # lib/<this> in the cache: the dev-mode build of the first run


def cache_root() -> Path:
    return Path(os.environ.get("CS3LAB_CACHE") or Path.home() / ".cache" / "cs3lab")


def java_home() -> Path:
    """A Java 21+ home for Keycloak 26, or a RuntimeError that says what is missing."""
    home = Path(os.environ.get("CS3LAB_KEYCLOAK_JAVA_HOME") or JAVA_HOME)
    if not (home / "bin" / "java").is_file():
        raise RuntimeError(
            f"Keycloak {KEYCLOAK_VERSION} needs Java 21 or newer, looked for it in {home} "
            "(no bin/java there): install a JDK 21+ (e.g. Temurin 25) and point "
            "CS3LAB_KEYCLOAK_JAVA_HOME at it"
        )
    return home


def _maven_zip() -> Path:
    group, artifact, version, ext = ARTIFACT
    repo = Path(os.environ.get("CS3LAB_M2_REPOSITORY") or Path.home() / ".m2" / "repository")
    path = repo / Path(*group.split(".")) / artifact / version / f"{artifact}-{version}.{ext}"
    if path.is_file():
        return path
    if not shutil.which("mvn"):
        raise RuntimeError(
            f"Keycloak {version} is not in {cache_root()} and Maven (mvn) is missing to fetch "
            f"{':'.join(ARTIFACT)} from Maven Central: install maven"
        )
    print(f"fetching {':'.join(ARTIFACT)} with Maven (165 MB)", file=sys.stderr)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "dependency:get",
            f"-Dartifact={':'.join(ARTIFACT)}",
            "-Dtransitive=false",
            f"-Dmaven.repo.local={repo}",
        ],
        check=True,
        stdout=sys.stderr,
    )
    return path


def keycloak_dist() -> Path:
    """The unpacked distribution in the cache (fetched and unpacked on first use)."""
    dist = cache_root() / f"keycloak-{KEYCLOAK_VERSION}"
    if (dist / "bin" / "kc.sh").is_file():
        return dist
    archive = _maven_zip()
    dist.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{dist.name}.", dir=dist.parent))
    try:
        subprocess.run(["unzip", "-q", str(archive), "-d", str(scratch)], check=True)
        with contextlib.suppress(OSError):  # another run may have unpacked it meanwhile
            (scratch / f"keycloak-{KEYCLOAK_VERSION}").rename(dist)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not (dist / "bin" / "kc.sh").is_file():
        raise RuntimeError(f"unpacking {archive} gave no {dist}/bin/kc.sh")
    return dist


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_home(dist: Path, workdir: Path) -> Path:
    """A Keycloak home of this run: copies of what Keycloak writes, links to what it reads."""
    home = workdir / "keycloak"
    (home / "lib").mkdir(parents=True)
    (home / "providers").mkdir()
    (home / "data" / "import").mkdir(parents=True)
    shutil.copytree(dist / "bin", home / "bin", ignore=shutil.ignore_patterns("client"))
    shutil.copytree(dist / "conf", home / "conf")
    (home / "themes").symlink_to(dist / "themes")
    (home / "lib" / "lib").symlink_to(dist / "lib" / "lib")
    shutil.copytree(dist / "lib" / "app", home / "lib" / "app")
    shutil.copy2(dist / "lib" / "quarkus-run.jar", home / "lib")
    built = dist / "lib" / DEV_BUILD
    shutil.copytree(built if built.is_dir() else dist / "lib" / "quarkus", home / "lib" / "quarkus")
    return home


def _keep_dev_build(dist: Path, home: Path) -> None:
    """Keep this run's dev-mode build for the next runs (once; atomic)."""
    target = dist / "lib" / DEV_BUILD
    if target.is_dir():
        return
    scratch = Path(tempfile.mkdtemp(prefix=f"{DEV_BUILD}.", dir=dist / "lib"))
    try:
        shutil.copytree(home / "lib" / "quarkus", scratch / "build")
        with contextlib.suppress(OSError):
            (scratch / "build").rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@dataclass
class KeycloakUser:
    username: str
    display_name: str
    mail: str
    password: str = field(repr=False, default="")


@dataclass
class Keycloak:
    """A running Keycloak with one realm; see :func:`start_keycloak`."""

    workdir: Path
    port: int
    realm: str
    client_id: str
    client_secret: str = field(repr=False)
    users: dict[str, KeycloakUser] = field(repr=False)
    admin_password: str = field(repr=False)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer(self) -> str:
        """The ``iss`` of the realm's tokens (what Reva's oidc auth manager must allow)."""
        return f"{self.base_url}/realms/{self.realm}"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def endpoints(self) -> str:
        return f"{self.issuer}/protocol/openid-connect"

    @property
    def log_file(self) -> Path:
        return self.workdir / "keycloak.log"

    def password(self, username: str) -> str:
        return self.users[username].password

    def secret_file(self, name: str, value: str) -> Path:
        """Write ``value`` to a file of the run's temp dir (mode 0600); return its path."""
        folder = self.workdir / "secrets"
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / name
        path.touch(mode=0o600)
        path.write_text(value)
        return path

    def _post(self, url: str, form: dict[str, str]) -> dict:
        data = urllib.parse.urlencode(form).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data), timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"Keycloak refused {url}: {err.code} {err.read()[:300]!r}") from None

    def password_grant(self, username: str) -> dict:
        """Tokens of ``username`` from the realm (OAuth2 password grant of the Hub's client):
        ``access_token`` (a JWT), ``refresh_token``, ``id_token``, ``expires_in``."""
        return self._post(
            f"{self.endpoints}/token",
            {
                "grant_type": "password",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "username": username,
                "password": self.password(username),
                "scope": "openid",
            },
        )

    def _admin(self, method: str, path: str, body: dict | None = None) -> dict | list | None:
        token = self._post(
            f"{self.base_url}/realms/master/protocol/openid-connect/token",
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": "admin",
                "password": self.admin_password,
            },
        )["access_token"]
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base_url}/admin/realms/{self.realm}{path}", data, method=method
        )
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    @contextlib.contextmanager
    def realm_settings(self, **values: int) -> Iterator[None]:
        """The realm's settings ``values`` (e.g. ``ssoSessionMaxLifespan=40``) while the
        block runs, restored afterwards."""
        realm = self._admin("GET", "")
        before = {name: realm[name] for name in values}
        self._admin("PUT", "", values)
        try:
            yield
        finally:
            self._admin("PUT", "", before)

    def token_lifespan(self, seconds: int) -> contextlib.AbstractContextManager[None]:
        """Access tokens issued meanwhile live ``seconds`` (the realm's setting, restored
        afterwards): for tests of expired and refreshed tokens."""
        return self.realm_settings(accessTokenLifespan=seconds)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return "(no keycloak log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, remove: bool = True) -> None:
        """End kc.sh and its java (one process group of our own), remove the run's dir."""
        if self.process is not None:
            end_process(self.process, group=True)
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)


def end_process(process: subprocess.Popen, *, group: bool) -> None:
    """SIGTERM to ``process`` (to its whole process group with ``group``), SIGKILL to the
    group after 30 s. The process must lead a group of its own (start_new_session)."""
    if process.poll() is None:
        if group:
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def realm_json(template: dict, users: list[KeycloakUser], client_secret: str) -> dict:
    """The realm to import: ``template`` with its users (passwords set) and the first
    confidential client's secret filled in."""
    realm = json.loads(json.dumps(template))
    for client in realm.get("clients", []):
        if not client.get("publicClient"):
            client["secret"] = client_secret
            break
    realm["users"] = []
    for user in users:
        first, _, last = user.display_name.partition(" ")
        realm["users"].append(
            {
                "username": user.username,
                "enabled": True,
                "email": user.mail,
                "emailVerified": True,
                "firstName": first,
                "lastName": last or first,
                "credentials": [{"type": "password", "value": user.password, "temporary": False}],
            }
        )
    return realm


def start_keycloak(
    users: list[dict],
    realm: str | Path = "realm-cs3lab.json",
    *,
    ready_timeout: float = READY_TIMEOUT,
) -> Keycloak:
    """Start Keycloak with the realm of ``realm`` (a file next to the site descriptions) and
    ``users`` (dicts with username, display_name, mail: a site description's users), each
    with a fresh random password. Returns when the realm's discovery document answers."""
    java = java_home()
    dist = keycloak_dist()
    template = json.loads((HERE / realm).read_text())
    client = next(c for c in template["clients"] if not c.get("publicClient"))
    workdir = Path(tempfile.mkdtemp(prefix="cs3lab-keycloak-"))
    kc_users = [
        KeycloakUser(
            u["username"],
            u["display_name"],
            u["mail"],
            remember(f"Keycloak password of {u['username']}", secrets.token_urlsafe(18)),
        )
        for u in users
    ]
    keycloak = Keycloak(
        workdir=workdir,
        port=_free_port(),
        realm=template["realm"],
        client_id=client["clientId"],
        client_secret=remember("Keycloak client secret", secrets.token_urlsafe(24)),
        users={u.username: u for u in kc_users},
        admin_password=remember("Keycloak admin password", secrets.token_urlsafe(18)),
    )
    try:
        home = _run_home(dist, workdir)
        realm_file = home / "data" / "import" / f"{keycloak.realm}.json"
        realm_file.touch(mode=0o600)
        realm_file.write_text(json.dumps(realm_json(template, kc_users, keycloak.client_secret)))
        env = dict(os.environ) | {
            "JAVA_HOME": str(java),
            "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
            "KC_BOOTSTRAP_ADMIN_PASSWORD": keycloak.admin_password,
            # Less CPU for a short-lived server: no optimising JIT tier.
            "JAVA_OPTS_APPEND": "-XX:TieredStopAtLevel=1",
        }
        with open(keycloak.log_file, "ab") as log:
            keycloak.process = subprocess.Popen(
                [
                    str(home / "bin" / "kc.sh"),
                    "start-dev",
                    "--http-host=127.0.0.1",
                    f"--http-port={keycloak.port}",
                    "--db=dev-mem",
                    "--import-realm",
                ],
                cwd=home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_ready(keycloak, ready_timeout)
        _keep_dev_build(dist, home)
    except BaseException:
        keycloak.stop(remove=False)
        print(f"Keycloak did not start; log in {workdir}:\n{keycloak.log_tail()}", file=sys.stderr)
        raise
    return keycloak


def _wait_ready(keycloak: Keycloak, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not keycloak.alive():
            raise RuntimeError(f"Keycloak exited with code {keycloak.process.returncode}")
        try:
            with urllib.request.urlopen(keycloak.discovery_url, timeout=5) as response:
                if json.loads(response.read()).get("issuer") == keycloak.issuer:
                    return
        except (OSError, ValueError) as err:
            last = str(err)
        time.sleep(0.5)
    raise TimeoutError(f"Keycloak at {keycloak.base_url} not ready after {timeout:.0f} s: {last}")


def main() -> None:
    """Fetch, unpack and warm the cache (setup_keycloak): unless that was done before, one
    start with one user, a password grant, a stop."""
    started = time.monotonic()
    java_home()
    dist = keycloak_dist()
    if (dist / "lib" / DEV_BUILD).is_dir():
        print(f"Keycloak {KEYCLOAK_VERSION} in {dist} (with its dev-mode build)")
        return
    print(f"Keycloak {KEYCLOAK_VERSION} in {dist}: a first start (builds for dev mode)")
    keycloak = start_keycloak(
        [{"username": "probe", "display_name": "Probe User", "mail": "probe@cs3lab.test"}],
        ready_timeout=900,
    )
    try:
        tokens = keycloak.password_grant("probe")
        print(
            f"Keycloak answered at {keycloak.issuer} (a {tokens['expires_in']} s access token) "
            f"after {time.monotonic() - started:.0f} s"
        )
    finally:
        keycloak.stop()


if __name__ == "__main__":
    main()
