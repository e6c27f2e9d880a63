#!/usr/bin/env bash
# Request/response codec (ngx_module/forest_codec_*.c): builds the C driver
# tests/codec/test_codec.c with the codec sources and yajl, plainly and under
# ASan+UBSan, runs both, and has the real tritonclient build requests for it
# and decode its answers.  $1: absolute build dir.  Last line: N passed, N failed, N skipped.
set -uo pipefail
build=${1:?build dir}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$build/codec
mkdir -p "$work"
passed=0 failed=0 skipped=0

. "$root/tests/lib.sh"

srcs=("$root"/ngx_module/forest_codec_*.c)
flags=(-std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Werror -I"$root/ngx_module"
       -I"$root/tests/unit")
san=(-O1 -fsanitize=address,undefined -fno-omit-frame-pointer
     -fno-sanitize-recover=undefined)

# bodies built by the real tritonclient (build/venv's), decoded below
rm -rf "$work/triton" && mkdir -p "$work/triton"
if ! python3 "$root/tests/codec/gen_triton.py" gen "$work/triton"; then
    bad "tritonclient did not build the request bodies ($(command -v python3); make venv)"
fi

for variant in plain san; do
    extra=(-O2) bin=$build/codec-test
    [ $variant = san ] && extra=("${san[@]}") bin=$build/codec-test-san
    if ! ${CC:-cc} "${flags[@]}" "${extra[@]}" "$root/tests/codec/test_codec.c" \
            "${srcs[@]}" -lyajl -lm -o "$bin"; then
        echo "codec-test ($variant) does not build"; failed=$((failed + 1)); continue
    fi
    out=$("$bin" "$work/triton" 2>&1); rc=$?
    echo "$out" | tail -20
    tally "$out" $rc
done

out=$(python3 "$root/tests/codec/gen_triton.py" check "$work/triton" 2>&1); rc=$?
echo "$out"
tally "$out" $rc

summary
