#!/usr/bin/env bash
# GPU checks and benchmark (issue 17), in two steps, plus a rehearsal:
#
#   bench/gpu.sh prepare     on a build machine (nvcc, Debian nginx): builds the
#                            CUDA build into build/gpu, the benchmark model,
#                            and the carry folders .gpucarry/ and .devpack/
#                            (the latter with $FOREST_TOOLS/pack-nginx.sh, a
#                            developers' tool kept outside the repository)
#   bench/gpu.sh run         on the GPU machine (no packages needed), from the
#                            repository root, with .gpucarry and .devpack carried:
#                            1. parity: every model of tests/reference/models
#                               and tests/models through the GPU executor, once
#                               per --gpu-kernel, against the libraries' own
#                               outputs (tests/parity.py)
#                            2. rows/s of every kernel strategy at batch 1, 16,
#                               80, 1024, 65536 and 1M on the benchmark model and
#                               the 5000-tree depth-12 model, the GPU end to end
#                               and the CPU executor on all cores (gpu_bench)
#                            3. contributions: the GPU TreeSHAP on every
#                               reference model, all 200 rows, against the
#                               libraries' and the CPU's (gpu_shap_checks),
#                               and rows/s at batch 1, 64 and 10,000 on the
#                               benchmark model, GPU end to end and the CPU
#                               TreeSHAP on one thread (gpu_bench --contribs)
#                            4. HTTP: nginx + the module, wrk, 80-row requests
#                               to both models on the GPU (the defaults) and on
#                               the CPU, then the GPU ones again under CUDA MPS
#                            5. the tables (bench/gpu/table.py), with the
#                               transfer_threshold the crossover recommends
#   bench/gpu.sh rehearse    here, no CUDA: every step the run takes that needs
#                            none (request files, the nginx configuration
#                            rendered and checked by nginx -t with the module,
#                            the MPS step's checks, the tables on
#                            bench/gpu/rehearse/'s fake results); with
#                            FOREST_TOOLS set also the packing and the whole
#                            HTTP step against the packed nginx, on the CPU
#                            (device=auto).  BUILD names the module's build
#                            (default build), FOREST_NGINX the nginx that tests it
#                            (default /usr/sbin/nginx).  tests/suite_gpu_bench.sh
#                            runs it.
# Results go to $OUT (or ./gpu-results) as raw files, and table.txt; the last
# lines of each step are printed.  Runs unattended; each step is bounded in
# time (RUN_BUDGET, 450 s, bounds them all), and the whole run takes about 6
# minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CARRY=$ROOT/.gpucarry
PACK=$ROOT/.devpack
RES=${OUT:-$ROOT/gpu-results}
DURATION=${DURATION:-10s}
KERNELS="auto rows trees compact"
# the whole run stays inside 8 minutes of device time: each step's timeout
# is cut to what is left of RUN_BUDGET seconds
RUN_BUDGET=${RUN_BUDGET:-450}

# budget N: N seconds, or what is left of the run's budget if less (at
# least 1)
budget() {
    local left=$((RUN_BUDGET - SECONDS))
    left=$((left < $1 ? left : $1))
    echo $((left > 0 ? left : 1))
}
# target -> model file in the pack's data/ and device
TARGETS="bench bench_cpu large large_cpu"

# The 80-row request body of the HTTP step: $1 = file.
request_file() {
    python3 - "$1" <<'PY'
import json, random, sys
rng = random.Random(80)
rows = [[round(rng.uniform(-1, 1), 6) for _ in range(32)] for _ in range(80)]
open(sys.argv[1], "w").write(json.dumps({"instances": rows}))
PY
}

# The nginx.conf.in of the HTTP step with the GPU models on device $1
# (gpu, or auto where no GPU is), to $2.
render_conf() {
    sed "s/device=gpu/device=$1/" bench/gpu/nginx.conf.in > "$2"
}

