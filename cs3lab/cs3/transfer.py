"""File bytes travel over HTTP, never over gRPC: the gateway hands out an endpoint and a
transfer token (``InitiateFileUpload`` / ``InitiateFileDownload``) and the bytes go to the
data gateway or the exposed data server. Streaming in both directions, on tornado's async
HTTP client, so the server's event loop never blocks.

Every request carries the user's access token, so each goes through one gate
(:func:`insecure_endpoint_problem`): https is verified with the gateway's CA bundle, plain http
only to a loopback host and only while the gateway itself is reached without TLS, unless the
operator allows it (``CS3Connection.allow_insecure_data_transfers``). Redirects are not
followed: the token would go wherever the answer points.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import ssl
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tornado.http1connection import HTTP1Connection
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.httputil import HTTPHeaders, RequestStartLine, ResponseStartLine
from tornado.iostream import IOStream
from tornado.simple_httpclient import HTTPTimeoutError, SimpleAsyncHTTPClient, _HTTPConnection

from .errors import (
    Conflict,
    CS3Error,
    InsufficientStorage,
    Locked,
    NotFound,
    PermissionDenied,
    ServerError,
    Stalled,
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
CONNECT_SECONDS = 30
# Seconds a transfer may wait on the data server without a byte moving (0: no limit).
STALL_SECONDS = 120.0
# The setting that lets the access token travel in clear (named in the refusal).
ALLOW_INSECURE_SETTING = (
    "c.CS3Connection.allow_insecure_data_transfers = True "
    "(env CS3LAB_ALLOW_INSECURE_DATA_TRANSFERS=1)"
)

_HTTP_ERRORS: dict[int, type[CS3Error]] = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    412: Conflict,  # a condition of the upload (if_match) no longer holds
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
    if 300 <= code < 400:
        return ServerError(
            f"The CS3 data server sent the request to {verb} {what} elsewhere (HTTP {code}): "
            "cs3lab does not follow redirects of data transfers"
        )
    cls = _HTTP_ERRORS.get(code, ServerError)
    return cls(f"The CS3 data server refused to {verb} {what} (HTTP {code})")


@dataclass(frozen=True)
class TransferSecurity:
    """The TLS settings of the gateway's channel, applied to the data transfers too."""

    gateway_tls: bool = False
    ca_file: str = ""  # the CA bundle that verifies https data servers ("": system roots)
    allow_insecure: bool = False  # the operator lets the token go in clear over http

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the server's certificate and name, with ``ca_file`` (only it, as for the
        gRPC channel) or the system's roots."""
        try:
            return ssl.create_default_context(cafile=self.ca_file or None)
        except OSError as err:  # ssl.SSLError too: a file that holds no certificate
            raise Unavailable(
                f"Cannot read the CA bundle {self.ca_file} (CS3Connection.ca_file): "
                f"{err.strerror or err}"
            ) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name: it may resolve anywhere
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def insecure_endpoint_problem(endpoint: str, security: TransferSecurity) -> str | None:
    """Why the access token must not be sent to the data ``endpoint``; None when it may:
    https always (verified), http only to a loopback host while the gateway's channel is not
    TLS either, or anywhere when the operator allowed it."""
    parts = urlsplit(endpoint)
    scheme = parts.scheme.lower()
    try:
        host = (parts.hostname or "").lower()
        place = f"{scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    except ValueError:  # a port that is not a number
        return "the gateway named a data server whose address cannot be read"
    if scheme == "https":
        return None
    if scheme != "http":
        return f"the gateway named a data server at {place}, which is not an http(s) address"
    if security.allow_insecure:
        return None
    if security.gateway_tls:
        why = "the gateway is reached with TLS but its data server without"
    elif not _is_loopback(host):
        why = "it is not on this machine (loopback) and the connection is not encrypted"
    else:
        return None
    return (
        f"cs3lab does not send your access token in clear to the data server at {place}: "
        f"{why}. Give the data server an https address, or, if the network between them is "
        f"trusted, set {ALLOW_INSECURE_SETTING}"
    )


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


class _StallWatch:
    """Ends a transfer whose data server has owed it something (a write to take, an answer
    to send) for ``seconds`` without a byte moving. Time spent on this side (a producer
    between two writes, a callback holding the download back) does not count: a slow
    reader or writer here is not a stalled server."""

    def __init__(self, connection: _BulkConnection, seconds: float) -> None:
        # Weak: the connection holds this watch, and its writes are wrapped by it; a cycle
        # would keep the request's callbacks (and what they hold) until the next collection.
        self.connection = weakref.ref(connection)
        self.io_loop = connection.io_loop
        self.seconds = seconds
        self.writes = 0  # writes the server has not taken yet
        self.ours = 0  # callbacks of this side still running
        self.body_sent = False
        self.last = time.monotonic()
        self._timer: object = None
        self._check_later()

    def _check_later(self) -> None:
        self._timer = self.io_loop.call_later(max(self.seconds / 5, 0.1), self._check)

    def stop(self) -> None:
        if self._timer is not None:
            self.io_loop.remove_timeout(self._timer)
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        connection = self.connection()
        if connection is None or connection.final_callback is None:  # the request is over
            return
        owed = (self.writes or self.body_sent) and not self.ours
        if owed and time.monotonic() - self.last >= self.seconds:
            connection._on_timeout(f"(no data for {self.seconds:g} s)")
            return
        self._check_later()

    def progress(self) -> None:
        self.last = time.monotonic()

    def watch(self, connection: HTTP1Connection) -> None:
        write, finish = connection.write, connection.finish

        def tracked_write(chunk: bytes) -> Any:
            future = write(chunk)
            self.writes += 1
            self.progress()
            future.add_done_callback(self._written)
            return future

        def tracked_finish() -> None:
            self.body_sent = True
            self.progress()
            finish()

        connection.write = tracked_write  # type: ignore[method-assign]
        connection.finish = tracked_finish  # type: ignore[method-assign]

    def _written(self, _: Any) -> None:
        self.writes -= 1
        self.progress()

    def ours_until_done(self, result: Awaitable[None] | None) -> Awaitable[None] | None:
        self.progress()
        if result is None:
            return None
        self.ours += 1

        async def held() -> None:
            try:
                await result
            finally:
                self.ours -= 1
                self.progress()

        return held()


