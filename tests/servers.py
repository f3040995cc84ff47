"""Jupyter servers for the tests: tools/sites/lab_runner.py (where the demo starts its own),
running this checkout's cs3lab: the venv may hold an installed copy, which `jupyter server`
would import instead."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lab_runner
from lab_runner import RunningServer

REPO = Path(__file__).resolve().parent.parent

__all__ = ["RunningServer", "start_server"]


def start_server(*args: Any, env: dict[str, str] | None = None, **kwargs: Any) -> RunningServer:
    """:func:`lab_runner.start_server`, with this checkout first on ``PYTHONPATH``."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return lab_runner.start_server(*args, env={**(env or {}), "PYTHONPATH": path}, **kwargs)
