"""Entrypoint of the site image: a CS3 site started by tools/sites/site_runner.py.

``site_runner.start_site`` runs revad on free loopback ports with random per-run passwords in
a fresh temporary directory (here under $TMPDIR = /run/cs3lab, a volume), exactly as in the
tests and the demo. revad listens on 127.0.0.1 only, so the JupyterLab container joins this
container's network namespace (compose: ``network_mode: service:site``) and reads from the
shared volume, once the site is ready:

  $CS3LAB_RUN_DIR/gateway   host:port of the gateway (written last: the readiness marker)
  $CS3LAB_RUN_DIR/site      the site's name
  $CS3LAB_RUN_DIR/current   a symlink to the site's temporary directory, whose
                            secrets/<user> files (mode 0600) hold each user's password

SIGTERM or SIGINT stops revad and removes the temporary directory and these files.
Usage: site-entrypoint.py [site description, default site-a.json]
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools" / "sites"))

import site_runner  # noqa: E402

RUN = Path(os.environ.get("CS3LAB_RUN_DIR", "/run/cs3lab"))
MARKERS = ("gateway", "site", "current")


def clear_markers() -> None:
    for name in MARKERS:
        (RUN / name).unlink(missing_ok=True)


def main() -> int:
    description = sys.argv[1] if len(sys.argv) > 1 else "site-a.json"
    stop: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, _frame: stop.append(signum))

    RUN.mkdir(parents=True, exist_ok=True)
    clear_markers()
    # Leftovers of a run that was killed without a chance to clean up (the volume persists).
    for old in RUN.glob("cs3lab-*"):
        shutil.rmtree(old, ignore_errors=True)

    site = site_runner.start_site(description)
    try:
        for username in site.users:
            site.secret_file(username)
        (RUN / "current").symlink_to(site.workdir)
        (RUN / "site").write_text(site.name + "\n")
        ready = RUN / "gateway.tmp"
        ready.write_text(site.gateway + "\n")
        ready.rename(RUN / "gateway")
        users = ", ".join(f"{u.username} ({u.display_name})" for u in site.users.values())
        print(f"{site.name} is up: gateway {site.gateway}, users {users}", flush=True)
        print(f"secret files: {RUN / 'current' / 'secrets'}/<user>", flush=True)
        while not stop and site.alive():
            time.sleep(1)
        if not stop:
            print(f"revad exited unexpectedly:\n{site.log_tail()}", file=sys.stderr, flush=True)
            return 1
        print(f"stopping {site.name}", flush=True)
        return 0
    finally:
        clear_markers()
        site.stop()


if __name__ == "__main__":
    sys.exit(main())
