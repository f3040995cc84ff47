"""The session service: the signed-in CS3 user and the site, for the status bar."""

from __future__ import annotations

from typing import Any

from ..config import CS3Connection
from ..cs3 import Files


class SessionService:
    def __init__(self, connection: CS3Connection, files: Files) -> None:
        self.connection = connection
        self.files = files

    async def describe(self) -> dict[str, Any]:
        """The user as the gateway knows them (this validates the token end to end)."""
        user = await self.files.client.whoami()
        return {
            "user": {
                "username": user.username,
                "display_name": user.display_name or user.username or "Guest",
                "mail": user.mail,
                "idp": user.id.idp,
            },
            "site": {"name": self.connection.site_name, "gateway": self.connection.gateway},
            "home": self.connection.home_path,
        }

    async def quota(self, cs3_path: str) -> dict[str, Any]:
        """Quota and usage where ``cs3_path`` is stored (the home, a project space), for the
        status bar: ``total`` None when the site sets no quota; ``reported`` false (and no
        figures) where the site's storage answers GetQuota with its disk, not a quota
        (``CS3Connection.storage_reports_quota``)."""
        if not self.connection.storage_reports_quota:
            return {"reported": False, "total": None, "used": None, "remaining": None}
        quota = await self.files.quota(cs3_path)
        return {
            "reported": True,
            "total": quota.total,
            "used": quota.used,
            "remaining": quota.remaining,
        }
