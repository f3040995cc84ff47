"""Issue 19's targets, as ratios of cs3lab's REST medians to the stock server's in the run."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
from common import MIB
from contents import CACHED_STAT
from timing import Operation

LARGEST = -1  # the largest row of its kind (the ~5 MB notebook)


@dataclass
class Target:
    what: str
    kind: str  # Operation.kind
    size: int | None  # Operation.size; None: any; LARGEST: the largest of the kind
    limit: float  # REST median / stock median must be at most this


TARGETS = (
    # JupyterLab's poll of an open document: answered from the metadata cache while it is
    # recent (the row without the cache is in the table too: one Stat each time).
    Target("stat <= 1.0x stock (a poll the cache answers)", CACHED_STAT, None, 1.0),
    Target("list of 1,000 entries <= 0.5x stock", "list", 1000, 0.5),
    Target("open of a 5 MB notebook <= 1.1x stock", "open notebook", LARGEST, 1.1),
    Target("save of a 5 MB notebook <= 1.1x stock", "save notebook", LARGEST, 1.1),
    Target("20 MiB text GET <= 1.5x stock", "get text", 20 * MIB, 1.5),
)


@dataclass
class Verdict:
    target: Target
    op: Operation | None  # None: the row was not measured (e.g. --no-stock)
    rest_ms: float = float("nan")
    stock_ms: float = float("nan")

    @property
    def ratio(self) -> float:
        return self.rest_ms / self.stock_ms if self.op is not None else float("nan")

    @property
    def met(self) -> bool | None:
        return None if self.op is None else self.ratio <= self.target.limit


def find(ops: list[Operation], target: Target) -> Operation | None:
    same = [op for op in ops if op.kind == target.kind and "stock" in op.samples]
    if target.size == LARGEST:
        return max(same, key=lambda op: op.size, default=None)
    return next((op for op in same if target.size in (None, op.size)), None)


def verdicts(ops: list[Operation]) -> list[Verdict]:
    found = []
    for target in TARGETS:
        op = find(ops, target)
        if op is None:
            found.append(Verdict(target, None))
        else:
            rest, stock = (statistics.median(op.samples[p]) for p in ("rest", "stock"))
            found.append(Verdict(target, op, rest, stock))
    return found


def targets_table(found: list[Verdict]) -> list[list[str]]:
    rows = [["target", "row", "REST med", "stock med", "REST/stock", "limit", "result"]]
    for v in found:
        if v.op is None:
            rows.append([v.target.what, "not measured", "", "", "", "", "not measured"])
            continue
        rows.append(
            [
                v.target.what,
                v.op.label,
                f"{v.rest_ms:.1f}",
                f"{v.stock_ms:.1f}",
                f"{v.ratio:.2f}x",
                f"{v.target.limit:.1f}x",
                "met" if v.met else "NOT MET",
            ]
        )
    return rows
