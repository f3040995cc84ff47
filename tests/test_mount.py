"""The kernels' FUSE mount (pyfuse3) as ordinary programs use it: a real mount process, as a
server starts it (a token file, never the password), over a real revad, driven here with
plain ``os`` and ``open`` calls: folders, renames, truncation, edits in place, appends, files
read back while they are written, odd names, and what the storage holds afterwards."""

from __future__ import annotations

import asyncio
import errno
import os
import time
import uuid

import pytest
from lockers import signed_in, stored

from cs3lab.cs3.errors import NotFound
from cs3lab.fs.mount import KernelMount, mounted_under

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="no /dev/fuse here")


async def _token(site) -> str:
    async with signed_in(site) as files:
        return await files.client.access_token()


@pytest.fixture(scope="module", params=["site-a", "site-n"])
def mount(request, tmp_path_factory):
    """(site, CS3 folder, local mount point): alice's fresh folder, mounted."""
    site = request.getfixturevalue(request.param.replace("-", "_"))
    folder = f"{site.shared}/mount-{uuid.uuid4().hex[:8]}"
    workdir = tmp_path_factory.mktemp(f"mount-{site.name}")
    token = workdir / "token"
    token.write_text(asyncio.run(_token(site)))
    token.chmod(0o600)

    async def seed() -> None:
        async with signed_in(site) as files:
            await files.mkdir(folder)

    asyncio.run(seed())
    env = dict(
        os.environ,
        CS3LAB_GATEWAY=site.gateway,
        CS3LAB_SITE=site.name,
        CS3LAB_USER="alice",
        CS3LAB_AUTH_MODE="token",
        CS3LAB_SECRET_FILE=str(token),
        CS3LAB_HOME=folder,
    )
    kernel_mount = KernelMount(f"posix-{site.name}", env, workdir / "mount.log")
    # One loop for the mount's life, as a server has: the mount process gets SIGTERM when
    # the thread that started it ends (Linux's parent-death signal is per thread).
    loop = asyncio.new_event_loop()
    try:
        problem = loop.run_until_complete(kernel_mount.start())
        assert problem is None, f"{problem}\n{(workdir / 'mount.log').read_text()}"
        yield site, folder, kernel_mount.point
    finally:
        loop.run_until_complete(kernel_mount.stop())
        loop.close()
    assert kernel_mount.point not in mounted_under(kernel_mount.point.parent)
    log = (workdir / "mount.log").read_text()
    assert "Traceback" not in log, log


def in_storage(site, path: str) -> bytes:
    return asyncio.run(stored(site, path))


