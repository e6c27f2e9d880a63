#!/usr/bin/env bash
# `make bench`: CPU benchmark of forest against XGBoost, LightGBM and lleaves.
# Usage: bench/run.sh BUILD [cpu_bench.py options, e.g. --seconds 2]
# Models and data are generated once into build/bench/ (not committed).
set -euo pipefail
BUILD=${1:-build}
shift || true
cd "$(dirname "$0")/.."
DIR=build/bench
mkdir -p "$DIR" "$BUILD/bin"
if [ ! -f "$DIR/xgb_bench.json" ] || [ ! -f "$DIR/lgb_bench.txt" ] \
   || [ ! -f "$DIR/bench.f32" ]; then
    python3 bench/make_bench_models.py --out "$DIR"
fi
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iforest \
    -o "$BUILD/bin/forest_bench" bench/forest_bench.c "$BUILD/libforest.a" \
    -pthread -lm
# lleaves 1.3 needs llvmlite's legacy pass manager (< 0.45): use a venv
# when the system llvmlite is newer (never downgrade the global one)
LLEAVES_PY=python3
if ! python3 -c 'import lleaves, llvmlite.binding as b; b.PassManagerBuilder' \
        2>/dev/null; then
    LLEAVES_PY=/tmp/venv-lleaves/bin/python
    if ! "$LLEAVES_PY" -c 'import lleaves' 2>/dev/null; then
        python3 -m venv /tmp/venv-lleaves
        /tmp/venv-lleaves/bin/pip install -q 'llvmlite<0.45' lleaves numpy
    fi
fi
python3 bench/cpu_bench.py --forest-bench "$BUILD/bin/forest_bench" \
    --dir "$DIR" --lleaves-python "$LLEAVES_PY" "$@"
