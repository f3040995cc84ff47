"""Property-based tests (hypothesis) of what reads input anyone may have written or sent: the
mapping of JupyterLab paths to CS3 paths and back, lock marker and edit-request records,
cs3client's advisory lock; and of notebook merges (nbdime plus cs3lab's resolutions). Pure
logic, no server."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook
from tornado.web import HTTPError

from cs3lab.contents_manager.paths import clean_api_path, to_api, to_cs3
from cs3lab.locks import advlock
from cs3lab.locks.markers import Malformed, _encode, parse_lock
from cs3lab.locks.model import Holder, LockInfo, lock_digest
from cs3lab.locks.requests import parse_request
from cs3lab.merge import notebooks

HOME = "/home/alice"
NOW = 1_800_000_000.0
EXPIRY = 120

# Names as people and programs make them: any printable character but "/", unicode included.
name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"),
    min_size=1,
    max_size=20,
).filter(lambda n: n not in (".", ".."))
api_path = st.lists(name, min_size=0, max_size=5).map("/".join)
anything = st.text(max_size=200)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@given(api_path)
def test_a_path_maps_into_the_home_and_back(path):
    cs3 = to_cs3(HOME, path)
    assert cs3 == HOME or cs3.startswith(HOME + "/")
    assert to_api(HOME, cs3) == clean_api_path(path)


@given(st.lists(name | st.sampled_from(["..", ".", ""]), max_size=6).map("/".join))
def test_no_path_leaves_the_home(path):
    """Whatever the segments, a path is refused (400) or stays below the home."""
    try:
        cs3 = to_cs3(HOME, path)
    except HTTPError as err:
        assert err.status_code == 400
        return
    assert ".." not in cs3.split("/")
    assert cs3 == HOME or cs3.startswith(HOME + "/")


@given(anything)
def test_any_text_is_a_path_or_a_400(text):
    try:
        clean = clean_api_path(text)
    except HTTPError as err:
        assert err.status_code == 400
        return
    assert not clean.startswith("/") and "//" not in clean


holders = st.builds(
    Holder,
    idp=st.just("https://site.example.org"),
    opaque_id=st.text(min_size=1, max_size=30).filter(str.strip),
    username=st.from_regex(r"[a-z][a-z0-9_.-]{0,15}", fullmatch=True),
    display_name=st.text(max_size=30),
    mail=st.text(max_size=30),
)


lock_ids = st.uuids().map(str)  # what cs3lab's sessions use


@given(holders, lock_ids, st.floats(0, 3600))
def test_a_marker_record_reads_back_as_the_lock_it_was_written_for(holder, lock_id, age):
    since = NOW - age
    written = LockInfo(lock_id, holder, since, NOW + EXPIRY, "marker")
    record = _encode(written, NOW)
    read = parse_lock(record, NOW, EXPIRY)
    assert read.holder == holder
    assert read.since == since
    assert read.lock_id == lock_digest(lock_id)  # the record never holds the id itself
    assert lock_id not in record


@settings(max_examples=300)
@given(anything | json_values.map(json.dumps))
def test_any_marker_record_is_a_lock_or_malformed(raw):
    try:
        lock = parse_lock(raw, NOW, EXPIRY)
    except Malformed:
        return
    assert lock.holder.opaque_id
    assert lock.since is not None and lock.since <= NOW + 60
    assert lock.expires is None or math.isfinite(lock.expires)


@settings(max_examples=300)
@given(anything | json_values.map(json.dumps), st.from_regex(r"[a-z]{1,8}", fullmatch=True))
def test_any_request_record_is_a_request_or_none_or_malformed(raw, username):
    try:
        request = parse_request(raw, username, NOW)
    except Malformed:
        return
    if request is not None:
        assert request.requester.username == username
        assert request.state in ("pending", "granted", "declined")


@given(anything)
def test_any_advisory_lock_text_is_read_without_error(raw):
    lock = advlock.parse(raw, now=NOW)
    if lock is not None:
        assert lock.holder.app != advlock.APP_NAME  # cs3lab's own is never a lock to cs3lab
        assert lock.expires > NOW


@given(
    st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True).filter(lambda a: a != "cs3lab"),
    st.from_regex(r"[A-Za-z0-9-]{1,20}", fullmatch=True),
    st.integers(1, 10**6),
)
def test_another_apps_advisory_lock_holds_until_its_expiry(app, lock_id, seconds):
    raw = f"{app}!{lock_id}!{int(NOW) + seconds}"
    lock = advlock.parse(raw, now=NOW)
    assert lock is not None and lock.holder.app == app
    assert advlock.parse(raw, now=NOW + seconds) is None  # expired


@given(holders, lock_ids)
def test_cs3labs_published_lock_names_no_lock_id(holder, lock_id):
    lock = LockInfo(lock_id, holder, NOW, NOW + EXPIRY, "marker")
    published = advlock.encode(lock)
    assert published.startswith("cs3lab!")
    assert lock_id not in published
    assert advlock.parse(published, now=NOW) is None  # cs3lab's own: never a lock to cs3lab


# -- notebook merges: nbdime's decisions and cs3lab's automatic resolutions -------------------

KEEP, EDIT, DROP = "keep", "edit", "drop"
edits = st.lists(st.sampled_from([KEEP, KEEP, EDIT, DROP]), min_size=1, max_size=6)


def notebook(sources: list[tuple[str, str]]) -> dict:
    """A notebook of (cell id, source) code cells."""
    cells = [new_code_cell(src, id=cid) for cid, src in sources]
    return new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )


def side(base: list[tuple[str, str]], actions: list[str], who: str) -> dict:
    cells = []
    for (cid, src), action in zip(base, actions, strict=False):
        if action == EDIT:
            cells.append((cid, f"{src}\n# {who} was here"))
        elif action == KEEP:
            cells.append((cid, src))
    return notebook(cells)


@settings(max_examples=150, deadline=None)
@given(edits, edits)
def test_a_merge_keeps_what_both_kept_and_never_settles_a_true_conflict(local_do, remote_do):
    n = min(len(local_do), len(remote_do))
    local_do, remote_do = local_do[:n], remote_do[:n]
    base_cells = [(f"c{i}", f"x{i} = {i}") for i in range(n)]
    base = notebook(base_cells)
    local, remote = side(base_cells, local_do, "local"), side(base_cells, remote_do, "remote")
    result = notebooks.merge(base, local, remote)
    out = notebooks.apply(base, result.decisions)
    sources = {c["id"]: c["source"] for c in out["cells"]}
    true_conflict = any(
        {a, b} in ({EDIT}, {EDIT, DROP}) for a, b in zip(local_do, remote_do, strict=True)
    )
    if true_conflict:
        assert not result.clean  # edited on both sides, or edited and deleted: the user decides
    for (cid, src), a, b in zip(base_cells, local_do, remote_do, strict=True):
        if a == b == KEEP:
            assert sources.get(cid) == src  # a cell both sides kept is never dropped
        if result.clean and {a, b} == {KEEP, EDIT}:
            assert sources.get(cid, "").endswith("was here")  # the one edit is taken
        if result.clean and a == b == DROP:
            assert cid not in sources
