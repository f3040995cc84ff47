"""cs3lab's overhead, as ratios against raw CS3 calls on the same revad in the same run.

    python benchmarks/run.py [--repeat N] [--quick]

Starts one CS3 site (a real revad on loopback, tools/sites/site_runner.py) and a Jupyter
server with cs3lab's contents manager (a subprocess on 127.0.0.1 with a random token), then
times each operation three ways, interleaved:

* raw: the least CS3 work giving the same result, written here on bare ``grpc.aio`` gateway
  stubs from ``cs3apis`` and tornado HTTP for the bytes (signed in once, not timed);
* manager: cs3lab's ``CS3ContentsManager`` called in this process (no HTTP);
* REST: the Jupyter REST API (``/api/contents``) of the server, as JupyterLab calls it;

and, as a reference for what Jupyter's REST layer costs by itself, the same REST requests
to a second server running Jupyter's own FileContentsManager on a local folder ("stock";
``--no-stock`` skips it).

Prints a table of medians, p90s and ratios and the CS3 calls each path makes per operation,
and writes benchmarks/results.md (keeping its "## Findings" section). No time is asserted
anywhere: the results are a record; compare ratios, not milliseconds, between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import calls
import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
import site_runner
from common import HERE, MIB, RESULTS, RESULTS_JSON, SITE_FILES, USER, load, progress
from contents import CACHED_LIST, CACHED_STAT, operations, prepare
from load import DEFAULT_CLIENTS, run_load
from locks import lock_operations, prepare_locks
from memory import transfer
from plots import latency_by_clients, latency_by_size
from raw import RawCS3
from report import Results, machine, report, write_results
from results_json import write_json
from servers import (
    JupyterServer,
    RestClient,
    cs3_connection,
    cs3lab_server_config,
    stock_server_config,
)
from targets import verdicts
from timing import Operation, measure, timed
from traitlets.config import Config


async def benchmark(
    site: site_runner.Site,
    home: str,
    servers: dict[str, JupyterServer],
    stock_root,
    args,
    contents: bool = True,
    locks: bool = True,
) -> Results:
    """The contents rows and/or the lock rows on one site (its lock backend: its own)."""
    from cs3lab import CS3ContentsManager

    counters = {"raw": Counter(), "manager": Counter()}
    raw = RawCS3(site.gateway, counters["raw"])
    cm = CS3ContentsManager(config=Config({"CS3Connection": cs3_connection(site, home)}))
    calls.instrument_files(cm.files, counters["manager"])
    rest = {path: RestClient(server) for path, server in servers.items()}
    lock_fixture = None
    results = Results()

    async def run(op: Operation) -> None:
        progress(f"{op.label}: {args.warmup} warm-up + {args.repeat} timed runs per path")
        await measure(op, counters, rest["rest"], args.warmup, args.repeat)

    try:
        await raw.login(USER, site.password(USER))
        if contents:
            progress(f"{site.name}: creating the test files ...")
            fixture = await prepare(raw, home, args.entries, stock_root)
            results.ops = operations(raw, cm, rest, home, fixture)
            missing_the_cache(results.ops, cm, rest["rest"])
            for op in results.ops:
                await run(op)
        if locks:
            progress(f"{site.name}: creating the lock test files ...")
            lock_fixture = await prepare_locks(raw, site, home, args.lock_entries, args.locked)
            results.lock_ops = lock_operations(raw, cm, rest["rest"], home, site.name, lock_fixture)
            missing_the_cache(results.lock_ops, cm, rest["rest"])
            for op in results.lock_ops:
                await run(op)
        # the REST layer alone: a request that makes no storage call
        for path, client in rest.items():
            for _ in range(args.warmup):
                await client.fetch("GET", "/api/status")
            results.round_trips[path] = [
                await timed(lambda c=client: c.fetch("GET", "/api/status"))
                for _ in range(args.repeat)
            ]
        return results
    finally:
        for client in rest.values():
            client.close()
        if lock_fixture is not None:
            await lock_fixture.holder.close()
        await cm.close()
        await raw.close()


def missing_the_cache(ops: list[Operation], cm: Any, rest: RestClient) -> None:
    """Every row but those "from the cache" times the action as it misses the metadata cache:
    the manager's and the server's caches forget their Stats and listings before each
    execution, untimed (the share state stays: one entry per user, as in
    tests/test_call_budget.py)."""

    async def manager() -> None:
        cm.files.cache.drop_path("/")

    for op in ops:
        if op.kind in (CACHED_STAT, CACHED_LIST):
            continue
        for path, forget in (("manager", manager), ("rest", rest.forget_metadata)):
            if path in op.run:
                op.before[path] = _then(forget, op.before.get(path))


def _then(first: Callable[[], Awaitable[Any]], then: Callable[[], Awaitable[Any]] | None):
    async def both() -> None:
        await first()
        if then is not None:
            await then()

    return both


SIZE_PLOT, CLIENTS_PLOT = "latency-by-size.png", "latency-by-clients.png"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, help="timed runs per path (default 20, quick 5)")
    parser.add_argument("--quick", action="store_true", help="5 timed runs, 2 warm-ups")
    parser.add_argument("--warmup", type=int, help="untimed runs first (default 3, quick 2)")
    parser.add_argument("--entries", type=int, default=500, help="entries of the listed folder")
    parser.add_argument(
        "--site",
        choices=("both", "a", "n"),
        default="both",
        help="a: site A (Reva v3, local driver): the contents rows and the marker lock rows; "
        "n: site N (Reva v2, decomposedfs): the native lock rows; both (default): all of them",
    )
    parser.add_argument("--no-locks", action="store_true", help="skip the lock rows")
    parser.add_argument(
        "--lock-entries", type=int, default=1000, help="entries of the listing with lock state"
    )
    parser.add_argument("--locked", type=int, default=10, help="how many of them are locked")
    parser.add_argument(
        "--no-stock",
        action="store_true",
        help="skip the reference server (Jupyter's FileContentsManager on local disk)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="Markdown file to write (%(default)s)"
    )
    parser.add_argument("--no-results", action="store_true", help="print only, write no file")
    parser.add_argument(
        "--json", type=Path, default=RESULTS_JSON, help="JSON file to write (%(default)s)"
    )
    parser.add_argument(
        "--plots", type=Path, default=HERE, help="folder of the two PNG plots (%(default)s)"
    )
    parser.add_argument(
        "--load-clients",
        default=",".join(map(str, DEFAULT_CLIENTS)),
        help="the load sweep: concurrent clients per step (%(default)s)",
    )
    parser.add_argument(
        "--load-seconds", type=float, help="seconds per load step (default 15, quick 5)"
    )
    parser.add_argument(
        "--load-think-ms", type=float, default=0.0, help="pause of each load client (ms)"
    )
    parser.add_argument(
        "--load-rounds",
        type=int,
        default=3,
        help="slices per load step, the servers taking turns (%(default)s)",
    )
    parser.add_argument("--no-load", action="store_true", help="skip the load sweep")
    parser.add_argument(
        "--transfer-mb", type=int, default=100, help="the file moved through REST (0: skip)"
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="then run merge.py, shares.py and kernel_fs.py too (each starts its own sites)",
    )
    args = parser.parse_args(argv)
    args.load_seconds = args.load_seconds or (5.0 if args.quick else 15.0)
    try:
        args.sweep = [int(n) for n in args.load_clients.split(",") if n.strip()]
    except ValueError:
        parser.error("--load-clients: comma-separated numbers, e.g. 1,10,20,50")
    args.repeat = args.repeat or (5 if args.quick else 20)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.quick else 3)
    if args.repeat < 2 or args.warmup < 0 or args.entries < 1:
        parser.error("--repeat must be at least 2, --warmup at least 0, --entries at least 1")
    if not 1 <= args.locked <= args.lock_entries:
        parser.error("--locked must be between 1 and --lock-entries")
    if args.site == "n" and args.no_locks:
        parser.error("site N has only the lock rows: --site n --no-locks measures nothing")
    command = " ".join(["python benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])

    # Ctrl+C and SIGTERM stop the run cleanly (even if started with SIGINT ignored, as `cmd &`)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="cs3lab-bench-"))
    lines = ["a", "n"] if args.site == "both" else [args.site]
    if args.no_locks:
        lines = [x for x in lines if x == "a"]
    sites: list[site_runner.Site] = []
    servers: list[JupyterServer] = []
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load average (1/5/15 min) at start": load(),
    }
    results = Results()
    try:
        # the in-process manager keeps its notebook signatures in the run's temp dir too
        os.environ["JUPYTER_DATA_DIR"] = str(workdir / "in-process-data")
        for line in lines:
            description, name, _ = SITE_FILES[line]
            progress(f"starting revad ({name}) ...")
            site = site_runner.start_site(description)
            sites.append(site)
            # a folder of the site that every user may write: the holder of the listed locks
            # (HOLDER) writes there too (site-a: alice's home; site-n: a project space)
            home = f"{site.shared}/bench-{uuid.uuid4().hex[:8]}"
            site_runner.sync_mkdir(site, USER, home)
            progress(f"starting the jupyter servers (logs in {workdir}) ...")
            here = {
                "rest": JupyterServer.start(
                    workdir / f"cs3lab-server-{line}", cs3lab_server_config(site, home)
                )
            }
            servers.append(here["rest"])
            contents = line == "a"
            stock_root = None
            if contents and not args.no_stock:
                stock_root = workdir / "stock-root"
                stock_root.mkdir()
                here["stock"] = JupyterServer.start(
                    workdir / "stock-server", stock_server_config(stock_root)
                )
                servers.append(here["stock"])
            done = asyncio.run(
                benchmark(site, home, here, stock_root, args, contents, not args.no_locks)
            )
            results.ops += done.ops
            results.lock_ops += done.lock_ops
            if contents or not results.round_trips:
                results.round_trips = done.round_trips
            if contents and args.transfer_mb > 0:
                for path, server in here.items():
                    progress(f"moving a {args.transfer_mb} MiB file through {path} REST ...")
                    name = "cs3lab" if path == "rest" else "stock"
                    results.transfers.append(
                        asyncio.run(transfer(server, name, args.transfer_mb * MIB))
                    )
            if contents and not args.no_load and args.sweep:
                results.load = asyncio.run(
                    run_load(
                        here, args.sweep, args.load_seconds, args.load_think_ms, args.load_rounds
                    )
                )
            for server in here.values():
                server.stop()
            site.stop()
        info["load average at end"] = load()
        info.update(machine(lines))
    except KeyboardInterrupt:
        progress("interrupted; stopping the servers")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the cleanup finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for server in servers:
            server.stop()
        for site in sites:
            site.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    text = report(results, args, info)
    print(text)
    if not args.no_results:
        write_results(args.results, text, command)
        progress(f"wrote {args.results}")
        found = verdicts(results.ops) if results.ops else []
        write_json(
            args.json,
            results.ops,
            results.lock_ops,
            results.load,
            results.transfers,
            found,
            info,
            command,
        )
        progress(f"wrote {args.json}")
        args.plots.mkdir(parents=True, exist_ok=True)
        for made, name in (
            (latency_by_size(results.ops, args.plots / SIZE_PLOT), SIZE_PLOT),
            (latency_by_clients(results.load, args.plots / CLIENTS_PLOT), CLIENTS_PLOT),
        ):
            if made:
                progress(f"wrote {args.plots / name}")
    if args.all:
        return run_the_others(args)
    return 0


def run_the_others(args: argparse.Namespace) -> int:
    """merge.py, shares.py and kernel_fs.py, one after the other, as separate processes."""
    quick = ["--repeat", "2"] if args.quick else []
    commands = [
        ["merge.py", *(["--repeat", "1"] if args.quick else [])],
        ["shares.py", *quick],
        ["kernel_fs.py", *quick, *(["--no-results"] if args.no_results else [])],
    ]
    failed = 0
    for script, *options in commands:
        progress(f"running benchmarks/{script} {' '.join(options)} ...")
        done = subprocess.run([sys.executable, str(HERE / script), *options], check=False)
        if done.returncode:
            progress(f"benchmarks/{script} failed (exit status {done.returncode})")
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
