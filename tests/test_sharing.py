"""Sharing within one site through cs3lab's REST API: find people, share with users and
groups with EFSS roles, shared with me / by me, change role, revoke, public links opened by
an anonymous client over the site's WebDAV endpoint, and the errors a user can cause.

Site A (Reva v3, local driver) keeps shares and links but its driver enforces no
permissions; what a share allows is checked on site N (Reva v2, decomposedfs), which
enforces the grants a share writes into the storage."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import pytest
from cs3.storage.provider.v1beta1 import provider_api_pb2 as sp
from cs3.storage.provider.v1beta1 import resources_pb2 as res
from helpers import api
from lockers import user_files
from servers import start_server
from site_runner import sync_mkdir, sync_upload
from tornado.httpclient import HTTPClientError

from cs3lab.cs3.errors import NotFound, PermissionDenied
from cs3lab.sharing import roles
from cs3lab.sharing.service import SharingService

V3_VIEWER = sorted(roles.TABLES["reva-v3"][("viewer", True)])
V3_EDITOR = sorted(roles.TABLES["reva-v3"][("editor", True)])
V3_FILE_EDITOR = sorted(roles.TABLES["reva-v3"][("editor", False)])


async def call(jp_fetch, method: str, *parts: str, body=None, **params):
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("cs3lab", "api", *parts, **kwargs)
    return response.code, (json.loads(response.body) if response.body else None)


async def refused(jp_fetch, method: str, *parts: str, body=None, **params):
    with pytest.raises(HTTPClientError) as info:
        await call(jp_fetch, method, *parts, body=body, **params)
    err = info.value
    return err.code, json.loads(err.response.body)["message"]


@pytest.fixture
def jp_server_config(jp_server_config, site):
    jp_server_config.CS3Sharing.public_link_base = f"http://127.0.0.1:{site.http_port}/s/"
    jp_server_config.CS3Sharing.role_set = "reva-v2" if site.reva == "v2" else "reva-v3"
    return jp_server_config


@pytest.fixture(scope="module")
def bob(site_a, tmp_path_factory):
    """Bob's own Jupyter server on site A, rooted at his home."""
    server = start_server(site_a, "bob", site_a.home("bob"), tmp_path_factory.mktemp("bob"))
    yield server
    server.stop()


@pytest.fixture
def project(site, home):
    """A folder of alice's (in this test's JupyterLab root) with a text file in it."""
    name = f"proj-{uuid.uuid4().hex[:6]}"
    sync_mkdir(site, "alice", f"{home}/{name}")
    sync_upload(site, "alice", f"{home}/{name}/notes.txt", b"original")
    return name


async def share_with_bob(jp_fetch, path: str, role: str) -> dict:
    body = {"path": path, "grantee": {"type": "user", "name": "bob"}, "role": role}
    code, share = await call(jp_fetch, "POST", "shares", body=body)
    assert code == 201, share
    return share


def received_by(server, share_id: str) -> dict | None:
    status, body = server.request("GET", "cs3lab/api/shares/received")
    assert status == 200, body
    return next((s for s in body["shares"] if s["id"] == share_id), None)


# -- people -------------------------------------------------------------------------------


async def test_find_users_and_groups(jp_fetch):
    for query in ("bob", "Berger", "bob@site-a.cs3lab.test"):
        _, found = await call(jp_fetch, "GET", "sharing", "users", q=query)
        assert [u["username"] for u in found["users"]] == ["bob"], query
        assert found["users"][0]["display_name"] == "Bob Berger"
    _, found = await call(jp_fetch, "GET", "sharing", "users", q="nobody-like-this")
    assert found == {"users": []}
    _, carol = await call(jp_fetch, "GET", "sharing", "users", "carol")
    assert carol["mail"] == "carol@site-a.cs3lab.test"
    assert await refused(jp_fetch, "GET", "sharing", "users", "nobody") == (
        404,
        "No user 'nobody' on this site",
    )
    _, groups = await call(jp_fetch, "GET", "sharing", "groups", q="analy")
    assert [g["name"] for g in groups["groups"]] == ["analysis"]
    _, group = await call(jp_fetch, "GET", "sharing", "groups", "physics")
    assert group["display_name"] == "Physics"
    assert (await refused(jp_fetch, "GET", "sharing", "groups", "nogroup"))[0] == 404
    assert (await refused(jp_fetch, "GET", "sharing", "users", q=""))[0] == 400


