"""The session endpoint, authentication modes, wrong credentials, an unreachable site."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from helpers import api, api_error, text_model
from site_runner import free_port, sync_login
from tornado.httpclient import HTTPClientError


async def test_session_names_user_and_site(jp_fetch, site, home):
    response = await jp_fetch("cs3lab", "api", "session")
    session = json.loads(response.body)
    assert session["user"]["username"] == "alice"
    assert session["user"]["display_name"] == "Alice Anders"
    assert session["site"] == {"name": "site-a", "gateway": site.gateway}
    assert session["home"] == home
    assert "secret" not in response.body.decode().lower()
    assert site.password("alice") not in response.body.decode()


async def test_every_cs3lab_endpoint_requires_jupyter_auth(jp_fetch, jp_serverapp):
    apps = jp_serverapp.extension_manager.extension_apps["cs3lab"]
    patterns = [pattern for app in apps for pattern, *_ in app.handlers]
    assert patterns, "cs3lab registered no handlers"
    base = jp_serverapp.base_url
    for pattern in patterns:
        # A capture group of a pattern (an id) becomes a sample value.
        concrete = re.sub(r"\([^)]*\)", "some-id", pattern.removeprefix(base))
        parts = concrete.strip("/").split("/")
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            with pytest.raises(HTTPClientError) as info:
                await jp_fetch(
                    *parts,
                    method=method,
                    headers={"Authorization": ""},
                    allow_nonstandard_methods=True,
                    body=None if method in ("GET", "DELETE") else "{}",
                )
            assert info.value.code in (401, 403, 405), (pattern, method)


class TestWrongPassword:
    @pytest.fixture
    def jp_server_config(self, jp_server_config, tmp_path):
        wrong = tmp_path / "wrong-password"
        wrong.write_text("not-the-password")
        jp_server_config.CS3Connection.secret_file = str(wrong)
        return jp_server_config

    async def test_contents_and_session_are_401_with_a_clear_message(self, jp_fetch):
        code, message = await api_error(jp_fetch, "GET", "")
        assert code == 401
        assert "credentials" in message
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("cs3lab", "api", "session")
        assert info.value.code == 401
        assert "not-the-password" not in info.value.response.body.decode()


class TestUnknownUser:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        jp_server_config.CS3Connection.username = "mallory"
        return jp_server_config

    async def test_unknown_user_is_401(self, jp_fetch):
        code, _ = await api_error(jp_fetch, "GET", "")
        assert code == 401


class TestMissingSecret:
    @pytest.fixture
    def jp_server_config(self, jp_server_config, tmp_path):
        jp_server_config.CS3Connection.secret_file = str(tmp_path / "does-not-exist")
        return jp_server_config

    async def test_missing_secret_file_is_401_naming_the_file(self, jp_fetch, tmp_path):
        code, message = await api_error(jp_fetch, "GET", "")
        assert code == 401
        assert "secret file" in message


class TestUnreachableSite:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        jp_server_config.CS3Connection.gateway = f"127.0.0.1:{free_port()}"
        jp_server_config.CS3Connection.timeout = 3.0
        return jp_server_config

    async def test_unreachable_site_is_503(self, jp_fetch):
        code, message = await api_error(jp_fetch, "GET", "")
        assert code == 503
        assert "cannot be reached" in message
        with pytest.raises(HTTPClientError) as info:
            await jp_fetch("cs3lab", "api", "session")
        assert info.value.code == 503
        assert "cannot be reached" in json.loads(info.value.response.body)["message"]


class TestRevaToken:
    """auth_mode = token: a ready reva token, read from an environment variable."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config, site, monkeypatch):
        channel, _, metadata = sync_login(site, "bob")
        channel.close()
        monkeypatch.setenv("CS3LAB_TEST_TOKEN", dict(metadata)["x-access-token"])
        config = jp_server_config.CS3Connection
        config.auth_mode = "token"
        config.username = "bob"
        config.secret_file = ""
        config.secret_env = "CS3LAB_TEST_TOKEN"
        config.home = site.home("bob")
        return jp_server_config

    async def test_token_mode_signs_in_as_the_token_holder(self, jp_fetch):
        response = await jp_fetch("cs3lab", "api", "session")
        assert json.loads(response.body)["user"]["username"] == "bob"
        await api(jp_fetch, "PUT", "from-token.txt", text_model("ok"))
        assert (await api(jp_fetch, "GET", "from-token.txt"))["content"] == "ok"


async def test_expired_token_is_renewed_and_the_call_retried(jp_fetch, contents):
    await api(jp_fetch, "GET", "")
    # Replace the held token with one the gateway rejects, as after an expiry.
    contents.files.client.tokens.current.value = "not-a-valid-token"
    contents.files.client.tokens.current.expires_at = None
    model = await api(jp_fetch, "GET", "")
    assert model["type"] == "directory"
    assert contents.files.client.tokens.current.value != "not-a-valid-token"


async def test_site_going_away_mid_session_gives_503_then_recovers(jp_fetch, jp_serverapp):
    """A second revad, stopped under a running server, then started again on the same port."""
    import site_runner

    # Blocking gRPC (the site runner's readiness probe) must not run on the loop grpc.aio uses.
    other = await asyncio.to_thread(site_runner.start_site, "site-a.json")
    try:
        cm = jp_serverapp.contents_manager
        await cm.close()
        cm.connection.gateway = other.gateway
        cm.connection.home = other.home("alice")
        cm.connection.secret_file = str(other.secret_file("alice"))
        cm.connection.timeout = 3.0
        await api(jp_fetch, "PUT", "before.txt", text_model("safe"))
        other.process.kill()
        other.process.wait()
        code, message = await api_error(jp_fetch, "PUT", "before.txt", text_model("lost?"))
        assert code == 503
        assert "cannot be reached" in message
        restarted = await asyncio.to_thread(site_runner.restart_site, other)
        assert restarted.gateway == other.gateway
        assert (await api(jp_fetch, "GET", "before.txt"))["content"] == "safe"
    finally:
        other.stop()
