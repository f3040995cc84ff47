"""cs3lab's LockService signed in as any site user, outside a Jupyter server: the other
editors of a lock test (bob holding the file alice tries to save, twenty racers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from site_runner import Site

from cs3lab.cs3 import AuthConfig, CS3Client, Files, GatewayConfig, SecretSource
from cs3lab.locks import LockService


def user_files(site: Site, username: str) -> Files:
    """cs3lab's own CS3 client for ``username`` (the password read from the site's secret
    file, as a Jupyter server reads it)."""
    secret = SecretSource(file=str(site.secret_file(username)))
    client = CS3Client(GatewayConfig(site.gateway), AuthConfig("basic", username, secret))
    return Files(client)


@asynccontextmanager
async def signed_in(site: Site, username: str = "alice") -> AsyncIterator[Files]:
    """cs3lab's CS3 client as ``username``, closed afterwards."""
    files = user_files(site, username)
    try:
        yield files
    finally:
        files.close()
        await files.client.close()


def token_file(site: Site, path: Path, username: str = "alice") -> Path:
    """A file (mode 0600) holding a fresh reva token of ``username``, as a server writes one
    for its kernels and its mount."""

    async def token() -> str:
        async with signed_in(site, username) as files:
            return await files.client.access_token()

    path.write_text(asyncio.run(token()))
    path.chmod(0o600)
    return path


async def stored(site: Site, path: str, username: str = "alice") -> bytes:
    """The bytes the storage holds at the CS3 path ``path``."""
    async with signed_in(site, username) as files:
        return await files.download(path)


async def version_count(site: Site, path: str, username: str = "alice") -> int:
    """How many earlier versions of ``path`` the storage keeps."""
    async with signed_in(site, username) as files:
        return len(await files.list_versions(path))


@asynccontextmanager
async def locker(site: Site, username: str, expiry: int = 120) -> AsyncIterator[LockService]:
    """A LockService as ``username`` (one "Jupyter server" of that user); closed afterwards,
    giving back what it still holds."""
    files = user_files(site, username)
    service = LockService(files, site=site.name, expiry_seconds=expiry)
    try:
        yield service
    finally:
        await service.close()
        files.close()
        await files.client.close()
