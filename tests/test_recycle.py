"""The recycle bin through /cs3lab/api/recycle, against a real revad: list, restore, restore
onto a taken name, purge one, purge all; a storage without a bin answers 501."""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

import pytest
from helpers import api, api_error, text_model
from site_runner import sync_login, sync_mkdir, sync_public_link, sync_upload
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.sites("site-a", "site-n")


async def recycle(jp_fetch, method: str = "GET", *parts: str, body=None, **params):
    kwargs: dict = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("cs3lab", "api", "recycle", *parts, **kwargs)
    return json.loads(response.body) if response.body else None


async def recycle_error(jp_fetch, method: str, *parts: str, body=None, **params):
    with pytest.raises(HTTPClientError) as info:
        await recycle(jp_fetch, method, *parts, body=body, **params)
    return info.value.code, json.loads(info.value.response.body)


async def items(jp_fetch) -> dict[str, dict]:
    return {item["path"]: item for item in (await recycle(jp_fetch))["items"]}


async def delete(jp_fetch, path: str) -> None:
    await api(jp_fetch, "DELETE", path)


async def test_deleted_files_and_folders_are_listed_with_path_size_and_date(jp_fetch, contents):
    started = time.time()
    await api(jp_fetch, "PUT", "notes ✓.txt", text_model("hello recycle bin\n"))
    await api(jp_fetch, "PUT", "runs", {"type": "directory"})
    await api(jp_fetch, "PUT", "runs/a.txt", text_model("a" * 1000))
    await api(jp_fetch, "PUT", "kept.txt", text_model("stays"))
    await delete(jp_fetch, "notes ✓.txt")
    await delete(jp_fetch, "runs")
    found = await items(jp_fetch)
    assert sorted(found) == ["notes ✓.txt", "runs"]
    note, folder = found["notes ✓.txt"], found["runs"]
    assert (note["name"], note["type"], note["size"]) == ("notes ✓.txt", "file", 18)
    assert folder["type"] == "directory"
    assert folder["size"] in (None, 1000)  # a folder's size where the storage tells it
    for item in (note, folder):
        deleted = datetime.fromisoformat(item["deleted"]).timestamp()
        assert started - 60 < deleted < time.time() + 60, item["deleted"]
        assert item["key"]


async def test_restore_puts_it_back_where_it_was(jp_fetch):
    await api(jp_fetch, "PUT", "sub", {"type": "directory"})
    await api(jp_fetch, "PUT", "sub/data.csv", text_model("a,b\n1,2\n"))
    await delete(jp_fetch, "sub/data.csv")
    assert (await api_error(jp_fetch, "GET", "sub/data.csv"))[0] == 404
    key = (await items(jp_fetch))["sub/data.csv"]["key"]
    restored = await recycle(jp_fetch, "POST", "restore", body={"key": key})
    assert restored["path"] == "sub/data.csv"
    assert (await api(jp_fetch, "GET", "sub/data.csv"))["content"] == "a,b\n1,2\n"
    assert "sub/data.csv" not in await items(jp_fetch)


async def test_restoring_onto_a_taken_name_is_409_with_a_free_name(jp_fetch):
    await api(jp_fetch, "PUT", "analysis.ipynb", text_model('{"cells": []}'))
    await delete(jp_fetch, "analysis.ipynb")
    await api(jp_fetch, "PUT", "analysis.ipynb", text_model("the new one"))
    key = (await items(jp_fetch))["analysis.ipynb"]["key"]
    code, body = await recycle_error(jp_fetch, "POST", "restore", body={"key": key})
    assert code == 409
    assert body["conflict"] == "analysis.ipynb"
    assert body["suggestion"] == "analysis (restored).ipynb"
    assert "analysis.ipynb exists again" in body["message"]
    restored = await recycle(
        jp_fetch, "POST", "restore", body={"key": key, "path": body["suggestion"]}
    )
    assert restored["path"] == "analysis (restored).ipynb"
    both = await api(jp_fetch, "GET", "", content="1")
    assert {"analysis.ipynb", "analysis (restored).ipynb"} <= {c["name"] for c in both["content"]}
    old = await api(jp_fetch, "GET", "analysis (restored).ipynb", type="file", format="text")
    assert old["content"] == '{"cells": []}'
    new = await api(jp_fetch, "GET", "analysis.ipynb", type="file", format="text")
    assert new["content"] == "the new one"


async def test_a_file_whose_folder_is_gone_gets_a_suggestion_at_the_root(jp_fetch):
    await api(jp_fetch, "PUT", "gone", {"type": "directory"})
    await api(jp_fetch, "PUT", "gone/x.txt", text_model("x"))
    await delete(jp_fetch, "gone/x.txt")
    await delete(jp_fetch, "gone")
    key = (await items(jp_fetch))["gone/x.txt"]["key"]
    code, body = await recycle_error(jp_fetch, "POST", "restore", body={"key": key})
    assert code == 409
    assert "the folder gone no longer exists" in body["message"]
    assert body["suggestion"] == "x (restored).txt"
    await recycle(jp_fetch, "POST", "restore", body={"key": key, "path": "x (restored).txt"})
    assert (await api(jp_fetch, "GET", "x (restored).txt"))["content"] == "x"


