#!/usr/bin/env bash
# `make bench`: CPU benchmark of forest against XGBoost, LightGBM, lleaves,
# Intel oneDAL, ONNX Runtime, tl2cgen and Treelite GTIL.
# Usage: bench/run.sh BUILD [cpu_bench.py options, e.g. --seconds 2]
# Models and data are generated once into build/bench/ (not committed); the
# peers run from the pinned venv build/venv-bench (bench/requirements-peers.txt).
set -euo pipefail
BUILD=${1:-build}
shift || true
cd "$(dirname "$0")/.."
. bench/lib.sh
DIR=build/bench
VENV=build/venv-bench
mkdir -p "$DIR" "$BUILD/bin"
bench_venv "$VENV" bench/requirements-peers.txt
PY=$VENV/bin/python
bench_models "$PY" "$DIR"
bench_cc "$BUILD" forest_bench
"$PY" bench/cpu_bench.py --forest-bench "$BUILD/bin/forest_bench" \
    --dir "$DIR" --lleaves-python "$PY" "$@"
