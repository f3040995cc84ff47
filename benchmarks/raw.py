"""The raw baseline: the least CS3 work for each result, on a bare gateway stub."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import calls
import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
import grpc
from common import MAX_BODY, MIB, TIMEOUT
from cs3.gateway.v1beta1 import gateway_api_pb2 as gw
from cs3.gateway.v1beta1 import gateway_api_pb2_grpc as gw_grpc
from cs3.rpc.v1beta1 import code_pb2
from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from cs3.types.v1beta1 import types_pb2
from tornado.httpclient import AsyncHTTPClient, HTTPRequest


class RawCS3:
    """The baseline: a bare gateway stub on one grpc.aio channel, tornado HTTP for the bytes."""

    def __init__(self, gateway: str, counts: Counter) -> None:
        self.channel = grpc.aio.insecure_channel(
            gateway, options=[("grpc.max_receive_message_length", 256 * MIB)]
        )
        self.stub = calls.CountingStub(gw_grpc.GatewayAPIStub(self.channel), counts)
        self.http = AsyncHTTPClient(
            force_instance=True, max_body_size=MAX_BODY, max_buffer_size=MAX_BODY
        )
        self.counts = counts
        self.metadata: tuple[tuple[str, str], ...] = ()
        self.user_id: Any = None  # the signed-in user's CS3 UserId (from Authenticate)

    async def close(self) -> None:
        self.http.close()
        await self.channel.close()

    async def login(self, username: str, password: str) -> None:
        request = gw.AuthenticateRequest(type="basic", client_id=username, client_secret=password)
        response = _ok(await self.stub.Authenticate(request), "Authenticate")
        self.metadata = (("x-access-token", response.token),)
        self.user_id = response.user.id

    def transfer_headers(self, transfer_token: str) -> dict[str, str]:
        # Reva's data gateway wants the reva token beside the transfer token
        return {"X-Reva-Transfer": transfer_token, **dict(self.metadata)}

    async def stat(self, path: str) -> res.ResourceInfo:
        request = sp.StatRequest(ref=res.Reference(path=path))
        return _ok(await self.stub.Stat(request, metadata=self.metadata), path).info

    async def list(self, path: str, metadata_keys: tuple[str, ...] = ()) -> list[res.ResourceInfo]:
        request = sp.ListContainerRequest(
            ref=res.Reference(path=path), arbitrary_metadata_keys=list(metadata_keys)
        )
        return list(_ok(await self.stub.ListContainer(request, metadata=self.metadata), path).infos)

    async def mkdir(self, path: str) -> None:
        request = sp.CreateContainerRequest(ref=res.Reference(path=path))
        _ok(await self.stub.CreateContainer(request, metadata=self.metadata), path)

    async def touch(self, path: str) -> None:
        request = sp.TouchFileRequest(ref=res.Reference(path=path))
        _ok(await self.stub.TouchFile(request, metadata=self.metadata), path)

    async def create_if_absent(self, path: str) -> bool:
        """CreateContainer; False when the folder exists (ALREADY_EXISTS, or the EEXIST that
        Reva's local driver reports as an internal error when two creates race)."""
        request = sp.CreateContainerRequest(ref=res.Reference(path=path))
        status = (await self.stub.CreateContainer(request, metadata=self.metadata)).status
        if status.code == code_pb2.CODE_OK:
            return True
        if status.code == code_pb2.CODE_ALREADY_EXISTS or "exist" in status.message.lower():
            return False
        raise RuntimeError(f"CS3 call on {path} failed: {status.message}")

    async def delete(self, path: str) -> None:
        request = sp.DeleteRequest(ref=res.Reference(path=path))
        _ok(await self.stub.Delete(request, metadata=self.metadata), path)

    async def set_metadata(self, path: str, metadata: dict[str, str]) -> None:
        request = sp.SetArbitraryMetadataRequest(
            ref=res.Reference(path=path),
            arbitrary_metadata=res.ArbitraryMetadata(metadata=metadata),
        )
        _ok(await self.stub.SetArbitraryMetadata(request, metadata=self.metadata), path)

    # native CS3 locks: Reva wants a resource-id reference for them (a path one fails)
    async def set_lock(self, ref: res.Reference, lock: res.Lock) -> None:
        request = sp.SetLockRequest(ref=ref, lock=lock)
        _ok(await self.stub.SetLock(request, metadata=self.metadata), lock.lock_id)

    async def refresh_lock(self, ref: res.Reference, lock: res.Lock) -> None:
        request = sp.RefreshLockRequest(ref=ref, lock=lock)
        _ok(await self.stub.RefreshLock(request, metadata=self.metadata), lock.lock_id)

    async def unlock(self, ref: res.Reference, lock: res.Lock) -> None:
        request = sp.UnlockRequest(ref=ref, lock=lock)
        _ok(await self.stub.Unlock(request, metadata=self.metadata), lock.lock_id)

    async def download(self, path: str, on_chunk: Callable[[bytes], None] | None = None) -> bytes:
        """The file's bytes (or, with ``on_chunk``, each piece handed to it as it arrives, and
        nothing kept)."""
        request = sp.InitiateFileDownloadRequest(ref=res.Reference(path=path))
        response = _ok(await self.stub.InitiateFileDownload(request, metadata=self.metadata), path)
        protocol = _simple(response.protocols, path)
        self.counts[calls.HTTP_GET] += 1
        reply = await self.http.fetch(
            HTTPRequest(
                protocol.download_endpoint,
                headers=self.transfer_headers(protocol.token),
                request_timeout=TIMEOUT,
                streaming_callback=on_chunk,
            )
        )
        return reply.body

    async def upload(self, path: str, data: bytes) -> None:
        # the size up front, as cs3lab sends it: decomposedfs (site-n) fails the PUT without it
        length = types_pb2.OpaqueEntry(decoder="plain", value=str(len(data)).encode())
        request = sp.InitiateFileUploadRequest(
            ref=res.Reference(path=path), opaque=types_pb2.Opaque(map={"Upload-Length": length})
        )
        response = _ok(await self.stub.InitiateFileUpload(request, metadata=self.metadata), path)
        protocol = _simple(response.protocols, path)
        self.counts[calls.HTTP_PUT] += 1
        await self.http.fetch(
            HTTPRequest(
                protocol.upload_endpoint,
                method="PUT",
                body=data,
                headers={**self.transfer_headers(protocol.token), "Upload-Length": str(len(data))},
                request_timeout=TIMEOUT,
            )
        )


def _ok(response: Any, what: str) -> Any:
    if response.status.code != code_pb2.CODE_OK:
        raise RuntimeError(f"CS3 call on {what} failed: {response.status.message}")
    return response


def _simple(protocols: Any, what: str) -> Any:
    """The "simple" protocol, else "spaces" (Reva v2 offers only that for downloads), as
    cs3lab picks them."""
    by_name = {protocol.protocol: protocol for protocol in protocols}
    for name in ("simple", "spaces"):
        if name in by_name:
            return by_name[name]
    raise RuntimeError(f"no 'simple' or 'spaces' transfer protocol offered for {what}")
