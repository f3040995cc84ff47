"""Every error a user can cause: clear message, right status, nothing lost."""

from __future__ import annotations

import nbformat
import pytest
from helpers import api, api_error, text_model

pytestmark = pytest.mark.sites("site-a", "site-n")


async def test_missing_file_is_404(jp_fetch):
    code, message = await api_error(jp_fetch, "GET", "nope.txt")
    assert code == 404
    assert "nope.txt" in message
    assert (await api_error(jp_fetch, "DELETE", "nope.txt"))[0] == 404
    assert (await api_error(jp_fetch, "PATCH", "nope.txt", {"path": "x.txt"}))[0] == 404


async def test_save_into_missing_folder_is_404_and_creates_nothing(jp_fetch):
    code, message = await api_error(jp_fetch, "PUT", "no/such/dir.txt", text_model("x"))
    assert code == 404
    assert "no/such" in message
    assert (await api_error(jp_fetch, "GET", "no"))[0] == 404


async def test_stale_save_by_etag_is_409_and_writes_nothing(jp_fetch):
    first = await api(jp_fetch, "PUT", "shared.txt", text_model("v1"))
    await api(jp_fetch, "PUT", "shared.txt", text_model("v2 by someone else"))
    stale = text_model("v1 edited")
    stale["etag"] = first["etag"]
    code, message = await api_error(jp_fetch, "PUT", "shared.txt", stale)
    assert code == 409
    assert "changed by someone else" in message
    assert (await api(jp_fetch, "GET", "shared.txt"))["content"] == "v2 by someone else"


async def test_save_with_current_etag_succeeds(jp_fetch):
    first = await api(jp_fetch, "PUT", "mine.txt", text_model("v1"))
    body = text_model("v2")
    body["etag"] = first["etag"]
    second = await api(jp_fetch, "PUT", "mine.txt", body)
    assert second["etag"] != first["etag"]
    assert (await api(jp_fetch, "GET", "mine.txt"))["content"] == "v2"


async def test_stale_save_by_last_modified_is_409(jp_fetch):
    await api(jp_fetch, "PUT", "old.txt", text_model("current"))
    body = text_model("based on an old copy")
    body["last_modified"] = "2001-01-01T00:00:00Z"
    code, _ = await api_error(jp_fetch, "PUT", "old.txt", body)
    assert code == 409
    assert (await api(jp_fetch, "GET", "old.txt"))["content"] == "current"


async def test_unreadable_notebook_is_400(jp_fetch):
    await api(
        jp_fetch, "PUT", "broken.ipynb", {"type": "file", "format": "text", "content": "{not json"}
    )
    code, message = await api_error(jp_fetch, "GET", "broken.ipynb")
    assert code == 400
    assert "Unreadable Notebook" in message
    as_file = await api(jp_fetch, "GET", "broken.ipynb", type="file")
    assert as_file["content"] == "{not json"


async def test_saving_a_non_notebook_as_notebook_is_400_and_keeps_the_file(jp_fetch):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    await api(jp_fetch, "PUT", "good.ipynb", {"type": "notebook", "content": nb})
    for bad in ("just a string", ["a", "list"]):
        code, message = await api_error(
            jp_fetch, "PUT", "good.ipynb", {"type": "notebook", "content": bad}
        )
        assert code == 400, bad
        assert "good.ipynb" in message
    kept = await api(jp_fetch, "GET", "good.ipynb")
    assert kept["content"]["cells"][0]["source"] == "x = 1"


async def test_invalid_request_bodies_are_400(jp_fetch):
    bad_b64 = {"type": "file", "format": "base64", "content": "%%%not base64"}
    assert (await api_error(jp_fetch, "PUT", "a.txt", bad_b64))[0] == 400
    assert (await api_error(jp_fetch, "GET", "a.txt"))[0] == 404


async def test_a_chunk_that_is_not_a_chunk_number_is_400_and_writes_nothing(jp_fetch, contents):
    await api(jp_fetch, "PUT", "kept.txt", text_model("kept"))
    etag = (await contents.files.stat(contents.home + "/kept.txt")).etag
    for chunk in ("x", "1", 1.5, True, 0):  # a number as a string is not one either
        for path in ("kept.txt", "new.txt"):
            body = {**text_model("chunk of something"), "chunk": chunk}
            code, message = await api_error(jp_fetch, "PUT", path, body)
            assert code == 400, (chunk, path, message)
            assert "chunk" in message
    assert not await contents.exists("new.txt")
    assert (await api(jp_fetch, "GET", "kept.txt"))["content"] == "kept"
    assert (await contents.files.stat(contents.home + "/kept.txt")).etag == etag
    # Nothing was staged either: a last chunk alone stores just itself.
    await api(jp_fetch, "PUT", "new.txt", {**text_model("whole"), "chunk": -1})
    assert (await api(jp_fetch, "GET", "new.txt"))["content"] == "whole"


