#!/usr/bin/env bash
# Builds every fuzz/fuzz_*.c target with clang's libFuzzer (+ASan/UBSan,
# UBSan fatal) and runs each for SECS seconds on a work copy of its seed
# corpus (fuzz/corpus/<target>/, written by fuzz/make_seeds.py).
#
#   fuzz/run.sh [SECS] [TARGET...]      (default 60 s, every target)
#
# The library is compiled once; *_avx2.c / *_avx512.c get the same -m flags
# as in the Makefile.  A target may name extra sources and libraries in
# "// FUZZ_EXTRA_SRCS: ..." and "// FUZZ_LIBS: ..." lines.  Crashes, leaks,
# timeouts and over-large allocations are saved under build/fuzz/artifacts/;
# every target runs, and the exit status is 1 if any of them failed.
set -uo pipefail
secs=${1:-60}
shift || true
cd "$(dirname "$0")/.."
out=build/fuzz
CC=${FUZZ_CC:-$(command -v clang-14 || command -v clang)}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -pthread -Iforest -Ingx_module $SAN"
AVX2="-mavx2 -mfma -mbmi -mbmi2"
AVX512="$AVX2 -mavx512f -mavx512vl -mavx512bw -mavx512dq"
mkdir -p "$out/obj" "$out/artifacts"

shopt -s nullglob
if [ $# -gt 0 ]; then
    targets=(); for t in "$@"; do targets+=("fuzz/$t.c"); done
else
    targets=(fuzz/fuzz_*.c)
fi
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets"; exit 0; }

compile_lib() {
    local src=$1 obj=$out/obj/$(basename "${1%.c}").o flags=
    case $src in
        *_avx512.c) flags=$AVX512 ;;
        *_avx2.c) flags=$AVX2 ;;
    esac
    $CC $CFLAGS -fsanitize=fuzzer-no-link $flags -c "$src" -o "$obj"
}
export -f compile_lib
export CC CFLAGS AVX2 AVX512 out
rm -f "$out"/obj/*.o
if ! printf '%s\n' forest/*.c forest/load/*.c | xargs -P "$(nproc)" -I{} bash -c 'compile_lib {}'
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
    extra=$(sed -n 's,^// *FUZZ_EXTRA_SRCS: *,,p' "$t")
    libs=$(sed -n 's,^// *FUZZ_LIBS: *,,p' "$t")
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS -fsanitize=fuzzer "$t" $extra "$out"/obj/*.o -lm $libs \
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
