"""Pure lock logic, no server: lock ids, reading marker folders (held, expired, released,
abandoned, malformed, generations, capped expiry), request markers (requester from the name,
capped reservations), lock JSON and marker records never carrying the lock id."""

from __future__ import annotations

import json
import logging
import time
import uuid

import pytest
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from cs3.types.v1beta1 import types_pb2

from cs3lab.locks import requests as request_mod
from cs3lab.locks.markers import (
    GRACE_SECONDS,
    METADATA_KEY,
    _encode,
    markers_by_file,
    read_markers,
)
from cs3lab.locks.model import (
    MARKER,
    Holder,
    LockInfo,
    lock_digest,
    new_lock_id,
    parse_lock_id,
    valid_username,
)
from cs3lab.locks.requests import RESERVATION_SECONDS, read_requests

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
    """A record of the earlier format (the lock id itself), written a second ago."""
    since = time.time() - 1
    return {"lock_id": lock_id, "holder": ALICE.to_json(), "since": since, "expires": expires}


def locks_of(*entries):
    return {name: read_markers(found).lock for name, found in markers_by_file(entries).items()}


def test_the_top_generation_is_the_lock():
    now = time.time()
    found = locks_of(
        marker("nb.ipynb", 1, held("old", now + 100)),
        marker("nb.ipynb", 3, held("new", now + 100)),
        marker("nb.ipynb", 2, held("middle", now + 100)),
        res.ResourceInfo(type=res.RESOURCE_TYPE_FILE, path="/home/alice/nb.ipynb"),
    )
    assert list(found) == ["nb.ipynb"]
    assert found["nb.ipynb"].lock_id == lock_digest("new")
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


