"""A Jupyter server with cs3lab as its contents manager, for benchmarks/run.py.

Configured like a deployment (a ``jupyter_server_config.json`` in ``$JUPYTER_CONFIG_DIR``,
written by run.py), plus one thing: the CS3 calls of cs3lab's contents manager are counted
(see calls.py) and readable at ``GET {base_url}bench/cs3-calls`` with the server's token.
Also runs the reference server (Jupyter's FileContentsManager), where nothing is counted.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.serverapp import ServerApp
from jupyter_server.utils import url_path_join
from tornado import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

import calls

COUNTS: Counter = Counter()


class CallsHandler(JupyterHandler):
    @web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(dict(COUNTS)))


def main() -> None:
    app = ServerApp.instance()
    app.initialize(argv=[])
    files = getattr(app.contents_manager, "files", None)
    if files is not None:  # cs3lab's manager (the stock reference server has none)
        calls.instrument_files(files, COUNTS)
    app.web_app.add_handlers(
        ".*$", [(url_path_join(app.base_url, "bench", "cs3-calls"), CallsHandler)]
    )
    app.start()


if __name__ == "__main__":
    main()
