"""fsspec's own abstract test suite (fsspec.tests.abstract) against ``cs3://`` on a real revad,
on both sites: copy, get, put, open and pipe, with fsspec's scenarios and expectations."""

from __future__ import annotations

import posixpath
import uuid

import pytest
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)
from fsspec.tests.abstract.open import AbstractOpenTests as _Open  # noqa: F401

from cs3lab.fs import CS3FileSystem


@pytest.fixture(scope="module", params=["site-a", "site-n"])
def cs3fs(request):
    """One ``cs3://`` filesystem per site for the whole module, rooted in a fresh folder."""
    site = request.getfixturevalue(request.param.replace("-", "_"))
    import site_runner

    root = f"{site.home('alice')}/fsspec-{uuid.uuid4().hex[:8]}"
    site_runner.sync_mkdir(site, "alice", root)
    fs = CS3FileSystem(
        gateway=site.gateway,
        site_name=site.name,
        auth_mode="basic",
        username="alice",
        secret_file=str(site.secret_file("alice")),
        home=root,
        skip_instance_cache=True,
    )
    yield fs
    fs.close()


class TestCS3Abstract(
    AbstractFixtures,
    AbstractCopyTests,
    AbstractGetTests,
    AbstractPutTests,
    AbstractOpenTests,
    AbstractPipeTests,
):
    @pytest.fixture
    def fs(self, cs3fs):
        cs3fs.invalidate_cache()
        return cs3fs

    @pytest.fixture
    def fs_join(self):
        return posixpath.join

    @pytest.fixture
    def fs_path(self, fs):
        path = f"case-{uuid.uuid4().hex[:8]}"
        fs.mkdir(path)
        yield path
        fs.rm(path, recursive=True)
