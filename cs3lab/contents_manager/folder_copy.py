"""Folder copies inside CS3, for JupyterLab's Copy/Paste and Duplicate of a folder.

Named as jupyter_server's file managers name copies (``data`` -> ``data-Copy1``), refused
past ``max_copy_folder_size_mb`` like theirs, and done file by file: CS3 has no server-side
copy, so each file's bytes stream from the data server to the data server (a few chunks in
memory, never a whole file). The folder tree is listed first (sizes, the guard), then the
copy's folders are made, then the files are copied a few at a time. cs3lab's own lock and
request markers are not copied. When anything fails, the partial copy is removed and the
error says what failed; if the site cannot be reached to remove it, it is removed as soon as
the site answers again (:func:`_remove_when_back`); if it fails otherwise, the error names
what is left.

Progress goes to JupyterLab as events (jupyter_server's event bus, schema :data:`SCHEMA_ID`)
while the copy runs, so the browser can show a notification for a large folder.
"""

from __future__ import annotations

import asyncio
import itertools
import posixpath
import re
import time
import uuid
from collections.abc import Awaitable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from logging import Logger
from typing import Any, Protocol

from tornado.web import HTTPError

from ..cs3 import Files
from ..cs3.errors import CS3Error, Unavailable
from ..cs3.files import ResourceInfo
from ..locks import is_lock_artifact
from . import models
from .paths import clean_api_path, is_hidden_path, split

# A partial copy the site could not be reached to remove: tried again this often, this long.
RETRY_SECONDS = 1.0
RETRY_FOR_SECONDS = 600.0
_RETRIES: set[asyncio.Task] = set()  # held here: the loop keeps only weak references

SCHEMA_ID = "https://cs3lab.github.io/events/folder-copy"
SCHEMA: dict[str, Any] = {
    "$id": SCHEMA_ID,
    "version": "1",
    "title": "cs3lab folder copy progress",
    "personal-data": True,
    "description": "A folder copy in CS3: started, progressing, done or failed.",
    "type": "object",
    "required": ["id", "state", "source", "target"],
    "properties": {
        "id": {"type": "string"},
        "state": {"enum": ["running", "done", "failed"]},
        "source": {"type": "string"},
        "target": {"type": "string"},
        "files_done": {"type": "integer"},
        "files_total": {"type": "integer"},
        "bytes_done": {"type": "integer"},
        "bytes_total": {"type": "integer"},
        "message": {"type": "string"},
    },
}


def register_schema(events: Any) -> None:
    """Register the progress events' schema with jupyter_server's event logger. Done when
    the server starts: a listener (JupyterLab's event stream) hears only the schemas
    registered when it subscribed."""
    if SCHEMA_ID not in events.schemas:
        events.register_event_schema(SCHEMA)


# jupyter_server's copy_pat: "a-Copy1.txt" is copied as "a-Copy2.txt", not "a-Copy1-Copy1.txt".
_COPY_PAT = re.compile(r"\-Copy\d*\.")
PARALLEL_FILES = 4
PARALLEL_LISTINGS = 8
PROGRESS_SECONDS = 0.5


@dataclass
class Plan:
    """What a folder copy makes: folders (relative, parents first) and files with sizes."""

    folders: list[str] = field(default_factory=list)
    files: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


class CopyHost(Protocol):
    """What a folder copy needs of the contents manager (:class:`~.manager.CS3ContentsManager`
    is one), so that this module does not import the manager that imports it."""

    files: Files
    home: str
    allow_hidden: bool
    max_copy_folder_size_mb: int
    event_logger: Any
    log: Logger

    def cs3_path(self, path: str) -> str: ...
    def refuse_read_only(self, path: str) -> None: ...
    def refuse_in_place(self, path: str) -> None: ...
    def errors(self) -> AbstractContextManager[None]: ...
    def exists(self, path: str) -> Awaitable[bool]: ...
    def dir_exists(self, path: str) -> Awaitable[bool]: ...
    def file_exists(self, path: str) -> Awaitable[bool]: ...
    def get(self, path: str, content: bool = True) -> Awaitable[dict]: ...


def _name(info: ResourceInfo) -> str:
    # Some storages list entries with paths relative to the folder: use the name only.
    return posixpath.basename(info.path.rstrip("/"))


async def plan_folder(manager: CopyHost, source: str) -> Plan:
    """List the tree below CS3 folder ``source``, one ListContainer per folder, a level at a
    time; cs3lab's lock and request markers are left out."""
    plan = Plan()
    limit = asyncio.Semaphore(PARALLEL_LISTINGS)
    level = [""]
    while level:
        listings = await asyncio.gather(*(_list(manager, source, rel, limit) for rel in level))
        next_level = []
        for rel, entries in zip(level, listings, strict=True):
            for entry in sorted(entries, key=_name):
                name = _name(entry)
                if not name or is_lock_artifact(name):
                    continue
                child = f"{rel}/{name}" if rel else name
                if models.is_dir(entry):
                    plan.folders.append(child)
                    next_level.append(child)
                else:
                    plan.files.append((child, int(entry.size)))
        level = next_level
    return plan


