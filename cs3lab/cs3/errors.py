"""One exception family for CS3 status codes, each mapped to one HTTP status.

The CS3 APIs report failures in the response's ``status`` (``cs3.rpc.v1beta1.Status``),
not as gRPC errors; transport failures arrive as ``grpc.aio.AioRpcError``. Both are turned
into a :class:`CS3Error` subclass here, so callers above this package deal with one family.
"""

from __future__ import annotations

from typing import ClassVar

import grpc
from cs3.rpc.v1beta1 import code_pb2


class CS3Error(Exception):
    """A CS3 call failed. ``message`` is a sentence a user understands."""

    http_status: ClassVar[int] = 500
    reason: ClassVar[str] = "CS3 error"

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # the server's own text, for logs; may be empty


class InvalidArgument(CS3Error):
    http_status = 400
    reason = "Invalid argument"


class Unauthenticated(CS3Error):
    http_status = 401
    reason = "Not authenticated"


class PermissionDenied(CS3Error):
    http_status = 403
    reason = "Permission denied"


class NotFound(CS3Error):
    http_status = 404
    reason = "Not found"


class AlreadyExists(CS3Error):
    http_status = 409
    reason = "Already exists"


class Conflict(CS3Error):
    """The resource changed under the caller (etag mismatch, ABORTED, FAILED_PRECONDITION)."""

    http_status = 409
    reason = "Conflict"


class Locked(CS3Error):
    http_status = 423
    reason = "Locked"


class InsufficientStorage(CS3Error):
    http_status = 507
    reason = "Insufficient storage"


class NotSupported(CS3Error):
    """The storage does not implement this call (e.g. locks on Reva's local driver)."""

    http_status = 501
    reason = "Not supported by the storage"


class Unavailable(CS3Error):
    http_status = 503
    reason = "CS3 site unavailable"


class Stalled(Unavailable):
    """A data server that took a transfer and then sent or took nothing for
    CS3Connection.transfer_stall_seconds."""


class ServerError(CS3Error):
    http_status = 502
    reason = "CS3 server error"


_BY_CODE: dict[int, type[CS3Error]] = {
    code_pb2.CODE_INVALID_ARGUMENT: InvalidArgument,
    code_pb2.CODE_OUT_OF_RANGE: InvalidArgument,
    code_pb2.CODE_UNAUTHENTICATED: Unauthenticated,
    code_pb2.CODE_PERMISSION_DENIED: PermissionDenied,
    code_pb2.CODE_NOT_FOUND: NotFound,
    code_pb2.CODE_ALREADY_EXISTS: AlreadyExists,
    code_pb2.CODE_ABORTED: Conflict,
    code_pb2.CODE_FAILED_PRECONDITION: Conflict,
    code_pb2.CODE_LOCKED: Locked,
    code_pb2.CODE_INSUFFICIENT_STORAGE: InsufficientStorage,
    code_pb2.CODE_RESOURCE_EXHAUSTED: InsufficientStorage,
    code_pb2.CODE_UNIMPLEMENTED: NotSupported,
    code_pb2.CODE_UNAVAILABLE: Unavailable,
    code_pb2.CODE_DEADLINE_EXCEEDED: Unavailable,
}

_SENTENCES: dict[type[CS3Error], str] = {
    InvalidArgument: "The storage rejected the request for {what}",
    Unauthenticated: "The CS3 site did not accept your credentials for {what}",
    PermissionDenied: "You do not have permission for {what}",
    NotFound: "No such file or directory: {what}",
    AlreadyExists: "{what} already exists",
    Conflict: "{what} was changed by someone else in the meantime",
    Locked: "{what} is locked",
    InsufficientStorage: "Not enough storage space for {what}",
    NotSupported: "The storage does not support this operation on {what}",
    Unavailable: "The CS3 site is unavailable for {what}",
    ServerError: "The CS3 server failed on {what}",
}


def says_not_found(err: CS3Error) -> bool:
    """NotFound, or an internal error that says the path is not there (Reva v3's local
    driver reports a vanished file or folder that way)."""
    if isinstance(err, NotFound):
        return True
    detail = err.detail.lower()
    return isinstance(err, ServerError) and ("not found" in detail or "no such file" in detail)


def _is_not_supported(code: int, message: str) -> bool:
    # Reva's local driver answers lock calls with CODE_INTERNAL and "not supported".
    lowered = message.lower()
    return code == code_pb2.CODE_INTERNAL and (
        "not supported" in lowered or "unimplemented" in lowered
    )


def error_for_status(code: int, server_message: str, what: str) -> CS3Error:
    """Build the exception for a non-OK CS3 status; ``what`` names the object of the call."""
    if _is_not_supported(code, server_message):
        cls: type[CS3Error] = NotSupported
    elif code == code_pb2.CODE_INTERNAL and "mismatching lock" in server_message.lower():
        # decomposedfs refuses an upload with another lock id as an internal error
        # ("error getting upload id: error: aborted: mismatching lock"): it is locked.
        cls = Locked
    else:
        cls = _BY_CODE.get(code, ServerError)
    return cls(_SENTENCES[cls].format(what=what), detail=server_message)


def error_for_rpc(err: grpc.aio.AioRpcError, what: str, target: str) -> CS3Error:
    """Map a gRPC transport error (no CS3 status) into the family."""
    code = err.code()
    detail = err.details() or ""
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return Unavailable(f"The CS3 site at {target} cannot be reached ({what})", detail=detail)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return Unauthenticated(_SENTENCES[Unauthenticated].format(what=what), detail=detail)
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDenied(_SENTENCES[PermissionDenied].format(what=what), detail=detail)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return NotSupported(_SENTENCES[NotSupported].format(what=what), detail=detail)
    return ServerError(_SENTENCES[ServerError].format(what=what), detail=f"{code.name}: {detail}")
