#!/usr/bin/env bash
# Builds every fuzz/fuzz_*.c target with clang's libFuzzer (+ASan/UBSan,
# UBSan fatal) and runs each for SECS seconds on a work copy of its seed
# corpus (fuzz/corpus/<target>/, written by fuzz/make_seeds.py).
#
#   fuzz/run.sh [SECS] [TARGET...]      (default 60 s, every target)
#
# The libraries (libforest.a, libforest_codec.a) are compiled once, by the
# Makefile's own rules into build/fuzz/, with this script's compiler and
# flags; every target links both.  A target may name further libraries in a
# "// FUZZ_LIBS: ..." line.  Crashes, leaks, timeouts and over-large
# allocations are saved under build/fuzz/artifacts/; every target runs, and
# the exit status is 1 if any of them failed.
set -uo pipefail
secs=${1:-60}
shift || true
cd "$(dirname "$0")/.."
out=build/fuzz
CC=${FUZZ_CC:-$(command -v clang-14 || command -v clang)}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
cflags="-g -O1 -std=c11 -D_GNU_SOURCE -pthread -Iforest -Icodec $SAN"
libs_built=("$out/libforest_codec.a" "$out/libforest.a")
mkdir -p "$out/artifacts"

shopt -s nullglob
if [ $# -gt 0 ]; then
    targets=(); for t in "$@"; do targets+=("fuzz/$t.c"); done
else
    targets=(fuzz/fuzz_*.c)
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets"; exit 0; }

# through the Makefile, so that the SIMD kernels get its ISA flags; a
# `make fuzz` above must not hand its variables or jobserver down
rm -rf "$out/obj" "${libs_built[@]}"
if ! env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -j"$(nproc)" BUILD="$out" \
        CC="$CC" OPT=-O1 SAN_FLAGS="$SAN" CFLAGS=-fsanitize=fuzzer-no-link \
        FOREST_CUDA=off "${libs_built[@]}"
then
    echo "library build failed"; exit 1
fi

# every target is built first, then FUZZ_JOBS of them (default: one per
# CPU) run side by side, so CI gives each its full time in a fraction of it
run_target() {
    local name=$1 corpus=$out/corpus-$1
    mkdir -p "$corpus"
    [ -d "fuzz/corpus/$name" ] && cp -n fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
    "$out/$name" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix="$out/artifacts/$name-" -print_final_stats=1 \
        "$corpus" > "$out/$name.log" 2>&1
    echo $? > "$out/$name.rc"
}

failed=() built=()
for t in "${targets[@]}"; do
    name=$(basename "$t" .c)
    libs=$(sed -n 's,^// *FUZZ_LIBS: *,,p' "$t")
    # shellcheck disable=SC2086
    if ! $CC $cflags -fsanitize=fuzzer "$t" "${libs_built[@]}" -lm $libs \
            -o "$out/$name"; then
        failed+=("$name(build)"); continue
    fi
    built+=("$name")
done
jobs_max=${FUZZ_JOBS:-$(nproc)}
echo "fuzz: ${#built[@]} targets, ${secs}s each, $jobs_max at a time"
for name in "${built[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
    run_target "$name" &
done
wait
for name in "${built[@]}"; do
    echo "== $name: $(grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' \
        "$out/$name.log" | tr '\n' ' ')"
    if [ "$(cat "$out/$name.rc")" -ne 0 ]; then
        failed+=("$name")
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' \
            "$out/$name.log" | head -6
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: failed: ${failed[*]} (logs: $out/<target>.log)"
    exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${secs}s each without a failure"
