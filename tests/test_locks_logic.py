"""Pure lock logic, no server: lock ids, reading marker folders (held, expired, released,
abandoned, unreadable, generations), lock JSON never carrying the lock id."""

from __future__ import annotations

import json
import time

from cs3.storage.provider.v1beta1 import resources_pb2 as res
from cs3.types.v1beta1 import types_pb2

from cs3lab.locks.markers import GRACE_SECONDS, METADATA_KEY, lock_of_markers, markers_by_file
from cs3lab.locks.model import MARKER, Holder, LockInfo, new_lock_id, parse_lock_id

ALICE = Holder("idp", "alice", username="alice", display_name="Alice Anders", site="site-a")


def test_lock_ids_are_unique_and_say_site_and_since():
    a, b = new_lock_id("site-a", 1_700_000_000.7), new_lock_id("site-a", 1_700_000_000.7)
    assert a != b
    assert parse_lock_id(a) == ("site-a", 1_700_000_000)
    assert parse_lock_id(new_lock_id("a:b", 5)) == ("a:b", 5)
    for foreign in ("", "wopi-lock-1234", "cs3lab:x", "cs3lab:site:notanumber:abc"):
        assert parse_lock_id(foreign) == ("", None), foreign


def marker(name: str, generation: int, lock: dict | None, mtime: float | None = None):
    info = res.ResourceInfo(
        type=res.RESOURCE_TYPE_CONTAINER,
        path=f"/home/alice/.cs3lab-lock.{name}.{generation}",
        mtime=types_pb2.Timestamp(seconds=int(mtime if mtime is not None else time.time())),
    )
    if lock is not None:
        info.arbitrary_metadata.metadata[METADATA_KEY] = json.dumps(lock)
    return info


def held(lock_id: str, expires: float) -> dict:
    return {"lock_id": lock_id, "holder": ALICE.to_json(), "since": 1.0, "expires": expires}


def locks_of(*entries):
    return {name: lock_of_markers(found) for name, found in markers_by_file(entries).items()}


def test_the_top_generation_is_the_lock():
    now = time.time()
    found = locks_of(
        marker("nb.ipynb", 1, held("old", now + 100)),
        marker("nb.ipynb", 3, held("new", now + 100)),
        marker("nb.ipynb", 2, held("middle", now + 100)),
        res.ResourceInfo(type=res.RESOURCE_TYPE_FILE, path="/home/alice/nb.ipynb"),
    )
    assert list(found) == ["nb.ipynb"]
    assert found["nb.ipynb"].lock_id == "new"
    assert found["nb.ipynb"].holder == ALICE


def test_expired_and_released_markers_are_no_lock():
    now = time.time()
    assert locks_of(marker("a.txt", 1, held("x", now - 1)))["a.txt"] is None
    assert locks_of(marker("a.txt", 1, held("x", 0)))["a.txt"] is None  # released: expires 0
    # A released top marker frees the file even if an older generation was still valid.
    lower_valid = marker("a.txt", 1, held("x", now + 100))
    assert locks_of(lower_valid, marker("a.txt", 2, held("y", 0)))["a.txt"] is None


def test_a_marker_being_created_counts_as_held_until_its_grace_ends():
    now = time.time()
    fresh = locks_of(marker("a.txt", 1, None, mtime=now))["a.txt"]
    assert fresh is not None and fresh.holder.display_name == "someone"
    abandoned = locks_of(marker("a.txt", 1, None, mtime=now - GRACE_SECONDS - 1))["a.txt"]
    assert abandoned is None


def test_unreadable_metadata_locks_nobody_out():
    entry = marker("a.txt", 1, None)
    entry.arbitrary_metadata.metadata[METADATA_KEY] = "{not json"
    assert locks_of(entry)["a.txt"] is None


def test_names_with_dots_and_unicode_map_to_their_file():
    now = time.time()
    found = locks_of(
        marker("résumé.v2.ipynb", 7, held("u", now + 50)),
        marker("no-generation", 0, held("v", now + 50)),
    )
    assert found["résumé.v2.ipynb"].lock_id == "u"


def test_lock_json_never_carries_the_lock_id():
    lock = LockInfo("cs3lab:site-a:1:secret", ALICE, 1.0, 2.0, MARKER)
    text = json.dumps(lock.to_json())
    assert "secret" not in text and "lock_id" not in text
    assert lock.to_json()["holder"]["display_name"] == "Alice Anders"
