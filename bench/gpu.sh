#!/usr/bin/env bash
# GPU checks and benchmark (issue 4), in two steps:
#
#   bench/gpu.sh prepare     on a build machine (nvcc, Debian nginx): builds the
#                            CUDA build into build/gpu, the benchmark models,
#                            and the carry folders .gpucarry/ and .devpack/
#                            (the latter with $FOREST_TOOLS/pack-nginx.sh, a
#                            developers' tool kept outside the repository)
#   bench/gpu.sh run         on the GPU machine (no packages needed), from the
#                            repository root, with .gpucarry and .devpack carried:
#                            1. parity: every model of tests/reference/models
#                               and tests/models through the GPU executor against
#                               the libraries' own outputs (tests/parity.py)
#                            2. kernel rows/s at batch 1..1M on the benchmark
#                               model and the large model, vs the CPU executor on
#                               all cores (build/gpu/bin/gpu_bench)
#                            3. end to end over HTTP: nginx + the module, wrk,
#                               80-row requests on the large model: inferences/s, p99
# Results go to $OUT (or ./gpu-results) as text files; the last lines of each
# step are printed.  Runs unattended; each step is bounded in time.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CARRY=$ROOT/.gpucarry
PACK=$ROOT/.devpack
RES=${OUT:-$ROOT/gpu-results}
DURATION=${DURATION:-15s}

prepare() {
    set -e
    local pack=${FOREST_TOOLS:?set FOREST_TOOLS to the folder holding pack-nginx.sh}/pack-nginx.sh
    make BUILD=build/gpu FOREST_CUDA=on all gpu-bench
    [ -f build/bench/xgb_bench.json ] || python3 bench/make_bench_models.py --out build/bench
    rm -rf "$CARRY" && mkdir -p "$CARRY/bin"
    cp build/gpu/bin/forest build/gpu/bin/gpu_bench "$CARRY/bin/"
    cp build/bench/xgb_bench.json "$CARRY/"
    # 20k rows of the benchmark input; gpu_bench repeats them up to 1M rows
    head -c $((20000 * 32 * 4)) build/bench/bench.f32 > "$CARRY/bench.f32"
    bash "$pack" -o "$PACK" \
        -m build/gpu/ngx_http_forest_module.so -c bench/gpu/nginx.conf.in \
        -x bench/gpu/post_file.lua
    du -sh "$CARRY" "$PACK"
}

step_parity() {
    echo "== parity: GPU executor vs the libraries' outputs"
    FOREST_PARITY_ARGS="--device gpu" \
        timeout 300 python3 tests/parity.py "$CARRY" > "$RES/parity.txt" 2>&1
    grep -v '^ok' "$RES/parity.txt" | tail -15
}

step_kernel() {
    echo "== kernel: rows/s by batch size (GPU kernel, GPU end to end, CPU all cores)"
    timeout 240 "$CARRY/bin/gpu_bench" "$CARRY/xgb_bench.json" "$CARRY/bench.f32" 32 \
        > "$RES/kernel_bench_model.txt" 2>&1
    cat "$RES/kernel_bench_model.txt"
    timeout 240 "$CARRY/bin/gpu_bench" "$PACK/data/large.txt" "$CARRY/bench.f32" 32 \
        --reps 3 > "$RES/kernel_large_model.txt" 2>&1
    cat "$RES/kernel_large_model.txt"
}

step_http() {
    echo "== HTTP: 80-row requests on the large model"
    python3 - "$RES/body80.json" <<'PY'
import json, random, sys
rng = random.Random(80)
rows = [[round(rng.uniform(-1, 1), 6) for _ in range(32)] for _ in range(80)]
open(sys.argv[1], "w").write(json.dumps({"instances": rows}))
PY
    export PORT=18480 WORKERS=${WORKERS:-8} RUN=/tmp/gpu-bench-nginx
    # GPU_DEVICE=auto lets the same run go through on a machine without a GPU
    sed "s/device=gpu/device=${GPU_DEVICE:-gpu}/" "$PACK/conf/nginx.conf.in" \
        > "$RES/nginx.conf.in"
    export CONF_IN=$RES/nginx.conf.in
    "$PACK/run-nginx.sh" start || { tail -20 "$RUN/logs/error.log"; return 1; }
    sleep 2
    grep -E 'forest|CUDA|GPU' "$RUN/logs/error.log" | tail -5
    for target in large large_cpu; do
        curl -s -o "$RES/sample_$target.json" -X POST --data-binary @"$RES/body80.json" \
            "http://127.0.0.1:$PORT/predict/$target" || echo "no curl: no sample answer kept"
        for conns in 64 256; do
            echo "-- $target, $conns connections, $DURATION"
            BODY_FILE=$RES/body80.json timeout 120 "$PACK/wrk.sh" -t8 -c$conns \
                -d"$DURATION" --latency -s "$PACK/data/post_file.lua" \
                "http://127.0.0.1:$PORT/predict/$target" \
                > "$RES/wrk_${target}_c$conns.txt" 2>&1
            grep -E 'Requests/sec|99%|50%|Non-2xx|Socket errors' "$RES/wrk_${target}_c$conns.txt"
            awk '/Requests\/sec/ {printf "inferences/s = %.0f (80 rows a request)\n", $2 * 80}' \
                "$RES/wrk_${target}_c$conns.txt"
        done
    done
    curl -s "http://127.0.0.1:$PORT/metrics" > "$RES/metrics.txt" 2>/dev/null || true
    "$PACK/run-nginx.sh" stop
    cp "$RUN/logs/error.log" "$RES/nginx-error.log" 2>/dev/null || true
}

run() {
    mkdir -p "$RES"
    chmod +x "$CARRY"/bin/* "$PACK"/*.sh "$PACK"/bin/* 2>/dev/null
    export LD_LIBRARY_PATH="$PACK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; date -u; } \
        > "$RES/machine.txt" 2>&1
    cat "$RES/machine.txt"
    [ -f "$PACK/data/large.txt" ] || python3 bench/make_large_model.py "$PACK/data/large.txt"
    step_parity
    step_kernel
    step_http
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) echo "usage: bench/gpu.sh prepare|run" >&2; exit 2 ;;
esac
