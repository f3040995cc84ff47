"""The cs3lab jupyter_server extension: configuration, services, handlers."""

from __future__ import annotations

import os

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool

from .config import CS3Connection
from .contents_manager import CS3ContentsManager
from .contents_manager.folder_copy import register_schema as register_copy_events
from .cs3.errors import CS3Error
from .cs3.hub_tokens import HubTokens
from .fs.kernels import CS3KernelManager, KernelAccess
from .fs.mount import KernelMount
from .locks.handlers import lock_handlers
from .merge.handlers import merge_handlers
from .recycle.handlers import recycle_handlers
from .recycle.service import RecycleService
from .session.handlers import QuotaHandler, SessionHandler
from .session.service import SessionService
from .sharing.config import build_sharing
from .sharing.handlers import sharing_handlers
from .sharing.ocm import build_ocm
from .sharing.ocm_handlers import ocm_handlers

API_PREFIX = "cs3lab/api"


class CS3LabApp(ExtensionApp):
    name = "cs3lab"
    load_other_extensions = True

    kernel_mount = Bool(
        True,
        help="Mount the user's CS3 home with FUSE and start kernels in the notebook's folder "
        "there (relative paths are CS3 files). Without it, or where FUSE is not available, "
        "kernels start in the server's root_dir and reach CS3 through cs3:// only.",
    ).tag(config=True)

    def _link_jupyter_server_extension(self, serverapp) -> None:
        super()._link_jupyter_server_extension(serverapp)
        # Kernels get CS3 credentials and their working folder from cs3lab's kernel manager,
        # unless another one is configured (e.g. a gateway's).
        configured = "kernel_manager_class" in serverapp.config.get("ServerApp", {})
        gateway = serverapp.config.get("GatewayClient", {}).get("url") or os.environ.get(
            "JUPYTER_GATEWAY_URL"
        )
        if not configured and not gateway:
            serverapp.kernel_manager_class = CS3KernelManager

    def initialize_settings(self) -> None:
        contents = self.serverapp.contents_manager
        self.capabilities: list[list[tuple]] = []  # each capability's handlers
        if isinstance(contents, CS3ContentsManager):
            # One channel per process: share the contents manager's connection.
            self.connection = contents.connection
            self.files = contents.files
            self._owns_files = False
            self._build_capabilities(contents)
        else:
            self.log.warning(
                "cs3lab: the contents manager is %s, not CS3ContentsManager; JupyterLab's "
                "file browser shows the local disk. Set "
                "c.ServerApp.contents_manager_class = 'cs3lab.CS3ContentsManager'.",
                type(contents).__name__,
            )
            self.connection = CS3Connection(parent=self.serverapp, log=self.log)
            self.files = self.connection.open()
            self._owns_files = True
        self.session_service = SessionService(self.connection, self.files)
        self.kernel_access: KernelAccess | None = None
        self.mount: KernelMount | None = None
        if isinstance(contents, CS3ContentsManager):
            self.kernel_access = KernelAccess(
                self.connection, self.files, self.log, contents.mounts, contents.show_places
            )
            kernels = self.serverapp.kernel_manager
            if isinstance(kernels, CS3KernelManager):
                kernels.cs3_access = self.kernel_access

    async def _start_jupyter_server_extension(self, serverapp) -> None:
        """With the server's loop running: the Hub's fresh access tokens (a server the Hub
        started, in bearer mode), the kernels' token file, then the mount."""
        self.hub_tokens = None
        if self.connection.auth_mode == "bearer" and not self.connection.secret_file:
            self.hub_tokens = HubTokens.from_environment(self.connection.secret_env)
            if self.hub_tokens is not None:
                await self.hub_tokens.start()
        access = self.kernel_access
        if access is None:
            return
        if not self.kernel_mount:
            await self._start_kernel_access(access)
            return
        access.mounting()
        problem: str | None = "the mount could not be started (the server's log says why)"
        try:
            await self._start_kernel_access(access)
            self.mount = KernelMount(
                self.connection.username, access.kernel_env(None), access.folder / "mount.log"
            )
            problem = await self.mount.start()
        finally:  # whatever happened, kernels wait for the mount no longer
            self._mount_started(serverapp, problem)

    async def _start_kernel_access(self, access: KernelAccess) -> None:
        try:
            await access.start()
        except CS3Error as err:
            self.log.warning("cs3lab: no CS3 credentials for kernels yet: %s", err)

    def _mount_started(self, serverapp, problem: str | None) -> None:
        access = self.kernel_access
        assert access is not None
        if problem is None and self.mount is not None:
            self.log.info(
                "cs3lab: %s is mounted at %s for kernels",
                access.connection.home_path,
                self.mount.point,
            )
            access.mounted(str(self.mount.point))
        else:
            self.mount = None
            self.log.warning(
                "cs3lab: no FUSE mount for kernels (%s): kernels start in %s, and reach CS3 "
                "files through cs3:// only",
                problem,
                serverapp.root_dir,
            )
            access.mounted(None, problem)

    def _build_capabilities(self, contents: CS3ContentsManager) -> None:
        """The services of locks, merge, sharing and OCM, built once, and their handlers."""
        self.locks = contents.locks
        # Sharing also puts share state into the contents manager's listings.
        self.sharing = build_sharing(self.serverapp, contents, self.log)
        # Federated sharing (OCM): invitations, contacts, shares with other sites.
        self.ocm = build_ocm(self.serverapp, contents, self.log)
        # The recycle bin; a failed folder copy also purges its remains from there.
        self.recycle = RecycleService(contents.files, contents.home, lambda: contents.allow_hidden)
        contents.discard_deleted = self.recycle.discard_deleted
        register_copy_events(contents.event_logger)  # folder copy progress, for JupyterLab
        self.capabilities = [
            lock_handlers(API_PREFIX, self.locks),
            merge_handlers(API_PREFIX, contents),
            sharing_handlers(API_PREFIX, self.sharing),
            ocm_handlers(API_PREFIX, self.ocm),
            recycle_handlers(API_PREFIX, self.recycle),
        ]

    def initialize_handlers(self) -> None:
        # ExtensionApp prefixes every pattern with the server's base_url itself.
        session = (
            url_path_join(API_PREFIX, "session"),
            SessionHandler,
            {"session": self.session_service},
        )
        self.handlers.append(session)
        if self.capabilities:  # quota of JupyterLab paths: with the CS3 contents manager
            quota = url_path_join(API_PREFIX, "quota")
            self.handlers.append((quota, QuotaHandler, {"session": self.session_service}))
        for handlers in self.capabilities:
            self.handlers.extend(handlers)

    async def stop_extension(self) -> None:
        if getattr(self, "hub_tokens", None) is not None:
            await self.hub_tokens.stop()
        if self.mount is not None:
            await self.mount.stop()
            self.mount = None
        if self.kernel_access is not None:
            await self.kernel_access.stop()
        if self._owns_files:
            self.files.close()
            await self.files.client.close()
        else:
            await self.serverapp.contents_manager.close()
