"""Pure logic, no server: path rules, status mapping, token renewal, chunk staging."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import ssl
import subprocess
import time

import jwt
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from cs3.rpc.v1beta1 import code_pb2
from tornado.web import HTTPError

from cs3lab.contents_manager.paths import clean_api_path, is_hidden_path, to_api, to_cs3
from cs3lab.contents_manager.uploads import ChunkStager, check_chunk
from cs3lab.cs3 import errors
from cs3lab.cs3.auth import SecretSource, Token, TokenKeeper, token_expiry
from cs3lab.cs3.transfer import DataTransfer, TransferSecurity, insecure_endpoint_problem
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


# -- data transfers: TLS and where the access token may go -------------------------------


@pytest.mark.parametrize(
    "endpoint, gateway_tls, allowed",
    [
        ("https://data.example.org/data/up-1", True, True),
        ("https://data.example.org/data/up-1", False, True),
        ("http://127.0.0.1:19001/data/up-1", False, True),
        ("http://127.8.9.10/data/up-1", False, True),
        ("http://localhost:19001/data/up-1", False, True),
        ("http://[::1]:19001/data/up-1", False, True),
        ("http://[::ffff:127.0.0.1]/data/up-1", False, True),
        ("http://10.1.2.3:19001/data/up-1", False, False),
        ("http://data.example.org/data/up-1", False, False),
        ("http://localhost.example.org/data/up-1", False, False),
        ("http://[2001:db8::1]/data/up-1", False, False),
        ("http://127.0.0.1:19001/data/up-1", True, False),  # the gateway's channel is TLS
        ("ftp://127.0.0.1/data/up-1", False, False),
    ],
)
def test_the_token_goes_in_clear_only_to_loopback_while_the_gateway_is_not_tls(
    endpoint, gateway_tls, allowed
):
    security = TransferSecurity(gateway_tls=gateway_tls)
    problem = insecure_endpoint_problem(endpoint, security)
    assert (problem is None) == allowed, problem
    if problem is not None and endpoint.startswith("http:"):
        assert "c.CS3Connection.allow_insecure_data_transfers = True" in problem
        assert "/data/up-1" not in problem  # the place, not the URL (it may hold an upload id)
    # The operator's explicit setting allows plain http; never another scheme.
    relaxed = TransferSecurity(gateway_tls=gateway_tls, allow_insecure=True)
    assert (insecure_endpoint_problem(endpoint, relaxed) is None) == (
        not endpoint.startswith("ftp:")
    )


@pytest.mark.parametrize(
    "endpoint", ["http://10.255.255.1/data/up-1", "http://data.invalid/data/up-1"]
)
def test_a_transfer_to_a_remote_http_data_server_is_refused_before_connecting(endpoint):
    transfer = DataTransfer(TransferSecurity())

    async def read() -> None:
        # The refusal comes before any connection: an attempt would end as Unavailable
        # (no route, no such host) after the connect timeout, not as this ServerError.
        await transfer.get(endpoint, transfer_token="t", access_token="secret", what="x.txt")

    try:
        with pytest.raises(errors.ServerError) as info:
            asyncio.run(asyncio.wait_for(read(), 5))
    finally:
        transfer.close()
    assert info.value.http_status == 502
    assert "x.txt" in info.value.message
    assert "allow_insecure_data_transfers" in info.value.message
    assert "secret" not in info.value.message


def test_the_connection_hands_its_tls_settings_to_the_data_transfers(tmp_path, monkeypatch):
    from cs3lab.config import CS3Connection

    monkeypatch.setenv("CS3LAB_ALLOW_INSECURE_DATA_TRANSFERS", "1")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("a CA bundle")
    connection = CS3Connection(
        gateway="cs3.example.org:443", username="alice", tls=True, ca_file=str(ca_file)
    )

    async def security() -> TransferSecurity:
        files = connection.open()
        try:
            return files.transfer.security
        finally:
            files.close()
            await files.client.close()

    assert asyncio.run(security()) == TransferSecurity(True, str(ca_file), True)
    monkeypatch.delenv("CS3LAB_ALLOW_INSECURE_DATA_TRANSFERS")
    assert CS3Connection().allow_insecure_data_transfers is False


def test_kernels_inherit_the_data_transfer_settings(tmp_path, monkeypatch):
    from cs3lab.config import CS3Connection
    from cs3lab.fs.kernels import KernelAccess

    server = CS3Connection(
        gateway="cs3.example.org:443",
        username="alice",
        tls=True,
        ca_file="/etc/cs3/ca.pem",
        allow_insecure_data_transfers=True,
    )
    access = KernelAccess(server, None, None)
    try:
        env = access.env()
    finally:
        shutil.rmtree(access.folder)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    kernel = CS3Connection()  # what cs3:// builds in the kernel
    assert (kernel.tls, kernel.ca_file, kernel.allow_insecure_data_transfers) == (
        True,
        "/etc/cs3/ca.pem",
        True,
    )


def test_a_missing_ca_file_is_a_clear_503_for_the_channel_and_the_transfers(tmp_path):
    from cs3lab.config import CS3Connection

    missing = str(tmp_path / "no-such-ca.pem")
    with pytest.raises(errors.Unavailable) as info:
        CS3Connection(
            gateway="cs3.example.org:443", username="alice", tls=True, ca_file=missing
        ).open()
    assert missing in info.value.message and "CS3Connection.ca_file" in info.value.message
    transfer = DataTransfer(TransferSecurity(True, missing))
    with pytest.raises(errors.Unavailable) as info:
        transfer.request("https://cs3.example.org/data", "GET", "a.txt")
    assert missing in info.value.message and "CS3Connection.ca_file" in info.value.message


@pytest.fixture(scope="module")
def loopback_cert(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (its own CA): (certificate, key) files."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-keyout", str(key), "-out", str(cert), "-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


def test_https_data_requests_are_verified_with_the_ca_file(loopback_cert):
    cert, _ = loopback_cert
    request = DataTransfer(TransferSecurity(True, cert)).request(
        "https://127.0.0.1:1/data", "GET", "x.txt"
    )
    context = request.ssl_options
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "127.0.0.1"),),)]
    assert request.follow_redirects is False


class _Data(tornado.web.RequestHandler):
    """A data server on loopback: GET answers 'stored', PUT records the body; /moved
    redirects to the ``elsewhere`` server."""

    def initialize(self, seen: list) -> None:
        self.seen = seen

    def get(self) -> None:
        self.seen.append((self.request.path, self.request.headers.get("x-access-token")))
        if self.request.path == "/moved":
            self.redirect(self.settings["elsewhere"], status=307)
        else:
            self.write(b"stored")

    def put(self) -> None:
        self.seen.append((self.request.path, self.request.body))


def _serve(seen: list, ssl_options=None, elsewhere: str = "") -> tuple[object, int]:
    app = tornado.web.Application([(r"/.*", _Data, {"seen": seen})], elsewhere=elsewhere)
    sock, *_ = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app, ssl_options=ssl_options)
    server.add_sockets([sock])
    return server, sock.getsockname()[1]


def test_an_https_data_server_is_trusted_with_the_ca_file_and_refused_without(loopback_cert):
    cert, key = loopback_cert

    async def scenario() -> None:
        seen: list = []
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server, port = _serve(seen, context)
        endpoint = f"https://127.0.0.1:{port}/data"
        untrusting, trusting = (
            DataTransfer(TransferSecurity(True)),
            DataTransfer(TransferSecurity(True, cert)),
        )
        try:
            with pytest.raises(errors.Unavailable) as info:
                await untrusting.get(endpoint, transfer_token="", access_token="t", what="a.txt")
            assert "certificate" in info.value.message and "ca_file" in info.value.message
            assert seen == []  # the token was not sent
            got = await trusting.get(endpoint, transfer_token="", access_token="t", what="a.txt")
            assert got == b"stored"
            await trusting.put(endpoint, b"new", transfer_token="", access_token="t", what="a.txt")
            assert seen == [("/data", "t"), ("/data", b"new")]
        finally:
            untrusting.close()
            trusting.close()
            server.stop()

    asyncio.run(scenario())


def test_a_plain_http_data_server_is_refused_while_the_gateway_uses_tls():
    async def scenario() -> None:
        seen: list = []
        server, port = _serve(seen)
        strict = DataTransfer(TransferSecurity(gateway_tls=True))
        allowed = DataTransfer(TransferSecurity(gateway_tls=True, allow_insecure=True))
        endpoint = f"http://127.0.0.1:{port}/data"
        try:
            with pytest.raises(errors.ServerError) as info:
                await strict.get(endpoint, transfer_token="", access_token="t", what="c.txt")
            assert "with TLS" in info.value.message
            assert "allow_insecure_data_transfers" in info.value.message
            assert seen == []  # refused before connecting
            got = await allowed.get(endpoint, transfer_token="", access_token="t", what="c.txt")
            assert got == b"stored" and seen == [("/data", "t")]
        finally:
            strict.close()
            allowed.close()
            server.stop()

    asyncio.run(scenario())


def test_a_data_server_redirect_is_not_followed():
    """A redirect would take the access token wherever it points."""

    async def scenario() -> None:
        first_seen: list = []
        other_seen: list = []
        other, other_port = _serve(other_seen)
        first, port = _serve(first_seen, elsewhere=f"http://127.0.0.1:{other_port}/x")
        transfer = DataTransfer(TransferSecurity())
        try:
            with pytest.raises(errors.ServerError) as info:
                await transfer.get(
                    f"http://127.0.0.1:{port}/moved", transfer_token="", access_token="t", what="b"
                )
            assert "redirect" in info.value.message
            assert first_seen == [("/moved", "t")] and other_seen == []
        finally:
            transfer.close()
            first.stop()
            other.stop()

    asyncio.run(scenario())


def test_a_recent_stat_goes_once_to_a_write_of_the_same_path_in_the_same_task():
    from cs3lab.contents_manager import recent

    info = object()

    async def one_request(check: str, write: str, wait: float = 0.0):
        recent.remember(check, info)
        await asyncio.sleep(wait)
        return recent.take(write), recent.take(write)

    async def another_request(started: asyncio.Event):
        await started.wait()
        return recent.take("a.txt")

    async def checks_and_waits(started: asyncio.Event):
        recent.remember("a.txt", info)
        started.set()
        await asyncio.sleep(0.05)
        return recent.take("a.txt")

    async def main():
        # Each request in a task of its own, as tornado runs handlers.
        assert await asyncio.create_task(one_request("a.txt", "a.txt")) == (
            (True, info),
            (False, None),
        )
        assert await asyncio.create_task(one_request("a.txt", "b.txt")) == (
            (False, None),
            (False, None),
        )
        late = recent.RECENT_SECONDS + 0.1
        assert await asyncio.create_task(one_request("a.txt", "a.txt", late)) == (
            (False, None),
            (False, None),
        )
        started = asyncio.Event()
        mine, other = await asyncio.gather(checks_and_waits(started), another_request(started))
        assert (mine, other) == ((True, info), (False, None))
        recent.remember("a.txt", info)
        recent.forget()  # a write in between
        assert recent.take("a.txt") == (False, None)

    asyncio.run(main())


def test_path_guards_keep_writers_of_one_path_apart_and_forget_idle_paths():
    from cs3lab.locks.guards import PathGuards

    guards = PathGuards()
    events: list[str] = []

    async def write(path: str, name: str):
        async with guards.hold(path):
            events.append(f"{name} in")
            await asyncio.sleep(0.01)
            events.append(f"{name} out")

    async def main():
        await asyncio.gather(write("a", "1"), write("a", "2"), write("b", "3"))
        assert len(guards) == 0

    asyncio.run(main())
    # The two writers of "a" never overlap; "b" did not wait for them.
    first, second = events.index("1 in"), events.index("2 in")
    assert events[first + 1] in ("1 out", "3 in", "3 out")
    assert events.index("1 out") < second
    assert events.index("3 in") < events.index("1 out")
