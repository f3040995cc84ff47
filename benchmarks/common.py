"""What every benchmark module shares: paths, constants, progress lines.

Imported first by the other modules: it puts the repository (cs3lab) and tools/sites
(site_runner) on ``sys.path``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _path in (str(REPO), str(REPO / "tools" / "sites"), str(HERE)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

USER = "alice"
HOLDER = "bob"  # holds the locks that the "list ... with lock state" rows show
PATHS = ("raw", "manager", "rest")
MAX_BODY = 1024**3
TIMEOUT = 600.0
KIB, MIB = 1024, 1024 * 1024
RESULTS = HERE / "results.md"
RESULTS_JSON = HERE / "results.json"
LOCKS_API = "/cs3lab/api/locks"
# --site: the site description, its name, its Reva line
SITE_FILES = {"a": ("site-a.json", "site-a", "v3"), "n": ("site-n.json", "site-n", "v2")}


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def load() -> str:
    """The load average (1, 5, 15 min)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
