"""Folder copies (JupyterLab's Copy/Paste and Duplicate of a folder) against a real revad."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
import uuid
from pathlib import Path

import pytest
import site_runner
from helpers import api, api_error, text_model
from servers import start_server
from tornado.web import HTTPError

from cs3lab.contents_manager import folder_copy

pytestmark = pytest.mark.sites("site-a", "site-n")


async def make_tree(jp_fetch, root: str, files: dict[str, bytes | str]) -> None:
    """Folders and files through the contents API (``files``: relative path -> content)."""
    made = {""}
    for rel in sorted(files):
        parts = f"{root}/{rel}".split("/")[:-1]
        for i in range(1, len(parts) + 1):
            folder = "/".join(parts[:i])
            if folder not in made:
                await api(jp_fetch, "PUT", folder, {"type": "directory"})
                made.add(folder)
        content = files[rel]
        if isinstance(content, bytes):
            import base64

            body = {
                "type": "file",
                "format": "base64",
                "content": base64.b64encode(content).decode(),
            }
        else:
            body = text_model(content)
        await api(jp_fetch, "PUT", f"{root}/{rel}", body)


async def tree_of(contents, api_path: str, unreadable: str = "") -> dict[str, str]:
    """Relative path -> sha256 of every file below a folder, read back through CS3 ("/" for
    folders), listing every entry the storage has (hidden ones too)."""
    found: dict[str, str] = {}
    base = contents.cs3_path(api_path)

    async def walk(rel: str) -> None:
        for entry in await contents.files.list(f"{base}/{rel}" if rel else base):
            name = entry.path.rstrip("/").rsplit("/", 1)[-1]
            child = f"{rel}/{name}" if rel else name
            if entry.type == 2:
                found[child] = "/"
                await walk(child)
            elif child == unreadable:
                found[child] = "?"
            else:
                data = await contents.files.download(f"{base}/{child}")
                found[child] = hashlib.sha256(data).hexdigest()

    await walk("")
    return found


async def stored_names(contents) -> list[str]:
    """The names in the test's root folder as the storage lists them (hidden ones too)."""
    return sorted(
        e.path.rstrip("/").rsplit("/", 1)[-1] for e in await contents.files.list(contents.home)
    )


TREE = {
    "notes.txt": "top level\n",
    "Résumé des données/数据 ✓.txt": "ça marche\n",
    "Résumé des données/deeper/deepest/nb.ipynb": '{"cells": [], "metadata": {}, "nbformat": 4, '
    '"nbformat_minor": 5}\n',
    "empty.txt": "",
    "blobs/random.bin": os.urandom(300_000),
}


async def test_nested_folder_with_unicode_names_is_copied_byte_for_byte(jp_fetch, contents):
    await make_tree(jp_fetch, "data", TREE)
    await api(jp_fetch, "PUT", "data/empty folder", {"type": "directory"})
    first = await api(jp_fetch, "POST", "", {"copy_from": "data"})
    second = await api(jp_fetch, "POST", "", {"copy_from": "data"})
    assert (first["name"], first["type"]) == ("data-Copy1", "directory")
    assert second["name"] == "data-Copy2"
    original = await tree_of(contents, "data")
    assert "Résumé des données/deeper/deepest/nb.ipynb" in original
    assert original["empty folder"] == "/"
    assert await tree_of(contents, "data-Copy1") == original
    assert await tree_of(contents, "data-Copy2") == original
    listing = await api(jp_fetch, "GET", "data-Copy1/Résumé des données")
    assert sorted(c["name"] for c in listing["content"]) == ["deeper", "数据 ✓.txt"]


async def test_paste_into_another_folder_keeps_the_name_then_increments(jp_fetch, contents):
    await make_tree(jp_fetch, "src", {"a/b.txt": "b", "c.txt": "c"})
    await api(jp_fetch, "PUT", "dest", {"type": "directory"})
    pasted = await api(jp_fetch, "POST", "dest", {"copy_from": "src"})
    again = await api(jp_fetch, "POST", "dest", {"copy_from": "src"})
    assert (pasted["path"], again["path"]) == ("dest/src", "dest/src-Copy1")
    assert await tree_of(contents, "dest/src") == await tree_of(contents, "src")
    # A copy of a copy is named from the original name, as jupyter_server does for files.
    dotted = await api(jp_fetch, "PUT", "v1.2", {"type": "directory"})
    assert dotted["type"] == "directory"
    copied = await api(jp_fetch, "POST", "", {"copy_from": "v1.2"})
    assert copied["name"] == "v1-Copy1.2"


