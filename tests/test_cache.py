"""The user's metadata cache (cs3lab/cs3/cache.py) in a real Jupyter server against a real
revad, on both lock backends: polls answered from it, own changes shown at once, changes made
elsewhere (another user's lock, a plain CS3 client's write) within the revalidation time, and
decisions never taken from it (a stale save is still a 409, a foreign lock still a 423).

The server under test (jp_fetch) is alice's, with a revalidation of REVALIDATE seconds; the
others are bob's LockService (tests/lockers.py) and a plain CS3 client (gRPC + HTTP,
site_runner.sync_upload). Pure logic: tests/test_cache_logic.py.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import pytest
from helpers import CallMeter, api, api_error, cs3lab_api, text_model
from lockers import locker, stored
from site_runner import sync_mkdir, sync_upload

from cs3lab.fs.filesystem import CS3FileSystem

REVALIDATE = 1.0
pytestmark = [pytest.mark.sites("site-a", "site-n"), pytest.mark.revalidate(REVALIDATE)]


@pytest.fixture
def home(site) -> str:
    """A fresh folder that every user of the site may read and write."""
    path = f"{site.shared}/t-{uuid.uuid4().hex[:10]}"
    sync_mkdir(site, "alice", path)
    return path


def without_share_state(cost: dict[str, int]) -> dict[str, int]:
    """The calls but those renewing the share state (a cache entry of its own, which
    revalidates as the Stats do)."""
    return {k: v for k, v in cost.items() if k not in ("ListShares", "ListPublicShares")}


class Window:
    """What was read at ``start`` may be shown until ``start + REVALIDATE``, not after."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def open(self) -> bool:
        return time.monotonic() - self.start < REVALIDATE

    async def passed(self) -> None:
        await asyncio.sleep(max(0.0, self.start + REVALIDATE - time.monotonic()) + 0.05)


async def plain_upload(site, home: str, name: str, data: bytes, user: str = "bob") -> None:
    """Another application stores ``data``: a plain CS3 client, not cs3lab."""
    await asyncio.to_thread(sync_upload, site, user, f"{home}/{name}", data)


async def test_polls_within_the_revalidation_time_cost_no_call(jp_fetch, contents):
    await api(jp_fetch, "PUT", "a.txt", text_model("one"))
    meter = CallMeter(contents)
    await api(jp_fetch, "GET", "a.txt", content="0")
    await api(jp_fetch, "GET", "")
    assert await meter.cost(api(jp_fetch, "GET", "a.txt", content="0")) == {}
    assert await meter.cost(api(jp_fetch, "GET", "")) == {}
    await Window().passed()
    cost = await meter.cost(api(jp_fetch, "GET", "a.txt", content="0"))
    assert without_share_state(cost) == {"Stat": 1}
    # An open reads the bytes with a Stat of their own, never the cached one.
    cost = await meter.cost(api(jp_fetch, "GET", "a.txt"))
    assert without_share_state(cost) == {"Stat": 1, "InitiateFileDownload": 1}


@pytest.mark.revalidate(0)
async def test_revalidation_zero_asks_the_site_every_time(jp_fetch, contents):
    await api(jp_fetch, "PUT", "a.txt", text_model("one"))
    meter = CallMeter(contents)
    for _ in range(3):
        cost = await meter.cost(api(jp_fetch, "GET", "a.txt", content="0"))
        assert cost == {"Stat": 1, "ListShares": 1, "ListPublicShares": 1}
    assert len(contents.files.cache) == 0


