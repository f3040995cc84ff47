"""The cs3lab demo: a real CS3 site (revad) on loopback and two people working together in it,
alice and bob, each in their own JupyterLab.

Run it through ``bash scripts/demo.sh``, which installs everything first. This script:

1. starts site-a (tools/sites/site-a.json: users alice, bob, carol) with
   ``site_runner.start_site``: revad on free loopback ports, random per-run passwords that exist
   only in the site's temporary directory;
2. seeds alice's home through the CS3 APIs (gRPC + the HTTP data gateway, with cs3lab's own
   client): the files of scripts/demo_files.py;
3. starts a Jupyter server with cs3lab for each of alice, bob and carol (tools/sites/lab_runner.py:
   JupyterLab for alice and bob on 127.0.0.1, a server without a browser for carol; passwords
   read from the site's 0600 secret files, Jupyter tokens through the environment, Jupyter's
   runtime files, settings and workspaces in the site's temp dir, no "Jupyter news" question);
4. sets up the collaboration through their REST APIs (scripts/demo_collaboration.py): a shared
   folder, a notebook carol is editing (locked), and bob's copy of a notebook ready to merge;
5. prints alice's and bob's JupyterLab URLs and what to try, and waits. Ctrl+C (or SIGTERM)
   stops the servers and revad and removes the temporary directory.

Environment: CS3LAB_DEMO_PORT (alice's port, default 8888; bob's is the next one),
CS3LAB_REVAD (a revad binary; demo.sh sets it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools" / "sites"))

import demo_collaboration as collab  # noqa: E402
import lab_runner  # noqa: E402
import site_runner  # noqa: E402
from demo_files import seed_files  # noqa: E402

from cs3lab.cs3 import AuthConfig, CS3Client, Files, GatewayConfig, SecretSource  # noqa: E402

OWNER = "alice"


def servers_of(port: int) -> list[tuple[str, str, int]]:
    """(user, Jupyter app, port) of each server: JupyterLab for alice and bob, a plain
    server for carol (a demo user whom nobody watches)."""
    return [("alice", "lab", port), ("bob", "lab", port + 1), ("carol", "server", 0)]


async def seed_home(site: site_runner.Site) -> list[str]:
    """Write the demo files into alice's home with cs3lab's CS3 client (gRPC + HTTP)."""
    home = site.home(OWNER)
    client = CS3Client(
        GatewayConfig(site.gateway),
        AuthConfig("basic", OWNER, SecretSource(file=str(site.secret_file(OWNER)))),
    )
    files = Files(client)
    try:
        await files.mkdir(f"{home}/analysis")
        for path, data in seed_files().items():
            await files.upload(f"{home}/{path}", data)
        listed = [info.path for info in await files.list(home)]
        listed += [info.path for info in await files.list(f"{home}/analysis")]
    finally:
        files.close()
        await client.close()
    return sorted(path.removeprefix(home + "/") for path in listed)


def start_servers(site: site_runner.Site, port: int) -> dict[str, lab_runner.RunningServer]:
    """JupyterLab for alice (``port``) and bob (``port + 1``), a plain server for carol."""
    servers: dict[str, lab_runner.RunningServer] = {}
    try:
        for user, app, user_port in servers_of(port):
            workdir = site.workdir / f"jupyter-{user}"
            # Notebook trust signatures of this run stay in its temp dir too.
            signatures = workdir / "signatures"
            signatures.mkdir(mode=0o700, parents=True, exist_ok=True)
            extra = [f"--NotebookNotary.data_dir={signatures}"]
            servers[user] = lab_runner.start_server(
                site, user, site.home(user), workdir, app=app, extra=extra, port=user_port
            )
    except BaseException:
        stop_servers(servers)
        raise
    return servers


def stop_servers(servers: dict[str, lab_runner.RunningServer]) -> None:
    for server in servers.values():
        server.stop()  # jupyter_server shuts its kernels down on SIGTERM


def banner(site: site_runner.Site, servers, together: collab.Collaboration) -> str:
    def url(user: str) -> str:
        server = servers[user]
        return f"{server.base}/lab?token={server.token}"

    names = {name: user.display_name for name, user in site.users.items()}
    return f"""
==============================================================================
 cs3lab demo is running: {names["alice"]} and {names["bob"]} work together
 on CS3 site {site.name} (revad gateway {site.gateway}, data server 127.0.0.1:{site.http_port})

  alice's JupyterLab  {url("alice")}
  bob's JupyterLab    {url("bob")}
  (open them in two browser windows, or one of them in a private window)

  Try:
  * alice: analysis/ is shared with bob and carol (right-click it: Share...).
  * both: analysis/{collab.LOCKED} is read-only, {names["carol"]} is editing
    it; "Request edit" asks her to hand it over (she is a demo user: no answer).
  * bob: "{collab.BOBS_COPY}" is his copy of alice's
    analysis/{collab.COPIED}; both changed it since. Open it, then
    "Merge into original" (right-click it): nbdime shows both edits.
  * bob: "{together.bobs_folder}" is alice's folder as bob sees it.

  Passwords are random for this run and stay in the site's temp dir
  {site.workdir}. Ctrl+C stops everything and deletes the temp dir.
==============================================================================
"""


class Stop(Exception):
    """Ctrl+C, SIGTERM or SIGHUP."""


def main() -> int:
    port = int(os.environ.get("CS3LAB_DEMO_PORT", "8888"))
    stop_requested: list[int] = []
    starting = True

    def on_signal(signum, _frame):
        stop_requested.append(signum)
        if not starting:
            raise Stop

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    print("starting site-a (revad on loopback)...", flush=True)
    # Not interruptible: start_site creates the temp dir and revad before it returns them.
    site = site_runner.start_site("site-a.json")
    servers: dict[str, lab_runner.RunningServer] = {}
    together: collab.Collaboration | None = None
    try:
        starting = False
        if stop_requested:
            raise Stop
        print(f"site-a is up: gateway {site.gateway}, data in {site.workdir}", flush=True)
        seeded = asyncio.run(seed_home(site))
        print(f"seeded {site.home(OWNER)}: {', '.join(seeded)}", flush=True)
        print("starting JupyterLab for alice and bob, a Jupyter server for carol...", flush=True)
        servers = start_servers(site, port)
        together = collab.set_up(servers["alice"], servers["bob"], servers["carol"])
        print(banner(site, servers, together), flush=True)
        signal.pause()
        return 0
    except Stop:
        print("\nstopping the cs3lab demo...", flush=True)
        return 0
    except (RuntimeError, TimeoutError, OSError) as err:
        print(f"the cs3lab demo failed: {err}", file=sys.stderr)
        for user, server in servers.items():
            tail = server.log.read_text(errors="replace").splitlines()[-30:]
            print(f"--- the end of {user}'s Jupyter log\n" + "\n".join(tail), file=sys.stderr)
        return 1
    finally:
        starting = True  # a second Ctrl+C must not interrupt the clean-up
        if together is not None:
            together.heartbeat.set()
        stop_servers(servers)
        site.stop()
        print(f"stopped the Jupyter servers and revad; removed {site.workdir}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
