#!/usr/bin/env bash
# gRPC benchmark: ModelInfer (tritonclient's request, raw FP32 input) against
# the module's own HTTP paths for the same rows (KServe v2 with the binary
# tensor extension, and KServe v2 JSON), and against MLServer's gRPC server
# (mlserver-xgboost, the same model, the same ModelInfer frames), all driven
# by one load generator, h2load (nghttp2-client): HTTP/2 with pre-built gRPC
# frames, HTTP/1.1 for the HTTP paths.  A real load generator rather than a
# Python client: one h2load thread keeps a 1-core server saturated, which no
# grpcio process does.
#
# Usage: bench/grpc_bench.sh [BUILD]   (BUILD holds ngx_http_forest_module.so)
# Environment (defaults in brackets):
#   BENCH_DURATION [8]  seconds per run   BENCH_WARMUP [1]   BENCH_REPEAT [3]
#   BENCH_STREAMS [1 16 256]   BENCH_ROWS [1 64]
#   BENCH_PATHS [grpc mlserver v2bin v2json]
#   BENCH_SERVER_CPUS [0] BENCH_CLIENT_CPUS [1]
#   BENCH_PORT [19901]: +1 gRPC, +2 MLServer gRPC, +3 MLServer HTTP
#   BENCH_FOREST_PARAMS []: more forest_model keys for the model
#       (e.g. "inline_max=0": every batch on a batch thread)
#   MLSERVER_VENV [BUILD/venv-mlserver]: made from bench/requirements-mlserver.txt
#       (scripts/make_venv.sh) when missing or older than it
#   BENCH_PYTHON [MLSERVER_VENV/bin/python]: numpy, xgboost (the model and its
#       reference answers), tritonclient[grpc] (the payloads and the checks)
#   BENCH_KEEP: set, the run's folder (/tmp/grpc_bench.*: configs, server
#       logs, h2load's per-request logs) stays; unset, it is removed at exit
#
# MLServer (bench/mlserver/*.json): one process, parallel_workers 0, so
# inference runs in the process that speaks gRPC; with parallel_workers 1 each
# call also crosses a queue to a worker process, which on one core only costs
# (fewer req/s in every cell here).  Adaptive batching off (its default).
# XGBoost with OMP_NUM_THREADS=1; the whole process pinned to
# BENCH_SERVER_CPUS, as nginx is.
#
# The machine may be shared and noisy, so every cell (rows x streams) runs
# its paths back-to-back, BENCH_REPEAT times over, and the table shows the
# medians over the repeats; "vs MLServer" is the median of each repeat's
# req/s over MLServer's in the same repeat.
#
# Streams: gRPC multiplexes: 1 stream = 1 connection; 16 = 1 connection
# with 16 streams (one client channel); 256 = 4 connections x 64.  HTTP/1.1
# has no streams: N connections.  nginx: 1 worker pinned to BENCH_SERVER_CPUS, the model with
# threads=1 and default batching, as in bench/http_bench.sh.  "CPU us/req" is
# the server's CPU time (utime+stime from /proc: the nginx worker, MLServer's
# whole process tree) over the requests answered.  Before anything is timed,
# each server's answer to the 64-row ModelInfer frame (and nginx's to the
# HTTP binary payload) is checked against XGBoost's own predictions
# (bench/grpc_payloads.py check, check-grpc).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
MODULE=$BUILD/ngx_http_forest_module.so
DURATION=${BENCH_DURATION:-8}
WARMUP=${BENCH_WARMUP:-1}
REPEAT=${BENCH_REPEAT:-3}
STREAMS=${BENCH_STREAMS:-1 16 256}
ROWS=${BENCH_ROWS:-1 64}
PATHS=${BENCH_PATHS:-grpc mlserver v2bin v2json}
SERVER_CPUS=${BENCH_SERVER_CPUS:-0}
CLIENT_CPUS=${BENCH_CLIENT_CPUS:-1}
PORT=${BENCH_PORT:-19901}
VENV=${MLSERVER_VENV:-$BUILD/venv-mlserver}
PY=${BENCH_PYTHON:-$VENV/bin/python}
NGINX=${NGINX:-/usr/sbin/nginx}