# The large model: generated where it is used (standard library only), not
# carried: $1 = file, $2.. = make_large_model.py's options.
large_model() {
    [ -f "$1" ] || python3 bench/make_large_model.py "$@"
}

prepare() {
    set -e
    local pack=${FOREST_TOOLS:?set FOREST_TOOLS to the folder holding pack-nginx.sh}/pack-nginx.sh
    make BUILD=build/gpu FOREST_CUDA=on all gpu-bench
    [ -f build/bench/xgb_bench.json ] || python3 bench/make_bench_models.py --out build/bench
    rm -rf "$CARRY" && mkdir -p "$CARRY/bin"
    cp build/gpu/bin/forest build/gpu/bin/gpu_bench build/gpu/bin/gpu_shap_checks \
        "$CARRY/bin/"
    # 20k rows of the benchmark input; gpu_bench repeats them up to 1M rows.
    # The benchmark model travels once, in the pack (nginx and gpu_bench
    # both read it there): the carry is 64 MiB in all
    head -c $((20000 * 32 * 4)) build/bench/bench.f32 > "$CARRY/bench.f32"
    bash "$pack" -o "$PACK" \
        -m build/gpu/ngx_http_forest_module.so -c bench/gpu/nginx.conf.in \
        -x bench/gpu/post_file.lua -x build/bench/xgb_bench.json
    du -sh "$CARRY" "$PACK"
    local mb
    mb=$(du -smc "$CARRY" "$PACK" | tail -1 | cut -f1)
    [ "$mb" -le 64 ] || { echo "prepare: the carry is $mb MiB, over the device tool's 64" >&2; exit 1; }
}

step_parity() {
    local k
    for k in $KERNELS; do
        echo "== parity: GPU executor, --gpu-kernel $k, vs the libraries' outputs"
        FOREST_PARITY_ARGS="--device gpu --gpu-kernel $k" \
            timeout "$(budget 90)" python3 tests/parity.py "$CARRY" > "$RES/parity_$k.txt" 2>&1
        grep -v '^ok' "$RES/parity_$k.txt" | tail -8
    done
}

step_kernel() {
    echo "== rows/s by strategy and batch size"
    timeout "$(budget 120)" "$CARRY/bin/gpu_bench" "$PACK/data/xgb_bench.json" "$CARRY/bench.f32" 32 \
        > "$RES/kernel_bench.tsv" 2> "$RES/kernel_bench.err"
    tail -3 "$RES/kernel_bench.err"
    timeout "$(budget 150)" "$CARRY/bin/gpu_bench" "$PACK/data/large.txt" "$CARRY/bench.f32" 32 \
        --reps 3 > "$RES/kernel_large.tsv" 2> "$RES/kernel_large.err"
    tail -3 "$RES/kernel_large.err"
}

step_shap() {
    echo "== contributions: GPU TreeSHAP against the libraries' and the CPU's"
    timeout "$(budget 60)" "$CARRY/bin/gpu_shap_checks" --all 200 \
        > "$RES/shap_checks.txt" 2>&1
    grep -v '^ok' "$RES/shap_checks.txt" | tail -8
    echo "== contributions rows/s: GPU end to end, CPU TreeSHAP on one thread"
    timeout "$(budget 60)" "$CARRY/bin/gpu_bench" "$PACK/data/xgb_bench.json" "$CARRY/bench.f32" 32 \
        --contribs > "$RES/contrib_bench.tsv" 2> "$RES/contrib_bench.err"
    cat "$RES/contrib_bench.tsv"
    tail -3 "$RES/contrib_bench.err"
}