async def _list(
    manager: CopyHost, source: str, rel: str, limit: asyncio.Semaphore
) -> list[ResourceInfo]:
    async with limit:
        return await manager.files.list(f"{source}/{rel}" if rel else source)


def copy_name(name: str) -> str:
    return _COPY_PAT.sub(".", name)


async def increment_name(manager: CopyHost, name: str, parent: str) -> str:
    """jupyter_server's increment_filename with insert="-Copy": the first free name of
    ``name``, ``name-Copy1``, ``name-Copy2``... in folder ``parent``."""
    basename, dot, ext = name.rpartition(".")
    if ext != "ipynb":
        basename, dot, ext = name.partition(".")
    for i in itertools.count():
        candidate = f"{basename}{f'-Copy{i}' if i else ''}{dot}{ext}"
        if not await manager.exists(f"{parent}/{candidate}" if parent else candidate):
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def human_size(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover


async def copy_folder(manager: CopyHost, from_path: str, to_path: str | None) -> dict:
    """Copy folder ``from_path`` (an API path) as jupyter_server's copy does: into folder
    ``to_path`` (default: beside it) under the next free ``-Copy`` name, or, where folder
    ``to_path`` does not exist yet, into it made anew under the folder's own name; the model
    of the new folder."""
    source = clean_api_path(from_path)
    if not manager.allow_hidden and is_hidden_path(source):
        raise HTTPError(404, f"No such file or directory: {source}")
    from_dir, from_name = split(source)
    to_dir = from_dir if to_path is None else clean_api_path(to_path)
    missing = await _missing_folders(manager, to_dir)
    if missing:
        target_name = copy_name(from_name)
    else:
        target_name = await increment_name(manager, copy_name(from_name), to_dir)
    target = f"{to_dir}/{target_name}" if to_dir else target_name
    if not manager.allow_hidden and is_hidden_path(target):
        raise HTTPError(400, f"Cannot create hidden file or directory {target!r}")
    if target == source or target.startswith(source + "/"):
        raise HTTPError(400, f"Cannot copy {source} into itself")
    for folder in [*missing, target]:
        manager.refuse_in_place(folder)
        manager.refuse_read_only(folder)
    with manager.errors():
        src, dst = manager.cs3_path(source), manager.cs3_path(target)
        plan = await plan_folder(manager, src)
        limit = manager.max_copy_folder_size_mb * 1024 * 1024
        if plan.total_bytes > limit:
            raise HTTPError(
                400,
                f"Can't copy folders larger than {manager.max_copy_folder_size_mb}MB, "
                f'"{source}" is {human_size(plan.total_bytes)}',
            )
        progress = Progress(manager, source, target, plan)
        # What a failed copy removes: the copy, or the first folder made for it.
        made = manager.cs3_path(missing[0]) if missing else dst
        for folder in missing:  # the destination folder and its missing parents
            await manager.files.mkdir(manager.cs3_path(folder))
        await manager.files.mkdir(dst)  # fails if the name was taken meanwhile: nothing done
        try:
            await _copy_tree(manager, src, dst, plan, progress)
        except asyncio.CancelledError as err:
            progress.emit("failed", await _discard(manager, made, target, progress, err))
            raise
        except (CS3Error, HTTPError, OSError) as err:
            message = await _discard(manager, made, target, progress, err)
            progress.emit("failed", message)
            raise HTTPError(_status(err), message) from None
    progress.emit("done")
    return await manager.get(target, content=False)


async def _missing_folders(manager: CopyHost, to_dir: str) -> list[str]:
    """The folders of API path ``to_dir`` that do not exist yet, parents first (as
    jupyter_server's copytree makes them); 400 where one of them is a file."""
    try:
        if await manager.dir_exists(to_dir):
            return []
    except HTTPError:
        pass  # a path below a file: Reva v3's local driver answers Stat with an error
    parts = to_dir.split("/")
    for depth in range(1, len(parts) + 1):  # from the top: nothing is asked below a file
        folder = "/".join(parts[:depth])
        if await manager.file_exists(folder):
            raise HTTPError(400, f"Cannot copy into {to_dir}: {folder} is a file, not a folder")
        if not await manager.dir_exists(folder):
            return ["/".join(parts[:d]) for d in range(depth, len(parts) + 1)]
    return []


async def _copy_tree(manager: CopyHost, src: str, dst: str, plan: Plan, progress: Progress) -> None:
    for folder in plan.folders:  # parents first
        await manager.files.mkdir(f"{dst}/{folder}")
    queue = list(plan.files)

    async def worker() -> None:
        while queue:
            rel, size = queue.pop(0)
            try:
                await manager.files.copy_file(
                    f"{src}/{rel}", f"{dst}/{rel}", size, on_bytes=progress.add_bytes
                )
            except BaseException:
                progress.failed_at = progress.failed_at or rel
                raise
            progress.file_done()

    workers = [asyncio.ensure_future(worker()) for _ in range(PARALLEL_FILES)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


async def _discard(
    manager: CopyHost, dst: str, target: str, progress: Progress, err: BaseException
) -> str:
    """Remove the partial copy; the sentence telling the user what happened."""
    reason = _reason(err, manager.home)
    where = f" at {progress.failed_at}" if progress.failed_at else ""
    what = f"Copying {progress.source} to {target} failed{where}"
    left = f"The partial copy {target} ({progress.files_done} of {len(progress.plan.files)} files)"
    try:
        await _remove(manager, dst)
    except Unavailable:
        retry = asyncio.ensure_future(_remove_when_back(manager, dst))
        _RETRIES.add(retry)
        retry.add_done_callback(_RETRIES.discard)
        return (
            f"{what}: {reason}. {left} could not be removed yet: it is removed as soon as "
            "the site answers again."
        )
    except CS3Error as cleanup:
        return f"{what}: {reason}. {left} could not be removed: {_reason(cleanup, manager.home)}"
    return f"{what}: {reason}. Nothing was kept: the partial copy was removed."


async def _remove(manager: CopyHost, dst: str) -> None:
    await manager.files.delete(dst)
    # Out of the recycle bin too, where the capability that knows it is there.
    discard = getattr(manager, "discard_deleted", None)
    if discard is not None:
        await discard(dst)


async def _remove_when_back(manager: CopyHost, dst: str) -> None:
    """Remove the partial copy ``dst`` once the site answers again (trying for at most
    :data:`RETRY_FOR_SECONDS`). Nothing else can have taken its name meanwhile: it is
    still there."""
    deadline = time.monotonic() + RETRY_FOR_SECONDS
    while time.monotonic() < deadline:
        await asyncio.sleep(RETRY_SECONDS)
        try:
            await _remove(manager, dst)
            return
        except Unavailable:
            continue
        except CS3Error as err:
            manager.log.warning("The partial copy %s was not removed: %s", dst, err.message)
            return


def _reason(err: BaseException, home: str) -> str:
    if isinstance(err, CS3Error):
        return err.message.replace(home.rstrip("/") + "/", "")
    if isinstance(err, HTTPError):
        return err.log_message or str(err)
    if isinstance(err, asyncio.CancelledError):
        return "the copy was cancelled"
    return str(err) or type(err).__name__


def _status(err: BaseException) -> int:
    if isinstance(err, CS3Error):
        return err.http_status
    if isinstance(err, HTTPError):
        return err.status_code
    return 500


class Progress:
    """A copy's progress, sent as events at most every :data:`PROGRESS_SECONDS` (so a small
    copy sends only its end)."""

    def __init__(self, manager: CopyHost, source: str, target: str, plan: Plan):
        self.manager = manager
        self.id = uuid.uuid4().hex
        self.source = source
        self.target = target
        self.plan = plan
        self.files_done = 0
        self.bytes_done = 0
        self.failed_at = ""  # the file whose copy failed first
        self._started = time.monotonic()
        self._sent = 0.0

    def add_bytes(self, count: int) -> None:
        self.bytes_done += count
        self._maybe_emit()

    def file_done(self) -> None:
        self.files_done += 1
        self._maybe_emit()

    def _maybe_emit(self) -> None:
        now = time.monotonic()
        if now - self._started >= PROGRESS_SECONDS and now - self._sent >= PROGRESS_SECONDS:
            self._sent = now
            self.emit("running")

    def emit(self, state: str, message: str = "") -> None:
        if state == "running" and self._sent == 0.0:
            return  # not yet: only copies that take a while show progress
        data = {
            "id": self.id,
            "state": state,
            "source": self.source,
            "target": self.target,
            "files_done": self.files_done,
            "files_total": len(self.plan.files),
            "bytes_done": self.bytes_done,
            "bytes_total": self.plan.total_bytes,
        }
        if message:
            data["message"] = message
        try:
            register_schema(self.manager.event_logger)
            self.manager.event_logger.emit(schema_id=SCHEMA_ID, data=data)
        except Exception:  # progress is a courtesy: never fail a copy for it
            self.manager.log.debug("cs3lab: folder copy event not sent", exc_info=True)