# -- user and group shares (site A) ---------------------------------------------------------


async def test_share_folder_with_bob_then_change_role_and_revoke(jp_fetch, project, home, bob):
    share = await share_with_bob(jp_fetch, project, "viewer")
    assert share["role"] == "viewer"
    assert share["permissions"] == V3_VIEWER  # Reva v3's NewViewerRole, bit for bit
    assert share["grantee"]["username"] == "bob"
    assert share["resource"]["path"] == project
    assert share["id"].startswith("local:")

    # Who has access; the listing badge comes with the listing.
    _, access = await call(jp_fetch, "GET", "shares", path=project)
    assert access["links_available"] is True and access["shares_available"] is True
    assert [s["grantee"]["username"] for s in access["shares"]] == ["bob"]
    listing = await api(jp_fetch, "GET", "")
    entry = next(c for c in listing["content"] if c["name"] == project)
    assert entry["share"] == {
        "shared": True,
        "users": 1,
        "groups": 0,
        "links": 0,
        "roles": ["viewer"],
    }
    # The folder's own model (without content) says the same, key for key (jupyter_server's
    # contract: a listing entry is the model of the entry without content).
    assert await api(jp_fetch, "GET", project, content="0") == entry

    # Bob's server: "Shared with me" (Reva v3 accepts user shares at once).
    mine = received_by(bob, share["id"])
    assert mine is not None
    assert mine["state"] == "accepted"
    assert mine["role"] == "viewer"
    assert mine["owner"]["username"] == "alice"
    assert mine["resource"]["cs3_path"] == f"{home}/{project}"

    code, changed = await call(jp_fetch, "PATCH", "shares", share["id"], body={"role": "editor"})
    assert changed["role"] == "editor"
    assert changed["permissions"] == V3_EDITOR
    assert received_by(bob, share["id"])["role"] == "editor"

    code, _ = await call(jp_fetch, "DELETE", "shares", share["id"])
    assert code == 204
    assert received_by(bob, share["id"]) is None
    _, access = await call(jp_fetch, "GET", "shares", path=project)
    assert access["shares"] == []
    listing = await api(jp_fetch, "GET", "")
    # The listing's share state is reused for a few seconds; own changes reset it.
    assert next(c for c in listing["content"] if c["name"] == project)["share"] is None


async def test_file_share_uses_the_file_editor_permissions(jp_fetch, project):
    code, share = await call(
        jp_fetch,
        "POST",
        "shares",
        body={"path": f"{project}/notes.txt", "grantee": {"name": "carol"}, "role": "editor"},
    )
    assert code == 201
    assert share["role"] == "editor"
    # cs3lab sends Reva v3's file-editor set (no delete/move/mkdir on a single file); the
    # site's SQL share manager stores OCS bits and reads them back as the editor role.
    assert set(V3_FILE_EDITOR) <= set(share["permissions"])
    assert share["resource"]["type"] == "file"
    code, message = await refused(
        jp_fetch,
        "POST",
        "shares",
        body={"path": f"{project}/notes.txt", "grantee": {"name": "bob"}, "role": "uploader"},
    )
    assert (code, message) == (400, "The uploader role is for folders only")


