"""Run a CS3 site (a real revad) on loopback from a site description.

A site is data: a JSON file naming the site, its revad config template, its users and groups
(see ``site-a.json``), and which line of Reva runs it: ``"reva": "v2"`` for the Reva v2 line and
its decomposedfs driver ``ocis`` with native CS3 locks (``site-n.json``), else Reva v3 (the
``local`` driver of ``site-a.json``). :func:`start_site` builds that revad if needed
(``tools/revad/build.sh [v2]``; ``$CS3LAB_REVAD`` / ``$CS3LAB_REVAD_V2`` name a prebuilt one),
renders the config into a fresh temporary directory with free loopback ports and random
secrets (user passwords included: they exist only in that directory and in memory), starts
revad and waits until it answers a real ``Authenticate`` call. :meth:`Site.stop` ends the
process and removes the directory.

A site may run several revad processes (``"extra_templates"``: configs rendered with the
same values and ports, each started as a process of its own, for services whose gRPC APIs
clash in one server), and sites may federate through OCM: :func:`start_federation` starts
several sites at once, with their ports chosen up front, and gives each the same OCM
providers file (``$ocm_providers_file``) naming every site's domain and the real address of
its OCM API (site-fa.json, site-fb.json).

Used by the test fixtures (tests/conftest.py) and by the demo (scripts/demo.py). Named
site_runner, not site, so it never shadows Python's own `site` module.
"""

from __future__ import annotations

import functools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from known_secrets import remember

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BUILD_SCRIPT = REPO / "tools" / "revad" / "build.sh"
IDP = "http://127.0.0.1"
READY_TIMEOUT = 60.0
# Reva line -> environment variable naming a prebuilt binary (scripts/setup.sh exports both).
REVAD_ENV = {"v3": "CS3LAB_REVAD", "v2": "CS3LAB_REVAD_V2"}
# Reva v2 links ocis-pkg/log, whose init() sets go-micro's logger from MICRO_LOG_LEVEL (default
# "error", read into go-micro's level numbering, where it means fatal) and with it zerolog's
# *global* level: revad then logs nothing at all. "trace" lowers that floor to debug, so the
# [log] level of the config decides again.
REVAD_LAUNCH_ENV = {"v2": {"MICRO_LOG_LEVEL": "trace"}}


@dataclass
class SiteUser:
    username: str
    display_name: str
    mail: str
    groups: list[str]
    password: str = field(repr=False, default="")
    opaque_id: str = ""  # the user id's opaque_id (idp is IDP); the username unless the site says

    def __post_init__(self) -> None:
        self.opaque_id = self.opaque_id or self.username


