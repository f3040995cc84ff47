"""A public link opened in JupyterLab: read-only links are read-only (403 on save, nothing
written), wrong passwords and expired links are refused (401), editor links can save."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid

import nbformat
import pytest
from helpers import api, api_error, text_model
from site_runner import sync_mkdir, sync_public_link, sync_upload
from tornado.httpclient import HTTPClientError

NOTEBOOK = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))


@pytest.fixture
def shared_folder(site):
    """A folder of alice's with a notebook in it."""
    folder = f"{site.home('alice')}/pub-{uuid.uuid4().hex[:8]}"
    sync_mkdir(site, "alice", folder)
    sync_upload(site, "alice", f"{folder}/results.ipynb", NOTEBOOK.encode())
    return folder


def link_config(config, token: str, password_file: str = "") -> None:
    cs3 = config.CS3Connection
    cs3.auth_mode = "publiclink"
    cs3.username = token
    cs3.secret_file = password_file
    cs3.secret_env = "CS3LAB_NO_SUCH_VARIABLE"
    cs3.home = f"/public/{token}"


class TestViewerLink:
    @pytest.fixture
    def jp_server_config(self, jp_server_config, site, shared_folder, tmp_path):
        token = sync_public_link(site, "alice", shared_folder, password="open sesame")
        password = tmp_path / "link-password"
        password.write_text("open sesame")
        link_config(jp_server_config, token, str(password))
        return jp_server_config

    async def test_listing_and_reading_work_but_saving_is_403(
        self, jp_fetch, site, shared_folder, contents
    ):
        listing = await api(jp_fetch, "GET", "")
        assert [c["name"] for c in listing["content"]] == ["results.ipynb"]
        entry = listing["content"][0]
        assert entry["writable"] is False
        model = await api(jp_fetch, "GET", "results.ipynb")
        assert model["writable"] is False
        assert model["content"]["cells"][0]["source"] == "x = 1"

        changed = model["content"]
        changed["cells"][0]["source"] = "x = 2"
        code, message = await api_error(
            jp_fetch, "PUT", "results.ipynb", {"type": "notebook", "content": changed}
        )
        assert code == 403
        assert "results.ipynb" in message
        code, _ = await api_error(jp_fetch, "PUT", "new.txt", text_model("x"))
        assert code == 403
        code, _ = await api_error(jp_fetch, "DELETE", "results.ipynb")
        assert code == 403
        again = await api(jp_fetch, "GET", "results.ipynb")
        assert again["content"]["cells"][0]["source"] == "x = 1"

    async def test_session_shows_a_guest(self, jp_fetch):
        session = json.loads((await jp_fetch("cs3lab", "api", "session")).body)
        assert session["home"].startswith("/public/")
        assert session["user"]["username"] == ""  # a guest, not alice
        assert session["user"]["display_name"] == "Guest"


@pytest.fixture
def every_log(jp_serverapp, caplog):
    """Each log record of the test at DEBUG: Python's loggers and the Jupyter server's own
    (which does not pass its records on to the root logger)."""
    caplog.set_level(logging.DEBUG)
    server_log = jp_serverapp.log
    level = server_log.level
    server_log.addHandler(caplog.handler)
    server_log.setLevel(logging.DEBUG)
    yield caplog
    server_log.removeHandler(caplog.handler)
    server_log.setLevel(level)


async def refused_sign_in_hides(token: str, jp_fetch, every_log) -> None:
    """Signing in with ``token`` is refused (401) and the token is in no answer nor log."""
    code, message = await api_error(jp_fetch, "GET", "")
    assert code == 401
    assert "this public link" in message
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("cs3lab", "api", "session")
    assert info.value.code == 401
    assert token not in info.value.response.body.decode()
    assert token not in message
    logged = [(r.getMessage(), r.exc_text or "") for r in every_log.records]
    assert logged, "nothing was logged: the check would prove nothing"
    assert not [line for line in logged if token in line[0] or token in line[1]]


class TestWrongLinkPassword:
    @pytest.fixture
    def jp_server_config(self, jp_server_config, site, shared_folder, tmp_path):
        token = sync_public_link(site, "alice", shared_folder, password="right")
        wrong = tmp_path / "wrong"
        wrong.write_text("wrong")
        link_config(jp_server_config, token, str(wrong))
        return jp_server_config

    async def test_wrong_password_is_401(self, jp_fetch):
        code, message = await api_error(jp_fetch, "GET", "")
        assert code == 401
        assert "credentials" in message

    async def test_the_link_token_is_in_no_message_nor_log(self, jp_fetch, jp_serverapp, every_log):
        token = jp_serverapp.contents_manager.connection.username
        await refused_sign_in_hides(token, jp_fetch, every_log)