async def test_group_share_reaches_every_member(jp_fetch, project, site, bob):
    code, share = await call(
        jp_fetch,
        "POST",
        "shares",
        body={"path": project, "grantee": {"type": "group", "name": "analysis"}, "role": "viewer"},
    )
    assert code == 201
    assert share["grantee"] == {
        "type": "group",
        "name": "analysis",
        "display_name": "Analysis Team",
        "mail": "analysis@groups.invalid",
        "id": {"idp": "http://127.0.0.1", "opaque_id": "analysis"},
    }
    assert received_by(bob, share["id"]) is not None  # bob is in "analysis"
    for username, member in (("carol", True), ("alice", False)):
        files = user_files(site, username)
        try:
            service = SharingService(files, home=site.home(username))
            ids = [s["id"] for s in await service.received()]
        finally:
            files.close()
            await files.client.close()
        assert (share["id"] in ids) is member, username
    await call(jp_fetch, "DELETE", "shares", share["id"])


async def test_shared_by_me_lists_shares_and_links(jp_fetch, project):
    _, share = await call(
        jp_fetch,
        "POST",
        "shares",
        body={"path": project, "grantee": {"name": "carol"}, "role": "editor"},
    )
    _, link = await call(jp_fetch, "POST", "links", body={"path": project, "role": "viewer"})
    _, mine = await call(jp_fetch, "GET", "shares")
    by_id = {s["id"]: s for s in mine["shares"]}
    assert by_id[share["id"]]["resource"]["path"] == project
    assert by_id[share["id"]]["role"] == "editor"
    assert link["id"] in {x["id"] for x in mine["links"]}
    for s in (share,):
        await call(jp_fetch, "DELETE", "shares", s["id"])
    await call(jp_fetch, "DELETE", "links", link["id"])


# -- errors -------------------------------------------------------------------------------


async def test_errors_a_user_can_cause(jp_fetch, project):
    def share(**body):
        return {"path": project, "grantee": {"name": "bob"}, "role": "viewer", **body}

    assert await refused(jp_fetch, "POST", "shares", body=share(grantee={"name": "nobody"})) == (
        404,
        "No user 'nobody' on this site",
    )
    assert await refused(
        jp_fetch, "POST", "shares", body=share(grantee={"type": "group", "name": "nogroup"})
    ) == (404, "No group 'nogroup' on this site")
    assert (await refused(jp_fetch, "POST", "shares", body=share(path="missing")))[0] == 404
    assert (await refused(jp_fetch, "POST", "shares", body=share(role="owner")))[0] == 400
    assert await refused(jp_fetch, "POST", "shares", body=share(grantee={"name": "alice"})) == (
        400,
        "You cannot share with yourself",
    )
    _, made = await call(jp_fetch, "POST", "shares", body=share())
    code, message = await refused(jp_fetch, "POST", "shares", body=share())
    assert code == 409
    assert "already exists" in message and "bob" in message
    assert (await refused(jp_fetch, "PATCH", "shares", "local:999999", body={"role": "editor"}))[
        0
    ] == 404
    assert (await refused(jp_fetch, "DELETE", "shares", "bogus"))[0] == 404
    await call(jp_fetch, "DELETE", "shares", made["id"])

    def link(**body):
        return {"path": project, "role": "viewer", **body}

    code, message = await refused(jp_fetch, "POST", "links", body=link(expiration="next week"))
    assert code == 400 and "is not a date" in message
    code, message = await refused(jp_fetch, "POST", "links", body=link(expiration="2001-01-01"))
    assert code == 400 and "in the past" in message
    code, message = await refused(jp_fetch, "POST", "links", body=link(password=""))
    assert code == 400 and "password is empty" in message
    _, links = await call(jp_fetch, "GET", "links", path=project)
    assert links == {"links": []}  # nothing was created by the refused requests


