"""File bytes travel over HTTP, never over gRPC: the gateway hands out an endpoint and a
transfer token (``InitiateFileUpload`` / ``InitiateFileDownload``) and the bytes go to the
data gateway or the exposed data server. Streaming in both directions, on tornado's async
HTTP client, so the server's event loop never blocks.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any

from tornado.http1connection import HTTP1Connection
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.iostream import IOStream
from tornado.simple_httpclient import SimpleAsyncHTTPClient, _HTTPConnection

from .errors import (
    CS3Error,
    InsufficientStorage,
    Locked,
    NotFound,
    PermissionDenied,
    ServerError,
    Unauthenticated,
    Unavailable,
)

TRANSFER_HEADER = "X-Reva-Transfer"
LOCK_HEADER = "X-Lock-Id"
TOKEN_HEADER = "x-access-token"
MAX_BODY_BYTES = 64 * 1024**3
CHUNK_BYTES = 1024 * 1024
# Chunks (tornado reads 64 KiB at a time) a pipe from a download to an upload holds at most.
PIPE_CHUNKS = 16
# Seconds the other side of a failed pipe gets to end before it is cancelled.
ABORT_SECONDS = 10

_HTTP_ERRORS: dict[int, type[CS3Error]] = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    423: Locked,
    507: InsufficientStorage,
    503: Unavailable,
}


class RangeNotSatisfiable(CS3Error):
    """The data server answered a ranged read with 416 (Reva v3's local driver does so for
    every range: it cannot serve part of a file)."""

    http_status = 416
    reason = "Range not satisfiable"


class _RangeRefused(Exception):
    pass


def _error(code: int, what: str, verb: str) -> CS3Error:
    cls = _HTTP_ERRORS.get(code, ServerError)
    return cls(f"The CS3 data server refused to {verb} {what} (HTTP {code})")


def _headers(transfer_token: str, access_token: str, lock_id: str) -> dict[str, str]:
    headers = {TOKEN_HEADER: access_token}
    if transfer_token:
        headers[TRANSFER_HEADER] = transfer_token
    if lock_id:
        headers[LOCK_HEADER] = lock_id
    return headers


async def chunks_of(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK_BYTES):
        yield bytes(view[start : start + CHUNK_BYTES])


class _Window:
    """Passes on only the bytes of a range, also when the server ignores the Range header
    and answers 200 with the whole file (then the bytes outside the range are dropped)."""

    def __init__(self, start: int, end: int, on_chunk: Callable[[bytes], Any]) -> None:
        self.start, self.end, self.on_chunk = start, end, on_chunk
        self.position: int | None = None  # offset in the file of the next byte received

    def header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            parts = line.split()
            whole = len(parts) > 1 and parts[1] == "200"
            self.position = 0 if whole else self.start

    def chunk(self, data: bytes) -> Awaitable[None] | None:
        begin = self.position if self.position is not None else self.start
        self.position = begin + len(data)
        low, high = max(self.start - begin, 0), min(self.end - begin, len(data))
        if high <= low:
            return None
        return self.on_chunk(data[low:high] if (low, high) != (0, len(data)) else data)


class _BulkConnection(_HTTPConnection):
    """tornado's HTTP/1 client connection, reading a body in pieces of up to
    :data:`CHUNK_BYTES` where tornado reads 64 KiB: per piece, tornado and the caller's
    callback cost about the same Python time whatever its size."""

    def _create_connection(self, stream: IOStream) -> HTTP1Connection:
        stream.read_chunk_size = CHUNK_BYTES
        connection = super()._create_connection(stream)
        connection.params.chunk_size = CHUNK_BYTES
        return connection


class _BulkClient(SimpleAsyncHTTPClient):
    def _connection_class(self) -> type:
        return _BulkConnection


class DataTransfer:
    """Streams bytes to and from a CS3 data endpoint."""

    def __init__(self, timeout: float = 3600.0) -> None:
        self._http = _BulkClient(
            force_instance=True, max_body_size=MAX_BODY_BYTES, max_buffer_size=MAX_BODY_BYTES
        )
        self._timeout = timeout

    def close(self) -> None:
        self._http.close()

    async def put(
        self,
        endpoint: str,
        data: bytes,
        *,
        transfer_token: str,
        access_token: str,
        lock_id: str = "",
        what: str,
    ) -> None:
        await self.put_stream(
            endpoint,
            len(data),
            chunks_of(data),
            transfer_token=transfer_token,
            access_token=access_token,
            lock_id=lock_id,
            what=what,
        )

    async def put_stream(
        self,
        endpoint: str,
        size: int,
        chunks: AsyncIterable[bytes | memoryview],
        *,
        transfer_token: str,
        access_token: str,
        lock_id: str = "",
        what: str,
    ) -> None:
        """Store ``size`` bytes produced by ``chunks`` (the length is sent up front: Reva's
        decomposedfs refuses an upload without it)."""
        headers = _headers(transfer_token, access_token, lock_id)
        headers["Content-Length"] = str(size)
        headers["Upload-Length"] = str(size)
        headers["Content-Type"] = "application/octet-stream"

        async def produce(write: Callable) -> None:
            async for chunk in chunks:
                await write(chunk)

        request = HTTPRequest(
            endpoint,
            method="PUT",
            headers=headers,
            body_producer=produce,
            request_timeout=self._timeout,
            connect_timeout=30,
        )
        await self._fetch(request, what, "store")

    async def get(
        self, endpoint: str, *, transfer_token: str, access_token: str, what: str
    ) -> bytes:
        chunks: list[bytes] = []
        await self.get_stream(
            endpoint,
            chunks.append,
            transfer_token=transfer_token,
            access_token=access_token,
            what=what,
        )
        return b"".join(chunks)

    async def get_stream(
        self,
        endpoint: str,
        on_chunk: Callable[[bytes], object],
        *,
        transfer_token: str,
        access_token: str,
        what: str,
        byte_range: tuple[int, int] | None = None,
    ) -> int:
        """Hand the file's bytes to ``on_chunk`` as they arrive (nothing is kept here).
        ``byte_range`` (start, end exclusive) asks for part of the file: the answer is 206
        when the storage honoured it, 200 when it sent the whole file instead. Returns the
        HTTP status; raises :class:`RangeNotSatisfiable` on 416."""
        headers = _headers(transfer_token, access_token, "")

        def deliver(chunk: bytes) -> Awaitable[None] | None:
            # tornado awaits what the callback returns (back-pressure), if anything
            result = on_chunk(chunk)
            return result if inspect.isawaitable(result) else None

        window = None
        if byte_range is not None:
            headers["Range"] = f"bytes={byte_range[0]}-{byte_range[1] - 1}"
            window = _Window(*byte_range, deliver)
        request = HTTPRequest(
            endpoint,
            method="GET",
            headers=headers,
            header_callback=window.header if window else None,
            streaming_callback=window.chunk if window else deliver,
            request_timeout=self._timeout,
            connect_timeout=30,
            decompress_response=False,
        )
        try:
            return await self._fetch(request, what, "read")
        except _RangeRefused:
            raise RangeNotSatisfiable(
                f"The CS3 data server cannot send part of {what} (HTTP 416)"
            ) from None

    async def _fetch(self, request: HTTPRequest, what: str, verb: str) -> int:
        try:
            response = await self._http.fetch(request)
        except HTTPClientError as err:
            if err.code == 416 and "Range" in request.headers:
                raise _RangeRefused from None
            if err.code == 599:  # tornado's "no HTTP response": connection failed or timed out
                raise Unavailable(
                    f"The CS3 data server cannot be reached to {verb} {what}"
                ) from None
            raise _error(err.code, what, verb) from None
        except OSError as err:
            raise Unavailable(
                f"The CS3 data server cannot be reached to {verb} {what} ({err.strerror or err})"
            ) from None
        return response.code

    async def pipe(
        self,
        source: tuple[str, str],
        target: tuple[str, str],
        size: int,
        *,
        access_token: str,
        what: tuple[str, str],
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        """Stream ``size`` bytes from a download endpoint to an upload endpoint (each an
        ``(endpoint, transfer token)``; ``what`` names both in errors). At most
        :data:`PIPE_CHUNKS` chunks are in memory: the download waits while the upload has
        not taken what it read. When either side fails, the other is aborted."""
        pipe = _Pipe(on_bytes)
        download = HTTPRequest(
            source[0],
            method="GET",
            headers=_headers(source[1], access_token, ""),
            streaming_callback=pipe.received,
            request_timeout=self._timeout,
            connect_timeout=30,
            decompress_response=False,
        )
        headers = _headers(target[1], access_token, "")
        headers["Content-Length"] = headers["Upload-Length"] = str(size)
        headers["Content-Type"] = "application/octet-stream"
        upload = HTTPRequest(
            target[0],
            method="PUT",
            headers=headers,
            body_producer=pipe.produce,
            request_timeout=self._timeout,
            connect_timeout=30,
        )

        async def read() -> None:
            await self._fetch(download, what[0], "read")
            await pipe.queue.put(None)

        reading = asyncio.ensure_future(read())
        writing = asyncio.ensure_future(self._fetch(upload, what[1], "store"))
        done, _ = await asyncio.wait({reading, writing}, return_when=asyncio.FIRST_EXCEPTION)
        failed = next((t for t in done if t.exception() is not None), None)
        if failed is None:
            await asyncio.gather(reading, writing)
            return
        pipe.abort()  # the other side now fails at its next chunk: let it end that way
        rest = asyncio.gather(reading, writing, return_exceptions=True)
        try:
            await asyncio.wait_for(rest, ABORT_SECONDS)
        except asyncio.TimeoutError:
            pass  # wait_for cancelled it
        raise failed.exception()


class _PipeAborted(Exception):
    """The other side of a pipe failed: this side stops too."""


class _Pipe:
    """The bounded buffer between a download's chunks and an upload's body."""

    def __init__(self, on_bytes: Callable[[int], None] | None) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=PIPE_CHUNKS)
        self.aborted = False
        self.on_bytes = on_bytes

    async def received(self, chunk: bytes) -> None:
        if self.aborted:
            raise _PipeAborted()
        await self.queue.put(chunk)

    async def produce(self, write: Callable) -> None:
        while True:
            chunk = await self.queue.get()
            if self.aborted:
                raise _PipeAborted()
            if chunk is None:
                return
            await write(chunk)
            if self.on_bytes is not None:
                self.on_bytes(len(chunk))

    def abort(self) -> None:
        """Unblock both sides: a waiting download gets room and then stops, a waiting upload
        gets the end marker and then stops."""
        self.aborted = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)
