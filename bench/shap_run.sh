#!/usr/bin/env bash
# Contributions benchmark: forest's TreeSHAP against XGBoost's pred_contribs
# and LightGBM's pred_contrib, one thread, batch 1, 64 and 10,000, on the
# bench models (bench/make_bench_models.py, generated once into
# BUILD/shap-bench/), in the pinned venv of scripts/requirements-shap.txt.
# Usage: bench/shap_run.sh BUILD [shap_bench.py options, e.g. --seconds 5]
set -euo pipefail
BUILD=${1:-build}
shift || true
cd "$(dirname "$0")/.."
VENV=build/venv-shap
DIR=$BUILD/shap-bench
[ -f "$VENV/.stamp" ] || bash scripts/make_venv.sh "$VENV" scripts/requirements-shap.txt
mkdir -p "$DIR" "$BUILD/bin"
BUILD=$(cd "$BUILD" && pwd)
DIR=$BUILD/shap-bench
if [ ! -f "$DIR/xgb_bench.json" ] || [ ! -f "$DIR/lgb_bench.txt" ] \
   || [ ! -f "$DIR/bench.f32" ]; then
    "$VENV/bin/python" bench/make_bench_models.py --out "$DIR"
fi
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Iforest \
    -o "$BUILD/bin/shap_bench" bench/shap_bench.c "$BUILD/libforest.a" \
    -pthread -lm
exec "$VENV/bin/python" bench/shap_bench.py --shap-bench "$BUILD/bin/shap_bench" \
    --dir "$DIR" "$@"
