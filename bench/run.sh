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
DIR=build/bench
VENV=build/venv-bench
mkdir -p "$DIR" "$BUILD/bin"
if [ ! -f "$VENV/.stamp" ] || [ bench/requirements-peers.txt -nt "$VENV/.stamp" ]; then
    bash scripts/make_venv.sh "$VENV" bench/requirements-peers.txt
fi
PY=$VENV/bin/python
if [ ! -f "$DIR/xgb_bench.json" ] || [ ! -f "$DIR/lgb_bench.txt" ] \
   || [ ! -f "$DIR/bench.f32" ]; then
    "$PY" bench/make_bench_models.py --out "$DIR"
fi
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iforest \
    -o "$BUILD/bin/forest_bench" bench/forest_bench.c "$BUILD/libforest.a" \
    -pthread -lm
"$PY" bench/cpu_bench.py --forest-bench "$BUILD/bin/forest_bench" \
    --dir "$DIR" --lleaves-python "$PY" "$@"
