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
from tornado.httpclient import AsyncHTTPClient, HTTPRequest  # noqa: E402
from traitlets.config import Config  # noqa: E402

USER = "alice"
PATHS = ("raw", "manager", "rest")
MAX_BODY = 1024**3
TIMEOUT = 600.0
SERVER_READY_TIMEOUT = 90.0
KIB, MIB = 1024, 1024 * 1024
RESULTS = HERE / "results.md"
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

    async def close(self) -> None:
        self.http.close()
        await self.channel.close()

    async def login(self, username: str, password: str) -> None:
        request = gw.AuthenticateRequest(type="basic", client_id=username, client_secret=password)
        response = _ok(await self.stub.Authenticate(request), "Authenticate")
        self.metadata = (("x-access-token", response.token),)

    def transfer_headers(self, transfer_token: str) -> dict[str, str]:
        # Reva's data gateway wants the reva token beside the transfer token
        return {"X-Reva-Transfer": transfer_token, **dict(self.metadata)}

    async def stat(self, path: str) -> res.ResourceInfo:
        request = sp.StatRequest(ref=res.Reference(path=path))
        return _ok(await self.stub.Stat(request, metadata=self.metadata), path).info

    async def list(self, path: str) -> list[res.ResourceInfo]:
        request = sp.ListContainerRequest(ref=res.Reference(path=path))
        return list(_ok(await self.stub.ListContainer(request, metadata=self.metadata), path).infos)

    async def mkdir(self, path: str) -> None:
        request = sp.CreateContainerRequest(ref=res.Reference(path=path))
        _ok(await self.stub.CreateContainer(request, metadata=self.metadata), path)

    async def touch(self, path: str) -> None:
        request = sp.TouchFileRequest(ref=res.Reference(path=path))
        _ok(await self.stub.TouchFile(request, metadata=self.metadata), path)

    async def download(self, path: str) -> bytes:
        request = sp.InitiateFileDownloadRequest(ref=res.Reference(path=path))
        response = _ok(await self.stub.InitiateFileDownload(request, metadata=self.metadata), path)
        protocol = _simple(response.protocols, path)
        self.counts[calls.HTTP_GET] += 1
        reply = await self.http.fetch(
            HTTPRequest(
                protocol.download_endpoint,
                headers=self.transfer_headers(protocol.token),
                request_timeout=TIMEOUT,
            )
        )
        return reply.body

    async def upload(self, path: str, data: bytes) -> None:
        request = sp.InitiateFileUploadRequest(ref=res.Reference(path=path))
        response = _ok(await self.stub.InitiateFileUpload(request, metadata=self.metadata), path)
        protocol = _simple(response.protocols, path)
        self.counts[calls.HTTP_PUT] += 1
        await self.http.fetch(
            HTTPRequest(
                protocol.upload_endpoint,
                method="PUT",
                body=data,
                headers=self.transfer_headers(protocol.token),
                request_timeout=TIMEOUT,
            )
        )


def _ok(response: Any, what: str) -> Any:
    if response.status.code != code_pb2.CODE_OK:
        raise RuntimeError(f"CS3 call on {what} failed: {response.status.message}")
    return response


def _simple(protocols: Any, what: str) -> Any:
    for protocol in protocols:
        if protocol.protocol == "simple":
            return protocol
    raise RuntimeError(f"no 'simple' transfer protocol offered for {what}")


# -- the Jupyter server and its REST API ------------------------------------------------------


