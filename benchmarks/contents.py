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


@dataclass
class Fixture:
    """The files the operations read and overwrite, in CS3 (and on local disk for "stock")."""

    files: dict[str, bytes]  # name -> content, read by the "get" operations
    small: bytes
    notebook: dict
    notebook_bytes: bytes
    folder: str
    entries: int


async def prepare(raw: RawCS3, home: str, entries: int, stock_root: Path | None) -> Fixture:
    small = ascii_text(1 * KIB, 1)
    files = {"small.txt": small, "data-1mib.txt": ascii_text(MIB, 2)}
    files["data-20mib.txt"] = ascii_text(20 * MIB, 3)
    nb = big_notebook(MIB)
    nb_bytes = nbformat.writes(nbformat.from_dict(nb), version=nbformat.NO_CONVERT).encode()
    stored = {**files, "saved.txt": small, "saved.ipynb": nb_bytes}
    folder = f"folder-{entries}"
    for name, content in stored.items():
        await raw.upload(f"{home}/{name}", content)
    await raw.mkdir(f"{home}/{folder}")
    gate = asyncio.Semaphore(16)

    async def touch(i: int) -> None:
        async with gate:
            await raw.touch(f"{home}/{folder}/file-{i:04d}.txt")

    await asyncio.gather(*(touch(i) for i in range(entries)))
    if stock_root is not None:
        for name, content in stored.items():
            (stock_root / name).write_bytes(content)
        (stock_root / folder).mkdir()
        for i in range(entries):
            (stock_root / folder / f"file-{i:04d}.txt").touch()
    return Fixture(files, small, nb, nb_bytes, folder, entries)


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
            )
        )

    # save (PUT) over an existing file; the reply is the saved file's model (no content)
    def save(name: str, label: str, model: dict, stored: bytes) -> Operation:
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
            label,
            {
                "raw": raw_save,
                "manager": lambda: cm.save(dict(model), name),
                **via_rest("PUT", name, body=json.dumps(model).encode()),
            },
            check,
        )

    text_model = {"type": "file", "format": "text", "content": fx.small.decode()}
    ops.append(save("saved.txt", f"save text {size_label(len(fx.small))}", text_model, fx.small))
    nb_model = {"type": "notebook", "format": "json", "content": fx.notebook}
    nb_label = f"save notebook {size_label(len(fx.notebook_bytes))}"
    ops.append(save("saved.ipynb", nb_label, nb_model, fx.notebook_bytes))

    # list a folder, as the file browser does
    async def raw_list() -> Any:
        return await raw.stat(cs3(fx.folder)), await raw.list(cs3(fx.folder))

    def check_list(path: str, result: Any) -> None:
        listed = result[1] if path == "raw" else model_of(path, result)["content"]
        if len(listed) != fx.entries:
            raise RuntimeError(f"{path}: listed {len(listed)} entries, expected {fx.entries}")

    ops.append(
        Operation(
            f"list folder of {fx.entries}",
            {
                "raw": raw_list,
                "manager": lambda: cm.get(fx.folder, True, "directory"),
                **via_rest("GET", fx.folder, "type=directory&content=1&hash=0"),
            },
            check_list,
        )
    )

    # stat: the model without content
    def check_stat(path: str, result: Any) -> None:
        size = result.size if path == "raw" else model_of(path, result)["size"]
        if size != len(fx.small):
            raise RuntimeError(f"{path}: size {size}, expected {len(fx.small)}")

    ops.append(
        Operation(
            "stat (content=0)",
            {
                "raw": lambda: raw.stat(cs3("small.txt")),
                "manager": lambda: cm.get("small.txt", content=False),
                **via_rest("GET", "small.txt", "content=0&hash=0"),
            },
            check_stat,
        )
    )
    return ops
