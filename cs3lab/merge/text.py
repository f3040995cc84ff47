"""Line-based three-way merge of text files (``merge3``, the algorithm of bzr and Breezy).

Local is the original now, remote the copy. A region changed on one side only takes that
side; a region changed identically on both sides is taken once; a region changed differently
on both sides is a conflict, reported with the three versions of its lines so a conflict view
can show them, and marked in ``merged`` git-style. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import merge3

MARKERS = ("<<<<<<< original\n", "=======\n", ">>>>>>> copy\n")


@dataclass
class TextMerge:
    merged: str  # with conflict markers where ``conflicts`` is not empty
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts


def is_text(data: bytes) -> bool:
    if b"\0" in data[:8192]:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def merge(base: str, local: str, remote: str) -> TextMerge:
    m = merge3.Merge3(
        base.splitlines(True), local.splitlines(True), remote.splitlines(True), is_cherrypick=False
    )
    out: list[str] = []
    conflicts: list[dict[str, Any]] = []
    for region in m.merge_regions():
        kind = region[0]
        if kind == "unchanged":
            out.extend(m.base[region[1] : region[2]])
        elif kind in ("a", "same"):
            out.extend(m.a[region[1] : region[2]])
        elif kind == "b":
            out.extend(m.b[region[1] : region[2]])
        else:  # conflict: (kind, base start, end, a start, end, b start, end)
            _, zs, ze, as_, ae, bs, be = region
            original, theirs = m.a[as_:ae], m.b[bs:be]
            conflicts.append(
                {
                    "line": len(out) + 1,  # where the marker starts in ``merged``
                    "base": "".join(m.base[zs:ze]),
                    "original": "".join(original),
                    "copy": "".join(theirs),
                    "base_lines": [zs + 1, ze],
                }
            )
            out.append(MARKERS[0])
            out.extend(_terminated(original))
            out.append(MARKERS[1])
            out.extend(_terminated(theirs))
            out.append(MARKERS[2])
    return TextMerge("".join(out), conflicts)


def _terminated(lines: list[str]) -> list[str]:
    if lines and not lines[-1].endswith("\n"):
        return [*lines[:-1], lines[-1] + "\n"]
    return lines
