"""Fixtures: a real revad (built once, cached under ~/.cache/cs3lab), a Jupyter server with
cs3lab as its contents manager, signed in as a site user, rooted in a fresh CS3 folder."""

from __future__ import annotations

import inspect
import os
import sys
import uuid
from pathlib import Path

import pytest
from traitlets.config import Config

REPO = Path(__file__).resolve().parent.parent
# pytest-jupyter points HOME at a temporary folder during tests: pin the revad build cache
# (tools/revad/build.sh uses $CS3LAB_CACHE, default ~/.cache/cs3lab) to the real one first.
os.environ.setdefault("CS3LAB_CACHE", str(Path.home() / ".cache" / "cs3lab"))
sys.path.insert(0, str(REPO / "tools" / "sites"))

import secret_scan  # noqa: E402
import site_runner  # noqa: E402

pytest_plugins = ("pytest_jupyter.jupyter_server",)


def pytest_configure(config):
    secret_scan.install()


def _fail_on_secrets(first: int) -> None:
    found = sorted(set(secret_scan.SCANNER.found[first:]))
    if found:
        pytest.fail("A secret reached a log or an answer: " + "; ".join(found), pytrace=False)


@pytest.fixture(autouse=True)
def _no_secret_in_this_test():
    """tests/secret_scan.py: whatever a test made log or answer holds no known secret."""
    first = len(secret_scan.SCANNER.found)
    yield
    _fail_on_secrets(first)


@pytest.fixture(scope="module", autouse=True)
def _no_secret_in_this_module():
    """The same for what a module's fixtures log when they end (servers' logs at stop)."""
    first = len(secret_scan.SCANNER.found)
    yield
    _fail_on_secrets(first)


@pytest.fixture
def jp_fetch(jp_fetch):
    """pytest-jupyter's jp_fetch, each answer (also an error's) searched for secrets."""
    from tornado.httpclient import HTTPClientError

    def scan(parts, response) -> None:
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.get_all())
        body = (response.body or b"").decode(errors="replace")
        secret_scan.SCANNER.scan(f"the answer to {'/'.join(parts)}", f"{headers}\n{body}")

    async def fetch(*parts, **kwargs):
        try:
            response = await jp_fetch(*parts, **kwargs)
        except HTTPClientError as err:
            if err.response is not None:
                scan(parts, err.response)
            raise
        scan(parts, response)
        return response

    return fetch


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests on the loop pytest-jupyter's server runs on (jp_asyncio_loop)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    loop = pyfuncitem.funcargs["jp_asyncio_loop"]
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    loop.run_until_complete(pyfuncitem.obj(**kwargs))
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """For pytest-xdist's ``--dist loadgroup`` (scripts/test.sh runs two workers): a test file
    runs in one worker (its module fixtures are made once, its tests keep their order), and
    every test that needs Keycloak runs in the same worker, so that it starts once."""
    for item in items:
        needs_keycloak = "keycloak" in item.fixturenames
        group = "keycloak" if needs_keycloak else item.nodeid.partition("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


# Besides the description's users: twenty more, who race for one lock (tests/test_locks.py).
TEST_USERS = [{"prefix": "racer", "count": 20, "display_name": "Racer {n:02d}"}]


def _running(description: str, **template_values):
    desc = site_runner.load_description(description)
    desc["numbered_users"] = desc.get("numbered_users", []) + TEST_USERS
    if template_values:
        desc["name"] += "-quota"
        desc["template_values"] = desc.get("template_values", {}) | template_values
    running = site_runner.start_site(desc)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def site_a():
    """Site A: one revad (Reva v3, local driver) on loopback with the users of
    tools/sites/site-a.json."""
    yield from _running("site-a.json")


@pytest.fixture(scope="session")
def site_n():
    """Site N: Reva v2's decomposedfs driver, which has native CS3 locks
    (tools/sites/site-n.json). Started only by the tests that ask for it."""
    yield from _running("site-n.json")


# The quota of each personal space on site_nq (tests/test_places.py, tests/test_copy_folder.py).
QUOTA_BYTES = 1_000_000


@pytest.fixture(scope="session")
def site_nq():
    """Site N whose personal spaces get a quota of QUOTA_BYTES (``max_quota`` in
    tools/sites/revad-ocis.toml, set through the description's template values). Each test
    uses a user of its own, so that one test's files do not eat another's quota."""
    yield from _running("site-n.json", max_quota=QUOTA_BYTES)


@pytest.fixture(scope="session")
def keycloak():
    """Keycloak (tools/sites/keycloak_runner.py) with the realm of site-sso.json: its users
    and its ``idp_only_users``, each with a random password, and the Hub's confidential
    client. Started only by the tests that ask for it (about 30 s)."""
    import keycloak_runner

    desc = site_runner.load_description("site-sso.json")
    users = site_runner.all_users(desc) + desc.get("idp_only_users", [])
    running = keycloak_runner.start_keycloak(users, desc["realm"])
    yield running
    running.stop()


# Reva tokens of site SSO live this long: a session renews them (with a fresh access token
# from the realm) several times in a test (tests/test_hub.py).
SSO_REVA_TOKEN_SECONDS = 20


@pytest.fixture(scope="session")
def site_sso(keycloak):
    """Site SSO: site A's services with Reva's oidc auth manager for bearer tokens, which
    accepts the access tokens of the ``keycloak`` realm (tools/sites/site-sso.json)."""
    desc = site_runner.load_description("site-sso.json")
    desc["template_values"] = {"oidc_issuer": keycloak.issuer}
    running = site_runner.start_site(desc, token_expires=SSO_REVA_TOKEN_SECONDS)
    yield running
    running.stop()


def pytest_generate_tests(metafunc):
    """``@pytest.mark.sites("site-a", "site-n")`` (on a test or a module) runs the test once
    per site; without it a test runs against site A."""
    marker = metafunc.definition.get_closest_marker("sites")
    if marker and "site" in metafunc.fixturenames:
        metafunc.parametrize("site", marker.args, indirect=True)


@pytest.fixture
def site(request):
    """The site a test runs against."""
    name = getattr(request, "param", "site-a")
    return request.getfixturevalue(name.replace("-", "_"))


@pytest.fixture
def user() -> str:
    return "alice"


@pytest.fixture
def home(site, user) -> str:
    """A fresh CS3 folder, used as this test's JupyterLab root."""
    path = f"{site.home(user)}/t-{uuid.uuid4().hex[:10]}"
    site_runner.sync_mkdir(site, user, path)
    return path


@pytest.fixture
def revalidate_seconds(request) -> dict:
    """The test server's metadata cache revalidation: cs3lab's default, or the test's
    ``revalidate`` marker (0: no cache, as the call budgets count each action's own calls)."""
    marker = request.node.get_closest_marker("revalidate")
    return {} if marker is None else {"revalidate_seconds": float(marker.args[0])}


@pytest.fixture
def jp_server_config(site, user, home, revalidate_seconds):
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"cs3lab": True},
                "contents_manager_class": "cs3lab.CS3ContentsManager",
            },
            "CS3Connection": {
                **site_runner.cs3_connection(site, user, home),
                # Reva v3's local driver answers GetQuota with its disk, not a quota.
                "storage_reports_quota": site.reva != "v3",
                **revalidate_seconds,
            },
            # Tests that list the root expect only the test's own folder there: the places
            # beside it (Spaces, Shared with me, Federated shares) have tests of their own.
            "CS3ContentsManager": {"show_places": False},
        }
    )


@pytest.fixture
def contents(jp_serverapp):
    """The CS3ContentsManager of the running test server."""
    return jp_serverapp.contents_manager
