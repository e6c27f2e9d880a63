#!/usr/bin/env bash
# Request/response codec (codec/, libforest_codec.a): has the Makefile build
# the C driver tests/codec/test_codec.c against the codec library, plainly
# and with SANITIZE=1 (ASan+UBSan, codec included), runs both, and has the
# real tritonclient build requests for it and decode its answers.
# $1: absolute build dir.  Last line: N passed, N failed, N skipped.
set -uo pipefail
build=${1:?build dir}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$build/codec
mkdir -p "$work"
passed=0 failed=0 skipped=0

. "$root/tests/lib.sh"

# bodies built by the real tritonclient (build/venv's), decoded below
rm -rf "$work/triton" && mkdir -p "$work/triton"
if ! python3 "$root/tests/codec/gen_triton.py" gen "$work/triton"; then
    bad "tritonclient did not build the request bodies ($(command -v python3); make venv)"
fi

# each variant in a build dir of its own, so that neither replaces the
# objects of $build's own flavour; a `make test` above must not hand its
# variables or jobserver down
for variant in plain san; do
    vbuild=$work/$variant sanitize=0
    [ $variant = san ] && sanitize=1
    bin=$vbuild/tests/codec/test_codec
    if ! env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$root" \
            BUILD="$vbuild" SANITIZE=$sanitize "$bin"; then
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