class TestUnknownLink:
    @pytest.fixture
    def jp_server_config(self, jp_server_config):
        link_config(jp_server_config, f"nosuchlink{uuid.uuid4().hex[:12]}")
        return jp_server_config

    async def test_an_unknown_link_is_401_and_its_token_in_no_message_nor_log(
        self, jp_fetch, jp_serverapp, every_log
    ):
        token = jp_serverapp.contents_manager.connection.username
        await refused_sign_in_hides(token, jp_fetch, every_log)


class TestExpiredLink:
    @pytest.fixture
    def jp_server_config(self, jp_server_config, site, shared_folder):
        token = sync_public_link(site, "alice", shared_folder, expires_at=time.time() + 2)
        time.sleep(3)
        link_config(jp_server_config, token)
        return jp_server_config

    async def test_expired_link_is_401(self, jp_fetch):
        code, _ = await api_error(jp_fetch, "GET", "")
        assert code == 401


class TestEditorLink:
    @pytest.fixture
    def jp_server_config(self, jp_server_config, site, shared_folder):
        link_config(jp_server_config, sync_public_link(site, "alice", shared_folder, editor=True))
        return jp_server_config

    async def test_editor_link_can_save(self, jp_fetch):
        listing = await api(jp_fetch, "GET", "")
        assert listing["content"][0]["writable"] is True
        await api(jp_fetch, "PUT", "from-guest.txt", text_model("hello from a link"))
        assert (await api(jp_fetch, "GET", "from-guest.txt"))["content"] == "hello from a link"


def link_sign_in(site, token: str, password: str):
    """Sign in with a public link as an anonymous client of the gateway (no cs3lab): the
    status code, and the token when it worked."""
    import grpc
    from cs3.gateway.v1beta1 import gateway_api_pb2 as gw
    from cs3.gateway.v1beta1 import gateway_api_pb2_grpc as gw_grpc

    with grpc.insecure_channel(site.gateway) as channel:
        stub = gw_grpc.GatewayAPIStub(channel)
        request = gw.AuthenticateRequest(
            type="publicshares", client_id=token, client_secret=f"password|{password}"
        )
        answer = stub.Authenticate(request, timeout=10)
    return answer.status.code, answer.token


def link_upload_refused(site, reva_token: str, link_token: str) -> str:
    """An anonymous write through a link, straight to the gateway: how it was refused
    ("" if it was not)."""
    import grpc
    from cs3.gateway.v1beta1 import gateway_api_pb2_grpc as gw_grpc
    from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
    from cs3.storage.provider.v1beta1 import resources_pb2 as res

    metadata = (("x-access-token", reva_token),)
    ref = res.Reference(path=f"/public/{link_token}/results.ipynb")
    with grpc.insecure_channel(site.gateway) as channel:
        stub = gw_grpc.GatewayAPIStub(channel)
        try:
            answer = stub.InitiateFileUpload(
                sp.InitiateFileUploadRequest(ref=ref), metadata=metadata, timeout=10
            )
        except grpc.RpcError as err:  # the token's scope does not allow it
            return f"{err.code().name}: {err.details()}"
    return "" if answer.status.code == 1 else f"status {answer.status.code}"


async def test_a_links_password_expiry_and_role_are_the_storages_not_only_the_uis(jp_fetch, site):
    """A link made through cs3lab's API, then used by an anonymous gateway client that
    never meets cs3lab: the site itself refuses a wrong password, writes through a viewer
    link, and the link once it has expired."""
    from datetime import datetime, timedelta, timezone

    ok = 1  # cs3.rpc.v1beta1.Code.CODE_OK
    await api(jp_fetch, "PUT", "pub", {"type": "directory"})
    await api(
        jp_fetch,
        "PUT",
        "pub/results.ipynb",
        {"type": "file", "format": "text", "content": NOTEBOOK},
    )
    password = f"pw-{uuid.uuid4().hex[:8]}"
    soon = datetime.now(timezone.utc) + timedelta(seconds=6)
    response = await jp_fetch(
        "cs3lab",
        "api",
        "links",
        method="POST",
        body=json.dumps(
            {
                "path": "pub",
                "role": "viewer",
                "password": password,
                "expiration": soon.isoformat(),
            }
        ),
    )
    link = json.loads(response.body)
    assert password not in response.body.decode()
    token = link["token"]

    assert link_sign_in(site, token, "wrong")[0] != ok
    assert link_sign_in(site, token, "")[0] != ok
    code, reva_token = link_sign_in(site, token, password)
    assert code == ok
    assert link_upload_refused(site, reva_token, token)  # a viewer link writes nothing

    await asyncio.sleep((soon - datetime.now(timezone.utc)).total_seconds() + 1)
    assert link_sign_in(site, token, password)[0] != ok
