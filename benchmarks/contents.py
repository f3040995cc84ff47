"""The contents rows: their files (the fixture) and operations, done four ways."""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
import nbformat
from common import KIB, MIB
from raw import RawCS3
from servers import RestClient
from timing import Operation


def ascii_text(size: int, seed: int) -> bytes:
    """``size`` bytes of ASCII text in 64-character lines (hex digits: no compression wins)."""
    rnd = random.Random(seed)
    return rnd.randbytes(size // 2 + 1).hex("\n", 32).encode()[:size]


def big_notebook(target: int) -> dict:
    """A notebook of about ``target`` bytes: code cells with stream outputs."""
    nb = nbformat.v4.new_notebook()
    per_cell = 10 * KIB
    for i in range(target // per_cell):
        source = ascii_text(2 * KIB, 1000 + i).decode()
        output = nbformat.v4.new_output(
            "stream", name="stdout", text=ascii_text(per_cell - 2 * KIB - 300, 5000 + i).decode()
        )
        nb.cells.append(
            nbformat.v4.new_code_cell(
                source=f"# cell {i}\n{source}", execution_count=i + 1, outputs=[output]
            )
        )
    return json.loads(nbformat.writes(nb))


def size_label(size: int) -> str:
    if size >= MIB:
        return f"{size / MIB:.0f} MiB" if size % MIB == 0 else f"{size / MIB:.1f} MiB"
    return f"{size / KIB:.0f} KiB"


TEXT_SIZES = (KIB, 64 * KIB, MIB, 5 * MIB, 20 * MIB)  # the "get text" rows
NOTEBOOK_TARGETS = (MIB, 5 * MIB)  # the notebook rows (the files come out ~1.2 and ~5.9 MiB)
TARGET_ENTRIES = 1000  # a listing of this size is always measured (a target of issue 19)


@dataclass
class Notebook:
    model: dict
    stored: bytes  # as nbformat writes it
    name: str  # the file the "open" row reads
    saved: str  # the file the "save" row overwrites


@dataclass
class Fixture:
    """The files the operations read and overwrite, in CS3 (and on local disk for "stock")."""

    files: dict[str, bytes]  # name -> content, read by the "get" operations
    small: bytes
    notebooks: list[Notebook]
    folders: dict[int, str]  # entries -> the listed folder


def text_name(size: int) -> str:
    return "small.txt" if size == KIB else f"data-{size_label(size).replace(' ', '').lower()}.txt"


async def prepare(raw: RawCS3, home: str, entries: int, stock_root: Path | None) -> Fixture:
    files = {text_name(size): ascii_text(size, seed) for seed, size in enumerate(TEXT_SIZES, 1)}
    small = files["small.txt"]
    notebooks = []
    for target in NOTEBOOK_TARGETS:
        nb = big_notebook(target)
        stored = nbformat.writes(nbformat.from_dict(nb), version=nbformat.NO_CONVERT).encode()
        suffix = "" if target == MIB else f"-{target // MIB}mib"
        notebooks.append(Notebook(nb, stored, f"open{suffix}.ipynb", f"saved{suffix}.ipynb"))
    stored_files = {**files, "saved.txt": small}
    for notebook in notebooks:
        stored_files[notebook.name] = stored_files[notebook.saved] = notebook.stored
    for name, content in stored_files.items():
        await raw.upload(f"{home}/{name}", content)
    folders = {n: f"folder-{n}" for n in sorted({entries, TARGET_ENTRIES})}
    gate = asyncio.Semaphore(16)

    async def touch(path: str) -> None:
        async with gate:
            await raw.touch(path)

    for count, folder in folders.items():
        await raw.mkdir(f"{home}/{folder}")
        await asyncio.gather(*(touch(f"{home}/{folder}/file-{i:04d}.txt") for i in range(count)))
    if stock_root is not None:
        for name, content in stored_files.items():
            (stock_root / name).write_bytes(content)
        for count, folder in folders.items():
            (stock_root / folder).mkdir()
            for i in range(count):
                (stock_root / folder / f"file-{i:04d}.txt").touch()
    return Fixture(files, small, notebooks, folders)


CACHED_STAT, CACHED_LIST = "stat, from the cache", "list, from the cache"


def model_of(path: str, result: Any) -> dict:
    """The contents model a cs3lab/stock path returned (REST paths return the JSON bytes)."""
    return result if path == "manager" else json.loads(result)


def operations(
    raw: RawCS3, cm: Any, rest: dict[str, RestClient], home: str, fx: Fixture
) -> list[Operation]:
    """The operations, each with its raw, manager and REST (and stock REST) executions."""

    def cs3(name: str) -> str:
        return f"{home}/{name}"

    def via_rest(method: str, name: str, query: str = "", body: bytes | None = None) -> dict:
        return {
            path: (lambda client=client: client.contents(method, name, query, body))
            for path, client in rest.items()
        }

    ops: list[Operation] = []

    # get a text file with its content, as JupyterLab opens it in the editor
    for name in fx.files:
        expected = fx.files[name].decode()

        async def raw_get(name: str = name) -> Any:
            # the model needs the metadata (mtime, size, writable) and the bytes
            return await raw.stat(cs3(name)), await raw.download(cs3(name))

        def check(path: str, result: Any, expected: str = expected) -> None:
            text = result[1].decode() if path == "raw" else model_of(path, result)["content"]
            if text != expected:
                raise RuntimeError(f"{path}: wrong content")

        ops.append(
            Operation(
                f"get text {size_label(len(expected))}",
                {
                    "raw": raw_get,
                    "manager": lambda name=name: cm.get(name, True, "file", "text"),
                    **via_rest("GET", name, "type=file&format=text&content=1&hash=0"),
                },
                check,
                kind="get text",
                size=len(expected),
            )
        )

    # save (PUT) over an existing file; the reply is the saved file's model (no content)
    def save(name: str, kind: str, model: dict, stored: bytes) -> Operation:
        async def raw_save() -> Any:
            await raw.upload(cs3(name), stored)
            return await raw.stat(cs3(name))  # the size, mtime and etag of the saved model

        def check(path: str, result: Any) -> None:
            size = result.size if path == "raw" else model_of(path, result)["size"]
            # Jupyter's FileContentsManager ends a notebook file with a newline; so does cs3lab
            # since 46b5f4c (the raw path uploads nbformat.writes() as it is, without one)
            newline = path != "raw" and name.endswith(".ipynb") and size == len(stored) + 1
            if size != len(stored) and not newline:
                raise RuntimeError(f"{path}: saved {size} bytes, expected {len(stored)}")

        return Operation(
            f"{kind} {size_label(len(stored))}",
            {
                "raw": raw_save,
                "manager": lambda: cm.save(dict(model), name),
                **via_rest("PUT", name, body=json.dumps(model).encode()),
            },
            check,
            kind=kind,
            size=len(stored),
        )

    text_model = {"type": "file", "format": "text", "content": fx.small.decode()}
    ops.append(save("saved.txt", "save text", text_model, fx.small))

    # open a notebook (GET, as JupyterLab opens it), then save it (PUT over the existing one)
    for nb in fx.notebooks:

        async def raw_open(name: str = nb.name) -> Any:
            return await raw.stat(cs3(name)), await raw.download(cs3(name))

        def check_open(path: str, result: Any, nb: Notebook = nb) -> None:
            if path == "raw":
                ok = result[1] == nb.stored
            else:
                ok = len(model_of(path, result)["content"]["cells"]) == len(nb.model["cells"])
            if not ok:
                raise RuntimeError(f"{path}: wrong notebook")

        ops.append(
            Operation(
                f"open notebook {size_label(len(nb.stored))}",
                {
                    "raw": raw_open,
                    "manager": lambda name=nb.name: cm.get(name, True, "notebook"),
                    **via_rest("GET", nb.name, "type=notebook&content=1&hash=0"),
                },
                check_open,
                kind="open notebook",
                size=len(nb.stored),
            )
        )
        nb_model = {"type": "notebook", "format": "json", "content": nb.model}
        ops.append(save(nb.saved, "save notebook", nb_model, nb.stored))

    # list a folder, as the file browser does
    def check_list(path: str, result: Any, entries: int) -> None:
        listed = result[1] if path == "raw" else model_of(path, result)["content"]
        if len(listed) != entries:
            raise RuntimeError(f"{path}: listed {len(listed)} entries, expected {entries}")

    async def raw_list(folder: str) -> Any:
        return await raw.stat(cs3(folder)), await raw.list(cs3(folder))

    def list_runs(folder: str) -> dict:
        return {
            "raw": lambda: raw_list(folder),
            "manager": lambda: cm.get(folder, True, "directory"),
            **via_rest("GET", folder, "type=directory&content=1&hash=0"),
        }

    for entries, folder in fx.folders.items():
        ops.append(
            Operation(
                f"list folder of {entries}",
                list_runs(folder),
                lambda path, result, entries=entries: check_list(path, result, entries),
                kind="list",
                size=entries,
            )
        )

    # stat: the model without content
    def check_stat(path: str, result: Any) -> None:
        size = result.size if path == "raw" else model_of(path, result)["size"]
        if size != len(fx.small):
            raise RuntimeError(f"{path}: size {size}, expected {len(fx.small)}")

    def stat_runs() -> dict:
        return {
            "raw": lambda: raw.stat(cs3("small.txt")),
            "manager": lambda: cm.get("small.txt", content=False),
            **via_rest("GET", "small.txt", "content=0&hash=0"),
        }

    ops.append(Operation("stat (content=0)", stat_runs(), check_stat, kind="stat"))

    # the same polls answered from the user's metadata cache (within its revalidation time;
    # every other row makes the cache forget its Stats and listings first: run.py)
    largest = max(fx.folders)
    ops.append(
        Operation("stat (content=0), from the cache", stat_runs(), check_stat, kind=CACHED_STAT)
    )
    ops.append(
        Operation(
            f"list folder of {largest}, from the cache",
            list_runs(fx.folders[largest]),
            lambda path, result: check_list(path, result, largest),
            kind=CACHED_LIST,
            size=largest,
        )
    )
    return ops
