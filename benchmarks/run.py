"""cs3lab's overhead, as ratios against raw CS3 calls on the same revad in the same run.

    python benchmarks/run.py [--repeat N] [--quick]

Starts one CS3 site (a real revad on loopback, tools/sites/site_runner.py) and a Jupyter
server with cs3lab's contents manager (a subprocess on 127.0.0.1 with a random token), then
times each operation three ways, interleaved:

* raw: the least CS3 work giving the same result, written here on bare ``grpc.aio`` gateway
  stubs from ``cs3apis`` and tornado HTTP for the bytes (signed in once, not timed);
* manager: cs3lab's ``CS3ContentsManager`` called in this process (no HTTP);
* REST: the Jupyter REST API (``/api/contents``) of the server, as JupyterLab calls it;

and, as a reference for what Jupyter's REST layer costs by itself, the same REST requests
to a second server running Jupyter's own FileContentsManager on a local folder ("stock";
``--no-stock`` skips it).

Prints a table of medians, p90s and ratios and the CS3 calls each path makes per operation,
and writes benchmarks/results.md (keeping its "## Findings" section). No time is asserted
anywhere: the results are a record; compare ratios, not milliseconds, between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import os
import posixpath
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tools" / "sites"))
sys.path.insert(0, str(REPO))

import calls  # noqa: E402
import grpc  # noqa: E402
import nbformat  # noqa: E402
import site_runner  # noqa: E402
from cs3.gateway.v1beta1 import gateway_api_pb2 as gw  # noqa: E402
from cs3.gateway.v1beta1 import gateway_api_pb2_grpc as gw_grpc  # noqa: E402
from cs3.rpc.v1beta1 import code_pb2  # noqa: E402
from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp  # noqa: E402
from cs3.storage.provider.v1beta1 import resources_pb2 as res  # noqa: E402
from cs3.types.v1beta1 import types_pb2  # noqa: E402
from tornado.httpclient import AsyncHTTPClient, HTTPRequest  # noqa: E402
from traitlets.config import Config  # noqa: E402

USER = "alice"
PATHS = ("raw", "manager", "rest")
MAX_BODY = 1024**3
TIMEOUT = 600.0
SERVER_READY_TIMEOUT = 90.0
KIB, MIB = 1024, 1024 * 1024
RESULTS = HERE / "results.md"
LOCKS_API = "/cs3lab/api/locks"
# --site: the site description, its name, its Reva line
SITE_FILES = {"a": ("site-a.json", "site-a", "v3"), "n": ("site-n.json", "site-n", "v2")}
HOLDER = "bob"  # holds the locks that the "list ... with lock state" rows show
FINDINGS = "## Findings"
# (replaceable, e.g. to run the server under cProfile when investigating)
SERVER_COMMAND = [sys.executable, str(HERE / "bench_server.py")]


# -- the raw baseline -------------------------------------------------------------------------


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


# -- the Jupyter server and its REST API ------------------------------------------------------


def cs3_connection(site: site_runner.Site, home: str, user: str = USER) -> dict[str, str]:
    return {
        "gateway": site.gateway,
        "site_name": site.name,
        "auth_mode": "basic",
        "username": user,
        "secret_file": str(site.secret_file(user)),
        "home": home,
    }


def cs3lab_server_config(site: site_runner.Site, home: str) -> dict:
    """The settings of tests/conftest.py: cs3lab's contents manager, signed in as USER."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"cs3lab": True},
            "contents_manager_class": "cs3lab.CS3ContentsManager",
        },
        "CS3Connection": cs3_connection(site, home),
    }


def stock_server_config(root: Path) -> dict:
    """Jupyter's own FileContentsManager on a local folder: the reference for the REST layer."""
    return {"ServerApp": {"jpserver_extensions": {"cs3lab": False}, "root_dir": str(root)}}


@dataclass
class JupyterServer:
    """A jupyter_server (bench_server.py) as a subprocess on 127.0.0.1, in its own folder."""

    process: subprocess.Popen
    url: str
    token: str
    log: Path

    @classmethod
    def start(cls, workdir: Path, settings: dict) -> JupyterServer:
        workdir.mkdir(mode=0o700, exist_ok=True)
        dirs = {name: workdir / f"jupyter-{name}" for name in ("config", "data", "runtime")}
        for path in dirs.values():
            path.mkdir(mode=0o700)
        port, token = site_runner.free_port(), secrets.token_hex(24)
        server_app = {
            "ip": "127.0.0.1",
            "port": port,
            "port_retries": 0,
            "open_browser": False,
            "allow_root": True,  # containers and CI run as root
            "root_dir": str(workdir),
        }
        server_app.update(settings.get("ServerApp", {}))
        config = {**settings, "ServerApp": server_app, "IdentityProvider": {"token": token}}
        config_file = dirs["config"] / "jupyter_server_config.json"
        config_file.write_text(json.dumps(config, indent=1))
        config_file.chmod(0o600)
        env = dict(
            os.environ,
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        )
        log = workdir / "jupyter-server.log"
        with open(log, "ab") as out:
            process = subprocess.Popen(
                SERVER_COMMAND,
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl+C reaches us only; we stop it ourselves
            )
        server = cls(process, f"http://127.0.0.1:{port}", token, log)
        try:
            server.wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_READY_TIMEOUT
        request = urllib.request.Request(
            f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"}
        )
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise TimeoutError(f"jupyter server not ready after {SERVER_READY_TIMEOUT}s")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class RestClient:
    """Calls /api/contents like JupyterLab does, with the server's token."""

    def __init__(self, server: JupyterServer) -> None:
        self.server = server
        self.http = AsyncHTTPClient(
            force_instance=True, max_body_size=MAX_BODY, max_buffer_size=MAX_BODY
        )
        self.headers = {
            "Authorization": f"token {server.token}",
            "Content-Type": "application/json",
        }

    def close(self) -> None:
        self.http.close()

    async def fetch(self, method: str, url_path: str, body: bytes | None = None) -> bytes:
        reply = await self.http.fetch(
            HTTPRequest(
                f"{self.server.url}{url_path}",
                method=method,
                body=body,
                headers=self.headers,
                request_timeout=TIMEOUT,
            )
        )
        return reply.body

    async def contents(self, method: str, path: str, query: str = "", body: bytes | None = None):
        url_path = f"/api/contents/{quote(path)}" + (f"?{query}" if query else "")
        return await self.fetch(method, url_path, body)

    async def calls(self) -> dict[str, int]:
        return json.loads(await self.fetch("GET", "/bench/cs3-calls"))

    async def lock(self, method: str, path: str, client: str) -> bytes:
        """/cs3lab/api/locks as the frontend calls it: POST acquire, PUT heartbeat, DELETE
        release (the JSON body is built outside the timed span of nothing: it is tiny)."""
        if method == "DELETE":
            return await self.fetch(method, f"{LOCKS_API}?path={quote(path)}&client={client}")
        body = json.dumps({"path": path, "client": client}).encode()
        return await self.fetch(method, LOCKS_API, body)

    async def lock_sessions(self, refreshed: str) -> None:
        """bench_server.py's hook: set ``Session.refreshed`` of the server's lock sessions to
        0 ("old": the next heartbeat refreshes the storage's lock) or now ("now": it does not)."""
        await self.fetch("POST", f"/bench/lock-sessions?refreshed={refreshed}", b"")


