"""JupyterHub end to end: docs/jupyterhub_config.py, GenericOAuthenticator against the
Keycloak realm, configurable-http-proxy, and cs3lab single-user servers in bearer mode on the
SSO site. Users sign in through the Hub's real login flow (an HTTP client following the
redirects to Keycloak's login form and posting it); their servers show their own CS3 homes,
and a lock on a shared notebook is seen by the person it was shared with."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from hub_runner import Hub, start_hub
from jupyter_client import BlockingKernelClient
from site_runner import sync_upload

from cs3lab.cs3.hub_tokens import renew_in

pytest.importorskip("jupyterhub", reason="the hub extra (pip install .[hub]) is not installed")
pytest.importorskip("oauthenticator", reason="the hub extra (pip install .[hub]) is not installed")

REPO = Path(__file__).resolve().parent.parent
SERVER_READY_SECONDS = 150
FORM = re.compile(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', re.S)


@pytest.fixture(scope="module")
def hub(keycloak, site_sso):
    running = start_hub(keycloak, site_sso)
    yield running
    running.stop()


class Browser:
    """One person's HTTP client with cookies: signs in through the Hub, uses her server."""

    def __init__(self, hub: Hub, username: str) -> None:
        self.hub = hub
        self.username = username
        self.http = requests.Session()

    def sign_in(self, password: str) -> None:
        """The Hub's login: /hub/oauth_login redirects to Keycloak's form; posting it comes
        back to /hub/oauth_callback, which signs her in to the Hub."""
        page = self.http.get(f"{self.hub.url}/hub/oauth_login", timeout=30)
        assert page.status_code == 200, page.text[:500]
        found = FORM.search(page.text)
        assert found, f"no Keycloak login form at {page.url}"
        # Keycloak's session cookies are Secure; browsers send them to http://127.0.0.1 too
        # (loopback is a secure context to them), requests does not unless told.
        for cookie in self.http.cookies:
            cookie.secure = False
        done = self.http.post(
            html.unescape(found.group(1)),
            data={"username": self.username, "password": password, "credentialId": ""},
            timeout=60,
        )
        assert done.url.startswith(self.hub.url), (done.url, done.status_code)
        assert self.http.cookies.get("jupyterhub-session-id"), "the Hub set no session"

    def start_server(self) -> None:
        """Ask the Hub for her server (GET /hub/spawn), then open JupyterLab in it: the
        server signs her in with the Hub (OAuth, followed here) and sets its cookies."""
        self.http.get(f"{self.hub.url}/hub/spawn", timeout=60)
        lab = f"{self.hub.url}/user/{self.username}/lab"
        deadline = time.monotonic() + SERVER_READY_SECONDS
        while time.monotonic() < deadline:
            page = self.http.get(lab, timeout=60)
            if page.status_code == 200 and page.url.startswith(lab):
                return
            assert self.hub.alive(), self.hub.log_tail()
            time.sleep(0.5)
        raise AssertionError(f"{self.username}'s server did not start:\n{self.hub.log_tail()}")

    def api(self, method: str, path: str, body=None) -> tuple[int, object]:
        """A REST call to her single-user server, with its XSRF cookie as a browser sends."""
        base = f"/user/{self.username}/"
        xsrf = next(
            (c.value for c in self.http.cookies if c.name == "_xsrf" and c.path.startswith(base)),
            "",
        )
        response = self.http.request(
            method,
            f"{self.hub.url}{base}{path}",
            json=body,
            headers={"X-XSRFToken": xsrf} if xsrf else {},
            timeout=60,
        )
        try:
            return response.status_code, response.json()
        except ValueError:
            return response.status_code, response.text


