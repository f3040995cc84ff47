"""fsspec's own abstract test suite (fsspec.tests.abstract) against ``cs3://`` on a real revad:
copy, get, put, open and pipe, with fsspec's scenarios and expectations.

The whole suite (136 tests) runs on site A. Its tests exercise fsspec's semantics over many
small files, the same code on both storages; on site N (decomposedfs, several times slower
per call) only the open and pipe classes run, to keep the suite's time modest: what differs
on site N (ranged reads, empty files, native locks) is covered by tests/test_fs.py on both."""

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
from site_runner import sync_mkdir

from cs3lab.fs import CS3FileSystem


def _filesystem(request, site_name: str):
    site = request.getfixturevalue(site_name.replace("-", "_"))
    root = f"{site.home('alice')}/fsspec-{uuid.uuid4().hex[:8]}"
    sync_mkdir(site, "alice", root)
    return CS3FileSystem(
        gateway=site.gateway,
        site_name=site.name,
        auth_mode="basic",
        username="alice",
        secret_file=str(site.secret_file("alice")),
        home=root,
        skip_instance_cache=True,
    )


class _CS3Fixtures(AbstractFixtures):
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


class TestCS3AbstractSiteA(
    _CS3Fixtures,
    AbstractCopyTests,
    AbstractGetTests,
    AbstractPutTests,
    AbstractOpenTests,
    AbstractPipeTests,
):
    @pytest.fixture(scope="class")
    def cs3fs(self, request):
        fs = _filesystem(request, "site-a")
        yield fs
        fs.close()


class TestCS3AbstractSiteN(_CS3Fixtures, AbstractOpenTests, AbstractPipeTests):
    @pytest.fixture(scope="class")
    def cs3fs(self, request):
        fs = _filesystem(request, "site-n")
        yield fs
        fs.close()