def stored_soon(site, path: str, expected: bytes, seconds: float = 15.0) -> bytes:
    """What the storage holds at ``path`` once it is ``expected`` (or after ``seconds``):
    for a file the kernel releases in the background, as after a memory map's unmap."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            data = in_storage(site, path)
        except NotFound:
            data = b""
        if data == expected or time.monotonic() > deadline:
            return data
        time.sleep(0.2)


def test_folders_files_and_renames_reach_the_storage(mount):
    site, folder, point = mount
    os.mkdir(point / "runs")
    with open(point / "runs" / "a.txt", "w") as f:
        f.write("first\n")
    os.rename(point / "runs" / "a.txt", point / "runs" / "b.txt")
    assert sorted(os.listdir(point / "runs")) == ["b.txt"]
    os.rename(point / "runs", point / "done")
    assert (point / "done" / "b.txt").read_text() == "first\n"
    assert in_storage(site, f"{folder}/done/b.txt") == b"first\n"
    with pytest.raises(OSError) as err:
        os.rmdir(point / "done")
    assert err.value.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.EIO, errno.EACCES)
    os.unlink(point / "done" / "b.txt")
    os.rmdir(point / "done")
    assert not (point / "done").exists()
    with pytest.raises(FileNotFoundError):
        os.stat(point / "done")


def test_a_file_being_written_is_listed_and_read_back_before_it_is_stored(mount):
    site, folder, point = mount
    with open(point / "growing.log", "wb") as f:
        f.write(b"line 1\n")
        f.flush()  # Python's buffer only: the file is not closed, so not stored yet
        assert "growing.log" in os.listdir(point)
        assert (point / "growing.log").read_bytes() == b"line 1\n"
        assert os.stat(point / "growing.log").st_size == 7
        f.write(b"line 2\n")
    assert in_storage(site, f"{folder}/growing.log") == b"line 1\nline 2\n"


def test_edits_in_place_truncation_and_appends_are_stored_whole(mount):
    site, folder, point = mount
    target = point / "table.bin"
    target.write_bytes(b"0123456789")
    with open(target, "r+b") as f:
        f.seek(4)
        f.write(b"ab")
    assert in_storage(site, f"{folder}/table.bin") == b"0123ab6789"
    os.truncate(target, 4)  # no handle open: stored at its new length
    assert in_storage(site, f"{folder}/table.bin") == b"0123"
    with open(target, "ab") as f:
        f.write(b"++")
    assert target.read_bytes() == b"0123++"
    with open(target, "r+b") as f:
        f.truncate(8)  # grows with zeros
    assert in_storage(site, f"{folder}/table.bin") == b"0123++\0\0"


def test_memory_mapped_files_are_written_and_read(mount):
    """np.memmap opens read-write and maps the file shared: a file open write-only skips the
    page cache (direct_io), a read-write one must keep it, or mmap fails (ENODEV)."""
    np = pytest.importorskip("numpy")
    site, folder, point = mount
    target = point / "grid.dat"
    grid = np.memmap(target, dtype="<u4", mode="w+", shape=(512, 512))
    grid[:] = np.arange(512 * 512, dtype="<u4").reshape(512, 512)
    grid.flush()
    del grid  # the kernel releases the file (and the mount stores it) after the unmap
    expected = bytearray(np.arange(512 * 512, dtype="<u4").tobytes())
    assert stored_soon(site, f"{folder}/grid.dat", expected) == expected
    again = np.memmap(target, dtype="<u4", mode="r+", shape=(512, 512))
    again[0, :2] = (7, 8)
    again.flush()
    del again
    expected[:8] = np.array([7, 8], dtype="<u4").tobytes()
    assert stored_soon(site, f"{folder}/grid.dat", expected) == expected
    with open(target, "wb") as f:  # write-only: no page cache, and no mmap either
        with pytest.raises((OSError, ValueError)):
            __import__("mmap").mmap(f.fileno(), 0)
        f.write(b"replaced")
    assert in_storage(site, f"{folder}/grid.dat") == b"replaced"
    view = np.memmap(target, dtype="u1", mode="r")
    assert bytes(view) == b"replaced"
    del view


def test_a_rename_of_a_file_still_being_written_stores_it_under_the_new_name(mount):
    site, folder, point = mount
    f = open(point / "draft.tmp", "wb")
    try:
        f.write(b"final contents")
        f.flush()
        os.rename(point / "draft.tmp", point / "final.txt")
    finally:
        f.close()
    assert sorted(n for n in os.listdir(point) if n.startswith(("draft", "final"))) == ["final.txt"]
    assert in_storage(site, f"{folder}/final.txt") == b"final contents"


def test_large_reads_in_order_out_of_order_and_from_the_end(mount):
    """A file of several read windows: read through, read its tail first (as netCDF and
    Parquet readers do), and read pieces at random: every byte is the file's."""
    import random

    site, folder, point = mount
    data = os.urandom(40 * 1024 * 1024 + 4321)

    async def seed() -> None:
        async with signed_in(site) as files:
            await files.upload(f"{folder}/big.bin", data)

    asyncio.run(seed())
    # stored by another client: the mount sees it once its listing (2 s) is asked again
    deadline = time.monotonic() + 15
    while not (point / "big.bin").exists() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert (point / "big.bin").read_bytes() == data
    with open(point / "big.bin", "rb", buffering=0) as f:
        f.seek(-5000, os.SEEK_END)
        assert f.read() == data[-5000:]
        f.seek(0)
        assert f.read(1000) == data[:1000]
        pieces = random.Random(3).sample(range(0, len(data), 997 * 1024), 20)
        for offset in pieces:
            f.seek(offset)
            assert f.read(65536) == data[offset : offset + 65536], offset


def test_a_folder_of_many_entries_is_listed_whole_with_sizes(mount):
    """150 entries: the kernel reads the folder in several pieces (each holds a
    few dozen), every entry with its attributes; files stored meanwhile by someone else
    appear at the next listing."""
    site, folder, point = mount

    async def seed(names) -> None:
        async with signed_in(site) as files:
            gate = asyncio.Semaphore(16)

            async def put(name: str) -> None:
                async with gate:
                    await files.upload(f"{folder}/many/{name}", name.encode())

            await asyncio.gather(*(put(name) for name in names))

    os.mkdir(point / "many")
    names = [f"entry-{i:03d}-ü.txt" for i in range(150)]
    asyncio.run(seed(names))
    time.sleep(2.5)  # the mount's listing of the new folder (2 s) expires
    listed = {e.name: e.stat().st_size for e in os.scandir(point / "many")}
    assert listed == {name: len(name.encode()) for name in names}
    asyncio.run(seed(["late.txt"]))
    time.sleep(2.5)
    assert "late.txt" in os.listdir(point / "many")


def test_odd_names(mount):
    site, folder, point = mount
    name = "Messdaten März \u2013 温度 (v2).csv"
    (point / name).write_text("ok\n")
    assert name in os.listdir(point)
    assert in_storage(site, f"{folder}/{name}") == b"ok\n"
    with pytest.raises(OSError) as err:
        open(os.path.join(os.fsencode(point), b"latin1-\xe9.txt"), "wb").close()
    assert err.value.errno == errno.EINVAL  # CS3 names are Unicode
    with pytest.raises(FileNotFoundError):
        open(point / "no-such-folder" / "x.txt", "rb")
    with pytest.raises(IsADirectoryError):
        open(point, "rb")
