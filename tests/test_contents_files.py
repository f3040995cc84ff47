"""Every ordinary file operation through Jupyter's REST API, against a real revad."""

from __future__ import annotations

import base64

import nbformat
import pytest
from helpers import api, api_error, text_model
from jupyter_server.services.contents.filemanager import AsyncFileContentsManager

from cs3lab.cs3.recycle import RecycleBin

pytestmark = pytest.mark.sites("site-a", "site-n")


async def test_root_is_the_cs3_home_and_starts_empty(jp_fetch, site, home):
    model = await api(jp_fetch, "GET", "")
    assert model["type"] == "directory"
    assert model["path"] == ""
    assert model["content"] == []


async def test_text_file_round_trip(jp_fetch):
    saved = await api(jp_fetch, "PUT", "notes.txt", text_model("hello CS3\n"))
    assert saved["content"] is None
    assert saved["size"] == len("hello CS3\n")
    model = await api(jp_fetch, "GET", "notes.txt")
    assert model["content"] == "hello CS3\n"
    assert model["format"] == "text"
    assert model["mimetype"] == "text/plain"
    assert model["writable"] is True


async def test_models_have_the_shape_of_file_contents_manager(jp_fetch, tmp_path):
    local = AsyncFileContentsManager(root_dir=str(tmp_path))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    for path, model in [
        ("a.txt", text_model("x")),
        ("b.ipynb", {"type": "notebook", "content": nb}),
        ("c", {"type": "directory"}),
    ]:
        ours = await api(jp_fetch, "PUT", path, model)
        theirs = await local.save(dict(model), path)
        assert set(theirs) <= set(ours), path
        for key in ("name", "path", "type", "format", "mimetype", "content", "writable"):
            assert ours[key] == theirs[key], (path, key)
        assert (ours["size"] is None) == (theirs["size"] is None)
        got = await api(jp_fetch, "GET", path, content="1")
        expected = await local.get(path, content=True)
        for key in ("type", "format", "mimetype", "name", "path"):
            assert got[key] == expected[key], (path, key)


async def test_notebook_round_trip_keeps_every_cell(jp_fetch):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell(
            "print('hi')", outputs=[nbformat.v4.new_output("stream", name="stdout", text="hi\n")]
        ),
    ]
    await api(jp_fetch, "PUT", "analysis.ipynb", {"type": "notebook", "content": nb})
    model = await api(jp_fetch, "GET", "analysis.ipynb")
    assert model["type"] == "notebook"
    assert model["format"] == "json"
    back = nbformat.from_dict(model["content"])
    assert [c.source for c in back.cells] == ["# Title", "print('hi')"]
    assert back.cells[1].outputs[0].text == "hi\n"


async def test_hash_is_sha256_of_the_stored_bytes(jp_fetch):
    import hashlib

    await api(jp_fetch, "PUT", "h.txt", text_model("abc"))
    model = await api(jp_fetch, "GET", "h.txt", content="0", hash="1")
    assert model["hash_algorithm"] == "sha256"
    assert model["hash"] == hashlib.sha256(b"abc").hexdigest()


async def test_empty_file(jp_fetch):
    await api(jp_fetch, "PUT", "empty.txt", text_model(""))
    model = await api(jp_fetch, "GET", "empty.txt")
    assert model["content"] == ""
    assert model["size"] == 0


async def test_binary_file_round_trips_byte_for_byte(jp_fetch):
    data = bytes(range(256)) * 64
    body = {"type": "file", "format": "base64", "content": base64.b64encode(data).decode()}
    await api(jp_fetch, "PUT", "blob.bin", body)
    model = await api(jp_fetch, "GET", "blob.bin")
    assert model["format"] == "base64"
    assert model["mimetype"] == "application/octet-stream"
    assert base64.b64decode(model["content"]) == data
    as_text = await api_error(jp_fetch, "GET", "blob.bin", format="text", type="file")
    assert as_text[0] == 400


@pytest.mark.parametrize(
    "encode",
    [
        base64.encodebytes,  # a line break every 76 characters and at the end
        lambda data: b"\n  " + base64.b64encode(data) + b"\r\n\t ",
        lambda data: b"\r\n".join(base64.encodebytes(data).splitlines()),
    ],
    ids=["encodebytes", "surrounding-whitespace", "crlf-lines"],
)
async def test_base64_with_line_breaks_and_whitespace_is_accepted(jp_fetch, encode):
    data = bytes(range(256)) * 8
    body = {"type": "file", "format": "base64", "content": encode(data).decode()}
    saved = await api(jp_fetch, "PUT", "lines.bin", body)
    assert saved["size"] == len(data)
    model = await api(jp_fetch, "GET", "lines.bin", format="base64", type="file")
    assert base64.b64decode(model["content"]) == data


@pytest.mark.parametrize(
    "content",
    ["%%%not base64", "QUJD\nR", "QUJD*RA==", "ÄÖÜ=", "QUJD RA== trailing"],
    ids=["symbols", "truncated", "star", "non-ascii", "text-after-padding"],
)
async def test_what_is_not_base64_is_400_and_writes_nothing(jp_fetch, content):
    body = {"type": "file", "format": "base64", "content": content}
    code, message = await api_error(jp_fetch, "PUT", "bad.bin", body)
    assert code == 400
    assert "bad.bin" in message
    assert (await api_error(jp_fetch, "GET", "bad.bin"))[0] == 404