def notebook(text: str) -> dict:
    return {
        "type": "notebook",
        "format": "json",
        "content": {
            "cells": [{"cell_type": "markdown", "id": "c1", "metadata": {}, "source": text}],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
    }


def names(listing: dict) -> set[str]:
    return {entry["name"] for entry in listing["content"]}


def test_sign_in_through_the_hub_and_work_in_the_cs3_home(hub, keycloak, site_sso):
    tag = uuid.uuid4().hex[:6]
    sync_upload(site_sso, "alice", f"{site_sso.home('alice')}/alice-{tag}.txt", b"hers")
    sync_upload(site_sso, "bob", f"{site_sso.home('bob')}/bob-{tag}.txt", b"his")

    alice = Browser(hub, "alice")
    alice.sign_in(keycloak.password("alice"))
    alice.start_server()
    status, home = alice.api("GET", "api/contents/")
    assert status == 200, home
    assert f"alice-{tag}.txt" in names(home)
    assert f"bob-{tag}.txt" not in names(home)
    status, session = alice.api("GET", "cs3lab/api/session")
    assert status == 200 and session["user"]["username"] == "alice", session
    assert session["home"] == site_sso.home("alice")

    nb = f"plan-{tag}.ipynb"
    status, saved = alice.api("PUT", f"api/contents/{nb}", notebook("our plan"))
    assert status in (200, 201), saved
    status, lock = alice.api("POST", "cs3lab/api/locks", {"path": nb, "client": "alice-tab"})
    assert status == 200 and lock["locked"] and lock["mine"], lock
    status, share = alice.api(
        "POST", "cs3lab/api/shares", {"path": nb, "grantee": {"name": "bob"}, "role": "editor"}
    )
    assert status == 201, share

    bob = Browser(hub, "bob")
    bob.sign_in(keycloak.password("bob"))
    bob.start_server()
    status, home = bob.api("GET", "api/contents/")
    assert status == 200, home
    assert f"bob-{tag}.txt" in names(home)
    assert not {f"alice-{tag}.txt", nb} & names(home)
    status, shared = bob.api("GET", f"api/contents/Shared with me/{nb}")
    assert status == 200, shared
    assert shared["content"]["cells"][0]["source"] == "our plan"
    assert shared["writable"] is False  # alice holds the lock
    assert "alice" in json.dumps(shared["lock"]), shared["lock"]
    # Her access token is in her server's environment only, never in what the Hub serves.
    assert keycloak.client_secret not in hub.log_file.read_text(errors="replace")


ACCESS_TOKEN_SECONDS = 20  # the realm's access tokens in the next test (reva's: 20 s too)


def test_a_session_outlives_its_access_tokens(hub, keycloak, site_sso):
    """Access tokens of 20 s and reva tokens of 20 s: for a minute carol lists her home,
    saves her notebook and refreshes her lock without signing in again, and her notebook's
    kernel writes files into her home through the server's FUSE mount. Her server renews
    its reva token with the access token it got last from the Hub (cs3lab/cs3/hub_tokens.py),
    which the Hub renewed with her refresh token (docs/jupyterhub_config.py); the kernels'
    token file follows (cs3lab/fs/kernels.py)."""
    with keycloak.token_lifespan(ACCESS_TOKEN_SECONDS):
        carol = Browser(hub, "carol")
        carol.sign_in(keycloak.password("carol"))
        carol.start_server()
        folder = f"long-{uuid.uuid4().hex[:6]}"
        status, made = carol.api("PUT", f"api/contents/{folder}", {"type": "directory"})
        assert status == 201, made
        nb = f"{folder}/notes.ipynb"
        status, saved = carol.api("PUT", f"api/contents/{nb}", notebook("v0"))
        assert status in (200, 201), saved
        lock = {"path": nb, "client": "carol-tab"}
        status, held = carol.api("POST", "cs3lab/api/locks", lock)
        assert status == 200 and held["mine"], held
        kernel = HubKernel.start(hub, carol, nb)
        try:
            # The kernel runs in the notebook's folder of the mount of her home.
            where = kernel.value("[os.getcwd(), os.environ.get('CS3LAB_MOUNT_PROBLEM')]")
            assert where[0].endswith(f"/{folder}"), where
            started = time.monotonic()
            version = 0
            while time.monotonic() - started < 3 * ACCESS_TOKEN_SECONDS:
                version += 1
                status, home = carol.api("GET", "api/contents/")
                assert status == 200 and folder in names(home), (version, status, home)
                status, saved = carol.api("PUT", f"api/contents/{nb}", notebook(f"v{version}"))
                assert status == 200, (version, status, saved)
                status, held = carol.api("PUT", "cs3lab/api/locks", lock)
                assert status == 200 and held["mine"], (version, status, held)
                write = f"open('k{version}.txt', 'w').write('kernel {version}') and "
                written = kernel.value(write + f"open('k{version}.txt').read()")
                assert written == f"kernel {version}", (version, written)
                time.sleep(2)
        finally:
            kernel.close()
        status, model = carol.api("GET", f"api/contents/{nb}")
        assert model["content"]["cells"][0]["source"] == f"v{version}"
        # What the kernel wrote through the mount is in her CS3 home, every one of them.
        status, listing = carol.api("GET", f"api/contents/{folder}")
        assert status == 200, listing
        assert {f"k{n}.txt" for n in range(1, version + 1)} <= names(listing)
        status, last = carol.api("GET", f"api/contents/{folder}/k{version}.txt")
        assert status == 200 and last["content"] == f"kernel {version}", last


class HubKernel:
    """The kernel of a notebook session on a user's server under the Hub (the REST API through
    the Hub's proxy starts it), driven with jupyter_client over its connection file: the
    server is a local process of the Hub's spawner, its runtime folder under the user's
    home folder there."""

    def __init__(self, browser: Browser, session: dict, connection_file: Path) -> None:
        self.browser, self.session = browser, session
        self.client = BlockingKernelClient()
        self.client.load_connection_file(str(connection_file))
        self.client.start_channels(hb=False)
        self.client.wait_for_ready(timeout=120)

    @classmethod
    def start(cls, hub: Hub, browser: Browser, notebook_path: str) -> HubKernel:
        body = {
            "path": notebook_path,
            "type": "notebook",
            "name": "",
            "kernel": {"name": "python3"},
        }
        status, session = browser.api("POST", "api/sessions", body)
        assert status == 201, session
        name = f"kernel-{session['kernel']['id']}.json"
        found = list((hub.workdir / "users" / browser.username).rglob(name))
        assert found, f"no connection file {name} under the Hub's folder of {browser.username}"
        return cls(browser, session, found[0])

    def value(self, expression: str):
        """The value of a JSON-able Python expression, evaluated in the kernel."""
        out: list[str] = []

        def on_output(msg: dict) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))

        code = f"import json as _j, os; print(_j.dumps({expression}))"
        reply = self.client.execute_interactive(code, timeout=120, output_hook=on_output)
        text = "".join(out)
        assert reply["content"]["status"] == "ok", text + self.mount_log()
        return json.loads(text.strip().splitlines()[-1])

    def mount_log(self) -> str:
        """The end of the server's mount log (beside the kernels' token file)."""
        out: list[str] = []
        self.client.execute_interactive(
            "import os; print(os.environ.get('CS3LAB_SECRET_FILE', ''))",
            timeout=60,
            output_hook=lambda m: out.append(m["content"].get("text", "")),
        )
        log = Path("".join(out).strip()).parent / "mount.log"
        lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
        return "\n--- mount log ---\n" + "\n".join(lines[-40:])

    def close(self) -> None:
        self.client.stop_channels()
        self.browser.api("DELETE", f"api/sessions/{self.session['id']}")


