"""A Jupyter server with cs3lab as its contents manager, for benchmarks/run.py.

Configured like a deployment (a ``jupyter_server_config.json`` in ``$JUPYTER_CONFIG_DIR``,
written by run.py), plus one thing: the CS3 calls of cs3lab's contents manager are counted
(see calls.py) and readable at ``GET {base_url}bench/cs3-calls`` with the server's token; and
``POST {base_url}bench/lock-sessions?refreshed=old|now`` sets when the server's lock sessions
last refreshed the storage (LockService's private ``Session.refreshed``: 0 or now), so that the
next heartbeat does or does not refresh the storage's lock (the "refresh" rows).
A lag probe measures the server's event loop from inside: a task that sleeps 10 ms over and
over and records how late it wakes; ``GET {base_url}bench/loop-lag`` gives the p50, p99 and
max of those delays (ms), with ``?values=1`` the delays themselves, since the last
``DELETE {base_url}bench/loop-lag`` (the reset).
Also runs the reference server (Jupyter's FileContentsManager), where nothing is counted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter, deque
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.serverapp import ServerApp
from jupyter_server.utils import url_path_join
from tornado import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

import calls

COUNTS: Counter = Counter()
LAG_INTERVAL = 0.010  # seconds between the probe's wake-ups
LAGS: deque[float] = deque(maxlen=200_000)  # ms late, since the last reset (~33 min at most)


async def probe_loop_lag() -> None:
    """Sleep LAG_INTERVAL over and over; record how late each wake-up is (the loop's lag)."""
    loop = asyncio.get_running_loop()
    while True:
        start = loop.time()
        await asyncio.sleep(LAG_INTERVAL)
        LAGS.append(max(loop.time() - start - LAG_INTERVAL, 0.0) * 1000)


def lag_summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else 0.0

    return {
        "count": len(ordered),
        "p50_ms": round(at(0.50), 3),
        "p99_ms": round(at(0.99), 3),
        "max_ms": round(ordered[-1], 3) if ordered else 0.0,
    }


class LoopLagHandler(JupyterHandler):
    @web.authenticated
    def get(self) -> None:
        values = list(LAGS)
        summary: dict = dict(lag_summary(values))
        if self.get_query_argument("values", "0") == "1":
            summary["values_ms"] = [round(v, 3) for v in values]
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(summary))

    @web.authenticated
    def delete(self) -> None:
        LAGS.clear()
        self.set_status(204)
        self.finish()


class CallsHandler(JupyterHandler):
    @web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(dict(COUNTS)))


class LockSessionsHandler(JupyterHandler):
    @web.authenticated
    def post(self) -> None:
        value = self.get_query_argument("refreshed")
        if value not in ("old", "now"):
            raise web.HTTPError(400, "refreshed=old|now")
        sessions = self.contents_manager.locks._sessions  # private: a benchmark hook only
        for session in sessions.values():
            session.refreshed = 0.0 if value == "old" else time.time()
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"sessions": len(sessions)}))


class ForgetMetadataHandler(JupyterHandler):
    """``DELETE bench/metadata``: the server's metadata cache forgets its Stats and listings
    (not the share state, one entry per user), as before an action that misses the cache."""

    @web.authenticated
    def delete(self) -> None:
        self.contents_manager.files.cache.drop_path("/")
        self.set_status(204)
        self.finish()


def main() -> None:
    app = ServerApp.instance()
    app.initialize(argv=[])
    files = getattr(app.contents_manager, "files", None)
    if files is not None:  # cs3lab's manager (the stock reference server has none)
        calls.instrument_files(files, COUNTS)
    handlers = [
        (url_path_join(app.base_url, "bench", "cs3-calls"), CallsHandler),
        (url_path_join(app.base_url, "bench", "loop-lag"), LoopLagHandler),
    ]
    if files is not None:
        sessions = url_path_join(app.base_url, "bench", "lock-sessions")
        handlers.append((sessions, LockSessionsHandler))
        handlers.append((url_path_join(app.base_url, "bench", "metadata"), ForgetMetadataHandler))
    app.web_app.add_handlers(".*$", handlers)
    tasks = []  # (a reference, so that the probe task is not garbage-collected)
    app.io_loop.add_callback(lambda: tasks.append(asyncio.ensure_future(probe_loop_lag())))
    app.start()


if __name__ == "__main__":
    main()
