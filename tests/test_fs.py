"""``cs3://`` (cs3lab.fs.CS3FileSystem) against a real revad: what fsspec's abstract suite
(tests/test_fs_abstract.py) does not cover: errors as built-in exceptions, locks, versions,
pandas, asynchronous use, the credentials cs3lab hands to kernels, and a 100 MB file
streamed with bounded memory."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import posixpath
import tracemalloc
import uuid

import fsspec
import pandas as pd
import pytest
import site_runner
import xarray as xr
from lockers import locker, signed_in, token_file, version_count
from site_runner import sync_mkdir, sync_upload

from cs3lab.fs import CS3FileSystem

pytestmark = pytest.mark.sites("site-a", "site-n")
MIB = 1024 * 1024


def cs3fs(site, home: str, user: str = "alice", **kwargs) -> CS3FileSystem:
    options = site_runner.cs3_connection(site, user, home) | kwargs
    return CS3FileSystem(skip_instance_cache=True, **options)


@pytest.fixture
def fs(site, home):
    filesystem = cs3fs(site, home)
    yield filesystem
    filesystem.close()


def test_write_list_stat_read_and_ranges(fs, home):
    fs.pipe("notes/a.txt", b"0123456789")
    with fs.open("notes/b.txt", "w") as out:  # text mode, through fsspec's TextIOWrapper
        out.write("hé\n")
    assert fs.ls("notes", detail=False) == ["notes/a.txt", "notes/b.txt"]
    info = fs.info("notes/a.txt")
    assert (info["name"], info["type"], info["size"]) == ("notes/a.txt", "file", 10)
    assert info["etag"] and info["mtime"] > 0
    assert fs.info("notes")["type"] == "directory"
    assert fs.cat("notes/a.txt") == b"0123456789"
    assert fs.cat_file("notes/a.txt", start=3, end=6) == b"345"
    assert fs.cat_file("notes/a.txt", start=-2) == b"89"
    assert fs.read_text("notes/b.txt") == "hé\n"
    with fs.open("notes/a.txt", "rb", block_size=4) as f:
        f.seek(5)
        assert f.read(3) == b"567"
        f.seek(1)
        assert f.read() == b"123456789"
    # Absolute CS3 paths reach the same files; listings answer in the form asked.
    assert fs.cat(f"{home}/notes/a.txt") == b"0123456789"
    assert f"{home}/notes/a.txt" in fs.ls(f"{home}/notes", detail=False)
    with fsspec.open("cs3://notes/a.txt", "rb", **fs.storage_options) as f:
        assert f.read() == b"0123456789"


def test_a_download_comes_in_pieces_of_up_to_a_mebibyte(fs):
    """tornado reads a body 64 KiB at a time; cs3lab's data client up to CHUNK_BYTES (each
    piece costs Python time whatever its size)."""
    from cs3lab.cs3.transfer import CHUNK_BYTES

    data = os.urandom(8 * MIB)
    fs.pipe("pieces.bin", data)
    sizes: list[int] = []
    pieces: list[bytes] = []

    async def receive(chunk: bytes) -> None:
        if not sizes:
            await asyncio.sleep(0.2)  # the socket's buffer fills meanwhile
        sizes.append(len(chunk))
        pieces.append(chunk)

    async def download() -> int:
        files = await fs._cs3()
        started = await files.initiate_download(fs.cs3_path("pieces.bin"))
        return await files.download_stream(started, receive, "pieces.bin")

    assert call_on_loop(fs, download) == 200
    assert b"".join(pieces) == data
    assert 64 * 1024 < max(sizes) <= CHUNK_BYTES, sizes


def test_move_copy_append_remove(fs):
    fs.pipe("a.txt", b"one")
    fs.mv("a.txt", "b.txt")
    assert not fs.exists("a.txt") and fs.cat("b.txt") == b"one"
    fs.mkdir("folder")
    fs.mv("b.txt", "folder")  # into an existing folder, as mv does
    assert fs.cat("folder/b.txt") == b"one"
    fs.cp("folder/b.txt", "copy.txt")
    with fs.open("copy.txt", "ab") as f:
        f.write(b" two")
    assert fs.cat("copy.txt") == b"one two" and fs.cat("folder/b.txt") == b"one"
    fs.rm("folder", recursive=True)
    assert fs.ls("", detail=False) == ["copy.txt"]


def test_errors_are_the_builtin_exceptions(fs, site):
    fs.pipe("here.txt", b"x")
    fs.mkdir("dir")
    fs.pipe("dir/inside.txt", b"y")
    with pytest.raises(FileNotFoundError):
        fs.cat("missing.txt")
    with pytest.raises(FileNotFoundError):
        fs.open("missing.txt", "rb")
    with pytest.raises(FileNotFoundError):
        fs.ls("no-such-folder")
    with pytest.raises(FileNotFoundError):
        fs.rm("missing.txt")
    with pytest.raises(FileExistsError):
        fs.mkdir("dir")
    with pytest.raises(FileExistsError):
        fs.open("here.txt", "xb")
    with pytest.raises(IsADirectoryError):
        fs.open("dir", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open("dir", "wb")
    with pytest.raises(IsADirectoryError):
        fs.rm("dir")
    with pytest.raises(OSError) as info:
        fs.rmdir("dir")
    assert info.value.errno == errno.ENOTEMPTY
    with pytest.raises(ValueError):
        fs.cat("bad\x00name")
    assert fs.cat("here.txt") == b"x" and fs.cat("dir/inside.txt") == b"y"  # nothing changed

    wrong = cs3fs(site, fs.home, secret_file=str(site.secret_file("bob")))
    with pytest.raises(PermissionError):
        wrong.ls("")
    unreachable = cs3fs(site, fs.home, gateway="127.0.0.1:9", timeout=5.0)
    with pytest.raises(ConnectionError):
        unreachable.ls("")


def _places(path, shown=True, **mounts) -> None:
    """Write a server's places file (cs3lab.fs.places): one place, "Shared with me"."""
    entries = [
        {"name": name, "cs3_path": target, "is_dir": is_dir, "writable": writable, "kind": "share"}
        for name, (target, is_dir, writable) in mounts.items()
    ]
    snapshot = {
        "shown": shown,
        "places": [{"name": "Shared with me", "description": "shares", "mounts": entries}],
    }
    path.write_text(json.dumps(snapshot))


