#!/usr/bin/env bash
# Parity of `forest predict` with the libraries' own outputs on every
# reference model (tests/parity.py has the rules).  $1 = absolute build dir.
set -uo pipefail
cd "$(dirname "$0")/.."
exec python3 tests/parity.py "${1:?usage: suite_parity.sh BUILD_DIR}"
