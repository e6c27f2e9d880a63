#!/usr/bin/env bash
# The GPU kernels' launches run on CPU threads: g++ builds the kernel
# sources as they are through the CPU execution layer (gpu/cpu/), into
# `forest` check builds with `--device gpu-cpu` (make gpu-cpu), one under
# ASan+UBSan (out-of-bounds global and shared accesses) and one under TSan
# (a shared slot read with no barrier after another thread wrote it).
# First the layer's own checks (tests/gpu_cpu/kernel_checks.cc): a kernel
# using every intrinsic runs clean, and each deliberate bug is reported;
# then every kernel variant on every reference model against the libraries'
# outputs, by tests/parity.py's rules (under TSan only the csv and margin
# variants: the races it looks for do not depend on the input's form or
# values, and its runs are the suite's slowest); then the TreeSHAP kernels'
# contributions (tests/gpu_cpu/shap_checks.c: the libraries' and the CPU's,
# a few rows, the larger models cut to their first rounds; under TSan a few
# models, as the races it looks for do not depend on the model).  Needs no
# nvcc and no GPU.
# $1 = absolute build dir.
set -uo pipefail
BUILD=${1:?usage: suite_gpu_cpu.sh BUILD_DIR}
cd "$(dirname "$0")/.."
. tests/lib.sh
passed=0 failed=0 skipped=0
dir=$BUILD/gpu-cpu
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# the layer's idle pool threads would make TSan wait a second at each exit
export TSAN_OPTIONS="${TSAN_OPTIONS:-atexit_sleep_ms=0}"

# expect SAN NAME PATTERN: kernel_checks NAME must fail with PATTERN
expect() {
    local out rc
    out=$(timeout 120 "$dir/$1/bin/kernel_checks" "$2" 2>&1); rc=$?
    if [ "$rc" -ne 0 ] && grep -qE "$3" <<<"$out"; then
        ok "$1 catches $2"
    else
        bad "$1 did not catch $2 (exit $rc): $(tail -3 <<<"$out" | tr '\n' ' ' | cut -c1-200)"
    fi
}

sans=()
for san in asan tsan; do
    if [ -x "$dir/$san/bin/forest" ] && [ -x "$dir/$san/bin/kernel_checks" ] \
        && [ -x "$dir/$san/bin/shap_checks" ]; then
        sans+=("$san")
    elif [ "$san" = tsan ] && [ -x "$dir/asan/bin/forest" ]; then
        # make gpu-cpu leaves it out under SANITIZE=1 (see the Makefile)
        echo "SKIP TSan race pass: a SANITIZE=1 build (TSan cannot link its ASan libforest.a)"
        skipped=$((skipped + 1))
    else
        bad "no $dir/$san/bin/{forest,kernel_checks,shap_checks} (make gpu-cpu)"
    fi
done

for san in "${sans[@]}"; do
    if out=$(timeout 120 "$dir/$san/bin/kernel_checks" good 2>&1); then
        ok "$san: a kernel using every intrinsic runs clean"
    else
        bad "$san kernel_checks good: $(tail -3 <<<"$out" | tr '\n' ' ' | cut -c1-200)"
    fi
    case $san in
    asan)
        expect asan oob-dynamic 'AddressSanitizer: heap-buffer-overflow'
        expect asan oob-static 'AddressSanitizer: global-buffer-overflow|index [0-9]+ out of bounds'
        expect asan oob-global 'AddressSanitizer: heap-buffer-overflow'
        expect asan divergent 'divergent __syncthreads'
        expect asan shuffle-divergent 'divergent warp shuffle' ;;
    tsan)
        expect tsan race 'ThreadSanitizer: data race' ;;
    esac
done

for san in "${sans[@]}"; do
    echo "--- parity through $san"
    variants=
    [ "$san" = tsan ] && variants=csv,margin
    out=$(FOREST_PARITY_ARGS="--device gpu-cpu" FOREST_PARITY_VARIANTS=$variants \
        python3 tests/parity.py "$dir/$san" 2>&1)
    rc=$?
    grep -v '^[0-9]* passed' <<<"$out"
    tally "$out" "$rc"
done

for san in "${sans[@]}"; do
    echo "--- contributions through $san"
    models=()
    [ "$san" = tsan ] && models=(xgb_cat lgb_multiclass skl_rf_multi skl_gbdt)
    out=$(timeout 300 "$dir/$san/bin/shap_checks" 1 "${models[@]}" 2>&1)
    rc=$?
    grep -v '^[0-9]* passed' <<<"$out"
    tally "$out" "$rc"
done
summary
