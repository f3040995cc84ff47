"""Authentication against a CS3 gateway: obtain a reva token and keep it fresh.

Four modes:

* ``basic``: a username and password, exchanged with ``Authenticate(type="basic")``.
* ``bearer``: an OIDC access token (e.g. handed over by JupyterHub), exchanged with
  ``Authenticate(type="bearer")``; the secret source is read again at each renewal so a
  token refreshed by the hub is picked up.
* ``token``: a ready reva token, used as is (and re-read from its source when it expires).
* ``publiclink``: a public link opened as a guest: the username is the link's token, the
  secret its password (may be empty); ``Authenticate(type="publicshares")``.

The secret is never stored in configuration: it comes from a :class:`SecretSource` that reads
an environment variable or a file when needed. The token is kept in memory only.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import jwt

from .errors import InvalidArgument, Unauthenticated

AUTH_MODES = ("basic", "bearer", "token", "publiclink")

# What a public link is called where its token (a secret: whoever has it opens the link)
# would otherwise appear, in messages and logs.
LINK_LABEL = "this public link"

# Renew the token when less than this many seconds (or this fraction of its lifetime) remain.
RENEW_MARGIN_SECONDS = 60.0
RENEW_MARGIN_FRACTION = 0.1


@dataclass(frozen=True)
class SecretSource:
    """Where a secret is read from: an environment variable or a file, never a literal."""

    env: str = ""
    file: str = ""

    def read(self) -> str:
        if self.file:
            try:
                return Path(self.file).expanduser().read_text().strip()
            except OSError as err:
                raise Unauthenticated(
                    f"Cannot read the CS3 secret file {self.file}: {err.strerror}"
                ) from None
        if self.env:
            value = os.environ.get(self.env, "")
            if value:
                return value
            raise Unauthenticated(f"The environment variable {self.env} holds no CS3 secret")
        raise Unauthenticated("No CS3 secret is configured (set a secret file or variable)")

    def read_optional(self) -> str:
        """The secret, or "" when none is configured (a public link without password)."""
        if not self.file and not (self.env and os.environ.get(self.env)):
            return ""
        return self.read()

    def describe(self) -> str:
        return f"file {self.file}" if self.file else f"environment variable {self.env}"


def signer(auth_type: str, client_id: str) -> str:
    """Who signs in, as messages name them: never a public link's token."""
    if auth_type == "publicshares":
        return LINK_LABEL
    return client_id or "the token holder"


@dataclass
class Token:
    value: str
    expires_at: float | None  # epoch seconds, None when the token carries no exp
    issued_at: float

    def needs_renewal(self, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        now = time.time() if now is None else now
        lifetime = max(self.expires_at - self.issued_at, 0.0)
        margin = max(RENEW_MARGIN_SECONDS, lifetime * RENEW_MARGIN_FRACTION)
        margin = min(margin, lifetime / 2) if lifetime else margin
        return now >= self.expires_at - margin


def token_expiry(token: str) -> float | None:
    """Read ``exp`` from a reva JWT without verifying it (the gateway verifies it)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else None


def describe_refused_bearer(token: str, site: str) -> str:
    """Why a site may have refused an OIDC token, for the user (Reva answers every refusal of
    its oidc auth manager with the same "error authenticating user"): read from the token's
    own claims, unverified, never quoting the token."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return f"The CS3 site at {site} did not accept the sign-in token: it is not a JWT"
    name = claims.get("preferred_username") or claims.get("sub") or "its holder"
    issuer = claims.get("iss") or "an unnamed issuer"
    exp = claims.get("exp")
    if isinstance(exp, int | float) and exp <= time.time():
        when = time.strftime("%H:%M:%S UTC", time.gmtime(exp))
        return f"Your sign-in token for {name} expired at {when}: sign in again"
    return (
        f"The CS3 site at {site} did not accept the sign-in token of {name} from {issuer}: "
        f"the site does not trust that issuer, or has no account for {name}"
    )


# (auth type, client id, client secret) -> reva token
Exchange = Callable[[str, str, str], Awaitable[str]]


class TokenKeeper:
    """Holds the current reva token; renews it before it expires, one renewal at a time."""

    def __init__(self, mode: str, username: str, secret: SecretSource, exchange: Exchange):
        if mode not in AUTH_MODES:
            raise InvalidArgument(f"Unknown CS3 auth mode {mode!r}; use one of {AUTH_MODES}")
        if mode in ("basic", "publiclink") and not username:
            raise InvalidArgument(f"CS3 {mode} authentication needs a username (or link token)")
        self.mode = mode
        self.username = username
        self._secret = secret
        self._exchange = exchange
        self._token: Token | None = None
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        current = self._token
        if current is not None and not current.needs_renewal():
            return current.value
        return await self.renew(stale=current)

    async def renew(self, stale: Token | None = None) -> str:
        """Get a new token, unless another task already replaced ``stale``."""
        async with self._lock:
            if self._token is not None and self._token is not stale:
                return self._token.value
            value = await self._obtain()
            self._token = Token(value, token_expiry(value), time.time())
            return value

    def invalidate(self) -> Token | None:
        stale, self._token = self._token, None
        return stale

    @property
    def current(self) -> Token | None:
        return self._token

    async def _obtain(self) -> str:
        if self.mode == "publiclink":
            password = self._secret.read_optional()
            return await self._exchange("publicshares", self.username, f"password|{password}")
        secret = self._secret.read()
        if self.mode == "token":
            return secret
        if self.mode == "basic":
            return await self._exchange("basic", self.username, secret)
        return await self._exchange("bearer", self.username, secret)
