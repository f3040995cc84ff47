"""Fresh OIDC access tokens for a single-user server started by JupyterHub (bearer mode).

The Hub keeps each user's tokens (auth state) and renews them with the refresh token
(docs/jupyterhub_config.py); a running server does not get them pushed. :class:`HubTokens`
asks the Hub for the current access token (``GET $JUPYTERHUB_API_URL/users/$JUPYTERHUB_USER``
with the server's own ``$JUPYTERHUB_API_TOKEN``, which needs the ``admin:auth_state!user``
scope; ``GET .../user`` never shows auth state, whatever the scopes) when less than
a third of the token's lifetime is left, and puts it where cs3lab's bearer secret is read
from: the environment variable of :class:`~.auth.SecretSource`, read again at every renewal
of the reva token. It runs as one task on the server's loop; nothing waits for it.

When the Hub can no longer renew the tokens (the refresh token itself has expired), it still
answers with the stale token: :attr:`HubTokens.sign_in_again` is then True and the next
renewal of the reva token is refused with "sign in again".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass
from urllib.parse import quote

import jwt
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

log = logging.getLogger(__name__)

API_URL_ENV = "JUPYTERHUB_API_URL"
API_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
USER_ENV = "JUPYTERHUB_USER"
BASE_URL_ENV = "JUPYTERHUB_BASE_URL"  # the Hub's base URL path ("/" by default)
SERVICE_PREFIX_ENV = "JUPYTERHUB_SERVICE_PREFIX"  # this server's path, "/user/<name>/"
HOST_ENV = "JUPYTERHUB_HOST"  # the Hub's origin where servers have their own (subdomains)
# Ask the Hub for a new token when less than this part of its lifetime is left (the Hub's
# configuration renews it when less than half is left), at the latest this close to expiry.
RENEW_FRACTION = 1 / 3
RENEW_MARGIN_SECONDS = 5.0
RETRY_SECONDS = 10.0  # after a failed request to the Hub


def sign_in_url() -> str | None:
    """Where a user signs in again to the Hub that started this server, coming back to
    JupyterLab afterwards (``/hub/login?next=/user/<name>/lab``); None when no Hub started it.
    The Hub's login asks the identity provider again once its own session has ended."""
    prefix = os.environ.get(SERVICE_PREFIX_ENV)
    if not prefix or not os.environ.get(API_URL_ENV):
        return None
    base = os.environ.get(BASE_URL_ENV) or "/"
    base = base if base.endswith("/") else base + "/"
    host = os.environ.get(HOST_ENV, "").rstrip("/")
    lab = prefix.rstrip("/") + "/lab"
    return f"{host}{base}hub/login?next={quote(lab, safe='/')}"


def seconds_left(token: str, now: float | None = None) -> tuple[float, float] | None:
    """(seconds until the token expires, its whole lifetime), from its unverified claims;
    None when it is no JWT with ``exp``."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float):
        return None
    now = time.time() if now is None else now
    lifetime = float(exp - iat) if isinstance(iat, int | float) else 300.0
    return float(exp) - now, max(lifetime, 1.0)


def renew_in(token: str, now: float | None = None) -> float:
    """Seconds from ``now`` until the token should be replaced (0: now)."""
    left = seconds_left(token, now)
    if left is None:
        return RETRY_SECONDS
    remaining, lifetime = left
    margin = max(lifetime * RENEW_FRACTION, min(RENEW_MARGIN_SECONDS, lifetime / 2))
    return max(0.0, remaining - margin)


@dataclass
class HubTokens:
    """Keeps ``os.environ[target_env]`` holding the user's current access token."""

    api_url: str
    api_token: str
    user: str
    target_env: str
    sign_in_again: bool = False
    _task: asyncio.Task | None = None

    @classmethod
    def from_environment(cls, target_env: str) -> HubTokens | None:
        """The refresher of a server the Hub started (its API URL and token are in the
        environment), or None elsewhere."""
        url, token = os.environ.get(API_URL_ENV), os.environ.get(API_TOKEN_ENV)
        user = os.environ.get(USER_ENV)
        if not url or not token or not user:
            return None
        return cls(url.rstrip("/"), token, user, target_env)

    async def fetch(self) -> str:
        """The user's current access token from the Hub (which renews it if due)."""
        request = HTTPRequest(
            f"{self.api_url}/users/{quote(self.user, safe='')}",
            headers={"Authorization": f"token {self.api_token}"},
            request_timeout=10,
        )
        response = await AsyncHTTPClient().fetch(request)
        state = json.loads(response.body).get("auth_state")
        if not state or not state.get("access_token"):
            raise LookupError(
                "the Hub shows this server no auth state: grant its token the scope "
                "admin:auth_state!user (Spawner.server_token_scopes)"
            )
        return state["access_token"]

    async def refresh_once(self) -> float:
        """Fetch the token once, store it; returns seconds until the next fetch is due."""
        try:
            token = await self.fetch()
        except (HTTPClientError, OSError, LookupError, ValueError) as err:
            log.warning("cs3lab: cannot get a fresh access token from the Hub: %s", err)
            return RETRY_SECONDS
        os.environ[self.target_env] = token
        wait = renew_in(token)
        if wait > 0:
            self.sign_in_again = False
            return wait
        # Not renewed: the Hub renews it on a later request (its auth_refresh_age), or cannot
        # any more (the refresh token expired too: the user must sign in again).
        remaining = (seconds_left(token) or (0.0, 0.0))[0]
        self.sign_in_again = remaining <= 0
        return RETRY_SECONDS if remaining <= 0 else max(1.0, min(RETRY_SECONDS, remaining / 2))

    async def run(self, wait: float) -> None:
        while True:
            await asyncio.sleep(wait)
            wait = await self.refresh_once()

    async def start(self) -> None:
        """Replace a token that is already due (a server that took long to start) before
        anything uses it, then keep it fresh in a task of the running loop."""
        if self._task is not None:
            return
        current = os.environ.get(self.target_env, "")
        wait = renew_in(current) if current else 0.0
        if wait == 0.0:
            wait = await self.refresh_once()
        self._task = asyncio.get_running_loop().create_task(self.run(wait))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
