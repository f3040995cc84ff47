"""The cs3lab jupyter_server extension: configuration, services, handlers."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join

from .config import CS3Connection
from .contents_manager import CS3ContentsManager
from .locks.handlers import lock_handlers
from .session.handlers import SessionHandler
from .session.service import SessionService
from .sharing.config import build_sharing
from .sharing.handlers import sharing_handlers
from .sharing.ocm import build_ocm
from .sharing.ocm_handlers import ocm_handlers

API_PREFIX = "cs3lab/api"


class CS3LabApp(ExtensionApp):
    name = "cs3lab"
    load_other_extensions = True

    def initialize_settings(self) -> None:
        contents = self.serverapp.contents_manager
        if isinstance(contents, CS3ContentsManager):
            # One channel per process: share the contents manager's connection.
            self.connection = contents.connection
            self.files = contents.files
            self._owns_files = False
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
        # Locks, like every capability below, need CS3 as the contents manager.
        self.locks = contents.locks if isinstance(contents, CS3ContentsManager) else None
        # Federated sharing (OCM): invitations, contacts, shares with and from other sites.
        self.ocm = (
            build_ocm(self.serverapp, contents, self.log)
            if isinstance(contents, CS3ContentsManager)
            else None
        )
        # Sharing too (its service also puts share state into the contents' listings).
        self.sharing = (
            build_sharing(self.serverapp, contents, self.log)
            if isinstance(contents, CS3ContentsManager)
            else None
        )

    def initialize_handlers(self) -> None:
        # ExtensionApp prefixes every pattern with the server's base_url itself.
        self.handlers.extend(
            [
                (
                    url_path_join(API_PREFIX, "session"),
                    SessionHandler,
                    {"session": self.session_service},
                )
            ]
        )
        if self.locks is not None:
            self.handlers.extend(lock_handlers(API_PREFIX, self.locks))
            from .merge.handlers import merge_handlers

            self.handlers.extend(merge_handlers(API_PREFIX, self.serverapp.contents_manager))
        if self.sharing is not None:
            self.handlers.extend(sharing_handlers(API_PREFIX, self.sharing))
        if self.ocm is not None:
            self.handlers.extend(ocm_handlers(API_PREFIX, self.ocm))

    async def stop_extension(self) -> None:
        if self._owns_files:
            self.files.close()
            await self.files.client.close()
        else:
            await self.serverapp.contents_manager.close()