# One round of wrk against the running nginx: $1 = mps_on|mps_off, $2.. =
# targets.
wrk_round() {
    local mps=$1 target
    shift
    for target in "$@"; do
        curl -s -o "$RES/sample_${mps}_$target.json" -X POST \
            --data-binary @"$RES/body80.json" "http://127.0.0.1:$PORT/predict/$target" \
            || echo "no curl: no sample answer kept"
        echo "-- $target, MPS ${mps#mps_}, 64 connections, $DURATION"
        BODY_FILE=$RES/body80.json timeout "$(budget 30)" "$PACK/wrk.sh" -t8 -c64 \
            -d"$DURATION" --latency -s "$PACK/data/post_file.lua" \
            "http://127.0.0.1:$PORT/predict/$target" > "$RES/wrk_${mps}_$target.txt" 2>&1
        grep -E 'Requests/sec|99%|Non-2xx|Socket errors' "$RES/wrk_${mps}_$target.txt"
    done
}

nginx_start() {
    "$PACK/run-nginx.sh" start || { tail -20 "$RUN/logs/error.log"; return 1; }
    sleep 2
    grep -E 'forest|CUDA|GPU' "$RUN/logs/error.log" | tail -4
}

nginx_stop() {
    "$PACK/run-nginx.sh" stop
    cat "$RUN/logs/error.log" >> "$RES/nginx-error.log" 2>/dev/null || true
}

# CUDA MPS: the workers' contexts share the GPU at once.  Prints why not
# (to mps.txt too) and fails where the control daemon is absent or does
# not start.
mps_start() {
    export CUDA_MPS_PIPE_DIRECTORY=/tmp/forest-mps/pipe CUDA_MPS_LOG_DIRECTORY=/tmp/forest-mps/log
    if ! command -v nvidia-cuda-mps-control > /dev/null; then
        echo "SKIP MPS: nvidia-cuda-mps-control is not installed" | tee "$RES/mps.txt"
        return 1
    fi
    mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
    if ! nvidia-cuda-mps-control -d; then
        echo "SKIP MPS: nvidia-cuda-mps-control -d failed" | tee "$RES/mps.txt"
        return 1
    fi
}

mps_stop() {
    echo quit | nvidia-cuda-mps-control
}

step_http() {
    echo "== HTTP: 80-row requests, each model on the GPU (defaults) and the CPU"
    request_file "$RES/body80.json"
    export PORT=18480 WORKERS=${WORKERS:-8} RUN=/tmp/gpu-bench-nginx
    # GPU_DEVICE=auto lets the same run go through without a GPU (rehearse)
    render_conf "${GPU_DEVICE:-gpu}" "$RES/nginx.conf.in"
    export CONF_IN=$RES/nginx.conf.in
    nginx_start || return 1
    wrk_round mps_off $TARGETS
    curl -s "http://127.0.0.1:$PORT/metrics" > "$RES/metrics.txt" 2>/dev/null || true
    nginx_stop
    if mps_start; then
        nginx_start && wrk_round mps_on bench large
        nginx_stop
        mps_stop
    fi
}

machine() {
    { nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
        || echo "no nvidia-smi"; date -u; } > "$RES/machine.txt" 2>&1
    cat "$RES/machine.txt"
}