def test_the_file_browsers_places_are_folders_of_cs3_urls(site, home, tmp_path):
    # The places file names real CS3 folders outside the filesystem's home (as the server
    # writes it for its kernels); cs3lab, not the storage, keeps "ro" read-only.
    outside = f"{home}/elsewhere"
    sync_mkdir(site, "alice", outside)
    for folder in ("team", "ro"):
        sync_mkdir(site, "alice", f"{outside}/{folder}")
    sync_upload(site, "alice", f"{outside}/ro/data.csv", b"a,b\n1,2\n")
    sync_upload(site, "alice", f"{outside}/notes.txt", b"shared file")
    sync_mkdir(site, "alice", f"{home}/me")
    places = tmp_path / "places.json"
    _places(
        places,
        team=(f"{outside}/team", True, True),
        ro=(f"{outside}/ro", True, False),
        **{"notes.txt": (f"{outside}/notes.txt", False, True)},
    )
    fs = cs3fs(site, f"{home}/me", places_file=str(places))
    try:
        fs.pipe("mine.txt", b"home")
        assert fs.ls("", detail=False) == ["Shared with me", "mine.txt"]
        place = fs.info("Shared with me")
        assert place["type"] == "directory" and place["writable"] is False
        assert sorted(fs.ls("Shared with me", detail=False)) == [
            "Shared with me/notes.txt",
            "Shared with me/ro",
            "Shared with me/team",
        ]
        assert fs.info("Shared with me/notes.txt")["size"] == len(b"shared file")
        assert fs.cat("Shared with me/notes.txt") == b"shared file"
        assert pd.read_csv(fs.open("Shared with me/ro/data.csv")).b.tolist() == [2]

        fs.pipe("Shared with me/team/result.txt", b"written")  # an editor's share: writable
        sync_stored = fs.cat(f"{outside}/team/result.txt")
        assert sync_stored == b"written"
        fs.pipe("Shared with me/notes.txt", b"new version")  # a shared file itself
        assert fs.cat(f"{outside}/notes.txt") == b"new version"

        refused = [
            lambda: fs.pipe("Shared with me/ro/new.txt", b"x"),
            lambda: fs.rm("Shared with me/ro/data.csv"),
            lambda: fs.mkdir("Shared with me/ro/sub"),
            lambda: fs.mv("Shared with me/team/result.txt", "Shared with me/ro/result.txt"),
            lambda: fs.mkdir("Shared with me/new"),
            lambda: fs.pipe("Shared with me/new.txt", b"x"),
            lambda: fs.rm("Shared with me/team", recursive=True),
            lambda: fs.rm("Shared with me/notes.txt"),
            lambda: fs.mv("Shared with me/team", "team"),
            lambda: fs.mv("mine.txt", "Shared with me/mine.txt"),
            lambda: fs.rm("Shared with me", recursive=True),
        ]
        for attempt in refused:
            with pytest.raises(PermissionError) as info:
                attempt()
            assert "read-only" in str(info.value) or "Shared with me" in str(info.value)
        with pytest.raises(FileNotFoundError):
            fs.cat("Shared with me/nothing/x.txt")
        # Nothing changed by the refused attempts.
        assert sorted(fs.ls(f"{outside}/ro", detail=False)) == [f"{outside}/ro/data.csv"]
        assert fs.cat(f"{outside}/team/result.txt") == b"written"
        assert fs.cat("mine.txt") == b"home"

        # The server lists the place again: the file is read again, and the new mount is
        # reachable in the same filesystem.
        sync_mkdir(site, "alice", f"{outside}/later")
        _places(places, shown=False, later=(f"{outside}/later", True, True))
        fs.invalidate_cache()
        fs.pipe("Shared with me/later/x.txt", b"later")
        assert fs.cat(f"{outside}/later/x.txt") == b"later"
        assert fs.ls("", detail=False) == ["mine.txt"]  # not shown in the root: by path only
        with pytest.raises(FileNotFoundError):
            fs.cat("Shared with me/team/result.txt")  # gone from the place
    finally:
        fs.close()