class TestGuestMayNotShare:
    """A guest of a read-only public link (a server signed in with the link) may not share."""

    @pytest.fixture
    def jp_server_config(self, jp_server_config, site, tmp_path):
        from site_runner import sync_mkdir, sync_public_link

        folder = f"{site.home('alice')}/guest-{uuid.uuid4().hex[:6]}"
        sync_mkdir(site, "alice", f"{folder}/inner")
        token = sync_public_link(site, "alice", folder)
        cs3 = jp_server_config.CS3Connection
        cs3.auth_mode, cs3.username, cs3.home = "publiclink", token, f"/public/{token}"
        cs3.secret_file, cs3.secret_env = "", "CS3LAB_NO_SUCH_VARIABLE"
        return jp_server_config

    async def test_403(self, jp_fetch):
        code, message = await refused(
            jp_fetch,
            "POST",
            "shares",
            body={"path": "inner", "grantee": {"name": "bob"}, "role": "viewer"},
        )
        assert code == 403
        assert "You may not share" in message and "inner" in message


# -- public links -------------------------------------------------------------------------


def dav(site, token: str) -> str:
    return f"http://127.0.0.1:{site.http_port}/remote.php/dav/public-files/{token}"


async def test_public_link_with_password_and_expiry(jp_fetch, project, site):
    expiry = (datetime.now(timezone.utc) + timedelta(days=3)).replace(microsecond=0)
    code, link = await call(
        jp_fetch,
        "POST",
        "links",
        body={
            "path": project,
            "role": "viewer",
            "password": "s3cret pass",
            "expiration": expiry.isoformat(),
            "name": "for the review",
        },
    )
    assert code == 201
    assert link["password_protected"] is True
    assert "s3cret pass" not in json.dumps(link)  # the password never comes back
    assert link["expiration"] == expiry.isoformat().replace("+00:00", "Z")
    assert link["url"] == f"http://127.0.0.1:{site.http_port}/s/{link['token']}"
    assert link["role"] == "viewer"
    _, listed = await call(jp_fetch, "GET", "links", path=project)
    assert [x["id"] for x in listed["links"]] == [link["id"]]
    assert "s3cret pass" not in json.dumps(listed)

    base = dav(site, link["token"])
    async with httpx.AsyncClient(timeout=30) as anonymous:
        read = await anonymous.get(f"{base}/notes.txt", auth=("public", "s3cret pass"))
        assert (read.status_code, read.text) == (200, "original")
        wrong = await anonymous.get(f"{base}/notes.txt", auth=("public", "guess"))
        assert wrong.status_code == 401
        none = await anonymous.get(f"{base}/notes.txt")
        assert none.status_code == 401
        # Read-only: a write is refused and nothing is written.
        put = await anonymous.put(f"{base}/new.txt", content=b"x", auth=("public", "s3cret pass"))
        assert put.status_code >= 400
        over = await anonymous.put(
            f"{base}/notes.txt", content=b"changed", auth=("public", "s3cret pass")
        )
        assert over.status_code >= 400
    listing = await api(jp_fetch, "GET", project)
    assert sorted(c["name"] for c in listing["content"]) == ["notes.txt"]
    assert (await api(jp_fetch, "GET", f"{project}/notes.txt"))["content"] == "original"

    # Update: editor role, a new password. Then the anonymous client can write.
    _, updated = await call(
        jp_fetch, "PATCH", "links", link["id"], body={"role": "editor", "password": "new one"}
    )
    assert updated["role"] == "editor" and updated["password_protected"] is True
    async with httpx.AsyncClient(timeout=30) as anonymous:
        old = await anonymous.get(f"{base}/notes.txt", auth=("public", "s3cret pass"))
        assert old.status_code == 401
        put = await anonymous.put(f"{base}/new.txt", content=b"hello", auth=("public", "new one"))
        assert put.status_code in (200, 201, 204), put.text
    assert (await api(jp_fetch, "GET", f"{project}/new.txt"))["content"] == "hello"

    # Delete: gone for everyone.
    code, _ = await call(jp_fetch, "DELETE", "links", link["id"])
    assert code == 204
    async with httpx.AsyncClient(timeout=30) as anonymous:
        gone = await anonymous.get(f"{base}/notes.txt", auth=("public", "new one"))
        assert gone.status_code in (401, 404)
    _, listed = await call(jp_fetch, "GET", "links", path=project)
    assert listed == {"links": []}


