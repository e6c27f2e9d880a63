#!/usr/bin/env bash
# The GPU executor's layout (gpu/gpu_layout.cu) and per-row walk
# (gpu/gpu_walk.cuh, the kernel's body) run on the CPU through
# `forest predict --device gpu-host`, against the libraries' own outputs on
# every reference model, by tests/parity.py's rules: all of the GPU path but
# the launch, checked without a GPU.  $1 = absolute build dir.  A build
# without CUDA has no GPU executor to check: one named skip.  (nvcc is
# NVIDIA's CUDA toolkit, in Debian only in non-free and some GB: not
# something scripts/install-deps.sh installs; gpu/ is built where it is.)
set -uo pipefail
BUILD=${1:?usage: suite_gpu_host.sh BUILD_DIR}
cd "$(dirname "$0")/.."
probe=tests/reference/models/lgb_binary
why=$("$BUILD/bin/forest" predict "$probe.txt" "$probe.input.csv" \
      --device gpu-host 2>&1 >/dev/null)
if [[ "$why" == *"no CUDA support"* ]]; then
    echo "SKIP no CUDA toolkit: gpu/ not built (no nvcc, or FOREST_CUDA=off)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
FOREST_PARITY_ARGS="--device gpu-host" exec python3 tests/parity.py "$BUILD"
