"""Operations, timing (interleaved paths, rotated order) and percentiles."""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import calls
import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
from common import progress
from servers import RestClient

Step = Callable[[], Awaitable[Any]]


@dataclass
class Operation:
    label: str
    run: dict[str, Step]  # path -> one execution
    check: Callable[[str, Any], None]  # path, result of one execution -> raises if wrong
    kind: str = ""  # e.g. "get text", "open notebook", "list": rows of a kind differ in size
    size: int = 0  # the payload in bytes (listings: the number of entries)
    samples: dict[str, list[float]] = field(default_factory=dict)  # ms
    calls: dict[str, Counter] = field(default_factory=dict)
    # untimed and uncounted, around every execution of a path (e.g. take the lock that the
    # timed "release" gives back), and once around the whole operation
    before: dict[str, Step] = field(default_factory=dict)
    after: dict[str, Step] = field(default_factory=dict)
    setup: Step | None = None
    teardown: Step | None = None
    wrong: dict[str, str] = field(default_factory=dict)  # path -> WrongLockState message


class WrongLockState(RuntimeError):
    """A listing came back complete but with the wrong lock state: the row is still timed,
    and the report says so next to it (every other wrong result ends the run)."""


async def timed(run: Step) -> float:
    gc.collect()  # not in the timed span: no path pays for another's garbage
    start = time.perf_counter()
    await run()
    return (time.perf_counter() - start) * 1000


async def measure(
    op: Operation, counters: dict[str, Counter], rest: RestClient, warmup: int, repeat: int
) -> None:
    paths = list(op.run)

    async def nothing() -> None:
        return None

    async def execute(path: str, run: Step) -> Any:
        await op.before.get(path, nothing)()
        try:
            return await run()
        finally:
            await op.after.get(path, nothing)()

    if op.setup is not None:
        await op.setup()
    try:
        for _ in range(warmup):
            for path in paths:
                await execute(path, op.run[path])

        async def snapshot(path: str) -> dict[str, int]:
            return await rest.calls() if path == "rest" else dict(counters[path])

        # once more each, untimed and warm: check the result, count the CS3 calls
        for path in paths:
            result: list[Any] = []

            async def counted(path: str = path, result: list[Any] = result) -> None:
                if path in ("raw", "manager", "rest"):
                    before = await snapshot(path)
                    result.append(await op.run[path]())
                    op.calls[path] = calls.diff(await snapshot(path), before)
                else:
                    result.append(await op.run[path]())

            await execute(path, counted)
            try:
                op.check(path, result[0])
            except WrongLockState as err:
                op.wrong[path] = str(err)
                progress(f"WRONG RESULT, reported: {op.label}, {err}")
        op.samples = {path: [] for path in paths}
        for i in range(repeat):
            shift = i % len(paths)  # rotate the order so no path is always first or last
            for path in paths[shift:] + paths[:shift]:
                op.samples[path].append(await execute(path, lambda p=path: timed(op.run[p])))
    finally:
        if op.teardown is not None:
            await op.teardown()


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
