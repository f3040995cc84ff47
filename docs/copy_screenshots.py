"""Copy the browser tests' screenshots that the user guide shows into docs/user-guide/.

The UI tests (tests/test_ui*.py) save their screenshots in tests/artifacts/ui/ at every run;
after a run (``bash scripts/test.sh -m ui``), ``python docs/copy_screenshots.py`` refreshes the
guide's pictures from them, so the guide shows what the tests saw.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent / "tests" / "artifacts" / "ui"
GUIDE = HERE / "user-guide"

# the tests' file -> the guide's file
SHOWN = {
    "locks-3-bob-readonly.png": "lock-read-only.png",
    "locks-5-alice-asked.png": "lock-asked-to-hand-over.png",
    "locks-6-bob-got-lock.png": "lock-handed-over.png",
    "merge-0-copy-dialog.png": "copy-dialog.png",
    "merge-diff.png": "copy-changes.png",
    "merge-view.png": "merge-view.png",
    "merge-versions.png": "versions.png",
    "sharing-2-alice-shared-with-bob.png": "share-dialog.png",
    "sharing-4-bob-shared-with-me.png": "shared-with-me.png",
    "recycle-4-recycle-bin.png": "recycle-bin.png",
    "kernel-plot.png": "kernel-plot.png",
}


def main() -> int:
    missing = [name for name in SHOWN if not (ARTIFACTS / name).exists()]
    if missing:
        print(f"not in {ARTIFACTS}: {', '.join(missing)}; run the UI tests first", file=sys.stderr)
        return 1
    GUIDE.mkdir(exist_ok=True)
    for source, target in SHOWN.items():
        shutil.copyfile(ARTIFACTS / source, GUIDE / target)
        print(f"{GUIDE / target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