def cs3_connection(site: site_runner.Site, home: str) -> dict[str, str]:
    return {
        "gateway": site.gateway,
        "site_name": site.name,
        "auth_mode": "basic",
        "username": USER,
        "secret_file": str(site.secret_file(USER)),
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


# -- the operations ---------------------------------------------------------------------------


@dataclass
class Operation:
    label: str
    run: dict[str, Callable[[], Awaitable[Any]]]  # path -> one execution
    check: Callable[[str, Any], None]  # path, result of one execution -> raises if wrong
    samples: dict[str, list[float]] = field(default_factory=dict)  # ms
    calls: dict[str, Counter] = field(default_factory=dict)


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
            # Jupyter's FileContentsManager ends a notebook file with a newline, cs3lab does not
            if size != len(stored) and not (path == "stock" and size == len(stored) + 1):
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


# -- measuring --------------------------------------------------------------------------------


async def timed(run: Callable[[], Awaitable[Any]]) -> float:
    gc.collect()  # not in the timed span: no path pays for another's garbage
    start = time.perf_counter()
    await run()
    return (time.perf_counter() - start) * 1000


async def measure(
    op: Operation, counters: dict[str, Counter], rest: RestClient, warmup: int, repeat: int
) -> None:
    paths = list(op.run)
    for _ in range(warmup):
        for path in paths:
            await op.run[path]()

    async def snapshot(path: str) -> dict[str, int]:
        return await rest.calls() if path == "rest" else dict(counters[path])

    # once more each, untimed and warm: check the result, count the CS3 calls
    for path in paths:
        if path in ("raw", "manager", "rest"):
            before = await snapshot(path)
            op.check(path, await op.run[path]())
            op.calls[path] = calls.diff(await snapshot(path), before)
        else:
            op.check(path, await op.run[path]())
    op.samples = {path: [] for path in paths}
    for i in range(repeat):
        shift = i % len(paths)  # rotate the order so no path is always first or last
        for path in paths[shift:] + paths[:shift]:
            op.samples[path].append(await timed(op.run[path]))


@dataclass
class Results:
    ops: list[Operation]
    round_trips: dict[str, list[float]]  # server -> GET /api/status times (ms)


async def benchmark(
    site: site_runner.Site, home: str, servers: dict[str, JupyterServer], stock_root, args
) -> Results:
    from cs3lab import CS3ContentsManager

    counters = {"raw": Counter(), "manager": Counter()}
    raw = RawCS3(site.gateway, counters["raw"])
    cm = CS3ContentsManager(config=Config({"CS3Connection": cs3_connection(site, home)}))
    calls.instrument_files(cm.files, counters["manager"])
    rest = {path: RestClient(server) for path, server in servers.items()}
    try:
        await raw.login(USER, site.password(USER))
        progress("creating the test files ...")
        fixture = await prepare(raw, home, args.entries, stock_root)
        ops = operations(raw, cm, rest, home, fixture)
        for op in ops:
            progress(f"{op.label}: {args.warmup} warm-up + {args.repeat} timed runs per path")
            await measure(op, counters, rest["rest"], args.warmup, args.repeat)
        # the REST layer alone: a request that makes no storage call
        round_trips = {}
        for path, client in rest.items():
            for _ in range(args.warmup):
                await client.fetch("GET", "/api/status")
            round_trips[path] = [
                await timed(lambda c=client: c.fetch("GET", "/api/status"))
                for _ in range(args.repeat)
            ]
        return Results(ops, round_trips)
    finally:
        for client in rest.values():
            client.close()
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
        row = [op.label]
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


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        revad = subprocess.run(
            [str(site_runner.revad_binary()), "-version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as err:
        revad = f"unknown ({err})"

    def git(*command: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *command], capture_output=True, text=True
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [line[3:] for line in git("status", "--porcelain", "--", "cs3lab").splitlines()]
    if changed:
        commit += f" + uncommitted changes in {', '.join(changed)}"
    import jupyter_server
    import tornado

    return {
        "nproc": str(os.cpu_count()),
        "CPU": cpu,
        "revad": revad,
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
    return (
        f"{setup}\n\n{timing_table(ops)}\n\n"
        f"REST round trip without any storage call (GET /api/status): {trips}.\n\n"
        "CS3 calls per operation, counted on the gateway stub and the HTTP data transfers "
        "(one warm execution):\n\n"
        f"{calls_table(ops)}\n\n{facts}\n"
    )


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
    command = " ".join(["python benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])])

    # Ctrl+C and SIGTERM stop the run cleanly (even if started with SIGINT ignored, as `cmd &`)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    workdir = Path(tempfile.mkdtemp(prefix="cs3lab-bench-"))
    site = None
    servers: dict[str, JupyterServer] = {}
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load average (1/5/15 min) at start": load(),
    }
    try:
        progress("starting revad ...")
        site = site_runner.start_site("site-a.json")
        home = f"{site.home(USER)}/bench-{uuid.uuid4().hex[:8]}"
        site_runner.sync_mkdir(site, USER, home)
        progress(f"starting the jupyter servers (logs in {workdir}) ...")
        servers["rest"] = JupyterServer.start(
            workdir / "cs3lab-server", cs3lab_server_config(site, home)
        )
        stock_root = None
        if not args.no_stock:
            stock_root = workdir / "stock-root"
            stock_root.mkdir()
            servers["stock"] = JupyterServer.start(
                workdir / "stock-server", stock_server_config(stock_root)
            )
        # the in-process manager keeps its notebook signatures in the run's temp dir too
        os.environ["JUPYTER_DATA_DIR"] = str(workdir / "in-process-data")
        results = asyncio.run(benchmark(site, home, servers, stock_root, args))
        info["load average at end"] = load()
        info.update(machine())
    except KeyboardInterrupt:
        progress("interrupted; stopping the servers")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the cleanup finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for server in servers.values():
            server.stop()
        if site is not None:
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