run() {
    mkdir -p "$RES"
    chmod +x "$CARRY"/bin/* "$PACK"/*.sh "$PACK"/bin/* 2>/dev/null
    export LD_LIBRARY_PATH="$PACK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    machine
    large_model "$PACK/data/large.txt"
    step_parity
    step_kernel
    step_shap
    step_http
    echo "== tables"
    python3 bench/gpu/table.py "$RES" | tee "$RES/table.txt"
}

rehearse_fail() {
    echo "rehearse: $*" >&2
    exit 1
}

# The configuration check of the HTTP step without the pack: the system
# nginx loads the module of $BUILD and tests the rendered configuration,
# its models stood in by small ones of the same shape.
rehearse_conf() {
    local dir=$1 so=$ROOT/${BUILD:-build}/ngx_http_forest_module.so
    [ -f "$so" ] || rehearse_fail "no $so (make BUILD=${BUILD:-build} module)"
    mkdir -p "$dir/data" "$dir/logs" "$dir/tmp"
    # the loaders tell the format by content: a small synthetic model of 32
    # features stands in for the benchmark model too
    large_model "$dir/data/xgb_bench.json" --trees 20 \
        && large_model "$dir/data/large.txt" --trees 20 \
        || rehearse_fail "make_large_model.py failed"
    render_conf auto "$dir/nginx.conf.in"
    sed -e "s|@PACK@/modules/|$(dirname "$so")/|; s|@PACK@|$dir|g; s|@RUN@|$dir|g" \
        -e "s|@PORT@|18480|; s|@WORKERS@|1|; s|@USER@||" \
        "$dir/nginx.conf.in" > "$dir/nginx.conf"
    grep -q '@' "$dir/nginx.conf" && rehearse_fail "placeholder left in $dir/nginx.conf"
    ${FOREST_NGINX:-/usr/sbin/nginx} -t -q -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" \
        || rehearse_fail "nginx -t rejects the benchmark configuration"
    echo "configuration: nginx -t passes (device=auto, module $so)"
}

rehearse() {
    tmp=$(mktemp -d /tmp/gpu-rehearse.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    RES=$tmp/res
    mkdir -p "$RES"
    request_file "$RES/body80.json"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["instances"]) == 80 and all(len(r) == 32 for r in d["instances"])' \
        "$RES/body80.json" || rehearse_fail "bad request file"
    echo "request file: 80 rows of 32 features"
    rehearse_conf "$tmp/conf"
    if command -v nvidia-cuda-mps-control > /dev/null; then
        echo "MPS: nvidia-cuda-mps-control found (not started in a rehearsal)"
    else
        mps_start && rehearse_fail "mps_start went on without nvidia-cuda-mps-control"
        grep -q '^SKIP MPS' "$RES/mps.txt" || rehearse_fail "no SKIP line for MPS"
    fi
    python3 bench/gpu/table.py bench/gpu/rehearse > "$tmp/table.txt" \
        || rehearse_fail "table.py failed on the fake results"
    for want in 'recommended transfer_threshold' 'compact' 'p99 ms' 'large_cpu' \
        'contributions rows/s' 'gpu / cpu'; do
        grep -q "$want" "$tmp/table.txt" || rehearse_fail "no '$want' in the table"
    done
    echo "tables: bench/gpu/table.py reads the fake results ($(wc -l < "$tmp/table.txt") lines)"
    if [ -n "${FOREST_TOOLS:-}" ]; then
        PACK=$tmp/pack
        bash "$FOREST_TOOLS/pack-nginx.sh" -o "$PACK" \
            -m "${BUILD:-build}/ngx_http_forest_module.so" -c bench/gpu/nginx.conf.in \
            -x bench/gpu/post_file.lua -x "$tmp/conf/data/xgb_bench.json" > "$tmp/pack.log" 2>&1 \
            || rehearse_fail "pack-nginx.sh failed: $(tail -3 "$tmp/pack.log")"
        large_model "$PACK/data/large.txt" --trees 20
        export LD_LIBRARY_PATH="$PACK/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        GPU_DEVICE=auto DURATION=1s WORKERS=2 step_http || rehearse_fail "the HTTP step failed"
        for t in $TARGETS; do
            grep -q 'Requests/sec' "$RES/wrk_mps_off_$t.txt" || rehearse_fail "no wrk result for $t"
            grep -q 'Non-2xx' "$RES/wrk_mps_off_$t.txt" && rehearse_fail "$t answered errors"
            grep -q '"predictions"' "$RES/sample_mps_off_$t.json" \
                || rehearse_fail "$t: no predictions in $(head -c 200 "$RES/sample_mps_off_$t.json")"
        done
        echo "HTTP step: ran against the packed nginx on the CPU"
    fi
    echo "rehearse: ok"
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    rehearse) rehearse ;;
    *) echo "usage: bench/gpu.sh prepare|run|rehearse" >&2; exit 2 ;;
esac
