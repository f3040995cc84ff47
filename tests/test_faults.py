"""Faults, each against a real revad of its own (Reva v3, site A's description) whose data
gateway clients reach through a proxy (tests/faults.py): the revad killed while a save's,
a merge's, a folder copy's or a kernel's bytes are on the wire and started again, the gateway
frozen, the data gateway stalled or refusing, a Jupyter server killed while it holds locks,
the server's spool full. Each time: a clear error with the right status, nothing partial left,
the stored file as it was, and recovery without restarting Jupyter. README: "Faults"."""

from __future__ import annotations

import asyncio
import base64
import errno
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import site_runner
from faults import DataProxy
from helpers import api, api_error, cs3lab_api, refusal, text_model
from lockers import locker, signed_in, stored, token_file
from nbformat.v4 import new_code_cell, new_notebook
from servers import start_server
from tornado.httpclient import HTTPClientError

from cs3lab.cs3 import AuthConfig, CS3Client, Files, GatewayConfig, SecretSource
from cs3lab.fs import spool
from cs3lab.fs.mount import KernelMount

SITE = "site-a"
GATEWAY_SECONDS = 3.0  # CS3Connection.timeout of the servers here
STALL_SECONDS = 2.0  # CS3Connection.transfer_stall_seconds
LOCK_EXPIRY = 10  # the shortest LockService accepts


@pytest.fixture(scope="module")
def proxy():
    return DataProxy()


@pytest.fixture(scope="module")
def fragile(proxy):
    """A site of this module's own: it is killed and frozen here."""
    desc = site_runner.load_description(f"{SITE}.json")
    desc["template_values"] = {"datagateway_url": proxy.url}
    running = site_runner.start_site(desc)
    proxy.target = running.http_port
    yield running
    running.stop()


@pytest.fixture
def site(fragile, proxy):
    yield fragile
    proxy.reset()
    if fragile.process is not None and fragile.process.poll() is None:
        fragile.process.send_signal(signal.SIGCONT)
    else:
        site_runner.restart_site(fragile)


@pytest.fixture
def jp_server_config(jp_server_config):
    jp_server_config.CS3Connection.timeout = GATEWAY_SECONDS
    jp_server_config.CS3Connection.transfer_stall_seconds = STALL_SECONDS
    return jp_server_config


def kill(site) -> None:
    """The site's revad dies at once (no chance to finish anything)."""
    site.process.kill()
    site.process.wait()


async def restart(site) -> None:
    """Start the killed revad again (once the proxy's thread that kills it is done)."""
    await asyncio.to_thread(site.process.wait, 10)
    await asyncio.to_thread(site_runner.restart_site, site)


def notebook(*sources: str) -> dict:
    nb = new_notebook(cells=[new_code_cell(s, id=f"c{i}") for i, s in enumerate(sources)])
    return {"type": "notebook", "format": "json", "content": nb}


def sources(model: dict) -> list[str]:
    return [c["source"] for c in model["content"]["cells"]]


# -- the revad goes away while bytes are on the wire, and comes back ---------------------------


async def test_revad_killed_mid_save_gives_503_keeps_the_file_and_the_lock(
    jp_fetch, site, proxy, home
):
    await api(jp_fetch, "PUT", "nb.ipynb", notebook("kept = 1"))
    held = await cs3lab_api(jp_fetch, "POST", "locks", body={"path": "nb.ipynb", "client": "t"})
    assert held["mine"]
    big = "x = '" + "y" * 2_000_000 + "'"
    proxy.when("PUT", lambda: kill(site))
    code, message = await api_error(jp_fetch, "PUT", "nb.ipynb", notebook(big))
    assert code == 503, message
    assert "cannot be reached" in message

    await restart(site)
    assert sources(await api(jp_fetch, "GET", "nb.ipynb")) == ["kept = 1"]
    # The lock lives in the storage: still alice's, and this server's session goes on.
    state = await cs3lab_api(jp_fetch, "PUT", "locks", body={"path": "nb.ipynb", "client": "t"})
    assert state["this_session"], state
    await api(jp_fetch, "PUT", "nb.ipynb", notebook("saved = 2"))
    assert sources(await api(jp_fetch, "GET", "nb.ipynb")) == ["saved = 2"]


