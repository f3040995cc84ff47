"""The connection to a CS3 gateway: one reused grpc.aio channel, authenticated calls.

Every call goes through :meth:`CS3Client.call`, which attaches the reva token, turns a
non-OK CS3 status or a gRPC transport error into a :class:`~.errors.CS3Error`, and retries
once after re-authenticating when the gateway says the token is no longer valid.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cs3.gateway.v1beta1 import gateway_api_pb2 as gw
from cs3.gateway.v1beta1 import gateway_api_pb2_grpc as gw_grpc
from cs3.identity.user.v1beta1 import resources_pb2 as user_res
from cs3.rpc.v1beta1 import code_pb2

from .auth import LINK_LABEL, SecretSource, TokenKeeper, describe_refused_bearer, signer
from .cache import MetadataCache
from .errors import (
    CS3Error,
    InvalidArgument,
    Unauthenticated,
    Unavailable,
    error_for_rpc,
    error_for_status,
)
from .transfer import STALL_SECONDS, TransferSecurity

log = logging.getLogger(__name__)

TOKEN_HEADER = "x-access-token"
# gRPC-level answers to a missing/expired/invalid token: Reva's auth interceptor says
# PERMISSION_DENIED "core access token is invalid" (file permissions come as CS3 statuses).
_TOKEN_REJECTED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
# Answers of Authenticate that mean "these credentials are not good": all are a 401 to users.
_SIGN_IN_REFUSED = {
    code_pb2.CODE_UNAUTHENTICATED,
    code_pb2.CODE_PERMISSION_DENIED,
    code_pb2.CODE_NOT_FOUND,
    code_pb2.CODE_INVALID_ARGUMENT,
}
# Large listings (thousands of entries) exceed gRPC's default 4 MiB message limit.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
# A gateway that cannot be reached is tried again at most a second apart: gRPC's default
# backoff grows to 120 s, and a site that came back would stay "unreachable" that long.
RECONNECT_BACKOFF_MS = (250, 1000)
# A call that did not reach the gateway because the channel is between two connection
# attempts is made once more, waiting at most this long for the channel to connect.
RECONNECT_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class GatewayConfig:
    address: str  # host:port of the CS3 gateway
    tls: bool = False
    ca_file: str = ""
    timeout: float = 60.0  # seconds for one gRPC call
    # The access token may go in clear (http) to a data server that is not on loopback.
    allow_insecure_data_transfers: bool = False
    # Seconds a file transfer may wait on the data server without a byte moving (0: forever).
    transfer_stall_seconds: float = STALL_SECONDS

    def transfer_security(self) -> TransferSecurity:
        """The same TLS settings for the HTTP data transfers as for this channel."""
        return TransferSecurity(self.tls, self.ca_file, self.allow_insecure_data_transfers)


@dataclass(frozen=True)
class AuthConfig:
    mode: str  # "basic" | "bearer" | "token"
    username: str
    secret: SecretSource


def _read_ca_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise Unavailable(
            f"Cannot read the CA bundle {path} (CS3Connection.ca_file): {err.strerror}"
        ) from None


def _open_channel(config: GatewayConfig) -> grpc.aio.Channel:
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.initial_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[0]),
        ("grpc.max_reconnect_backoff_ms", RECONNECT_BACKOFF_MS[1]),
    ]
    if not config.tls:
        return grpc.aio.insecure_channel(config.address, options=options)
    root = _read_ca_file(config.ca_file) if config.ca_file else None
    credentials = grpc.ssl_channel_credentials(root_certificates=root)
    return grpc.aio.secure_channel(config.address, credentials, options=options)


class CS3Client:
    """An authenticated client of one CS3 gateway, safe to share between tasks."""

    def __init__(
        self, gateway: GatewayConfig, auth: AuthConfig, cache: MetadataCache | None = None
    ) -> None:
        if not gateway.address:
            raise InvalidArgument("No CS3 gateway address is configured")
        self.gateway = gateway
        self._channel = _open_channel(gateway)
        self.stub = gw_grpc.GatewayAPIStub(self._channel)
        self.tokens = TokenKeeper(auth.mode, auth.username, auth.secret, self._authenticate)
        self._user: user_res.User | None = None
        #: The gateway calls this client made, by method: what each action costs the site
        #: (tests/test_call_budget.py, benchmarks).
        self.calls: Counter[str] = Counter()
        #: This user's metadata (cache.py): every call that changes something drops from it.
        self.cache = cache if cache is not None else MetadataCache()

    @property
    def address(self) -> str:
        return self.gateway.address

    async def close(self) -> None:
        await self._channel.close()

    async def _authenticate(self, auth_type: str, client_id: str, secret: str) -> str:
        request = gw.AuthenticateRequest(type=auth_type, client_id=client_id, client_secret=secret)
        who = signer(auth_type, client_id)
        what = f"signing in as {who}"
        try:
            response = await self._unary("Authenticate", request)
        except grpc.aio.AioRpcError as err:
            raise self._hide_link(error_for_rpc(err, what, self.address), client_id) from None
        code = response.status.code
        detail = response.status.message
        if code in _SIGN_IN_REFUSED and auth_type == "bearer":
            raise Unauthenticated(describe_refused_bearer(secret, self.address), detail=detail)
        if code in _SIGN_IN_REFUSED:
            refused = Unauthenticated(
                f"The CS3 site at {self.address} did not accept the credentials of {who}",
                detail=detail,
            )
            raise self._hide_link(refused, client_id)
        if code != code_pb2.CODE_OK:
            raise self._hide_link(error_for_status(code, detail, what), client_id)
        self._user = response.user
        return response.token

    def _hide_link(self, err: CS3Error, client_id: str) -> CS3Error:
        """A public link's token is its key: it leaves no sign-in error (the server's
        message may quote it too)."""
        if self.tokens.mode != "publiclink" or not client_id:
            return err
        hidden = err.message.replace(client_id, LINK_LABEL)
        return type(err)(hidden, detail=err.detail.replace(client_id, LINK_LABEL))

    async def call(self, method: str, request: Any, what: str) -> Any:
        """Call gateway ``method`` with the current token; ``what`` names the object in errors.
        What the call may have changed is dropped from the cache once it is over (also when
        it failed: the storage may have done it all the same)."""
        try:
            return await self._call(method, request, what)
        finally:
            self.cache.wrote(method, request)

    async def _call(self, method: str, request: Any, what: str) -> Any:
        for attempt in (1, 2):
            token = await self.tokens.token()
            stale = self.tokens.current
            try:
                response = await self._unary(method, request, metadata=((TOKEN_HEADER, token),))
            except grpc.aio.AioRpcError as err:
                if err.code() in _TOKEN_REJECTED and attempt == 1:
                    await self.tokens.renew(stale=stale)
                    continue
                raise error_for_rpc(err, what, self.address) from None
            status = response.status
            if status.code == code_pb2.CODE_OK:
                return response
            if status.code == code_pb2.CODE_UNAUTHENTICATED and attempt == 1:
                log.info("CS3 token rejected by %s; signing in again", self.address)
                await self.tokens.renew(stale=stale)
                continue
            raise error_for_status(status.code, status.message, what)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _unary(self, method: str, request: Any, **kwargs: Any) -> Any:
        """One gRPC call of gateway ``method``. gRPC fails a call at once while its channel
        waits to connect again (a site that was away and is back): such a call, which reached
        no gateway, is made once more, waiting for the connection."""
        rpc = getattr(self.stub, method)
        self.calls[method] += 1
        try:
            return await rpc(request, timeout=self.gateway.timeout, **kwargs)
        except grpc.aio.AioRpcError as err:
            not_sent = "failed to connect" in (err.details() or "").lower()
            if err.code() != grpc.StatusCode.UNAVAILABLE or not not_sent:
                raise
        wait = min(self.gateway.timeout, RECONNECT_WAIT_SECONDS)
        self.calls[method] += 1
        return await rpc(request, timeout=wait, wait_for_ready=True, **kwargs)

    async def whoami(self) -> user_res.User:
        """The signed-in user (from the gateway, so it also validates the token)."""
        token = await self.tokens.token()
        if self.tokens.mode == "publiclink":
            # A link's scope allows no WhoAmI: the guest is who Authenticate said (a token of
            # this mode only ever comes from Authenticate, which recorded the user).
            return self._user
        response = await self.call("WhoAmI", gw.WhoAmIRequest(token=token), "your account")
        self._user = response.user
        return response.user

    async def access_token(self) -> str:
        return await self.tokens.token()


__all__ = ["AuthConfig", "CS3Client", "CS3Error", "GatewayConfig"]
