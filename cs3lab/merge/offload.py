"""CPU-heavy merge work (parsing and writing notebooks, nbdime's diff and merge, JSON of
large answers) in a worker process, so that the Jupyter server's event loop never stalls.

A thread is not enough: json and nbformat spend long stretches in C holding the GIL (a
6 MB notebook: hundreds of milliseconds), and the loop waits for it. One worker, started
on first use with "spawn" (forking a process that holds gRPC channels is unsafe) and kept
for the life of the server process (Python's exit handlers end it), since starting one costs
seconds.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


async def offload(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the worker process (``fn`` and its arguments must pickle). A worker
    that died (killed, out of memory) is replaced once."""
    global _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_executor(), fn, *args)
    except BrokenProcessPool:
        _pool = None
        return await loop.run_in_executor(_executor(), fn, *args)