MALFORMED = {
    "no expiry": {"expires": None},
    "text expiry": {"expires": "never"},
    "text since": {"since": "yesterday"},
    "no since": {"since": None},
    "future since": {"since": 10 * time.time()},
    "future refresh": {"refreshed": 10 * time.time()},
    "infinite expiry": {"expires": float("inf")},
    "boolean expiry": {"expires": True},
    "holder as text": {"holder": "alice"},
    "holder with more": {"holder": {**ALICE.to_json(), "admin": "yes"}},
    "holder without id": {"holder": {**ALICE.to_json(), "opaque_id": ""}},
    "holder with a path": {"holder": {**ALICE.to_json(), "username": "../bob"}},
    "no lock id": {"lock_id": None},
    "bad digest": {"lock_id": None, "lock_digest": "md5:1234"},
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_marker_is_ignored_and_reported_once(change, caplog):
    record = {**held("secret-lock-id", time.time() + 100), **change}
    record = {k: v for k, v in record.items() if v is not None or k == "expires"}
    name = f"{uuid.uuid4().hex}.txt"  # reported once per process and marker: a new one
    entry = marker(name, 1, record)
    with caplog.at_level(logging.WARNING, "cs3lab.locks.markers"):
        for _ in range(3):
            reading = read_markers(markers_by_file([entry])[name])
            assert reading.lock is None
            (stale,) = reading.stale
            assert stale.name == f".cs3lab-lock.{name}.1"
            assert stale.problem.startswith("malformed")
    warnings = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "secret-lock-id" not in warnings[0] and "secret-lock-id" not in stale.problem


def test_expiry_is_capped_to_what_cs3lab_grants():
    now = time.time()
    far = now + 10 * 365 * 86400
    fresh = {"lock_digest": lock_digest("x"), "holder": ALICE.to_json()}
    written_now = {**fresh, "since": now - 500, "refreshed": now, "expires": far}
    lock = read_markers(markers_by_file([marker("a.txt", 1, written_now)])["a.txt"], now, 120)
    assert lock.lock is not None and lock.lock.expires == now + 120
    stopped = {**fresh, "since": now - 500, "refreshed": now - 121, "expires": far}
    reading = read_markers(markers_by_file([marker("a.txt", 1, stopped)])["a.txt"], now, 120)
    assert reading.lock is None and [m.problem for m in reading.stale] == ["expired"]
    # The earlier format has no 'refreshed': its expiry counts from 'since'.
    legacy = {"lock_id": "x", "holder": ALICE.to_json(), "since": now - 121, "expires": far}
    assert read_markers(markers_by_file([marker("a.txt", 1, legacy)])["a.txt"], now).lock is None
    legacy["since"] = now - 60
    kept = read_markers(markers_by_file([marker("a.txt", 1, legacy)])["a.txt"], now, 120).lock
    assert kept is not None and kept.expires == now + 60 and kept.lock_id == lock_digest("x")


def test_a_malformed_marker_above_a_live_lock_does_not_free_the_file():
    now = time.time()
    found = read_markers(
        markers_by_file(
            [marker("a.txt", 1, held("live", now + 100)), marker("a.txt", 2, {"expires": None})]
        )["a.txt"],
        now,
    )
    assert found.lock is not None and found.lock.lock_id == lock_digest("live")
    assert found.top is not None and found.top.generation == 1
    assert [m.name for m in found.stale] == [".cs3lab-lock.a.txt.2"]


def test_a_marker_record_keeps_the_digest_of_the_lock_id_only():
    lock_id = new_lock_id("site-a", time.time())
    record = _encode(LockInfo(lock_id, ALICE, time.time(), time.time() + 100, MARKER), time.time())
    assert lock_id not in record and "lock_id" not in record
    assert json.loads(record)["lock_digest"] == lock_digest(lock_id)
    read = read_markers(markers_by_file([marker("a.txt", 1, json.loads(record))])["a.txt"])
    assert read.lock is not None and read.lock.lock_id == lock_digest(lock_id)


def test_usernames_that_could_build_a_path_are_refused():
    for good in ("alice", "bob-site-n", "a.b@example.org", "racer01"):
        assert valid_username(good), good
    for bad in ("", ".", "..", "../x", "a/b", "x\n", "a\x00", "é" * 3, "-" + "x" * 200):
        assert not valid_username(bad), bad
    with pytest.raises(Exception, match="not a username"):
        request_mod.request_name("nb.ipynb", "../x")


def request_entry(folder: str, record) -> res.ResourceInfo:
    info = res.ResourceInfo(type=res.RESOURCE_TYPE_CONTAINER, path=f"/home/alice/{folder}")
    raw = record if isinstance(record, str) else json.dumps(record)
    info.arbitrary_metadata.metadata[request_mod.METADATA_KEY] = raw
    return info


def test_a_request_is_its_folders_username_and_a_reservation_is_capped():
    now = time.time()
    bob = Holder("idp", "bob", username="bob")
    granted = {
        "requester": bob.to_json(),
        "at": now - 5,
        "state": "granted",
        "answered_by": ALICE.to_json(),
        "answered_at": now - 2,
        "reserved_until": now + 10 * 365 * 86400,
    }
    reading = read_requests([request_entry(".cs3lab-request.nb.ipynb.bob", granted)], "nb.ipynb")
    (request,) = reading.requests
    assert request.requester == bob and request.reserved_until == now - 2 + RESERVATION_SECONDS
    # A folder of another name: not bob's request (nor anyone's), and not a problem either.
    assert read_requests([request_entry(".cs3lab-request.nb.ipynb.eve", granted)], "nb.ipynb") == (
        request_mod.RequestReading()
    )
    # The requests of "nb.ipynb" are no requests of "nb".
    assert read_requests([request_entry(".cs3lab-request.nb.ipynb.bob", granted)], "nb").stale == []
    broken = {
        ".cs3lab-request.nb.ipynb.bob": {**granted, "answered_at": None},
        ".cs3lab-request.nb.ipynb.carol": {**granted, "state": "mine"},
        ".cs3lab-request.nb.ipynb..": granted,
        ".cs3lab-request.nb.ipynb.dave": "[]",
    }
    reading = read_requests([request_entry(k, v) for k, v in broken.items()], "nb.ipynb")
    assert reading.requests == []
    assert (
        sorted(m.name for m in reading.stale)
        == sorted(k for k in broken if not k.endswith("carol"))
        or len(reading.stale) == len(broken) - 1
    )


def test_names_with_dots_and_unicode_map_to_their_file():
    now = time.time()
    found = locks_of(
        marker("résumé.v2.ipynb", 7, held("u", now + 50)),
        marker("no-generation", 0, held("v", now + 50)),
    )
    assert found["résumé.v2.ipynb"].lock_id == lock_digest("u")


def test_lock_json_never_carries_the_lock_id():
    lock = LockInfo("cs3lab:site-a:1:secret", ALICE, 1.0, 2.0, MARKER)
    text = json.dumps(lock.to_json())
    assert "secret" not in text and "lock_id" not in text
    assert lock.to_json()["holder"]["display_name"] == "Alice Anders"


# -- cs3client's advisory lock (cs3client.advlock) ---------------------------------------------


def test_an_advisory_lock_of_another_app_holds_until_its_expiry():
    from cs3lab.locks import advlock

    now = time.time()
    lock = advlock.parse(f"cs3-jupyter!session!7!{int(now) + 60}", now)
    assert lock is not None and lock.holder.app == "cs3-jupyter"
    assert lock.backend == advlock.ADVISORY and lock.expires == int(now) + 60
    assert advlock.parse(f"cs3-jupyter!session!{int(now) - 1}", now) is None  # expired
    # cs3lab's own (the marker is the lock; one left behind by a stopped server is nothing)
    assert advlock.parse(f"cs3lab!sha256:ab!{int(now) + 60}", now) is None
    for bad in ("", "cs3-jupyter", "cs3-jupyter!x", "!x!99999999999", "a!b!soon", "a!b!nan"):
        assert advlock.parse(bad, now) is None


def test_cs3labs_advisory_lock_carries_the_digest_never_the_lock_id():
    from cs3lab.locks import advlock

    secret = new_lock_id("site-a", 1.0)
    lock = LockInfo(secret, Holder("idp", "alice-id"), 1.0, 1234.5, MARKER)
    value = advlock.encode(lock)
    assert value == f"cs3lab!{lock_digest(secret)}!1234" and secret not in value
    app, digest, expiry = value.split("!")  # as cs3client's get_lock reads it
    assert (app, digest, int(expiry)) == ("cs3lab", lock_digest(secret), 1234)
