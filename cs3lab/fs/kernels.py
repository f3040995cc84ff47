"""What cs3lab hands to the kernels it starts: CS3 credentials and a working folder.

* Credentials: ``CS3LAB_*`` environment variables naming the gateway, the user, their home and
  a token file (mode 0600, in a new temporary folder of the server, checked with ``lstat`` to
  be this user's with mode 0700: :mod:`cs3lab.fs.private`) holding the server's current reva
  token, rewritten well before it expires. ``cs3://`` (cs3lab.fs) reads exactly
  these, so ``pd.read_csv("cs3://data.csv")`` needs no arguments in a kernel. The server's own
  secret (password, OIDC token) never reaches a kernel: its variable is removed from the
  kernel's environment. jupyter_server logs the names of a kernel's variables, not values.
* Working folder: the notebook's folder in the server's FUSE mount of the home
  (cs3lab.fs.mount), so relative paths are CS3 files; the scratch folder (the server's
  root_dir) when there is no mount, and then ``CS3LAB_MOUNT_PROBLEM`` says why. The mount
  shows the file browser's places too (a places file beside the token file, see
  cs3lab.fs.places): a notebook in ``Spaces/common`` runs in that folder of the mount.

:class:`CS3KernelManager` is jupyter_server's AsyncMappingKernelManager with these two
additions; cs3lab installs it unless another kernel manager class is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Any as AnyTrait

from ..config import CS3Connection
from ..contents_manager.mounts import MountTable
from ..cs3 import Files
from ..cs3.errors import CS3Error
from .private import private_temp_folder

# Rewrite the token file this often, and get a new token once half its lifetime is gone.
REFRESH_SECONDS = 30.0
# A folder made elsewhere shows in the mount once the mount's metadata cache revalidates
# (CS3Connection.revalidate_seconds) and the kernel's lookup cache (operations.ATTR_SECONDS,
# 1 s) expires: waited for at most this long beyond the revalidation.
MOUNT_SHOWS_SECONDS = 1.5
MIN_REFRESH_SECONDS = 5.0  # never more often than this (nor when renewing fails)
# Environment variables a kernel must not inherit from the server (its own secrets).
SERVER_ONLY = ("CS3LAB_SECRET", "CS3LAB_SECRET_FILE")


class KernelAccess:
    """The token file and environment of this server's kernels, and the mount's state."""

    def __init__(
        self,
        connection: CS3Connection,
        files: Files,
        log: Any,
        mounts: MountTable | None = None,
        show_places: bool = True,
    ) -> None:
        self.connection = connection
        self.files = files
        self.log = log
        self.mounts = mounts
        self.show_places = show_places
        self._places_written: str | None = None
        self._places_lock = asyncio.Lock()  # one write at a time: the newest state last
        self._background: set[asyncio.Task] = set()
        if mounts is not None:
            mounts.on_change(self._places_changed)
        self._folder: Path | None = None
        self.mount_root: str | None = None  # the home in the mount, once mounted
        self.mount_problem: str | None = None
        self._ready = asyncio.Event()
        self._mounting = False
        self._task: asyncio.Task | None = None

    # -- the token file -------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        """The server's private temporary folder of the token file (and the mount's log)."""
        if self._folder is None:
            self._folder = private_temp_folder("cs3lab-kernels-")
        return self._folder

    @property
    def token_file(self) -> Path:
        return self.folder / "token"

    @property
    def places_file(self) -> Path:
        return self.folder / "places.json"

    async def start(self) -> None:
        """Write the token file and keep it fresh (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._keep_fresh())
            await self.write_places()
            await self.refresh()

    async def refresh(self) -> None:
        """Write the current reva token (a new one once half of its lifetime has gone)."""
        tokens = self.files.client.tokens
        token = await tokens.token()
        current = tokens.current
        if current is not None and current.expires_at is not None:
            half = current.issued_at + (current.expires_at - current.issued_at) / 2
            if time.time() >= half:
                token = await tokens.renew(stale=current)
        await asyncio.to_thread(self._write, token)

    def _write(self, token: str) -> None:
        _write_private(self.token_file, token)

    # -- the places file ------------------------------------------------------------------

    async def write_places(self) -> None:
        """Write what the server knows of its places, when that changed since last time."""
        if self.mounts is None:
            return
        async with self._places_lock:  # the state is read once the previous write is done
            text = json.dumps(self.mounts.snapshot(self.show_places), sort_keys=True)
            if text != self._places_written:
                await asyncio.to_thread(_write_private, self.places_file, text)
                self._places_written = text

    def _places_changed(self) -> None:
        # Called by the MountTable after a listing, from a coroutine of the server's loop.
        if self._task is None:
            return  # not started (or stopped): start() writes the file
        task = asyncio.ensure_future(self.write_places())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def prepare(self, api_path: str) -> None:
        """Before a kernel starts for ``api_path``: the place it is in is known (listed
        again if it names a mount not known yet) and the places file says so."""
        if self.mounts is not None and api_path:
            try:
                await self.mounts.ensure(api_path)
            except CS3Error as err:
                self.log.warning("cs3lab: could not list the place of %s: %s", api_path, err)
            await self.write_places()

    def _next_refresh_in(self, now: float | None = None) -> float:
        """Seconds until the token file must be rewritten: at the latest when half of the
        current token's lifetime has gone (tokens of a minute under a Hub), and every
        REFRESH_SECONDS anyway."""
        current = self.files.client.tokens.current
        if current is None:  # not signed in yet: look again soon
            return MIN_REFRESH_SECONDS
        if current.expires_at is None:
            return REFRESH_SECONDS
        now = time.time() if now is None else now
        half = current.issued_at + (current.expires_at - current.issued_at) / 2
        return min(REFRESH_SECONDS, max(MIN_REFRESH_SECONDS, half - now))

    async def _keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(self._next_refresh_in())
            try:
                await self.refresh()
            except CS3Error as err:
                self.log.warning("cs3lab: could not renew the kernels' CS3 token: %s", err)

    def env(self) -> dict[str, str]:
        """The CS3LAB_* variables of a kernel (and of the mount process)."""
        c = self.connection
        values = {
            "CS3LAB_GATEWAY": c.gateway,
            "CS3LAB_SITE": c.site_name,
            "CS3LAB_TLS": "1" if c.tls else "0",
            "CS3LAB_USER": c.username,
            "CS3LAB_AUTH_MODE": "token",
            "CS3LAB_SECRET_FILE": str(self.token_file),
            "CS3LAB_HOME": c.home_path,
            "CS3LAB_REVALIDATE_SECONDS": str(c.revalidate_seconds),
        }
        if self.mounts is not None:
            values["CS3LAB_PLACES"] = str(self.places_file)
        if c.ca_file:
            values["CS3LAB_CA_FILE"] = c.ca_file
        if c.allow_insecure_data_transfers:
            values["CS3LAB_ALLOW_INSECURE_DATA_TRANSFERS"] = "1"
        if self.mount_root:
            values["CS3LAB_MOUNT"] = self.mount_root
        elif self.mount_problem:
            values["CS3LAB_MOUNT_PROBLEM"] = self.mount_problem
        return values

    def kernel_env(self, base: dict[str, str] | None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        for name in (*SERVER_ONLY, self.connection.secret_env):
            env.pop(name, None)
        env.update(self.env())
        return env

    # -- the mount ------------------------------------------------------------------------

    def mounting(self) -> None:
        """A mount is being made: kernels wait for it (see :meth:`ready`)."""
        self._mounting = True

    def mounted(self, root: str | None, problem: str | None = None) -> None:
        """The mount is up at ``root`` (or failed with ``problem``): kernels may start."""
        self.mount_root, self.mount_problem = root, problem
        self._ready.set()

    async def ready(self, timeout: float = 60.0) -> None:
        """The token file is written and the mount, if one is being made, is ready."""
        await self.start()
        if self._mounting:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)

    def working_folder(self, api_path: str) -> str | None:
        """The notebook folder's path in the mount (no file system access)."""
        if not self.mount_root:
            return None
        parts = [p for p in api_path.split("/") if p and p not in (".", "..")]
        return os.path.join(self.mount_root, *parts)

    async def shown_folder(self, api_path: str) -> str:
        """The notebook's folder in the mount once the mount shows it: a folder made a moment
        ago (the mount's listings are up to CS3Connection.revalidate_seconds old) is waited
        for; the home in the mount when there is no such folder."""
        assert self.mount_root is not None
        folder = self.working_folder(api_path) or self.mount_root
        wait = self.connection.revalidate_seconds + MOUNT_SHOWS_SECONDS
        deadline = time.monotonic() + wait
        while not await asyncio.to_thread(os.path.isdir, folder):
            if time.monotonic() >= deadline:
                return self.mount_root
            await asyncio.sleep(0.25)
        return folder

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._folder is not None:
            await asyncio.to_thread(shutil.rmtree, self._folder, True)
            self._folder = None


