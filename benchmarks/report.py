"""The report: Markdown tables, results.md, the machine's facts."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import calls
import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
import grpc
import site_runner
from common import PATHS, REPO, SITE_FILES
from load import LoadStep, load_table
from memory import Transfer, memory_table
from targets import targets_table, verdicts
from timing import Operation, percentile

FINDINGS = "## Findings"
LAG_TARGET_MS = 20.0


@dataclass
class Results:
    ops: list[Operation] = field(default_factory=list)  # the contents rows (site A)
    lock_ops: list[Operation] = field(default_factory=list)  # the lock rows, per backend
    round_trips: dict[str, list[float]] = field(default_factory=dict)  # GET /api/status (ms)
    load: list[LoadStep] = field(default_factory=list)  # the load sweep (site A)
    transfers: list[Transfer] = field(default_factory=list)  # the large file through REST


def align(rows: list[list[str]]) -> str:
    """A Markdown table padded to aligned columns (numeric columns right-aligned)."""
    columns = range(len(rows[0]))
    widths = [max(len(row[i]) for row in rows) for i in columns]
    numeric = [all(_numeric(row[i]) for row in rows[1:]) for i in columns]

    def line(row: list[str]) -> str:
        cells = [(str.rjust if numeric[i] else str.ljust)(row[i], widths[i]) for i in columns]
        return "| " + " | ".join(cells) + " |"

    rule = "|" + "|".join("-" * (widths[i] + 1) + (":" if numeric[i] else "-") for i in columns)
    return "\n".join([line(rows[0]), rule + "|", *(line(r) for r in rows[1:])])


def _numeric(cell: str) -> bool:
    return cell.rstrip("x").replace(".", "", 1).replace("/", "").isdigit()


def wrong_results(ops: list[Operation]) -> str:
    lines = [
        f'- **WRONG RESULT** in "{op.label}" ({path}): {message}. The row is timed all the '
        "same; its times are not those of a correct result."
        for op in ops
        for path, message in op.wrong.items()
    ]
    return "\n".join(lines) + "\n\n" if lines else ""


def timing_table(ops: list[Operation]) -> str:
    stock = "stock" in ops[0].samples
    header = ["operation"]
    header += ["raw med", "raw p90", "mgr med", "mgr p90", "REST med", "REST p90"]
    header += ["mgr/raw", "REST/raw"]
    header += ["stock med", "REST/stock"] if stock else []
    rows = [header]
    for op in ops:
        med = {p: statistics.median(v) for p, v in op.samples.items()}
        p90 = {p: percentile(v, 0.9) for p, v in op.samples.items()}
        row = [op.label + (" (WRONG, see below)" if op.wrong else "")]
        row += [f"{v:.1f}" for p in PATHS for v in (med[p], p90[p])]
        row += [f"{med['manager'] / med['raw']:.2f}x", f"{med['rest'] / med['raw']:.2f}x"]
        row += [f"{med['stock']:.1f}", f"{med['rest'] / med['stock']:.2f}x"] if stock else []
        rows.append(row)
    return align(rows)


def calls_table(ops: list[Operation]) -> str:
    rows = [["operation", "raw", "manager", "REST", "RPCs raw/mgr/REST"]]
    for op in ops:
        rows.append(
            [
                op.label,
                *(calls.describe(op.calls[p]) for p in PATHS),
                "/".join(str(calls.total_rpcs(op.calls[p])) for p in PATHS),
            ]
        )
    return align(rows)


def revad_version(line: str) -> str:
    try:
        return subprocess.run(
            [str(site_runner.revad_binary(line)), "-version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        return f"unknown ({err})"


def machine(lines: list[str]) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*command: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *command], capture_output=True, text=True
        ).stdout.rstrip("\n")  # not strip(): a status line starts with its X column

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = [line[3:] for line in git("status", "--porcelain", "--", "cs3lab").splitlines()]
    if changed:
        commit += f" + uncommitted changes in {', '.join(changed)}"
    import jupyter_server
    import tornado

    return {
        "nproc": str(os.cpu_count()),
        "CPU": cpu,
        **{f"revad ({SITE_FILES[x][1]})": revad_version(SITE_FILES[x][2]) for x in lines},
        "cs3lab": commit,
        "python": sys.version.split()[0],
        "grpcio": grpc.__version__,
        "jupyter_server": jupyter_server.__version__,
        "tornado": tornado.version,
    }


def report(results: Results, args, info: dict[str, str]) -> str:
    ops = results.ops
    setup = (
        f"{args.warmup} warm-up runs, then {args.repeat} timed runs per path and operation "
        "(paths interleaved, order rotated). Times in ms; ratios are ratios of medians."
    )
    trips = "; ".join(
        f"{'cs3lab' if path == 'rest' else 'stock'} server "
        f"{statistics.median(v):.1f} ms (p90 {percentile(v, 0.9):.1f})"
        for path, v in results.round_trips.items()
    )
    facts = "\n".join(f"- {k}: {v}" for k, v in info.items())
    text = f"{setup}\n\n"
    if ops:
        text += (
            f"{timing_table(ops)}\n\n"
            f"REST round trip without any storage call (GET /api/status): {trips}.\n\n"
            "CS3 calls per operation, counted on the gateway stub and the HTTP data transfers "
            "(one warm execution):\n\n"
            f"{calls_table(ops)}\n\n"
        )
        if "stock" in ops[0].samples:
            text += (
                "### Targets\n\n"
                "Issue 19's targets: median(cs3lab REST) / median(stock REST) of the rows above, "
                "in this run.\n\n"
                f"{align(targets_table(verdicts(ops)))}\n\n"
            )
    if results.load:
        errors = [e for step in results.load for e in step.errors]
        text += (
            "### Load\n\n"
            f"Concurrent clients on loopback, {args.load_seconds:g} s per step, each sending one "
            "request after the other (no pause"
            + (f"; {args.load_think_ms:g} ms between requests" if args.load_think_ms else "")
            + "), a random mix of listing 20%, stat 30%, open 20%, save 10%, lock heartbeat "
            "20% (cs3lab only; the stock server's mix leaves it out). Latency over all "
            "requests; loop lag: measured inside each server (a 10 ms sleep, how late it "
            "wakes; target p99 < 20 ms at 50 clients). The clients run in this process, on "
            "the same cores as the servers and revad.\n\n"
            f"{align(load_table(results.load))}\n\n"
            + ("".join(f"- LOAD ERROR: {e}\n" for e in errors) + "\n" if errors else "")
            + f"{lag_verdict(results.load)}\n\n"
        )
    if results.transfers:
        text += (
            "### Memory\n\n"
            "A large file through REST as JupyterLab moves it: PUT in 1 MiB base64 chunks, "
            "then one GET (format=base64); the server process's VmRSS and peak (VmHWM) from "
            "/proc/<pid>/status.\n\n"
            f"{align(memory_table(results.transfers))}\n\n"
        )
    if results.lock_ops:
        text += (
            "### Locks\n\n"
            "native: native CS3 locks (site-n: Reva v2, decomposedfs); marker: marker folders "
            "(site-a: Reva v3, local driver). See README.md for each row's raw baseline.\n\n"
            f"{timing_table(results.lock_ops)}\n\n"
            f"{wrong_results(results.lock_ops)}"
            "CS3 calls per lock operation (one warm execution):\n\n"
            f"{calls_table(results.lock_ops)}\n\n"
        )
    return text + f"{facts}\n"


def lag_verdict(steps: list[LoadStep]) -> str:
    """The loop-lag target of issue 19 on the largest step of cs3lab's server."""
    mine = [s for s in steps if s.server == "cs3lab"]
    if not mine:
        return ""
    step = max(mine, key=lambda s: s.clients)
    p99 = step.lag.get("p99_ms", float("nan"))
    met = "met" if p99 < LAG_TARGET_MS else "NOT MET"
    return (
        f"Loop-lag target (cs3lab server, p99 < {LAG_TARGET_MS:g} ms at 50 clients): "
        f"{p99:.1f} ms at {step.clients} clients: {met}."
    )


def write_results(path: Path, text: str, command: str) -> None:
    findings = ""
    if path.exists():
        old = path.read_text()
        if FINDINGS in old:
            findings = old[old.index(FINDINGS) :]
    body = (
        "# cs3lab benchmark results\n\n"
        f"Written by `{command}` (see README.md for what each column means).\n\n"
        f"{text}"
    )
    if findings:
        body += f"\n{findings.rstrip()}\n"
    path.write_text(body)