def test_unicode_and_spaces_in_names(fs):
    name = "données météo/été 2026 ✓.csv"
    fs.pipe(name, b"a,b\n1,2\n")
    assert fs.ls("données météo", detail=False) == [name]
    assert fs.cat(name) == b"a,b\n1,2\n"


def test_a_write_is_stored_whole_at_close(fs):
    fs.pipe("keep.bin", b"old")
    block = os.urandom(MIB)
    with fs.open("keep.bin", "wb") as f:
        for _ in range(10):
            f.write(block)
        assert fs.cat("keep.bin") == b"old"  # nothing half-written is visible before close
    assert fs.cat("keep.bin") == block * 10


def break_uploads(monkeypatch) -> None:
    """From now on, every cs3:// upload from a spool breaks off after its first chunk (4 MiB
    of the file) (``monkeypatch.undo()`` ends it)."""
    from cs3lab.fs import streams

    real_chunks = streams.file_chunks

    async def broken(source):
        async for chunk in real_chunks(source):
            yield chunk
            raise OSError(errno.EIO, "the spool broke")

    monkeypatch.setattr(streams, "file_chunks", broken)


def test_an_upload_broken_off_leaves_the_stored_file_as_it_was(fs, monkeypatch):
    block = os.urandom(MIB)
    fs.pipe("keep.bin", block * 10)
    break_uploads(monkeypatch)
    f = fs.open("keep.bin", "wb")
    for _ in range(10):
        f.write(b"n" * MIB)
    with pytest.raises(OSError):
        f.close()
    monkeypatch.undo()
    fs.invalidate_cache()
    # Reva v3's local driver (site A) stores the 4 MiB that arrived as the file, site N
    # sometimes: the upload put the stored file back.
    assert fs.cat("keep.bin") == block * 10