async def test_hash_algorithm_is_configurable_like_jupyter_servers(jp_fetch, contents):
    import hashlib

    local = AsyncFileContentsManager()
    assert contents.hash_algorithm == local.hash_algorithm == "sha256"
    await api(
        jp_fetch, "PUT", "h.ipynb", {"type": "notebook", "content": nbformat.v4.new_notebook()}
    )
    contents.hash_algorithm = "sha3_256"
    model = await api(jp_fetch, "GET", "h.ipynb", content="0", hash="1")
    stored = await contents.files.download(contents.home + "/h.ipynb")
    assert model["hash_algorithm"] == "sha3_256"
    assert model["hash"] == hashlib.sha3_256(stored).hexdigest()
    plain = await api(jp_fetch, "GET", "h.ipynb", content="0")
    assert plain["hash"] is None


async def test_spaces_and_unicode_in_names(jp_fetch):
    folder = "Résumé des données 数据"
    name = f"{folder}/ünïcødé notes ✓.txt"
    await api(jp_fetch, "PUT", folder, {"type": "directory"})
    await api(jp_fetch, "PUT", name, text_model("ça marche"))
    listing = await api(jp_fetch, "GET", folder)
    assert [c["name"] for c in listing["content"]] == ["ünïcødé notes ✓.txt"]
    assert listing["content"][0]["path"] == name
    assert (await api(jp_fetch, "GET", name))["content"] == "ça marche"


async def test_new_untitled_follows_jupyter_naming(jp_fetch):
    first = await api(jp_fetch, "POST", "", {"type": "notebook"})
    second = await api(jp_fetch, "POST", "", {"type": "notebook"})
    folder = await api(jp_fetch, "POST", "", {"type": "directory"})
    text = await api(jp_fetch, "POST", "", {"type": "file", "ext": ".py"})
    assert (first["name"], second["name"]) == ("Untitled.ipynb", "Untitled1.ipynb")
    assert folder["name"] == "Untitled Folder"
    assert text["name"] == "untitled.py"
    nb = await api(jp_fetch, "GET", "Untitled.ipynb")
    assert nb["content"]["nbformat"] == 4


async def test_copy_uses_jupyter_copy_names(jp_fetch):
    await api(jp_fetch, "PUT", "data.csv", text_model("a,b\n1,2\n"))
    await api(jp_fetch, "PUT", "sub", {"type": "directory"})
    first = await api(jp_fetch, "POST", "", {"copy_from": "data.csv"})
    second = await api(jp_fetch, "POST", "", {"copy_from": "data.csv"})
    into = await api(jp_fetch, "POST", "sub", {"copy_from": "data.csv"})
    assert first["name"] == "data-Copy1.csv"
    assert second["name"] == "data-Copy2.csv"
    assert into["path"] == "sub/data.csv"
    assert (await api(jp_fetch, "GET", "data-Copy2.csv"))["content"] == "a,b\n1,2\n"


async def test_rename_and_move_into_folder(jp_fetch):
    await api(jp_fetch, "PUT", "old.txt", text_model("x"))
    await api(jp_fetch, "PUT", "dest", {"type": "directory"})
    renamed = await api(jp_fetch, "PATCH", "old.txt", {"path": "dest/new.txt"})
    assert renamed["path"] == "dest/new.txt"
    assert (await api_error(jp_fetch, "GET", "old.txt"))[0] == 404
    assert (await api(jp_fetch, "GET", "dest/new.txt"))["content"] == "x"


async def test_rename_onto_existing_file_is_409_and_keeps_both(jp_fetch):
    await api(jp_fetch, "PUT", "one.txt", text_model("1"))
    await api(jp_fetch, "PUT", "two.txt", text_model("2"))
    code, message = await api_error(jp_fetch, "PATCH", "one.txt", {"path": "two.txt"})
    assert code == 409
    assert "two.txt" in message
    assert (await api(jp_fetch, "GET", "two.txt"))["content"] == "2"
    assert (await api(jp_fetch, "GET", "one.txt"))["content"] == "1"


async def test_delete_goes_to_the_recycle_bin(jp_fetch, contents):
    await api(jp_fetch, "PUT", "trash-me.txt", text_model("bye"))
    await api(jp_fetch, "DELETE", "trash-me.txt")
    assert (await api_error(jp_fetch, "GET", "trash-me.txt"))[0] == 404
    recycled = await RecycleBin(contents.files.client).list(contents.home)
    assert any(item.ref.path.endswith("/trash-me.txt") for item in recycled)


async def test_delete_folder_with_content(jp_fetch):
    await api(jp_fetch, "PUT", "full", {"type": "directory"})
    await api(jp_fetch, "PUT", "full/inner.txt", text_model("x"))
    await api(jp_fetch, "DELETE", "full")
    assert (await api_error(jp_fetch, "GET", "full"))[0] == 404


async def test_nested_folders_and_listing_types(jp_fetch):
    await api(jp_fetch, "PUT", "a", {"type": "directory"})
    await api(jp_fetch, "PUT", "a/b", {"type": "directory"})
    await api(
        jp_fetch, "PUT", "a/nb.ipynb", {"type": "notebook", "content": nbformat.v4.new_notebook()}
    )
    await api(jp_fetch, "PUT", "a/t.txt", text_model("t"))
    listing = await api(jp_fetch, "GET", "a")
    kinds = {c["name"]: c["type"] for c in listing["content"]}
    assert kinds == {"b": "directory", "nb.ipynb": "notebook", "t.txt": "file"}
    assert all(c["content"] is None for c in listing["content"])
    no_content = await api(jp_fetch, "GET", "a", content="0")
    assert no_content["content"] is None


async def test_notebook_bytes_match_what_jupyter_writes_to_disk(jp_fetch, contents, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    local = AsyncFileContentsManager(root_dir=str(tmp_path))
    await local.save({"type": "notebook", "content": nb}, "n.ipynb")
    await api(jp_fetch, "PUT", "n.ipynb", {"type": "notebook", "content": nb})
    stored = await contents.files.download(contents.home + "/n.ipynb")
    assert stored == (tmp_path / "n.ipynb").read_bytes()