# -- the operations ---------------------------------------------------------------------------


Step = Callable[[], Awaitable[Any]]


@dataclass
class Operation:
    label: str
    run: dict[str, Step]  # path -> one execution
    check: Callable[[str, Any], None]  # path, result of one execution -> raises if wrong
    samples: dict[str, list[float]] = field(default_factory=dict)  # ms
    calls: dict[str, Counter] = field(default_factory=dict)
    # untimed and uncounted, around every execution of a path (e.g. take the lock that the
    # timed "release" gives back), and once around the whole operation
    before: dict[str, Step] = field(default_factory=dict)
    after: dict[str, Step] = field(default_factory=dict)
    setup: Step | None = None
    teardown: Step | None = None
    wrong: dict[str, str] = field(default_factory=dict)  # path -> WrongLockState message


class WrongLockState(RuntimeError):
    """A listing came back complete but with the wrong lock state: the row is still timed,
    and the report says so next to it (every other wrong result ends the run)."""


def ascii_text(size: int, seed: int) -> bytes:
    """``size`` bytes of ASCII text in 64-character lines (hex digits: no compression wins)."""
    rnd = random.Random(seed)
    return rnd.randbytes(size // 2 + 1).hex("\n", 32).encode()[:size]


def big_notebook(target: int) -> dict:
    """A notebook of about ``target`` bytes: code cells with stream outputs."""
    nb = nbformat.v4.new_notebook()
    per_cell = 10 * KIB
    for i in range(target // per_cell):
        source = ascii_text(2 * KIB, 1000 + i).decode()
        output = nbformat.v4.new_output(
            "stream", name="stdout", text=ascii_text(per_cell - 2 * KIB - 300, 5000 + i).decode()
        )
        nb.cells.append(
            nbformat.v4.new_code_cell(
                source=f"# cell {i}\n{source}", execution_count=i + 1, outputs=[output]
            )
        )
    return json.loads(nbformat.writes(nb))


def size_label(size: int) -> str:
    if size >= MIB:
        return f"{size / MIB:.0f} MiB" if size % MIB == 0 else f"{size / MIB:.1f} MiB"
    return f"{size / KIB:.0f} KiB"


@dataclass
class Fixture:
    """The files the operations read and overwrite, in CS3 (and on local disk for "stock")."""

    files: dict[str, bytes]  # name -> content, read by the "get" operations
    small: bytes
    notebook: dict
    notebook_bytes: bytes
    folder: str
    entries: int


async def prepare(raw: RawCS3, home: str, entries: int, stock_root: Path | None) -> Fixture:
    small = ascii_text(1 * KIB, 1)
    files = {"small.txt": small, "data-1mib.txt": ascii_text(MIB, 2)}
    files["data-20mib.txt"] = ascii_text(20 * MIB, 3)
    nb = big_notebook(MIB)
    nb_bytes = nbformat.writes(nbformat.from_dict(nb), version=nbformat.NO_CONVERT).encode()
    stored = {**files, "saved.txt": small, "saved.ipynb": nb_bytes}
    folder = f"folder-{entries}"
    for name, content in stored.items():
        await raw.upload(f"{home}/{name}", content)
    await raw.mkdir(f"{home}/{folder}")
    gate = asyncio.Semaphore(16)

    async def touch(i: int) -> None:
        async with gate:
            await raw.touch(f"{home}/{folder}/file-{i:04d}.txt")

    await asyncio.gather(*(touch(i) for i in range(entries)))
    if stock_root is not None:
        for name, content in stored.items():
            (stock_root / name).write_bytes(content)
        (stock_root / folder).mkdir()
        for i in range(entries):
            (stock_root / folder / f"file-{i:04d}.txt").touch()
    return Fixture(files, small, nb, nb_bytes, folder, entries)


def model_of(path: str, result: Any) -> dict:
    """The contents model a cs3lab/stock path returned (REST paths return the JSON bytes)."""
    return result if path == "manager" else json.loads(result)


def operations(
    raw: RawCS3, cm: Any, rest: dict[str, RestClient], home: str, fx: Fixture
) -> list[Operation]:
    """The operations, each with its raw, manager and REST (and stock REST) executions."""

    def cs3(name: str) -> str:
        return f"{home}/{name}"

    def via_rest(method: str, name: str, query: str = "", body: bytes | None = None) -> dict:
        return {
            path: (lambda client=client: client.contents(method, name, query, body))
            for path, client in rest.items()
        }

    ops: list[Operation] = []

    # get a text file with its content, as JupyterLab opens it in the editor
    for name in fx.files:
        expected = fx.files[name].decode()

        async def raw_get(name: str = name) -> Any:
            # the model needs the metadata (mtime, size, writable) and the bytes
            return await raw.stat(cs3(name)), await raw.download(cs3(name))

        def check(path: str, result: Any, expected: str = expected) -> None:
            text = result[1].decode() if path == "raw" else model_of(path, result)["content"]
            if text != expected:
                raise RuntimeError(f"{path}: wrong content")

        ops.append(
            Operation(
                f"get text {size_label(len(expected))}",
                {
                    "raw": raw_get,
                    "manager": lambda name=name: cm.get(name, True, "file", "text"),
                    **via_rest("GET", name, "type=file&format=text&content=1&hash=0"),
                },
                check,
            )
        )

    # save (PUT) over an existing file; the reply is the saved file's model (no content)
    def save(name: str, label: str, model: dict, stored: bytes) -> Operation:
        async def raw_save() -> Any:
            await raw.upload(cs3(name), stored)
            return await raw.stat(cs3(name))  # the size, mtime and etag of the saved model

        def check(path: str, result: Any) -> None:
            size = result.size if path == "raw" else model_of(path, result)["size"]
            # Jupyter's FileContentsManager ends a notebook file with a newline; so does cs3lab
            # since 46b5f4c (the raw path uploads nbformat.writes() as it is, without one)
            newline = path != "raw" and name.endswith(".ipynb") and size == len(stored) + 1
            if size != len(stored) and not newline:
                raise RuntimeError(f"{path}: saved {size} bytes, expected {len(stored)}")

        return Operation(
            label,
            {
                "raw": raw_save,
                "manager": lambda: cm.save(dict(model), name),
                **via_rest("PUT", name, body=json.dumps(model).encode()),
            },
            check,
        )

    text_model = {"type": "file", "format": "text", "content": fx.small.decode()}
    ops.append(save("saved.txt", f"save text {size_label(len(fx.small))}", text_model, fx.small))
    nb_model = {"type": "notebook", "format": "json", "content": fx.notebook}
    nb_label = f"save notebook {size_label(len(fx.notebook_bytes))}"
    ops.append(save("saved.ipynb", nb_label, nb_model, fx.notebook_bytes))

    # list a folder, as the file browser does
    async def raw_list() -> Any:
        return await raw.stat(cs3(fx.folder)), await raw.list(cs3(fx.folder))

    def check_list(path: str, result: Any) -> None:
        listed = result[1] if path == "raw" else model_of(path, result)["content"]
        if len(listed) != fx.entries:
            raise RuntimeError(f"{path}: listed {len(listed)} entries, expected {fx.entries}")

    ops.append(
        Operation(
            f"list folder of {fx.entries}",
            {
                "raw": raw_list,
                "manager": lambda: cm.get(fx.folder, True, "directory"),
                **via_rest("GET", fx.folder, "type=directory&content=1&hash=0"),
            },
            check_list,
        )
    )

    # stat: the model without content
    def check_stat(path: str, result: Any) -> None:
        size = result.size if path == "raw" else model_of(path, result)["size"]
        if size != len(fx.small):
            raise RuntimeError(f"{path}: size {size}, expected {len(fx.small)}")

    ops.append(
        Operation(
            "stat (content=0)",
            {
                "raw": lambda: raw.stat(cs3("small.txt")),
                "manager": lambda: cm.get("small.txt", content=False),
                **via_rest("GET", "small.txt", "content=0&hash=0"),
            },
            check_stat,
        )
    )
    return ops


# -- the lock rows ----------------------------------------------------------------------------

NATIVE, MARKER = "native", "marker"
MARKER_PREFIX = ".cs3lab-lock."  # cs3lab's marker format (cs3lab/locks/markers.py), by hand
MARKER_KEY = "cs3lab.lock"
MARKER_GRACE = 30
LOCK_CLIENT = "bench-tab"
LOCK_EXPIRY = 120  # seconds: cs3lab's default lock_expiry_seconds


def small_notebook() -> bytes:
    nb = nbformat.v4.new_notebook()
    for i in range(5):
        nb.cells.append(nbformat.v4.new_code_cell(f"x = {i}\nprint(x)", execution_count=i + 1))
    return nbformat.writes(nb, version=nbformat.NO_CONVERT).encode()


class RawNativeLock:
    """The raw client's write lock on one file with native CS3 locks (Reva v2 decomposedfs).

    Reva's lock calls need a resource-id reference: acquire Stats the path for the id (the
    contents model of the open needs that Stat anyway), then keeps the id, like a session."""

    def __init__(self, raw: RawCS3, path: str) -> None:
        self.raw, self.path = raw, path
        self.ref: res.Reference | None = None
        self.lock: res.Lock | None = None

    def _lock(self, lock_id: str) -> res.Lock:
        now = int(time.time())
        return res.Lock(
            lock_id=lock_id,
            type=res.LOCK_TYPE_WRITE,
            user=self.raw.user_id,
            app_name="bench-raw",
            expiration=types_pb2.Timestamp(seconds=now + LOCK_EXPIRY),
        )

    async def acquire(self, info: res.ResourceInfo | None = None) -> str:
        info = info or await self.raw.stat(self.path)  # Stat: path -> resource id
        self.ref = res.Reference(resource_id=info.id)
        self.lock = self._lock(uuid.uuid4().hex)
        await self.raw.set_lock(self.ref, self.lock)  # SetLock
        return self.lock.lock_id

    async def refresh(self) -> str:
        assert self.ref is not None and self.lock is not None
        self.lock = self._lock(self.lock.lock_id)
        await self.raw.refresh_lock(self.ref, self.lock)  # RefreshLock: fails if not ours
        return self.lock.lock_id

    async def release(self) -> None:
        assert self.ref is not None and self.lock is not None
        await self.raw.unlock(self.ref, self.lock)  # Unlock
        self.lock = None

    async def tidy(self) -> None:
        return None


class RawMarkerLock:
    """The raw client's lock on one file of a storage without locks (Reva v3 local driver):
    cs3lab's marker folders ``.cs3lab-lock.<name>.<generation>``, done with the fewest calls.

    acquire = ListContainer (the folder with the markers' metadata: is the top generation
    live?) + CreateContainer of generation top + 1 (fails when it exists: exactly one
    contender gets each number) + SetArbitraryMetadata (holder, lock id, expiry). That is
    race-free as long as markers are never removed (a number, once taken, cannot be taken
    again, so nobody can win with an outdated view), which is why it needs no second
    listing. cs3lab removes older markers and so must list again after creating (see
    cs3lab/locks/markers.py). To keep the folder the same size as cs3lab's, ``tidy`` removes
    the raw client's older markers between timed runs, untimed."""

    def __init__(self, raw: RawCS3, path: str, site: str) -> None:
        self.raw, self.path = raw, path
        self.parent, self.name = posixpath.split(path)
        self.site = site
        self.marker = ""
        self.generation = 0
        self.lock_id = ""
        self.since = 0.0

    def _markers(self, infos: list[res.ResourceInfo]) -> dict[int, res.ResourceInfo]:
        found = {}
        prefix = f"{MARKER_PREFIX}{self.name}."
        for info in infos:
            base = posixpath.basename(info.path.rstrip("/"))
            if base.startswith(prefix) and base[len(prefix) :].isdigit():
                found[int(base[len(prefix) :])] = info
        return found

    def _encode(self, expires: float) -> dict[str, str]:
        holder = {"idp": self.raw.user_id.idp, "opaque_id": self.raw.user_id.opaque_id}
        holder.update(username=USER, display_name="", mail="", site=self.site, app="bench-raw")
        data = {"lock_id": self.lock_id, "holder": holder, "since": self.since}
        return {MARKER_KEY: json.dumps({**data, "expires": expires})}

    @staticmethod
    def live_lock_id(info: res.ResourceInfo, now: float) -> str | None:
        """The lock id of a live marker ("" while its metadata is being written), else None."""
        stored = info.arbitrary_metadata.metadata.get(MARKER_KEY)
        if not stored:
            return "" if info.mtime.seconds + MARKER_GRACE > now else None
        data = json.loads(stored)
        expires = data.get("expires")
        return data["lock_id"] if expires is None or expires > now else None

    async def acquire(self) -> str:
        for _ in range(5):
            markers = self._markers(await self.raw.list(self.parent, (MARKER_KEY,)))
            top = max(markers, default=0)
            if top and self.live_lock_id(markers[top], time.time()) is not None:
                raise RuntimeError(f"{self.path} is locked")
            marker = posixpath.join(self.parent, f"{MARKER_PREFIX}{self.name}.{top + 1}")
            if not await self.raw.create_if_absent(marker):
                continue  # another contender took this number: look again
            self.marker, self.generation = marker, top + 1
            self.lock_id, self.since = uuid.uuid4().hex, time.time()
            await self.raw.set_metadata(marker, self._encode(self.since + LOCK_EXPIRY))
            return self.lock_id
        raise RuntimeError(f"{self.path}: no marker after 5 attempts")

    async def refresh(self) -> str:
        # the heartbeat must learn whether the lock is still ours: is our marker the live top?
        markers = self._markers(await self.raw.list(self.parent, (MARKER_KEY,)))
        top = max(markers, default=0)
        if top != self.generation or self.live_lock_id(markers[top], time.time()) != self.lock_id:
            raise RuntimeError(f"lost the lock on {self.path}")
        await self.raw.set_metadata(self.marker, self._encode(time.time() + LOCK_EXPIRY))
        return self.lock_id

    async def release(self) -> None:
        # no check needed: marking our own marker released is harmless if it is not the top
        await self.raw.set_metadata(self.marker, self._encode(0))

    async def tidy(self) -> None:
        markers = self._markers(await self.raw.list(self.parent))
        for generation, info in markers.items():
            if generation < max(markers):
                await self.raw.delete(info.path)


@dataclass
class LockFixture:
    """Per backend: one small notebook per path to lock, and a folder of ``entries`` files of
    which ``locked`` are locked by HOLDER (through a cs3lab LockService of their own)."""

    kind: str  # NATIVE | MARKER
    notebooks: dict[str, str]  # path -> API path of the notebook it locks
    notebook: bytes
    listing: str  # API path of the listed folder
    entries: int
    locked: int
    holder: Any  # HOLDER's CS3ContentsManager (its locks go when it is closed)


async def prepare_locks(
    raw: RawCS3, site: site_runner.Site, home: str, entries: int, locked: int
) -> LockFixture:
    from cs3lab import CS3ContentsManager

    notebook = small_notebook()
    await raw.mkdir(f"{home}/locks")
    notebooks = {path: f"locks/lock-{path}.ipynb" for path in PATHS}
    for api_path in notebooks.values():
        await raw.upload(f"{home}/{api_path}", notebook)
    listing = f"locked-{entries}"
    await raw.mkdir(f"{home}/{listing}")
    gate = asyncio.Semaphore(16)

    async def touch(i: int) -> None:
        async with gate:
            await raw.touch(f"{home}/{listing}/file-{i:04d}.txt")

    await asyncio.gather(*(touch(i) for i in range(entries)))
    # HOLDER locks every (entries // locked)-th file, for an hour, as cs3lab does it
    holder = CS3ContentsManager(
        config=Config(
            {
                "CS3Connection": cs3_connection(site, home, HOLDER),
                "CS3ContentsManager": {"lock_expiry_seconds": 3600},
            }
        )
    )
    step = max(entries // locked, 1)
    kinds = set()
    for i in range(0, step * locked, step):
        state = await holder.locks.acquire(f"{home}/{listing}/file-{i:04d}.txt", "bench-holder")
        kinds.add(state.lock.backend)
    kind = kinds.pop()
    if kinds:
        raise RuntimeError("one site, two lock backends?")
    return LockFixture(kind, notebooks, notebook, listing, entries, locked, holder)


def lock_operations(
    raw: RawCS3, cm: Any, rest: RestClient, home: str, site: str, fx: LockFixture
) -> list[Operation]:
    """acquire, refresh, release, open (+ acquire) and a listing with lock state, on the
    backend of ``fx``: each by raw (RawNativeLock / RawMarkerLock), manager (cm.locks and
    cm.get in this process) and REST (/cs3lab/api/locks and /api/contents)."""
    kind = fx.kind
    locks = cm.locks

    def cs3(api_path: str) -> str:
        return f"{home}/{api_path}"

    raw_path = cs3(fx.notebooks["raw"])
    raw_lock = (
        RawNativeLock(raw, raw_path) if kind == NATIVE else RawMarkerLock(raw, raw_path, site)
    )
    mgr_nb, rest_nb = fx.notebooks["manager"], fx.notebooks["rest"]

    acquire = {
        "raw": raw_lock.acquire,
        "manager": lambda: locks.acquire(cs3(mgr_nb), LOCK_CLIENT),
        "rest": lambda: rest.lock("POST", rest_nb, LOCK_CLIENT),
    }

    async def raw_release_tidy() -> None:
        await raw_lock.release()
        await raw_lock.tidy()

    release_all = {
        "raw": raw_release_tidy,
        "manager": lambda: locks.release(cs3(mgr_nb), LOCK_CLIENT),
        "rest": lambda: rest.lock("DELETE", rest_nb, LOCK_CLIENT),
    }

    async def hold_all() -> None:
        for run in acquire.values():
            await run()

    async def release_everything() -> None:
        for run in release_all.values():
            await run()

    def session_refreshed(value: str) -> dict[str, Step]:
        """Before a heartbeat: make it refresh the storage ("old") or not ("now"). There is no
        setting for it: this sets LockService's private Session.refreshed, here and (through
        bench_server.py) in the server."""

        async def manager() -> None:
            locks._sessions[cs3(mgr_nb)].refreshed = 0.0 if value == "old" else time.time()

        return {"manager": manager, "rest": lambda: rest.lock_sessions(value)}

    def state_of(path: str, result: Any) -> dict:
        return json.loads(result) if path == "rest" else result.to_json()

    def held(path: str, result: Any) -> None:
        if path == "raw":
            if not isinstance(result, str):
                raise RuntimeError(f"raw: no lock id ({result!r})")
            return
        state = state_of(path, result)
        if not (state["locked"] and state["this_session"]):
            raise RuntimeError(f"{path}: not holding the lock: {state}")

    ops: list[Operation] = []

    def add(label: str, op: Operation, storage_call: str | None = None) -> Operation:
        """``storage_call``: the call cs3lab must have made (checked on its counted run)."""
        op.label = f"{kind}: {label}"
        check = op.check

        def checked(path: str, result: Any) -> None:
            check(path, result)
            made = op.calls.get(path, Counter())
            if storage_call is not None and path != "raw" and not made[storage_call]:
                raise RuntimeError(f"{op.label}, {path}: no {storage_call} ({dict(made)})")
            if storage_call is None and label.startswith("heartbeat"):
                writes = {"RefreshLock", "SetArbitraryMetadata"} & set(made)
                if writes:
                    raise RuntimeError(f"{op.label}, {path}: wrote the lock ({dict(made)})")

        op.check = checked
        ops.append(op)
        return op

    # -- open a notebook, as JupyterLab does (GET), and with its lock (GET, then POST)
    async def raw_open(with_lock: bool) -> Any:
        info = await raw.stat(raw_path)
        state = None
        if kind == MARKER and not with_lock:
            # the model's lock state: the markers beside the file (native: in the Stat)
            state = await raw.list(posixpath.dirname(raw_path), (MARKER_KEY,))
        data = await raw.download(raw_path)
        if with_lock:
            lock_id = await (raw_lock.acquire(info) if kind == NATIVE else raw_lock.acquire())
            return lock_id
        return info, state, data

    def check_open(path: str, result: Any) -> None:
        if path == "raw":
            ok = result[2] == fx.notebook
        else:
            model = model_of(path, result)
            ok = len(model["content"]["cells"]) == 5 and model["lock"] is None
        if not ok:
            raise RuntimeError(f"{path}: wrong notebook model")

    nb_query = "type=notebook&content=1&hash=0"
    add(
        "open notebook (GET, no lock)",
        Operation(
            "",
            {
                "raw": lambda: raw_open(False),
                "manager": lambda: cm.get(mgr_nb, True, "notebook"),
                "rest": lambda: rest.contents("GET", rest_nb, nb_query),
            },
            check_open,
        ),
    )

    async def manager_open_lock() -> Any:
        await cm.get(mgr_nb, True, "notebook")
        return await locks.acquire(cs3(mgr_nb), LOCK_CLIENT)

    async def rest_open_lock() -> Any:
        await rest.contents("GET", rest_nb, nb_query)
        return await rest.lock("POST", rest_nb, LOCK_CLIENT)

    set_call = "SetLock" if kind == NATIVE else "CreateContainer"
    add(
        "open + acquire (GET, POST)",
        Operation(
            "",
            {"raw": lambda: raw_open(True), "manager": manager_open_lock, "rest": rest_open_lock},
            held,
            after=release_all,
        ),
        set_call,
    )
    add("acquire", Operation("", dict(acquire), held, after=release_all), set_call)
    refresh_call = "RefreshLock" if kind == NATIVE else "SetArbitraryMetadata"
    add(
        "refresh (storage refreshed)",
        Operation(
            "",
            {
                "raw": raw_lock.refresh,
                "manager": lambda: locks.refresh(cs3(mgr_nb), LOCK_CLIENT),
                "rest": lambda: rest.lock("PUT", rest_nb, LOCK_CLIENT),
            },
            held,
            before=session_refreshed("old"),
            setup=hold_all,
            teardown=release_everything,
        ),
        refresh_call,
    )

    async def raw_heartbeat() -> Any:
        # the lock state of the file (native: the entry's lock; marker: the markers) and the
        # edit requests beside it, from one listing of the folder
        return await raw.list(posixpath.dirname(raw_path), (MARKER_KEY, "cs3lab.request"))

    def heartbeat_ok(path: str, result: Any) -> None:
        if path != "raw":
            held(path, result)

    add(
        "heartbeat (no storage refresh)",
        Operation(
            "",
            {
                "raw": raw_heartbeat,
                "manager": lambda: locks.refresh(cs3(mgr_nb), LOCK_CLIENT),
                "rest": lambda: rest.lock("PUT", rest_nb, LOCK_CLIENT),
            },
            heartbeat_ok,
            before=session_refreshed("now"),
            setup=hold_all,
            teardown=release_everything,
        ),
    )
    release_call = "Unlock" if kind == NATIVE else "SetArbitraryMetadata"
    add(
        "release",
        Operation(
            "",
            {
                "raw": raw_lock.release,
                "manager": release_all["manager"],
                "rest": release_all["rest"],
            },
            lambda path, result: None,
            before=acquire,
            after={"raw": raw_lock.tidy},
        ),
        release_call,
    )

    # -- list the folder of `entries` files with their lock state (the file browser)
    async def raw_list_locked() -> Any:
        folder = cs3(fx.listing)
        keys = (MARKER_KEY,) if kind == MARKER else ()
        return await raw.stat(folder), await raw.list(folder, keys)

    def check_listing(path: str, result: Any) -> None:
        now = time.time()
        if path == "raw":
            infos = result[1]
            names = [posixpath.basename(i.path.rstrip("/")) for i in infos]
            files = [n for n in names if not n.startswith(MARKER_PREFIX)]
            if kind == NATIVE:
                locked = sum(1 for i in infos if i.lock.lock_id)
            else:
                markers = [i for i, n in zip(infos, names, strict=True) if n not in files]
                locked = sum(1 for i in markers if RawMarkerLock.live_lock_id(i, now))
        else:
            entries = model_of(path, result)["content"]
            files = entries
            holders = [e["lock"]["holder"]["username"] for e in entries if e.get("lock")]
            locked = len(holders)
            read_only = sum(1 for e in entries if not e["writable"])
        if len(files) != fx.entries:
            raise RuntimeError(f"{path}: {len(files)} entries, expected {fx.entries}")
        if locked != fx.locked or (path != "raw" and set(holders) != {HOLDER}):
            raise WrongLockState(
                f"{path}: {locked} of {fx.entries} entries shown locked, expected {fx.locked} "
                f"held by {HOLDER}" + (f" ({read_only} read-only)" if path != "raw" else "")
            )

    add(
        f"list {fx.entries:,} with lock state ({fx.locked} locked)",
        Operation(
            "",
            {
                "raw": raw_list_locked,
                "manager": lambda: cm.get(fx.listing, True, "directory"),
                "rest": lambda: rest.contents("GET", fx.listing, "type=directory&content=1&hash=0"),
            },
            check_listing,
        ),
    )
    return ops


# -- measuring --------------------------------------------------------------------------------


async def timed(run: Step) -> float:
    gc.collect()  # not in the timed span: no path pays for another's garbage
    start = time.perf_counter()
    await run()
    return (time.perf_counter() - start) * 1000


async def measure(
    op: Operation, counters: dict[str, Counter], rest: RestClient, warmup: int, repeat: int
) -> None:
    paths = list(op.run)

    async def nothing() -> None:
        return None

    async def execute(path: str, run: Step) -> Any:
        await op.before.get(path, nothing)()
        try:
            return await run()
        finally:
            await op.after.get(path, nothing)()

    if op.setup is not None:
        await op.setup()
    try:
        for _ in range(warmup):
            for path in paths:
                await execute(path, op.run[path])

        async def snapshot(path: str) -> dict[str, int]:
            return await rest.calls() if path == "rest" else dict(counters[path])

        # once more each, untimed and warm: check the result, count the CS3 calls
        for path in paths:
            result: list[Any] = []

            async def counted(path: str = path, result: list[Any] = result) -> None:
                if path in ("raw", "manager", "rest"):
                    before = await snapshot(path)
                    result.append(await op.run[path]())
                    op.calls[path] = calls.diff(await snapshot(path), before)
                else:
                    result.append(await op.run[path]())

            await execute(path, counted)
            try:
                op.check(path, result[0])
            except WrongLockState as err:
                op.wrong[path] = str(err)
                progress(f"WRONG RESULT, reported: {op.label}, {err}")
        op.samples = {path: [] for path in paths}
        for i in range(repeat):
            shift = i % len(paths)  # rotate the order so no path is always first or last
            for path in paths[shift:] + paths[:shift]:
                op.samples[path].append(await execute(path, lambda p=path: timed(op.run[p])))
    finally:
        if op.teardown is not None:
            await op.teardown()


@dataclass
class Results:
    ops: list[Operation] = field(default_factory=list)  # the contents rows (site A)
    lock_ops: list[Operation] = field(default_factory=list)  # the lock rows, per backend
    round_trips: dict[str, list[float]] = field(default_factory=dict)  # GET /api/status (ms)


async def benchmark(
    site: site_runner.Site,
    home: str,
    servers: dict[str, JupyterServer],
    stock_root,
    args,
    contents: bool = True,
    locks: bool = True,
) -> Results:
    """The contents rows and/or the lock rows on one site (its lock backend: its own)."""
    from cs3lab import CS3ContentsManager

    counters = {"raw": Counter(), "manager": Counter()}
    raw = RawCS3(site.gateway, counters["raw"])
    cm = CS3ContentsManager(config=Config({"CS3Connection": cs3_connection(site, home)}))
    calls.instrument_files(cm.files, counters["manager"])
    rest = {path: RestClient(server) for path, server in servers.items()}
    lock_fixture = None
    results = Results()

    async def run(op: Operation) -> None:
        progress(f"{op.label}: {args.warmup} warm-up + {args.repeat} timed runs per path")
        await measure(op, counters, rest["rest"], args.warmup, args.repeat)

    try:
        await raw.login(USER, site.password(USER))
        if contents:
            progress(f"{site.name}: creating the test files ...")
            fixture = await prepare(raw, home, args.entries, stock_root)
            results.ops = operations(raw, cm, rest, home, fixture)
            for op in results.ops:
                await run(op)
        if locks:
            progress(f"{site.name}: creating the lock test files ...")
            lock_fixture = await prepare_locks(raw, site, home, args.lock_entries, args.locked)
            results.lock_ops = lock_operations(raw, cm, rest["rest"], home, site.name, lock_fixture)
            for op in results.lock_ops:
                await run(op)
        # the REST layer alone: a request that makes no storage call
        for path, client in rest.items():
            for _ in range(args.warmup):
                await client.fetch("GET", "/api/status")
            results.round_trips[path] = [
                await timed(lambda c=client: c.fetch("GET", "/api/status"))
                for _ in range(args.repeat)
            ]
        return results
    finally:
        for client in rest.values():
            client.close()
        if lock_fixture is not None:
            await lock_fixture.holder.close()
        await cm.close()
        await raw.close()


# -- reporting --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def align(rows: list[list[str]]) -> str:
    """A Markdown table padded to aligned columns (numeric columns right-aligned)."""
    columns = range(len(rows[0]))
    widths = [max(len(row[i]) for row in rows) for i in columns]
    numeric = [all(_numeric(row[i]) for row in rows[1:]) for i in columns]

    def line(row: list[str]) -> str:
        cells = [(str.rjust if numeric[i] else str.ljust)(row[i], widths[i]) for i in columns]
        return "| " + " | ".join(cells) + " |"

    rule = "|" + "|".join("-" * (widths[i] + 1) + (":" if numeric[i] else "-") for i in columns)
    return "\n".join([line(rows[0]), rule + "|", *(line(r) for r in rows[1:])])


def _numeric(cell: str) -> bool:
    return cell.rstrip("x").replace(".", "", 1).replace("/", "").isdigit()


def wrong_results(ops: list[Operation]) -> str:
    lines = [
        f'- **WRONG RESULT** in "{op.label}" ({path}): {message}. The row is timed all the '
        "same; its times are not those of a correct result."
        for op in ops
        for path, message in op.wrong.items()
    ]
    return "\n".join(lines) + "\n\n" if lines else ""


def timing_table(ops: list[Operation]) -> str:
    stock = "stock" in ops[0].samples
    header = ["operation"]
    header += ["raw med", "raw p90", "mgr med", "mgr p90", "REST med", "REST p90"]
    header += ["mgr/raw", "REST/raw"]
    header += ["stock med", "REST/stock"] if stock else []
    rows = [header]
    for op in ops:
        med = {p: statistics.median(v) for p, v in op.samples.items()}
        p90 = {p: percentile(v, 0.9) for p, v in op.samples.items()}
        row = [op.label + (" (WRONG, see below)" if op.wrong else "")]
        row += [f"{v:.1f}" for p in PATHS for v in (med[p], p90[p])]
        row += [f"{med['manager'] / med['raw']:.2f}x", f"{med['rest'] / med['raw']:.2f}x"]
        row += [f"{med['stock']:.1f}", f"{med['rest'] / med['stock']:.2f}x"] if stock else []
        rows.append(row)
    return align(rows)


def calls_table(ops: list[Operation]) -> str:
    rows = [["operation", "raw", "manager", "REST", "RPCs raw/mgr/REST"]]
    for op in ops:
        rows.append(
            [
                op.label,
                *(calls.describe(op.calls[p]) for p in PATHS),
                "/".join(str(calls.total_rpcs(op.calls[p])) for p in PATHS),
            ]
        )
    return align(rows)


def revad_version(line: str) -> str:
    try:
        return subprocess.run(
            [str(site_runner.revad_binary(line)), "-version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        return f"unknown ({err})"


def machine(lines: list[str]) -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def git(*command: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *command], capture_output=True, text=True
        ).stdout.rstrip("\n")  # not strip(): a status line starts with its X column

    commit = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    changed = [line[3:] for line in git("status", "--porcelain", "--", "cs3lab").splitlines()]
    if changed:
        commit += f" + uncommitted changes in {', '.join(changed)}"
    import jupyter_server
    import tornado

    return {
        "nproc": str(os.cpu_count()),
        "CPU": cpu,
        **{f"revad ({SITE_FILES[x][1]})": revad_version(SITE_FILES[x][2]) for x in lines},
        "cs3lab": commit,
        "python": sys.version.split()[0],
        "grpcio": grpc.__version__,
        "jupyter_server": jupyter_server.__version__,
        "tornado": tornado.version,
    }


def report(results: Results, args, info: dict[str, str]) -> str:
    ops = results.ops
    setup = (
        f"{args.warmup} warm-up runs, then {args.repeat} timed runs per path and operation "
        "(paths interleaved, order rotated). Times in ms; ratios are ratios of medians."
    )
    trips = "; ".join(
        f"{'cs3lab' if path == 'rest' else 'stock'} server "
        f"{statistics.median(v):.1f} ms (p90 {percentile(v, 0.9):.1f})"
        for path, v in results.round_trips.items()
    )
    facts = "\n".join(f"- {k}: {v}" for k, v in info.items())
    text = f"{setup}\n\n"
    if ops:
        text += (
            f"{timing_table(ops)}\n\n"
            f"REST round trip without any storage call (GET /api/status): {trips}.\n\n"
            "CS3 calls per operation, counted on the gateway stub and the HTTP data transfers "
            "(one warm execution):\n\n"
            f"{calls_table(ops)}\n\n"
        )
    if results.lock_ops:
        text += (
            "### Locks\n\n"
            "native: native CS3 locks (site-n: Reva v2, decomposedfs); marker: marker folders "
            "(site-a: Reva v3, local driver). See README.md for each row's raw baseline.\n\n"
            f"{timing_table(results.lock_ops)}\n\n"
            f"{wrong_results(results.lock_ops)}"
            "CS3 calls per lock operation (one warm execution):\n\n"
            f"{calls_table(results.lock_ops)}\n\n"
        )
    return text + f"{facts}\n"


def write_results(path: Path, text: str, command: str) -> None:
    findings = ""
    if path.exists():
        old = path.read_text()
        if FINDINGS in old:
            findings = old[old.index(FINDINGS) :]
    body = (
        "# cs3lab benchmark results\n\n"
        f"Written by `{command}` (see README.md for what each column means).\n\n"
        f"{text}"
    )
    if findings:
        body += f"\n{findings.rstrip()}\n"
    path.write_text(body)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# -- main -------------------------------------------------------------------------------------


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, help="timed runs per path (default 20, quick 5)")
    parser.add_argument("--quick", action="store_true", help="5 timed runs, 2 warm-ups")
    parser.add_argument("--warmup", type=int, help="untimed runs first (default 3, quick 2)")
    parser.add_argument("--entries", type=int, default=500, help="entries of the listed folder")
    parser.add_argument(
        "--site",
        choices=("both", "a", "n"),
        default="both",
        help="a: site A (Reva v3, local driver): the contents rows and the marker lock rows; "
        "n: site N (Reva v2, decomposedfs): the native lock rows; both (default): all of them",
    )
    parser.add_argument("--no-locks", action="store_true", help="skip the lock rows")
    parser.add_argument(
        "--lock-entries", type=int, default=1000, help="entries of the listing with lock state"
    )
    parser.add_argument("--locked", type=int, default=10, help="how many of them are locked")
    parser.add_argument(
        "--no-stock",
        action="store_true",
        help="skip the reference server (Jupyter's FileContentsManager on local disk)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="Markdown file to write (%(default)s)"
    )
    parser.add_argument("--no-results", action="store_true", help="print only, write no file")
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (5 if args.quick else 20)
    args.warmup = args.warmup if args.warmup is not None else (2 if args.quick else 3)
    if args.repeat < 2 or args.warmup < 0 or args.entries < 1:
        parser.error("--repeat must be at least 2, --warmup at least 0, --entries at least 1")
    if not 1 <= args.locked <= args.lock_entries:
        parser.error("--locked must be between 1 and --lock-entries")
    if args.site == "n" and args.no_locks:
        parser.error("site N has only the lock rows: --site n --no-locks measures nothing")
    command = " ".join(["python benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])

    # Ctrl+C and SIGTERM stop the run cleanly (even if started with SIGINT ignored, as `cmd &`)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="cs3lab-bench-"))
    lines = ["a", "n"] if args.site == "both" else [args.site]
    if args.no_locks:
        lines = [x for x in lines if x == "a"]
    sites: list[site_runner.Site] = []
    servers: list[JupyterServer] = []
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load average (1/5/15 min) at start": load(),
    }
    results = Results()
    try:
        # the in-process manager keeps its notebook signatures in the run's temp dir too
        os.environ["JUPYTER_DATA_DIR"] = str(workdir / "in-process-data")
        for line in lines:
            description, name, _ = SITE_FILES[line]
            progress(f"starting revad ({name}) ...")
            site = site_runner.start_site(description)
            sites.append(site)
            # a folder of the site that every user may write: the holder of the listed locks
            # (HOLDER) writes there too (site-a: alice's home; site-n: a project space)
            home = f"{site.shared}/bench-{uuid.uuid4().hex[:8]}"
            site_runner.sync_mkdir(site, USER, home)
            progress(f"starting the jupyter servers (logs in {workdir}) ...")
            here = {
                "rest": JupyterServer.start(
                    workdir / f"cs3lab-server-{line}", cs3lab_server_config(site, home)
                )
            }
            servers.append(here["rest"])
            contents = line == "a"
            stock_root = None
            if contents and not args.no_stock:
                stock_root = workdir / "stock-root"
                stock_root.mkdir()
                here["stock"] = JupyterServer.start(
                    workdir / "stock-server", stock_server_config(stock_root)
                )
                servers.append(here["stock"])
            done = asyncio.run(
                benchmark(site, home, here, stock_root, args, contents, not args.no_locks)
            )
            results.ops += done.ops
            results.lock_ops += done.lock_ops
            if contents or not results.round_trips:
                results.round_trips = done.round_trips
            for server in here.values():
                server.stop()
            site.stop()
        info["load average at end"] = load()
        info.update(machine(lines))
    except KeyboardInterrupt:
        progress("interrupted; stopping the servers")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the cleanup finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for server in servers:
            server.stop()
        for site in sites:
            site.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    text = report(results, args, info)
    print(text)
    if not args.no_results:
        write_results(args.results, text, command)
        progress(f"wrote {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
