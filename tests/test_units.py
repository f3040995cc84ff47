"""Pure logic, no server: path rules, status mapping, token renewal, chunk staging."""

from __future__ import annotations

import asyncio
import errno
import os
import time

import jwt
import pytest
from cs3.rpc.v1beta1 import code_pb2
from tornado.web import HTTPError

from cs3lab.contents_manager.paths import clean_api_path, is_hidden_path, to_api, to_cs3
from cs3lab.contents_manager.uploads import ChunkStager, check_chunk
from cs3lab.cs3 import errors
from cs3lab.cs3.auth import SecretSource, Token, TokenKeeper, token_expiry
from cs3lab.fs.spool import spool_chunks


@pytest.mark.parametrize(
    ("given", "expected"),
    [("", ""), ("/", ""), ("a/b", "a/b"), ("/a//b/", "a/b"), ("ü n/i.txt", "ü n/i.txt")],
)
def test_clean_api_path(given, expected):
    assert clean_api_path(given) == expected


@pytest.mark.parametrize("bad", ["..", "a/..", "../a", "a/./b", "a\\..\\b", "a\x00b", "a\nb"])
def test_clean_api_path_refuses(bad):
    with pytest.raises(HTTPError) as info:
        clean_api_path(bad)
    assert info.value.status_code == 400


def test_cs3_and_api_paths_are_inverse():
    home = "/home/alice"
    for api_path in ["", "x", "a/b c/ü.ipynb"]:
        assert to_api(home, to_cs3(home, api_path)) == api_path
    with pytest.raises(HTTPError):
        to_api(home, "/home/bob/x")


def test_hidden_paths():
    assert is_hidden_path(".x") and is_hidden_path("a/.b/c")
    assert not is_hidden_path("a/b.c")


@pytest.mark.parametrize(
    ("code", "cls", "status"),
    [
        (code_pb2.CODE_NOT_FOUND, errors.NotFound, 404),
        (code_pb2.CODE_PERMISSION_DENIED, errors.PermissionDenied, 403),
        (code_pb2.CODE_ALREADY_EXISTS, errors.AlreadyExists, 409),
        (code_pb2.CODE_ABORTED, errors.Conflict, 409),
        (code_pb2.CODE_FAILED_PRECONDITION, errors.Conflict, 409),
        (code_pb2.CODE_LOCKED, errors.Locked, 423),
        (code_pb2.CODE_UNAUTHENTICATED, errors.Unauthenticated, 401),
        (code_pb2.CODE_UNAVAILABLE, errors.Unavailable, 503),
        (code_pb2.CODE_INVALID_ARGUMENT, errors.InvalidArgument, 400),
        (code_pb2.CODE_INTERNAL, errors.ServerError, 502),
    ],
)
def test_status_codes_map_to_one_exception_and_http_status(code, cls, status):
    err = errors.error_for_status(code, "server text", "/home/alice/x")
    assert type(err) is cls
    assert err.http_status == status
    assert "/home/alice/x" in err.message
    assert err.detail == "server text"


def test_internal_not_supported_is_not_supported():
    err = errors.error_for_status(code_pb2.CODE_INTERNAL, "error: not supported", "lock")
    assert isinstance(err, errors.NotSupported)


def test_internal_mismatching_lock_is_locked():
    message = "error getting upload id: error: aborted: mismatching lock"
    err = errors.error_for_status(code_pb2.CODE_INTERNAL, message, "/home/alice/x")
    assert isinstance(err, errors.Locked) and err.http_status == 423
    other = errors.error_for_status(code_pb2.CODE_INTERNAL, "disk on fire", "/home/alice/x")
    assert type(other) is errors.ServerError


def test_a_path_gone_is_seen_in_an_internal_error_too():
    def internal(text: str) -> errors.CS3Error:
        return errors.error_for_status(code_pb2.CODE_INTERNAL, text, "/home/alice/x")

    assert errors.says_not_found(errors.error_for_status(code_pb2.CODE_NOT_FOUND, "", "x"))
    assert errors.says_not_found(internal("stat /srv/alice/x: no such file or directory"))
    assert errors.says_not_found(internal("error: not found: /home/alice/x"))
    assert not errors.says_not_found(internal("disk on fire"))
    denied = errors.error_for_status(code_pb2.CODE_PERMISSION_DENIED, "not found", "x")
    assert not errors.says_not_found(denied)  # only an internal error is read this way