async def test_expired_link_is_refused(jp_fetch, project, site):
    soon = datetime.now(timezone.utc) + timedelta(seconds=3)
    _, link = await call(
        jp_fetch,
        "POST",
        "links",
        body={"path": project, "role": "viewer", "expiration": soon.isoformat()},
    )
    assert link["password_protected"] is False
    base = dav(site, link["token"])
    async with httpx.AsyncClient(timeout=30) as anonymous:
        ok = await anonymous.get(f"{base}/notes.txt", auth=("public", ""))
        assert ok.status_code == 200
        await asyncio.sleep(max(0.0, soon.timestamp() - time.time()) + 1.5)
        late = await anonymous.get(f"{base}/notes.txt", auth=("public", ""))
        assert late.status_code in (401, 404)
        assert late.text != "original"


# -- enforcement by the storage (site N: decomposedfs enforces share grants) ------------------


@pytest.mark.sites("site-n")
async def test_viewer_share_is_read_only_in_the_storage(jp_fetch, project, site, home, tmp_path):
    code, share = await call(
        jp_fetch,
        "POST",
        "shares",
        body={"path": project, "grantee": {"name": "bob"}, "role": "viewer"},
    )
    assert code == 201
    assert share["permissions"] == sorted(roles.TABLES["reva-v2"][("viewer", True)])

    server = start_server(site, "bob", site.home("bob"), tmp_path / "bob")
    files = user_files(site, "bob")
    try:
        # Reva v2 keeps a new share pending until the recipient accepts it.
        pending = received_by(server, share["id"])
        assert pending["state"] == "pending"
        assert pending["owner"]["username"] == "alice"
        status, accepted = server.request(
            "PATCH", f"cs3lab/api/shares/received/{share['id']}", {"state": "accepted"}
        )
        assert status == 200, accepted
        assert accepted["state"] == "accepted"
        assert accepted["mount_point"] == project
        assert received_by(server, share["id"])["state"] == "accepted"

        folder = res.Reference(resource_id=res.ResourceId(**share["resource_id"]))
        notes = res.Reference(resource_id=folder.resource_id, path="./notes.txt")
        stat = await files.client.call("Stat", sp.StatRequest(ref=notes), "notes.txt")
        assert stat.info.permission_set.initiate_file_download
        assert not stat.info.permission_set.initiate_file_upload
        # Bob opens it (download by reference) ...
        opened = await files.client.call(
            "InitiateFileDownload", sp.InitiateFileDownloadRequest(ref=notes), "notes.txt"
        )
        assert opened.protocols
        # ... and his save is refused by the storage: 403, nothing written.
        with pytest.raises(PermissionDenied) as refusal:
            await files.client.call(
                "InitiateFileUpload", sp.InitiateFileUploadRequest(ref=notes), "notes.txt"
            )
        assert refusal.value.http_status == 403
        assert (await api(jp_fetch, "GET", f"{project}/notes.txt"))["content"] == "original"

        # Editor: the storage now lets him write.
        _, changed = await call(jp_fetch, "PATCH", "shares", share["id"], body={"role": "editor"})
        assert changed["role"] == "editor"
        stat = await files.client.call("Stat", sp.StatRequest(ref=notes), "notes.txt")
        assert stat.info.permission_set.initiate_file_upload
        await files.client.call(
            "InitiateFileUpload", sp.InitiateFileUploadRequest(ref=notes), "notes.txt"
        )

        # Revoked: bob loses access.
        await call(jp_fetch, "DELETE", "shares", share["id"])
        with pytest.raises(NotFound):
            await files.client.call("Stat", sp.StatRequest(ref=folder), project)
        assert received_by(server, share["id"]) is None
    finally:
        server.stop()
        files.close()
        await files.client.close()


