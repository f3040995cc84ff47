"""The lock rows: acquire, refresh, heartbeat, release, open + acquire, a listing with
lock state; by raw, manager and REST, on the site's own backend."""

from __future__ import annotations

import asyncio
import json
import posixpath
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import common  # noqa: F401  (before site_runner and cs3lab: sets sys.path)
import site_runner
from common import HOLDER, PATHS
from contents import model_of
from raw import RawCS3
from raw_locks import (
    LOCK_CLIENT,
    MARKER,
    MARKER_KEY,
    MARKER_PREFIX,
    NATIVE,
    RawMarkerLock,
    RawNativeLock,
    small_notebook,
)
from servers import RestClient, cs3_connection
from timing import Operation, Step, WrongLockState
from traitlets.config import Config


@dataclass
class LockFixture:
    """Per backend: one small notebook per path to lock, and a folder of ``entries`` files of
    which ``locked`` are locked by HOLDER (through a cs3lab LockService of their own)."""

    kind: str  # NATIVE | MARKER
    notebooks: dict[str, str]  # path -> API path of the notebook it locks
    notebook: bytes
    listing: str  # API path of the listed folder
    entries: int
    locked: int
    holder: Any  # HOLDER's CS3ContentsManager (its locks go when it is closed)


async def prepare_locks(
    raw: RawCS3, site: site_runner.Site, home: str, entries: int, locked: int
) -> LockFixture:
    from cs3lab import CS3ContentsManager

    notebook = small_notebook()
    await raw.mkdir(f"{home}/locks")
    notebooks = {path: f"locks/lock-{path}.ipynb" for path in PATHS}
    for api_path in notebooks.values():
        await raw.upload(f"{home}/{api_path}", notebook)
    listing = f"locked-{entries}"
    await raw.mkdir(f"{home}/{listing}")
    gate = asyncio.Semaphore(16)

    async def touch(i: int) -> None:
        async with gate:
            await raw.touch(f"{home}/{listing}/file-{i:04d}.txt")

    await asyncio.gather(*(touch(i) for i in range(entries)))
    # HOLDER locks every (entries // locked)-th file, for an hour, as cs3lab does it
    holder = CS3ContentsManager(
        config=Config(
            {
                "CS3Connection": cs3_connection(site, home, HOLDER),
                "CS3ContentsManager": {"lock_expiry_seconds": 3600},
            }
        )
    )
    step = max(entries // locked, 1)
    kinds = set()
    for i in range(0, step * locked, step):
        state = await holder.locks.acquire(f"{home}/{listing}/file-{i:04d}.txt", "bench-holder")
        kinds.add(state.lock.backend)
    kind = kinds.pop()
    if kinds:
        raise RuntimeError("one site, two lock backends?")
    return LockFixture(kind, notebooks, notebook, listing, entries, locked, holder)


def lock_operations(
    raw: RawCS3, cm: Any, rest: RestClient, home: str, site: str, fx: LockFixture
) -> list[Operation]:
    """acquire, refresh, release, open (+ acquire) and a listing with lock state, on the
    backend of ``fx``: each by raw (RawNativeLock / RawMarkerLock), manager (cm.locks and
    cm.get in this process) and REST (/cs3lab/api/locks and /api/contents)."""
    kind = fx.kind
    locks = cm.locks

    def cs3(api_path: str) -> str:
        return f"{home}/{api_path}"

    raw_path = cs3(fx.notebooks["raw"])
    raw_lock = (
        RawNativeLock(raw, raw_path) if kind == NATIVE else RawMarkerLock(raw, raw_path, site)
    )
    mgr_nb, rest_nb = fx.notebooks["manager"], fx.notebooks["rest"]

    acquire = {
        "raw": raw_lock.acquire,
        "manager": lambda: locks.acquire(cs3(mgr_nb), LOCK_CLIENT),
        "rest": lambda: rest.lock("POST", rest_nb, LOCK_CLIENT),
    }

    async def raw_release_tidy() -> None:
        await raw_lock.release()
        await raw_lock.tidy()

    release_all = {
        "raw": raw_release_tidy,
        "manager": lambda: locks.release(cs3(mgr_nb), LOCK_CLIENT),
        "rest": lambda: rest.lock("DELETE", rest_nb, LOCK_CLIENT),
    }

    async def hold_all() -> None:
        for run in acquire.values():
            await run()

    async def release_everything() -> None:
        for run in release_all.values():
            await run()

    def session_refreshed(value: str) -> dict[str, Step]:
        """Before a heartbeat: make it refresh the storage ("old") or not ("now"). There is no
        setting for it: this sets LockService's private Session.refreshed, here and (through
        bench_server.py) in the server."""

        async def manager() -> None:
            locks._sessions[cs3(mgr_nb)].refreshed = 0.0 if value == "old" else time.time()

        return {"manager": manager, "rest": lambda: rest.lock_sessions(value)}

    def state_of(path: str, result: Any) -> dict:
        return json.loads(result) if path == "rest" else result.to_json()

    def held(path: str, result: Any) -> None:
        if path == "raw":
            if not isinstance(result, str):
                raise RuntimeError(f"raw: no lock id ({result!r})")
            return
        state = state_of(path, result)
        if not (state["locked"] and state["this_session"]):
            raise RuntimeError(f"{path}: not holding the lock: {state}")

    ops: list[Operation] = []

    def add(label: str, op: Operation, storage_call: str | None = None) -> Operation:
        """``storage_call``: the call cs3lab must have made (checked on its counted run)."""
        op.label = f"{kind}: {label}"
        check = op.check

        def checked(path: str, result: Any) -> None:
            check(path, result)
            made = op.calls.get(path, Counter())
            if storage_call is not None and path != "raw" and not made[storage_call]:
                raise RuntimeError(f"{op.label}, {path}: no {storage_call} ({dict(made)})")
            if storage_call is None and label.startswith("heartbeat"):
                writes = {"RefreshLock", "SetArbitraryMetadata"} & set(made)
                if writes:
                    raise RuntimeError(f"{op.label}, {path}: wrote the lock ({dict(made)})")

        op.check = checked
        ops.append(op)
        return op

    # -- open a notebook, as JupyterLab does (GET), and with its lock (GET, then POST)
    async def raw_open(with_lock: bool) -> Any:
        info = await raw.stat(raw_path)
        state = None
        if kind == MARKER and not with_lock:
            # the model's lock state: the markers beside the file (native: in the Stat)
            state = await raw.list(posixpath.dirname(raw_path), (MARKER_KEY,))
        data = await raw.download(raw_path)
        if with_lock:
            lock_id = await (raw_lock.acquire(info) if kind == NATIVE else raw_lock.acquire())
            return lock_id
        return info, state, data

    def check_open(path: str, result: Any) -> None:
        if path == "raw":
            ok = result[2] == fx.notebook
        else:
            model = model_of(path, result)
            ok = len(model["content"]["cells"]) == 5 and model["lock"] is None
        if not ok:
            raise RuntimeError(f"{path}: wrong notebook model")

    nb_query = "type=notebook&content=1&hash=0"
    add(
        "open notebook (GET, no lock)",
        Operation(
            "",
            {
                "raw": lambda: raw_open(False),
                "manager": lambda: cm.get(mgr_nb, True, "notebook"),
                "rest": lambda: rest.contents("GET", rest_nb, nb_query),
            },
            check_open,
        ),
    )

    async def manager_open_lock() -> Any:
        await cm.get(mgr_nb, True, "notebook")
        return await locks.acquire(cs3(mgr_nb), LOCK_CLIENT)

    async def rest_open_lock() -> Any:
        await rest.contents("GET", rest_nb, nb_query)
        return await rest.lock("POST", rest_nb, LOCK_CLIENT)

    set_call = "SetLock" if kind == NATIVE else "CreateContainer"
    add(
        "open + acquire (GET, POST)",
        Operation(
            "",
            {"raw": lambda: raw_open(True), "manager": manager_open_lock, "rest": rest_open_lock},
            held,
            after=release_all,
        ),
        set_call,
    )
    add("acquire", Operation("", dict(acquire), held, after=release_all), set_call)
    refresh_call = "RefreshLock" if kind == NATIVE else "SetArbitraryMetadata"
    add(
        "refresh (storage refreshed)",
        Operation(
            "",
            {
                "raw": raw_lock.refresh,
                "manager": lambda: locks.refresh(cs3(mgr_nb), LOCK_CLIENT),
                "rest": lambda: rest.lock("PUT", rest_nb, LOCK_CLIENT),
            },
            held,
            before=session_refreshed("old"),
            setup=hold_all,
            teardown=release_everything,
        ),
        refresh_call,
    )

    async def raw_heartbeat() -> Any:
        # the lock state of the file (native: the entry's lock; marker: the markers) and the
        # edit requests beside it, from one listing of the folder
        return await raw.list(posixpath.dirname(raw_path), (MARKER_KEY, "cs3lab.request"))

    def heartbeat_ok(path: str, result: Any) -> None:
        if path != "raw":
            held(path, result)

    add(
        "heartbeat (no storage refresh)",
        Operation(
            "",
            {
                "raw": raw_heartbeat,
                "manager": lambda: locks.refresh(cs3(mgr_nb), LOCK_CLIENT),
                "rest": lambda: rest.lock("PUT", rest_nb, LOCK_CLIENT),
            },
            heartbeat_ok,
            before=session_refreshed("now"),
            setup=hold_all,
            teardown=release_everything,
        ),
    )
    release_call = "Unlock" if kind == NATIVE else "SetArbitraryMetadata"
    add(
        "release",
        Operation(
            "",
            {
                "raw": raw_lock.release,
                "manager": release_all["manager"],
                "rest": release_all["rest"],
            },
            lambda path, result: None,
            before=acquire,
            after={"raw": raw_lock.tidy},
        ),
        release_call,
    )

    # -- list the folder of `entries` files with their lock state (the file browser)
    async def raw_list_locked() -> Any:
        folder = cs3(fx.listing)
        keys = (MARKER_KEY,) if kind == MARKER else ()
        return await raw.stat(folder), await raw.list(folder, keys)

    def check_listing(path: str, result: Any) -> None:
        now = time.time()
        if path == "raw":
            infos = result[1]
            names = [posixpath.basename(i.path.rstrip("/")) for i in infos]
            files = [n for n in names if not n.startswith(MARKER_PREFIX)]
            if kind == NATIVE:
                locked = sum(1 for i in infos if i.lock.lock_id)
            else:
                markers = [i for i, n in zip(infos, names, strict=True) if n not in files]
                locked = sum(1 for i in markers if RawMarkerLock.live_lock_id(i, now))
        else:
            entries = model_of(path, result)["content"]
            files = entries
            holders = [e["lock"]["holder"]["username"] for e in entries if e.get("lock")]
            locked = len(holders)
            read_only = sum(1 for e in entries if not e["writable"])
        if len(files) != fx.entries:
            raise RuntimeError(f"{path}: {len(files)} entries, expected {fx.entries}")
        if locked != fx.locked or (path != "raw" and set(holders) != {HOLDER}):
            raise WrongLockState(
                f"{path}: {locked} of {fx.entries} entries shown locked, expected {fx.locked} "
                f"held by {HOLDER}" + (f" ({read_only} read-only)" if path != "raw" else "")
            )

    add(
        f"list {fx.entries:,} with lock state ({fx.locked} locked)",
        Operation(
            "",
            {
                "raw": raw_list_locked,
                "manager": lambda: cm.get(fx.listing, True, "directory"),
                "rest": lambda: rest.contents("GET", fx.listing, "type=directory&content=1&hash=0"),
            },
            check_listing,
        ),
    )
    return ops