class CS3KernelManager(AsyncMappingKernelManager):
    """Kernels with CS3 credentials, working in the notebook's folder of the CS3 mount."""

    cs3_access = AnyTrait(None, allow_none=True, help="Set by cs3lab: a KernelAccess")

    def cwd_for_path(self, path: str, **kwargs: Any) -> str:
        access: KernelAccess | None = self.cs3_access
        folder = access.working_folder(path or "") if access is not None else None
        return folder or super().cwd_for_path(path, **kwargs)

    async def _async_start_kernel(  # type: ignore[override]
        self, *, kernel_id: str | None = None, path: str | None = None, **kwargs: Any
    ) -> str:
        access: KernelAccess | None = self.cs3_access
        if access is not None and (kernel_id is None or kernel_id not in self):
            await access.ready()
            await access.prepare(path or "")
            kwargs["env"] = access.kernel_env(kwargs.get("env"))
            if path is not None and access.mount_root:
                kwargs["cwd"] = await access.shown_folder(path)
                path = None  # the working folder is decided: not root_dir + path
        return await super()._async_start_kernel(kernel_id=kernel_id, path=path, **kwargs)

    start_kernel = _async_start_kernel


def _write_private(target: Path, text: str) -> None:
    """Replace ``target`` by ``text`` at once, readable by this user only (mode 0600)."""
    fresh = target.with_suffix(".new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(fresh, target)
