#!/usr/bin/env bash
# Makes a Python venv holding exactly the pinned packages of a requirements
# file, from Debian's python3 (python3-venv comes with scripts/install-deps.sh),
# so the suites never depend on what the machine's own Python holds.  Writes
# DIR/.stamp last: a venv whose install failed half-way is made anew next time.
#
#   scripts/make_venv.sh DIR REQUIREMENTS
set -euo pipefail
dir=${1:?usage: scripts/make_venv.sh DIR REQUIREMENTS}
req=${2:?usage: scripts/make_venv.sh DIR REQUIREMENTS}
bash "$(dirname "$0")/install-deps.sh"
rm -rf "$dir"
/usr/bin/python3 -m venv "$dir"
# wheels only: a pin that would build from source on this machine is a
# mistake in the pins, not something to compile here
"$dir/bin/python" -m pip install --disable-pip-version-check -q \
    --only-binary=:all: -r "$req"
touch "$dir/.stamp"
