#!/usr/bin/env bash
# Runs every suite of `make test` and ends with one "N passed, N failed" line.
# Each suite prints its own "N passed, N failed" line last; this adds them up.
set -uo pipefail
BUILD=${1:-build}
export FOREST_BUILD=$(cd "$BUILD" && pwd)
cd "$(dirname "$0")/.."
total_pass=0 total_fail=0 broken=() failures=()

run_suite() {
    local name=$1; shift
    echo "=== $name"
    local out rc line p f
    out=$("$@" 2>&1); rc=$?
    echo "$out"
    local bad
    while IFS= read -r bad; do failures+=("$name: $bad"); done < <(
        echo "$out" | grep -E '^ *(not ok|FAIL)|CHECK failed|^#   Failed test' | head -20)
    line=$(echo "$out" | grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' | tail -1)
    if [ -z "$line" ]; then
        broken+=("$name(rc=$rc,no summary)"); total_fail=$((total_fail + 1)); return
    fi
    p=$(echo "$line" | sed -E 's/.*\b([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    [ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { broken+=("$name(rc=$rc)"); total_fail=$((total_fail + 1)); }
}

for t in "$FOREST_BUILD"/tests/test_*; do
    [ -x "$t" ] && run_suite "unit $(basename "$t")" "$t"
done
for s in tests/suite_*.sh; do
    [ -f "$s" ] && run_suite "$(basename "$s" .sh)" bash "$s" "$FOREST_BUILD"
done

# CI keeps only the tail of the log, so the failures are repeated here,
# right above the summary.
if [ ${#failures[@]} -gt 0 ]; then
    echo "failed checks (${#failures[@]} listed, at most 20 per suite):"
    printf '  %s\n' "${failures[@]}" | cut -c1-200 | head -16
fi
[ ${#broken[@]} -eq 0 ] || echo "suites that failed to run cleanly: ${broken[*]}"
echo "all: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