def test_a_new_file_whose_upload_broke_off_is_not_left_behind(fs, monkeypatch):
    break_uploads(monkeypatch)
    f = fs.open("new.bin", "wb")
    f.write(os.urandom(10 * MIB))
    with pytest.raises(OSError):
        f.close()
    monkeypatch.undo()
    fs.invalidate_cache()
    assert not fs.exists("new.bin")


def call_on_loop(fs, coroutine, *args):
    from fsspec.asyn import sync

    return sync(fs.loop, coroutine, *args)


def mount_operations(fs):
    """The mount's operations over ``fs`` and a caller of them (on ``fs``'s loop, as the
    mount process runs them on its own), as the kernel makes them: by inode."""
    from cs3lab.fs.operations import CS3Operations

    ops = CS3Operations(fs)

    def call(operation, *args):
        return call_on_loop(fs, getattr(ops, operation), *args)

    def inode(path):
        parent = 1  # pyfuse3.ROOT_INODE
        for name in path.split("/"):
            parent = call("lookup", parent, name.encode(), None).st_ino
        return parent

    return ops, call, inode


def test_the_mounts_reads_in_any_order_get_the_files_bytes(fs):
    """The kernel asks for pieces, several at a time and not always in order; a sequential
    reader gets the next block fetched ahead. Either way every piece is the file's bytes."""
    import random

    from cs3lab.fs.operations import READ_BLOCK

    data = os.urandom(3 * READ_BLOCK + 12345)
    fs.pipe("pieces.bin", data)
    ops, call, inode = mount_operations(fs)
    number = inode("pieces.bin")
    piece = 128 * 1024
    offsets = list(range(0, len(data), piece))
    for order in (offsets, random.Random(7).sample(offsets, len(offsets))):
        fh = call("open", number, os.O_RDONLY, None).fh
        try:
            got = {offset: call("read", fh, offset, piece) for offset in order}
        finally:
            call("release", fh)
        assert b"".join(got[offset] for offset in offsets) == data

    async def concurrently(fh):  # as the kernel's read-ahead does: several requests at once
        return await asyncio.gather(*(ops.read(fh, offset, piece) for offset in offsets))

    fh = call("open", number, os.O_RDONLY, None).fh
    try:
        assert b"".join(call_on_loop(fs, concurrently, fh)) == data
    finally:
        call("release", fh)


def counted_stats(fs, monkeypatch) -> list[str]:
    """The paths (below the file system's root) of the Stat calls ``fs`` makes from now on."""
    stats: list[str] = []
    files = fs._files
    real_stat = files._stat
    root = fs.cs3_path("") + "/"

    async def counted(path, keys):
        stats.append(path.removeprefix(root))
        return await real_stat(path, keys)

    monkeypatch.setattr(files, "_stat", counted)
    return stats


def test_the_mount_stats_a_listed_folder_without_a_cs3_call_per_entry(fs, monkeypatch):
    """``ls -l`` in the mount: one listing, then every entry's lookup from it."""
    for i in range(30):
        fs.pipe(f"many/f{i:02d}.txt", b"x" * i)
    ops, call, inode = mount_operations(fs)
    folder = inode("many")
    fh = call("opendir", folder, None)
    assert sorted(name for name, *_ in ops.folders[fh]) == [f"f{i:02d}.txt" for i in range(30)]
    call("releasedir", fh)
    stats = counted_stats(fs, monkeypatch)
    sizes = [call("lookup", folder, f"f{i:02d}.txt".encode(), None).st_size for i in range(30)]
    assert sizes == list(range(30))
    assert stats == []
    # An own write drops the file and its folder's listing: the next lookup asks the storage.
    fs.pipe("many/f03.txt", b"longer")
    stats.clear()
    assert call("lookup", folder, b"f03.txt", None).st_size == 6
    assert stats == ["many/f03.txt"]
    with pytest.raises(Exception) as err:
        call("lookup", folder, b"missing.txt", None)
    assert getattr(err.value, "errno", None) == errno.ENOENT
    with pytest.raises(Exception) as err:
        call("lookup", folder, b"\xff-not-utf8", None)
    assert getattr(err.value, "errno", None) == errno.EINVAL


