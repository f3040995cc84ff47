"""Large data: a 100 MB file through JupyterLab's chunked upload, a 2,000-entry folder."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os

import pytest
from helpers import api, url_parts
from tornado.escape import url_escape
from tornado.httpclient import AsyncHTTPClient
from tornado.httputil import url_concat

CHUNK = 1024 * 1024  # JupyterLab's upload chunk size
BIG = 100 * 1024 * 1024


def chunk_numbers(size: int):
    """The chunk numbers JupyterLab sends: 1, 2, ..., and -1 for the last one."""
    count = (size + CHUNK - 1) // CHUNK
    return [(i + 1 if i < count - 1 else -1, i * CHUNK) for i in range(count)]


@pytest.mark.slow
async def test_100_mb_file_round_trips_byte_for_byte(
    jp_fetch, jp_base_url, jp_auth_header, http_server_port, contents
):
    data = os.urandom(BIG)
    for number, start in chunk_numbers(BIG):
        body = {
            "type": "file",
            "format": "base64",
            "chunk": number,
            "content": base64.b64encode(data[start : start + CHUNK]).decode(),
        }
        model = await api(jp_fetch, "PUT", "big.bin", body)
        if number != -1:
            # Until the last chunk arrives the stored file is untouched.
            assert not await contents.exists("big.bin")
    assert model["size"] == BIG

    # Read it back through the REST API (a client allowing a body over tornado's 100 MB default).
    client = AsyncHTTPClient(force_instance=True, max_body_size=4 * BIG, max_buffer_size=4 * BIG)
    port = http_server_port[-1]
    path = "/".join(url_escape(p, plus=False) for p in url_parts("big.bin"))
    url = url_concat(f"http://127.0.0.1:{port}{jp_base_url}{path}", {"format": "base64"})
    try:
        response = await client.fetch(url, headers=jp_auth_header, request_timeout=600)
    finally:
        client.close()
    got = base64.b64decode(json.loads(response.body)["content"])
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_chunks_out_of_order_are_refused_and_write_nothing(jp_fetch, contents):
    from helpers import api_error

    first = {"type": "file", "format": "text", "chunk": 1, "content": "a"}
    await api(jp_fetch, "PUT", "parts.txt", first)
    skipped = {"type": "file", "format": "text", "chunk": 3, "content": "c"}
    code, message = await api_error(jp_fetch, "PUT", "parts.txt", skipped)
    assert code == 400
    assert "out of order" in message
    assert not await contents.exists("parts.txt")


def chunk_body(number: int, data: bytes) -> dict:
    return {
        "type": "file",
        "format": "base64",
        "chunk": number,
        "content": base64.b64encode(data).decode(),
    }


async def test_chunked_uploads_in_progress_are_bounded_together(jp_fetch, contents):
    """A user's uploads in progress hold at most max_staged_upload_bytes together: the one
    that would pass it is stopped (413 saying how much is allowed) and dropped, the others
    go on."""
    from helpers import api_error

    contents.max_staged_upload_bytes = 3 * CHUNK
    a, b = os.urandom(2 * CHUNK), os.urandom(2 * CHUNK)
    await api(jp_fetch, "PUT", "a.bin", chunk_body(1, a[:CHUNK]))
    await api(jp_fetch, "PUT", "b.bin", chunk_body(1, b[:CHUNK]))
    await api(jp_fetch, "PUT", "a.bin", chunk_body(2, a[CHUNK : CHUNK + CHUNK // 2]))
    code, message = await api_error(jp_fetch, "PUT", "b.bin", chunk_body(2, b[CHUNK:]))
    assert code == 413, message
    assert "3.1 MB together" in message and "nothing of it was kept" in message
    # b's staged chunks are gone: its upload has to start again; a's goes on.
    code, message = await api_error(jp_fetch, "PUT", "b.bin", chunk_body(-1, b[CHUNK:]))
    assert code == 400 and "was stopped" in message
    model = await api(jp_fetch, "PUT", "a.bin", chunk_body(-1, a[CHUNK + CHUNK // 2 :]))
    assert model["size"] == len(a)
    assert not await contents.exists("b.bin")
    got = await api(jp_fetch, "GET", "a.bin", format="base64")
    assert base64.b64decode(got["content"]) == a
    assert contents._stager.staged_total() == 0


@pytest.mark.slow
async def test_listing_of_2000_entries(jp_fetch, contents):
    folder = contents.home + "/many"
    await contents.files.mkdir(folder)
    gate = asyncio.Semaphore(32)

    async def touch(i: int) -> None:
        async with gate:
            await contents.files.touch(f"{folder}/file-{i:04d}.txt")

    await asyncio.gather(*(touch(i) for i in range(2000)))
    listing = await api(jp_fetch, "GET", "many")
    names = sorted(c["name"] for c in listing["content"])
    assert len(names) == 2000
    assert names[0] == "file-0000.txt" and names[-1] == "file-1999.txt"
    assert all(c["type"] == "file" and c["size"] == 0 for c in listing["content"])
