"""Benchmark of "Merge into original" (issue 7, item 8).

A 5 MB notebook of 200 cells, copied through cs3lab (POST /cs3lab/api/copies), then changed
on both sides (different cells edited, a cell appended on each side, one cell re-run on both
sides: a clean merge after cs3lab's automatic resolutions). Measured:

- ``rest``: POST /cs3lab/api/merge on a real Jupyter server over a real revad (download of the
  copy, the original and the base, nbdime, the write under the write lock);
- ``nbdime``: ``nbdime.merge_notebooks`` on the same three notebooks in this process (the floor);
- the server's event loop during the REST merge: GET /api/status every 10 ms concurrently,
  the largest and median latency (a stalled loop shows as a latency near the merge's time).

Usage: python benchmarks/merge.py [--site a|n] [--repeat 3]
(CS3LAB_REVAD / CS3LAB_REVAD_V2 as for the tests.)
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402, F401  (before site_runner: sets sys.path)
import nbdime  # noqa: E402
import nbformat  # noqa: E402
import site_runner  # noqa: E402
from common import SITE_FILES  # noqa: E402
from contents import ascii_text, big_notebook  # noqa: E402
from servers import JupyterServer, RestClient, cs3lab_server_config  # noqa: E402

CELLS = 200
TARGET = 5 * 1024 * 1024


def notebook() -> dict:
    nb = big_notebook(TARGET)
    nb["cells"] = nb["cells"][:CELLS]
    while len(nb["cells"]) < CELLS:
        nb["cells"].append(copy.deepcopy(nb["cells"][-1]))
    per = TARGET // CELLS
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i}"
        text = ascii_text(per - 3300, 9000 + i).decode()
        cell["outputs"][0]["text"] = text
    return nb


def sides(base: dict) -> tuple[dict, dict]:
    local, remote = copy.deepcopy(base), copy.deepcopy(base)
    for i in range(0, CELLS, 20):  # the original: every 20th cell edited
        local["cells"][i]["source"] = f"# edited in the original\n{local['cells'][i]['source']}"
    for i in range(10, CELLS, 20):  # the copy: other cells edited
        remote["cells"][i]["source"] = f"# edited in the copy\n{remote['cells'][i]['source']}"
    local["cells"].append(nbformat.v4.new_code_cell("original_end()", id="end-l"))
    remote["cells"].append(nbformat.v4.new_code_cell("copy_end()", id="end-r"))
    local["cells"][5]["execution_count"], remote["cells"][5]["execution_count"] = 1000, 2000
    return local, remote


def dumps(nb: dict) -> bytes:
    return (nbformat.writes(nbformat.from_dict(nb)) + "\n").encode()


async def probe(client: RestClient, stop: asyncio.Event, latencies: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await client.fetch("GET", "/api/status")
        latencies.append(time.perf_counter() - t)
        await asyncio.sleep(0.01)


async def bench(site, repeat: int) -> list[dict]:
    home = f"{site.shared}/bench-merge-{uuid.uuid4().hex[:8]}"
    site_runner.sync_mkdir(site, "alice", home)
    workdir = Path(tempfile.mkdtemp(prefix="cs3lab-bench-merge-"))
    server = JupyterServer.start(workdir / "server", cs3lab_server_config(site, home))
    client, prober = RestClient(server), RestClient(server)
    rows = []
    try:
        base = notebook()
        local, remote = sides(base)
        size = len(dumps(base))
        for n in range(repeat):
            name = f"big{n}.ipynb"
            put = {"type": "notebook", "format": "json", "content": base}
            await client.contents("PUT", name, body=json.dumps(put).encode())
            made = json.loads(
                await client.fetch(
                    "POST", "/cs3lab/api/copies", json.dumps({"path": name}).encode()
                )
            )
            copy_path = made["path"]
            await client.contents("PUT", name, body=json.dumps({**put, "content": local}).encode())
            copy_nb = copy.deepcopy(remote)
            copy_nb["metadata"]["cs3lab"] = {"origin": made["origin"]}
            await client.contents(
                "PUT", copy_path, body=json.dumps({**put, "content": copy_nb}).encode()
            )
            # idle latency of the probe, for reference
            idle: list[float] = []
            stop = asyncio.Event()
            task = asyncio.create_task(probe(prober, stop, idle))
            await asyncio.sleep(0.5)
            stop.set()
            await task
            latencies: list[float] = []
            stop = asyncio.Event()
            task = asyncio.create_task(probe(prober, stop, latencies))
            t = time.perf_counter()
            answer = json.loads(
                await client.fetch(
                    "POST", "/cs3lab/api/merge", json.dumps({"copy": copy_path}).encode()
                )
            )
            rest_s = time.perf_counter() - t
            stop.set()
            await task
            assert answer["status"] == "merged", answer.get("status")
            three = [nbformat.from_dict(copy.deepcopy(x)) for x in (base, local, remote)]
            t = time.perf_counter()
            nbdime.merge_notebooks(*three)
            floor_s = time.perf_counter() - t
            rows.append(
                {
                    "size": size,
                    "rest": rest_s,
                    "nbdime": floor_s,
                    "probes": len(latencies),
                    "max_ms": max(latencies) * 1000 if latencies else float("nan"),
                    "median_ms": statistics.median(latencies) * 1000 if latencies else 0,
                    "idle_max_ms": max(idle) * 1000 if idle else 0,
                    "summary": len(answer.get("summary", [])),
                }
            )
    finally:
        client.close()
        prober.close()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)  # its config holds the server's token
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", choices=("a", "n"), default="a")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    description, name, _ = SITE_FILES[args.site]
    site = site_runner.start_site(description)
    try:
        rows = asyncio.run(bench(site, args.repeat))
    finally:
        site.stop()
    print(f"\nMerge of a {rows[0]['size'] / 1e6:.1f} MB / {CELLS}-cell notebook on {name}")
    print(
        "| run | REST merge (s) | nbdime merge_notebooks (s) | ratio | auto-resolutions "
        "| /api/status probes | max latency (ms) | median (ms) | idle max (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(rows, 1):
        print(
            f"| {i} | {r['rest']:.2f} | {r['nbdime']:.2f} | {r['rest'] / r['nbdime']:.2f} "
            f"| {r['summary']} | {r['probes']} | {r['max_ms']:.0f} | {r['median_ms']:.1f} "
            f"| {r['idle_max_ms']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
