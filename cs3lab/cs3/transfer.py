"""File bytes travel over HTTP, never over gRPC: the gateway hands out an endpoint and a
transfer token (``InitiateFileUpload`` / ``InitiateFileDownload``) and the bytes go to the
data gateway or the exposed data server. Streaming in both directions, on tornado's async
HTTP client, so the server's event loop never blocks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

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

_HTTP_ERRORS: dict[int, type[CS3Error]] = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    423: Locked,
    507: InsufficientStorage,
    503: Unavailable,
}


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


async def _chunks_of(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), CHUNK_BYTES):
        yield bytes(view[start : start + CHUNK_BYTES])


class DataTransfer:
    """Streams bytes to and from a CS3 data endpoint."""

    def __init__(self, timeout: float = 3600.0) -> None:
        self._http = AsyncHTTPClient(
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
        headers = _headers(transfer_token, access_token, lock_id)
        headers["Content-Length"] = str(len(data))
        headers["Upload-Length"] = str(len(data))
        headers["Content-Type"] = "application/octet-stream"

        async def produce(write: Callable) -> None:
            async for chunk in _chunks_of(data):
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
        request = HTTPRequest(
            endpoint,
            method="GET",
            headers=_headers(transfer_token, access_token, ""),
            streaming_callback=chunks.append,
            request_timeout=self._timeout,
            connect_timeout=30,
            decompress_response=False,
        )
        await self._fetch(request, what, "read")
        return b"".join(chunks)

    async def _fetch(self, request: HTTPRequest, what: str, verb: str) -> None:
        try:
            await self._http.fetch(request)
        except HTTPClientError as err:
            if err.code == 599:  # tornado's "no HTTP response": connection failed or timed out
                raise Unavailable(
                    f"The CS3 data server cannot be reached to {verb} {what}"
                ) from None
            raise _error(err.code, what, verb) from None
        except OSError as err:
            raise Unavailable(
                f"The CS3 data server cannot be reached to {verb} {what} ({err.strerror or err})"
            ) from None