cd "$ROOT"
. bench/lib.sh
[ -f "$MODULE" ] || { echo "no module at $MODULE (make BUILD=...)"; exit 1; }
command -v h2load >/dev/null || { echo "h2load missing (apt-get install nghttp2-client)"; exit 1; }
if [ ! "$VENV/.stamp" -nt bench/requirements-mlserver.txt ]; then
    echo "making $VENV from bench/requirements-mlserver.txt"
    bash scripts/make_venv.sh "$VENV" bench/requirements-mlserver.txt
fi
DATA=$BUILD/bench
MODEL=$DATA/xgb_bench.json
if [ ! -f "$MODEL" ] || [ ! -f "$DATA/bench.f32" ]; then
    "$PY" bench/make_bench_models.py --out "$DATA"
fi

RUN=$(mktemp -d /tmp/grpc_bench.XXXXXX)
B=$RUN/bodies
"$PY" bench/http_payloads.py make "$B" "$MODEL" "$DATA/bench.f32"
"$PY" bench/grpc_payloads.py make "$B" "$DATA/bench.f32"

d=$RUN/nginx
bench_nginx_conf "$d" "$MODULE" 4096 "$(cat <<EOF
    http2_max_concurrent_streams 256;
    forest_model bench $MODEL threads=1 is_classifier=off ${BENCH_FOREST_PARAMS:-};
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location /v2/ { forest_kserve; }
    }
    server {
        listen 127.0.0.1:$((PORT + 1)) http2 backlog=4096;
        location /inference.GRPCInferenceService/ { forest_grpc; }
    }
EOF
)"
mls_pid=
stop_servers() {
    kill -QUIT "$(cat "$d/logs/nginx.pid")" 2>/dev/null || true
    [ -n "$mls_pid" ] || return 0
    kill "$mls_pid" 2>/dev/null || true
    # MLServer can hang on exit with calls left in flight by h2load
    for _ in $(seq 50); do kill -0 "$mls_pid" 2>/dev/null || return 0; sleep 0.2; done
    pkill -KILL -P "$mls_pid" || true
    kill -KILL "$mls_pid" 2>/dev/null || true
}
trap 'stop_servers; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$RUN"' EXIT
taskset -c "$SERVER_CPUS" "$NGINX" -p "$d" -c conf/nginx.conf
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/v2/health/ready" && break; sleep 0.1; done
declare -A SERVER_PID
SERVER_PID[nginx]=$(pgrep -P "$(cat "$d/logs/nginx.pid")" | head -1)

"$PY" bench/grpc_payloads.py check "127.0.0.1:$((PORT + 1))" "127.0.0.1:$PORT" "$B" \
    || { echo "wrong answers: not timing"; exit 1; }

if [[ " $PATHS " == *" mlserver "* ]]; then
    m=$RUN/mlserver
    mkdir -p "$m"
    cp bench/mlserver/settings.json bench/mlserver/model-settings.json "$m/"
    ln -s "$MODEL" "$m/model.json"
    # from its own folder: MLServer writes its scratch folders into the cwd
    (cd "$m" && OMP_NUM_THREADS=1 MLSERVER_GRPC_PORT=$((PORT + 2)) \
        MLSERVER_HTTP_PORT=$((PORT + 3)) exec taskset -c "$SERVER_CPUS" \
        "$VENV/bin/mlserver" start .) > "$m/mlserver.log" 2>&1 &
    mls_pid=$!
    SERVER_PID[mlserver]=$mls_pid
    for _ in $(seq 600); do
        curl -sf -m 2 -o /dev/null "http://127.0.0.1:$((PORT + 3))/v2/models/bench/ready" && break
        kill -0 "$mls_pid" 2>/dev/null || break
        sleep 0.2
    done
    curl -sf -m 2 -o /dev/null "http://127.0.0.1:$((PORT + 3))/v2/models/bench/ready" \
        || { echo "MLServer not ready:"; tail -20 "$m/mlserver.log"; exit 1; }
    "$PY" bench/grpc_payloads.py check-grpc "MLServer gRPC" "127.0.0.1:$((PORT + 2))" "$B" \
        || { echo "wrong answers: not timing"; exit 1; }
fi

# CPU clock ticks of a process and all its descendants, all threads
tree_ticks() {
    local t c
    t=$(awk '{ print $14 + $15 }' "/proc/$1/stat")
    for c in $(pgrep -P "$1"); do t=$((t + $(tree_ticks "$c"))); done
    echo "$t"
}
hz=$(getconf CLK_TCK)

