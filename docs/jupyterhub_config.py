"""JupyterHub in front of cs3lab, with single sign-on through an OpenID Connect provider
(Keycloak) whose access tokens the site's Reva also accepts (its `oidc` auth manager).

This is the configuration the end-to-end test runs (tests/test_hub.py). Everything that differs
between sites comes from the Hub's environment, and no secret is written here:

    CS3LAB_OIDC_ISSUER    the realm's issuer, e.g. https://sso.example.org/realms/example
                          (Keycloak's endpoint layout below; the same value is `issuer` in
                          revad's oidc auth manager)
    OAUTH_CLIENT_ID       the Hub's confidential client in the realm (default "jupyterhub")
    OAUTH_CLIENT_SECRET   its secret (read by oauthenticator itself)
    OAUTH_CALLBACK_URL    <public Hub URL>/hub/oauth_callback (a redirect URI of the client)
    JUPYTERHUB_CRYPT_KEY  32 bytes, hex or base64 (`openssl rand -hex 32`): encrypts the
                          users' tokens in the Hub's database (auth state)
    CS3LAB_GATEWAY        host:port of the site's CS3 gateway; CS3LAB_SITE its name,
                          CS3LAB_TLS=1 for TLS, CS3LAB_HOME the CS3 path shown as the root
                          ({username} is replaced; default /home/{username}),
                          CS3LAB_STORAGE_REPORTS_QUOTA=false where GetQuota is the disk

Each user's server is a local process (SimpleLocalProcessSpawner: every server runs as the
Hub's own Unix user, in a folder of its own). A site on Kubernetes swaps in KubeSpawner and
keeps the rest: the single-user environment gets the CS3 settings and the user's current
access token as environment variables, and cs3lab exchanges that token with the gateway
(`CS3Connection.auth_mode = "bearer"`).
"""

from __future__ import annotations

import base64
import inspect
import json
import os
import sys
import time

c = get_config()  # noqa: F821 (JupyterHub defines it when it loads this file)

# --- Sign-in: OpenID Connect against the realm -------------------------------------------------
issuer = os.environ["CS3LAB_OIDC_ISSUER"].rstrip("/")
c.JupyterHub.authenticator_class = "generic-oauth"
c.GenericOAuthenticator.client_id = os.environ.get("OAUTH_CLIENT_ID", "jupyterhub")
c.GenericOAuthenticator.login_service = "single sign-on"
# One identity provider: the Hub's login page goes straight to it (also where cs3lab's
# "Sign in again" link leads, /hub/login?next=<JupyterLab>).
c.GenericOAuthenticator.auto_login = True
c.GenericOAuthenticator.authorize_url = f"{issuer}/protocol/openid-connect/auth"
c.GenericOAuthenticator.token_url = f"{issuer}/protocol/openid-connect/token"
c.GenericOAuthenticator.userdata_url = f"{issuer}/protocol/openid-connect/userinfo"
c.GenericOAuthenticator.scope = ["openid", "profile", "email"]
# The Hub's user names are the realm's preferred_username, which is also the claim revad maps
# to a CS3 user (default_id_claim): one name from sign-in to storage.
c.GenericOAuthenticator.username_claim = "preferred_username"
# Who may sign in is the realm's business: everyone it authenticates gets a server (and the
# CS3 site still refuses tokens of people it has no account for).
c.GenericOAuthenticator.allow_all = True

# Keep each user's tokens (access, refresh, id) encrypted in the Hub's database: the
# single-user server gets its access token from there. Needs JUPYTERHUB_CRYPT_KEY.
c.GenericOAuthenticator.enable_auth_state = True
# Renew the tokens before a server starts, so it starts with a fresh access token.
c.GenericOAuthenticator.refresh_pre_spawn = True

# --- Tokens that stay fresh --------------------------------------------------------------------
# Access tokens live minutes, sessions hours. The Hub renews a user's tokens with her refresh
# token once less than half of the access token's lifetime is left; it checks whenever she
# (or her server, asking for her auth state) makes a request and the last check is
# auth_refresh_age seconds old. The check itself costs nothing while the token is fresh.
# When the refresh token has expired too, the user must sign in again.


def _access_token_left(access_token: str) -> tuple[float, float]:
    """(seconds until the access token expires, its lifetime), from its claims (a JWT)."""
    payload = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    lifetime = claims["exp"] - claims.get("iat", claims["exp"] - 300)
    return claims["exp"] - time.time(), lifetime


