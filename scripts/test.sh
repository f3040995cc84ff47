#!/usr/bin/env bash
# The whole test suite on a fresh machine of this kind, in one command:
#   bash scripts/test.sh            (extra arguments go to pytest, e.g. -k checkpoints)
# It installs what it needs (Debian's chromium, fuse3 and libfuse3-dev, a venv with cs3lab and its test extras,
# the UI test's npm packages), builds revad once into ~/.cache/cs3lab (tools/revad/build.sh),
# fetches Keycloak and configurable-http-proxy into the same cache (the single sign-on tests),
# installs buildah and debootstrap (tests/test_images.py builds docker/'s images with them),
# lints, then runs pytest: unit tests, REST tests against a real revad, and the browser test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh # step, setup_revad, setup_python; exports CS3LAB_CACHE and friends

step "system packages"
if [[ ! -x /usr/bin/chromium ]]; then
	apt_install chromium
fi
/usr/bin/chromium --version

setup_fuse

setup_revad

setup_keycloak

setup_hub

setup_images

setup_python "test,dev,mount,hub"

step "ui-tests npm packages"
npm ci --prefix ui-tests --no-audit --no-fund --loglevel=error

step "lint"
ruff check .
ruff format --check .
(cd labextension && npm run --silent lint:check)

step "pytest"
# Two workers (pytest-xdist; CS3LAB_TEST_WORKERS=0 runs in this process): a test file stays
# in one worker, and the tests that need Keycloak share one (tests/conftest.py).
python -m pytest -p no:cacheprovider -n "${CS3LAB_TEST_WORKERS:-2}" --dist loadgroup \
	--durations=15 "$@"