def _jwt(exp: float) -> str:
    return jwt.encode({"exp": int(exp)}, "k", algorithm="HS256")


def test_token_expiry_reads_exp_without_verifying():
    assert token_expiry(_jwt(2_000_000_000)) == 2_000_000_000
    assert token_expiry("not a jwt") is None


def test_token_renewal_margin():
    now = 1_000_000.0
    assert not Token("t", now + 3600, now).needs_renewal(now)
    assert Token("t", now + 30, now - 3570).needs_renewal(now)
    assert not Token("t", None, now).needs_renewal(now)


def test_keeper_renews_near_expiry_and_once_for_concurrent_callers(monkeypatch):
    monkeypatch.setenv("CS3LAB_UNIT_SECRET", "pw")
    calls = []

    async def exchange(kind, user, secret):
        calls.append((kind, user, secret))
        await asyncio.sleep(0.01)
        lifetime = 3600 if len(calls) > 1 else -1  # the first token is already expired
        return _jwt(time.time() + lifetime)

    keeper = TokenKeeper("basic", "alice", SecretSource(env="CS3LAB_UNIT_SECRET"), exchange)

    async def scenario():
        first = await keeper.token()
        tokens = await asyncio.gather(*(keeper.token() for _ in range(5)))
        return first, tokens

    first, tokens = asyncio.run(scenario())
    assert calls == [("basic", "alice", "pw")] * 2
    assert len(set(tokens)) == 1 and tokens[0] != first


def test_keeper_refuses_missing_secret_with_a_clear_message():
    keeper = TokenKeeper("basic", "alice", SecretSource(env="CS3LAB_UNSET_VARIABLE"), None)
    with pytest.raises(errors.Unauthenticated) as info:
        asyncio.run(keeper.token())
    assert "CS3LAB_UNSET_VARIABLE" in info.value.message


def test_unknown_auth_mode_is_refused():
    with pytest.raises(errors.InvalidArgument):
        TokenKeeper("kerberos", "alice", SecretSource(env="X"), None)


async def staged(stager: ChunkStager, path: str, chunk: int, data: bytes) -> bytes | None:
    """What ``stager.add`` returns, the content of a returned spool read out (and closed)."""
    whole = await stager.add(path, chunk, data)
    if whole is None or isinstance(whole, bytes):
        return whole
    with whole:
        return b"".join([bytes(c) async for c in spool_chunks(whole, 3)])


def test_chunk_stager_assembles_in_order_and_refuses_gaps():
    async def scenario():
        stager = ChunkStager(max_bytes=100, max_total_bytes=1000)
        assert await staged(stager, "f", 1, b"ab") is None
        assert await staged(stager, "f", 2, b"cd") is None
        assert await staged(stager, "f", -1, b"e") == b"abcde"
        assert await staged(stager, "g", -1, b"whole") == b"whole"
        await stager.add("h", 1, b"x")
        with pytest.raises(HTTPError):
            await stager.add("h", 3, b"z")
        with pytest.raises(HTTPError) as info:
            await stager.add("big", 1, b"x" * 101)
        assert info.value.status_code == 413
        assert stager.staged_total() == 0  # what was refused is not kept

    asyncio.run(scenario())


@pytest.mark.parametrize("chunk", ["x", "1", 1.5, 1.0, True, False, 0, -2, [1], {"n": 1}])
def test_a_chunk_that_is_not_a_chunk_number_is_400(chunk):
    with pytest.raises(HTTPError) as info:
        check_chunk(chunk)
    assert info.value.status_code == 400 and "chunk" in info.value.log_message


def test_chunk_numbers_pass():
    assert [check_chunk(c) for c in (None, 1, 2, 70, -1)] == [None, 1, 2, 70, -1]


def test_chunked_uploads_are_bounded_together_and_a_refused_one_is_dropped():
    async def scenario():
        stager = ChunkStager(max_bytes=100, max_total_bytes=150)
        await stager.add("a", 1, b"a" * 80)
        with pytest.raises(HTTPError) as info:
            await stager.add("b", 1, b"b" * 80)  # 160 together: past 150
        assert info.value.status_code == 413
        assert "150 bytes together" in info.value.log_message
        assert stager.staged_total() == 80  # only a's
        for later in (2, -1):  # b's upload was dropped: it starts again or not at all
            with pytest.raises(HTTPError) as info:
                await stager.add("b", later, b"b")
            assert info.value.status_code == 400
            assert "was stopped" in info.value.log_message
        assert await staged(stager, "a", -1, b"a" * 20) == b"a" * 100
        assert await staged(stager, "b", 1, b"b" * 80) is None  # room again

    asyncio.run(scenario())