def test_the_mounts_open_for_writing_uses_the_stat_of_the_lookup_just_before(fs, monkeypatch):
    """open(path, "w") of a stored file: the kernel looks it up, then opens it; one Stat for
    both. A Stat older than the metadata cache's revalidation time is not used again."""
    fs.pipe("report.csv", b"a,b\n")
    _, call, inode = mount_operations(fs)
    stats = counted_stats(fs, monkeypatch)
    number = inode("report.csv")
    fh = call("open", number, os.O_WRONLY | os.O_TRUNC, None).fh
    call("write", fh, 0, b"1,2\n")
    call("flush", fh)
    call("release", fh)
    # the lookup's Stat, then the upload's own (its lock check is fresh)
    assert stats == ["report.csv", "report.csv"]
    assert fs.cat("report.csv") == b"1,2\n"
    cache = fs._files.cache
    number = inode("report.csv")  # (answered from the cat's Stat)
    stats.clear()
    later = cache.clock() + cache.revalidate_seconds + 1
    monkeypatch.setattr(cache, "clock", lambda: later)
    fh = call("open", number, os.O_WRONLY, None).fh  # (no O_TRUNC: nothing to store)
    call("release", fh)
    assert stats == ["report.csv"]  # the lookup's was too old for the open: one of its own


def test_each_write_is_a_new_version(fs, site, home):
    fs.pipe("v.txt", b"first")
    fs.pipe("v.txt", b"second")
    with fs.open("v.txt", "wb") as f:
        f.write(b"third")
    assert fs.cat("v.txt") == b"third"
    assert asyncio.run(version_count(site, f"{home}/v.txt")) == 2  # the two earlier contents


async def test_a_file_locked_by_someone_else_cannot_be_written(site, jp_asyncio_loop):
    folder = f"{site.shared}/fs-lock-{uuid.uuid4().hex[:8]}"
    async with signed_in(site, "bob") as files:
        await files.mkdir(folder)
        await files.upload(f"{folder}/held.csv", b"bob's data\n")
        await files.upload(f"{folder}/free.csv", b"free\n")
    fs = cs3fs(site, folder)
    try:
        async with locker(site, "bob") as bob:
            await bob.acquire(f"{folder}/held.csv", "bob-tab")
            for attempt in (
                lambda: fs.pipe("held.csv", b"alice's"),
                lambda: fs.open("held.csv", "wb"),
                lambda: fs.put(__file__, "held.csv"),
                lambda: fs.rm("held.csv"),
                lambda: fs.mv("held.csv", "renamed.csv"),
                lambda: fs.mv("free.csv", "held.csv"),
            ):
                with pytest.raises(PermissionError) as refused:
                    attempt()
                assert "Bob Berger" in str(refused.value), str(refused.value)
            assert fs.cat("held.csv") == b"bob's data\n"  # nothing was written
            assert fs.cat("free.csv") == b"free\n"
            # Reading a locked file is fine, and so is writing another one.
            fs.pipe("mine.csv", b"alice's\n")
        fs.pipe("held.csv", b"alice's turn\n")  # bob gave the lock back
        assert fs.cat("held.csv") == b"alice's turn\n"
    finally:
        fs.close()


