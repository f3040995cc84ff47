"""What each action costs the CS3 site, in gateway calls, on both lock backends.

JupyterLab polls all day (every open document stats its file, every file browser lists its
folder, every holder heartbeats), so behind a Hub these calls are most of the load cs3lab puts
on a site. cs3lab's CS3 client counts the calls it makes (``CS3Client.calls``); each test does
one action through the REST API of a real Jupyter server against a real revad and compares the
calls with the action's budget, exactly: a test fails when a call is added (or saved: then
lower the budget). Site A: Reva v3, lock markers; site N: Reva v2, native CS3 locks.
Each action's own calls are counted with the user's metadata cache emptied of Stats and
listings first (share state stays: one entry per user, here kept for the whole test); a poll
answered from the cache costs none (tests/test_cache.py).
"""

from __future__ import annotations

import pytest
from helpers import CallMeter, api, cs3lab_api, text_model

pytestmark = [pytest.mark.sites("site-a", "site-n"), pytest.mark.revalidate(600)]

NB = {
    "type": "notebook",
    "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
}
FILES_IN_FOLDER = (5, 40)

# The same everywhere: a stat, an open and a listing of any size are one call each (plus
# the download), lock and share state included (lock state from the Stat or the listing
# itself; share state from a per-user cache: tests/test_sharing.py).
STAT = {"Stat": 1}
OPEN = {"Stat": 1, "InitiateFileDownload": 1}
LIST = {"Stat": 1, "ListContainer": 1}
# A heartbeat is one listing of the file's folder (its lock, markers and requests to edit).
# Per backend: the marker backend lists the file's folder where a native lock is in the Stat.
BUDGETS = {
    "site-a": {
        "stat of a locked file": {"Stat": 1, "ListContainer": 1},
        "heartbeat": {"ListContainer": 1},
        "save by the lock holder": {"Stat": 2, "ListContainer": 2, "InitiateFileUpload": 1},
        "save of an unlocked file": {"Stat": 2, "ListContainer": 1, "InitiateFileUpload": 1},
        "rename": {"Stat": 3, "ListContainer": 1, "Move": 1},
        "delete": {"Stat": 1, "ListContainer": 1, "Delete": 1},
        "new notebook": {"Stat": 4, "InitiateFileUpload": 1},
    },
    "site-n": {
        "stat of a locked file": {"Stat": 1},
        "heartbeat": {"ListContainer": 1},
        "save by the lock holder": {"Stat": 2, "InitiateFileUpload": 1},
        "save of an unlocked file": {"Stat": 2, "InitiateFileUpload": 1},
        "rename": {"Stat": 3, "Move": 1},
        "delete": {"Stat": 1, "Delete": 1},
        "new notebook": {"Stat": 4, "InitiateFileUpload": 1},
    },
}


async def locks_api(jp_fetch, method: str, body=None, **params):
    return await cs3lab_api(jp_fetch, method, "locks", body=body, **params)


async def prepared(jp_fetch, contents) -> CallMeter:
    """A folder with a notebook and a file, listed and stated once (the caches warm, as in a
    session that is under way), and the meter of the server's calls."""
    await api(jp_fetch, "PUT", "nb.ipynb", NB)
    await api(jp_fetch, "PUT", "notes.txt", text_model("notes"))
    await api(jp_fetch, "GET", "")
    await api(jp_fetch, "GET", "nb.ipynb", content="0")
    return CallMeter(contents, forget_metadata=True)


async def test_a_stat_is_one_call(jp_fetch, contents):
    meter = await prepared(jp_fetch, contents)
    for _ in range(2):
        assert await meter.cost(api(jp_fetch, "GET", "nb.ipynb", content="0")) == STAT


async def test_an_open_is_a_stat_and_a_download(jp_fetch, contents):
    meter = await prepared(jp_fetch, contents)
    assert await meter.cost(api(jp_fetch, "GET", "nb.ipynb")) == OPEN


async def test_a_listing_is_one_call_whatever_its_size(jp_fetch, contents):
    meter = await prepared(jp_fetch, contents)
    for count in FILES_IN_FOLDER:
        await api(jp_fetch, "PUT", f"many{count}", {"type": "directory"})
        for i in range(count):
            await api(jp_fetch, "PUT", f"many{count}/f{i}.txt", text_model(str(i)))
        await locks_api(jp_fetch, "POST", {"path": f"many{count}/f0.txt", "client": "tab-1"})
        assert await meter.cost(api(jp_fetch, "GET", f"many{count}")) == LIST
        listing = await api(jp_fetch, "GET", f"many{count}")
        assert len(listing["content"]) == count
        locked = [e for e in listing["content"] if e["lock"]]
        assert [e["name"] for e in locked] == ["f0.txt"]  # lock state without more calls


async def test_lock_state_in_stats_and_heartbeats(jp_fetch, contents, site):
    meter = await prepared(jp_fetch, contents)
    budget = BUDGETS[site.name]
    await locks_api(jp_fetch, "POST", {"path": "nb.ipynb", "client": "tab-1"})
    model = await api(jp_fetch, "GET", "nb.ipynb", content="0")
    assert model["lock"]["mine"] and model["lock"]["this_session"]
    cost = await meter.cost(api(jp_fetch, "GET", "nb.ipynb", content="0"))
    assert cost == budget["stat of a locked file"]
    beat = {"path": "nb.ipynb", "client": "tab-1"}
    assert await meter.cost(locks_api(jp_fetch, "PUT", beat)) == budget["heartbeat"]


async def test_saves(jp_fetch, contents, site):
    meter = await prepared(jp_fetch, contents)
    budget = BUDGETS[site.name]
    cost = await meter.cost(api(jp_fetch, "PUT", "nb.ipynb", NB))
    assert cost == budget["save of an unlocked file"]
    await locks_api(jp_fetch, "POST", {"path": "nb.ipynb", "client": "tab-1"})
    cost = await meter.cost(api(jp_fetch, "PUT", "nb.ipynb", NB))
    assert cost == budget["save by the lock holder"]


async def test_new_rename_delete(jp_fetch, contents, site):
    meter = await prepared(jp_fetch, contents)
    budget = BUDGETS[site.name]
    cost = await meter.cost(api(jp_fetch, "POST", "", {"type": "notebook"}))
    assert cost == budget["new notebook"]  # Untitled.ipynb: one name tried
    cost = await meter.cost(api(jp_fetch, "PATCH", "notes.txt", {"path": "renamed.txt"}))
    assert cost == budget["rename"]
    assert await meter.cost(api(jp_fetch, "DELETE", "renamed.txt")) == budget["delete"]