@dataclass
class Site:
    name: str
    domain: str
    workdir: Path
    grpc_port: int
    http_port: int
    home_template: str
    users: dict[str, SiteUser]
    reva: str = "v3"  # the Reva line running the site: "v3" (driver local) or "v2" (ocis)
    shared_path: str = ""  # a project space all users share (site-n), see `shared`
    # Folder of each home where the site mounts accepted shares (site-n: the share jail).
    share_folder: str = ""
    process: subprocess.Popen | None = None
    log_file: Path | None = None
    # Further revad processes of the site (extra_templates), config path -> process.
    extra_processes: dict[Path, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # every $..._port of the configs

    @property
    def gateway(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def storage_root(self) -> Path:
        return self.workdir / "storage"

    def home(self, username: str) -> str:
        """CS3 path of the user's home: /localfs/alice on site-a, /users/alice-site-n on
        site-n (the ``home_template`` of the description, with {username} and {user_id})."""
        user = self.users[username]
        return self.home_template.format(username=username, user_id=user.opaque_id)

    @property
    def shared(self) -> str:
        """A CS3 folder every user of the site can read and write (for tests of several
        users on one file): the project space /projects/common on site-n; on site-a, whose
        local driver lets every user into every folder, the first user's home."""
        return self.shared_path or self.home(next(iter(self.users)))

    def user_id(self, username: str) -> tuple[str, str]:
        """(idp, opaque_id) of the user's CS3 UserId (type USER_TYPE_PRIMARY)."""
        return IDP, self.users[username].opaque_id

    def password(self, username: str) -> str:
        return self.users[username].password

    def secret_file(self, username: str) -> Path:
        """A file (in the run's temp dir, mode 0600) holding the user's password."""
        path = self.workdir / "secrets" / username
        if not path.exists():
            path.parent.mkdir(mode=0o700, exist_ok=True)
            path.write_text(self.password(username))
            path.chmod(0o600)
        return path

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_file or not self.log_file.exists():
            return "(no revad log)"
        tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        for config in self.extra_processes:
            log = config.with_suffix(".log")
            if log.exists():
                text = log.read_text(errors="replace").splitlines()[-lines // 3 :]
                tail += f"\n--- {log.name}\n" + "\n".join(text)
        return tail

    @property
    def ocm_endpoint(self) -> str:
        """Base URL of the site's OCM API (ocmd on the main HTTP server)."""
        return f"http://127.0.0.1:{self.http_port}/ocm/"

    def alive(self) -> bool:
        return (
            self.process is not None
            and self.process.poll() is None
            and all(p.poll() is None for p in self.extra_processes.values())
        )

    def stop(self, remove: bool = True) -> None:
        for process in [*self.extra_processes.values(), self.process]:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.extra_processes.values(), self.process]:
            if process is None:
                continue
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if remove:
            shutil.rmtree(self.workdir, ignore_errors=True)


_GIVEN_PORTS: set[int] = set()


def free_port() -> int:
    """A free loopback port, never one this process handed out before (sites started
    together pick all their ports before any revad binds one)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port


@functools.cache
def revad_binary(line: str = "v3") -> Path:
    """Path of the revad binary of a Reva line ("v3" or "v2"), built (once, cached under
    ~/.cache) if missing, unless $CS3LAB_REVAD (v3) or $CS3LAB_REVAD_V2 (v2) names one."""
    if line not in REVAD_ENV:
        raise ValueError(f"unknown reva line {line!r} (one of {', '.join(REVAD_ENV)})")
    explicit = os.environ.get(REVAD_ENV[line])
    if explicit:
        return Path(explicit)
    out = subprocess.run(
        ["bash", str(BUILD_SCRIPT), line], check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    return Path(out.strip().splitlines()[-1])


def load_description(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_absolute():
        path = HERE / path
    return json.loads(path.read_text())


def _users_json(users: dict[str, SiteUser], uid_base: int = 2000) -> list[dict]:
    return [
        {
            "username": u.username,
            "secret": u.password,
            "id": {"idp": IDP, "opaque_id": u.opaque_id, "type": 1},
            "display_name": u.display_name,
            "mail": u.mail,
            "mail_verified": True,
            "groups": u.groups,
            "uid_number": uid_base + i,
            "gid_number": uid_base,
        }
        for i, u in enumerate(users.values())
    ]


def _groups_json(groups: list[dict], users: dict[str, SiteUser]) -> list[dict]:
    return [
        {
            "id": {"idp": IDP, "opaque_id": g["name"]},
            "group_name": g["name"],
            "display_name": g["display_name"],
            "mail": f"{g['name']}@groups.invalid",
            "gid_number": 3000 + i,
            "members": [
                {"idp": IDP, "opaque_id": u.opaque_id, "type": 1}
                for u in users.values()
                if g["name"] in u.groups
            ],
        }
        for i, g in enumerate(groups)
    ]


def all_users(desc: dict) -> list[dict]:
    """The users a description names: its ``users``, then any ``numbered_users`` series
    (``{"prefix": "racer", "count": 20, "display_name": "Racer {n:02d}"}`` gives racer01 ...
    racer20, e.g. for tests where many people race for one lock)."""
    users = list(desc["users"])
    for series in desc.get("numbered_users", []):
        for n in range(1, series["count"] + 1):
            username = f"{series['prefix']}{n:02d}"
            users.append(
                {
                    "username": username,
                    "display_name": series["display_name"].format(n=n),
                    "mail": f"{username}@{desc['domain']}",
                    "groups": series.get("groups", []),
                }
            )
    return users


def start_site(
    description: str | Path | dict = "site-a.json",
    *,
    log_level: str = "info",
    token_expires: int = 3600,
    seed_homes: bool = True,
) -> Site:
    desc = description if isinstance(description, dict) else load_description(description)
    site, values, templates = _prepare_site(desc, log_level, token_expires)
    if "$ocm_providers_file" in "".join(t.template for t in templates.values()):
        _write_providers_file([(site, desc)])
    return _start_prepared(site, desc, values, templates, seed_homes)


def start_federation(
    descriptions: list[str | Path | dict],
    *,
    log_level: str = "info",
    token_expires: int = 3600,
    seed_homes: bool = True,
) -> list[Site]:
    """Start several sites that know each other through OCM: all ports are chosen first, so
    one providers file (each site's domain and the real address of its OCM API) can be
    given to all of them; then the sites start as :func:`start_site` starts one."""
    descs = [d if isinstance(d, dict) else load_description(d) for d in descriptions]
    prepared = [_prepare_site(desc, log_level, token_expires) for desc in descs]
    _write_providers_file(
        [(site, desc) for (site, _, _), desc in zip(prepared, descs, strict=True)]
    )
    started: list[Site] = []
    try:
        for (site, values, templates), desc in zip(prepared, descs, strict=True):
            started.append(_start_prepared(site, desc, values, templates, seed_homes))
    except Exception:
        for site in started:
            site.stop()
        raise
    return started


def ocm_provider(site: Site, desc: dict | None = None) -> dict:
    """The entry of ``site`` in an OCM providers file (Reva's json provider authorizer)."""
    host = f"127.0.0.1:{site.http_port}"
    return {
        "name": site.name,
        "full_name": (desc or {}).get("full_name", site.name),
        "organization": (desc or {}).get("organization", site.name),
        "domain": site.domain,
        "homepage": f"http://{host}",
        "description": f"cs3lab test site {site.name}",
        "services": [
            {
                "endpoint": {
                    "type": {"name": "OCM", "description": f"{site.name} Open Cloud Mesh API"},
                    "name": f"{site.name} - OCM API",
                    "path": site.ocm_endpoint,
                    "is_monitored": True,
                },
                "api_version": "0.0.1",
                "host": host,
            }
        ],
    }


def _write_providers_file(sites: list[tuple[Site, dict]]) -> None:
    providers = [ocm_provider(site, desc) for site, desc in sites]
    for site, _ in sites:
        (site.workdir / "ocm-providers.json").write_text(json.dumps(providers, indent=1))


def _prepare_site(
    desc: dict, log_level: str, token_expires: int
) -> tuple[Site, dict, dict[str, string.Template]]:
    """The site's temp dir, users, ports and template values; nothing started yet."""
    workdir = Path(tempfile.mkdtemp(prefix=f"cs3lab-{desc['name']}-"))
    # decomposedfs (ocis) makes a user's opaque id the id of their personal space and splits
    # it into 2-character folders: ids shorter than 9 characters break it (site-n.json).
    user_id = desc.get("user_id_template", "{username}")
    users = {
        u["username"]: SiteUser(
            u["username"],
            u["display_name"],
            u["mail"],
            u.get("groups", []),
            password=remember(
                f"{desc['name']} password of {u['username']}", secrets.token_urlsafe(18)
            ),
            opaque_id=user_id.format(username=u["username"]),
        )
        for u in all_users(desc)
    }
    site = Site(
        name=desc["name"],
        domain=desc["domain"],
        workdir=workdir,
        grpc_port=free_port(),
        http_port=free_port(),
        home_template=desc["home_template"],
        users=users,
        reva=desc.get("reva", "v3"),
    )
    site.share_folder = desc.get("share_folder", "")
    if desc.get("shared_space"):
        site.shared_path = f"{desc['projects_path']}/{desc['shared_space']}"
    # Service users (``"service_users"``: opaque ids), e.g. the one Reva's jsoncs3 share
    # manager signs in as with machine auth (site-n.json): in the users file, not site users.
    service = [
        {
            "username": f"service-{opaque_id[:8]}",
            "secret": secrets.token_urlsafe(18),
            "id": {"idp": IDP, "opaque_id": opaque_id, "type": 1},
            "display_name": "Service user",
            "mail": f"service-{opaque_id[:8]}@{desc['domain']}",
            "groups": [],
            "uid_number": 1900 + i,
            "gid_number": 1900,
        }
        for i, opaque_id in enumerate(desc.get("service_users", []))
    ]
    (workdir / "users.json").write_text(json.dumps(_users_json(users) + service, indent=1))
    (workdir / "groups.json").write_text(json.dumps(_groups_json(desc["groups"], users), indent=1))
    site.storage_root.mkdir()
    site.log_file = workdir / "revad.log"
    values = {
        "log_level": log_level,
        "log_file": str(site.log_file),
        "grpc_port": site.grpc_port,
        "http_port": site.http_port,
        # Where clients send file bytes (a test may put a proxy in front of the data gateway).
        "datagateway_url": f"http://127.0.0.1:{site.http_port}/datagateway",
        "jwt_secret": remember(f"{desc['name']} jwt_secret", secrets.token_hex(24)),
        "transfer_secret": remember(f"{desc['name']} transfer_secret", secrets.token_hex(24)),
        "machine_secret": remember(f"{desc['name']} machine_secret", secrets.token_hex(24)),
        "workdir": str(workdir),
        "mount_path": desc["mount_path"],
        "mount_id": desc["mount_id"],
        "public_mount_id": desc.get("public_mount_id", "public-links"),
        "storage_root": str(site.storage_root),
        "users_file": str(workdir / "users.json"),
        "groups_file": str(workdir / "groups.json"),
        "token_expires": token_expires,
        "projects_path": desc.get("projects_path", "/projects"),
        "domain": desc["domain"],
        "ocm_providers_file": str(workdir / "ocm-providers.json"),
        "max_quota": 0,
    } | desc.get("template_values", {})
    # The main config (revad.toml), then any further ones (one revad process each).
    templates = {"revad.toml": string.Template((HERE / desc["template"]).read_text())}
    for extra in desc.get("extra_templates", []):
        templates[f"revad-{Path(extra).stem.removeprefix('revad-')}.toml"] = string.Template(
            (HERE / extra).read_text()
        )
    # Every other $..._port of the templates (a service on an address of its own) gets a port.
    text = "".join(t.template for t in templates.values())
    for name in sorted(set(re.findall(r"\$(\w+_port)\b", text)) - set(values)):
        values[name] = free_port()
    site.ports = {k: v for k, v in values.items() if k.endswith("_port")}
    return site, values, templates


def _start_prepared(
    site: Site, desc: dict, values: dict, templates: dict[str, string.Template], seed_homes: bool
) -> Site:
    workdir = site.workdir
    users = site.users
    for name, template in templates.items():
        log_file = site.log_file if name == "revad.toml" else workdir / f"{Path(name).stem}.log"
        (workdir / name).write_text(template.substitute(values | {"log_file": str(log_file)}))
    _launch(site, workdir / "revad.toml")
    if seed_homes:
        try:
            for username in users:
                _seed_home(site, username)
            if site.shared_path:
                _seed_shared_space(site, desc["shared_space"])
        except Exception:
            site.stop(remove=False)
            print(f"revad log in {site.workdir}:\n{site.log_tail()}", file=sys.stderr)
            raise
    return site


def _seed_home(site: Site, username: str) -> None:
    """Make sure ``site.home(username)`` exists."""
    if site.reva == "v2":
        # ocis: the gateway creates the user's personal space (mounted at their home) on
        # their first Authenticate; check that it is there.
        from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
        from cs3.storage.provider.v1beta1 import resources_pb2 as res

        channel, stub, metadata = sync_login(site, username)
        with channel:
            ref = res.Reference(path=site.home(username))
            st = stub.Stat(sp.StatRequest(ref=ref), metadata=metadata)
            if st.status.code == 1 and site.share_folder:
                # The share jail answers for <home>/<share_folder> but the home's listing
                # does not show it: a folder of that name in the personal space (made by id,
                # past the jail) makes it appear there; everything under it is the jail's.
                made = stub.CreateContainer(
                    sp.CreateContainerRequest(
                        ref=res.Reference(resource_id=st.info.id, path=f"./{site.share_folder}")
                    ),
                    metadata=metadata,
                )
                if made.status.code not in (1, 7):  # OK, ALREADY_EXISTS
                    raise RuntimeError(f"cannot create {site.share_folder}: {made.status.message}")
        if st.status.code != 1:
            raise RuntimeError(f"no home for {username} at {ref.path}: {st.status.message}")
    else:
        # The local driver has no per-user homes: each user's home is a folder of the mount,
        # created through the gateway like any folder.
        sync_mkdir(site, username, site.home(username))


def _seed_shared_space(site: Site, name: str) -> None:
    """Create project space ``name`` as the first user, every other user a member with all
    permissions (grants on the space root, which put it into their space listing too)."""
    from cs3.identity.user.v1beta1 import resources_pb2 as user_res
    from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
    from cs3.storage.provider.v1beta1 import provider_api_pb2_grpc as sp_grpc
    from cs3.storage.provider.v1beta1 import resources_pb2 as res
    from cs3.storage.provider.v1beta1 import spaces_api_pb2 as spaces

    owner, *members = site.users
    full = res.ResourcePermissions(
        **{f.name: True for f in res.ResourcePermissions.DESCRIPTOR.fields if f.type == f.TYPE_BOOL}
    )
    channel, stub, metadata = sync_login(site, owner)
    with channel:
        made = stub.CreateStorageSpace(
            spaces.CreateStorageSpaceRequest(type="project", name=name), metadata=metadata
        )
        if made.status.code != 1:
            raise RuntimeError(f"cannot create project space {name}: {made.status.message}")
        # The gateway API has no AddGrant: ask the storage provider (same address) directly.
        provider = sp_grpc.ProviderAPIStub(channel)
        for username in members:
            idp, opaque_id = site.user_id(username)
            grantee = res.Grantee(
                type=res.GRANTEE_TYPE_USER,
                user_id=user_res.UserId(idp=idp, opaque_id=opaque_id, type=1),
            )
            added = provider.AddGrant(
                sp.AddGrantRequest(
                    ref=res.Reference(resource_id=made.storage_space.root),
                    grant=res.Grant(grantee=grantee, permissions=full),
                ),
                metadata=metadata,
            )
            if added.status.code != 1:
                raise RuntimeError(f"cannot add {username} to {name}: {added.status.message}")


def _spawn(site: Site, config: Path) -> subprocess.Popen:
    stdout = open(site.workdir / f"{config.stem}.stdout", "ab")
    try:
        return subprocess.Popen(
            [
                str(revad_binary(site.reva)),
                "-c",
                str(config),
                "-p",
                str(config.with_suffix(".pid")),
            ],
            cwd=site.workdir,
            env=REVAD_LAUNCH_ENV.get(site.reva, {}) | dict(os.environ),
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        stdout.close()  # the child holds its own copy


def _launch(site: Site, config: Path) -> None:
    """Start the site's main revad (``config``) and any further ones (the other revad*.toml
    of its directory), then wait until the site answers."""
    site.process = _spawn(site, config)
    site.extra_processes = {
        extra: _spawn(site, extra)
        for extra in sorted(site.workdir.glob("revad-*.toml"))
        if extra != config
    }
    try:
        _wait_ready(site)
    except Exception:
        site.stop(remove=False)
        print(f"revad failed to start; log in {site.workdir}:\n{site.log_tail()}", file=sys.stderr)
        raise


def restart_site(site: Site) -> Site:
    """Start a stopped site's revad again: same ports, same data, same users."""
    if site.alive():
        raise RuntimeError(f"{site.name} is still running")
    _launch(site, site.workdir / "revad.toml")
    return site


def _wait_ready(site: Site) -> None:
    """revad opens its ports before its services are ready: poll a real Authenticate."""
    import grpc
    from cs3.gateway.v1beta1 import gateway_api_pb2 as gw
    from cs3.gateway.v1beta1 import gateway_api_pb2_grpc as gw_grpc

    user = next(iter(site.users.values()))
    deadline = time.monotonic() + READY_TIMEOUT
    last = "no answer"
    with grpc.insecure_channel(site.gateway) as channel:
        stub = gw_grpc.GatewayAPIStub(channel)
        while time.monotonic() < deadline:
            if not site.alive():
                raise RuntimeError(f"revad exited with code {site.process.returncode}")
            try:
                res = stub.Authenticate(
                    gw.AuthenticateRequest(
                        type="basic", client_id=user.username, client_secret=user.password
                    ),
                    timeout=2,
                )
                if res.status.code == 1:  # CODE_OK
                    break
                last = f"{res.status.code} {res.status.message}"
            except grpc.RpcError as err:
                last = f"{err.code().name}"
            time.sleep(0.2)
        else:
            raise TimeoutError(f"revad at {site.gateway} not ready after {READY_TIMEOUT}s: {last}")
    # The site's further revad processes: each of the site's ports accepts connections.
    for name, port in site.ports.items() if site.extra_processes else ():
        while True:
            if not site.alive():
                raise RuntimeError(f"a revad process of {site.name} exited")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{site.name}: nothing listens on {name} {port}") from None
                time.sleep(0.1)


def sync_login(site: Site, username: str):
    """A blocking gateway stub and reva token for ``username`` (for fixtures and scripts)."""
    import grpc
    from cs3.gateway.v1beta1 import gateway_api_pb2 as gw
    from cs3.gateway.v1beta1 import gateway_api_pb2_grpc as gw_grpc

    channel = grpc.insecure_channel(site.gateway)
    stub = gw_grpc.GatewayAPIStub(channel)
    res = stub.Authenticate(
        gw.AuthenticateRequest(
            type="basic", client_id=username, client_secret=site.password(username)
        ),
        timeout=10,
    )
    if res.status.code != 1:
        raise RuntimeError(f"cannot sign in as {username}: {res.status.message}")
    return channel, stub, (("x-access-token", res.token),)


def sync_mkdir(site: Site, username: str, path: str) -> None:
    """Create a CS3 folder (and its missing parents) as ``username``, through the gateway."""
    from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
    from cs3.storage.provider.v1beta1 import resources_pb2 as res

    channel, stub, metadata = sync_login(site, username)
    with channel:
        parts = path.strip("/").split("/")
        # Climb to the deepest folder that exists, then create downwards: the mount points
        # above a home (/users on site-n) need not answer Stat.
        top = len(parts)
        while top > 0:
            current = "/" + "/".join(parts[:top])
            st = stub.Stat(sp.StatRequest(ref=res.Reference(path=current)), metadata=metadata)
            if st.status.code == 1:
                break
            top -= 1
        for i in range(top + 1, len(parts) + 1):
            current = "/" + "/".join(parts[:i])
            made = stub.CreateContainer(
                sp.CreateContainerRequest(ref=res.Reference(path=current)), metadata=metadata
            )
            if made.status.code != 1:
                raise RuntimeError(f"cannot create {current}: {made.status.message}")


def sync_upload(site: Site, username: str, path: str, data: bytes, lock_id: str = "") -> None:
    """Store ``data`` at ``path`` as ``username`` (InitiateFileUpload + HTTP PUT), with the
    holder's ``lock_id`` when the file carries a native lock."""
    import urllib.request

    from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
    from cs3.storage.provider.v1beta1 import resources_pb2 as res
    from cs3.types.v1beta1 import types_pb2

    # decomposedfs (site-n) needs the size up front, in the opaque map, or the PUT fails (500).
    size = types_pb2.OpaqueEntry(decoder="plain", value=str(len(data)).encode())
    channel, stub, metadata = sync_login(site, username)
    with channel:
        init = stub.InitiateFileUpload(
            sp.InitiateFileUploadRequest(
                ref=res.Reference(path=path),
                lock_id=lock_id,
                opaque=types_pb2.Opaque(map={"Upload-Length": size}),
            ),
            metadata=metadata,
        )
        if init.status.code != 1:
            raise RuntimeError(f"cannot upload {path}: {init.status.message}")
        # "simple" on storage providers, "spaces" on some (the ocmreceived storage at /ocm).
        by_name = {p.protocol: p for p in init.protocols}
        protocol = by_name.get("simple") or by_name["spaces"]
        request = urllib.request.Request(protocol.upload_endpoint, data=data, method="PUT")
        request.add_header("X-Reva-Transfer", protocol.token)
        request.add_header("x-access-token", dict(metadata)["x-access-token"])
        if lock_id:
            request.add_header("X-Lock-Id", lock_id)
        with urllib.request.urlopen(request, timeout=60):
            pass


def sync_public_link(
    site: Site,
    username: str,
    path: str,
    *,
    editor: bool = False,
    password: str = "",
    expires_at: float | None = None,
) -> str:
    """Create a public link on ``path`` as ``username``; return the link's token."""
    from cs3.sharing.link.v1beta1 import link_api_pb2 as link_api
    from cs3.sharing.link.v1beta1 import resources_pb2 as link_res
    from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
    from cs3.storage.provider.v1beta1 import resources_pb2 as res
    from cs3.types.v1beta1 import types_pb2

    read = dict(
        stat=True,
        list_container=True,
        initiate_file_download=True,
        get_path=True,
        list_file_versions=True,
    )
    write = (
        dict(
            initiate_file_upload=True,
            create_container=True,
            delete=True,
            move=True,
            restore_file_version=True,
        )
        if editor
        else {}
    )
    grant = link_res.Grant(
        permissions=link_res.PublicSharePermissions(
            permissions=res.ResourcePermissions(**read, **write)
        ),
        password=password,
    )
    if expires_at is not None:
        grant.expiration.CopyFrom(types_pb2.Timestamp(seconds=int(expires_at)))
    channel, stub, metadata = sync_login(site, username)
    with channel:
        info = stub.Stat(sp.StatRequest(ref=res.Reference(path=path)), metadata=metadata).info
        made = stub.CreatePublicShare(
            link_api.CreatePublicShareRequest(resource_info=info, grant=grant), metadata=metadata
        )
        if made.status.code != 1:
            raise RuntimeError(f"cannot create a public link on {path}: {made.status.message}")
        return made.share.token


def cs3_connection(site: Site, username: str, home: str | None = None) -> dict[str, str]:
    """cs3lab's CS3Connection settings for ``username`` of ``site``, rooted at ``home``
    (default: the user's home); the password is read from the site's secret file."""
    return {
        "gateway": site.gateway,
        "site_name": site.name,
        "auth_mode": "basic",
        "username": username,
        "secret_file": str(site.secret_file(username)),
        "home": home or site.home(username),
    }


def cs3lab_server_args(site: Site, username: str, home: str | None = None) -> list[str]:
    """Command-line settings that make a Jupyter server serve ``username``'s CS3 files on
    ``site`` through cs3lab (the password is read from the site's secret file)."""
    return [
        "--ServerApp.contents_manager_class=cs3lab.CS3ContentsManager",
        *(f"--CS3Connection.{k}={v}" for k, v in cs3_connection(site, username, home).items()),
        # Reva v3's local driver answers GetQuota with its disk (statfs), not a quota.
        f"--CS3Connection.storage_reports_quota={site.reva != 'v3'}",
    ]
