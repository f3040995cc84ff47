"""Single sign-on: access tokens of a real Keycloak realm open the user's CS3 home through
cs3lab in ``bearer`` mode, on a revad whose ``oidc`` auth manager trusts that realm (site-sso,
fixtures ``keycloak`` and ``site_sso`` in conftest.py). Tokens of another issuer, expired
tokens and tokens of people the site does not know are refused with a 401 that says why."""

from __future__ import annotations

import json
import secrets
import time

import jwt
import pytest
from helpers import api, api_error, text_model
from site_runner import sync_upload
from tornado.httpclient import HTTPClientError

from cs3lab.cs3.auth import describe_refused_bearer

pytestmark = pytest.mark.sites("site-sso")


@pytest.fixture
def token_file(tmp_path):
    """The file cs3lab reads the access token from (mode 0600, in the test's temp dir)."""
    path = tmp_path / "secrets" / "access-token"
    path.parent.mkdir(mode=0o700)
    path.touch(mode=0o600)
    return path


@pytest.fixture
def access_token(keycloak, user) -> str:
    return keycloak.password_grant(user)["access_token"]


@pytest.fixture
def jp_server_config(jp_server_config, token_file, access_token):
    token_file.write_text(access_token)
    config = jp_server_config.CS3Connection
    config.auth_mode = "bearer"
    config.secret_file = str(token_file)
    return jp_server_config


async def session_error(jp_fetch) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("cs3lab", "api", "session")
    return info.value.code, json.loads(info.value.response.body)["message"]


async def test_keycloak_token_opens_her_home(jp_fetch, site, home, access_token):
    claims = jwt.decode(access_token, options={"verify_signature": False})
    assert claims["preferred_username"] == "alice"
    sync_upload(site, "alice", f"{home}/from-basic.txt", b"hello")
    session = json.loads((await jp_fetch("cs3lab", "api", "session")).body)
    assert session["user"]["username"] == "alice"
    assert session["home"] == home
    assert access_token not in json.dumps(session)
    await api(jp_fetch, "PUT", "saved.txt", text_model("saved with an SSO token"))
    listing = await api(jp_fetch, "GET", "")
    assert {c["name"] for c in listing["content"]} == {"from-basic.txt", "saved.txt"}
    assert (await api(jp_fetch, "GET", "saved.txt"))["content"] == "saved with an SSO token"


class TestForeignIssuer:
    @pytest.fixture
    def access_token(self, keycloak, user) -> str:
        """A well-formed token for alice, signed by a key of our own, from an issuer the site
        does not trust."""
        now = int(time.time())
        claims = {
            "iss": f"{keycloak.base_url}/realms/elsewhere",
            "sub": "alice",
            "preferred_username": user,
            "iat": now,
            "exp": now + 300,
        }
        return jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256")

    async def test_is_401_saying_the_issuer_is_not_trusted(self, jp_fetch, access_token):
        code, message = await api_error(jp_fetch, "GET", "")
        assert code == 401
        assert "issuer" in message
        assert access_token not in message
        code, message = await session_error(jp_fetch)
        assert code == 401
        assert "issuer" in message


class TestExpiredToken:
    @pytest.fixture
    def access_token(self, keycloak, user) -> str:
        with keycloak.token_lifespan(2):
            token = keycloak.password_grant(user)["access_token"]
        expires = jwt.decode(token, options={"verify_signature": False})["exp"]
        time.sleep(max(0.0, expires + 1 - time.time()))
        return token

    async def test_is_401_saying_sign_in_again(self, jp_fetch):
        code, message = await api_error(jp_fetch, "GET", "")
        assert code == 401
        assert "expired" in message
        assert "sign in again" in message.lower()

    async def test_the_session_says_where_to_sign_in_again_under_a_hub(self, jp_fetch, monkeypatch):
        """Without a Hub the 401 names no place to sign in; a server the Hub started (its
        environment) links to the Hub's login, coming back to JupyterLab."""
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("cs3lab", "api", "session")
        assert "sign_in_url" not in json.loads(info.value.response.body)
        monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")
        monkeypatch.setenv("JUPYTERHUB_BASE_URL", "/jhub/")
        monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/jhub/user/alice/")
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("cs3lab", "api", "session")
        body = json.loads(info.value.response.body)
        assert info.value.code == 401
        assert "sign in again" in body["message"].lower()
        assert body["sign_in_url"] == "/jhub/hub/login?next=/jhub/user/alice/lab"


class TestUserUnknownToTheSite:
    @pytest.fixture
    def access_token(self, keycloak) -> str:
        """A valid token of mallory, whom the realm knows (idp_only_users of site-sso.json)
        and the site does not."""
        return keycloak.password_grant("mallory")["access_token"]

    async def test_is_401_naming_the_account(self, jp_fetch):
        code, message = await api_error(jp_fetch, "GET", "")
        assert code == 401
        assert "no account for mallory" in message


# -- pure logic: what the user is told when the site refuses a token ---------------------------


def unsigned(**claims) -> str:
    return jwt.encode(claims, "k" * 32, algorithm="HS256")


def test_refusal_of_an_expired_token_says_sign_in_again():
    token = unsigned(iss="https://sso", preferred_username="alice", exp=int(time.time()) - 5)
    message = describe_refused_bearer(token, "gw:1")
    assert "expired" in message and "sign in again" in message
    assert token not in message


def test_refusal_of_a_valid_token_names_issuer_and_account():
    token = unsigned(iss="https://sso", preferred_username="bob", exp=int(time.time()) + 60)
    message = describe_refused_bearer(token, "gw:1")
    assert "https://sso" in message and "no account for bob" in message
    assert "not a JWT" in describe_refused_bearer("opaque-token", "gw:1")
