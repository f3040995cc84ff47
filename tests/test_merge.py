"""Copy with origin, diff, merge back, resolve and versions, over REST against real revads."""

from __future__ import annotations

import json

import nbformat
import pytest
from helpers import api, api_error, refusal, text_model
from lockers import locker, signed_in
from nbformat.v4 import new_code_cell, new_notebook
from tornado.httpclient import HTTPClientError

from cs3lab.merge.origin import ORIGIN_KEY, Origin

pytestmark = pytest.mark.sites("site-a", "site-n")


@pytest.fixture
def max_diff_size_mb() -> int | None:
    """c.MergeConfig.max_diff_size_mb of the test's server (None: the default)."""
    return None


@pytest.fixture
def jp_server_config(jp_server_config, max_diff_size_mb):
    if max_diff_size_mb is not None:
        jp_server_config.MergeConfig.max_diff_size_mb = max_diff_size_mb
    return jp_server_config


def nb_of(*sources: str) -> dict:
    return new_notebook(
        cells=[new_code_cell(s, id=f"cell-{i}") for i, s in enumerate(sources)],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


def nb_model(nb: dict) -> dict:
    return {"type": "notebook", "format": "json", "content": nb}


async def rest(jp_fetch, method: str, *parts: str, body=None, **params):
    # The first merge request of a server process starts the merge worker (a spawned
    # process, cs3lab/merge/offload.py): seconds on a busy machine, past jp_fetch's 20 s.
    kwargs = {"method": method, "request_timeout": 120}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("cs3lab", "api", *parts, **kwargs)
    return json.loads(response.body)


async def rest_error(jp_fetch, method: str, *parts: str, body=None, **params):
    return await refusal(rest(jp_fetch, method, *parts, body=body, **params))


async def sources(jp_fetch, path: str) -> list[str]:
    nb = (await api(jp_fetch, "GET", path))["content"]
    return [c["source"] for c in nb["cells"]]


async def make_copy(jp_fetch, path: str, nb: dict) -> str:
    await api(jp_fetch, "PUT", path, nb_model(nb))
    made = await rest(jp_fetch, "POST", "copies", body={"path": path})
    return made["path"]


async def edit(jp_fetch, path: str, change) -> None:
    nb = (await api(jp_fetch, "GET", path))["content"]
    change(nb)
    await api(jp_fetch, "PUT", path, nb_model(nb))


def set_source(i: int, source: str):
    def change(nb):
        nb["cells"][i]["source"] = source

    return change


async def test_copy_records_origin_in_cs3_metadata_and_notebook(jp_fetch, contents, site):
    await api(jp_fetch, "PUT", "a.ipynb", nb_model(nb_of("x = 1")))
    made = await rest(jp_fetch, "POST", "copies", body={"path": "a.ipynb"})
    assert made["path"] == "a-copy.ipynb"
    origin = made["origin"]
    info = await contents.files.stat(contents.home + "/a.ipynb")
    assert origin["resource_id"]["opaque_id"] == info.id.opaque_id
    assert origin["path"] == "a.ipynb" and origin["site"] == site.name
    assert origin["etag"] == info.etag.strip('"') and origin["copied_by"] == "Alice Anders"
    copy = (await api(jp_fetch, "GET", "a-copy.ipynb"))["content"]
    assert copy["metadata"]["cs3lab"]["origin"]["sha256"] == origin["sha256"]
    stored = await contents.files.stat(contents.home + "/a-copy.ipynb", [ORIGIN_KEY])
    assert json.loads(stored.arbitrary_metadata.metadata[ORIGIN_KEY])["sha256"] == origin["sha256"]
    again = await rest(jp_fetch, "POST", "copies", body={"path": "a.ipynb"})
    assert again["path"] == "a-copy2.ipynb"
    status, _ = await rest_error(
        jp_fetch, "POST", "copies", body={"path": "a.ipynb", "destination": "a-copy.ipynb"}
    )
    assert status == 409


async def test_clean_merge_writes_both_changes_and_records_it(jp_fetch, contents):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1", "b = 2", "c = 3"))
    await edit(jp_fetch, "nb.ipynb", set_source(0, "a = 10"))
    await edit(jp_fetch, copy, set_source(2, "c = 30"))
    # the original the user confirmed (as the dry run named it) is the one written
    dry = await rest(jp_fetch, "POST", "merge", body={"copy": copy, "dry_run": True})
    assert dry["status"] == "clean" and dry["original"]["path"] == "nb.ipynb"
    result = await rest(jp_fetch, "POST", "merge", body={"copy": copy, "original": "nb.ipynb"})
    assert result["status"] == "merged" and result["written"] is True
    assert await sources(jp_fetch, "nb.ipynb") == ["a = 10", "b = 2", "c = 30"]
    merged = (await api(jp_fetch, "GET", "nb.ipynb"))["content"]
    record = merged["metadata"]["cs3lab"]["merges"][-1]
    assert record["copy"].endswith(copy) and record["merged_by"] == "Alice Anders"
    assert "origin" not in merged["metadata"]["cs3lab"]  # the copy's origin stays in the copy
    # the hidden snapshot (if one was kept) is gone after the merge
    listing = await contents.files.list(contents.home)
    assert not [i.path for i in listing if i.path.endswith(".cs3lab-base")]


async def test_conflicting_merge_writes_nothing_until_resolved(jp_fetch):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1", "b = 2"))
    await edit(jp_fetch, "nb.ipynb", set_source(1, "b = 'original'"))
    await edit(jp_fetch, copy, set_source(1, "b = 'copy'"))
    before = await api(jp_fetch, "GET", "nb.ipynb")
    result = await rest(jp_fetch, "POST", "merge", body={"copy": copy})
    assert result["status"] == "conflicts" and result["conflicts"] >= 1
    assert set(result) >= {"base", "merge_decisions", "original"}
    assert any(d["conflict"] for d in result["merge_decisions"])
    after = await api(jp_fetch, "GET", "nb.ipynb")
    assert after["last_modified"] == before["last_modified"]
    assert await sources(jp_fetch, "nb.ipynb") == ["a = 1", "b = 'original'"]

    resolved = before["content"]
    resolved["cells"][1]["source"] = "b = 'both'"
    saved = await rest(
        jp_fetch,
        "POST",
        "merge",
        "resolve",
        body={"copy": copy, "etag": result["original"]["etag"], "content": resolved},
    )
    assert saved["status"] == "merged"
    assert await sources(jp_fetch, "nb.ipynb") == ["a = 1", "b = 'both'"]


async def test_a_copy_of_a_file_with_versions_merges_three_way(jp_fetch):
    """The original already has versions when it is copied (the usual case): the base is
    still the content copied, so a conflict is a conflict, not a two-way fallback."""
    await api(jp_fetch, "PUT", "kept.ipynb", nb_model(nb_of("a = 1", "b = 1")))
    await api(jp_fetch, "PUT", "kept.ipynb", nb_model(nb_of("a = 1", "b = 2")))
    made = await rest(jp_fetch, "POST", "copies", body={"path": "kept.ipynb"})
    await edit(jp_fetch, "kept.ipynb", set_source(1, "b = 'original'"))
    await edit(jp_fetch, made["path"], set_source(1, "b = 'copy'"))
    result = await rest(jp_fetch, "POST", "merge", body={"copy": made["path"]})
    assert result["status"] == "conflicts", result.get("message")
    assert await sources(jp_fetch, "kept.ipynb") == ["a = 1", "b = 'original'"]


async def test_resolved_save_re_merges_when_the_original_changed_meanwhile(jp_fetch):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1", "b = 2", "c = 3"))
    await edit(jp_fetch, "nb.ipynb", set_source(1, "b = 'original'"))
    await edit(jp_fetch, copy, set_source(1, "b = 'copy'"))
    result = await rest(jp_fetch, "POST", "merge", body={"copy": copy})
    assert result["status"] == "conflicts"
    resolved = (await api(jp_fetch, "GET", "nb.ipynb"))["content"]
    resolved["cells"][1]["source"] = "b = 'both'"
    # someone edits another cell of the original while the merge view is open
    await edit(jp_fetch, "nb.ipynb", set_source(2, "c = 'meanwhile'"))
    saved = await rest(
        jp_fetch,
        "POST",
        "merge",
        "resolve",
        body={"copy": copy, "etag": result["original"]["etag"], "content": resolved},
    )
    assert saved["status"] == "merged" and saved.get("remerged") is True
    assert await sources(jp_fetch, "nb.ipynb") == ["a = 1", "b = 'both'", "c = 'meanwhile'"]


async def test_merge_into_a_file_bob_holds_is_423_naming_him_and_writes_nothing(
    jp_fetch, contents, site
):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1", "b = 2"))
    await edit(jp_fetch, copy, set_source(1, "b = 20"))
    before = await api(jp_fetch, "GET", "nb.ipynb")
    # bob must be able to see the file to lock it: on site N use the shared project space
    async with locker(site, "bob") as bob:
        if site.reva == "v2":
            pytest.skip("alice's home is private on site N: covered by the shared-space test")
        await bob.acquire(contents.home + "/nb.ipynb", "tab")
        status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": copy})
    assert status == 423 and "Bob Berger" in message
    after = await api(jp_fetch, "GET", "nb.ipynb")
    assert after["last_modified"] == before["last_modified"]
    assert await sources(jp_fetch, "nb.ipynb") == ["a = 1", "b = 2"]


async def test_text_merge_clean_and_conflicting(jp_fetch):
    await api(jp_fetch, "PUT", "s.py", text_model("a = 1\nb = 2\nc = 3\nd = 4\n"))
    copy = (await rest(jp_fetch, "POST", "copies", body={"path": "s.py"}))["path"]
    await api(jp_fetch, "PUT", "s.py", text_model("a = 10\nb = 2\nc = 3\nd = 4\n"))
    await api(jp_fetch, "PUT", copy, text_model("a = 1\nb = 2\nc = 3\nd = 40\n"))
    result = await rest(jp_fetch, "POST", "merge", body={"copy": copy})
    assert result["status"] == "merged" and result["type"] == "text"
    assert (await api(jp_fetch, "GET", "s.py"))["content"] == "a = 10\nb = 2\nc = 3\nd = 40\n"

    await api(jp_fetch, "PUT", "t.md", text_model("# Title\ntext\n"))
    copy = (await rest(jp_fetch, "POST", "copies", body={"path": "t.md"}))["path"]
    await api(jp_fetch, "PUT", "t.md", text_model("# Original title\ntext\n"))
    await api(jp_fetch, "PUT", copy, text_model("# Copy title\ntext\n"))
    result = await rest(jp_fetch, "POST", "merge", body={"copy": copy})
    assert result["status"] == "conflicts" and result["conflicts"] == 1
    assert result["conflict_regions"][0]["original"] == "# Original title\n"
    assert (await api(jp_fetch, "GET", "t.md"))["content"] == "# Original title\ntext\n"
    saved = await rest(
        jp_fetch,
        "POST",
        "merge",
        "resolve",
        body={"copy": copy, "etag": result["original"]["etag"], "content": "# Both\ntext\n"},
    )
    assert saved["status"] == "merged"
    assert (await api(jp_fetch, "GET", "t.md"))["content"] == "# Both\ntext\n"


async def test_binary_merge_asks_keep_original_or_take_copy(jp_fetch):
    import base64

    def b64(data: bytes) -> dict:
        return {"type": "file", "format": "base64", "content": base64.b64encode(data).decode()}

    await api(jp_fetch, "PUT", "img.bin", b64(b"\x89PNG\0\x01"))
    copy = (await rest(jp_fetch, "POST", "copies", body={"path": "img.bin"}))["path"]
    await api(jp_fetch, "PUT", copy, b64(b"\x89PNG\0\x02"))
    result = await rest(jp_fetch, "POST", "merge", body={"copy": copy})
    assert result["status"] == "choose" and result["type"] == "binary"
    got = await api(jp_fetch, "GET", "img.bin", format="base64")
    assert base64.b64decode(got["content"]) == b"\x89PNG\0\x01"
    await rest(
        jp_fetch,
        "POST",
        "merge",
        "resolve",
        body={"copy": copy, "choice": "copy", "etag": result["original"]["etag"]},
    )
    got = await api(jp_fetch, "GET", "img.bin", format="base64")
    assert base64.b64decode(got["content"]) == b"\x89PNG\0\x02"


async def test_diff_of_copy_two_notebooks_and_a_version(jp_fetch):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1"))
    await edit(jp_fetch, copy, set_source(0, "a = 2"))
    result = await rest(jp_fetch, "POST", "diff", body={"copy": copy})
    assert result["type"] == "notebook" and result["base"]["cells"][0]["source"] == "a = 1"
    assert result["diff"] and result["original"]["path"] == "nb.ipynb"
    result = await rest(jp_fetch, "POST", "diff", body={"base": "nb.ipynb", "remote": copy})
    assert [d["key"] for d in result["diff"]] == ["cells", "metadata"]


async def test_versions_list_and_restore_keeps_the_current_content(jp_fetch):
    await api(jp_fetch, "PUT", "v.txt", text_model("one"))
    await api(jp_fetch, "PUT", "v.txt", text_model("two"))
    listed = await rest(jp_fetch, "GET", "versions", path="v.txt")
    assert listed["current"]["size"] == 3 and listed["versions"]
    assert all({"id", "last_modified", "size"} <= set(v) for v in listed["versions"])
    old = listed["versions"][0]
    await rest(jp_fetch, "POST", "versions", body={"path": "v.txt", "id": old["id"]})
    assert (await api(jp_fetch, "GET", "v.txt"))["content"] == "one"
    after = await rest(jp_fetch, "GET", "versions", path="v.txt")
    assert len(after["versions"]) > len(listed["versions"])  # "two" was kept as a version


# -- errors of item 6 ----------------------------------------------------------------------


async def test_a_file_without_origin_cannot_be_merged(jp_fetch):
    await api(jp_fetch, "PUT", "plain.ipynb", nb_model(nb_of("x")))
    status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": "plain.ipynb"})
    assert status == 400 and "records no original" in message


async def test_deleted_original_is_404_and_nothing_written(jp_fetch):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a"))
    await api(jp_fetch, "DELETE", "nb.ipynb")
    status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": copy})
    assert status == 404 and "deleted" in message
    code, _ = await api_error(jp_fetch, "GET", "nb.ipynb")
    assert code == 404


async def test_moved_original_is_found_by_resource_id(jp_fetch):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1", "b = 2"))
    await edit(jp_fetch, copy, set_source(1, "b = 20"))
    await api(jp_fetch, "PATCH", "nb.ipynb", {"path": "moved.ipynb"})
    try:
        result = await rest(jp_fetch, "POST", "merge", body={"copy": copy})
    except HTTPClientError as err:  # a storage that cannot stat by id must say so
        body = json.loads(err.response.body)
        assert err.code == 404 and "resource id" in body["message"]
        return
    assert result["original"]["path"] == "moved.ipynb"
    assert result["original"]["moved_from"] == "nb.ipynb"
    assert await sources(jp_fetch, "moved.ipynb") == ["a = 1", "b = 20"]


async def test_base_gone_falls_back_to_a_two_way_diff(jp_fetch, contents):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1"))
    await edit(jp_fetch, "nb.ipynb", set_source(0, "a = 2"))
    # the base is gone: the snapshot removed and the origin says a hash no version has
    stored = await contents.files.stat(contents.home + "/" + copy, [ORIGIN_KEY])
    origin = json.loads(stored.arbitrary_metadata.metadata[ORIGIN_KEY])
    if origin["snapshot"]:
        await contents.files.delete(origin["snapshot"])
    origin["sha256"] = "0" * 64
    await contents.files.set_metadata(contents.home + "/" + copy, {ORIGIN_KEY: json.dumps(origin)})
    before = await api(jp_fetch, "GET", "nb.ipynb")
    result = await rest(jp_fetch, "POST", "merge", body={"copy": copy})
    assert result["status"] == "two-way" and "no longer stored" in result["message"]
    assert result["diff"] is not None and "base" in result
    after = await api(jp_fetch, "GET", "nb.ipynb")
    assert after["last_modified"] == before["last_modified"]


async def test_invalid_notebook_on_either_side_is_400(jp_fetch):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1"))
    await api(jp_fetch, "PUT", copy, text_model("{not json"))
    status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": copy})
    assert status in (400,) and "not a valid notebook" in message
    copy2 = await make_copy(jp_fetch, "nb2.ipynb", nb_of("a = 1"))
    await api(jp_fetch, "PUT", "nb2.ipynb", text_model('{"cells": 3}'))
    status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": copy2})
    assert status == 400 and "original" in message and "not a valid notebook" in message
    assert (await api(jp_fetch, "GET", "nb2.ipynb", type="file"))["content"] == '{"cells": 3}'


# -- two users: a lock held by bob, an original bob may only read ---------------------------


def service_of(contents, site):
    from cs3lab.merge.service import MergeService

    return MergeService(contents, site=site.name)


async def test_bob_holding_a_shared_original_gets_423_naming_him(jp_fetch, contents, site):
    """The original in the folder all users share (site N: project space /projects/common)."""
    import uuid

    from site_runner import sync_upload

    original = f"{site.shared}/m-{uuid.uuid4().hex[:8]}.ipynb"
    sync_upload(
        site, "alice", original, nbformat.writes(nbformat.from_dict(nb_of("a", "b"))).encode()
    )
    made = await service_of(contents, site).copy(original, contents.home + "/mine.ipynb")
    assert made["origin"]["path"] == original
    await edit(jp_fetch, "mine.ipynb", set_source(1, "b = 'copy'"))
    before = await contents.files.download(original)
    async with locker(site, "bob") as bob:
        await bob.acquire(original, "tab")
        status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": "mine.ipynb"})
    assert status == 423 and "Bob Berger" in message
    assert await contents.files.download(original) == before


def _viewer_space(site, name: str, reader: str) -> str:
    """A project space of alice's in which ``reader`` may read but not write (site N)."""
    from cs3.identity.user.v1beta1 import resources_pb2 as user_res
    from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
    from cs3.storage.provider.v1beta1 import provider_api_pb2_grpc as sp_grpc
    from cs3.storage.provider.v1beta1 import resources_pb2 as res
    from cs3.storage.provider.v1beta1 import spaces_api_pb2 as spaces
    from site_runner import sync_login

    viewer = res.ResourcePermissions(
        stat=True,
        get_path=True,
        initiate_file_download=True,
        list_container=True,
        list_file_versions=True,
        get_quota=True,
    )
    channel, stub, metadata = sync_login(site, "alice")
    with channel:
        made = stub.CreateStorageSpace(
            spaces.CreateStorageSpaceRequest(type="project", name=name), metadata=metadata
        )
        assert made.status.code == 1, made.status.message
        idp, opaque_id = site.user_id(reader)
        grantee = res.Grantee(
            type=res.GRANTEE_TYPE_USER,
            user_id=user_res.UserId(idp=idp, opaque_id=opaque_id, type=1),
        )
        added = sp_grpc.ProviderAPIStub(channel).AddGrant(
            sp.AddGrantRequest(
                ref=res.Reference(resource_id=made.storage_space.root),
                grant=res.Grant(grantee=grantee, permissions=viewer),
            ),
            metadata=metadata,
        )
        assert added.status.code == 1, added.status.message
    return f"/projects/{name}"


@pytest.mark.sites("site-n")
@pytest.mark.parametrize("user", ["bob"])
async def test_merge_by_a_user_who_may_not_write_the_original_is_403(jp_fetch, contents, site):
    """Site N only: Reva v3's local driver has no permissions (everyone may write everything)
    and on site N alice's personal home is invisible to bob (404), so the original is in a
    project space of alice's where bob is a viewer."""
    import uuid

    from site_runner import sync_upload

    space = _viewer_space(site, f"ro-{uuid.uuid4().hex[:8]}", "bob")
    original = f"{space}/report.ipynb"
    sync_upload(
        site, "alice", original, nbformat.writes(nbformat.from_dict(nb_of("a", "b"))).encode()
    )
    await service_of(contents, site).copy(original, contents.home + "/report.ipynb")
    await edit(jp_fetch, "report.ipynb", set_source(1, "b = 'bob'"))
    before = await contents.files.download(original)
    status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": "report.ipynb"})
    assert status == 403 and "not write" in message
    assert await contents.files.download(original) == before


# -- a copy's origin is data from whoever made the copy (issue 16, items 1 and 6) -----------


async def stored_origin(contents, copy: str) -> dict:
    stored = await contents.files.stat(f"{contents.home}/{copy}", [ORIGIN_KEY])
    return json.loads(stored.arbitrary_metadata.metadata[ORIGIN_KEY])


async def set_origin(contents, copy: str, origin: dict | str) -> None:
    value = origin if isinstance(origin, str) else json.dumps(origin)
    await contents.files.set_metadata(f"{contents.home}/{copy}", {ORIGIN_KEY: value})


async def unchanged(jp_fetch, *paths: str):
    """A check that each of ``paths`` still has the content and date it has now."""
    before = {p: await api(jp_fetch, "GET", p) for p in paths}

    async def check() -> None:
        for p, model in before.items():
            now = await api(jp_fetch, "GET", p)
            assert (now["content"], now["last_modified"]) == (
                model["content"],
                model["last_modified"],
            ), p

    return check


@pytest.mark.sites("site-a")
async def test_a_snapshot_named_by_a_copy_bob_made_is_never_deleted(jp_fetch, contents, site):
    """Bob writes copies into alice's folder (site A's local driver lets every user write every
    folder, as a folder shared with edit rights would) whose origins name alice's folder and
    one of her files as their base snapshot. Alice's 'Keep original' and her merge use and
    remove only a snapshot where cs3lab puts one: beside the copy, named after it."""
    import base64

    home = contents.home
    await api(jp_fetch, "PUT", "precious", {"type": "directory"})
    await api(jp_fetch, "PUT", "precious/keep.txt", text_model("mine"))
    await api(jp_fetch, "PUT", "nb.ipynb", nb_model(nb_of("a = 1", "b = 2")))
    await api(jp_fetch, "PUT", "img.bin", {"type": "file", "format": "base64", "content": "AAE="})

    async def bobs_copy(original: str, copy: str, data: bytes, snapshot: str) -> None:
        async with signed_in(site, "bob") as bob:
            info = await bob.stat(f"{home}/{original}")
            origin = Origin.of(info, await bob.download(f"{home}/{original}"), site.name, "Bob")
            origin.path, origin.snapshot = f"{home}/{original}", snapshot
            await bob.upload(f"{home}/{copy}", data)
            await bob.set_metadata(f"{home}/{copy}", {ORIGIN_KEY: origin.dumps()})

    await bobs_copy("img.bin", "img-bob.bin", b"\x00\x02", f"{home}/precious/keep.txt")
    answer = await rest(jp_fetch, "POST", "merge", body={"copy": "img-bob.bin"})
    assert answer["status"] == "choose"
    await rest(
        jp_fetch,
        "POST",
        "merge",
        "resolve",
        body={"copy": "img-bob.bin", "choice": "original", "original": "img.bin"},
    )
    assert (await api(jp_fetch, "GET", "precious/keep.txt"))["content"] == "mine"
    kept = await api(jp_fetch, "GET", "img.bin", format="base64")
    assert base64.b64decode(kept["content"]) == b"\x00\x01"

    nb = nb_of("a = 1", "b = 'bob'")
    await bobs_copy("nb.ipynb", "nb-bob.ipynb", nbformat.writes(nb).encode(), f"{home}/precious")
    merged = await rest(
        jp_fetch, "POST", "merge", body={"copy": "nb-bob.ipynb", "original": "nb.ipynb"}
    )
    assert merged["status"] == "merged", merged
    assert await sources(jp_fetch, "nb.ipynb") == ["a = 1", "b = 'bob'"]
    assert (await api(jp_fetch, "GET", "precious/keep.txt"))["content"] == "mine"


async def test_an_origin_naming_another_file_is_refused_and_nothing_written(jp_fetch, contents):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1", "b = 2"))
    await edit(jp_fetch, copy, set_source(1, "b = 20"))
    await api(jp_fetch, "PUT", "other.ipynb", nb_model(nb_of("a = 1", "b = 2")))
    check = await unchanged(jp_fetch, "nb.ipynb", "other.ipynb")
    origin = await stored_origin(contents, copy)
    other = f"{contents.home}/other.ipynb"
    other_id = (await contents.files.stat(other)).id

    # another file's path with the original's resource id: path and id disagree
    await set_origin(contents, copy, {**origin, "path": other})
    status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": copy})
    assert status == 409 and "not the file this copy was made from" in message, message
    # no resource id: the path alone does not make a file the original
    await set_origin(contents, copy, {**origin, "path": other, "resource_id": {}})
    status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": copy})
    assert status == 409 and "not the file this copy was made from" in message, message
    # path and id agree on the other file: the original the user confirmed decides
    forged_id = {
        "storage_id": other_id.storage_id,
        "space_id": other_id.space_id,
        "opaque_id": other_id.opaque_id,
    }
    await set_origin(contents, copy, {**origin, "path": other, "resource_id": forged_id})
    dry = await rest(jp_fetch, "POST", "merge", body={"copy": copy, "dry_run": True})
    assert dry["original"]["path"] == "other.ipynb"  # what the dialog shows the user
    for endpoint, extra in (((), {}), (("resolve",), {"choice": "copy", "etag": "x"})):
        status, message = await rest_error(
            jp_fetch,
            "POST",
            "merge",
            *endpoint,
            body={"copy": copy, "original": "nb.ipynb", **extra},
        )
        assert status == 409 and "other.ipynb" in message and "nb.ipynb" in message, message
    await check()


@pytest.mark.sites("site-a")
async def test_a_damaged_origin_is_400_for_every_request_and_never_trusted(jp_fetch, contents):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1"))
    await edit(jp_fetch, copy, set_source(0, "a = 2"))
    check = await unchanged(jp_fetch, "nb.ipynb")
    origin = await stored_origin(contents, copy)
    for damaged in (
        {**origin, "resource_id": "x"},
        {**origin, "resource_id": {"opaque_id": 7}},
        {**origin, "size": "big"},
        {**origin, "path": ["nb.ipynb"]},
        {**origin, "path": f"{contents.home}/../bob/nb.ipynb"},
        {**origin, "snapshot": 5},
        {**origin, "sha256": 1},
        "[1]",
        "{broken",
    ):
        await set_origin(contents, copy, damaged)
        for method, parts, body, params in (
            ("POST", ("merge",), {"copy": copy}, {}),
            ("POST", ("merge",), {"copy": copy, "dry_run": True}, {}),
            ("POST", ("merge", "resolve"), {"copy": copy, "choice": "original"}, {}),
            ("POST", ("diff",), {"copy": copy}, {}),
            ("GET", ("copies",), None, {"path": copy}),
        ):
            status, message = await rest_error(jp_fetch, method, *parts, body=body, **params)
            assert status == 400 and "origin record is damaged" in message, (damaged, message)
    await check()


@pytest.mark.sites("site-a")
async def test_resolve_with_a_non_string_etag_choice_or_original_is_400(jp_fetch):
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1"))
    check = await unchanged(jp_fetch, "nb.ipynb")
    nb = (await api(jp_fetch, "GET", "nb.ipynb"))["content"]
    for body, word in (
        ({"copy": copy, "etag": 5, "content": nb}, "etag"),
        ({"copy": copy, "etag": ["x"], "content": nb}, "etag"),
        ({"copy": copy, "choice": "copy", "etag": {"a": 1}}, "etag"),
        ({"copy": copy, "choice": 1}, "choice"),
        ({"copy": copy, "etag": "x", "content": nb, "original": 3}, "original"),
    ):
        status, message = await rest_error(jp_fetch, "POST", "merge", "resolve", body=body)
        assert status == 400 and word in message, (body, message)
    status, message = await rest_error(
        jp_fetch, "POST", "merge", body={"copy": copy, "original": ["nb.ipynb"]}
    )
    assert status == 400 and "original" in message
    await check()


@pytest.mark.sites("site-n")
async def test_an_original_alice_cannot_see_is_refused_saying_so(jp_fetch, contents, site):
    """Site N: alice's copy whose origin names a file in bob's home, which alice cannot see."""
    import uuid

    from site_runner import sync_upload

    theirs = f"{site.home('bob')}/private-{uuid.uuid4().hex[:8]}.ipynb"
    data = nbformat.writes(nbformat.from_dict(nb_of("a = 1"))).encode()
    sync_upload(site, "bob", theirs, data)
    async with signed_in(site, "bob") as bob:
        bobs = (await bob.stat(theirs)).id
    copy = await make_copy(jp_fetch, "nb.ipynb", nb_of("a = 1"))
    await edit(jp_fetch, copy, set_source(0, "a = 'alice'"))
    origin = await stored_origin(contents, copy)
    rid = {"storage_id": bobs.storage_id, "space_id": bobs.space_id, "opaque_id": bobs.opaque_id}
    await set_origin(contents, copy, {**origin, "path": theirs, "resource_id": rid})
    status, message = await rest_error(jp_fetch, "POST", "merge", body={"copy": copy})
    assert status in (403, 404) and "not shared with you" in message, message
    async with signed_in(site, "bob") as bob:
        assert await bob.download(theirs) == data


@pytest.mark.sites("site-a")
@pytest.mark.parametrize("max_diff_size_mb", [1])
async def test_diffs_and_merges_past_the_size_limit_are_refused(jp_fetch, contents):
    big = "x = 1\n" * 200_000  # 1.2 MB
    await api(jp_fetch, "PUT", "big.py", text_model(big))
    await api(jp_fetch, "PUT", "big.py", text_model(big + "y = 2\n"))  # a version to compare
    copy = (await rest(jp_fetch, "POST", "copies", body={"path": "big.py"}))["path"]
    await api(jp_fetch, "PUT", "small.py", text_model("x = 1\n"))
    check = await unchanged(jp_fetch, "big.py", copy)
    version = (await rest(jp_fetch, "GET", "versions", path="big.py"))["versions"][0]["id"]
    for parts, body in (
        (("diff",), {"copy": copy}),
        (("diff",), {"base": "small.py", "remote": "big.py"}),
        (("diff",), {"path": "big.py", "version": version}),
        (("merge",), {"copy": copy}),
        (("merge",), {"copy": copy, "dry_run": True}),
    ):
        status, message = await rest_error(jp_fetch, "POST", *parts, body=body)
        assert status == 400 and "larger than the 1 MB" in message, (body, message)
    await check()
    # a small file is still compared
    result = await rest(jp_fetch, "POST", "diff", body={"base": "small.py", "remote": "small.py"})
    assert result["type"] == "text"


async def test_a_copy_whose_name_would_be_too_long_is_400_and_nothing_written(jp_fetch):
    name = "é" * 120 + ".ipynb"  # 246 bytes: with "-copy", 251 would fit; "x" * 8 more would not
    longer = "x" * 8 + name  # 254 bytes
    await api(jp_fetch, "PUT", longer, nb_model(nb_of("a = 1")))
    code, message = await rest_error(jp_fetch, "POST", "copies", body={"path": longer})
    assert code == 400 and "longer than the storage keeps (255 bytes)" in message, message
    listing = await api(jp_fetch, "GET", "")
    assert [c["name"] for c in listing["content"]] == [longer]