async def test_a_file_someone_holds_is_copied_without_its_lock(jp_fetch, contents, site):
    await make_tree(jp_fetch, "locked", {"held.ipynb": "{}", "free.txt": "x"})
    held = contents.cs3_path("locked/held.ipynb")
    await contents.locks.acquire(held, "tab-1")
    raw = [
        e.path.rsplit("/", 1)[-1] for e in await contents.files.list(contents.cs3_path("locked"))
    ]
    if site.name == "site-a":  # no native locks: a hidden marker folder beside the file
        assert any(name.startswith(".cs3lab-lock.held.ipynb.") for name in raw), raw
    copied = await api(jp_fetch, "POST", "", {"copy_from": "locked"})
    names = sorted(await tree_of(contents, copied["path"]))
    assert names == ["free.txt", "held.ipynb"], (raw, names)
    model = await api(jp_fetch, "GET", f"{copied['path']}/held.ipynb", content="0")
    assert model["lock"] is None
    assert model["writable"] is True
    # The original is still locked.
    assert (await api(jp_fetch, "GET", "locked/held.ipynb", content="0"))["lock"] is not None
    await contents.locks.release(held, "tab-1")


async def test_folders_past_max_copy_folder_size_mb_are_refused(jp_fetch, contents):
    await make_tree(jp_fetch, "big", {"a.bin": os.urandom(700_000), "b/c.bin": os.urandom(700_000)})
    contents.max_copy_folder_size_mb = 1
    code, message = await api_error(jp_fetch, "POST", "", {"copy_from": "big"})
    assert code == 400
    assert "larger than 1MB" in message and "big" in message and "1.3 MB" in message
    assert await stored_names(contents) == ["big"]
    contents.max_copy_folder_size_mb = 2
    assert (await api(jp_fetch, "POST", "", {"copy_from": "big"}))["name"] == "big-Copy1"


async def test_bad_copies_are_refused_and_write_nothing(jp_fetch, contents):
    await make_tree(jp_fetch, "self", {"inner/x.txt": "x"})
    code, message = await api_error(jp_fetch, "POST", "self/inner", {"copy_from": "self"})
    assert code == 400 and "into itself" in message
    assert (await api_error(jp_fetch, "POST", "", {"copy_from": "missing"}))[0] == 404
    assert (await api_error(jp_fetch, "POST", "", {"copy_from": "../self"}))[0] == 400
    assert sorted(await tree_of(contents, "")) == ["self", "self/inner", "self/inner/x.txt"]


def _stored_file(site, data: bytes) -> Path:
    """The file on revad's disk that holds ``data`` (site A: the file itself; site N:
    decomposedfs's blob)."""
    for root, _, names in os.walk(site.storage_root):
        for name in names:
            path = Path(root) / name
            if not path.is_symlink() and path.stat().st_size == len(data):
                if path.read_bytes() == data:
                    return path
    raise AssertionError("the stored file was not found on revad's disk")


async def test_a_failure_half_way_leaves_no_partial_copy(jp_fetch, contents, site):
    files = {f"a{i}.bin": os.urandom(50_000 + i) for i in range(6)}
    broken = os.urandom(77_777)
    files["m/broken.bin"] = broken
    files.update({f"z/z{i}.bin": os.urandom(60_000 + i) for i in range(6)})
    await make_tree(jp_fetch, "work", files)
    before = await tree_of(contents, "")
    # Make one file unreadable in the storage itself: revad lists it but cannot read it.
    stored = _stored_file(site, broken)
    stored.unlink()
    stored.symlink_to(stored.parent / "no-such-file")
    copied: list[dict] = []

    async def listener(logger, schema_id, data):
        copied.append(data)

    contents.event_logger.add_listener(schema_id=folder_copy.SCHEMA_ID, listener=listener)
    code, message = await api_error(jp_fetch, "POST", "", {"copy_from": "work"})
    await asyncio.sleep(0.1)
    contents.event_logger.remove_listener(listener=listener)
    assert code >= 400
    assert "work-Copy1 failed at m/broken.bin" in message, message
    assert "Nothing was kept" in message, message
    assert await stored_names(contents) == ["work"]
    after = await tree_of(contents, "", unreadable="work/m/broken.bin")
    assert after == {**before, "work/m/broken.bin": "?"}
    assert copied and copied[-1]["state"] == "failed"
    # Not in the recycle bin either (the partial copy was deleted, then purged).
    response = await jp_fetch("cs3lab", "api", "recycle")
    assert json.loads(response.body)["items"] == []


