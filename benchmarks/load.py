"""The load rows: N concurrent clients on the REST API for a bounded time, per step.

Each client (its own HTTP client, one request at a time, no pause unless ``think_ms``) picks
its next request at random (seeded: the same sequence every run) from a JupyterLab-like mix:
a folder listing, a stat (``GET ?content=0``), an open (``GET`` of a small notebook with its
content), a save (``PUT`` of that notebook) and, on cs3lab's server only, a lock heartbeat
(``PUT /cs3lab/api/locks``; each client holds the lock of its own notebook, taken and given
back untimed around the step). The stock server gets the same mix without heartbeats.

Reported per step: requests, throughput, p50/p95/p99 latency, errors (every error is printed)
and the event-loop lag measured inside the server (bench_server.py's probe: how late a task
that sleeps 10 ms wakes up; reset before each step, read after it).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
from common import KIB, progress
from contents import big_notebook
from servers import JupyterServer, RestClient
from timing import percentile

FOLDER = "load"
# the share of each request in the mix (heartbeats only on cs3lab's server)
MIX = {"list": 0.2, "stat": 0.3, "open": 0.2, "save": 0.1, "heartbeat": 0.2}
DEFAULT_CLIENTS = (1, 10, 20, 50)


@dataclass
class LoadStep:
    server: str  # "cs3lab" | "stock"
    clients: int
    seconds: float  # how long the clients ran (wall clock)
    latencies: dict[str, list[float]] = field(default_factory=dict)  # request kind -> ms
    errors: list[str] = field(default_factory=list)
    lag_values: list[float] = field(default_factory=list)  # the server's loop lag (ms)

    @property
    def lag(self) -> dict[str, float]:
        values = self.lag_values
        if not values:
            return {}
        return {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.50), 3),
            "p99_ms": round(percentile(values, 0.99), 3),
            "max_ms": round(max(values), 3),
        }

    def add(self, other: LoadStep) -> None:
        """Another slice of the same step (same server, same client count)."""
        self.seconds += other.seconds
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.errors += other.errors
        self.lag_values += other.lag_values

    def all_latencies(self) -> list[float]:
        return [ms for values in self.latencies.values() for ms in values]

    @property
    def requests(self) -> int:
        return len(self.all_latencies())

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        values = self.all_latencies()
        return percentile(values, q) if values else float("nan")


def notebook_name(i: int) -> str:
    return f"{FOLDER}/nb-{i:02d}.ipynb"


async def prepare_load(server: JupyterServer, clients: int) -> bytes:
    """The folder and one small notebook per client, written through the REST API (untimed);
    returns the body the "save" requests send."""
    nb = big_notebook(20 * KIB)
    body = json.dumps({"type": "notebook", "format": "json", "content": nb}).encode()
    client = RestClient(server)
    try:
        await client.contents("PUT", FOLDER, body=json.dumps({"type": "directory"}).encode())
        for i in range(clients):
            await client.contents("PUT", notebook_name(i), body=body)
    finally:
        client.close()
    return body


Request = Callable[[RestClient, int], Awaitable[bytes]]


def requests(save_body: bytes) -> dict[str, Request]:
    return {
        "list": lambda c, i: c.contents("GET", FOLDER, "type=directory&content=1&hash=0"),
        "stat": lambda c, i: c.contents("GET", notebook_name(i), "content=0&hash=0"),
        "open": lambda c, i: c.contents("GET", notebook_name(i), "type=notebook&content=1&hash=0"),
        "save": lambda c, i: c.contents("PUT", notebook_name(i), body=save_body),
        "heartbeat": lambda c, i: c.lock("PUT", notebook_name(i), f"load-{i}"),
    }


async def load_step(
    server: JupyterServer,
    name: str,
    clients: int,
    seconds: float,
    save_body: bytes,
    with_locks: bool,
    think_ms: float = 0.0,
) -> LoadStep:
    """``clients`` clients for ``seconds`` on ``server``; the loop lag is the server's own."""
    kinds = {k: w for k, w in MIX.items() if with_locks or k != "heartbeat"}
    run = requests(save_body)
    step = LoadStep(name, clients, 0.0, {kind: [] for kind in kinds})
    rest = [RestClient(server) for _ in range(clients)]
    admin = RestClient(server)
    try:
        if with_locks:
            for i, client in enumerate(rest):
                await client.lock("POST", notebook_name(i), f"load-{i}")
        await admin.fetch("DELETE", "/bench/loop-lag")
        deadline = time.monotonic() + seconds

        async def worker(i: int) -> None:
            rnd = random.Random(1000 * clients + i)
            names, weights = list(kinds), list(kinds.values())
            while time.monotonic() < deadline:
                kind = rnd.choices(names, weights)[0]
                start = time.perf_counter()
                try:
                    await run[kind](rest[i], i)
                except Exception as err:  # reported, never hidden: the target is none
                    message = f"{name}, {clients} clients, {kind} by client {i}: {err!r}"
                    step.errors.append(message)
                    progress(f"LOAD ERROR {message}")
                else:
                    step.latencies[kind].append((time.perf_counter() - start) * 1000)
                if think_ms:
                    await asyncio.sleep(think_ms / 1000)

        start = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        step.seconds = time.perf_counter() - start
        lag = json.loads(await admin.fetch("GET", "/bench/loop-lag?values=1"))
        step.lag_values = lag["values_ms"]
        if with_locks:
            for i, client in enumerate(rest):
                await client.lock("DELETE", notebook_name(i), f"load-{i}")
    finally:
        for client in [*rest, admin]:
            client.close()
    return step


async def run_load(
    servers: dict[str, JupyterServer],
    sweep: list[int],
    seconds: float,
    think_ms: float,
    rounds: int = 3,
) -> list[LoadStep]:
    """The sweep on each server ("rest": cs3lab with heartbeats, "stock": without). Each step
    is ``rounds`` slices of seconds/rounds per server, the servers taking turns (the order
    rotated), so that a burst of other work on the machine does not fall on one server only."""
    bodies = {path: await prepare_load(server, max(sweep)) for path, server in servers.items()}
    steps = []
    for clients in sweep:
        merged: dict[str, LoadStep] = {}
        order = list(servers)
        for round_ in range(rounds):
            for path in order[round_ % len(order) :] + order[: round_ % len(order)]:
                name = "cs3lab" if path == "rest" else "stock"
                progress(
                    f"load: {name}, {clients} clients for {seconds / rounds:.0f} s "
                    f"({round_ + 1}/{rounds}) ..."
                )
                part = await load_step(
                    servers[path],
                    name,
                    clients,
                    seconds / rounds,
                    bodies[path],
                    path == "rest",
                    think_ms,
                )
                if path in merged:
                    merged[path].add(part)
                else:
                    merged[path] = part
        steps += merged.values()
    return steps


def load_table(steps: list[LoadStep]) -> list[list[str]]:
    rows = [
        [
            "server",
            "clients",
            "requests",
            "req/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "loop lag p50 ms",
            "loop lag p99 ms",
            "loop lag max ms",
        ]
    ]
    for step in steps:
        rows.append(
            [
                step.server,
                str(step.clients),
                str(step.requests),
                f"{step.throughput:.1f}",
                *(f"{step.quantile(q):.1f}" for q in (0.5, 0.95, 0.99)),
                str(len(step.errors)),
                *(f"{step.lag.get(k, float('nan')):.1f}" for k in ("p50_ms", "p99_ms", "max_ms")),
            ]
        )
    return rows
