#!/usr/bin/env bash
# Runs the Test::Nginx suites t/*.t with prove against the module in $1.
# Uses the real Test::Nginx when installed, else the compatible runner in
# t/lib.  Ends with one "N passed, N failed" line; non-zero exit on failure.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

module="$BUILD/ngx_http_forest_module.so"
if [ ! -f "$module" ]; then
    echo "no module at $module (build it with make BUILD=...)"
    echo "0 passed, 1 failed"
    exit 1
fi

export TEST_NGINX_LOAD_MODULES="$module"
export TEST_NGINX_RANDOMIZE=1            # free random port, own servroot
export TEST_NGINX_FOREST_ROOT="$ROOT"
export TEST_NGINX_SHARED="$(cd "${FOREST_SHARED:-$ROOT/../shared}" && pwd)"
export TEST_NGINX_LOG_LEVEL="${TEST_NGINX_LOG_LEVEL:-info}"
export FOREST_BUILD="$BUILD"

# A SANITIZE=1 module loads into the packaged (uninstrumented) nginx only
# with the sanitizer runtimes preloaded; nginx's own exit-time allocations
# are not ours to report.
. "$ROOT/tests/lib.sh"
san=$(sanitizer_runtimes "$module")
if [ -n "$san" ]; then
    export TEST_NGINX_LD_PRELOAD="$san"
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
fi

inc=()
if perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    # The real Test::Nginx checks `--- must_die` errors in the servroot's
    # error.log; the packaged nginx logs startup errors to stderr only, so
    # point its startup log (-e) at the prefix's logs/error.log.
    export TEST_NGINX_REAL_BINARY="${TEST_NGINX_BINARY:-/usr/sbin/nginx}"
    export TEST_NGINX_BINARY="$ROOT/t/nginx-startup-log.sh"
else
    inc=(-I t/lib)
fi

files=("${@:2}")
[ ${#files[@]} -gt 0 ] || files=(t/*.t)
out=$(prove "${inc[@]}" -j "${PROVE_JOBS:-2}" "${files[@]}" 2>&1)
rc=$?
echo "$out"

total=$(echo "$out" | sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' | tail -1)
failed=$(echo "$out" | awk '/Failed [0-9]+\/[0-9]+ subtests/ { sub(/.*Failed /, ""); sub(/\/.*/, ""); n += $0 } END { print n + 0 }')
# a file that died or had a bad plan without a failed subtest still fails
broken=$(echo "$out" | grep -cE '^t/.*\(Wstat: [1-9][0-9]* .*Tests: [0-9]+ Failed: 0\)')
total=${total:-0}; failed=${failed:-0}
passed=$((total - failed))
failed=$((failed + broken))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