async def test_unknown_model_type_is_400(contents):
    from tornado.web import HTTPError

    with pytest.raises(HTTPError) as info:
        await contents.save({"type": "weird", "content": ""}, "a.txt")
    assert info.value.status_code == 400
    assert not await contents.exists("a.txt")


async def test_type_mismatch_is_400(jp_fetch):
    await api(jp_fetch, "PUT", "folder", {"type": "directory"})
    await api(jp_fetch, "PUT", "file.txt", text_model("x"))
    assert (await api_error(jp_fetch, "GET", "folder", type="file"))[0] == 400
    assert (await api_error(jp_fetch, "GET", "file.txt", type="directory"))[0] == 400
    code, _ = await api_error(jp_fetch, "PUT", "folder", text_model("x"))
    assert code == 400


async def test_a_name_longer_than_the_storage_keeps_is_400_not_a_server_error(jp_fetch):
    """Names are at most 255 bytes of UTF-8 on the storages' disks: one longer was a 502
    ("The CS3 server failed") for every call naming it (found by tests/test_fuzz.py)."""
    longest = "é" * 127 + "x"  # 255 bytes
    await api(jp_fetch, "PUT", longest, text_model("kept"))
    assert (await api(jp_fetch, "GET", longest))["content"] == "kept"
    for method, body in (("PUT", text_model("x")), ("GET", None), ("DELETE", None)):
        code, message = await api_error(jp_fetch, method, "é" * 128, body)
        assert code == 400 and "too long (at most 255 bytes" in message, (method, message)
    code, _ = await api_error(jp_fetch, "PATCH", longest, {"path": f"{longest}é"})
    assert code == 400
    assert (await api(jp_fetch, "GET", longest))["content"] == "kept"


@pytest.mark.parametrize(
    "path",
    ["../escape.txt", "a/../../escape.txt", "..", "./x.txt", "a/%2e%2e/x.txt"],
)
async def test_path_traversal_is_refused(jp_fetch, contents, path):
    from urllib.parse import unquote

    raw = unquote(path)
    code, message = await api_error(jp_fetch, "PUT", raw, text_model("x"))
    assert code in (400, 404)
    if code == 400:
        assert "not allowed" in message
    # Nothing appeared in the parent of the test's home either.
    parent = contents.home.rsplit("/", 1)[0]
    names = [i.path.rsplit("/", 1)[-1] for i in await contents.files.list(parent)]
    assert "escape.txt" not in names and "x.txt" not in names


async def test_contents_manager_refuses_traversal_directly(contents):
    from tornado.web import HTTPError

    for bad in ("../x", "a/../../x", "a/./b", "x\x00y", "a/..\\..\\b"):
        with pytest.raises(HTTPError) as info:
            await contents.get(bad)
        assert info.value.status_code == 400, bad


async def test_absolute_paths_stay_inside_the_home(jp_fetch, contents):
    await api(jp_fetch, "PUT", "//etc", {"type": "directory"})
    listing = await api(jp_fetch, "GET", "")
    assert [c["name"] for c in listing["content"]] == ["etc"]
    info = await contents.files.stat(contents.home + "/etc")
    assert info.type == 2  # a folder in the home (storages give absolute or relative paths)
    assert info.path.rstrip("/").rsplit("/", 1)[-1] in ("etc", ".")


async def test_hidden_files_are_not_listed_or_served(jp_fetch, contents):
    await contents.files.upload(contents.home + "/.secret", b"hidden")
    listing = await api(jp_fetch, "GET", "")
    assert ".secret" not in [c["name"] for c in listing["content"]]
    assert (await api_error(jp_fetch, "GET", ".secret"))[0] == 404
    code, message = await api_error(jp_fetch, "PUT", ".other", text_model("x"))
    assert code == 400
    assert ".other" in message


async def test_cannot_delete_the_root(jp_fetch):
    code, _ = await api_error(jp_fetch, "DELETE", "")
    assert code == 400