def test_the_last_chunk_hands_over_the_staged_bytes_without_a_copy():
    """A 32 MiB upload in 1 MiB chunks: the last chunk and the upload's reading of the
    staged bytes allocate no copy of the whole (tracemalloc sees the heap; the spool's pages
    are memory maps, counted by its budget)."""
    import tracemalloc

    from cs3lab.fs.spool import MIB, MemoryBudget

    async def scenario():
        budget = MemoryBudget(64 * MIB)
        stager = ChunkStager(max_bytes=64 * MIB, max_total_bytes=64 * MIB, budget=budget)
        chunk = os.urandom(MIB)
        for number in range(1, 32):
            await stager.add("big.bin", number, chunk)
        tracemalloc.start()
        try:
            whole = await stager.add("big.bin", -1, chunk)
            sent = 0
            async for part in spool_chunks(whole, 4 * MIB):  # as the upload reads it
                sent += len(part)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert sent == 32 * MIB
        assert peak < 2 * MIB, f"{peak} bytes allocated for the last chunk"
        assert budget.peak <= 32 * MIB + MIB  # the staged bytes held once
        whole.close()
        assert budget.used == 0

    asyncio.run(scenario())


# -- spools (cs3lab.fs.spool) ------------------------------------------------------------------


def test_a_spool_stays_in_memory_within_its_budget_and_moves_to_disk_past_it():
    from cs3lab.fs.spool import PAGE_BYTES, MemoryBudget, Spool

    budget = MemoryBudget(2 * PAGE_BYTES)
    first, second = Spool(budget), Spool(budget)
    first.write(b"abcdef")
    assert first.in_memory and budget.used == PAGE_BYTES  # taken a page at a time
    second.write(b"1234")
    assert second.in_memory and budget.used == 2 * PAGE_BYTES
    second.pwrite(b"5", PAGE_BYTES)  # a second page is past the budget of both: to disk
    assert not second.in_memory and budget.used == PAGE_BYTES
    assert second.size == PAGE_BYTES + 1
    assert second.pread(5, 0) == b"1234\0" and second.pread(9, PAGE_BYTES - 1) == b"\x005"
    first.close()
    assert budget.used == 0
    assert b"".join(second.chunks(PAGE_BYTES // 3)) == b"1234" + bytes(PAGE_BYTES - 4) + b"5"
    second.close()


@pytest.mark.parametrize("limit", [8, 0], ids=["in memory", "on disk"])
def test_a_spool_reads_writes_and_truncates_by_offset_like_a_file(limit):
    from cs3lab.fs.spool import PAGE_BYTES, MemoryBudget, Spool

    budget = MemoryBudget(limit * PAGE_BYTES)
    with Spool(budget) as spool:
        assert spool.pwrite(b"xyz", 5) == 3  # a gap before it reads as zeros
        assert spool.in_memory == (limit > 0)
        assert spool.pread(10, 0) == b"\0" * 5 + b"xyz" and spool.size == 8
        spool.pwrite(b"AB", 1)
        spool.truncate(4)
        assert spool.pread(10, 0) == b"\0AB\0" and spool.size == 4
        spool.truncate(6)  # what was cut off does not come back
        assert spool.pread(10, 0) == b"\0AB\0\0\0"
        spool.write(b"!")
        assert list(spool.chunks(3)) == [b"\0AB", b"\0\0\0", b"!"]
        # across pages, and a write from a memoryview of another shape
        block = bytes(range(256)) * (PAGE_BYTES // 128)  # two pages
        spool.pwrite(memoryview(block).cast("H"), PAGE_BYTES // 2)
        assert spool.pread(len(block), PAGE_BYTES // 2) == block
        assert spool.size == PAGE_BYTES // 2 + len(block)
        spool.truncate(PAGE_BYTES + 1)
        assert spool.pread(4, PAGE_BYTES - 1) == block[PAGE_BYTES // 2 - 1 : PAGE_BYTES // 2 + 1]
        assert budget.used == (2 * PAGE_BYTES if limit else 0)
    assert budget.used == 0


def test_a_spool_grows_from_small_pages_to_large_ones_and_keeps_every_byte():
    from cs3lab.fs.spool import (
        LARGE_PAGE_BYTES,
        PAGE_BYTES,
        SMALL_PAGES,
        MemoryBudget,
        Spool,
        page_of,
        pages_for,
    )

    small = SMALL_PAGES * PAGE_BYTES
    assert page_of(small - 1) == (SMALL_PAGES - 1, PAGE_BYTES - 1)
    assert page_of(small + LARGE_PAGE_BYTES + 5) == (SMALL_PAGES + 1, 5)
    assert [pages_for(n) for n in (0, 1, small, small + 1)] == [0, 1, SMALL_PAGES, SMALL_PAGES + 1]
    budget = MemoryBudget(small + 2 * LARGE_PAGE_BYTES)
    with Spool(budget) as spool:
        block = os.urandom(3 * PAGE_BYTES)
        spool.pwrite(block, small - PAGE_BYTES)  # across the last small page and a large one
        assert spool.in_memory and budget.used == small + LARGE_PAGE_BYTES
        assert spool.pread(len(block), small - PAGE_BYTES) == block
        assert spool.pread(4, small + LARGE_PAGE_BYTES) == b""  # past the end
        spool.truncate(small + 10)  # into the large page: the rest of it is zeroed
        spool.truncate(small + PAGE_BYTES)
        expected = block[PAGE_BYTES : PAGE_BYTES + 10] + bytes(PAGE_BYTES - 10)
        assert spool.pread(PAGE_BYTES, small) == expected
        spool.truncate(small)  # the large page goes back to the budget
        assert budget.used == small
        spool.pwrite(b"z", small + 2 * LARGE_PAGE_BYTES)  # past the budget: on disk
        assert not spool.in_memory and budget.used == 0
        assert spool.pread(PAGE_BYTES, small - PAGE_BYTES) == block[:PAGE_BYTES]
        assert spool.pread(2, small + 2 * LARGE_PAGE_BYTES - 1) == b"\0z"
    assert budget.used == 0


def test_the_spool_budget_comes_from_the_environment(monkeypatch):
    from cs3lab.fs.spool import DEFAULT_MEMORY_MB, MEMORY_ENV, MIB, MemoryBudget

    monkeypatch.setenv(MEMORY_ENV, "0.5")
    assert MemoryBudget.from_environment().limit == MIB // 2
    monkeypatch.setenv(MEMORY_ENV, "a lot")
    assert MemoryBudget.from_environment().limit == DEFAULT_MEMORY_MB * MIB
    monkeypatch.setenv(MEMORY_ENV, "0")
    assert MemoryBudget.from_environment().limit == 0


def test_mount_inodes_follow_lookups_forgets_and_renames():
    pytest.importorskip("pyfuse3")
    import pyfuse3

    from cs3lab.fs.operations import Inodes

    inodes = Inodes("home")
    root = pyfuse3.ROOT_INODE
    assert inodes.path(root) == "home"
    folder = inodes.looked_up(inodes.number("home/runs"))
    inner = inodes.looked_up(inodes.number("home/runs/a.csv"))
    assert inodes.number("home/runs") == folder  # one number per path
    other = inodes.looked_up(inodes.number("home/done"))
    # a folder renamed over another: what is below it moves, the replaced one is stale
    inodes.moved("home/runs", "home/done")
    assert inodes.path(folder) == "home/done"
    assert inodes.path(inner) == "home/done/a.csv"
    assert inodes.number("home/done/a.csv") == inner
    with pytest.raises(pyfuse3.FUSEError) as stale:
        inodes.path(other)
    assert stale.value.errno == errno.ESTALE
    # a number lives until the kernel forgets it as often as it looked it up
    inodes.looked_up(inner)
    inodes.forget(inner, 1)
    assert inodes.path(inner) == "home/done/a.csv"
    inodes.forget(inner, 1)
    with pytest.raises(pyfuse3.FUSEError):
        inodes.path(inner)
    assert inodes.number("home/done/a.csv") != inner  # a later lookup gets a new number
    inodes.forget(root, 5)
    assert inodes.path(root) == "home"  # the root is never forgotten
    # a number the kernel never took (a listing's entry past its buffer) is given back
    assert not inodes.known("home/done/b.csv")
    unsent = inodes.number("home/done/b.csv")
    assert inodes.known("home/done/b.csv")
    inodes.forget(unsent, 0)
    assert not inodes.known("home/done/b.csv")
    with pytest.raises(pyfuse3.FUSEError):
        inodes.path(unsent)
