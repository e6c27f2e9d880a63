#!/usr/bin/env bash
# Builds every fuzz/fuzz_*.c target with clang's libFuzzer (+ASan/UBSan) and
# runs each for $1 seconds on its seed corpus.  Any crash fails the run.
set -euo pipefail
secs=${1:-60}
cd "$(dirname "$0")/.."
out=build/fuzz
mkdir -p "$out"
shopt -s nullglob
targets=(fuzz/fuzz_*.c)
[ ${#targets[@]} -gt 0 ] || { echo "no fuzz targets"; exit 0; }
srcs=$(ls forest/*.c | grep -v '_avx' ; true)
for t in "${targets[@]}"; do
    name=$(basename "$t" .c)
    extra=$(sed -n 's,^// *FUZZ_EXTRA_SRCS: *,,p' "$t")
    clang -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
        -Iforest -Ingx_module $t $srcs $extra -lm -lpthread $(sed -n 's,^// *FUZZ_LIBS: *,,p' "$t") -o "$out/$name"
    corpus=build/fuzz/corpus-$name
    mkdir -p "$corpus"
    [ -d "fuzz/corpus/$name" ] && cp -n fuzz/corpus/$name/* "$corpus"/ 2>/dev/null || true
    echo "== $name for ${secs}s"
    "$out/$name" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=0 "$corpus" 2>&1 | tail -3
done
