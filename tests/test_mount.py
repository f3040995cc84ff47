"""The kernels' FUSE mount (pyfuse3) as ordinary programs use it: a real mount process, as a
server starts it (a token file, never the password), over a real revad, driven here with
plain ``os`` and ``open`` calls: folders, renames, truncation, edits in place, appends, files
read back while they are written, odd names, and what the storage holds afterwards. And the
mount on a host that other Unix users share: each user's mount points in a folder of their
own, nothing another user (or another mount) put in the way ever used."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from lockers import signed_in, stored, token_file

from cs3lab.cs3.errors import NotFound
from cs3lab.fs.mount import (
    KernelMount,
    mount_at,
    mounted_by,
    mounted_under,
    parse_mountinfo,
)
from cs3lab.fs.private import NotPrivate, make_private, user_folder

REPO = Path(__file__).resolve().parent.parent
needs_fuse = pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="no /dev/fuse here")


@pytest.fixture(scope="module", params=["site-a", "site-n"])
def mount(request, tmp_path_factory):
    """(site, CS3 folder, local mount point): alice's fresh folder, mounted."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse here")
    site = request.getfixturevalue(request.param.replace("-", "_"))
    folder = f"{site.shared}/mount-{uuid.uuid4().hex[:8]}"
    workdir = tmp_path_factory.mktemp(f"mount-{site.name}")
    token = token_file(site, workdir / "token")

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


def test_another_file_system_at_the_mount_point_is_refused_never_used(mount, tmp_path):
    """A FUSE mount this server did not start (here another server's mount of the same
    user, with its own source name) at the point: the server says so at once and leaves it
    alone; readiness looks at mountinfo's source name, not only at ``os.path.ismount``."""
    site, _, point = mount
    if site.name != "site-a":
        pytest.skip("the same code on both sites")
    theirs = mount_at(point)
    assert theirs is not None and theirs.fstype == "fuse.cs3", theirs
    ours = KernelMount(f"posix-{site.name}", dict(os.environ), tmp_path / "mount.log")
    assert ours.point == point and ours.fsname != theirs.source
    assert os.path.ismount(point) and not mounted_by(point, ours.fsname)
    assert mounted_by(point, theirs.source)
    problem = asyncio.run(ours.start())
    assert problem is not None and "did not start" in problem and str(point) in problem, problem
    assert ours.process is None  # refused before a mount process was started
    asyncio.run(ours.stop())
    assert mount_at(point) == theirs and os.listdir(point) is not None  # theirs, untouched


@needs_fuse
def test_a_mount_process_that_fails_is_said_at_once_with_its_reason(site_a, tmp_path):
    token = tmp_path / "token"
    token.write_text("not-a-reva-token")
    token.chmod(0o600)
    env = dict(
        os.environ,
        CS3LAB_GATEWAY=site_a.gateway,
        CS3LAB_SITE=site_a.name,
        CS3LAB_USER="alice",
        CS3LAB_AUTH_MODE="token",
        CS3LAB_SECRET_FILE=str(token),
        CS3LAB_HOME=site_a.shared,
    )
    kernel_mount = KernelMount("bad-token", env, tmp_path / "mount.log")
    problem = asyncio.run(kernel_mount.start())
    said = (tmp_path / "mount.log").read_text().strip().splitlines()[-1]
    assert "Error" in said, said  # why: the site refused the token
    assert problem == f"the mount process exited with code 1: {said}", problem
    assert "not-a-reva-token" not in problem
    assert not kernel_mount.point.exists()


# -- the folder of mount points on a host other Unix users share ----------------------------


def test_mountinfo_lines_are_read_with_their_escapes():
    text = (
        "36 35 98:0 / /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw\n"
        "41 36 0:52 / /tmp/cs3lab-mounts-0/7-j\u00fcr\\134gen rw,nosuid shared:9 - fuse.cs3 "
        "cs3lab-0123abcd rw,user_id=0\n"
        "garbage line\n"
    )
    entries = parse_mountinfo(text)
    assert [(e.point, e.device, e.fstype, e.source) for e in entries] == [
        ("/mnt/a b", "98:0", "ext3", "/dev/root"),
        ("/tmp/cs3lab-mounts-0/7-j\u00fcr\\gen", "0:52", "fuse.cs3", "cs3lab-0123abcd"),
    ]


def test_the_users_folder_is_the_private_runtime_folder_else_a_private_one_in_tmp(tmp_path):
    uid = os.getuid()
    runtime, shared = tmp_path / "run", tmp_path / "tmp"
    runtime.mkdir(mode=0o700)
    shared.mkdir()
    env = {"XDG_RUNTIME_DIR": str(runtime), "TMPDIR": str(shared)}
    assert user_folder("cs3lab-mounts", env) == runtime / "cs3lab-mounts"
    runtime.chmod(0o755)  # not private: not used
    assert user_folder("cs3lab-mounts", env) == shared / f"cs3lab-mounts-{uid}"
    assert user_folder("cs3lab-mounts", {"TMPDIR": str(shared)}) == shared / f"cs3lab-mounts-{uid}"

    folder = make_private(shared / f"cs3lab-mounts-{uid}")
    assert oct(os.lstat(folder).st_mode & 0o777) == "0o700"
    assert make_private(folder) == folder  # the next server's start
    folder.chmod(0o755)
    with pytest.raises(NotPrivate, match=r"has mode 0755, not 0700"):
        make_private(folder)
    (shared / "elsewhere").mkdir(mode=0o700)
    (shared / "link").symlink_to(shared / "elsewhere")
    with pytest.raises(NotPrivate, match=r"link is a symbolic link"):
        make_private(shared / "link")
    (shared / "file").write_text("")
    with pytest.raises(NotPrivate, match=r"file is not a folder"):
        make_private(shared / "file")