async def test_revad_killed_mid_merge_writes_nothing_and_the_merge_works_after(
    jp_fetch, site, proxy
):
    await api(jp_fetch, "PUT", "nb.ipynb", notebook("a = 1", "b = 2"))
    copy = (await cs3lab_api(jp_fetch, "POST", "copies", body={"path": "nb.ipynb"}))["path"]
    await api(jp_fetch, "PUT", copy, notebook("a = 1", "b = 20"))
    proxy.when("PUT", lambda: kill(site))
    code, message = await refusal(
        cs3lab_api(jp_fetch, "POST", "merge", body={"copy": copy, "original": "nb.ipynb"})
    )
    assert code == 503, message

    await restart(site)
    assert sources(await api(jp_fetch, "GET", "nb.ipynb")) == ["a = 1", "b = 2"]
    assert sources(await api(jp_fetch, "GET", copy)) == ["a = 1", "b = 20"]
    merged = await cs3lab_api(
        jp_fetch, "POST", "merge", body={"copy": copy, "original": "nb.ipynb"}
    )
    assert merged["written"] is True
    assert sources(await api(jp_fetch, "GET", "nb.ipynb")) == ["a = 1", "b = 20"]


async def test_revad_killed_mid_folder_copy_leaves_no_partial_copy(jp_fetch, site, proxy):
    await api(jp_fetch, "PUT", "data", {"type": "directory"})
    for i in range(6):
        await api(jp_fetch, "PUT", f"data/f{i}.txt", text_model(f"file {i}\n" * 1000))
    proxy.when("PUT", lambda: kill(site), nth=3)  # two files copied, the third on the wire
    code, message = await api_error(jp_fetch, "POST", "", {"copy_from": "data"})
    assert code == 503, message

    await restart(site)
    # The partial copy is removed once the site is back (it could not be while it was gone).
    for _ in range(50):
        names = {c["name"] for c in (await api(jp_fetch, "GET", ""))["content"]}
        if names == {"data"}:
            break
        await asyncio.sleep(0.2)
    assert names == {"data"}, f"left behind: {names}; the error said: {message}"
    copied = await api(jp_fetch, "POST", "", {"copy_from": "data"})
    assert len((await api(jp_fetch, "GET", copied["path"]))["content"]) == 6


# -- a frozen gateway, a stalled or refusing data gateway ------------------------------------


async def test_a_frozen_gateway_is_503_within_the_timeout_and_the_server_stays_responsive(
    jp_fetch, site
):
    await api(jp_fetch, "PUT", "a.txt", text_model("before"))
    site.process.send_signal(signal.SIGSTOP)
    try:
        waiting = asyncio.ensure_future(api_error(jp_fetch, "GET", "a.txt"))
        # While that request waits on the frozen site, the server answers what needs no site.
        status = await jp_fetch("api", "status")
        assert status.code == 200 and not waiting.done()
        code, message = await waiting
        assert code == 503 and "cannot be reached" in message, message
    finally:
        site.process.send_signal(signal.SIGCONT)
    assert (await api(jp_fetch, "GET", "a.txt"))["content"] == "before"


async def test_a_stalled_data_gateway_gives_503_and_leaves_the_stored_file(jp_fetch, site, proxy):
    await api(jp_fetch, "PUT", "a.txt", text_model("before"))
    proxy.mode = "stall"
    waiting = asyncio.ensure_future(api_error(jp_fetch, "GET", "a.txt"))
    status = await jp_fetch("api", "status")
    assert status.code == 200 and not waiting.done()
    code, message = await waiting
    assert code == 503, message
    assert (
        f"stopped answering while cs3lab tried to read a.txt (no data for {STALL_SECONDS:g} s)"
        in (message)
    )
    code, message = await api_error(jp_fetch, "PUT", "a.txt", text_model("after"))
    assert code == 503 and "stopped answering" in message, message

    proxy.mode = "pass"
    assert (await api(jp_fetch, "GET", "a.txt"))["content"] == "before"
    await api(jp_fetch, "PUT", "a.txt", text_model("after"))
    assert (await api(jp_fetch, "GET", "a.txt"))["content"] == "after"


