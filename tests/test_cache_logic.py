"""The user's metadata cache (cs3lab/cs3/cache.py) as pure logic, on a clock the tests move.
Against a real revad, with two users and a plain CS3 client: tests/test_cache.py."""

from __future__ import annotations

import asyncio

import pytest
from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
from cs3.storage.provider.v1beta1 import resources_pb2 as res

from cs3lab.cs3.cache import MetadataCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def info(path: str, etag: str = "e1", opaque: str = "") -> res.ResourceInfo:
    rid = res.ResourceId(storage_id="s", space_id="sp", opaque_id=opaque or path)
    return res.ResourceInfo(path=path, etag=etag, id=rid, type=res.RESOURCE_TYPE_FILE)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock) -> MetadataCache:
    return MetadataCache(revalidate_seconds=2.0, clock=clock)


def test_a_stat_is_kept_for_the_revalidation_time_and_no_longer(cache, clock):
    cache.put_stat("/home/a.txt", (), info("/home/a.txt"), cache.since())
    clock.now += 2.0
    assert cache.stat("/home/a.txt").etag == "e1"
    clock.now += 0.01
    assert cache.stat("/home/a.txt") is None


def test_the_age_counts_from_when_the_read_was_sent(cache, clock):
    since = cache.since()
    clock.now += 1.5  # the answer took this long
    cache.put_stat("/home/a.txt", (), info("/home/a.txt"), since)
    clock.now += 0.6
    assert cache.stat("/home/a.txt") is None


def test_a_stat_with_fewer_metadata_keys_does_not_answer_one_asking_for_more(cache):
    cache.put_stat("/home/a.txt", ("k1",), info("/home/a.txt"), cache.since())
    assert cache.stat("/home/a.txt", ("k1",)) is not None
    assert cache.stat("/home/a.txt", ()) is not None
    assert cache.stat("/home/a.txt", ("k1", "k2")) is None


def test_a_listing_answers_the_stats_of_its_entries(cache):
    entries = [info("/home/d/a.txt"), info("/home/d/b.txt", etag="e2")]
    cache.put_listing("/home/d", ("k",), entries, cache.since())
    assert cache.stat("/home/d/b.txt", ("k",)).etag == "e2"
    assert cache.stat("/home/d/c.txt", ("k",)) is None
    assert [i.path for i in cache.listing("/home/d/").infos] == ["/home/d/a.txt", "/home/d/b.txt"]


def test_a_write_drops_the_path_what_is_below_it_and_its_folders_listing(cache):
    since = cache.since()
    cache.put_listing("/home", (), [info("/home/d")], since)
    cache.put_listing("/home/d", (), [info("/home/d/a.txt")], since)
    cache.put_stat("/home/d/a.txt", (), info("/home/d/a.txt"), since)
    cache.put_stat("/home/other.txt", (), info("/home/other.txt"), since)
    cache.put_stat("/home/dd", (), info("/home/dd"), since)  # a sibling whose name extends it
    cache.wrote("Delete", sp.DeleteRequest(ref=res.Reference(path="/home/d")))
    assert cache.listing("/home") is None
    assert cache.listing("/home/d") is None
    assert cache.stat("/home/d/a.txt") is None
    assert cache.stat("/home/other.txt") is not None
    assert cache.stat("/home/dd") is not None


def test_a_move_drops_both_ends(cache):
    since = cache.since()
    cache.put_listing("/home/x", (), [info("/home/x/a")], since)
    cache.put_listing("/home/y", (), [info("/home/y/b")], since)
    request = sp.MoveRequest(
        source=res.Reference(path="/home/x/a"), destination=res.Reference(path="/home/y/a")
    )
    cache.wrote("Move", request)
    assert cache.listing("/home/x") is None and cache.listing("/home/y") is None


def test_a_lock_call_by_resource_id_drops_every_entry_showing_that_resource(cache):
    since = cache.since()
    file = info("/home/d/a.txt", opaque="id-a")
    cache.put_listing("/home/d", (), [file, info("/home/d/b.txt")], since)
    cache.put_stat("/home/d/a.txt", (), file, since)
    cache.put_stat("/home/d/b.txt", (), info("/home/d/b.txt"), since)
    cache.wrote("SetLock", sp.SetLockRequest(ref=res.Reference(resource_id=file.id)))
    assert cache.listing("/home/d") is None
    assert cache.stat("/home/d/a.txt") is None
    assert cache.stat("/home/d/b.txt") is not None


def test_reads_drop_nothing_share_writes_drop_share_state_and_unknown_calls_drop_all(cache):
    since = cache.since()
    cache.put_stat("/home/a", (), info("/home/a"), since)
    cache.put_value("share state", {"x": 1}, 10, since)
    cache.wrote("Stat", sp.StatRequest(ref=res.Reference(path="/home/a")))
    assert cache.stat("/home/a") is not None and cache.value("share state") == {"x": 1}
    cache.wrote("CreatePublicShare", object())
    assert cache.value("share state") is None and cache.stat("/home/a") is not None
    cache.wrote("RestoreRecycleItem", object())
    assert cache.stat("/home/a") is None


def test_a_reference_relative_to_a_resource_drops_everything(cache):
    since = cache.since()
    cache.put_stat("/home/a", (), info("/home/a"), since)
    ref = res.Reference(resource_id=res.ResourceId(opaque_id="space"), path="./a")
    cache.wrote("Delete", sp.DeleteRequest(ref=ref))
    assert cache.stat("/home/a") is None


