#!/usr/bin/env bash
# The codec's number paths against libc (bench/codec/codec_micro.c): builds
# it against the codec library and runs it.  Usage: bench/codec/run.sh [BUILD]
set -euo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
make -s BUILD="$BUILD" "$BUILD/bin/codec_micro"
"$BUILD/bin/codec_micro"
