"""The server's memory while a large file moves through REST, as JupyterLab moves it.

Upload: ``PUT /api/contents/<path>`` in 1 MiB chunks (``"chunk": 1, 2, ..., -1`` for the
last, ``"format": "base64"``), as JupyterLab's file browser uploads (tests/test_contents_large
does the same); download: one ``GET ?type=file&format=base64&content=1``. The server's resident
memory (VmRSS) and its peak so far (VmHWM) are read from /proc/<pid>/status before, after the
upload and after the download; the bytes read back are checked (SHA-256).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
from common import MIB
from servers import JupyterServer, RestClient

CHUNK = MIB  # JupyterLab's upload chunk size


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


@dataclass
class Transfer:
    server: str
    size: int  # bytes
    upload_s: float = 0.0
    download_s: float = 0.0
    # "before", "after upload", "after download" -> {"VmRSS": KiB, "VmHWM": KiB}
    memory: dict[str, dict[str, int]] = field(default_factory=dict)


def chunks(size: int) -> list[tuple[int, int]]:
    """(chunk number, offset): 1, 2, ... and -1 for the last chunk, as JupyterLab numbers them."""
    count = (size + CHUNK - 1) // CHUNK
    return [(i + 1 if i < count - 1 else -1, i * CHUNK) for i in range(count)]


async def transfer(server: JupyterServer, name: str, size: int) -> Transfer:
    pid = server.process.pid
    data = os.urandom(size)
    path = f"big-{size // MIB}mib.bin"
    client = RestClient(server)
    result = Transfer(name, size)
    try:
        result.memory["before"] = memory_kib(pid)
        start = time.perf_counter()
        for number, offset in chunks(size):
            body = {
                "type": "file",
                "format": "base64",
                "chunk": number,
                "content": base64.b64encode(data[offset : offset + CHUNK]).decode(),
            }
            model = json.loads(await client.contents("PUT", path, body=json.dumps(body).encode()))
        result.upload_s = time.perf_counter() - start
        if model["size"] != size:
            raise RuntimeError(f"{name}: uploaded {model['size']} bytes, expected {size}")
        result.memory["after upload"] = memory_kib(pid)
        start = time.perf_counter()
        reply = await client.contents("GET", path, "type=file&format=base64&content=1&hash=0")
        result.download_s = time.perf_counter() - start
        got = base64.b64decode(json.loads(reply)["content"])
        if hashlib.sha256(got).digest() != hashlib.sha256(data).digest():
            raise RuntimeError(f"{name}: the {size} bytes read back differ")
        del reply, got
        result.memory["after download"] = memory_kib(pid)
        await client.contents("DELETE", path)
    finally:
        client.close()
    return result


def memory_table(transfers: list[Transfer]) -> list[list[str]]:
    rows = [
        [
            "server",
            "file",
            "upload s",
            "download s",
            "RSS before MiB",
            "RSS after upload MiB",
            "RSS after download MiB",
            "peak RSS before MiB",
            "peak RSS after upload MiB",
            "peak RSS after download MiB",
        ]
    ]
    for t in transfers:
        rss = {stage: values["VmRSS"] / 1024 for stage, values in t.memory.items()}
        hwm = {stage: values["VmHWM"] / 1024 for stage, values in t.memory.items()}
        rows.append(
            [
                t.server,
                f"{t.size // MIB} MiB",
                f"{t.upload_s:.1f}",
                f"{t.download_s:.1f}",
                *(f"{rss[s]:.0f}" for s in ("before", "after upload", "after download")),
                *(f"{hwm[s]:.0f}" for s in ("before", "after upload", "after download")),
            ]
        )
    return rows
