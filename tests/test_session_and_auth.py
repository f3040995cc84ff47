"""The session endpoint, authentication modes, wrong credentials, an unreachable site, and
authorization: every cs3lab handler obeys jupyter_server's Authorizer."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from helpers import api, api_error, text_model
from jupyter_server.auth import Authorizer
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from nbformat.v4 import new_code_cell, new_notebook
from site_runner import free_port, sync_login
from tornado.httpclient import HTTPClientError
from tornado.routing import PathMatches, RuleRouter


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
        parts = route_parts(pattern, base)
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


async def test_every_state_changing_cs3lab_request_needs_xsrf_with_a_login_cookie(
    jp_fetch, jp_serverapp
):
    """A browser is signed in by a cookie, which another site's page can make it send: every
    cs3lab handler's POST, PUT, PATCH and DELETE is refused (403, XSRF) without the XSRF
    token, and the cookie itself is a valid sign-in (a GET with it alone works)."""
    token = jp_serverapp.identity_provider.token
    signed_in = await jp_fetch(
        "api", "status", params={"token": token}, headers={"Authorization": ""}
    )
    cookies = [c.split(";", 1)[0] for c in signed_in.headers.get_list("Set-Cookie")]
    login = "; ".join(c for c in cookies if not c.startswith("_xsrf="))
    assert login, signed_in.headers
    by_cookie = {"Authorization": "", "Cookie": login}
    session = await jp_fetch("cs3lab", "api", "session", headers=by_cookie)
    assert json.loads(session.body)["user"]["username"] == "alice"

    routes = cs3lab_routes(jp_serverapp.web_app)
    base = jp_serverapp.base_url
    tried = 0
    for pattern, handler in routes.items():
        parts = route_parts(pattern, base)
        for method in implemented(handler):
            if method == "GET":
                continue
            with pytest.raises(HTTPClientError) as info:
                await jp_fetch(
                    *parts,
                    method=method,
                    headers=by_cookie,
                    body=None if method == "DELETE" else "{}",
                    allow_nonstandard_methods=True,
                )
            body = info.value.response.body.decode() if info.value.response else ""
            assert info.value.code == 403 and "xsrf" in body.lower(), (pattern, method, body)
            tried += 1
    assert tried >= 15, tried


# Bodies a client may send by mistake (or on purpose): not JSON, not an object, wrong types,
# odd paths, fields of another endpoint.
BAD_BODIES = (
    "{",
    "[]",
    '"path"',
    "5",
    '{"path": 5}',
    '{"path": ["a"]}',
    '{"path": null}',
    '{"path": {"a": 1}}',
    '{"path": "a", "client": 5, "role": 5, "grantee": "bob"}',
    '{"path": "\\u0000x"}',
    '{"path": "../../../etc/passwd"}',
    '{"copy": 5, "path": "/etc/passwd"}',
)


@pytest.mark.sites("site-a", "site-n")
async def test_every_cs3lab_handler_answers_bad_bodies_with_a_client_error(jp_fetch, jp_serverapp):
    """Never a 500: a 4xx that says what is wrong (501 where the site has no such service)."""
    routes = cs3lab_routes(jp_serverapp.web_app)
    base = jp_serverapp.base_url
    answers = []
    for pattern, handler in routes.items():
        parts = route_parts(pattern, base)
        for method in implemented(handler):
            if method in ("GET", "DELETE"):
                continue
            for body in BAD_BODIES:
                with pytest.raises(HTTPClientError) as info:
                    await jp_fetch(*parts, method=method, body=body, allow_nonstandard_methods=True)
                code = info.value.code
                message = json.loads(info.value.response.body).get("message", "")
                answers.append(code)
                assert 400 <= code < 500 or code == 501, (pattern, method, body, code, message)
                assert message and "Traceback" not in message, (pattern, method, body)
    assert len(answers) >= 15 * len(BAD_BODIES)


# -- authorization: a restrictive Authorizer is obeyed by every cs3lab handler -------------

# POSTs that only read (everything else but GET changes something).
READING_POSTS = {"cs3lab/api/diff"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class RecordingAuthorizer(Authorizer):
    """Allows the actions in ``allowed`` (all of them until a test narrows it) and records
    each question it is asked: (method, path, action, resource)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.allowed = {"read", "write", "execute"}
        self.asked: list[tuple[str, str, str, str]] = []

    def is_authorized(self, handler, user, action: str, resource: str) -> bool:
        self.asked.append((handler.request.method, handler.request.path, action, resource))
        return action in self.allowed


def cs3lab_routes(web_app) -> dict[str, type]:
    """Every route under cs3lab/api the server has, however it was registered: its pattern
    and handler class, from tornado's routers."""

    def walk(router):
        for rule in router.rules:
            if isinstance(rule.target, RuleRouter):
                yield from walk(rule.target)
            elif isinstance(rule.matcher, PathMatches):
                pattern = rule.matcher.regex.pattern
                if "/cs3lab/api/" in pattern:
                    yield pattern.removesuffix("$"), rule.target

    return dict(walk(web_app.default_router))


def route_parts(pattern: str, base: str, sample: str = "some-id") -> list[str]:
    """A handler's route pattern as jp_fetch's URL parts, each capture group (an id) given
    ``sample``."""
    return re.sub(r"\([^)]*\)", sample, pattern.removeprefix(base)).strip("/").split("/")


