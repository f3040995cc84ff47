"""Load with correctness, on both lock backends: 32 simulated users (browser tabs, four per
server) on 8 Jupyter servers signed in as 8 different CS3 users, all rooted at one shared
folder, for a bounded time. Each tab opens, lists, takes the lock and saves with heartbeats,
saves without the lock, asks for the lock and hands it over, copies and merges back, and
shares and unshares, and makes and deletes public links (site A: the v2 test site runs no
link service), through cs3lab's REST API.

Afterwards a CS3 client outside every server checks the storage: each notebook holds the
last acknowledged save (none acknowledged after it was lost), no two servers were ever known
to hold one lock at once, no save or merge was acknowledged while another server was known to
hold the lock for the whole request, every notebook read during the run was whole, and each
file's shares and links are what the last acknowledged change left. No 5xx. The counts are
printed (``-s``)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import nbformat
import pytest
from lockers import signed_in
from nbformat.v4 import new_code_cell, new_notebook
from servers import start_server
from site_runner import sync_mkdir

from cs3lab.cs3.links import Links
from cs3lab.cs3.shares import Shares, by_resource

USERS = ["alice", "bob", "carol", "racer01", "racer02", "racer03", "racer04", "racer05"]
TABS = 4  # per server: 32 simulated users
SECONDS = 12.0  # of load per backend
NOTEBOOKS = [f"nb-{i}.ipynb" for i in range(4)]  # everyone's: contended


def notebook(*markers: str) -> dict:
    nb = new_notebook(cells=[new_code_cell(m, id=f"c{i}") for i, m in enumerate(markers)])
    return {"type": "notebook", "format": "json", "content": nb}


def markers_of(model_content: dict) -> list[str]:
    return [c["source"] for c in model_content["cells"]]


@dataclass
class Write:
    """An acknowledged write into a notebook: a save (its one marker) or a merge (adds one)."""

    server: str
    path: str
    sent: float
    acked: float
    marker: str
    merge: bool = False


@dataclass
class Record:
    statuses: Counter = field(default_factory=Counter)  # "GET contents 200", ...
    held: list[tuple[str, str, float, float]] = field(
        default_factory=list
    )  # server, path, from, to
    writes: list[Write] = field(default_factory=list)
    sent_markers: set[str] = field(default_factory=set)
    torn_reads: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what, status and message of each 5xx
    shares: dict[str, set[str]] = field(default_factory=dict)  # own file -> grantees
    links: dict[str, set[str]] = field(default_factory=dict)  # own file -> link ids

    def count(self, what: str, status: int) -> None:
        self.statuses[f"{what} {status}"] += 1


class Tab:
    """One simulated user: a browser tab of one server."""

    def __init__(self, server, user: str, number: int, record: Record, site, rng: random.Random):
        self.server, self.user, self.record, self.site, self.rng = server, user, record, site, rng
        self.name = f"{user}-{number}"
        self.client = f"tab-{self.name}-{uuid.uuid4().hex[:6]}"
        self.own = f"own-{self.name}.txt"
        self.saves = 0
        self.http = httpx.AsyncClient(
            base_url=server.base, headers={"Authorization": f"token {server.token}"}, timeout=60
        )

    async def call(self, what: str, method: str, url: str, body=None, **params):
        response = await self.http.request(method, url, json=body, params=params or None)
        self.record.count(what, response.status_code)
        if response.status_code >= 500 or response.status_code == 400:
            self.record.errors.append(f"{what} {response.status_code}: {response.text[:300]}")
        try:
            return response.status_code, response.json() if response.content else None
        except ValueError:
            return response.status_code, response.text

    def contents(self, path: str) -> str:
        return f"/api/contents/{path}"

    def marker(self) -> str:
        self.saves += 1
        marker = f"{self.name}#{self.saves}"
        self.record.sent_markers.add(marker)
        return marker

    async def save(self, path: str, *markers: str) -> tuple[int, float, float]:
        sent = time.monotonic()
        status, _ = await self.call("save", "PUT", self.contents(path), notebook(*markers))
        return status, sent, time.monotonic()

    # -- actions ---------------------------------------------------------------------------

    async def read(self) -> None:
        path = self.rng.choice(NOTEBOOKS)
        status, model = await self.call("open", "GET", self.contents(path))
        if status == 200:
            found = markers_of(model["content"])
            if not found or not set(found) <= self.record.sent_markers | {"start"}:
                self.record.torn_reads.append(f"{path}: {found}")
        await self.call("list", "GET", "/api/contents", content="1")

    async def edit(self) -> None:
        path = self.rng.choice(NOTEBOOKS)
        lock = {"path": path, "client": self.client}
        status, state = await self.call("lock", "POST", "/cs3lab/api/locks", lock)
        if status != 200:
            if status == 423 and self.rng.random() < 0.3:
                await self.call("request", "POST", "/cs3lab/api/locks/requests", {"path": path})
            return
        held_from = time.monotonic()
        last_held = None  # the send time of the last request that proved the lock held
        for _ in range(self.rng.randint(1, 3)):
            sent = time.monotonic()
            status, state = await self.call("heartbeat", "PUT", "/cs3lab/api/locks", lock)
            if status != 200 or not state["this_session"]:
                break
            last_held = sent
            marker = self.marker()
            status, sent, acked = await self.save(path, marker)
            if status == 200:
                self.record.writes.append(Write(self.user, path, sent, acked, marker))
                last_held = sent
            requests = state.get("requests") or []
            if requests and self.rng.random() < 0.5:
                answer = {"path": path, "requester": requests[0]["requester"]["username"]}
                await self.call(
                    "hand over", "POST", "/cs3lab/api/locks/handover", answer | {"grant": True}
                )
                break
        if last_held is not None:
            self.record.held.append((self.user, path, held_from, last_held))
        await self.call("release", "DELETE", "/cs3lab/api/locks", path=path, client=self.client)

    async def save_without_lock(self) -> None:
        path = self.rng.choice(NOTEBOOKS)
        marker = self.marker()
        status, sent, acked = await self.save(path, marker)
        if status == 200:
            self.record.writes.append(Write(self.user, path, sent, acked, marker))

    async def copy_and_merge(self) -> None:
        path = self.rng.choice(NOTEBOOKS)
        status, made = await self.call("copy", "POST", "/cs3lab/api/copies", {"path": path})
        if status != 201 and status != 200:
            return
        copy = made["path"]
        status, model = await self.call("open", "GET", self.contents(copy))
        if status != 200:
            return
        marker = self.marker()
        await self.call(
            "save copy", "PUT", self.contents(copy), notebook(*markers_of(model["content"]), marker)
        )
        sent = time.monotonic()
        merge = {"copy": copy, "original": path}
        status, result = await self.call("merge", "POST", "/cs3lab/api/merge", merge)
        if status == 200 and result.get("written"):
            self.record.writes.append(Write(self.user, path, sent, time.monotonic(), marker, True))
        await self.call("delete copy", "DELETE", self.contents(copy))

    async def share_or_unshare(self) -> None:
        grantees = self.record.shares.setdefault(self.own, set())
        others = [u for u in USERS if u != self.user and u not in grantees]
        if grantees and (not others or self.rng.random() < 0.5):
            name = self.rng.choice(sorted(grantees))
            status, listed = await self.call("shares", "GET", "/cs3lab/api/shares", path=self.own)
            share = next(s for s in listed["shares"] if s["grantee"]["username"] == name)
            status, _ = await self.call("unshare", "DELETE", f"/cs3lab/api/shares/{share['id']}")
            if status == 204:
                grantees.discard(name)
            return
        name = self.rng.choice(others)
        body = {"path": self.own, "grantee": {"type": "user", "name": name}, "role": "viewer"}
        status, _ = await self.call("share", "POST", "/cs3lab/api/shares", body)
        if status == 201:
            grantees.add(name)

    async def link_or_unlink(self) -> None:
        links = self.record.links.setdefault(self.own, set())
        if links and self.rng.random() < 0.5:
            link = self.rng.choice(sorted(links))
            status, _ = await self.call("unlink", "DELETE", f"/cs3lab/api/links/{link}")
            if status == 204:
                links.discard(link)
            return
        status, made = await self.call(
            "link", "POST", "/cs3lab/api/links", {"path": self.own, "role": "viewer"}
        )
        if status == 201:
            links.add(made["id"])

    async def run(self, until: float, linking: bool) -> None:
        actions = [
            (0.40, self.edit),
            (0.20, self.read),
            (0.10, self.save_without_lock),
            (0.10, self.copy_and_merge),
            (0.10, self.share_or_unshare),
            (0.10, self.link_or_unlink if linking else self.read),
        ]
        try:
            while time.monotonic() < until:
                pick, total = self.rng.random(), 0.0
                for weight, action in actions:
                    total += weight
                    if pick < total:
                        await action()
                        break
        finally:
            await self.http.aclose()


@pytest.fixture(params=["site-a", "site-n"])
def crowd(request, tmp_path):
    """(site, shared folder, {user: server}): 8 servers, one per user, on one folder."""
    site = request.getfixturevalue(request.param.replace("-", "_"))
    folder = f"{site.shared}/load-{uuid.uuid4().hex[:8]}"
    sync_mkdir(site, "alice", folder)

    def start(user: str):
        roles = f"--CS3Sharing.role_set=reva-{site.reva}"  # the site's own share roles
        return start_server(site, user, folder, tmp_path / user, extra=[roles])

    with ThreadPoolExecutor(4) as pool:
        servers = dict(zip(USERS, pool.map(start, USERS), strict=True))
    try:
        yield site, folder, servers
    finally:
        for server in servers.values():
            server.stop()


def test_load_with_correctness(crowd):
    site, folder, servers = crowd
    linking = site.reva == "v3"  # the v2 test site runs no public link service (501)
    record = Record(sent_markers={"start"})
    alice = servers["alice"]
    for path in NOTEBOOKS:
        assert alice.request("PUT", f"api/contents/{path}", notebook("start"))[0] == 201
    rng = random.Random(20261204)
    tabs = [
        Tab(server, user, n, record, site, random.Random(rng.random()))
        for user, server in servers.items()
        for n in range(TABS)
    ]
    for tab in tabs:
        status, _ = tab.server.request(
            "PUT",
            f"api/contents/{tab.own}",
            {"type": "file", "format": "text", "content": tab.name},
        )
        assert status == 201

    async def load() -> None:
        until = time.monotonic() + SECONDS
        await asyncio.gather(*(tab.run(until, linking) for tab in tabs))

    started = time.monotonic()
    asyncio.run(load())
    took = time.monotonic() - started
    operations = sum(record.statuses.values())
    print(f"\n{site.name}: {operations} requests by {len(tabs)} tabs in {took:.1f} s")
    for what, count in sorted(record.statuses.items()):
        print(f"  {what}: {count}")

    # No 5xx, and every refusal is one a user can be given.
    if record.errors:  # what revad said about them
        for log in site.workdir.glob("*.log"):
            for line in log.read_text(errors="replace").splitlines():
                if '"level":"error"' in line or '"status":500' in line:
                    print(f"revad {log.name}: {line[:1500]}")
    assert not record.errors, "\n".join(record.errors)
    assert not record.torn_reads, record.torn_reads[:5]
    assert record.statuses["lock 200"] and record.statuses["save 200"]

    # No two servers known to hold one lock at once.
    for path in NOTEBOOKS:
        spans = [(s, a, b) for s, p, a, b in record.held if p == path]
        for i, (s1, a1, b1) in enumerate(spans):
            for s2, a2, b2 in spans[i + 1 :]:
                assert s1 == s2 or b1 < a2 or b2 < a1, f"{path}: {s1} {a1}-{b1}, {s2} {a2}-{b2}"
    # No write acknowledged while another server held the lock for the whole request.
    for write in record.writes:
        for server, path, a, b in record.held:
            if path == write.path and server != write.server:
                assert not (a <= write.sent and write.acked <= b), (write, server, a, b)

    # The storage, read by a CS3 client outside every server.
    async def stored() -> dict[str, list[str]]:
        async with signed_in(site, "alice") as files:
            return {
                path: markers_of(nbformat.reads(await files.download(f"{folder}/{path}"), 4))
                for path in NOTEBOOKS
            }

    final = asyncio.run(stored())
    for path, found in final.items():
        writes = [w for w in record.writes if w.path == path]
        if not writes:
            assert found == ["start"], (path, found)
            continue
        last = [w for w in writes if (w.merge and w.marker in found) or found == [w.marker]]
        assert last, f"{path} holds {found}, which no acknowledged write wrote"
        done = min(w.acked for w in last)
        lost = [w for w in writes if w.sent > done and w not in last]
        assert not lost, f"{path}: acknowledged after {found} was stored, and lost: {lost}"

    # Shares and links as the last acknowledged change left them.
    async def shares_and_links() -> tuple[dict, dict]:
        shares, links = {}, {}
        user_of = {site.users[u].opaque_id: u for u in USERS}
        for tab in tabs:
            async with signed_in(site, tab.user) as files:
                info = await files.stat(f"{folder}/{tab.own}")
                listed = await Shares(files.client).list([by_resource(info.id)])
                shares[tab.own] = {user_of[s.grantee.user_id.opaque_id] for s in listed}
                if linking:
                    listed = await Links(files.client).list(info.id)
                    links[tab.own] = {link.id.opaque_id for link in listed}
        return shares, links

    shares, links = asyncio.run(shares_and_links())
    assert shares == {own: record.shares.get(own, set()) for own in shares}
    assert links == {own: record.links.get(own, set()) for own in links}
    print(
        f"  writes acknowledged: {len(record.writes)}; lock spans: {len(record.held)}; "
        f"shares left: {sum(map(len, shares.values()))}; links left: "
        f"{sum(map(len, links.values()))}"
    )
