"""cs3lab's merge logic without a server: nbdime's decisions plus the automatic resolutions,
true conflicts, and the line-based text merge. Each automatic resolution is checked against
nbdime's own decisions first (it is a conflict there), so each test fails without it."""

from __future__ import annotations

import copy
import json

import pytest
from nbdime.merging.notebooks import decide_notebook_merge
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cs3lab.merge import notebooks, text


def cell(source: str, i: int, outputs=None, count=None):
    return new_code_cell(source, id=f"c{i}", outputs=outputs or [], execution_count=count)


def out(text_: str):
    return new_output("stream", name="stdout", text=text_)


def base_nb(*sources: str) -> dict:
    return new_notebook(
        cells=[cell(s, i) for i, s in enumerate(sources)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )


def sides(base: dict) -> tuple[dict, dict]:
    return copy.deepcopy(base), copy.deepcopy(base)


def nbdime_conflicts(base, local, remote) -> int:
    decisions = decide_notebook_merge(base, local, remote, args=notebooks.MERGE_ARGS)
    return sum(1 for d in decisions if d.conflict)


def merged(base, local, remote):
    result = notebooks.merge(base, local, remote)
    assert result.clean, result.conflicts
    return notebooks.apply(base, result.decisions), {r.kind for r in result.resolutions}


def srcs(nb) -> list[str]:
    return [c["source"] for c in nb["cells"]]


# -- automatic resolutions -----------------------------------------------------------------


def test_same_cell_added_on_both_sides_becomes_one():
    base = base_nb("a = 1", "b = 2")
    local, remote = sides(base)
    # each side made the cell itself, so ids and outputs differ
    local.cells.append(new_code_cell("c = 3", id="loc", outputs=[out("3")], execution_count=4))
    remote.cells.append(new_code_cell("c = 3", id="rem", outputs=[out("3!")], execution_count=9))
    assert nbdime_conflicts(base, local, remote)
    nb, kinds = merged(base, local, remote)
    assert srcs(nb) == ["a = 1", "b = 2", "c = 3"]
    assert nb.cells[2]["outputs"][0]["text"] == "3"  # the original's
    assert kinds == {"identical-insert"}


def test_different_cells_appended_on_both_sides_are_both_kept_original_first():
    base = base_nb("a = 1")
    local, remote = sides(base)
    local.cells.append(new_code_cell("from_original()", id="l1"))
    remote.cells.append(new_code_cell("from_copy()", id="r1"))
    remote.cells.append(new_markdown_cell("copy notes", id="r2"))
    assert nbdime_conflicts(base, local, remote)
    nb, kinds = merged(base, local, remote)
    assert srcs(nb) == ["a = 1", "from_original()", "from_copy()", "copy notes"]
    assert kinds == {"both-inserts"}


def test_inserts_sharing_a_cell_keep_it_once_and_both_sides_new_ones():
    base = base_nb("a = 1")
    local, remote = sides(base)
    local.cells += [new_code_cell("shared()", id="l1"), new_code_cell("mine()", id="l2")]
    remote.cells += [new_code_cell("shared()", id="r1"), new_code_cell("theirs()", id="r2")]
    assert nbdime_conflicts(base, local, remote)
    nb, kinds = merged(base, local, remote)
    assert srcs(nb) == ["a = 1", "shared()", "mine()", "theirs()"]
    assert kinds == {"identical-insert", "both-inserts"}


def test_outputs_rerun_on_both_sides_take_the_original_when_sources_agree():
    base = base_nb("print(1)")
    local, remote = sides(base)
    local.cells[0].outputs, local.cells[0].execution_count = [out("1 local")], 3
    remote.cells[0].outputs, remote.cells[0].execution_count = [out("1 remote")], 7
    assert nbdime_conflicts(base, local, remote)
    nb, kinds = merged(base, local, remote)
    assert nb.cells[0].outputs[0]["text"] == "1 local"
    assert nb.cells[0].execution_count == 3
    assert kinds == {"outputs-follow-source", "execution-count"}


def test_outputs_follow_the_source_the_copy_changed():
    base = base_nb("print(1)")
    base.cells[0].outputs = [out("1")]
    local, remote = sides(base)
    local.cells[0].outputs, local.cells[0].execution_count = [out("1 again")], 2
    remote.cells[0].source = "print(2)"
    remote.cells[0].outputs, remote.cells[0].execution_count = [out("2")], 5
    assert nbdime_conflicts(base, local, remote)
    nb, kinds = merged(base, local, remote)
    assert nb.cells[0].source == "print(2)"
    assert nb.cells[0].outputs[0]["text"] == "2"
    assert nb.cells[0].execution_count == 5
    assert "outputs-follow-source" in kinds


def test_execution_counts_alone_follow_the_source_and_never_clear():
    base = base_nb("x = 1")
    local, remote = sides(base)
    local.cells[0].execution_count = 12
    remote.cells[0].execution_count = 3
    result = notebooks.merge(base, local, remote)
    nb = notebooks.apply(base, result.decisions)
    # nbdime alone clears the count (None); cs3lab keeps the original's
    plain = decide_notebook_merge(base, local, remote, args=notebooks.MERGE_ARGS)
    assert notebooks.apply(base, plain).cells[0].execution_count is None
    assert nb.cells[0].execution_count == 12
    assert [r.kind for r in result.resolutions] == ["execution-count"]


def test_notebook_metadata_conflict_takes_the_original():
    base = base_nb("x = 1")
    base.metadata["language_info"] = {"name": "python", "version": "3.10"}
    local, remote = sides(base)
    local.metadata["language_info"]["version"] = "3.11"
    remote.metadata["language_info"]["version"] = "3.12"
    assert nbdime_conflicts(base, local, remote)
    nb, kinds = merged(base, local, remote)
    assert nb.metadata["language_info"]["version"] == "3.11"
    assert kinds == {"metadata-original"}


def test_cell_metadata_conflict_takes_the_original():
    base = base_nb("x = 1")
    local, remote = sides(base)
    local.cells[0].metadata["tags"] = ["original-tag"]
    remote.cells[0].metadata["tags"] = ["copy-tag"]
    assert nbdime_conflicts(base, local, remote)
    nb, kinds = merged(base, local, remote)
    assert nb.cells[0].metadata["tags"] == ["original-tag"]
    assert kinds == {"metadata-original"}


def test_cell_deleted_on_one_side_and_only_rerun_on_the_other_is_deleted():
    base = base_nb("a = 1", "scratch()", "c = 3")
    local, remote = sides(base)
    del remote.cells[1]
    local.cells[1].outputs, local.cells[1].execution_count = [out("junk")], 8
    assert nbdime_conflicts(base, local, remote)
    nb, kinds = merged(base, local, remote)
    assert srcs(nb) == ["a = 1", "c = 3"]
    assert kinds == {"delete-over-rerun"}


def test_every_resolution_is_listed_in_the_summary():
    base = base_nb("a = 1")
    local, remote = sides(base)
    local.cells.append(new_code_cell("l()", id="l"))
    remote.cells.append(new_code_cell("r()", id="r"))
    local.metadata["x"], remote.metadata["x"] = 1, 2
    result = notebooks.merge(base, local, remote)
    summary = result.summary()
    assert {s["kind"] for s in summary} == {"both-inserts", "metadata-original"}
    assert all(s["message"] and s["path"].startswith("/") for s in summary)


# -- what nbdime already merges, and stays merged -------------------------------------------


def test_different_cells_edited_merge_cleanly_without_resolutions():
    base = base_nb("a = 1", "b = 2", "c = 3")
    local, remote = sides(base)
    local.cells[0].source = "a = 10"
    remote.cells[2].source = "c = 30"
    nb, kinds = merged(base, local, remote)
    assert srcs(nb) == ["a = 10", "b = 2", "c = 30"]
    assert kinds == set()


# -- true conflicts are never resolved silently ---------------------------------------------


def test_same_line_changed_differently_is_a_conflict():
    base = base_nb("a = 1\nb = 2\nc = 3")
    local, remote = sides(base)
    local.cells[0].source = "a = 1\nb = 'original'\nc = 3"
    remote.cells[0].source = "a = 1\nb = 'copy'\nc = 3"
    result = notebooks.merge(base, local, remote)
    assert not result.clean
    assert any(tuple(d.common_path)[:3] == ("cells", 0, "source") for d in result.conflicts)


def test_edit_against_deletion_is_a_conflict():
    base = base_nb("a = 1", "b = 2", "c = 3")
    local, remote = sides(base)
    local.cells[1].source = "b = 'edited'"
    del remote.cells[1]
    result = notebooks.merge(base, local, remote)
    assert not result.clean
    assert "delete-over-rerun" not in {r.kind for r in result.resolutions}


def test_deletion_against_an_edit_in_the_copy_is_a_conflict():
    base = base_nb("a = 1", "b = 2")
    local, remote = sides(base)
    del local.cells[1]
    remote.cells[1].source = "b = 'copy'"
    remote.cells[1].outputs = [out("x")]
    assert not notebooks.merge(base, local, remote).clean


def test_outputs_of_a_conflicting_source_stay_with_the_conflict():
    base = base_nb("print(1)")
    local, remote = sides(base)
    local.cells[0].source, local.cells[0].outputs = "print('o')", [out("o")]
    remote.cells[0].source, remote.cells[0].outputs = "print('c')", [out("c")]
    result = notebooks.merge(base, local, remote)
    assert not result.clean
    assert "outputs-follow-source" not in {r.kind for r in result.resolutions}


# -- text ---------------------------------------------------------------------------------


def test_text_merge_of_different_lines_is_clean():
    result = text.merge("a\nb\nc\nd\n", "A\nb\nc\nd\n", "a\nb\nc\nD\n")
    assert result.clean and result.merged == "A\nb\nc\nD\n"


def test_text_merge_of_the_same_change_on_both_sides_is_clean():
    result = text.merge("a\nb\n", "a\nB\n", "a\nB\n")
    assert result.clean and result.merged == "a\nB\n"


def test_text_merge_of_the_same_line_changed_differently_is_a_conflict():
    result = text.merge("a\nb\nc\n", "a\nB1\nc\n", "a\nB2\nc\n")
    assert not result.clean
    (conflict,) = result.conflicts
    assert (conflict["base"], conflict["original"], conflict["copy"]) == ("b\n", "B1\n", "B2\n")
    assert result.merged == "a\n<<<<<<< original\nB1\n=======\nB2\n>>>>>>> copy\nc\n"


def test_text_edit_against_deletion_is_a_conflict():
    result = text.merge("a\nb\nc\n", "a\nB\nc\n", "a\nc\n")
    assert not result.clean


def test_binary_detection():
    assert text.is_text("héllo\n".encode())
    assert not text.is_text(b"\x89PNG\r\n\x1a\n\0\0")


# -- a copy's origin record: data from whoever made the copy --------------------------------


def _origin(**changes) -> dict:
    good = {
        "resource_id": {"storage_id": "s", "space_id": "sp", "opaque_id": "o"},
        "path": "/home/alice/nb.ipynb",
        "site": "site-a",
        "etag": "e1",
        "sha256": "a" * 64,
        "size": 12,
        "mtime": 1700000000.5,
        "copied_at": "2026-01-01T00:00:00+00:00",
        "copied_by": "Alice Anders",
        "version_key": "",
        "snapshot": "/home/alice/.nb-copy.ipynb.cs3lab-base",
    }
    return {**good, **changes}


def test_a_well_formed_origin_is_read_and_no_origin_is_none():
    from cs3lab.merge.origin import Origin

    origin = Origin.from_json(json.dumps(_origin()))
    assert origin is not None and origin.path == "/home/alice/nb.ipynb" and origin.size == 12
    assert Origin.from_json(_origin(resource_id={}, snapshot="", mtime=3)) is not None
    assert Origin.from_json(None) is None and Origin.from_json("") is None


DAMAGED = {
    "not JSON": "{nope",
    "not an object": "[1, 2]",
    "no path": {k: v for k, v in _origin().items() if k != "path"},
    "no sha256": {k: v for k, v in _origin().items() if k != "sha256"},
    "resource_id a string": _origin(resource_id="o"),
    "resource_id with a number": _origin(resource_id={"opaque_id": 5}),
    "resource_id with an unknown key": _origin(resource_id={"opaque_id": "o", "path": "/x"}),
    "relative path": _origin(path="nb.ipynb"),
    "path with ..": _origin(path="/home/alice/../bob/nb.ipynb"),
    "path with .": _origin(path="/home/alice/./nb.ipynb"),
    "path ending in /": _origin(path="/home/alice/"),
    "path //": _origin(path="//home/alice/nb.ipynb"),
    "path with NUL": _origin(path="/home/alice/nb\x00.ipynb"),
    "path a list": _origin(path=["/home/alice/nb.ipynb"]),
    "short sha256": _origin(sha256="abc"),
    "sha256 not hex": _origin(sha256="z" * 64),
    "size a string": _origin(size="12"),
    "size negative": _origin(size=-1),
    "size a bool": _origin(size=True),
    "size a float": _origin(size=12.5),
    "mtime a string": _origin(mtime="yesterday"),
    "mtime infinite": _origin(mtime=float("inf")),
    "etag a number": _origin(etag=5),
    "site a dict": _origin(site={}),
    "copied_by a list": _origin(copied_by=[]),
    "version_key a number": _origin(version_key=3),
    "snapshot relative": _origin(snapshot="precious"),
    "snapshot with ..": _origin(snapshot="/home/alice/x/../precious"),
    "snapshot a number": _origin(snapshot=1),
    "snapshot false": _origin(snapshot=False),
    "snapshot null": _origin(snapshot=None),
    "extra a list": _origin(extra=[]),
}


def test_a_damaged_origin_is_refused_naming_what_is_wrong():
    from cs3lab.merge.origin import DamagedOrigin, Origin

    for what, data in DAMAGED.items():
        with pytest.raises(DamagedOrigin) as info:
            Origin.from_json(data if isinstance(data, str) else json.dumps(data))
        assert info.value.http_status == 400, what
        assert "origin record is damaged" in info.value.message, what


def test_a_snapshot_is_trusted_only_beside_its_own_copy():
    from cs3lab.merge.origin import Origin, snapshot_path, trusted_snapshot

    copy = "/home/alice/nb-copy.ipynb"
    origin = Origin.from_json(_origin(snapshot=snapshot_path(copy)))
    assert trusted_snapshot(origin, copy) == "/home/alice/.nb-copy.ipynb.cs3lab-base"
    for elsewhere in ("/home/alice/precious", "/home/alice/.other.ipynb.cs3lab-base", ""):
        origin = Origin.from_json(_origin(snapshot=elsewhere))
        assert trusted_snapshot(origin, copy) == "", elsewhere
