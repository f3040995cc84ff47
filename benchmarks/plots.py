"""The PNG plots: latency against payload size, and against concurrent clients."""

from __future__ import annotations

import statistics
from pathlib import Path

import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt
from common import KIB, MIB
from load import LoadStep
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    NullFormatter,
    NullLocator,
)
from timing import Operation

BY_SIZE = ("get text", "open notebook", "save notebook")  # the kinds measured at several sizes
PATH_STYLE = {
    "raw": ("raw CS3 calls", "tab:gray"),
    "manager": ("cs3lab manager (in process)", "tab:blue"),
    "rest": ("cs3lab REST", "tab:red"),
    "stock": ("stock Jupyter REST (local disk)", "tab:green"),
}
SERVER_STYLE = {"cs3lab": "tab:red", "stock": "tab:green"}


def _bytes(value: float, _position: object = None) -> str:
    if value >= MIB:
        return f"{value / MIB:.3g} MiB"
    return f"{value / KIB:.3g} KiB" if value >= KIB else f"{value:g} B"


def _log_y(ax: plt.Axes) -> None:
    """A log y axis labelled 1, 2, 5, 10, 20, 50, ... (no 4x10^1 minor labels)."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def latency_by_size(ops: list[Operation], path: Path) -> bool:
    """One panel per kind measured at two sizes or more; False if there is none."""
    kinds = [k for k in BY_SIZE if len({op.size for op in ops if op.kind == k}) >= 2]
    if not kinds:
        return False
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 4.6), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        rows = sorted((op for op in ops if op.kind == kind), key=lambda op: op.size)
        sizes = [op.size for op in rows]
        for name, (label, color) in PATH_STYLE.items():
            if all(name in op.samples for op in rows):
                medians = [statistics.median(op.samples[name]) for op in rows]
                ax.plot(sizes, medians, marker="o", label=label, color=color)
        ax.set_xscale("log")
        _log_y(ax)
        ax.xaxis.set_major_locator(FixedLocator(sizes))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(_bytes))
        ax.set_title(f"{kind} (median of the timed runs)")
        ax.set_xlabel("payload size (log scale)")
        ax.set_ylabel("latency, ms (log scale)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(loc="upper left", fontsize="small")
    fig.suptitle("cs3lab latency by payload size: raw CS3, manager, REST, stock Jupyter")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def latency_by_clients(steps: list[LoadStep], path: Path, lag_target_ms: float = 20.0) -> bool:
    """Latency (p50, p95), throughput and the server's loop lag (p99) per client count."""
    if not steps:
        return False
    fig, (lat, thr, lag) = plt.subplots(1, 3, figsize=(16, 4.6))
    counts = sorted({s.clients for s in steps})
    for server, color in SERVER_STYLE.items():
        mine = sorted((s for s in steps if s.server == server), key=lambda s: s.clients)
        if not mine:
            continue
        x = [s.clients for s in mine]
        lat.plot(x, [s.quantile(0.5) for s in mine], marker="o", color=color, label=f"{server} p50")
        lat.plot(
            x,
            [s.quantile(0.95) for s in mine],
            marker="s",
            ls="--",
            color=color,
            label=f"{server} p95",
        )
        thr.plot(x, [s.throughput for s in mine], marker="o", color=color, label=server)
        lag.plot(
            x,
            [s.lag.get("p99_ms", 0.0) for s in mine],
            marker="o",
            color=color,
            label=f"{server} p99",
        )
    lag.axhline(lag_target_ms, color="black", ls=":", label=f"target p99 {lag_target_ms:g} ms")
    titles = {
        lat: ("request latency (all requests of the mix)", "latency, ms (log scale)"),
        thr: ("throughput", "requests per second"),
        lag: ("server event-loop lag (probe inside the server)", "lag p99, ms (log scale)"),
    }
    for ax, (title, ylabel) in titles.items():
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(counts))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
        ax.set_title(title)
        ax.set_xlabel("concurrent clients (log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    for ax in (lat, lag):
        _log_y(ax)
    thr.set_ylim(bottom=0)
    fig.suptitle("REST under load: list / stat / open / save (+ lock heartbeats on cs3lab)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