async def test_received_share_declined_then_accepted_again_opens_in_shared_with_me(
    jp_fetch, project, home, bob
):
    """Site A mounts no share jail: cs3lab shows bob's accepted shares in his file browser's
    "Shared with me" folder. A declined share leaves it; accepted again, it is back."""
    share = await share_with_bob(jp_fetch, project, "viewer")
    mine = received_by(bob, share["id"])
    assert mine["state"] == "accepted" and mine["resource"]["path"] == f"Shared with me/{project}"
    status, listed = bob.request("GET", "api/contents/Shared%20with%20me")
    assert status == 200, listed
    assert project in [e["name"] for e in listed["content"]]
    status, opened = bob.request("GET", f"api/contents/Shared%20with%20me/{project}")
    assert status == 200 and opened["type"] == "directory", opened
    # Viewer: read-only, refused by cs3lab itself (Reva v3's local driver would not refuse).
    notes = f"api/contents/Shared%20with%20me/{project}/notes.txt"
    status, model = bob.request("GET", notes)
    assert status == 200 and model["content"] == "original" and model["writable"] is False
    status, body = bob.request("PUT", notes, {"type": "file", "format": "text", "content": "x"})
    assert status == 403 and "read-only" in body["message"], body
    status, body = bob.request("DELETE", notes)
    assert status == 403, body
    assert (await api(jp_fetch, "GET", f"{project}/notes.txt"))["content"] == "original"

    for state in ("declined", "accepted"):
        status, body = bob.request(
            "PATCH", f"cs3lab/api/shares/received/{share['id']}", {"state": state}
        )
        assert status == 200 and body["state"] == state, body
        assert received_by(bob, share["id"])["state"] == state
        status, listed = bob.request("GET", "api/contents/Shared%20with%20me")
        names = [e["name"] for e in listed["content"]] if status == 200 else []
        assert (project in names) == (state == "accepted"), (state, status, listed)
    code, _ = await call(jp_fetch, "DELETE", "shares", share["id"])
    assert code == 204


# -- read-only shares where the storage does not enforce them (site A) ---------------------


async def owner_state(contents, folder: str) -> dict[str, tuple[str, int]]:
    """What the owner has in ``folder``: every entry (hidden ones too: lock markers,
    checkpoint copies) with its etag, and how many versions each file keeps."""
    root = f"{contents.home}/{folder}"
    seen: dict[str, tuple[str, int]] = {}
    level = [""]
    while level:
        rel = level.pop()
        for entry in await contents.files.list(f"{root}/{rel}" if rel else root):
            name = entry.path.rstrip("/").rsplit("/", 1)[-1]
            child = f"{rel}/{name}" if rel else name
            if entry.type == res.RESOURCE_TYPE_CONTAINER:
                level.append(child)
                seen[child] = ("folder", 0)
            else:
                versions = await contents.files.list_versions(f"{root}/{child}")
                seen[child] = (entry.etag, len(versions))
    return seen


