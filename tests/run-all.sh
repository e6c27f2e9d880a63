#!/usr/bin/env bash
# Runs every suite of `make test` and ends with one
# "all: N passed, N failed, N skipped" line, the skips named above it.
# Each suite's last line is "N passed, N failed, N skipped" (tests/lib.sh);
# a suite without one, one that ran nothing, one whose skips are not all
# named by "SKIP reason: what" lines, or one that exits non-zero with no
# failure counted, counts as one more failure.
#
#   tests/run-all.sh [BUILD]   (env: FOREST_VENV, FOREST_VENV_SKL121: the
#                               venvs of `make venv`, relative to the repo)
set -uo pipefail
BUILD=${1:-build}
export FOREST_BUILD=$(cd "$BUILD" && pwd)
cd "$(dirname "$0")/.."
. tests/lib.sh
total_pass=0 total_fail=0 total_skip=0 broken=() failures=() skips=()

# Every suite's python3 is the project's venv, with pinned packages: what
# the machine's own Python holds changes nothing.
venv=$(realpath -m "${FOREST_VENV:-build/venv}")
export FOREST_VENV_SKL121=$(realpath -m "${FOREST_VENV_SKL121:-build/venv-skl121}")
if [ -f "$venv/.stamp" ]; then
    export PATH=$venv/bin:$PATH
else
    broken+=("python venv (no $venv: make venv)"); total_fail=$((total_fail + 1))
fi

run_suite() {
    local name=$1; shift
    echo "=== $name"
    local out rc line p f s named start=$SECONDS
    out=$("$@" 2>&1); rc=$?
    echo "$out"
    # the CI budget is kept suite by suite: each says what it cost
    echo "=== $name: $((SECONDS - start)) s"
    while IFS= read -r line; do failures+=("$name: $line"); done < <(
        grep -E '^ *(not ok|FAIL)|CHECK failed|^#   Failed test' <<<"$out" | head -20)
    while IFS= read -r line; do skips+=("$name: ${line#SKIP }"); done < <(
        grep -E '^SKIP [^:]+: ' <<<"$out")
    read -r p f s <<<"$(summary_counts "$out")"
    if [ -z "$p" ]; then
        broken+=("$name(rc=$rc, no 'N passed, N failed, N skipped' line)")
        total_fail=$((total_fail + 1)); return
    fi
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
    named=$(grep -cE '^SKIP [^:]+: ' <<<"$out")
    if [ $((p + f + s)) -eq 0 ]; then
        broken+=("$name(ran nothing)"); total_fail=$((total_fail + 1))
    elif [ "$named" -ne "$s" ]; then
        broken+=("$name($s skipped, $named named)"); total_fail=$((total_fail + 1))
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        broken+=("$name(rc=$rc)"); total_fail=$((total_fail + 1))
    fi
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
if [ ${#skips[@]} -gt 0 ]; then
    # one line per suite and reason: "SUITE: REASON: N (what, what, ...)"
    echo "skipped checks, by suite and reason:"
    printf '%s\n' "${skips[@]}" | awk -F': ' '
        { key = $1 ": " $2; what = substr($0, length(key) + 3)
          if (!(key in n)) order[++k] = key
          n[key]++; list[key] = list[key] (n[key] > 1 ? ", " : "") what }
        END { for (i = 1; i <= k; i++)
                  printf "  %s: %d (%s)\n", order[i], n[order[i]], list[order[i]] }' \
        | cut -c1-200
fi
echo "all: $total_pass passed, $total_fail failed, $total_skip skipped"
[ "$total_fail" -eq 0 ]