def test_a_read_under_way_while_something_is_dropped_is_not_kept(cache):
    since = cache.since()  # the Stat is sent...
    cache.drop_path("/home/elsewhere")  # ...an own write is answered meanwhile...
    cache.put_stat("/home/a", (), info("/home/a"), since)  # ...its answer may predate it
    assert cache.stat("/home/a") is None
    assert cache.stats.discarded == 1
    cache.put_stat("/home/a", (), info("/home/a"), cache.since())
    assert cache.stat("/home/a") is not None


def test_revalidation_zero_keeps_nothing(clock):
    cache = MetadataCache(revalidate_seconds=0, clock=clock)
    cache.put_stat("/home/a", (), info("/home/a"), cache.since())
    cache.put_listing("/home", (), [info("/home/a")], cache.since())
    assert cache.stat("/home/a") is None and cache.listing("/home") is None
    assert len(cache) == 0


def test_entries_are_bounded_least_recently_used_out_first(clock):
    cache = MetadataCache(max_entries=3, clock=clock)
    for name in "abc":
        cache.put_stat(f"/h/{name}", (), info(f"/h/{name}"), cache.since())
    assert cache.stat("/h/a") is not None  # used: b is now the least recent
    cache.put_stat("/h/d", (), info("/h/d"), cache.since())
    assert len(cache) == 3
    assert cache.stat("/h/b") is None
    assert all(cache.stat(f"/h/{n}") is not None for n in "acd")


def test_bytes_are_bounded(clock):
    one = info("/h/x" + "y" * 200)
    cache = MetadataCache(max_bytes=3 * one.ByteSize(), clock=clock)
    for i in range(10):
        path = f"/h/x{i:0200d}"
        cache.put_stat(path, (), info(path), cache.since())
        assert cache.stats.bytes <= 3 * one.ByteSize()
    assert len(cache) == 3 and cache.stats.evicted == 7
    huge = [info(f"/h/d/{i}") for i in range(100)]
    cache.put_listing("/h/d", (), huge, cache.since())  # larger than the bound: not kept
    assert cache.listing("/h/d") is None and len(cache) == 3


def test_dropped_entries_leave_no_index_behind(cache):
    for i in range(50):
        cache.put_listing(f"/h/{i}", (), [info(f"/h/{i}/a")], cache.since())
    cache.clear()
    assert len(cache) == 0 and cache.stats.bytes == 0
    assert not cache._by_id


async def test_reads_of_one_thing_at_the_same_time_share_one_call(cache):
    calls = []
    gate = asyncio.Event()

    def reader(path: str):
        async def read() -> str:
            calls.append(path)
            await gate.wait()
            return f"answer for {path}"

        return read

    first = asyncio.ensure_future(cache.read_once(("Stat", "/a", ()), reader("/a")))
    second = asyncio.ensure_future(cache.read_once(("Stat", "/a", ()), reader("/a")))
    other = asyncio.ensure_future(cache.read_once(("Stat", "/b", ()), reader("/b")))
    await asyncio.sleep(0.01)
    first.cancel()  # one reader gone: the others still get the answer
    gate.set()
    assert await second == "answer for /a" and await other == "answer for /b"
    assert sorted(calls) == ["/a", "/b"]  # /a once for both readers


async def test_a_read_begun_before_a_drop_is_not_shared_after_it(cache):
    calls = []
    gate = asyncio.Event()

    async def read() -> int:
        calls.append(1)
        await gate.wait()
        return len(calls)

    before = asyncio.ensure_future(cache.read_once(("Stat", "/a", ()), read))
    await asyncio.sleep(0.01)
    cache.drop_path("/a")  # an own write was answered meanwhile
    after = asyncio.ensure_future(cache.read_once(("Stat", "/a", ()), read))
    await asyncio.sleep(0.01)
    gate.set()
    await before
    assert await after == 2 and len(calls) == 2


async def test_a_shared_read_that_fails_fails_for_every_reader(cache):
    async def read() -> None:
        await asyncio.sleep(0)
        raise OSError("gone")

    reads = [cache.read_once(("ListContainer", "/d", ()), read) for _ in range(3)]
    results = await asyncio.gather(*reads, return_exceptions=True)
    assert [str(r) for r in results] == ["gone"] * 3
    assert not cache._reading


def test_a_maximum_age_asks_for_a_stat_of_the_file_itself(cache, clock):
    cache.put_listing("/h", (), [info("/h/a")], cache.since())
    assert cache.stat("/h/a") is not None
    assert cache.stat("/h/a", max_age=5) is None  # a listing's entry: not for a decision
    cache.put_stat("/h/a", (), info("/h/a"), cache.since())
    clock.now += 0.5
    assert cache.stat("/h/a", max_age=1.0) is not None
    clock.now += 0.6
    assert cache.stat("/h/a", max_age=1.0) is None
    assert cache.stat("/h/a") is not None  # still within the revalidation time


def test_every_gateway_call_cs3lab_makes_says_what_it_changes():
    """A call the cache does not know empties it (safe, and slow if it is a read): each
    method cs3lab calls is one it knows."""
    import re
    from pathlib import Path

    from cs3lab.cs3 import cache as cache_mod

    source = Path(cache_mod.__file__).parent.parent
    called = set()
    for path in source.rglob("*.py"):
        called |= set(re.findall(r'call\(\s*"([A-Za-z]+)"', path.read_text()))
    known = (
        cache_mod.READS
        | cache_mod.FILE_WRITES
        | cache_mod.SHARE_WRITES
        | cache_mod.CHANGES_ALL
        | {"Move"}
    )
    assert len(called) > 40
    assert called - known == set()