async def _refresh_ahead_of_expiry(authenticator, user, auth_state):
    """GenericOAuthenticator.refresh_user_hook: True (still fresh), False (sign in again) or
    the renewed auth model. (oauthenticator alone renews only tokens that no longer work.)"""
    if not auth_state or not auth_state.get("refresh_token"):
        return None  # oauthenticator's own handling
    left, lifetime = _access_token_left(auth_state["access_token"])
    if left > lifetime / 2:
        return True
    refresh_token = auth_state["refresh_token"]
    params = authenticator.build_refresh_token_request_params(refresh_token)
    try:
        token_info = await authenticator.get_token_info(None, params)
    except Exception as err:  # the refresh token is no longer valid: sign in again
        authenticator.log.info("Cannot renew the tokens of %s: %s", user.name, err)
        return False
    if not token_info.get("refresh_token"):  # a provider may keep the refresh token
        token_info["refresh_token"] = refresh_token
    user_info = await authenticator.token_to_user(token_info)
    state = authenticator.build_auth_state_dict(token_info, user_info)
    if inspect.isawaitable(state):
        state = await state
    return {"name": user.name, "auth_state": state}


c.GenericOAuthenticator.refresh_user_hook = _refresh_ahead_of_expiry
c.GenericOAuthenticator.auth_refresh_age = 5
# A user's server may read her auth state (her tokens) through the Hub API with its own API
# token, at GET /hub/api/users/<name> (GET /hub/api/user never shows auth state): cs3lab's
# single-user side (cs3lab/cs3/hub_tokens.py) fetches the current access token there when a
# third of its lifetime is left. A server token gets the scopes asked for here that its user
# holds, so users hold that scope for themselves too.
c.JupyterHub.load_roles = [
    {"name": "user", "scopes": ["self", "admin:auth_state!user"]},
]
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "admin:auth_state!user",
]

# --- Single-user servers ------------------------------------------------------------------------
c.Spawner.default_url = "/lab"
c.Spawner.args = ["--ServerApp.contents_manager_class=cs3lab.CS3ContentsManager"]
# CS3LAB_SPAWNER=kubernetes (zero-to-jupyterhub, docker/z2jh-values.yaml) keeps the chart's
# KubeSpawner, whose single-user image (cs3lab-jupyterlab) starts jupyterhub-singleuser.
if os.environ.get("CS3LAB_SPAWNER", "simple") == "simple":
    c.JupyterHub.spawner_class = "simple"  # jupyterhub.spawner.SimpleLocalProcessSpawner
    # The single-user server of this Python (the one that has cs3lab and jupyterhub installed).
    c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
    if os.geteuid() == 0:  # a Hub run as root (tests) runs its users' servers as root
        c.Spawner.args.append("--ServerApp.allow_root=True")


def _keep_access_token(spawner, auth_state) -> None:
    """Before each start: remember the user's current access token for the environment."""
    spawner.cs3_access_token = (auth_state or {}).get("access_token", "")


c.Spawner.auth_state_hook = _keep_access_token

# cs3lab reads all its settings from the environment (cs3lab/config.py): no secret in a file
# or on a command line. CS3LAB_SECRET holds the access token cs3lab exchanges with the gateway.
c.Spawner.environment = {
    "CS3LAB_GATEWAY": os.environ.get("CS3LAB_GATEWAY", ""),
    "CS3LAB_SITE": os.environ.get("CS3LAB_SITE", ""),
    "CS3LAB_TLS": os.environ.get("CS3LAB_TLS", "0"),
    "CS3LAB_HOME": os.environ.get("CS3LAB_HOME", "/home/{username}"),
    # "false" for a storage that answers GetQuota with its disk (Reva v3's local driver).
    "CS3LAB_STORAGE_REPORTS_QUOTA": os.environ.get("CS3LAB_STORAGE_REPORTS_QUOTA", "true"),
    "CS3LAB_AUTH_MODE": "bearer",
    "CS3LAB_USER": lambda spawner: spawner.user.name,
    "CS3LAB_SECRET": lambda spawner: getattr(spawner, "cs3_access_token", ""),
}

# --- The Hub itself -----------------------------------------------------------------------------
# Addresses and ports (bind_url, hub_bind_url, ConfigurableHTTPProxy.api_url) come from the
# command line or a site's own config; configurable-http-proxy (npm) must be on PATH.
c.JupyterHub.cleanup_servers = True