async def test_purge_one_and_purge_all(jp_fetch, contents):
    for name in ("one.txt", "two.txt"):
        await api(jp_fetch, "PUT", name, text_model(name))
        await delete(jp_fetch, name)
    await api(jp_fetch, "PUT", "tree", {"type": "directory"})
    await api(jp_fetch, "PUT", "tree/inner", {"type": "directory"})
    await api(jp_fetch, "PUT", "tree/inner/deep.txt", text_model("deep"))
    await api(jp_fetch, "PUT", "tree/top.txt", text_model("top"))
    await delete(jp_fetch, "tree")
    found = await items(jp_fetch)
    assert sorted(found) == ["one.txt", "tree", "two.txt"]
    await recycle(jp_fetch, "DELETE", "items", key=found["one.txt"]["key"])
    assert sorted(await items(jp_fetch)) == ["tree", "two.txt"]
    code, _ = await recycle_error(
        jp_fetch, "POST", "restore", body={"key": found["one.txt"]["key"]}
    )
    assert code == 404
    assert (await recycle_error(jp_fetch, "DELETE", ""))[0] == 400  # all=1 is required
    assert (await recycle(jp_fetch, "DELETE", all="1"))["purged"] == 2
    assert await items(jp_fetch) == {}
    # Nothing of the purge is left in the folder, hidden or not.
    names = [e.path.rsplit("/", 1)[-1] for e in await contents.files.list(contents.home)]
    assert names == []


async def test_other_users_items_are_not_shown_or_purged(jp_fetch, site, home):
    bob_file = f"{site.home('bob')}/bob-{uuid.uuid4().hex[:8]}.txt"
    sync_upload(site, "bob", bob_file, b"bob's")
    channel, stub, metadata = sync_login(site, "bob")
    from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
    from cs3.storage.provider.v1beta1 import resources_pb2 as res

    with channel:
        stub.Delete(sp.DeleteRequest(ref=res.Reference(path=bob_file)), metadata=metadata)
        await api(jp_fetch, "PUT", "mine.txt", text_model("mine"))
        await delete(jp_fetch, "mine.txt")
        assert sorted(await items(jp_fetch)) == ["mine.txt"]
        await recycle(jp_fetch, "DELETE", all="1")
        bobs = stub.ListRecycle(
            sp.ListRecycleRequest(ref=res.Reference(path=site.home("bob"))), metadata=metadata
        )
        assert any(i.ref.path.endswith(bob_file.rsplit("/", 1)[-1]) for i in bobs.recycle_items)
        code, _ = await recycle_error(jp_fetch, "POST", "restore", body={"key": "no-such-key"})
        assert code == 404


async def test_lock_markers_never_show_in_the_recycle_bin(jp_fetch, contents):
    await api(jp_fetch, "PUT", "held.txt", text_model("x"))
    path = contents.cs3_path("held.txt")
    await contents.locks.acquire(path, "tab-1")
    await contents.locks.release(path, "tab-1")  # site A: the marker folder is deleted
    await delete(jp_fetch, "held.txt")
    assert sorted(await items(jp_fetch)) == ["held.txt"]


@pytest.mark.parametrize(
    "body",
    [{}, {"key": ""}, {"key": 5}, {"key": "k", "path": 3}],
    ids=["no-key", "empty-key", "number-key", "number-path"],
)
async def test_bad_restore_requests_are_400(jp_fetch, body):
    assert (await recycle_error(jp_fetch, "POST", "restore", body=body))[0] == 400


async def test_restore_to_traversal_or_hidden_paths_is_400(jp_fetch):
    await api(jp_fetch, "PUT", "t.txt", text_model("t"))
    await delete(jp_fetch, "t.txt")
    key = (await items(jp_fetch))["t.txt"]["key"]
    for target in ("../outside.txt", ".hidden.txt", "a/../../b.txt"):
        code, _ = await recycle_error(
            jp_fetch, "POST", "restore", body={"key": key, "path": target}
        )
        assert code == 400, target
    assert "t.txt" in await items(jp_fetch)


class TestPublicLink:
    """A public link's guest has no access to the owner's recycle bin: 403."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config, site):
        from test_public_links import link_config

        folder = f"{site.home('alice')}/pub-{uuid.uuid4().hex[:8]}"
        sync_mkdir(site, "alice", folder)
        token = sync_public_link(site, "alice", folder, editor=True)
        link_config(jp_server_config, token)
        return jp_server_config

    @pytest.mark.sites("site-a")
    async def test_listing_is_403(self, jp_fetch):
        code, body = await recycle_error(jp_fetch, "GET")
        assert code == 403
        assert "recycle bin" in body["message"]


class TestNoRecycleBin:
    """Site N's share jail (the Shares folder, Reva v2's sharesstorageprovider) has no
    recycle bin of its own: 501 with a sentence saying so."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config, site):
        jp_server_config.CS3Connection.home = f"{site.home('alice')}/Shares"
        return jp_server_config

    @pytest.mark.sites("site-n")
    async def test_listing_is_501_saying_there_is_no_bin(self, jp_fetch):
        code, body = await recycle_error(jp_fetch, "GET")
        assert code == 501
        assert "no recycle bin" in body["message"]
        code, body = await recycle_error(jp_fetch, "DELETE", all="1")
        assert code == 501
