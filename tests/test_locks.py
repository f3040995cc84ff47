"""Write locks kept in the storage, against real revads: one writer at a time.

Every test runs on both kinds of site: site A (Reva v3's local driver, no native locks:
cs3lab's marker folders) and site N (Reva v2's decomposedfs, native CS3 locks). The Jupyter
server under test (jp_fetch) is alice's; the other editors are cs3lab LockServices signed in
as other users (tests/lockers.py), or a plain CS3 client for another application's lock.
What alice's server shows is checked right after each of their changes: its metadata cache
is off here (``revalidate(0)``); how long the cache may show a lock late, and that a lock is
never decided from it, is tests/test_cache.py's.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime

import nbformat
import pytest
from cs3.identity.user.v1beta1 import resources_pb2 as user_res
from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from cs3.types.v1beta1 import types_pb2
from helpers import api, api_error, text_model
from lockers import locker, signed_in, user_files
from servers import start_server
from site_runner import sync_login, sync_mkdir
from tornado.httpclient import HTTPClientError

from cs3lab.cs3.errors import Conflict, Locked

NB = {
    "type": "notebook",
    "content": nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
}
RACERS = 20
RACE_RUNS = 10
SHORT_EXPIRY = 10  # the shortest expiry LockService accepts


BACKENDS = {"site-a": "marker", "site-n": "native"}
pytestmark = [pytest.mark.sites(*BACKENDS), pytest.mark.revalidate(0)]


@pytest.fixture
def home(site) -> str:
    """A fresh folder that every user of the site may read and write."""
    path = f"{site.shared}/t-{uuid.uuid4().hex[:10]}"
    sync_mkdir(site, "alice", path)
    return path


async def locks_api(jp_fetch, method: str, sub: str = "", body=None, **params):
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    parts = ["cs3lab", "api", "locks", *([sub] if sub else [])]
    response = await jp_fetch(*parts, **kwargs)
    return json.loads(response.body) if response.body else None


async def locks_api_error(jp_fetch, method: str, sub: str = "", body=None, **params):
    with pytest.raises(HTTPClientError) as info:
        await locks_api(jp_fetch, method, sub, body, **params)
    err = info.value
    return err.code, json.loads(err.response.body).get("message", "")


async def stored(site, home: str, name: str) -> bytes:
    files = user_files(site, "alice")
    try:
        return await files.download(f"{home}/{name}")
    finally:
        files.close()
        await files.client.close()


# -- one user, one server ---------------------------------------------------------------------


async def test_opening_takes_the_lock_and_models_show_it(jp_fetch, site):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    state = await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab-1"})
    assert state["path"] == "nb.ipynb"
    assert state["locked"] and state["mine"] and state["this_session"]
    assert state["lock"]["holder"]["display_name"] == "Alice Anders"
    assert state["lock"]["holder"]["site"] == site.name
    assert state["lock"]["backend"] == BACKENDS[site.name]
    assert abs(datetime.fromisoformat(state["lock"]["since"]).timestamp() - time.time()) < 300
    assert "lock_id" not in json.dumps(state)  # the lock id is the session's secret

    model = await api(jp_fetch, "GET", "nb.ipynb", content="0")
    assert model["writable"] is True
    assert model["lock"]["mine"] and model["lock"]["this_session"]
    listing = await api(jp_fetch, "GET", "")
    # One entry: cs3lab's lock markers (on site A) never show as files.
    assert [c["name"] for c in listing["content"]] == ["nb.ipynb"]
    assert listing["content"][0]["lock"]["holder"]["username"] == "alice"

    await api(jp_fetch, "PUT", "nb.ipynb", NB)  # the holder saves
    await locks_api(jp_fetch, "DELETE", path="nb.ipynb", client="tab-1")
    state = await locks_api(jp_fetch, "GET", path="nb.ipynb")
    assert state["locked"] is False and state["lock"] is None
    listing = await api(jp_fetch, "GET", "")
    assert listing["content"][0]["lock"] is None


async def test_a_second_tab_of_the_same_server_shares_the_lock(jp_fetch):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    for tab in ("tab-1", "tab-2"):
        state = await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": tab})
        assert state["this_session"], tab
    await locks_api(jp_fetch, "DELETE", path="nb.ipynb", client="tab-1")
    state = await locks_api(jp_fetch, "PUT", body={"path": "nb.ipynb", "client": "tab-2"})
    assert state["locked"] and state["this_session"]
    await locks_api(jp_fetch, "DELETE", path="nb.ipynb", client="tab-2")
    assert (await locks_api(jp_fetch, "GET", path="nb.ipynb"))["locked"] is False


async def test_a_save_while_the_last_tab_gives_the_lock_back_is_not_refused(jp_fetch):
    # Closing a notebook right after it opened: JupyterLab's first checkpoint (or a save)
    # can reach the server while the lock is being given back, which takes CS3 calls.
    # That write is this session's own: it must not be refused as "another session".
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    for _ in range(3):
        await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab-1"})
        released, checkpoint, saved = await asyncio.gather(
            locks_api(jp_fetch, "DELETE", path="nb.ipynb", client="tab-1"),
            api(jp_fetch, "POST", "nb.ipynb/checkpoints"),
            api(jp_fetch, "PUT", "nb.ipynb", NB),
            return_exceptions=True,
        )
        for outcome in (released, checkpoint, saved):
            assert not isinstance(outcome, Exception), outcome
        assert (await locks_api(jp_fetch, "GET", path="nb.ipynb"))["locked"] is False


async def test_a_write_that_read_the_lock_before_it_was_given_back_is_not_refused(
    jp_fetch, jp_serverapp, site
):
    # The other order of the same race: the write read the file (with this session's
    # native lock in it) before the last tab gave the lock back, and checks it after.
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab-1"})
    contents = jp_serverapp.contents_manager
    path = contents.cs3_path("nb.ipynb")
    read_before = await contents.files.stat(path)
    await locks_api(jp_fetch, "DELETE", path="nb.ipynb", client="tab-1")
    assert await contents.locks.write_lock_id(path, read_before) == ""
    # A lock this server never held is still refused.
    async with locker(site, "bob") as bob:
        await bob.acquire(path, "bob-tab")
        with pytest.raises(Locked):
            await contents.locks.write_lock_id(path, await contents.files.stat(path))


async def test_a_save_whose_lock_was_given_back_before_it_was_written_is_stored(
    jp_fetch, jp_serverapp, monkeypatch
):
    # The third order: the save checked the lock (this session's: its id goes with the
    # upload), then the last tab gave it back, then the upload arrived with a lock id the
    # storage no longer has (decomposedfs: "not locked"). The save asks again and is stored.
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab-1"})
    locks = jp_serverapp.contents_manager.locks
    real = locks.write_lock_id
    asked: list[str] = []

    async def then_given_back(path, info):
        lock_id = await real(path, info)
        asked.append(lock_id)
        if len(asked) == 1:
            await locks_api(jp_fetch, "DELETE", path="nb.ipynb", client="tab-1")
        return lock_id

    monkeypatch.setattr(locks, "write_lock_id", then_given_back)
    edited = {**NB, "content": {**NB["content"], "metadata": {"given_back": True}}}
    model = await api(jp_fetch, "PUT", "nb.ipynb", edited)
    assert model["name"] == "nb.ipynb"
    assert asked[0]  # the first check found this session's lock
    stored = await api(jp_fetch, "GET", "nb.ipynb")
    assert stored["content"]["metadata"] == {"given_back": True}
    assert (await locks_api(jp_fetch, "GET", path="nb.ipynb"))["locked"] is False


async def test_bad_lock_requests_get_clear_4xx(jp_fetch):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    await api(jp_fetch, "PUT", "folder", {"type": "directory"})
    cases = [
        ("POST", "", {"path": "missing.ipynb", "client": "t"}, {}, 404, "missing.ipynb"),
        ("POST", "", {"path": "folder", "client": "t"}, {}, 400, "folder"),
        ("POST", "", {"path": "nb.ipynb"}, {}, 400, "client"),
        ("POST", "", {"path": "../outside.ipynb", "client": "t"}, {}, 400, ".."),
        ("GET", "", None, {"path": "missing.ipynb"}, 404, "missing.ipynb"),
        ("PUT", "", {"path": "nb.ipynb", "client": "t"}, {}, 409, "do not hold"),
        ("POST", "requests", {"path": "nb.ipynb"}, {}, 409, "Nobody holds"),
        ("POST", "handover", {"path": "nb.ipynb", "requester": "bob"}, {}, 400, "grant"),
        ("POST", "handover", {"path": "nb.ipynb", "requester": "bob", "grant": True}, {}, 409, ""),
    ]
    for method, sub, body, params, status, words in cases:
        code, message = await locks_api_error(jp_fetch, method, sub, body, **params)
        assert code == status, (method, sub, body, params, code, message)
        assert words in message, (method, sub, body, message)
    code, message = await locks_api_error(jp_fetch, "DELETE", path="nb.ipynb")
    assert code == 400 and "client" in message
    # Not JSON at all.
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("cs3lab", "api", "locks", method="POST", body="{not json")
    assert info.value.code == 400


# -- someone else holds the file ---------------------------------------------------------------


async def test_a_non_holders_save_rename_and_delete_are_refused_and_nothing_changes(
    jp_fetch, site, home
):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    before = await stored(site, home, "nb.ipynb")
    async with locker(site, "bob") as bob:
        await bob.acquire(f"{home}/nb.ipynb", "bob-tab")
        model = await api(jp_fetch, "GET", "nb.ipynb")
        assert model["writable"] is False
        assert model["lock"]["holder"]["display_name"] == "Bob Berger"
        assert model["lock"]["mine"] is False

        changed = model["content"]
        changed["cells"][0]["source"] = "x = 'overwritten'"
        attempts = [
            ("PUT", "nb.ipynb", {"type": "notebook", "content": changed}),
            ("PATCH", "nb.ipynb", {"path": "renamed.ipynb"}),
            ("DELETE", "nb.ipynb", None),
        ]
        for method, path, body in attempts:
            code, message = await api_error(jp_fetch, method, path, body)
            assert code == 423, (method, code, message)
            assert "Bob Berger" in message and "nb.ipynb" in message, message
            assert "Nothing was written" in message
        assert await stored(site, home, "nb.ipynb") == before
        listing = await api(jp_fetch, "GET", "")
        assert [c["name"] for c in listing["content"]] == ["nb.ipynb"]
        # Alice's own lock request is refused too, naming the holder.
        code, message = await locks_api_error(
            jp_fetch, "POST", body={"path": "nb.ipynb", "client": "alice-tab"}
        )
        assert code == 423 and "Bob Berger" in message
    # Bob closed: alice can write again.
    await api(jp_fetch, "PUT", "nb.ipynb", {"type": "notebook", "content": changed})
    assert b"overwritten" in await stored(site, home, "nb.ipynb")


async def test_the_holder_renames_and_the_lock_follows(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab"})
    await api(jp_fetch, "PATCH", "nb.ipynb", {"path": "moved.ipynb"})
    async with locker(site, "bob") as bob:
        state = await bob.inspect(f"{home}/moved.ipynb")
        assert state.lock is not None and state.lock.holder.username == "alice"
        with pytest.raises(Locked):
            await bob.acquire(f"{home}/moved.ipynb", "bob-tab")
    await api(jp_fetch, "PUT", "moved.ipynb", NB)  # still the holder's to save
    await api(jp_fetch, "DELETE", "moved.ipynb")
    assert (await api(jp_fetch, "GET", ""))["content"] == []


async def test_the_same_user_on_another_server_sees_another_session_and_can_take_over(
    jp_fetch, site, home
):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    async with locker(site, "alice") as laptop:  # alice's other Jupyter server
        await laptop.acquire(f"{home}/nb.ipynb", "laptop-tab")
        model = await api(jp_fetch, "GET", "nb.ipynb", content="0")
        assert model["writable"] is False
        assert model["lock"]["mine"] is True and model["lock"]["this_session"] is False
        code, message = await locks_api_error(
            jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab"}
        )
        assert code == 423 and "another session" in message
        state = await locks_api(
            jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab", "takeover": True}
        )
        assert state["this_session"]
        await api(jp_fetch, "PUT", "nb.ipynb", NB)
        # The laptop's next heartbeat learns that its lock is gone, and from whom.
        with pytest.raises(Conflict, match="took over"):
            await laptop.refresh(f"{home}/nb.ipynb", "laptop-tab")


async def test_request_edit_hand_over_and_reservation(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    path = f"{home}/nb.ipynb"
    async with locker(site, "bob") as bob, locker(site, "carol") as carol:
        await bob.acquire(path, "bob-tab")
        state = await locks_api(jp_fetch, "POST", "requests", {"path": "nb.ipynb"})
        assert state["my_request"]["state"] == "pending"
        assert state["requests"] == []  # requests are shown to the holder only

        seen = await bob.refresh(path, "bob-tab")
        assert [r.requester.username for r in seen.requests] == ["alice"]
        await bob.answer_request(path, "alice", grant=True)  # bob saved, hands over

        # Released and reserved for alice: carol cannot snatch it in between.
        with pytest.raises(Locked, match="handed over to Alice Anders"):
            await carol.acquire(path, "carol-tab")
        state = await locks_api(jp_fetch, "GET", path="nb.ipynb")
        assert state["locked"] is False and state["my_request"]["state"] == "granted"
        assert state["my_request"]["answered_by"]["display_name"] == "Bob Berger"
        state = await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab"})
        assert state["this_session"] and state["my_request"] is None  # used up
        await api(jp_fetch, "PUT", "nb.ipynb", NB)
        with pytest.raises(Locked, match="Alice Anders"):
            await bob.acquire(path, "bob-tab")


async def test_a_declined_request_tells_the_requester(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    path = f"{home}/nb.ipynb"
    async with locker(site, "bob") as bob:
        await bob.acquire(path, "bob-tab")
        await locks_api(jp_fetch, "POST", "requests", {"path": "nb.ipynb"})
        await bob.answer_request(path, "alice", grant=False)
        state = await locks_api(jp_fetch, "GET", path="nb.ipynb")
        assert state["my_request"]["state"] == "declined"
        assert state["lock"]["holder"]["username"] == "bob"
        with pytest.raises(Exception, match="has not asked"):
            await bob.answer_request(path, "carol", grant=True)
        await locks_api(jp_fetch, "DELETE", "requests", path="nb.ipynb")
        state = await locks_api(jp_fetch, "GET", path="nb.ipynb")
        assert state["my_request"] is None
    assert [c["name"] for c in (await api(jp_fetch, "GET", ""))["content"]] == ["nb.ipynb"]


async def test_a_non_holder_cannot_restore_a_checkpoint(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    await api(jp_fetch, "PUT", "nb.ipynb", NB)  # a second write keeps a version
    checkpoints = await jp_fetch("api", "contents", "nb.ipynb", "checkpoints")
    versions = json.loads(checkpoints.body)
    assert versions, "the storage kept no version"
    before = await stored(site, home, "nb.ipynb")
    async with locker(site, "bob") as bob:
        await bob.acquire(f"{home}/nb.ipynb", "bob-tab")
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch(
                "api",
                "contents",
                "nb.ipynb",
                "checkpoints",
                versions[0]["id"],
                method="POST",
                body="",
            )
        message = info.value.response.body.decode()
        assert info.value.code == 423, message
        assert "Bob Berger" in json.loads(message)["message"]
    assert await stored(site, home, "nb.ipynb") == before


@pytest.mark.sites("site-n")  # site A has no native locks for another app to set
async def test_a_lock_of_another_cs3_application_makes_the_file_read_only(jp_fetch, site, home):
    """Another CS3 app (here a plain gRPC client calling itself "wopi") locks the file
    natively: cs3lab shows it read-only, names the app, refuses to write, and cannot take it."""
    await api(jp_fetch, "PUT", "notes.txt", text_model("original\n"))
    channel, stub, metadata = sync_login(site, "bob")
    with channel:
        info = stub.Stat(
            sp.StatRequest(ref=res.Reference(path=f"{home}/notes.txt")), metadata=metadata
        ).info
        idp, opaque_id = site.user_id("bob")
        lock = res.Lock(
            lock_id="wopi-session-42",
            type=res.LOCK_TYPE_WRITE,
            app_name="wopi",
            user=user_res.UserId(idp=idp, opaque_id=opaque_id, type=1),
            expiration=types_pb2.Timestamp(seconds=int(time.time()) + 300),
        )
        made = stub.SetLock(
            sp.SetLockRequest(ref=res.Reference(resource_id=info.id), lock=lock), metadata=metadata
        )
        assert made.status.code == 1, made.status.message
        try:
            model = await api(jp_fetch, "GET", "notes.txt")
            assert model["writable"] is False
            assert model["lock"]["holder"]["app"] == "wopi"
            assert model["lock"]["holder"]["display_name"] == "Bob Berger"
            code, message = await api_error(jp_fetch, "PUT", "notes.txt", text_model("mine\n"))
            assert code == 423 and "Bob Berger" in message and "in wopi" in message
            code, message = await locks_api_error(
                jp_fetch, "POST", body={"path": "notes.txt", "client": "t", "takeover": True}
            )
            assert code == 423 and "wopi" in message
            assert await stored(site, home, "notes.txt") == b"original\n"
        finally:
            stub.Unlock(
                sp.UnlockRequest(ref=res.Reference(resource_id=info.id), lock=lock),
                metadata=metadata,
            )


# -- expiry --------------------------------------------------------------------------------------


async def test_a_holder_that_stops_refreshing_loses_the_lock(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    path = f"{home}/nb.ipynb"
    async with locker(site, "bob", expiry=SHORT_EXPIRY) as bob:
        state = await bob.acquire(path, "bob-tab")  # ... and then bob's laptop is closed
        expires = state.lock.expires
        code, _ = await locks_api_error(
            jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab"}
        )
        assert code == 423
        await asyncio.sleep(max(0.0, expires - time.time()) + 1.5)
        model = await api(jp_fetch, "GET", "nb.ipynb", content="0")
        assert model["lock"] is None and model["writable"] is True
        state = await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab"})
        assert state["this_session"]
        # Bob comes back: his heartbeat is refused, naming who holds the file now.
        with pytest.raises(Conflict, match="expired; Alice Anders"):
            await bob.refresh(path, "bob-tab")
        with pytest.raises(Locked):
            await bob.acquire(path, "bob-tab")


# -- many at once ---------------------------------------------------------------------------------


async def test_twenty_users_racing_for_a_lock_end_with_exactly_one_holder(site, home):
    path = f"{home}/race.ipynb"
    files = user_files(site, "alice")
    await files.upload(path, nbformat.writes(NB["content"]).encode())
    files.close()
    await files.client.close()
    names = [f"racer{i:02d}" for i in range(1, RACERS + 1)]
    holders_per_run = []
    async with _lockers(site, names) as racers:
        for _ in range(RACE_RUNS):
            results = await asyncio.gather(
                *(r.acquire(path, f"tab-{n}") for r, n in zip(racers, names, strict=True)),
                return_exceptions=True,
            )
            winners = [
                n for n, r in zip(names, results, strict=True) if not isinstance(r, Exception)
            ]
            errors = [r for r in results if isinstance(r, Exception)]
            assert all(isinstance(e, Locked) for e in errors), [
                repr(e) for e in errors if not isinstance(e, Locked)
            ]
            holders_per_run.append(winners)
            assert len(winners) == 1, winners
            winner = racers[names.index(winners[0])]
            state = await racers[0].inspect(path)
            assert state.lock.holder.username == winners[0]
            await winner.release(path, f"tab-{winners[0]}")
    print(f"{site.name}: holders per run {holders_per_run}")


class _lockers:
    """Several LockServices at once, each as its own user."""

    def __init__(self, site, names):
        self.contexts = [locker(site, n) for n in names]

    async def __aenter__(self):
        return [await c.__aenter__() for c in self.contexts]

    async def __aexit__(self, *exc):
        for c in self.contexts:
            await c.__aexit__(*exc)


# -- two real Jupyter servers, two users ---------------------------------------------------------


def test_two_jupyter_servers_as_two_users_see_each_others_locks(site, home, tmp_path):
    alice = start_server(site, "alice", home, tmp_path / "alice")
    bob = start_server(site, "bob", home, tmp_path / "bob")
    try:
        status, _ = alice.request("PUT", "api/contents/shared.ipynb", NB)
        assert status == 201
        status, state = alice.request(
            "POST", "cs3lab/api/locks", {"path": "shared.ipynb", "client": "alice-tab"}
        )
        assert status == 200 and state["this_session"], state

        status, model = bob.request("GET", "api/contents/shared.ipynb")
        assert status == 200
        assert model["writable"] is False
        assert model["lock"]["holder"]["display_name"] == "Alice Anders"
        status, listing = bob.request("GET", "api/contents")
        (entry,) = [e for e in listing["content"] if e["name"] == "shared.ipynb"]
        assert entry["lock"]["holder"]["username"] == "alice"
        status, body = bob.request("PUT", "api/contents/shared.ipynb", NB)
        assert status == 423 and "Alice Anders" in body["message"], body
        status, body = bob.request(
            "POST", "cs3lab/api/locks", {"path": "shared.ipynb", "client": "bob-tab"}
        )
        assert status == 423 and "Alice Anders" in body["message"], body

        # Alice closes the notebook; bob's server sees it free and takes it.
        status, _ = alice.request("DELETE", "cs3lab/api/locks?path=shared.ipynb&client=alice-tab")
        assert status == 204
        status, state = bob.request(
            "POST", "cs3lab/api/locks", {"path": "shared.ipynb", "client": "bob-tab"}
        )
        assert status == 200 and state["this_session"], state
        status, model = alice.request("GET", "api/contents/shared.ipynb?content=0")
        assert model["writable"] is False
        assert model["lock"]["holder"]["display_name"] == "Bob Berger"
    finally:
        alice.stop()
        bob.stop()
    # Bob's server stopped: it gave its lock back on the way out.
    assert asyncio.run(lock_seen_by(site, "carol", f"{home}/shared.ipynb")) is None


async def lock_seen_by(site, username: str, path: str):
    async with locker(site, username) as service:
        return (await service.inspect(path)).lock


# -- markers are data from anyone who may write the folder ------------------------------------

SECRET = "cs3lab:site-a:1:not-to-be-logged"


async def forge(site, path: str, key: str, record) -> None:
    """Bob writes a marker folder at ``path`` with ``record`` as its ``key`` metadata, with
    the CS3 client directly (not through cs3lab's lock code)."""
    async with signed_in(site, "bob") as bob:
        await bob.mkdir(path)
        raw = record if isinstance(record, str) else json.dumps(record)
        await bob.set_metadata(path, {key: raw})


def bob(site) -> dict:
    idp, opaque_id = site.user_id("bob")
    return {"idp": idp, "opaque_id": opaque_id, "username": "bob", "display_name": "Bob Berger"}


def lock_record(site, **fields) -> dict:
    now = time.time()
    return {"lock_id": SECRET, "holder": bob(site), "since": now, "expires": now + 100, **fields}


async def test_malformed_lock_markers_are_ignored_reported_and_never_a_500(
    jp_fetch, site, home, caplog
):
    malformed = {
        "null-expiry.ipynb": lock_record(site, expires=None),
        "text-expiry.ipynb": lock_record(site, expires="never"),
        "text-since.ipynb": lock_record(site, since="yesterday"),
        "bad-holder.ipynb": lock_record(site, holder="bob"),
        "holder-path.ipynb": lock_record(site, holder={**bob(site), "username": "../x"}),
        "not-json.ipynb": "{not json",
    }
    for name, record in malformed.items():
        await api(jp_fetch, "PUT", name, NB)
        await forge(site, f"{home}/.cs3lab-lock.{name}.1", "cs3lab.lock", record)
    for _ in range(2):  # every listing of the folder answers, for alice and for carol
        listing = await api(jp_fetch, "GET", "")
        assert sorted(c["name"] for c in listing["content"]) == sorted(malformed)
        assert all(c["lock"] is None and c["writable"] for c in listing["content"])
    async with locker(site, "carol") as carol:
        seen = [(await carol.inspect(f"{home}/{n}")).lock for n in malformed]
        assert seen == [None] * len(malformed)
    for name in malformed:
        state = await locks_api(jp_fetch, "GET", path=name)
        assert state["locked"] is False
        (stale,) = state["stale_markers"]
        assert stale["marker"] == f".cs3lab-lock.{name}.1" and "malformed" in stale["problem"]
        state = await locks_api(jp_fetch, "POST", body={"path": name, "client": "tab"})
        assert state["this_session"], name
        await locks_api(jp_fetch, "DELETE", path=name, client="tab")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    for name in malformed:  # once each, however often the marker was read
        assert len([w for w in warnings if f".cs3lab-lock.{name}.1" in w]) == 1, warnings
    assert not any(SECRET in w for w in warnings)


@pytest.mark.sites("site-a")  # markers are the locks here
async def test_a_far_future_marker_expires_within_what_cs3lab_grants(jp_fetch, site, home):
    now = time.time()
    await api(jp_fetch, "PUT", "legacy.ipynb", NB)
    await api(jp_fetch, "PUT", "current.ipynb", NB)
    # The earlier format, taken long ago with an expiry ten years ahead: expired by now.
    legacy = lock_record(site, since=now - 1000, expires=now + 10 * 365 * 86400)
    await forge(site, f"{home}/.cs3lab-lock.legacy.ipynb.1", "cs3lab.lock", legacy)
    state = await locks_api(jp_fetch, "GET", path="legacy.ipynb")
    assert state["locked"] is False and state["stale_markers"][0]["problem"] == "expired"
    state = await locks_api(jp_fetch, "POST", body={"path": "legacy.ipynb", "client": "t"})
    assert state["this_session"]
    # Written just now, ten years ahead: held at most expiry_seconds (120) from now.
    current = lock_record(site, refreshed=now, expires=now + 10 * 365 * 86400)
    await forge(site, f"{home}/.cs3lab-lock.current.ipynb.1", "cs3lab.lock", current)
    state = await locks_api(jp_fetch, "GET", path="current.ipynb")
    assert state["locked"] and state["lock"]["holder"]["username"] == "bob"
    expires = datetime.fromisoformat(state["lock"]["expires"]).timestamp()
    assert expires <= now + state["expiry_seconds"] + 1


@pytest.mark.sites("site-a")
async def test_a_marker_keeps_no_lock_id_only_its_digest(jp_fetch, jp_serverapp, site, home):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab"})
    locks = jp_serverapp.contents_manager.locks
    lock_id = locks._sessions[f"{home}/nb.ipynb"].lock_id
    async with signed_in(site, "carol") as carol:
        entries = await carol.list(home, ["cs3lab.lock"])
    (record,) = [e.arbitrary_metadata.metadata["cs3lab.lock"] for e in entries if "lock." in e.path]
    assert lock_id not in record and "lock_id" not in record
    assert json.loads(record)["lock_digest"].startswith("sha256:")
    # The holder still recognises its marker: saves, heartbeats and release work.
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    state = await locks_api(jp_fetch, "PUT", body={"path": "nb.ipynb", "client": "tab"})
    assert state["this_session"]
    async with locker(site, "bob") as other:
        with pytest.raises(Locked, match="Alice Anders"):
            await other.acquire(f"{home}/nb.ipynb", "bob-tab")
    await locks_api(jp_fetch, "DELETE", path="nb.ipynb", client="tab")
    assert (await locks_api(jp_fetch, "GET", path="nb.ipynb"))["locked"] is False


async def test_a_forged_hand_over_reserves_nothing(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    idp, carol_id = site.user_id("carol")
    carol = {"idp": idp, "opaque_id": carol_id, "username": "carol"}
    now = time.time()
    # Bob grants himself the file "from carol", who never held it, for ten years.
    forged = {
        "requester": bob(site),
        "at": now,
        "state": "granted",
        "answered_by": carol,
        "answered_at": now,
        "reserved_until": now + 10 * 365 * 86400,
    }
    await forge(site, f"{home}/.cs3lab-request.nb.ipynb.bob", "cs3lab.request", forged)
    state = await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab"})
    assert state["this_session"]
    # A request folder named for bob whose record names a path as its requester: not a
    # request of anyone, and no answer to it can build a path.
    elsewhere = {**forged, "state": "pending", "requester": {**bob(site), "username": "../x"}}
    await forge(site, f"{home}/.cs3lab-request.nb.ipynb.dave", "cs3lab.request", elsewhere)
    state = await locks_api(jp_fetch, "GET", path="nb.ipynb")
    assert state["requests"] == [] and state["this_session"]
    code, message = await locks_api_error(
        jp_fetch, "POST", "handover", {"path": "nb.ipynb", "requester": "../x", "grant": True}
    )
    assert code == 400 and "username" in message
    await locks_api(jp_fetch, "DELETE", path="nb.ipynb", client="tab")


async def test_stale_markers_can_be_cleared_but_never_a_live_lock(jp_fetch, site, home):
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    now = time.time()
    expired = lock_record(site, since=now - 500, refreshed=now - 300, expires=now - 180)
    await forge(site, f"{home}/.cs3lab-lock.nb.ipynb.1", "cs3lab.lock", expired)
    await forge(site, f"{home}/.cs3lab-lock.nb.ipynb.2", "cs3lab.lock", {"expires": None})
    await forge(site, f"{home}/.cs3lab-request.nb.ipynb.bob", "cs3lab.request", "[]")
    state = await locks_api(jp_fetch, "GET", path="nb.ipynb")
    problems = sorted(m["problem"].split(":")[0] for m in state["stale_markers"])
    assert problems == (["expired", "malformed", "malformed"]), state["stale_markers"]

    state = await locks_api(jp_fetch, "DELETE", "markers", path="nb.ipynb")
    assert state["stale_markers"] == [] and state["locked"] is False
    async with signed_in(site, "alice") as files:
        left = [e.path for e in await files.list(home) if ".cs3lab-" in e.path]
    assert len(left) <= 1, left  # at most one released marker (site A keeps the top one)

    async with locker(site, "bob") as holder:
        await holder.acquire(f"{home}/nb.ipynb", "bob-tab")
        code, message = await locks_api_error(jp_fetch, "DELETE", "markers", path="nb.ipynb")
        assert code == 423 and "Bob Berger" in message
        assert (await holder.refresh(f"{home}/nb.ipynb", "bob-tab")).lock is not None


# -- CERN's cs3client on a storage without native locks (its advisory lock) ---------------------


def cs3client_as(site, username: str):
    """CERN's cs3client signed in as ``username`` at the site's gateway (basic auth), told that
    the storage has no locks (site-a's local driver answers lock calls with an internal error,
    not "not implemented", so cs3client is configured to keep its advisory lock)."""
    import configparser
    import logging

    from cs3client.auth import Auth
    from cs3client.cs3client import CS3Client

    config = configparser.ConfigParser()
    config["cs3client"] = {
        "host": site.gateway,
        "auth_login_type": "basic",
        "auth_client_id": username,
        "lock_by_setting_attr": "True",
        "lock_not_impl": "True",
    }
    client = CS3Client(config, "cs3client", logging.getLogger("cs3client"))
    auth = Auth(client)
    auth.set_client_secret(site.secret_file(username).read_text())
    return client, auth.get_token()


def advlock_of(client, token, resource) -> str:
    """The raw cs3client.advlock of a file ("" when none)."""
    info = client.file.stat(token, resource)
    return info.arbitrary_metadata.metadata.get("cs3client.advlock", "")


@pytest.mark.sites("site-a")
async def test_a_cs3client_lock_makes_the_file_read_only_until_it_expires(jp_fetch, site, home):
    from cs3client.cs3resource import Resource
    from cs3client.file import LOCK_ATTR_KEY

    await api(jp_fetch, "PUT", "notes.txt", text_model("original\n"))
    client, token = cs3client_as(site, "bob")
    resource = Resource(abs_path=f"{home}/notes.txt")
    expiry = int(time.time()) + 4
    # What cs3client's set_lock writes on such a storage. Its own set_lock is not used: with
    # protobuf >= 5 (upb) a missing map key reads as "" instead of raising KeyError, so
    # cs3client 1.7.1 believes the file locked already and writes nothing.
    client.file.set_xattr(token, resource, LOCK_ATTR_KEY, f"cs3-jupyter!bob-1!{expiry}")
    assert client.file.get_lock(token, resource)["app_name"] == "cs3-jupyter"

    model = await api(jp_fetch, "GET", "notes.txt")
    assert model["writable"] is False and model["lock"]["holder"]["app"] == "cs3-jupyter"
    listing = await api(jp_fetch, "GET", "")
    (entry,) = [m for m in listing["content"] if m["name"] == "notes.txt"]
    assert entry["writable"] is False and entry["lock"]["holder"]["app"] == "cs3-jupyter"
    code, message = await api_error(jp_fetch, "PUT", "notes.txt", text_model("mine\n"))
    assert code == 423 and "cs3-jupyter" in message and "Nothing was written" in message
    code, message = await locks_api_error(
        jp_fetch, "POST", body={"path": "notes.txt", "client": "t", "takeover": True}
    )
    assert code == 423 and "cs3-jupyter" in message
    assert await stored(site, home, "notes.txt") == b"original\n"

    await asyncio.sleep(max(0.0, expiry - time.time()) + 0.2)  # the advisory lock expires
    model = await api(jp_fetch, "GET", "notes.txt")
    assert model["writable"] is True and model["lock"] is None
    await api(jp_fetch, "PUT", "notes.txt", text_model("mine\n"))
    assert await stored(site, home, "notes.txt") == b"mine\n"


@pytest.mark.sites("site-a")
async def test_cs3client_apps_see_a_cs3lab_lock_as_their_advisory_lock(
    jp_fetch, jp_serverapp, site, home
):
    from cs3client.cs3resource import Resource
    from cs3client.exceptions import FileLockedException

    before = await api(jp_fetch, "PUT", "nb.ipynb", NB)
    await locks_api(jp_fetch, "POST", body={"path": "nb.ipynb", "client": "tab"})
    lock_id = jp_serverapp.contents_manager.locks._sessions[f"{home}/nb.ipynb"].lock_id
    # Publishing the lock in the file's metadata does not make the file look changed.
    model = await api(jp_fetch, "GET", "nb.ipynb", content="0")
    assert model["last_modified"] == before["last_modified"]
    client, token = cs3client_as(site, "bob")
    resource = Resource(abs_path=f"{home}/nb.ipynb")

    lock = client.file.get_lock(token, resource)
    assert lock["app_name"] == "cs3lab" and lock["lock_id"].startswith("sha256:")
    assert lock["expiration"] > time.time()
    assert lock_id not in advlock_of(client, token, resource)
    # cs3client's own lock attempts: set_lock leaves the file cs3lab's, refresh and unlock
    # are refused as locked.
    client.file.set_lock(token, resource, "cs3-jupyter", "bob-1")
    assert client.file.get_lock(token, resource)["app_name"] == "cs3lab"
    with pytest.raises(FileLockedException):
        client.file.refresh_lock(token, resource, "cs3-jupyter", "bob-1")
    with pytest.raises(FileLockedException):
        client.file.unlock(token, resource, "cs3-jupyter", "bob-1")
    await api(jp_fetch, "PUT", "nb.ipynb", NB)  # alice still saves: the marker is her lock

    await locks_api(jp_fetch, "DELETE", path="nb.ipynb", client="tab")
    assert advlock_of(client, token, resource) == ""


@pytest.mark.sites("site-a")
async def test_cs3labs_advisory_lock_follows_the_heartbeat_and_alone_is_no_lock(
    jp_fetch, site, home
):
    from cs3client.cs3resource import Resource
    from cs3client.file import LOCK_ATTR_KEY

    await api(jp_fetch, "PUT", "notes.txt", text_model("original\n"))
    path = f"{home}/notes.txt"
    client, token = cs3client_as(site, "carol")
    resource = Resource(abs_path=path)
    async with locker(site, "bob", expiry=SHORT_EXPIRY) as bob:
        await bob.acquire(path, "bob-tab")
        first = client.file.get_lock(token, resource)
        assert first["app_name"] == "cs3lab"
        bob._sessions[path].refreshed -= SHORT_EXPIRY  # due for its refresh in the storage
        await asyncio.sleep(1.1)  # expiries are whole seconds
        await bob.refresh(path, "bob-tab")
        again = client.file.get_lock(token, resource)
        assert again["lock_id"] == first["lock_id"]
        assert again["expiration"] > first["expiration"]
    assert advlock_of(client, token, resource) == ""  # given back: removed

    # One naming cs3lab with no marker behind it (a server that stopped) is no lock.
    left = f"cs3lab!{again['lock_id']}!{int(time.time()) + 600}"
    client.file.set_xattr(token, resource, LOCK_ATTR_KEY, left)
    model = await api(jp_fetch, "GET", "notes.txt")
    assert model["writable"] is True and model["lock"] is None
    await api(jp_fetch, "PUT", "notes.txt", text_model("mine\n"))
    await locks_api(jp_fetch, "POST", body={"path": "notes.txt", "client": "tab"})
    assert client.file.get_lock(token, resource)["lock_id"] != again["lock_id"]
    await locks_api(jp_fetch, "DELETE", path="notes.txt", client="tab")