class _BulkConnection(_HTTPConnection):
    """tornado's HTTP/1 client connection, reading a body in pieces of up to
    :data:`CHUNK_BYTES` where tornado reads 64 KiB: per piece, tornado and the caller's
    callback cost about the same Python time whatever its size. Watched for stalls
    (:class:`_StallWatch`) when its client has ``stall_seconds``."""

    _stall: _StallWatch | None = None

    def _create_connection(self, stream: IOStream) -> HTTP1Connection:
        stream.read_chunk_size = CHUNK_BYTES
        connection = super()._create_connection(stream)
        connection.params.chunk_size = CHUNK_BYTES
        seconds = getattr(self.client, "stall_seconds", 0)
        if seconds:
            self._stall = _StallWatch(self, seconds)
            self._stall.watch(connection)
        return connection

    async def headers_received(
        self, first_line: ResponseStartLine | RequestStartLine, headers: HTTPHeaders
    ) -> None:
        if self._stall is not None:
            self._stall.progress()
        await super().headers_received(first_line, headers)

    def data_received(self, chunk: bytes) -> Awaitable[None] | None:
        result = super().data_received(chunk)
        return result if self._stall is None else self._stall.ours_until_done(result)

    def _run_callback(self, response: Any) -> None:  # every request ends here
        if self._stall is not None:
            self._stall.stop()
        super()._run_callback(response)


class _BulkClient(SimpleAsyncHTTPClient):
    stall_seconds: float = 0.0

    def _connection_class(self) -> type:
        return _BulkConnection


class DataTransfer:
    """Streams bytes to and from a CS3 data endpoint."""

    def __init__(
        self,
        security: TransferSecurity | None = None,
        timeout: float = 3600.0,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self.security = security or TransferSecurity()
        self._ssl: ssl.SSLContext | None = None  # made at the first request
        self._http = _BulkClient(
            force_instance=True, max_body_size=MAX_BODY_BYTES, max_buffer_size=MAX_BODY_BYTES
        )
        self._http.stall_seconds = stall_seconds
        self._timeout = timeout

    def request(self, endpoint: str, method: str, what: str, **options: Any) -> HTTPRequest:
        """The one place a request to a data server is made: refused (before any
        connection) when it would carry the token in clear, TLS-verified otherwise."""
        problem = insecure_endpoint_problem(endpoint, self.security)
        if problem is not None:
            raise ServerError(f"Cannot transfer {what}: {problem}")
        if self._ssl is None and endpoint[:6].lower() == "https:":
            self._ssl = self.security.ssl_context()
        return HTTPRequest(
            endpoint,
            method=method,
            ssl_options=self._ssl,
            follow_redirects=False,
            request_timeout=self._timeout,
            connect_timeout=CONNECT_SECONDS,
            **options,
        )

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

        request = self.request(endpoint, "PUT", what, headers=headers, body_producer=produce)
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
        request = self.request(
            endpoint,
            "GET",
            what,
            headers=headers,
            header_callback=window.header if window else None,
            streaming_callback=window.chunk if window else deliver,
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
            if isinstance(err, HTTPTimeoutError) and "no data" in err.message:
                raise Stalled(
                    f"The CS3 data server stopped answering while cs3lab tried to {verb} "
                    f"{what} {err.message.removeprefix('Timeout ')}; try again later"
                ) from None
            if err.code == 599:  # tornado's "no HTTP response": connection failed or timed out
                raise Unavailable(
                    f"The CS3 data server cannot be reached to {verb} {what}"
                ) from None
            raise _error(err.code, what, verb) from None
        except ssl.SSLError as err:
            raise Unavailable(
                f"The CS3 data server's certificate was not accepted to {verb} {what} "
                f"({err.reason or err}): CS3Connection.ca_file names the CA bundle that "
                "verifies it"
            ) from None
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
        download = self.request(
            source[0],
            "GET",
            what[0],
            headers=_headers(source[1], access_token, ""),
            streaming_callback=pipe.received,
            decompress_response=False,
        )
        headers = _headers(target[1], access_token, "")
        headers["Content-Length"] = headers["Upload-Length"] = str(size)
        headers["Content-Type"] = "application/octet-stream"
        upload = self.request(
            target[0], "PUT", what[1], headers=headers, body_producer=pipe.produce
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
