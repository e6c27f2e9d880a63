#!/usr/bin/env bash
# The container image in make test: `make image` (the Debian package, the
# mmdebstrap base and podman's build, each cached), then its smoke test
# (tests/image/smoke.sh; `make test-image` runs the same).  A failed build is
# a failure, never a skip.  $1 (the build dir every suite is given) is not
# needed: the image installs the package, which builds itself.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! log=$(make -s image 2>&1); then
    tail -30 <<<"$log"
    echo "FAIL make image"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
exec bash tests/image/smoke.sh
