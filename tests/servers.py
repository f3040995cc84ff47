"""Jupyter servers for the tests: tools/sites/lab_runner.py (where the demo starts its own),
running this checkout's cs3lab (the venv may hold an installed copy, which `jupyter server`
would import instead), their answers and logs searched for secrets (tests/secret_scan.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import lab_runner
from lab_runner import RunningServer
from secret_scan import SCANNER

REPO = Path(__file__).resolve().parent.parent

__all__ = ["RunningServer", "start_server"]


def start_server(*args: Any, env: dict[str, str] | None = None, **kwargs: Any) -> RunningServer:
    """:func:`lab_runner.start_server`, with this checkout first on ``PYTHONPATH``."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    server = lab_runner.start_server(*args, env={**(env or {}), "PYTHONPATH": path}, **kwargs)
    request, stop = server.request, server.stop

    def scanned_request(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, data = request(method, path, body)
        text = data if isinstance(data, str) else json.dumps(data)
        SCANNER.scan(f"the answer of {server.base} to {method} {path}", text)
        return status, data

    def scanned_stop() -> None:
        stop()
        if server.log.exists():
            SCANNER.scan(f"the log of {server.base}", server.log.read_text(errors="replace"))

    server.request = scanned_request  # type: ignore[method-assign]
    server.stop = scanned_stop  # type: ignore[method-assign]
    return server