def implemented(handler: type) -> list[str]:
    return [m for m in METHODS if getattr(handler, m.lower()) is not getattr(APIHandler, m.lower())]


async def cs3lab_call(jp_fetch, method: str, endpoint: str, body, params: dict):
    kwargs: dict = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("cs3lab", "api", *endpoint.split("/"), **kwargs)
    return json.loads(response.body) if response.body else None


def nb_model(source: str) -> dict:
    nb = new_notebook(cells=[new_code_cell(source, id="c0")])
    return {"type": "notebook", "format": "json", "content": nb}


class TestRestrictiveAuthorizer:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        jp_server_config.ServerApp.authorizer_class = RecordingAuthorizer
        return jp_server_config

    @pytest.fixture
    def authorizer(self, jp_serverapp) -> RecordingAuthorizer:
        assert isinstance(jp_serverapp.authorizer, RecordingAuthorizer)
        return jp_serverapp.authorizer

    async def test_every_handler_asks_the_authorizer_and_read_only_users_only_read(
        self, jp_fetch, jp_serverapp, authorizer
    ):
        routes = cs3lab_routes(jp_serverapp.web_app)
        apps = jp_serverapp.extension_manager.extension_apps["cs3lab"]
        base = jp_serverapp.base_url
        registered = {url_path_join(base, pattern) for app in apps for pattern, *_ in app.handlers}
        assert registered and registered <= set(routes)
        authorizer.allowed = {"read"}
        for pattern, handler in routes.items():
            resource = getattr(handler, "auth_resource", None)
            assert isinstance(resource, str) and resource, f"{handler.__name__}: auth_resource"
            route = pattern.removeprefix(base)
            parts = route_parts(pattern, base)
            for method in implemented(handler):
                authorizer.asked.clear()
                try:
                    response = await jp_fetch(
                        *parts, method=method, body=None if method in ("GET", "DELETE") else "{}"
                    )
                    code = response.code
                except HTTPClientError as err:
                    code = err.code
                asked = [(a, r) for m, p, a, r in authorizer.asked if "/cs3lab/api/" in p]
                reads = method == "GET" or (method == "POST" and route in READING_POSTS)
                expected = ("read" if reads else "write", resource)
                assert asked == [expected], (route, method, asked)
                if reads:
                    assert code != 403, (route, method)
                else:
                    assert code == 403, (route, method, code)

    async def test_read_only_user_creates_no_link_or_share_purges_nothing_merges_nothing(
        self, jp_fetch, authorizer, contents
    ):
        # Set up with every action allowed: a notebook, its copy (edited), a deleted file.
        await api(jp_fetch, "PUT", "a.ipynb", nb_model("x = 1"))
        copy = (await cs3lab_call(jp_fetch, "POST", "copies", {"path": "a.ipynb"}, {}))["path"]
        await api(jp_fetch, "PUT", copy, nb_model("x = 2"))
        await api(jp_fetch, "PUT", "gone.txt", text_model("in the bin"))
        await api(jp_fetch, "DELETE", "gone.txt")
        original = await contents.files.download(contents.cs3_path("a.ipynb"))

        authorizer.allowed = {"read"}
        link = {"path": "a.ipynb", "role": "viewer"}
        share = {"path": "a.ipynb", "grantee": {"type": "user", "name": "bob"}, "role": "viewer"}
        refused = [
            ("POST", "links", link, {}),
            ("POST", "shares", share, {}),
            ("DELETE", "recycle", None, {"all": "1"}),
            ("POST", "merge", {"copy": copy}, {}),
            ("POST", "locks", {"path": "a.ipynb", "client": "tab-1"}, {}),
        ]
        for method, endpoint, body, params in refused:
            with pytest.raises(HTTPClientError) as info:
                await cs3lab_call(jp_fetch, method, endpoint, body, params)
            assert info.value.code == 403, (method, endpoint)
            assert "not authorized" in json.loads(info.value.response.body)["message"]
        # Nothing changed in the storage; reading is still allowed.
        access = await cs3lab_call(jp_fetch, "GET", "shares", None, {"path": "a.ipynb"})
        assert (access["shares"], access["links"]) == ([], [])
        binned = (await cs3lab_call(jp_fetch, "GET", "recycle", None, {}))["items"]
        assert [item["path"] for item in binned] == ["gone.txt"]
        assert await contents.files.download(contents.cs3_path("a.ipynb")) == original
        lock = await cs3lab_call(jp_fetch, "GET", "locks", None, {"path": "a.ipynb"})
        assert lock["locked"] is False
        assert (await cs3lab_call(jp_fetch, "POST", "diff", {"copy": copy}, {}))["diff"]

        # The same requests pass once writing is allowed (the 403s were the authorizer's).
        authorizer.allowed = {"read", "write"}
        assert (await cs3lab_call(jp_fetch, "POST", "links", link, {}))["token"]
        assert (await cs3lab_call(jp_fetch, "DELETE", "recycle", None, {"all": "1"}))["purged"] == 1
        await cs3lab_call(jp_fetch, "POST", "merge", {"copy": copy}, {})
        assert await contents.files.download(contents.cs3_path("a.ipynb")) != original


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
    contents.files.cache.clear()  # the listing is asked of the site, not the cache
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
