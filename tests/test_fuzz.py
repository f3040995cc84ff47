"""Schema-driven fuzzing of a running cs3lab server with schemathesis: requests generated from
docs/rest-api.yaml (valid and odd parameters and bodies) against a real Jupyter server of
alice on a site of its own (nothing another test uses). No answer may be a 5xx (503 aside:
the site away) nor an error without a message. Bounded: a few cases per operation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
import schemathesis.specs.openapi.schemas
import site_runner
from hypothesis import HealthCheck, given, settings
from servers import start_server

# (schemathesis.specs.openapi.schemas is imported here, while collecting, not first inside the
# test: there, pytest's assertion rewriting of its modules once met CPython 3.11's
# "SystemError: AST constructor recursion depth mismatch".)
SPEC = Path(__file__).resolve().parent.parent / "docs" / "rest-api.yaml"
CASES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory):
    """A site of its own, and alice's Jupyter server on it with a notebook and a folder."""
    site = site_runner.start_site("site-a.json")
    workdir = tmp_path_factory.mktemp("fuzz")
    root = f"{site.home('alice')}/fuzz"
    site_runner.sync_mkdir(site, "alice", root)
    server = start_server(site, "alice", root, workdir / "alice")
    try:
        notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        server.request("PUT", "api/contents/nb.ipynb", {"type": "notebook", "content": notebook})
        server.request("PUT", "api/contents/folder", {"type": "directory"})
        yield server
    finally:
        server.stop()
        site.stop()


def test_no_generated_request_gets_a_server_error(fuzzed_server):
    schema = schemathesis.openapi.from_path(str(SPEC))
    headers = {"Authorization": f"token {fuzzed_server.token}"}
    failures: list[str] = []
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=CASES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def run(case):
            nonlocal calls
            response = case.call(base_url=fuzzed_server.base, headers=headers, timeout=60)
            calls += 1
            where = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:80]}"
            if response.status_code >= 500 and response.status_code not in (501, 503):
                failures.append(f"{where}: {response.status_code} {response.text[:200]}")
            elif response.status_code >= 400:
                try:
                    message = json.loads(response.text).get("message")
                except (ValueError, AttributeError):
                    message = None
                if not message:
                    failures.append(f"{where}: {response.status_code} without a message")

        run()
    assert calls >= 200
    assert failures == [], "\n".join(failures[:30])
    assert fuzzed_server.process.poll() is None  # still serving