async def test_own_saves_renames_and_deletes_show_at_once(jp_fetch):
    await api(jp_fetch, "PUT", "a.txt", text_model("one"))
    await api(jp_fetch, "GET", "a.txt", content="0")
    await api(jp_fetch, "GET", "")
    saved = await api(jp_fetch, "PUT", "a.txt", text_model("a longer text"))
    model = await api(jp_fetch, "GET", "a.txt", content="0")
    assert (model["size"], model["last_modified"]) == (13, saved["last_modified"])
    listed = {e["name"]: e for e in (await api(jp_fetch, "GET", ""))["content"]}
    assert listed["a.txt"]["size"] == 13

    await api(jp_fetch, "PATCH", "a.txt", {"path": "b.txt"})
    assert [e["name"] for e in (await api(jp_fetch, "GET", ""))["content"]] == ["b.txt"]
    assert (await api_error(jp_fetch, "GET", "a.txt", content="0"))[0] == 404
    assert (await api(jp_fetch, "GET", "b.txt", content="0"))["size"] == 13

    await api(jp_fetch, "DELETE", "b.txt")
    assert (await api_error(jp_fetch, "GET", "b.txt", content="0"))[0] == 404
    assert (await api(jp_fetch, "GET", ""))["content"] == []

    await api(jp_fetch, "PUT", "sub", {"type": "directory"})
    await api(jp_fetch, "GET", "sub")
    await api(jp_fetch, "PUT", "sub/c.txt", text_model("c"))
    assert [e["name"] for e in (await api(jp_fetch, "GET", "sub"))["content"]] == ["c.txt"]


async def test_own_locks_show_at_once(jp_fetch):
    await api(jp_fetch, "PUT", "a.txt", text_model("one"))
    assert (await api(jp_fetch, "GET", "a.txt", content="0"))["lock"] is None
    await api(jp_fetch, "GET", "")
    tab = {"path": "a.txt", "client": "tab-1"}
    await cs3lab_api(jp_fetch, "POST", "locks", body=tab)
    model = await api(jp_fetch, "GET", "a.txt", content="0")
    assert model["lock"]["this_session"] and model["writable"]
    listed = (await api(jp_fetch, "GET", ""))["content"]
    assert listed[0]["lock"]["this_session"]
    await cs3lab_api(jp_fetch, "DELETE", "locks", **tab)
    assert (await api(jp_fetch, "GET", "a.txt", content="0"))["lock"] is None
    assert (await api(jp_fetch, "GET", ""))["content"][0]["lock"] is None


@pytest.mark.sites("site-a")
async def test_own_shares_show_at_once(jp_fetch):
    await api(jp_fetch, "PUT", "a.txt", text_model("one"))
    assert (await api(jp_fetch, "GET", ""))["content"][0]["share"] is None
    body = {"path": "a.txt", "grantee": {"type": "user", "name": "bob"}, "role": "viewer"}
    share = await cs3lab_api(jp_fetch, "POST", "shares", body=body)
    assert (await api(jp_fetch, "GET", ""))["content"][0]["share"]["users"] == 1
    assert (await api(jp_fetch, "GET", "a.txt", content="0"))["share"]["users"] == 1
    await cs3lab_api(jp_fetch, "DELETE", "shares", share["id"])
    assert (await api(jp_fetch, "GET", ""))["content"][0]["share"] is None


async def test_a_plain_clients_write_shows_within_the_revalidation_time(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "a.txt", text_model("one"))
    window = Window()
    before = await api(jp_fetch, "GET", "a.txt", content="0")
    await api(jp_fetch, "GET", "")
    await plain_upload(site, home, "a.txt", b"written elsewhere")
    await plain_upload(site, home, "new.txt", b"new")
    shown = await api(jp_fetch, "GET", "a.txt", content="0")
    names = sorted(e["name"] for e in (await api(jp_fetch, "GET", ""))["content"])
    if window.open():  # still the cached model: the cache is in use
        assert shown["size"] == before["size"] == 3
        assert names == ["a.txt"]
    await window.passed()
    assert (await api(jp_fetch, "GET", "a.txt", content="0"))["size"] == 17
    names = sorted(e["name"] for e in (await api(jp_fetch, "GET", ""))["content"])
    assert names == ["a.txt", "new.txt"]
    # An open always reads what is stored.
    assert (await api(jp_fetch, "GET", "a.txt"))["content"] == "written elsewhere"


