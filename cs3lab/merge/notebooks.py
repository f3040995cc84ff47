"""Three-way notebook merge: nbdime's merge decisions, then cs3lab's automatic resolutions.

nbdime (``decide_notebook_merge`` with the ``mergetool`` strategy, as nbdime's own merge
server runs it) leaves many everyday divergences as conflicts that a careful person would
merge without being asked. :func:`merge` turns those into ordinary decisions, each recorded as
a :class:`Resolution` for the merge summary, and leaves every true conflict (the same lines
changed differently, an edit against a deletion) to the person:

``identical-insert``       the same cell added on both sides becomes one cell (the original's)
``both-inserts``           different cells added at the same place on both sides are both kept,
                           the original's first
``outputs-follow-source``  outputs changed on both sides: those of the side whose source won
                           (the original's when neither or both changed the source alike)
``execution-count``        execution counts changed on both sides: as the outputs
``metadata-original``      metadata changed differently on both sides: the original's value
``delete-over-rerun``      a cell deleted on one side and only re-run (outputs, execution
                           count, metadata) on the other: deleted

Local is the original now, remote the copy. Pure functions over nbformat dicts, no I/O: the
service runs them off the event loop.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import asdict, dataclass, field
from typing import Any

import nbdime
from nbdime.merging.decisions import apply_decisions
from nbdime.merging.notebooks import decide_notebook_merge

# nbdime's merge server uses these arguments: conflicts stay decisions for the merge widget.
MERGE_ARGS = argparse.Namespace(
    merge_strategy="mergetool",
    input_strategy=None,
    output_strategy=None,
    ignore_transients=True,
    log_level="WARNING",
)
_RERUN_KEYS = {"outputs", "execution_count", "metadata"}
_SIDE_NAME = {"local": "the original", "remote": "the copy"}


@dataclass
class Resolution:
    """One automatic resolution, as listed in the merge summary."""

    kind: str
    path: str  # JSON pointer into the base notebook, e.g. "/cells/3/outputs"
    message: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class NotebookMerge:
    decisions: list[dict[str, Any]]
    resolutions: list[Resolution] = field(default_factory=list)

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        return [d for d in self.decisions if d.get("conflict")]

    @property
    def clean(self) -> bool:
        return not self.conflicts

    def summary(self) -> list[dict[str, str]]:
        return [r.to_json() for r in self.resolutions]


def diff(a: dict, b: dict) -> list[dict[str, Any]]:
    """nbdime's diff of two notebooks (what nbdime's diff widget takes with ``a`` as base)."""
    return nbdime.diff_notebooks(a, b)


def apply(base: dict, decisions: list[dict[str, Any]]) -> dict:
    """The notebook the decisions describe (conflicted ones keep the base)."""
    return apply_decisions(copy.deepcopy(base), decisions)


def merge(base: dict, local: dict, remote: dict) -> NotebookMerge:
    """nbdime's three-way merge plus cs3lab's automatic resolutions (module docstring)."""
    decisions = decide_notebook_merge(base, local, remote, args=MERGE_ARGS)
    result = NotebookMerge(list(decisions))
    _Resolver(base, result).run()
    return result


def pointer(path) -> str:
    return "/" + "/".join(str(p) for p in path)


class _Resolver:
    def __init__(self, base: dict, result: NotebookMerge) -> None:
        self.base = base
        self.result = result
        self.decisions = result.decisions

    def note(self, kind: str, path, message: str) -> None:
        self.result.resolutions.append(Resolution(kind, pointer(path), message))

    def run(self) -> None:
        for d in self.decisions:
            cp = tuple(d.get("common_path") or ())
            if d.get("conflict"):
                self._resolve_conflict(d, cp)
            elif d.get("action") == "clear" and _only_keys(d, {"execution_count"}):
                self._execution_count(d, cp)

    # -- which side's source won ----------------------------------------------------------

    def _touches(self, d: dict, side: str, i: int, key: str) -> bool:
        ops = d.get(f"{side}_diff") or []
        if not ops:
            return False
        cp = tuple(d.get("common_path") or ())
        if cp[:3] == ("cells", i, key):
            return True
        if cp == ("cells", i):
            return any(op.get("key") == key for op in ops)
        if cp == ("cells",):
            return any(
                op["op"] == "patch"
                and op["key"] == i
                and any(sub.get("key") == key for sub in op["diff"])
                for op in ops
            )
        return False

    def _source_winner(self, i: int) -> str | None:
        """'local' or 'remote': whose outputs go with the merged source of base cell i;
        None while the source itself is in conflict."""
        local = remote = False
        for d in self.decisions:
            touched_local = self._touches(d, "local", i, "source")
            touched_remote = self._touches(d, "remote", i, "source")
            if d.get("conflict") and (touched_local or touched_remote):
                return None
            local |= touched_local
            remote |= touched_remote
        return "remote" if remote and not local else "local"

    # -- resolutions ------------------------------------------------------------------------

    def _resolve_conflict(self, d: dict, cp: tuple) -> None:
        if "metadata" in cp or (
            cp[:1] == ("cells",) and len(cp) == 2 and _only_keys(d, {"metadata"})
        ):
            self._take(d, "local")
            self.note(
                "metadata-original",
                cp,
                f"Metadata at {pointer(cp)} was changed on both sides: the original's value "
                "is kept.",
            )
        elif len(cp) >= 3 and cp[0] == "cells" and cp[2] == "outputs":
            self._outputs(d, cp, cp[1])
        elif len(cp) == 2 and cp[0] == "cells" and _only_keys(d, {"outputs", "execution_count"}):
            self._outputs(d, cp, cp[1])
        elif cp == ("cells",):
            if not self._inserts(d, cp):
                self._delete_over_rerun(d, cp)

    def _take(self, d: dict, action: str) -> None:
        d["action"] = action
        d["conflict"] = False
        d.pop("similar_insert", None)

    def _outputs(self, d: dict, cp: tuple, i: int) -> None:
        side = self._source_winner(i)
        if side is None:
            return  # the source is a true conflict: its outputs are decided with it
        self._take(d, side)
        self.note(
            "outputs-follow-source",
            cp,
            f"Cell {i + 1} was run on both sides: the outputs of {_SIDE_NAME[side]} are kept, "
            "whose source is merged.",
        )

    def _execution_count(self, d: dict, cp: tuple) -> None:
        i = cp[1] if len(cp) == 2 and cp[0] == "cells" else None
        side = (self._source_winner(i) if i is not None else None) or "local"
        self._take(d, side)
        self.note(
            "execution-count",
            cp,
            f"Cell {i + 1 if i is not None else '?'} has different execution counts: "
            f"{_SIDE_NAME[side]}'s is kept.",
        )

    def _inserts(self, d: dict, cp: tuple) -> bool:
        local_ops, remote_ops = d.get("local_diff") or [], d.get("remote_diff") or []
        if not local_ops or not remote_ops:
            return False
        if any(op["op"] != "addrange" for op in local_ops + remote_ops):
            return False
        keys = {op["key"] for op in local_ops + remote_ops}
        if len(keys) != 1 or len(local_ops) != 1 or len(remote_ops) != 1:
            return False
        at = keys.pop()
        local_cells, remote_cells = local_ops[0]["valuelist"], remote_ops[0]["valuelist"]
        seen = {_cell_key(c) for c in local_cells}
        new = [c for c in remote_cells if _cell_key(c) not in seen]
        same = len(remote_cells) - len(new)
        where = f"at position {at + 1}" if at < len(self.base.get("cells", [])) else "at the end"
        if not new:
            self._take(d, "local")
            self.note(
                "identical-insert",
                cp,
                f"The same {_cells(same)} added {where} on both sides: kept once "
                "(the original's, with its outputs).",
            )
            return True
        if same:
            remote_ops[0]["valuelist"] = new  # the copy's duplicates are not added twice
            self.note(
                "identical-insert",
                cp,
                f"{_cells(same).capitalize()} added {where} on both sides: kept once.",
            )
        self._take(d, "local_then_remote")
        self.note(
            "both-inserts",
            cp,
            f"Different cells added {where} on both sides: all kept, the original's "
            f"{_cells(len(local_cells))} first, then the copy's {_cells(len(new))}.",
        )
        return True

    def _delete_over_rerun(self, d: dict, cp: tuple) -> bool:
        for deleter, other in (("local", "remote"), ("remote", "local")):
            dels, patches = d.get(f"{deleter}_diff") or [], d.get(f"{other}_diff") or []
            if not dels or not patches or any(op["op"] != "removerange" for op in dels):
                continue
            removed = {k for op in dels for k in range(op["key"], op["key"] + op["length"])}
            if all(
                op["op"] == "patch"
                and op["key"] in removed
                and {sub.get("key") for sub in op["diff"]} <= _RERUN_KEYS
                for op in patches
            ):
                self._take(d, deleter)
                cells = ", ".join(str(k + 1) for k in sorted({op["key"] for op in patches}))
                self.note(
                    "delete-over-rerun",
                    cp,
                    f"Cell {cells} was deleted in {_SIDE_NAME[deleter]} and only re-run in "
                    f"{_SIDE_NAME[other]}: deleted.",
                )
                return True
        return False


def _only_keys(d: dict, keys: set[str]) -> bool:
    ops = (d.get("local_diff") or []) + (d.get("remote_diff") or [])
    return bool(ops) and all(op.get("key") in keys for op in ops)


def _source_text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else str(source or "")


def _cell_key(cell: dict) -> tuple[str, str]:
    return (cell.get("cell_type", ""), _source_text(cell.get("source")).rstrip())


def _cells(n: int) -> str:
    return "1 cell" if n == 1 else f"{n} cells"
