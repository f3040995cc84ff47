#!/usr/bin/env bash
# The cs3lab demo in one command, on a fresh machine of this kind (Python 3.11, Node 20, Go):
#   bash scripts/demo.sh                        (CS3LAB_DEMO_PORT=8899 bash scripts/demo.sh)
# It builds revad once into ~/.cache/cs3lab (tools/revad/build.sh), installs cs3lab into .venv
# (the same steps as scripts/test.sh, from scripts/setup.sh), then runs scripts/demo.py: a
# real CS3 site (revad, users alice, bob and carol) on loopback, alice's home seeded with a
# few files through the CS3 APIs, JupyterLab for alice on http://127.0.0.1:${CS3LAB_DEMO_PORT:-8888}
# and for bob on the next port, a shared folder, a notebook carol is editing (locked) and
# bob's copy of a notebook ready to merge. It prints both URLs with their tokens. Ctrl+C stops
# everything and removes the run's temporary directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh # step, setup_revad, setup_python; exports CS3LAB_CACHE and friends

setup_revad

setup_fuse

setup_python "test,mount"

step "demo"
exec python scripts/demo.py