# run_case PATH ROWS STREAMS REP: one timed run, one line of $RUN/results
run_case() {
    local path=$1 rows=$2 s=$3 r=$4 args log out t0 t1 reqs pid=${SERVER_PID[nginx]}
    log=$RUN/$path-$rows-$s-$r.log
    case $path in
    grpc|mlserver)
        local c=1 m=$s port=$((PORT + 1))
        [ "$s" -gt 16 ] && c=4 m=$((s / 4))
        if [ "$path" = mlserver ]; then port=$((PORT + 2)) pid=${SERVER_PID[mlserver]}; fi
        args=(-c "$c" -m "$m" -d "$B/grpc_$rows.bin"
              -H 'content-type: application/grpc' -H 'te: trailers'
              "http://127.0.0.1:$port/inference.GRPCInferenceService/ModelInfer") ;;
    v2bin)
        args=(--h1 -c "$s" -d "$B/v2bin_$rows.bin"
              -H "inference-header-content-length: $(cat "$B/v2bin_$rows.len")"
              "http://127.0.0.1:$PORT/v2/models/bench/infer") ;;
    v2json)
        args=(--h1 -c "$s" -d "$B/v2_$rows.json"
              "http://127.0.0.1:$PORT/v2/models/bench/infer") ;;
    esac
    taskset -c "$CLIENT_CPUS" h2load -t 1 -D "$WARMUP" "${args[@]}" > /dev/null 2>&1
    t0=$(tree_ticks "$pid")
    out=$(taskset -c "$CLIENT_CPUS" h2load -t 1 -D "$DURATION" --log-file="$log" \
          "${args[@]}" 2>&1)
    t1=$(tree_ticks "$pid")
    reqs=$(sed -nE 's/^requests: .* ([0-9]+) succeeded.*/\1/p' <<<"$out")
    # the log's third column: microseconds until the end of the response
    sort -n -k3,3 "$log" | awk -v path="$path" -v rows="$rows" -v s="$s" -v r="$r" \
        -v dur="$DURATION" -v reqs="${reqs:-0}" -v cpu="$((t1 - t0))" -v hz="$hz" '
        { lat[n++] = $3 }
        END {
            printf "%d %d %s %d %.1f %.3f %.3f %.1f\n", rows, s, path, r,
                   reqs / dur, lat[int(n * 0.5)] / 1000, lat[int(n * 0.99)] / 1000,
                   reqs ? cpu / hz * 1e6 / reqs : 0
        }' >> "$RUN/results"
}

echo "CPU: $(sed -nE 's/^model name\s*: //p' /proc/cpuinfo | head -1), servers on CPU $SERVER_CPUS, h2load on CPU $CLIENT_CPUS"
echo "each cell: paths back-to-back ($PATHS), $REPEAT times, ${DURATION} s a run; medians"
for rows in $ROWS; do
    for s in $STREAMS; do
        for r in $(seq "$REPEAT"); do
            for path in $PATHS; do
                run_case "$path" "$rows" "$s" "$r"
            done
        done
    done
done
"$PY" - "$RUN/results" <<'EOF'
import sys
from collections import defaultdict
from statistics import median

runs = defaultdict(dict)  # (rows, streams, path) -> {rep: (req/s, p50, p99, cpu)}
for line in open(sys.argv[1]):
    rows, s, path, r, *vals = line.split()
    runs[int(rows), int(s), path][r] = tuple(map(float, vals))
print("rows streams  path             req/s   p50 ms    p99 ms CPU us/req vs MLServer")
for (rows, s, path), reps in runs.items():
    med = [median(v[i] for v in reps.values()) for i in range(4)]
    mls = runs.get((rows, s, "mlserver"), {})
    ratios = [v[0] / mls[r][0] for r, v in reps.items() if mls.get(r, (0,))[0] > 0]
    ratio = f" {median(ratios):10.1f}x" if ratios and path != "mlserver" else ""
    print(f"{rows:4d} {s:7d}  {path:<12s} {med[0]:9.0f} {med[1]:9.3f} {med[2]:9.3f}"
          f" {med[3]:10.1f}{ratio}")
EOF
if grep -E '\[(alert|crit|emerg)\]' "$d/logs/error.log"; then echo "error.log has alerts"; exit 1; fi