async def test_large_files_stream_and_progress_is_reported(jp_fetch, contents, monkeypatch):
    big = os.urandom(12 * 1024 * 1024 + 17)
    await make_tree(jp_fetch, "large", {"big.bin": big, "small.txt": "s"})
    monkeypatch.setattr(folder_copy, "PROGRESS_SECONDS", 0.0)
    events: list[dict] = []

    async def listener(logger, schema_id, data):
        events.append(data)

    contents.event_logger.add_listener(schema_id=folder_copy.SCHEMA_ID, listener=listener)
    copied = await api(jp_fetch, "POST", "", {"copy_from": "large"})
    await asyncio.sleep(0.1)
    contents.event_logger.remove_listener(listener=listener)
    stored = await contents.files.download(contents.cs3_path(f"{copied['path']}/big.bin"))
    assert stored == big
    running = [e for e in events if e["state"] == "running"]
    assert len(running) > 3
    done = [b["bytes_done"] for b in running]
    assert done == sorted(done) and done[-1] <= len(big) + 1
    assert events[-1]["state"] == "done"
    assert events[-1]["bytes_done"] == events[-1]["bytes_total"] == len(big) + 1
    assert events[-1]["files_done"] == events[-1]["files_total"] == 2
    assert {e["target"] for e in events} == {"large-Copy1"}


# -- a quota that the copy outgrows half-way (site N's decomposedfs enforces quotas) ----------


QUOTA_SETTLES_SECONDS = 30


@pytest.mark.sites("site-n")
def test_a_copy_that_outgrows_the_quota_half_way_leaves_nothing(site_nq, tmp_path):
    root = f"{site_nq.home('carol')}/q-{uuid.uuid4().hex[:8]}"
    site_runner.sync_mkdir(site_nq, "carol", f"{root}/work")
    parts = {f"part{i}.bin": os.urandom(100_000 + i) for i in range(6)}
    for name, data in parts.items():  # 600 KB of a 1 MB quota: the copy cannot fit
        site_runner.sync_upload(site_nq, "carol", f"{root}/work/{name}", data)
    server = start_server(site_nq, "carol", root, tmp_path / "carol")
    try:
        # decomposedfs adds an upload to the space's size asynchronously: wait until the
        # quota counts the parts, else the copy may fit a quota that does not see them yet.
        deadline = time.monotonic() + QUOTA_SETTLES_SECONDS
        while True:
            status, quota = server.request("GET", "cs3lab/api/quota")
            if status == 200 and (quota["used"] or 0) >= sum(map(len, parts.values())):
                break
            assert time.monotonic() < deadline, quota
            time.sleep(0.2)
        status, body = server.request("POST", "api/contents", {"copy_from": "work"})
        assert status == 507, body
        message = body["message"]
        assert "Copying work to work-Copy1 failed at part" in message, message
        assert "Nothing was kept" in message, message
        status, listing = server.request("GET", "api/contents")
        assert status == 200
        assert [e["name"] for e in listing["content"] if not e.get("place")] == ["work"]
        status, recycle = server.request("GET", "cs3lab/api/recycle")
        assert status == 200 and recycle["items"] == [], recycle
        status, work = server.request("GET", "api/contents/work")
        assert sorted(e["name"] for e in work["content"]) == sorted(parts)
    finally:
        server.stop()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def test_a_folder_copied_to_a_folder_not_there_yet_makes_it(jp_fetch, contents):
    """jupyter_server's file manager copies a folder into a destination folder that does not
    exist yet by making it (and its missing parents): ``data`` -> ``new/deeper/data``."""
    await make_tree(jp_fetch, "data", {"a.txt": "a", "sub/b.txt": "b"})
    copy = await contents.copy("data", "new/deeper")
    # Through the REST API too (POST into a folder that is not there: jupyter_server asks
    # the manager to copy, it does not check the folder).
    assert (await api(jp_fetch, "POST", "other", {"copy_from": "data/sub"}))["path"] == "other/sub"
    assert await tree_of(contents, "other") == {"sub": "/", "sub/b.txt": _sha("b")}
    assert copy["path"] == "new/deeper/data"
    assert copy["type"] == "directory"
    assert await tree_of(contents, "new") == {
        "deeper": "/",
        "deeper/data": "/",
        **{f"deeper/data/{k}": v for k, v in (await tree_of(contents, "data")).items()},
    }
    # Into a file: refused, nothing made.
    await api(jp_fetch, "PUT", "f.txt", text_model("x"))
    with pytest.raises(HTTPError) as refused:
        await contents.copy("data", "f.txt/inside")
    assert refused.value.status_code == 400 and "f.txt" in refused.value.log_message
    assert sorted(await tree_of(contents, "")) == sorted(
        [
            *("data", "data/a.txt", "data/sub", "data/sub/b.txt", "f.txt"),
            *("other", "other/sub", "other/sub/b.txt"),
            *("new", "new/deeper", "new/deeper/data", "new/deeper/data/a.txt"),
            *("new/deeper/data/sub", "new/deeper/data/sub/b.txt"),
        ]
    )
