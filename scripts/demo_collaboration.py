"""The collaboration the demo (scripts/demo.py) sets up between alice, bob and carol, through
each one's own Jupyter server and cs3lab's REST API, as their browsers would:

1. alice shares her ``analysis`` folder with bob and carol as editors; they accept it;
2. carol opens ``station-summary.ipynb`` to edit it: she holds its lock (her server keeps it
   alive while the demo runs), so alice and bob see it read-only, "Carol ... is editing";
3. bob makes his own copy of ``calibration.ipynb`` and adds a cell to it, while alice edits
   the first cell of the original: bob's copy is ready to merge back, both edits kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode

SHARED = "analysis"
LOCKED = "station-summary.ipynb"
COPIED = "calibration.ipynb"
BOBS_COPY = "calibration (bob's copy).ipynb"
CAROLS_CLIENT = "demo-carol-tab"  # the lock's client id, as a browser tab's would be
HEARTBEAT_SECONDS = 30.0  # locks expire after 120 s without one
ALICES_EDIT = "# Sensor calibration (checked by Alice on site)"
BOBS_CELL = "# Bob: the ridge thermometer was replaced on 2026-03-05\nOFFSETS_C['ridge'] = 0.1"


class Server(Protocol):
    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]: ...


class DemoError(RuntimeError):
    """A step of the set-up failed: which, and what the server answered."""


def call(server: Server, method: str, path: str, body: Any = None, ok=(200, 201, 204)) -> Any:
    status, answer = server.request(method, path, body)
    if status not in ok:
        raise DemoError(f"{method} {path}: {status} {answer}")
    return answer


@dataclass
class Collaboration:
    """Where things are, in each user's own JupyterLab paths."""

    bobs_folder: str  # alice's analysis folder as bob's JupyterLab shows it
    carols_folder: str
    bobs_copy: str
    heartbeat: threading.Event  # set it to stop carol's lock heartbeat


def share_and_accept(alice: Server, people: dict[str, Server]) -> dict[str, str]:
    """Alice shares the folder with each of ``people`` (editor); each accepts it. Returns
    where each one's JupyterLab shows it."""
    folders = {}
    for name, server in people.items():
        body = {"path": SHARED, "grantee": {"type": "user", "name": name}, "role": "editor"}
        made = call(alice, "POST", "cs3lab/api/shares", body)
        accepted = call(
            server,
            "PATCH",
            f"cs3lab/api/shares/received/{quote(made['id'], safe='')}",
            {"state": "accepted"},
        )
        folder = accepted.get("resource", {}).get("path")
        if not folder:
            raise DemoError(f"{name}'s JupyterLab does not show the shared folder: {accepted}")
        folders[name] = folder
    return folders


def keep_lock(server: Server, path: str, stop: threading.Event) -> None:
    """Refresh a lock until ``stop`` is set, as an open browser tab does."""
    while not stop.wait(HEARTBEAT_SECONDS):
        server.request("PUT", "cs3lab/api/locks", {"path": path, "client": CAROLS_CLIENT})


def edit_notebook(server: Server, path: str, change) -> None:
    model = call(server, "GET", f"api/contents/{quote(path)}")
    nb = model["content"]
    change(nb["cells"])
    call(server, "PUT", f"api/contents/{quote(path)}", {"type": "notebook", "content": nb})


def set_up(alice: Server, bob: Server, carol: Server) -> Collaboration:
    folders = share_and_accept(alice, {"bob": bob, "carol": carol})

    locked = f"{folders['carol']}/{LOCKED}"
    call(carol, "POST", "cs3lab/api/locks", {"path": locked, "client": CAROLS_CLIENT})
    stop = threading.Event()
    threading.Thread(target=keep_lock, args=(carol, locked, stop), daemon=True).start()

    call(
        bob,
        "POST",
        "cs3lab/api/copies",
        {"path": f"{folders['bob']}/{COPIED}", "destination": BOBS_COPY},
    )

    def add_bobs_cell(cells: list[dict]) -> None:
        cells.append(
            {
                "cell_type": "code",
                "metadata": {},
                "source": BOBS_CELL,
                "outputs": [],
                "execution_count": None,
            }
        )

    def edit_alices_title(cells: list[dict]) -> None:
        first = cells[0]["source"]
        text = first if isinstance(first, str) else "".join(first)
        cells[0]["source"] = text.replace("# Sensor calibration", ALICES_EDIT, 1)

    edit_notebook(bob, BOBS_COPY, add_bobs_cell)
    edit_notebook(alice, f"{SHARED}/{COPIED}", edit_alices_title)
    return Collaboration(folders["bob"], folders["carol"], BOBS_COPY, stop)


def lock_seen_by(server: Server, path: str) -> dict:
    return call(server, "GET", f"cs3lab/api/locks?{urlencode({'path': path})}")


def merge_preview(server: Server, copy: str) -> dict:
    return call(server, "POST", "cs3lab/api/merge", {"copy": copy, "dry_run": True})
