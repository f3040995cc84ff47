"""benchmarks/results.json: every row of the run, one entry per operation and path."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
from load import LoadStep
from memory import Transfer
from targets import Verdict
from timing import Operation, percentile


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {k: None for k in ("median_ms", "p90_ms", "p95_ms", "p99_ms")}
    return {
        "median_ms": _number(statistics.median(values)),
        "p90_ms": _number(percentile(values, 0.90)),
        "p95_ms": _number(percentile(values, 0.95)),
        "p99_ms": _number(percentile(values, 0.99)),
    }


def operation_rows(ops: list[Operation], group: str) -> list[dict[str, Any]]:
    rows = []
    for op in ops:
        med = {path: statistics.median(v) for path, v in op.samples.items()}
        for path, samples in op.samples.items():
            listing = op.kind == "list" or "with lock state" in op.label
            rows.append(
                {
                    "group": group,
                    "operation": op.label,
                    "kind": op.kind,
                    "path": path,
                    "payload_bytes": None if listing or not op.size else op.size,
                    "entries": op.size if op.kind == "list" else None,
                    "clients": 1,
                    "samples": len(samples),
                    **_quantiles(samples),
                    "ratio_to_raw": _number(med[path] / med["raw"]) if "raw" in med else None,
                    "ratio_to_stock": (
                        _number(med[path] / med["stock"]) if "stock" in med else None
                    ),
                    "cs3_calls": dict(op.calls[path]) if path in op.calls else None,
                    "wrong_result": op.wrong.get(path),
                }
            )
    return rows


def load_rows(steps: list[LoadStep]) -> list[dict[str, Any]]:
    stock = {s.clients: s.quantile(0.5) for s in steps if s.server == "stock"}
    rows = []
    for step in steps:
        median = step.quantile(0.5)
        rows.append(
            {
                "group": "load",
                "operation": "load mix",
                "path": "rest" if step.server == "cs3lab" else "stock",
                "payload_bytes": None,
                "clients": step.clients,
                "seconds": round(step.seconds, 3),
                "requests": step.requests,
                "throughput_rps": round(step.throughput, 2),
                "error_count": len(step.errors),
                "errors": step.errors,
                **_quantiles(step.all_latencies()),
                "ratio_to_raw": None,
                "ratio_to_stock": (
                    _number(median / stock[step.clients]) if step.clients in stock else None
                ),
                "loop_lag_ms": step.lag,
                "by_request": {
                    kind: _quantiles(v) | {"count": len(v)} for kind, v in step.latencies.items()
                },
                "cs3_calls": None,
            }
        )
    return rows


def write_json(
    path: Path,
    ops: list[Operation],
    lock_ops: list[Operation],
    steps: list[LoadStep],
    transfers: list[Transfer],
    found: list[Verdict],
    info: dict[str, str],
    command: str,
) -> None:
    document = {
        "command": command,
        "machine": info,
        "rows": [
            *operation_rows(ops, "contents"),
            *operation_rows(lock_ops, "locks"),
            *load_rows(steps),
        ],
        "memory": [
            {
                "server": t.server,
                "bytes": t.size,
                "upload_s": round(t.upload_s, 3),
                "download_s": round(t.download_s, 3),
                "memory_kib": t.memory,
            }
            for t in transfers
        ],
        "targets": [
            {
                "target": v.target.what,
                "operation": v.op.label if v.op else None,
                "rest_median_ms": _number(v.rest_ms),
                "stock_median_ms": _number(v.stock_ms),
                "ratio": _number(v.ratio),
                "limit": v.target.limit,
                "met": v.met,
            }
            for v in found
        ],
    }
    path.write_text(json.dumps(document, indent=1) + "\n")