def test_a_server_asks_the_hub_when_a_third_of_the_lifetime_is_left():
    now = 1_000_000.0
    token = _jwt(iat=int(now), exp=int(now) + 300)
    assert renew_in(token, now) == pytest.approx(200)
    assert renew_in(token, now + 250) == 0.0
    short = _jwt(iat=int(now), exp=int(now) + 6)
    assert renew_in(short, now) == pytest.approx(3)  # margin: at most half the lifetime


def _jwt(**claims) -> str:
    return jwt.encode(claims, "k" * 32, algorithm="HS256")


UI_SCRIPT = REPO / "ui-tests" / "hub-sign-in-again.mjs"
SSO_SESSION_SECONDS = 60  # the realm's single sign-on session in the next test


def test_when_the_sso_session_ends_jupyterlab_says_sign_in_again_and_keeps_the_edit(
    hub, keycloak, site_sso
):
    """carol's single sign-on session lasts a minute: afterwards the Hub cannot renew her
    tokens, and once her server's sign-in to the site has expired, JupyterLab says "sign in
    again" with a link to the Hub's login. What she typed meanwhile stays in the open
    notebook; she signs in again in another tab and saves it (ui-tests/hub-sign-in-again.mjs,
    in Chromium). carol has no server yet, so hers starts with tokens of this login, under
    these short lifetimes (bob's, from the first test, holds a 5-minute access token that his
    server renews only when a third of it is left: whether that fell inside this test's wait
    depended on how long the tests before took, and it failed now and then)."""
    if not shutil.which("node") or not (REPO / "ui-tests" / "node_modules").is_dir():
        pytest.fail("ui-tests/node_modules is missing: run `npm ci --prefix ui-tests`")
    shots = REPO / "tests" / "artifacts" / "ui"
    env = {
        **os.environ,
        "CS3LAB_HUB_URL": hub.url,
        "CS3LAB_USER": "carol",
        "CS3LAB_PASSWORD": keycloak.password("carol"),
        "CS3LAB_SCREENSHOT_DIR": str(shots),
        "CS3LAB_TIMEOUT_MS": "60000",
    }
    with keycloak.realm_settings(
        accessTokenLifespan=ACCESS_TOKEN_SECONDS,
        ssoSessionIdleTimeout=SSO_SESSION_SECONDS,
        ssoSessionMaxLifespan=SSO_SESSION_SECONDS,
    ):
        run = subprocess.run(
            ["node", str(UI_SCRIPT)], env=env, capture_output=True, text=True, timeout=600
        )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output + "\n--- hub log ---\n" + hub.log_tail(80)
    assert "PASS" in output
    assert keycloak.password("carol") not in output + hub.log_file.read_text(errors="replace")
