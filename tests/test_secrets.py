"""No secret in a response or a log line: real Jupyter servers of alice on a site of their
own, logging at DEBUG, go through sign-in (right and wrong password), files, locks, public
links with passwords, and a kernel (which gets a reva token); then every answer and every
line of their logs is searched for the secrets the test knows: alice's password, a wrong
password tried, the links' passwords, and the reva token the kernels were given."""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import time
from pathlib import Path

import site_runner
from known_secrets import SECRETS, remember
from secret_scan import SCANNER
from servers import start_server

DEBUG = ["--ServerApp.log_level=DEBUG", "--Application.log_level=DEBUG"]
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
TOKEN_SECONDS = 60


def test_no_secret_reaches_a_response_or_a_log(tmp_path, monkeypatch):
    site = site_runner.start_site("site-a.json")
    answers: list[str] = []
    known = {"alice's password": site.password("alice")}
    servers = []
    try:
        root = f"{site.home('alice')}/secrets"
        site_runner.sync_mkdir(site, "alice", root)
        monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the kernels' token file goes
        alice = start_server(site, "alice", root, tmp_path / "alice", extra=DEBUG)
        servers.append(alice)

        def call(method: str, path: str, body=None) -> dict:
            _, data = alice.request(method, path, body)
            answers.append(json.dumps(data) if not isinstance(data, str) else data)
            return data

        call("PUT", "api/contents/nb.ipynb", {"type": "notebook", "content": NOTEBOOK})
        call("GET", "api/contents/nb.ipynb")
        call("GET", "cs3lab/api/session")
        call("POST", "cs3lab/api/locks", {"path": "nb.ipynb", "client": "tab-1"})
        call("PUT", "cs3lab/api/locks", {"path": "nb.ipynb", "client": "tab-1"})
        for n in range(2):
            password = f"link-pw-{secrets.token_hex(6)}"
            known[f"link password {n}"] = password
            link = call(
                "POST",
                "cs3lab/api/links",
                {"path": "nb.ipynb", "role": "viewer", "password": password},
            )
            new_password = f"link-pw-{secrets.token_hex(6)}"
            known[f"link password {n}, changed"] = new_password
            call("PATCH", f"cs3lab/api/links/{link['id']}", {"password": new_password})
        call("GET", "cs3lab/api/links")
        call("POST", "cs3lab/api/links", {"path": "nb.ipynb", "role": "viewer", "password": 5})
        kernel = call("POST", "api/kernels", {"name": "python3"})
        token_files = []
        deadline = time.monotonic() + TOKEN_SECONDS
        while not token_files and time.monotonic() < deadline:
            token_files = list(tmp_path.glob("cs3lab-kernels-*/token"))
            time.sleep(0.5)
        assert token_files, "the kernels got no token file"
        known["the kernels' reva token"] = token_files[0].read_text().strip()
        call("DELETE", f"api/kernels/{kernel['id']}")
        call("DELETE", "cs3lab/api/locks?path=nb.ipynb&client=tab-1")

        # A server signed in with a wrong password: its errors and its log.
        wrong = f"wrong-{secrets.token_hex(8)}"
        known["a wrong password"] = wrong
        # The same site, read from another folder, where alice's secret file is wrong.
        elsewhere = dataclasses.replace(site, workdir=tmp_path / "wrong-site")
        wrong_file = elsewhere.workdir / "secrets" / "alice"
        wrong_file.parent.mkdir(parents=True, mode=0o700)
        wrong_file.write_text(wrong)
        mallory = start_server(elsewhere, "alice", root, tmp_path / "wrong", extra=DEBUG)
        servers.append(mallory)
        for path in ("api/contents", "cs3lab/api/session", "cs3lab/api/locks?path=nb.ipynb"):
            status, data = mallory.request("GET", path)
            assert status in (401, 403, 503), (path, status)
            answers.append(json.dumps(data) if not isinstance(data, str) else data)
    finally:
        for server in servers:
            server.stop()
        site.stop()

    logs = {server.log: Path(server.log).read_text(errors="replace") for server in servers}
    assert all(len(text.splitlines()) > 50 for text in logs.values())  # DEBUG did log
    found = [
        (name, where)
        for name, secret in known.items()
        for where, text in [*((str(p), t) for p, t in logs.items()), *enumerate(answers)]
        if secret and secret in text
    ]
    assert found == []
    assert len(answers) >= 15


def test_the_suite_wide_scan_finds_a_planted_secret_and_a_token_in_a_log_record():
    """tests/secret_scan.py searches every test's log records (and answers): it finds what
    is planted here, and nothing else is left for this test's own check."""
    value = remember("a planted secret", f"planted-{secrets.token_hex(8)}")
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLWEtdG9rZW4"
    first = len(SCANNER.found)
    log = logging.getLogger("cs3lab.planted")
    log.debug("the secret %s", value)
    log.debug("the token %s", token)
    found = SCANNER.found[first:]
    del SCANNER.found[first:]  # planted on purpose
    del SECRETS["a planted secret"]
    assert found == [
        "a planted secret in a log record of cs3lab.planted (DEBUG)",
        "a token (JWT) in a log record of cs3lab.planted (DEBUG)",
    ]