@needs_fuse
def test_a_mount_folder_not_of_this_user_is_refused_at_once(tmp_path, monkeypatch):
    """The mount's folder is in the user's own temporary folder, and one that is not private
    (here left open, mode 0755) is a message at once: no mount process, no wait."""
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    kernel_mount = KernelMount("alice", dict(os.environ), tmp_path / "mount.log")
    assert kernel_mount.point.parent == tmp_path / f"cs3lab-mounts-{os.getuid()}"
    kernel_mount.point.parent.mkdir(mode=0o755)
    kernel_mount.point.parent.chmod(0o755)
    problem = asyncio.run(kernel_mount.start())
    assert problem is not None and "has mode 0755, not 0700" in problem, problem
    assert kernel_mount.process is None and os.listdir(kernel_mount.point.parent) == []


# Two throwaway Unix users of this host (created when absent; root only).
OTHER_USERS = ("cs3lab-t1", "cs3lab-t2")


def _unix_user(name: str) -> tuple[int, int]:
    """(uid, gid) of the Unix user ``name``, created (without a home) when absent."""
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "-M", "-r", "-s", "/usr/sbin/nologin", name],
            check=False,  # another test run may have made it meanwhile
            capture_output=True,
        )
        entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _python_for(uid: int, gid: int) -> str | None:
    """A Python the user ``uid`` can run cs3lab's mount module with (this one may be in
    root's home; the mount module needs only the standard library)."""
    probe = f"import sys; sys.path.insert(0, {str(REPO)!r}); import cs3lab.fs.mount"
    for candidate in (sys.executable, "/usr/bin/python3"):
        try:
            done = subprocess.run(
                [candidate, "-I", "-c", probe],
                user=uid,
                group=gid,
                extra_groups=[],
                cwd="/",
                capture_output=True,
                check=False,
            )
        except OSError:
            continue
        if done.returncode == 0:
            return candidate
    return None


@pytest.fixture(scope="module")
def other_users():
    """[(name, uid, gid, python)] of two Unix users, for the code run as each of them."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("needs root and useradd, to run code as two other Unix users")
    users = []
    for name in OTHER_USERS:
        uid, gid = _unix_user(name)
        python = _python_for(uid, gid)
        if python is None:
            pytest.skip(f"no Python that {name} can run cs3lab's code in {REPO} with")
        users.append((name, uid, gid, python))
    return users


PREPARE = """
import os, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from cs3lab.fs.mount import KernelMount, MountRefused
kernel_mount = KernelMount("me", {}, Path(os.devnull))
try:
    kernel_mount.prepare_point()
except MountRefused as err:
    print(err)
    sys.exit(3)
print(kernel_mount.point)
"""


def _as_user(user, command: list[str], tmp: Path) -> subprocess.CompletedProcess:
    _, uid, gid, python = user
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp), "LANG": "C.UTF-8"}
    return subprocess.run(
        [python, "-I", *command],
        user=uid,
        group=gid,
        extra_groups=[],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        check=False,
    )


def _prepare_as(user, tmp: Path) -> subprocess.CompletedProcess:
    """The mount point's preparation, as the server of ``user`` does it (TMPDIR=tmp)."""
    return _as_user(user, ["-c", PREPARE, str(REPO)], tmp)


@pytest.fixture
def shared_tmp():
    """A temporary folder every user may write, like /tmp (sticky, mode 1777)."""
    folder = Path(tempfile.mkdtemp(prefix="cs3lab-shared-", dir="/tmp"))
    folder.chmod(0o1777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_two_unix_users_on_one_host_each_get_a_private_folder_of_mount_points(
    other_users, shared_tmp
):
    points = []
    for user in other_users:
        done = _prepare_as(user, shared_tmp)
        assert done.returncode == 0, done.stdout + done.stderr
        point = Path(done.stdout.strip())
        folder = os.lstat(point.parent)
        assert point.parent == shared_tmp / f"cs3lab-mounts-{user[1]}"
        assert folder.st_uid == user[1] and oct(folder.st_mode & 0o7777) == "0o700"
        assert os.lstat(point).st_uid == user[1]
        points.append(point)
    assert points[0].parent != points[1].parent


def test_a_folder_or_link_another_user_planted_is_refused_never_used(other_users, shared_tmp):
    victim, planter = other_users
    victims = shared_tmp / f"cs3lab-mounts-{victim[1]}"
    # The other user creates the victim's folder first, open to all.
    done = _as_user(planter, ["-c", f"import os; os.mkdir({str(victims)!r}, 0o777)"], shared_tmp)
    assert done.returncode == 0, done.stderr
    os.chmod(victims, 0o777)  # whatever the planter's umask
    done = _prepare_as(victim, shared_tmp)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"{victims} belongs to another user ({planter[0]}" in done.stdout, done.stdout
    assert os.listdir(victims) == []  # nothing of the victim's went into it

    # The other user plants a link to a folder of theirs instead.
    os.rmdir(victims)
    theirs = shared_tmp / "planted"
    plant = (
        f"import os; os.mkdir({str(theirs)!r}, 0o700); os.symlink(*{[str(theirs), str(victims)]!r})"
    )
    done = _as_user(planter, ["-c", plant], shared_tmp)
    assert done.returncode == 0, done.stderr
    done = _prepare_as(victim, shared_tmp)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"{victims} is a symbolic link" in done.stdout, done.stdout
    assert os.listdir(theirs) == []
