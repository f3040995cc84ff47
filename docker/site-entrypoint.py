"""Entrypoint of the site image: CS3 sites started by tools/sites/site_runner.py.

``site_runner`` runs revad on free loopback ports with random per-run passwords in a fresh
temporary directory (here under $TMPDIR = /run/cs3lab, a volume), exactly as in the tests and
the demo. revad listens on 127.0.0.1 only, so the other containers join one network namespace
(docker/compose.yaml) and read from the shared volume, once the sites are ready.

  site-entrypoint.py [SITE.json ...]
      One site (default site-a.json), or several with OCM between them (start_federation).
      For each site, in $CS3LAB_RUN_DIR/<site name>/:
        gateway   host:port of its gateway (written last: the readiness marker)
        current   a symlink to its temporary directory, whose secrets/<user> files
                  (mode 0600) hold each user's password
      and for the first site also $CS3LAB_RUN_DIR/gateway, site (its name) and current.
      A description with a "realm" (single sign-on, e.g. site-sso.json) takes its issuer
      from $CS3LAB_OIDC_ISSUER. SIGTERM or SIGINT stops revad and removes all of it.

  site-entrypoint.py --realm SITE.json
      Write Keycloak's realm import for SITE's users (fresh random passwords, a fresh client
      secret) and exit: $CS3LAB_RUN_DIR/keycloak/import/<realm>.json for Keycloak's
      --import-realm, and in $CS3LAB_RUN_DIR/keycloak/secrets/ (mode 0600) client-secret,
      crypt-key (the Hub's JUPYTERHUB_CRYPT_KEY) and one file per user (their password).
      Kept if already there, so a restart keeps the same passwords.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools" / "sites"))

import keycloak_runner
import site_runner

RUN = Path(os.environ.get("CS3LAB_RUN_DIR", "/run/cs3lab"))
MARKERS = ("gateway", "site", "current")


def write_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    path.write_text(value)


def write_realm(description: str) -> int:
    """The realm import and its secrets for Keycloak (see the module's docstring)."""
    desc = site_runner.load_description(description)
    template = json.loads((site_runner.HERE / desc["realm"]).read_text())
    folder = RUN / "keycloak"
    realm_file = folder / "import" / f"{template['realm']}.json"
    if realm_file.exists():
        print(f"{realm_file} is there: kept", flush=True)
        return 0
    users = [
        keycloak_runner.KeycloakUser(
            u["username"], u["display_name"], u["mail"], secrets.token_urlsafe(18)
        )
        for u in site_runner.all_users(desc) + desc.get("idp_only_users", [])
    ]
    client_secret = secrets.token_urlsafe(24)
    for user in users:
        write_secret(folder / "secrets" / user.username, user.password)
    write_secret(folder / "secrets" / "client-secret", client_secret)
    write_secret(folder / "secrets" / "crypt-key", secrets.token_hex(32))
    realm = keycloak_runner.realm_json(template, users, client_secret)
    partial = realm_file.with_suffix(".partial")
    write_secret(partial, json.dumps(realm))  # Keycloak's image runs as uid 1000 too
    partial.rename(realm_file)
    names = ", ".join(u.username for u in users)
    print(f"realm {template['realm']} for {names}: {realm_file}", flush=True)
    return 0


def publish(site: site_runner.Site, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for username in site.users:
        site.secret_file(username)
    (folder / "current").symlink_to(site.workdir)
    if folder == RUN:
        (folder / "site").write_text(site.name + "\n")
    ready = folder / "gateway.tmp"
    ready.write_text(site.gateway + "\n")
    ready.rename(folder / "gateway")


def clear_markers() -> None:
    """No readiness marker of this or an earlier run stays: here and in each site's folder."""
    folders = [RUN, *(p for p in RUN.iterdir() if p.is_dir() and not p.is_symlink())]
    for folder in folders:
        for marker in MARKERS:
            (folder / marker).unlink(missing_ok=True)


def start(descriptions: list[str]) -> list[site_runner.Site]:
    issuer = os.environ.get("CS3LAB_OIDC_ISSUER", "")
    descs = []
    for name in descriptions:
        desc = site_runner.load_description(name)
        if desc.get("realm"):
            if not issuer:
                raise SystemExit(f"{name} signs users in with OIDC: set CS3LAB_OIDC_ISSUER")
            desc["template_values"] = desc.get("template_values", {}) | {"oidc_issuer": issuer}
        descs.append(desc)
    if len(descs) == 1:
        return [site_runner.start_site(descs[0])]
    return site_runner.start_federation(descs)


def serve(descriptions: list[str]) -> int:
    stop: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, _frame: stop.append(signum))

    RUN.mkdir(parents=True, exist_ok=True)
    clear_markers()
    # Leftovers of a run that was killed without a chance to clean up (the volume persists).
    for old in RUN.glob("cs3lab-*"):
        shutil.rmtree(old, ignore_errors=True)
    sites = start(descriptions)
    names = [site.name for site in sites]
    try:
        for site in sites:
            publish(site, RUN / site.name)
        publish(sites[0], RUN)
        for site in sites:
            users = ", ".join(f"{u.username} ({u.display_name})" for u in site.users.values())
            print(f"{site.name} is up: gateway {site.gateway}, users {users}", flush=True)
            print(f"secret files: {RUN / site.name / 'current' / 'secrets'}/<user>", flush=True)
        while not stop and all(site.alive() for site in sites):
            time.sleep(1)
        if not stop:
            dead = next(site for site in sites if not site.alive())
            print(f"revad exited unexpectedly:\n{dead.log_tail()}", file=sys.stderr, flush=True)
            return 1
        print(f"stopping {', '.join(names)}", flush=True)
        return 0
    finally:
        clear_markers()
        for site in sites:
            site.stop()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--realm"]:
        if len(argv) != 2:
            raise SystemExit("usage: site-entrypoint.py --realm SITE.json")
        return write_realm(argv[1])
    return serve(argv or ["site-a.json"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
