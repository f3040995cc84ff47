"""What works with the effective configuration: ``jupyter cs3lab check`` (see cs3lab/cli.py).

:func:`run_checks` signs in to the configured CS3 site with cs3lab's own client and services
and returns one :class:`Result` per check, in plain words: gateway, credentials, home, data
gateway (a small hidden file written, read back and deleted in the home, then purged from the
recycle bin), locks, versions, recycle bin, sharing, OCM, public links, kernel mount. A FAIL
means users cannot work (no gateway, refused credentials, no home, no file transfers); what
only limits a feature is a warning. No message carries a secret.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

import grpc
from cs3.gateway.v1beta1 import gateway_api_pb2 as gw

from .config import CS3Connection
from .cs3 import Files, SecretSource
from .cs3.auth import token_expiry
from .cs3.errors import CS3Error, NotFound, NotSupported, PermissionDenied, Unauthenticated
from .cs3.files import CONTAINER, ResourceInfo
from .cs3.links import Links
from .cs3.ocm import OCM
from .cs3.shares import Shares
from .fs.mount import unavailable_reason
from .locks import LockService
from .locks.model import NATIVE
from .recycle.service import RecycleService
from .sharing.config import CS3Sharing

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
# The gateway's first answer may take this long; a stopped site answers "refused" at once.
REACH_SECONDS = 10.0
PROBE_PREFIX = ".cs3lab-check-"
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")


@dataclass(frozen=True)
class Probe:
    """The test file: its CS3 path (a Stat's ResourceInfo.path may be relative, as on
    decomposedfs) and its ResourceInfo."""

    path: str
    info: ResourceInfo


@dataclass(frozen=True)
class Result:
    name: str  # what was checked: "gateway", "credentials", ...
    status: str  # OK, WARN, FAIL or SKIP
    message: str  # plain words, no secret


def failed(results: list[Result]) -> bool:
    """Something a user needs is broken."""
    return any(r.status == FAIL for r in results)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _detail(text: str) -> str:
    """A server's own words, shortened, with anything token-like masked."""
    text = _JWT.sub("<token>", " ".join(text.split()))
    return text if len(text) <= 240 else text[:237] + "..."


def _why(err: CS3Error) -> str:
    return f"{err.message} ({_detail(err.detail)})" if err.detail else err.message


def tls_words(connection: CS3Connection) -> str:
    if not connection.tls:
        return "TLS off"
    return (
        f"TLS on, CA bundle {connection.ca_file}"
        if connection.ca_file
        else ("TLS on, the system's CA roots")
    )


