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
. bench/lib.sh
VENV=build/venv-shap
bench_venv "$VENV" scripts/requirements-shap.txt
mkdir -p "$BUILD/shap-bench" "$BUILD/bin"
BUILD=$(cd "$BUILD" && pwd)
DIR=$BUILD/shap-bench
bench_models "$VENV/bin/python" "$DIR"
bench_cc "$BUILD" shap_bench
exec "$VENV/bin/python" bench/shap_bench.py --shap-bench "$BUILD/bin/shap_bench" \
    --dir "$DIR" "$@"