async def test_a_refusing_data_gateway_gives_503_then_recovers(jp_fetch, site, proxy):
    await api(jp_fetch, "PUT", "a.txt", text_model("before"))
    proxy.refuse()
    code, message = await api_error(jp_fetch, "GET", "a.txt")
    assert code == 503 and "cannot be reached to read a.txt" in message, message
    code, message = await api_error(jp_fetch, "PUT", "a.txt", text_model("after"))
    assert code == 503 and "cannot be reached to store a.txt" in message, message
    proxy.accept()
    assert (await api(jp_fetch, "GET", "a.txt"))["content"] == "before"


async def test_a_slow_reader_or_writer_on_this_side_is_no_stall(jp_asyncio_loop, site, home):
    """Only time the data server owes something counts: a consumer that pauses and a
    producer that pauses, each longer than the stall time, still move every byte."""
    secret = SecretSource(file=str(site.secret_file("alice")))
    gateway = GatewayConfig(site.gateway, transfer_stall_seconds=0.5)
    files = Files(CS3Client(gateway, AuthConfig("basic", "alice", secret)))
    data = os.urandom(3 * 1024 * 1024)

    async def slow_chunks():
        for start in range(0, len(data), 1024 * 1024):
            await asyncio.sleep(1.0)
            yield data[start : start + 1024 * 1024]

    try:
        await files.upload_stream(f"{home}/slow.bin", len(data), slow_chunks())
        received: list[bytes] = []

        async def slow_sink(chunk: bytes) -> None:
            if not received:
                await asyncio.sleep(1.0)
            received.append(chunk)

        download = await files.initiate_download(f"{home}/slow.bin")
        await files.download_stream(download, slow_sink, "slow.bin")
        assert b"".join(received) == data
    finally:
        files.close()
        await files.client.close()


# -- the server's spool is full ----------------------------------------------------------------