async def test_every_write_below_a_read_only_share_is_refused_where_the_storage_allows_it(
    jp_fetch, contents, project, site, home, bob
):
    """Alice shares a folder with bob as viewer on site A, whose storage would let him write
    into it. Each way bob's JupyterLab can write there is refused by cs3lab (403), and
    alice's files are as they were: no content, no version, no entry more or less."""
    sync_mkdir(site, "alice", f"{home}/{project}/sub")
    sync_upload(site, "alice", f"{home}/{project}/notes.txt", b"original, v2")  # a version
    share = await share_with_bob(jp_fetch, project, "viewer")
    before = await owner_state(contents, project)

    mine = f"mine-{project}"  # bob's own folder and file, to copy and move into the share
    text = {"type": "file", "format": "text", "content": "bob was here"}
    for path, model in ((mine, {"type": "directory"}), (f"{mine}/a.txt", text)):
        assert bob.request("PUT", f"api/contents/{path}", model)[0] == 201
    shared, api_shared = f"{quote('Shared with me')}/{project}", f"Shared with me/{project}"
    status, opened = bob.request("GET", f"api/contents/{shared}")
    assert status == 200 and opened["writable"] is False, opened
    status, checkpoints = bob.request("GET", f"api/contents/{shared}/notes.txt/checkpoints")
    assert status == 200 and checkpoints, checkpoints
    version = checkpoints[0]["id"]
    status, made = bob.request("POST", "cs3lab/api/copies", {"path": f"{api_shared}/notes.txt"})
    assert status == 201, made  # a copy of bob's own: reading is allowed
    status, _ = bob.request("PUT", f"api/contents/{quote(made['path'])}", text)
    assert status == 200

    contents_api = f"api/contents/{shared}"
    refused = {
        "save over a file": ("PUT", f"{contents_api}/notes.txt", text),
        "new file": ("PUT", f"{contents_api}/new.txt", text),
        "new folder": ("PUT", f"{contents_api}/newdir", {"type": "directory"}),
        "new untitled": ("POST", contents_api, {"type": "file"}),
        "chunked upload": ("PUT", f"{contents_api}/big.bin", {**text, "chunk": 1}),
        "copy a file in": ("POST", contents_api, {"copy_from": f"{mine}/a.txt"}),
        "copy a folder in": ("POST", contents_api, {"copy_from": mine}),
        "copy a folder inside": ("POST", contents_api, {"copy_from": f"{api_shared}/sub"}),
        "rename inside": ("PATCH", f"{contents_api}/notes.txt", {"path": f"{api_shared}/n.txt"}),
        "move in": ("PATCH", f"api/contents/{mine}/a.txt", {"path": f"{api_shared}/a.txt"}),
        "move out": ("PATCH", f"{contents_api}/notes.txt", {"path": f"{mine}/n.txt"}),
        "delete a file": ("DELETE", f"{contents_api}/notes.txt", None),
        "delete a folder": ("DELETE", f"{contents_api}/sub", None),
        "create a checkpoint": ("POST", f"{contents_api}/notes.txt/checkpoints", {}),
        "restore a checkpoint": ("POST", f"{contents_api}/notes.txt/checkpoints/{version}", {}),
        "restore a version": (
            "POST",
            "cs3lab/api/versions",
            {"path": f"{api_shared}/notes.txt", "id": version},
        ),
        "copy into it": (
            "POST",
            "cs3lab/api/copies",
            {"path": f"{mine}/a.txt", "destination": f"{api_shared}/copy.txt"},
        ),
        "merge a copy back": ("POST", "cs3lab/api/merge", {"copy": made["path"]}),
    }
    # Nor does opening a file take its write lock (a marker in alice's folder, which would
    # lock her out of her own file): 501 with the reason, as where cs3lab takes no lock.
    lock = {"path": f"{api_shared}/notes.txt", "client": "bob-tab"}
    try:
        answers = {what: bob.request(*request) for what, request in refused.items()}
        wrong = {
            what: answer
            for what, answer in answers.items()
            if answer[0] != 403 or "read-only" not in str(answer[1])
        }
        assert not wrong, "; ".join(f"{w}: {a[0]}" for w, a in wrong.items())  # all at once
        status, answer = bob.request("POST", "cs3lab/api/locks", lock)
        assert status == 501 and "read-only" in answer["message"], answer
    finally:
        for path in (mine, made["path"]):
            bob.request("DELETE", f"api/contents/{quote(path)}")
        await call(jp_fetch, "DELETE", "shares", share["id"])

    assert await owner_state(contents, project) == before
    assert (await api(jp_fetch, "GET", f"{project}/notes.txt"))["content"] == "original, v2"


async def test_deleting_a_link_that_is_not_there_is_404(jp_fetch):
    # Reva v3 answers an unknown link's RemovePublicShare with CODE_INTERNAL (found by
    # tests/test_fuzz.py): cs3lab asks whether it exists and says so.
    with pytest.raises(HTTPClientError) as info:
        await call(jp_fetch, "DELETE", "links", "no-such-link")
    assert info.value.code == 404
    assert json.loads(info.value.response.body)["message"] == "No such link: no-such-link"