class Checker:
    """The checks of one run, over one CS3 client (closed by :meth:`run`)."""

    def __init__(self, connection: CS3Connection, sharing: CS3Sharing, kernel_mount: bool) -> None:
        self.connection = connection
        self.sharing = sharing
        self.kernel_mount = kernel_mount
        self.secret = SecretSource(env=connection.secret_env, file=connection.secret_file)
        self.files: Files | None = None
        self.results: list[Result] = []
        self.link_count: int | None = None  # the user's public links, when they were listed
        self.link_error = ""

    def add(self, name: str, status: str, message: str) -> None:
        self.results.append(Result(name, status, message))

    def skip(self, names: list[str], why: str) -> None:
        for name in names:
            self.add(name, SKIP, f"not checked: {why}")

    async def run(self) -> list[Result]:
        try:
            await self._remote()
        finally:
            if self.files is not None:
                self.files.close()
                await self.files.client.close()
        self._public_links_local()
        self._kernel_mount()
        return self.results

    # -- the site ---------------------------------------------------------------------------

    async def _remote(self) -> None:
        rest = ["credentials", "home", "data gateway", "locks", "versions", "recycle bin"]
        rest += ["sharing", "OCM"]
        if not await self._gateway():
            self.skip(rest, "the gateway cannot be reached")
            return
        if not await self._credentials():
            self.skip(rest[1:], "no accepted credentials")
            return
        home = await self._home()
        if home is None:
            self.skip(rest[2:6], "no home")
        else:
            probe = await self._data_gateway()
            await self._locks(probe.info if probe else home)
            await self._versions(probe)
            await self._recycle_bin(probe)
        await self._sharing()
        await self._ocm()
        await self._links()

    async def _gateway(self) -> bool:
        address = self.connection.gateway
        where = f"{address} ({tls_words(self.connection)})"
        try:
            self.files = self.connection.open()
        except CS3Error as err:
            self.add(
                "gateway", FAIL, f"{err.message} (set CS3Connection.gateway or CS3LAB_GATEWAY)"
            )
            return False
        except OSError as err:
            bundle = self.connection.ca_file
            self.add("gateway", FAIL, f"cannot read the CA bundle {bundle}: {err.strerror}")
            return False
        # Any answer, even a refusal of the empty token, says that the gateway is there.
        timeout = min(self.connection.timeout, REACH_SECONDS)
        try:
            await self.files.client.stub.WhoAmI(gw.WhoAmIRequest(token=""), timeout=timeout)
        except grpc.aio.AioRpcError as err:
            if err.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                why = _detail(err.details() or err.code().name)
                self.add("gateway", FAIL, f"unreachable: nothing answers at {where}: {why}")
                return False
        self.add("gateway", OK, f"{where} answers")
        return True

    async def _credentials(self) -> bool:
        mode = self.connection.auth_mode
        client = self.files.client
        try:
            secret = self.secret.read_optional() if mode == "publiclink" else self.secret.read()
        except Unauthenticated as err:
            self.add("credentials", FAIL, f"no credentials: {err.message}")
            return False
        own_expiry = token_expiry(secret) if mode in ("token", "bearer") else None
        try:
            user = await client.whoami()
        except (Unauthenticated, PermissionDenied) as err:
            if own_expiry is not None and own_expiry <= time.time():
                kind = "reva token" if mode == "token" else "OIDC token"
                self.add(
                    "credentials",
                    FAIL,
                    f"refused: the {kind} expired at {_when(own_expiry)}; put a fresh one in "
                    f"the {self.secret.describe()}",
                )
            else:
                self.add("credentials", FAIL, f"refused: {_why(err)}")
            return False
        except CS3Error as err:
            self.add("credentials", FAIL, f"signing in failed: {_why(err)}")
            return False
        who = user.username or self.connection.username
        if user.display_name:
            who += f" ({user.display_name})"
        if mode == "publiclink":
            who = "a guest of the public link"
        self.add("credentials", OK, f"accepted: {who}, {self._expiry_words(mode, own_expiry)}")
        return True

    def _expiry_words(self, mode: str, own_expiry: float | None) -> str:
        current = self.files.client.tokens.current
        reva = current.expires_at if current is not None else None
        source = self.secret.describe()
        if mode == "token":
            if reva is None:
                return "with a reva token that carries no expiry"
            return (
                f"with a reva token that expires at {_when(reva)} (cs3lab cannot renew it: "
                f"a fresh one must be put in the {source})"
            )
        words = {"basic": "signed in with a password", "publiclink": "signed in to the link"}
        said = words.get(mode, "signed in with an OIDC token")
        if mode == "bearer" and own_expiry is not None:
            said += f" that expires at {_when(own_expiry)} (re-read from the {source})"
        if reva is None:
            return f"{said}; the reva token carries no expiry"
        return f"{said}; the reva token expires at {_when(reva)} and is renewed before that"

    async def _home(self) -> ResourceInfo | None:
        path = self.connection.home_path
        if not path.startswith("/"):
            self.add("home", FAIL, f"CS3Connection.home must be an absolute CS3 path, not {path!r}")
            return None
        try:
            info = await self.files.stat(path)
        except NotFound:
            self.add(
                "home",
                FAIL,
                f"not found: {path} does not exist on the site (CS3Connection.home is "
                f"{self.connection.home!r})",
            )
            return None
        except CS3Error as err:
            self.add("home", FAIL, f"{path} cannot be read: {_why(err)}")
            return None
        if info.type != CONTAINER:
            self.add("home", FAIL, f"{path} is a file, not a folder")
            return None
        self.add("home", OK, f"{path} found")
        return info

    async def _data_gateway(self) -> Probe | None:
        """Write a hidden file twice (the second write makes a version), read it back; the
        file stays for the lock and version checks and is removed by the recycle check."""
        path = f"{self.connection.home_path.rstrip('/')}/{PROBE_PREFIX}{uuid.uuid4().hex[:8]}"
        data = f"cs3lab check {time.time()}\n".encode()
        try:
            await self.files.upload(path, b"first\n", replacing=None)
            await self.files.upload(path, data)
            download = await self.files.initiate_download(path)
            chunks: list[bytes] = []
            await self.files.download_stream(download, chunks.append, path)
            info = await self.files.stat(path)
        except CS3Error as err:
            self.add("data gateway", FAIL, f"a test file in the home failed: {_why(err)}")
            await self._remove(path, quiet=True)
            return None
        endpoint = urlsplit(download.endpoint)
        through = f"{endpoint.scheme}://{endpoint.netloc}"
        if b"".join(chunks) != data:
            self.add("data gateway", FAIL, f"a test file read back through {through} differs")
            return None
        self.add(
            "data gateway",
            OK,
            f"a test file ({path.rsplit('/', 1)[1]}) was written and read back through {through}",
        )
        return Probe(path, info)

    async def _locks(self, info: ResourceInfo) -> None:
        service = LockService(self.files, site=self.connection.site_name)
        try:
            kind = await service.kind_of(info)
        except CS3Error as err:
            self.add("locks", WARN, f"unknown: the lock probe failed: {_why(err)}")
            return
        finally:
            await service.close()
        if kind == NATIVE:
            self.add("locks", OK, "native CS3 locks (other CS3 applications see them)")
        else:
            self.add(
                "locks",
                OK,
                "fallback: the storage has no native locks, cs3lab keeps lock markers beside "
                "the files (only cs3lab honours them)",
            )

    async def _versions(self, probe: Probe | None) -> None:
        if probe is None:
            self.add("versions", WARN, "unknown: no test file could be written")
            return
        try:
            versions = await self.files.list_versions(probe.path)
        except NotSupported:
            self.add("versions", WARN, "not kept: 'Revert to checkpoint' keeps its own copies")
            return
        except CS3Error as err:
            self.add("versions", WARN, f"unknown: listing versions failed: {_why(err)}")
            return
        if versions:
            self.add("versions", OK, "the storage keeps a version at each save (checkpoints)")
        else:
            self.add(
                "versions",
                WARN,
                "the storage kept no version of the test file: 'Revert to checkpoint' "
                "keeps its own copies",
            )

    async def _recycle_bin(self, probe: Probe | None) -> None:
        """Delete the test file, list the bin, and purge the test file from it."""
        home = self.connection.home_path
        service = RecycleService(self.files, home, show_hidden=lambda: True)
        if probe is not None and not await self._remove(probe.path):
            return
        try:
            items = await service.items()
        except NotSupported as err:
            self.add("recycle bin", WARN, err.message)
            return
        except CS3Error as err:
            self.add("recycle bin", WARN, f"cannot be listed: {_why(err)}")
            return
        mine = [d for d in items if probe is not None and d.cs3_path == probe.path]
        try:
            if mine:
                await service.discard_deleted(probe.path)
        except CS3Error as err:
            self.add("recycle bin", WARN, f"the test file could not be purged: {_why(err)}")
            return
        count = len(items) - len(mine)
        self.add("recycle bin", OK, f"listed: {count} item{'s' * (count != 1)} in the bin")

    async def _remove(self, path: str, quiet: bool = False) -> bool:
        try:
            await self.files.delete(path)
        except NotFound:
            return True
        except CS3Error as err:
            if not quiet:
                self.add("recycle bin", WARN, f"the test file {path} stays: {_why(err)}")
            return False
        return True

    async def _listed(self, name: str, call: Callable[[], Awaitable[list]], what: str) -> None:
        try:
            found = await call()
        except CS3Error as err:
            self.add(name, WARN, f"not available: {_why(err)}")
            return
        self.add(name, OK, f"answers: {len(found)} {what}")

    async def _sharing(self) -> None:
        await self._listed("sharing", Shares(self.files.client).list, "shares made by you")

    async def _ocm(self) -> None:
        await self._listed("OCM", OCM(self.files.client).received, "shares from other sites")

    async def _links(self) -> None:
        try:
            self.link_count = len(await Links(self.files.client).list())
        except CS3Error as err:
            self.link_error = _why(err)

    # -- this machine -----------------------------------------------------------------------

    def _public_links_local(self) -> None:
        base = self.sharing.link_base(self.connection.gateway, self.connection.tls)
        count = self.link_count
        listed = "" if count is None else f"; {count} link{'s' * (count != 1)} by you"
        if self.link_error:
            self.add("public links", WARN, f"the link service is not available: {self.link_error}")
        elif not self.sharing.public_link_base:
            self.add(
                "public links",
                WARN,
                f"CS3Sharing.public_link_base is not set: links are shown as {base}<token> "
                f"(the gateway's host){listed}",
            )
        else:
            self.add("public links", OK, f"links open at {base}<token>{listed}")

    def _kernel_mount(self) -> None:
        if not self.kernel_mount:
            self.add(
                "kernel mount",
                WARN,
                "turned off (CS3LabApp.kernel_mount): kernels reach CS3 files through cs3:// only",
            )
            return
        problem = unavailable_reason()
        if problem is None:
            self.add("kernel mount", OK, "FUSE is available: kernels see the home as files")
        else:
            self.add(
                "kernel mount",
                WARN,
                f"not available ({problem}): kernels reach CS3 files through cs3:// only",
            )


async def run_checks(
    connection: CS3Connection, sharing: CS3Sharing, kernel_mount: bool = True
) -> list[Result]:
    """Every check, in order; never raises for a site problem (each is a result)."""
    return await Checker(connection, sharing, kernel_mount).run()


def check_site(
    connection: CS3Connection, sharing: CS3Sharing, kernel_mount: bool = True
) -> list[Result]:
    """:func:`run_checks` on a loop of its own (for the command line)."""
    return asyncio.run(run_checks(connection, sharing, kernel_mount))