def small_tmpfs() -> Path:
    """A 2 MiB file system (tmpfs: mounting it needs root), for a spool to fill."""
    folder = Path(tempfile.mkdtemp(prefix="cs3lab-spool-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)])
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    return folder


def release_tmpfs(folder: Path) -> None:
    subprocess.run(["umount", str(folder)], check=True)
    folder.rmdir()


@pytest.fixture
def small_spool(monkeypatch):
    """The server's spool: 1 MiB of memory, then the small tmpfs."""
    folder = small_tmpfs()
    monkeypatch.setattr(spool.BUDGET, "limit", spool.MIB)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    release_tmpfs(folder)


async def test_a_full_spool_refuses_the_upload_with_507_and_keeps_the_file(
    small_spool, jp_fetch, site
):
    await api(jp_fetch, "PUT", "big.bin", text_model("before"))
    chunk = base64.b64encode(os.urandom(1024 * 1024)).decode()
    refused = None
    for number in range(1, 6):
        body = {"type": "file", "format": "base64", "chunk": number, "content": chunk}
        try:
            await api(jp_fetch, "PUT", "big.bin", body)
        except HTTPClientError as err:
            refused, code = number, err.code
            message = json.loads(err.response.body)["message"]
            break
    assert refused is not None, "5 MiB fitted in a 1 MiB budget and a 2 MiB spool"
    assert code == 507, message
    assert "stopped and nothing of it was kept" in message and "No space left" in message
    assert (await api(jp_fetch, "GET", "big.bin"))["content"] == "before"
    # The refused upload is dropped: a new one (small, whole) goes through.
    await api(jp_fetch, "PUT", "big.bin", text_model("after"))
    assert (await api(jp_fetch, "GET", "big.bin"))["content"] == "after"


# -- a Jupyter server killed while it holds a lock --------------------------------------------


async def test_a_killed_servers_locks_expire_and_its_work_can_be_saved_as_a_copy(
    jp_asyncio_loop, site, home, tmp_path
):
    """alice's server dies holding the lock: bob takes over once it expires; alice, back
    with a new server (the browser reconnecting), is refused the original and keeps her
    work as a copy."""
    extra = [f"--CS3ContentsManager.lock_expiry_seconds={LOCK_EXPIRY}"]

    def alice_server(name: str):
        return start_server(site, "alice", home, tmp_path / name, extra=extra)

    alice = await asyncio.to_thread(alice_server, "first")
    try:
        code, _ = alice.request("PUT", "api/contents/nb.ipynb", notebook("mine = 1"))
        assert code == 201
        code, state = alice.request("POST", "cs3lab/api/locks", {"path": "nb.ipynb", "client": "t"})
        assert code == 200 and state["mine"], state
    finally:
        alice.process.kill()  # no chance to give anything back
        alice.process.wait()
    path = f"{home}/nb.ipynb"
    async with locker(site, "bob", expiry=LOCK_EXPIRY) as bob:
        first = await bob.inspect(path)
        assert first.lock is not None and first.lock.holder.username == "alice"
        assert first.lock.expires is not None
        await asyncio.sleep(max(0.0, first.lock.expires - time.time()) + 1)
        taken = await bob.acquire(path, client="bob-tab")
        assert taken.this_session, taken.to_json()

        alice = await asyncio.to_thread(alice_server, "again")
        try:
            work = notebook("mine = 1", "unsaved = 2")
            code, refused = await asyncio.to_thread(
                alice.request, "PUT", "api/contents/nb.ipynb", work
            )
            assert code == 423 and "Bob Berger" in refused["message"], refused
            code, kept = await asyncio.to_thread(
                alice.request, "PUT", "api/contents/nb-alice.ipynb", work
            )
            assert code == 201, kept
        finally:
            alice.stop()
    assert b"unsaved = 2" not in await stored(site, path)
    assert b"unsaved = 2" in await stored(site, f"{home}/nb-alice.ipynb")


# -- a kernel writing through the FUSE mount -------------------------------------------------


@contextmanager
def kernel_mount(site, folder: str, workdir: Path, **env: str) -> Iterator[Path]:
    """alice's kernel mount of the CS3 ``folder``, as a server starts it (a token file)."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse here")

    secret = token_file(site, workdir / "token")
    variables = {
        "CS3LAB_GATEWAY": site.gateway,
        "CS3LAB_SITE": site.name,
        "CS3LAB_USER": "alice",
        "CS3LAB_AUTH_MODE": "token",
        "CS3LAB_SECRET_FILE": str(secret),
        "CS3LAB_HOME": folder,
    }
    mount = KernelMount(
        f"faults-{workdir.name}", {**os.environ, **variables, **env}, workdir / "log"
    )
    loop = asyncio.new_event_loop()
    try:
        problem = loop.run_until_complete(mount.start())
        assert problem is None, f"{problem}\n{(workdir / 'log').read_text()}"
        yield mount.point
    finally:
        loop.run_until_complete(mount.stop())
        loop.close()


def put(site, path: str, data: bytes) -> None:
    async def upload() -> None:
        async with signed_in(site) as files:
            await files.upload(path, data)

    asyncio.run(upload())


def test_revad_killed_while_a_kernel_writes_through_the_mount(site, proxy, home, tmp_path):
    put(site, f"{home}/k.txt", b"before")
    with kernel_mount(site, home, tmp_path) as point:
        proxy.when("PUT", lambda: kill(site))
        with pytest.raises(OSError) as failed:
            with open(point / "k.txt", "w") as out:
                out.write("after\n" * 100_000)
        assert failed.value.errno == errno.EHOSTUNREACH, failed.value
        site.process.wait(10)
        site_runner.restart_site(site)
        assert asyncio.run(stored(site, f"{home}/k.txt")) == b"before"
        # The same mount goes on once the site is back: nothing to restart.
        (point / "k.txt").write_text("again")
        assert asyncio.run(stored(site, f"{home}/k.txt")) == b"again"


def test_a_full_spool_is_enospc_for_the_kernel_and_the_stored_file_stays(site, home, tmp_path):
    """The mount stages a write of unknown length (1 MiB in memory here, then a file in a
    2 MiB tmpfs): past that, the kernel's write fails with ENOSPC; nothing is stored."""
    folder = small_tmpfs()
    try:
        put(site, f"{home}/k.txt", b"before")
        spool = {"TMPDIR": str(folder), "CS3LAB_SPOOL_MEMORY_MB": "1"}
        with kernel_mount(site, home, tmp_path, **spool) as point:
            with pytest.raises(OSError) as failed:
                with open(point / "k.txt", "wb") as out:
                    for _ in range(5):
                        out.write(os.urandom(1024 * 1024))
            assert failed.value.errno == errno.ENOSPC, failed.value
            assert asyncio.run(stored(site, f"{home}/k.txt")) == b"before"
            (point / "k.txt").write_bytes(b"small")
            assert asyncio.run(stored(site, f"{home}/k.txt")) == b"small"
    finally:
        release_tmpfs(folder)
