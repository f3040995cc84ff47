"""Count the CS3 calls a client makes: gRPC methods on the gateway stub, HTTP transfers.

The counting is a dictionary increment per call (well under a microsecond), installed on
all three measured paths alike, so it never tilts a ratio. Used by run.py (raw client and
in-process contents manager) and by bench_server.py (the Jupyter server's contents manager).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

HTTP_GET = "HTTP GET"
HTTP_PUT = "HTTP PUT"


class CountingStub:
    """A gateway stub whose every method call is counted under the method's name."""

    def __init__(self, stub: Any, counts: Counter) -> None:
        self._stub = stub
        self._counts = counts
        self._methods: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        method = self._methods.get(name)
        if method is None:
            target = getattr(self._stub, name)
            counts = self._counts

            def method(*args: Any, **kwargs: Any) -> Any:
                counts[name] += 1
                return target(*args, **kwargs)

            self._methods[name] = method
        return method


def instrument_files(files: Any, counts: Counter) -> None:
    """Count the calls of a ``cs3lab.cs3.Files`` (its client's stub and its data transfers)."""
    client = files.client
    client.stub = CountingStub(client.stub, counts)
    transfer = files.transfer
    # every transfer (get/put, the fsspec filesystem's ranged reads) goes through these two
    put, get = transfer.put_stream, transfer.get_stream

    async def counted_put(*args: Any, **kwargs: Any) -> Any:
        counts[HTTP_PUT] += 1
        return await put(*args, **kwargs)

    async def counted_get(*args: Any, **kwargs: Any) -> Any:
        counts[HTTP_GET] += 1
        return await get(*args, **kwargs)

    transfer.put_stream = counted_put
    transfer.get_stream = counted_get


def diff(after: dict[str, int], before: dict[str, int]) -> Counter:
    """The calls made between two snapshots of a counter."""
    return Counter({k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)})


ORDER = (
    "Authenticate",
    "WhoAmI",
    "GetUser",
    "Stat",
    "ListContainer",
    "GetLock",
    "SetLock",
    "RefreshLock",
    "Unlock",
    "CreateContainer",
    "SetArbitraryMetadata",
    "Delete",
    "TouchFile",
    "InitiateFileDownload",
    HTTP_GET,
    "InitiateFileUpload",
    HTTP_PUT,
)


def describe(counts: Counter) -> str:
    """``Stat x2 + InitiateFileUpload + HTTP PUT``: the calls in a stable order."""
    names = sorted(counts, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    parts = [f"{n} x{counts[n]}" if counts[n] > 1 else n for n in names if counts[n]]
    return " + ".join(parts) or "none"


def total_rpcs(counts: Counter) -> int:
    return sum(v for k, v in counts.items() if k not in (HTTP_GET, HTTP_PUT))
