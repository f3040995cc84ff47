"""Checkpoints are real CS3 versions (and copies where the storage keeps no versions)."""

from __future__ import annotations

import re

import pytest
from helpers import api, api_error, cs3lab_api, text_model

from cs3lab.contents_manager.checkpoints import route_safe_id

pytestmark = pytest.mark.sites("site-a", "site-n")


def checkpoint_parts(path: str, checkpoint_id: str = "") -> list[str]:
    parts = ["api", "contents", *path.split("/"), "checkpoints"]
    return [*parts, checkpoint_id] if checkpoint_id else parts


async def call(jp_fetch, method: str, parts: list[str]):
    import json

    body = "" if method == "POST" else None
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = body
    response = await jp_fetch(*parts, **kwargs)
    return json.loads(response.body) if response.body else None


async def test_checkpoints_are_cs3_versions_and_restore(jp_fetch, contents):
    await api(jp_fetch, "PUT", "paper.txt", text_model("draft 1"))
    checkpoint = await call(jp_fetch, "POST", checkpoint_parts("paper.txt"))
    assert set(checkpoint) == {"id", "last_modified"}
    await api(jp_fetch, "PUT", "paper.txt", text_model("draft 2, worse"))

    listed = await call(jp_fetch, "GET", checkpoint_parts("paper.txt"))
    assert checkpoint["id"] in [c["id"] for c in listed]
    versions = await contents.files.list_versions(contents.home + "/paper.txt")
    assert {route_safe_id(v.key) for v in versions} == {c["id"] for c in listed}
    assert all(re.fullmatch(r"[\w-]+", c["id"]) for c in listed)  # Jupyter's route accepts

    await call(jp_fetch, "POST", checkpoint_parts("paper.txt", checkpoint["id"]))
    assert (await api(jp_fetch, "GET", "paper.txt"))["content"] == "draft 1"


async def test_restoring_an_unknown_checkpoint_is_404(jp_fetch):
    await api(jp_fetch, "PUT", "a.txt", text_model("x"))
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await call(jp_fetch, "POST", checkpoint_parts("a.txt", "no-such-version"))
    assert info.value.code == 404
    assert (await api(jp_fetch, "GET", "a.txt"))["content"] == "x"


async def test_checkpoints_of_a_missing_file_are_404(jp_fetch):
    code, _ = await api_error(jp_fetch, "GET", "ghost.txt")
    assert code == 404
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as info:
        await call(jp_fetch, "GET", checkpoint_parts("ghost.txt"))
    assert info.value.code == 404


async def test_file_copy_fallback_checkpoints(jp_fetch, contents):
    contents.checkpoints._probed[""] = "files"  # as if the home kept no versions
    await api(jp_fetch, "PUT", "nb.txt", text_model("kept"))
    checkpoint = await call(jp_fetch, "POST", checkpoint_parts("nb.txt"))
    assert checkpoint["id"] == "checkpoint"
    await api(jp_fetch, "PUT", "nb.txt", text_model("changed"))
    listing = await api(jp_fetch, "GET", "")
    assert [c["name"] for c in listing["content"]] == ["nb.txt"]  # the copy folder is hidden
    await call(jp_fetch, "POST", checkpoint_parts("nb.txt", "checkpoint"))
    assert (await api(jp_fetch, "GET", "nb.txt"))["content"] == "kept"
    await api(jp_fetch, "PATCH", "nb.txt", {"path": "renamed.txt"})
    listed = await call(jp_fetch, "GET", checkpoint_parts("renamed.txt"))
    assert [c["id"] for c in listed] == ["checkpoint"]
    await call(jp_fetch, "DELETE", checkpoint_parts("renamed.txt", "checkpoint"))
    assert await call(jp_fetch, "GET", checkpoint_parts("renamed.txt")) == []


async def versions_call(jp_fetch, method: str, body=None, **params):
    return await cs3lab_api(jp_fetch, method, "versions", body=body, **params)


async def test_versions_restore_checks_the_id_before_writing(jp_fetch, contents):
    """The versions endpoint takes a version's id or its storage key (a raw key such as
    decomposedfs's "<node>.REV.<time>"); an unknown or malformed id writes nothing."""
    from tornado.httpclient import HTTPClientError

    await api(jp_fetch, "PUT", "v.txt", text_model("one"))
    await api(jp_fetch, "PUT", "v.txt", text_model("two"))
    listed = await versions_call(jp_fetch, "GET", path="v.txt")
    old = listed["versions"][0]  # "one"

    async def unchanged_after(body, status: int) -> None:
        before = await contents.files.stat(contents.home + "/v.txt")
        count = len(await contents.files.list_versions(contents.home + "/v.txt"))
        with pytest.raises(HTTPClientError) as info:
            await versions_call(jp_fetch, "POST", body)
        assert info.value.code == status, (body, info.value.response.body)
        after = await contents.files.stat(contents.home + "/v.txt")
        assert after.etag == before.etag, body
        assert len(await contents.files.list_versions(contents.home + "/v.txt")) == count
        assert (await api(jp_fetch, "GET", "v.txt"))["content"] == "two"

    for unknown in ("no-such-version", f"{old['key']}x", "k_bm8tc3VjaA"):
        await unchanged_after({"path": "v.txt", "id": unknown}, 404)
    for malformed in (5, None, "", ["a"]):
        await unchanged_after({"path": "v.txt", "id": malformed}, 400)

    # The raw key restores that version (and keeps "two" as a version first).
    restored = await versions_call(jp_fetch, "POST", {"path": "v.txt", "id": old["key"]})
    assert restored["kept"]["id"]
    assert (await api(jp_fetch, "GET", "v.txt"))["content"] == "one"
