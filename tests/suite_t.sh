#!/usr/bin/env bash
# Runs the Test::Nginx suites t/*.t (or the files given after $1) with prove
# against the module in $1, under the Test::Nginx whose lib dir is in
# TEST_NGINX_LIB (tests/t_real.sh), else a CPAN-installed one, else the
# compatible runner in t/lib.  Prints the failures, a "SKIP reason: what"
# line per skipped check and last "N passed, N failed, N skipped"; non-zero
# exit on failure.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

module="$BUILD/ngx_http_forest_module.so"
if [ ! -f "$module" ]; then
    echo "no module at $module (build it with make BUILD=...)"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi

own_runner=
if [ -n "${TEST_NGINX_LIB:-}" ]; then
    inc=(-I "$TEST_NGINX_LIB")
elif perl -MTest::Nginx::Socket -e1 2>/dev/null; then
    inc=()
else
    inc=(-I t/lib)
    own_runner=1
fi
if ! harness=$(perl "${inc[@]}" -MTest::Nginx::Socket -e 'print $INC{"Test/Nginx/Socket.pm"}' 2>&1); then
    echo "$harness"
    echo "Test::Nginx::Socket does not load from ${TEST_NGINX_LIB:-t/lib}"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
echo "Test::Nginx::Socket: $harness"
if [ -z "$own_runner" ]; then
    # The real Test::Nginx checks `--- must_die` errors in the servroot's
    # error.log; the packaged nginx logs startup errors to stderr only, so
    # point its startup log (-e) at the prefix's logs/error.log.
    export TEST_NGINX_REAL_BINARY="${TEST_NGINX_BINARY:-/usr/sbin/nginx}"
    export TEST_NGINX_BINARY="$ROOT/t/nginx-startup-log.sh"
fi

export TEST_NGINX_LOAD_MODULES="$module"
export TEST_NGINX_RANDOMIZE=1            # free random port, own servroot
export TEST_NGINX_FOREST_ROOT="$ROOT"
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

files=("${@:2}")
[ ${#files[@]} -gt 0 ] || files=(t/*.t)
# verbose, for the skipped checks and their reasons; the passing checks are
# left out of the log
out=$(prove -v "${inc[@]}" -j "${PROVE_JOBS:-2}" "${files[@]}" 2>&1)
rc=$?
grep -vE '^ok [0-9]+' <<<"$out"
# "ok 7 # skip t/x.t TEST 3: title - reason": the reason named is the block
sed -nE 's/^ok [0-9]+ # skip /SKIP /p' <<<"$out"

total=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' <<<"$out" | tail -1)
failed=$(awk '/Failed [0-9]+\/[0-9]+ subtests/ { sub(/.*Failed /, ""); sub(/\/.*/, ""); n += $0 } END { print n + 0 }' <<<"$out")
skipped=$(grep -cE '^ok [0-9]+ # skip ' <<<"$out")
# a file that died or had a bad plan without a failed subtest still fails
broken=$(grep -cE '^t/.*\(Wstat: [1-9][0-9]* .*Tests: [0-9]+ Failed: 0\)' <<<"$out")
total=${total:-0}
passed=$((total - failed - skipped))
failed=$((failed + broken))
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