def test_pandas_through_the_kernel_environment(site, home, monkeypatch, tmp_path):
    """A kernel started by cs3lab gets CS3LAB_* variables (a token file, never the secret
    itself): ``cs3://`` then needs no arguments at all."""
    secret = token_file(site, tmp_path / "token")
    for name, value in {
        "CS3LAB_GATEWAY": site.gateway,
        "CS3LAB_USER": "alice",
        "CS3LAB_AUTH_MODE": "token",
        "CS3LAB_SECRET_FILE": str(secret),
        "CS3LAB_HOME": home,
    }.items():
        monkeypatch.setenv(name, value)
    CS3FileSystem.clear_instance_cache()
    try:
        frame = pd.DataFrame({"station": ["north", "ridge"], "temperature_c": [4.1, 1.2]})
        frame.to_csv("cs3://tables/stations.csv", index=False)
        back = pd.read_csv("cs3://tables/stations.csv")
        assert back.equals(frame)
        with fsspec.open("cs3://tables/stations.csv", "rt") as f:
            assert f.readline().strip() == "station,temperature_c"
        # xarray: a netCDF file written and opened again through cs3:// (scipy's engine
        # reads from the file object; its bytes come in ranged reads or a spool).
        dataset = xr.Dataset(
            {"temperature_c": (("station",), frame.temperature_c.to_numpy())},
            coords={"station": frame.station.to_numpy()},
        )
        with fsspec.open("cs3://tables/stations.nc", "wb") as out:
            out.write(dataset.to_netcdf(engine="scipy"))
        with fsspec.open("cs3://tables/stations.nc", "rb") as f:
            with xr.open_dataset(f, engine="scipy") as opened:
                assert opened.temperature_c.sel(station="ridge").item() == 1.2
                assert opened.identical(dataset)
    finally:
        fsspec.filesystem("cs3").close()
        CS3FileSystem.clear_instance_cache()


async def test_asynchronous_use_in_an_asyncio_application(site, home, jp_asyncio_loop):
    fs = cs3fs(site, home, asynchronous=True)
    try:
        await fs._pipe_file("async.txt", b"async bytes")
        assert await fs._cat_file("async.txt", start=6) == b"bytes"
        assert [e["name"] for e in await fs._ls("")] == ["async.txt"]
        with pytest.raises(FileNotFoundError):
            await fs._info("nothing-here")
    finally:
        await fs._close()


@pytest.mark.slow
def test_100_mb_file_streams_with_bounded_memory(fs, tmp_path, monkeypatch):
    from cs3lab.fs import spool

    # Spools stay in memory within the process's budget (256 MiB by default): with 8 MiB,
    # the 100 MB file must go to disk, and memory stay within the budget and a few blocks.
    monkeypatch.setattr(spool.BUDGET, "limit", 8 * MIB)
    monkeypatch.setattr(spool.BUDGET, "peak", 0)
    size = 100 * MIB
    local = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with open(local, "wb") as out:
        for _ in range(size // MIB):
            block = os.urandom(MIB)
            digest.update(block)
            out.write(block)
    expected = digest.hexdigest()

    tracemalloc.start()
    try:
        fs.put(str(local), "big.bin")
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        back = tmp_path / "back.bin"
        fs.get("big.bin", str(back))
        _, get_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        read = hashlib.sha256()
        with fs.open("big.bin", "rb") as f:
            while chunk := f.read(MIB):
                read.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with fs.open("copy.bin", "wb") as out, open(local, "rb") as source:
            while chunk := source.read(MIB):
                out.write(chunk)
        _, write_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fs.info("big.bin")["size"] == size
    assert hashlib.sha256(back.read_bytes()).hexdigest() == expected
    assert read.hexdigest() == expected
    assert fs.info("copy.bin")["size"] == size
    # A 100 MB file never sits in memory: the spool budget and a few blocks (8 MiB) at most.
    for label, peak in [("put", put_peak), ("get", get_peak), ("read", read_peak)]:
        assert peak < 40 * MIB, f"{label}: {peak / MIB:.1f} MiB"
    assert write_peak < 40 * MIB, f"write: {write_peak / MIB:.1f} MiB"
    # spool pages are memory maps, which tracemalloc does not see: the budget counts them
    assert 0 < spool.BUDGET.peak <= 8 * MIB
    assert posixpath.basename(fs.ls("", detail=False)[0]) == "big.bin"