async def test_a_stale_save_is_refused_while_the_cache_shows_the_old_version(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "a.txt", text_model("one"))
    opened = await api(jp_fetch, "GET", "a.txt")
    window = Window()
    await api(jp_fetch, "GET", "a.txt", content="0")
    await plain_upload(site, home, "a.txt", b"theirs")
    polled = await api(jp_fetch, "GET", "a.txt", content="0")
    assert not window.open() or polled["etag"] == opened["etag"]  # the cached model
    mine = {**text_model("mine"), "etag": opened["etag"]}  # the version it was based on
    status, message = await api_error(jp_fetch, "PUT", "a.txt", mine)
    assert status == 409 and "changed by someone else" in message
    assert await stored(site, f"{home}/a.txt") == b"theirs"


async def test_a_foreign_lock_blocks_while_the_cache_shows_the_file_unlocked(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "a.txt", text_model("one"))
    window = Window()
    assert (await api(jp_fetch, "GET", "a.txt", content="0"))["lock"] is None
    await api(jp_fetch, "GET", "")
    async with locker(site, "bob") as bob:
        await bob.acquire(f"{home}/a.txt", "bob-tab")
        polled = await api(jp_fetch, "GET", "a.txt", content="0")
        assert not window.open() or polled["lock"] is None  # shown from the cache
        status, message = await api_error(jp_fetch, "PUT", "a.txt", text_model("mine"))
        assert status == 423 and "Bob Berger" in message
        tab = {"path": "a.txt", "client": "tab-1"}
        with pytest.raises(Exception) as refused:
            await cs3lab_api(jp_fetch, "POST", "locks", body=tab)
        assert refused.value.code == 423
        assert await stored(site, f"{home}/a.txt") == b"one"
        await window.passed()
        model = await api(jp_fetch, "GET", "a.txt", content="0")
        assert model["lock"]["holder"]["username"] == "bob" and model["writable"] is False
        listed = (await api(jp_fetch, "GET", ""))["content"][0]
        assert listed["lock"]["holder"]["username"] == "bob"
    # bob gave it back: shown within the revalidation time, and alice may save
    await Window().passed()
    assert (await api(jp_fetch, "GET", "a.txt", content="0"))["lock"] is None
    await api(jp_fetch, "PUT", "a.txt", text_model("mine"))
    assert await stored(site, f"{home}/a.txt") == b"mine"


async def test_the_cache_is_bounded(jp_fetch, contents):
    cache = contents.files.cache
    cache.max_entries = 5
    for i in range(12):
        await api(jp_fetch, "PUT", f"f{i}.txt", text_model(str(i)))
        await api(jp_fetch, "GET", f"f{i}.txt", content="0")
    assert len(cache) <= 5
    assert cache.stats.evicted > 0


async def test_cs3_filesystem_uses_the_same_cache_rules(site, home):
    """``cs3://`` (kernels, and the mount over it): own writes at once, others' within the
    revalidation time, a repeated look-up without a CS3 call."""
    connection = dict(
        gateway=site.gateway,
        username="alice",
        secret_file=str(site.secret_file("alice")),
        home=home,
        revalidate_seconds=REVALIDATE,
    )
    fs = CS3FileSystem(asynchronous=True, skip_instance_cache=True, **connection)
    try:
        await fs._pipe_file("a.txt", b"one")
        assert (await fs._info("a.txt"))["size"] == 3
        files = await fs._cs3()
        before = Counter(files.client.calls)
        assert [e["name"] for e in await fs._ls("")] == ["a.txt"]
        await fs._info("a.txt")
        await fs._ls("")
        assert Counter(files.client.calls) - before == Counter({"ListContainer": 1})
        await fs._pipe_file("a.txt", b"longer")  # own write: at once
        assert (await fs._info("a.txt"))["size"] == 6
        window = Window()
        await fs._ls("")
        await plain_upload(site, home, "a.txt", b"written elsewhere")
        shown = (await fs._info("a.txt"))["size"]
        assert not window.open() or shown == 6
        await window.passed()
        assert (await fs._info("a.txt"))["size"] == 17
    finally:
        await fs._close()
