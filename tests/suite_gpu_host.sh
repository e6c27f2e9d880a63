#!/usr/bin/env bash
# The GPU executor's layout (gpu/gpu_layout.cu) and per-row walk
# (gpu/gpu_walk.cuh, the kernel's body) run on the CPU through
# `forest predict --device gpu-host`, against the libraries' own outputs on
# every reference model, by tests/parity.py's rules: all of the GPU path but
# the launch, checked without a GPU.  $1 = absolute build dir.  Skips
# (0 passed, 0 failed) when the build has no CUDA (no nvcc).
set -uo pipefail
BUILD=${1:?usage: suite_gpu_host.sh BUILD_DIR}
cd "$(dirname "$0")/.."
probe=${FOREST_SHARED:-../shared}/models/lgb_binary
why=$("$BUILD/bin/forest" predict "$probe.txt" "$probe.input.csv" \
      --device gpu-host 2>&1 >/dev/null)
if [[ "$why" == *"no CUDA support"* ]]; then
    echo "skip: this build has no CUDA (gpu/ needs nvcc)"
    echo "0 passed, 0 failed"
    exit 0
fi
FOREST_PARITY_ARGS="--device gpu-host" exec python3 tests/parity.py "$BUILD"
