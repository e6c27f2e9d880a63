#!/usr/bin/env bash
# The codec's number paths against libc (bench/codec/codec_micro.c): builds
# it with the codec's float text source and runs it.  Usage: bench/codec/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${TMPDIR:-/tmp}/forest_codec_micro
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Ingx_module \
    -o "$out" bench/codec/codec_micro.c ngx_module/forest_codec_float.c -lm
"$out"
