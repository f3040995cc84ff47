"""Kernels see the same files: a kernel started through JupyterLab's REST API (POST
/api/sessions for a notebook in a subfolder) works in that folder of cs3lab's FUSE mount,
reads and writes CS3 files by relative path and through ``cs3://``, is refused a file locked
by someone else, and never sees the server's secret. The mount goes with the server, also
when the server is killed. One Jupyter server per site for the module (tests/servers.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from jupyter_client import BlockingKernelClient
from lockers import locker, signed_in, stored, version_count
from servers import start_server

from cs3lab.fs.mount import mounted_under, mounts_dir

CSV = "date,station,temperature_c\n2026-03-02,north,4.1\n2026-03-02,ridge,1.2\n"


async def _seed(site, home: str) -> None:
    async with signed_in(site) as files:
        await files.mkdir(home)
        await files.mkdir(f"{home}/analysis")
        await files.upload(f"{home}/analysis/measurements.csv", CSV.encode())
        await files.upload(f"{home}/analysis/held.csv", b"bob's\n")
        await files.upload(f"{home}/analysis/notebook.ipynb", b"{}")


class Kernel:
    """A kernel of a running server, driven with jupyter_client over its connection file."""

    def __init__(self, server, runtime: Path, session: dict) -> None:
        self.server, self.session = server, session
        self.id = session["kernel"]["id"]
        self.client = BlockingKernelClient()
        self.client.load_connection_file(str(runtime / f"kernel-{self.id}.json"))
        # No heartbeat channel: on a loaded machine a late beat reads as a dead kernel.
        self.client.start_channels(hb=False)
        self.client.wait_for_ready(timeout=120)

    def run(self, code: str) -> tuple[str, dict]:
        """(stdout, reply content) of ``code``."""
        out: list[str] = []

        def on_output(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        reply = self.client.execute_interactive(code, timeout=180, output_hook=on_output)
        return "".join(out), reply["content"]

    def value(self, expression: str):
        """The value of a JSON-able Python expression, evaluated in the kernel."""
        stdout, reply = self.run(f"import json as _j; print(_j.dumps({expression}))")
        assert reply["status"] == "ok", stdout
        return json.loads(stdout.strip().splitlines()[-1])

    def close(self) -> None:
        self.client.stop_channels()
        self.server.request("DELETE", f"api/sessions/{self.session['id']}")


def start_kernel(server, runtime: Path, notebook: str) -> Kernel:
    status, session = server.request(
        "POST",
        "api/sessions",
        {"path": notebook, "type": "notebook", "name": "", "kernel": {"name": "python3"}},
    )
    assert status == 201, session
    return Kernel(server, runtime, session)


@pytest.fixture(scope="module", params=["site-a", "site-n"])
def lab(request, tmp_path_factory):
    """A `jupyter server` with cs3lab as alice of the site, rooted in a fresh folder of a
    space bob can write to as well (for his locks), and one kernel for
    analysis/notebook.ipynb."""
    site = request.getfixturevalue(request.param.replace("-", "_"))
    home = f"{site.shared}/kernels-{uuid.uuid4().hex[:8]}"
    asyncio.run(_seed(site, home))
    workdir = tmp_path_factory.mktemp(f"lab-{site.name}")
    server = start_server(site, "alice", home, workdir)
    try:
        kernel = start_kernel(server, workdir / "runtime", "analysis/notebook.ipynb")
        yield site, home, server, kernel, workdir
        kernel.close()
    finally:
        server.stop()


def test_the_kernel_works_in_the_notebooks_folder_of_the_mount(lab):
    site, home, server, kernel, _ = lab
    cwd = kernel.value("__import__('os').getcwd()")
    mounts = [str(p) for p in mounted_under(mounts_dir())]
    assert cwd.endswith("/analysis") and os.path.dirname(cwd) in mounts, (cwd, mounts)
    assert Path(cwd).parent.name.startswith(f"{server.process.pid}-")
    stdout, reply = kernel.run(
        "import pandas as pd\n"
        "df = pd.read_csv('measurements.csv')\n"
        "print(round(df.temperature_c.mean(), 2))\n"
        "df[df.station == 'north'].to_csv('north.csv', index=False)\n"
        "import xarray as xr\n"  # netCDF by relative path too (scipy's engine maps the file)
        "df.set_index('station').to_xarray().to_netcdf('stations.nc', engine='scipy')\n"
        "with xr.open_dataset('stations.nc', engine='scipy') as ds:\n"
        "    print(ds.temperature_c.sel(station='ridge').item())\n"
    )
    assert reply["status"] == "ok", stdout
    assert stdout.strip().splitlines() == ["2.65", "1.2"]
    # The kernel's file is in the CS3 listing (the REST API's and the storage's).
    status, listing = server.request("GET", "api/contents/analysis")
    assert status == 200
    assert "north.csv" in [c["name"] for c in listing["content"]]
    north = asyncio.run(stored(site, f"{home}/analysis/north.csv"))
    assert north.decode().splitlines() == ["date,station,temperature_c", "2026-03-02,north,4.1"]


def test_cs3_urls_work_in_the_kernel_with_no_arguments(lab):
    site, home, _, kernel, _ = lab
    stdout, reply = kernel.run(
        "import pandas as pd, fsspec\n"
        "df = pd.read_csv('cs3://analysis/measurements.csv')\n"
        "df.to_csv('cs3://from-cs3-url.csv', index=False)\n"
        "print(fsspec.filesystem('cs3').ls('', detail=False))\n"
    )
    assert reply["status"] == "ok", stdout
    assert "from-cs3-url.csv" in stdout
    assert asyncio.run(stored(site, f"{home}/from-cs3-url.csv")).decode() == CSV


def test_the_kernel_gets_a_token_file_never_the_servers_secret(lab):
    site, _, _, kernel, _ = lab
    env = kernel.value("dict(__import__('os').environ)")
    assert env["CS3LAB_AUTH_MODE"] == "token" and env["CS3LAB_GATEWAY"] == site.gateway
    token_file = Path(env["CS3LAB_SECRET_FILE"])
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    assert oct(token_file.parent.stat().st_mode & 0o777) == "0o700"
    password = site.password("alice")
    assert not any(password in value for value in env.values())
    assert str(site.secret_file("alice")) not in env.values()


def test_a_kernel_cannot_write_a_file_locked_by_someone_else(lab):
    site, home, _, kernel, _ = lab

    async def scenario() -> tuple[str, dict]:
        async with locker(site, "bob") as bob:
            await bob.acquire(f"{home}/analysis/held.csv", "bob-tab")
            return await asyncio.to_thread(
                kernel.run,
                "for attempt in ('mount', 'cs3'):\n"
                "    try:\n"
                "        if attempt == 'mount':\n"
                "            open('held.csv', 'w').write('alice was here')\n"
                "        else:\n"
                "            import fsspec\n"
                "            fsspec.filesystem('cs3').pipe('analysis/held.csv', b'alice')\n"
                "    except PermissionError as err:\n"
                "        print(attempt, 'refused:', err)\n"
                "import os\n"
                "print('holder:', os.getxattr('held.csv', 'user.cs3lab.lock').decode())\n",
            )

    stdout, reply = asyncio.run(scenario())
    assert reply["status"] == "ok", stdout
    lines = stdout.strip().splitlines()
    assert lines[0].startswith("mount refused: [Errno 13]"), stdout
    assert lines[1].startswith("cs3 refused:") and "Bob Berger" in lines[1], stdout
    assert lines[2].startswith("holder: Bob Berger"), stdout  # the mount names the holder
    assert asyncio.run(stored(site, f"{home}/analysis/held.csv")) == b"bob's\n"


def test_each_kernel_write_is_a_new_version(lab):
    site, home, _, kernel, _ = lab
    stdout, reply = kernel.run(
        "for text in ('one', 'two', 'three'):\n"
        "    with open('versioned.txt', 'w') as f:\n"
        "        f.write(text)\n"
    )
    assert reply["status"] == "ok", stdout

    assert asyncio.run(stored(site, f"{home}/analysis/versioned.txt")) == b"three"
    assert asyncio.run(version_count(site, f"{home}/analysis/versioned.txt")) == 2


def test_a_notebook_in_a_place_runs_in_that_folder_of_the_mount(lab):
    site, _, server, _, workdir = lab
    if site.name != "site-n":
        pytest.skip("site A has no project spaces; places in cs3:// on both sites: test_fs.py")
    folder = f"Spaces/common/kernel-{uuid.uuid4().hex[:6]}"
    for path, model in (
        (folder, {"type": "directory"}),
        (f"{folder}/measurements.csv", {"type": "file", "format": "text", "content": CSV}),
        (f"{folder}/nb.ipynb", {"type": "file", "format": "text", "content": "{}"}),
    ):
        status, body = server.request("PUT", f"api/contents/{quote(path)}", model)
        assert status == 201, body
    kernel = start_kernel(server, workdir / "runtime", f"{folder}/nb.ipynb")
    try:
        stdout, reply = kernel.run(
            "import os, pandas as pd\n"
            "print(os.getcwd())\n"
            "print(sorted(os.listdir(os.environ['CS3LAB_MOUNT'] + '/Spaces')))\n"
            "df = pd.read_csv('measurements.csv')\n"
            "df.describe().to_csv('summary.csv')\n"
            "print(round(df.temperature_c.max(), 1))\n"
        )
    finally:
        kernel.close()
    assert reply["status"] == "ok", stdout
    cwd, spaces, maximum = stdout.strip().splitlines()
    assert cwd.endswith(f"/{folder}"), cwd
    assert "common" in spaces and maximum == "4.1", stdout
    status, listing = server.request("GET", f"api/contents/{quote(folder)}")
    assert status == 200 and "summary.csv" in [c["name"] for c in listing["content"]], listing


def test_a_kernel_overwrite_is_stored_whole_at_close(lab):
    """``open(name, 'w')`` of an existing file in the mount (O_TRUNC): the storage keeps the
    old content, not an empty or half-written file, until the kernel closes the file."""
    site, home, _, kernel, _ = lab
    path = f"{home}/analysis/overwritten.txt"

    async def seed() -> None:
        async with signed_in(site) as files:
            await files.upload(path, b"old")

    asyncio.run(seed())
    stdout, reply = kernel.run(
        "f = open('overwritten.txt', 'w')\nf.write('new' * 100000)\nf.flush()\n"
    )
    assert reply["status"] == "ok", stdout
    assert asyncio.run(stored(site, path)) == b"old"
    stdout, reply = kernel.run("f.close()\n")
    assert reply["status"] == "ok", stdout
    assert asyncio.run(stored(site, path)) == b"new" * 100000


# -- the mount's life (site A only: it is the same code on both sites) -----------------------


def _mounts_of(pid: int) -> list[Path]:
    return [p for p in mounted_under(mounts_dir()) if p.name.startswith(f"{pid}-")]


def _wait(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def _mount_ready(pid: int) -> bool:
    return _wait(lambda: bool(_mounts_of(pid)))


def test_the_mount_goes_when_the_server_stops_or_is_killed(site_a, tmp_path):
    home = f"{site_a.shared}/life-{uuid.uuid4().hex[:8]}"
    asyncio.run(_seed(site_a, home))
    # A clean stop: SIGTERM, as Ctrl+C or a hub does.
    server = start_server(site_a, "alice", home, tmp_path / "one")
    try:
        assert _mount_ready(server.process.pid)
        point = _mounts_of(server.process.pid)[0]
    finally:
        server.stop()
    assert _mounts_of(server.process.pid) == [] and not point.exists()

    # The server killed outright: its mount process follows it (parent-death signal).
    server = start_server(site_a, "alice", home, tmp_path / "two")
    try:
        assert _mount_ready(server.process.pid)
        mounter = _mount_process(server.process.pid)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
    finally:
        server.stop()  # nothing left to stop unless an assertion failed
    assert _wait(lambda: _mounts_of(server.process.pid) == [], 20)
    assert _wait(lambda: mounter.poll_dead(), 20)


def test_a_stale_mount_of_a_dead_server_is_removed_at_the_next_start(site_a, tmp_path):
    home = f"{site_a.shared}/stale-{uuid.uuid4().hex[:8]}"
    asyncio.run(_seed(site_a, home))
    server = start_server(site_a, "alice", home, tmp_path / "one")
    try:
        assert _mount_ready(server.process.pid)
        dead_pid = server.process.pid
        stale = _mounts_of(dead_pid)[0]
        # Both die at once, without a chance to unmount: the mount is left "disconnected".
        mounter = _mount_process(dead_pid)
        mounter.kill()
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
    finally:
        server.stop()
    assert stale in mounted_under(mounts_dir())
    server = start_server(site_a, "alice", home, tmp_path / "two")
    try:
        assert _mount_ready(server.process.pid)
        assert stale not in mounted_under(mounts_dir()) and not stale.exists()
    finally:
        server.stop()


def test_without_fuse_the_server_starts_and_kernels_use_scratch_and_cs3_urls(site_a, tmp_path):
    home = f"{site_a.shared}/nofuse-{uuid.uuid4().hex[:8]}"
    asyncio.run(_seed(site_a, home))
    workdir = tmp_path / "nofuse"
    os.environ["CS3LAB_FUSE_DEVICE"] = str(tmp_path / "no-such-device")
    try:
        server = start_server(site_a, "alice", home, workdir)
    finally:
        del os.environ["CS3LAB_FUSE_DEVICE"]
    try:
        assert _mounts_of(server.process.pid) == []
        kernel = start_kernel(server, workdir / "runtime", "analysis/notebook.ipynb")
        try:
            assert kernel.value("__import__('os').getcwd()") == str(workdir)
            problem = kernel.value("__import__('os').environ.get('CS3LAB_MOUNT_PROBLEM')")
            assert "no-such-device" in problem, problem
            stdout, reply = kernel.run(
                "import pandas as pd\nprint(len(pd.read_csv('cs3://analysis/measurements.csv')))"
            )
            assert reply["status"] == "ok" and stdout.strip() == "2", stdout
        finally:
            kernel.close()
    finally:
        server.stop()
    said = [line for line in server.log.read_text().splitlines() if "no FUSE mount" in line]
    assert len(said) == 1 and "no-such-device" in said[0], said


def test_a_mount_folder_someone_planted_is_refused_and_kernels_start_at_once(site_a, tmp_path):
    """A shared temporary folder where another user planted links where the folder of mount
    points goes (here links to a folder that does not exist yet): the server refuses it at
    once and says why (its log, and CS3LAB_MOUNT_PROBLEM in the kernel), and a kernel starts
    in the scratch folder without waiting for a mount that will not come."""
    home = f"{site_a.shared}/planted-{uuid.uuid4().hex[:8]}"
    asyncio.run(_seed(site_a, home))
    workdir, shared, theirs = tmp_path / "server", tmp_path / "shared", tmp_path / "theirs"
    shared.mkdir()
    shared.chmod(0o1777)
    for name in ("cs3lab-mounts", f"cs3lab-mounts-{os.getuid()}"):  # older versions' too
        (shared / name).symlink_to(theirs)
    saved = {name: os.environ.get(name) for name in ("TMPDIR", "XDG_RUNTIME_DIR")}
    os.environ["TMPDIR"] = str(shared)
    os.environ.pop("XDG_RUNTIME_DIR", None)
    try:
        server = start_server(site_a, "alice", home, workdir)
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value
    try:
        kernel = start_kernel(server, workdir / "runtime", "analysis/notebook.ipynb")
        try:
            env = kernel.value("dict(__import__('os').environ)")
            assert kernel.value("__import__('os').getcwd()") == str(workdir)
        finally:
            kernel.close()
    finally:
        server.stop()
    assert "CS3LAB_MOUNT" not in env
    assert "is a symbolic link" in env["CS3LAB_MOUNT_PROBLEM"], env["CS3LAB_MOUNT_PROBLEM"]
    said = [line for line in server.log.read_text().splitlines() if "no FUSE mount" in line]
    assert len(said) == 1 and f"cs3lab-mounts-{os.getuid()} is a symbolic link" in said[0], said
    assert not theirs.exists()  # nothing was made through their links


class _Process:
    def __init__(self, pid: int) -> None:
        self.pid = pid

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.poll_dead()

    def poll_dead(self) -> bool:
        try:
            os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pass
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{self.pid}/stat").read_text().split()[2] == "Z"


def _mount_process(server_pid: int) -> _Process:
    """The server's mount process (python -m cs3lab.fs.mount)."""
    found = subprocess.run(
        ["pgrep", "-P", str(server_pid), "-f", "cs3lab.fs.mount"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert found, f"no mount process under {server_pid}"
    return _Process(int(found[0]))
