#!/usr/bin/env bash
# HTTP benchmark: ngx_forest against NGINX's own `return 200` (the floor any
# module can approach) and the servers people use today for the same model
# (Flask + gunicorn doing xgboost predict, Seldon MLServer's xgboost runtime),
# side by side in one run, measured with wrk.
#
# Usage: bench/http_bench.sh [BUILD]   (BUILD holds ngx_http_forest_module.so;
#                                       default build)
# Environment (defaults in brackets):
#   BENCH_DURATION [10s]  each timed case     BENCH_WARMUP [2s]  per endpoint
#   BENCH_CONNS [16 256]  connection counts   BENCH_ROWS [1 64]  rows/request
#   BENCH_SERVER_CPUS [0] BENCH_CLIENT_CPUS [1]   (taskset lists)
#   BENCH_PEERS [return200 forest forest_1tree forest_v2 flask mlserver]
#   BENCH_FLASK_THREADS [4]   MLSERVER_VENV [/tmp/venv-mlserver]
#   BENCH_PORT [19801]: nginx; +1 gunicorn; +2..+4 MLServer http/grpc/metrics
#   BENCH_FOREST_PARAMS []: more forest_model keys for the bench model
#                   (e.g. "batch_delay=1ms max_batch_size=16")
#   BENCH_NICE [0]: niceness of every server and of wrk alike (e.g. -10 on a
#                   machine shared with other work; root only)
#
# Same CPU share for everyone: every server (with all its threads and
# processes) is pinned to BENCH_SERVER_CPUS and wrk (1 thread) to
# BENCH_CLIENT_CPUS.  nginx: 1 worker, forest_model threads=1 and the default
# batching (batch_delay=0); gunicorn: 1 gthread worker with
# BENCH_FLASK_THREADS threads; MLServer: parallel_workers 0 (inference in the
# server process).  XGBoost in the Python peers runs with 1 thread
# (OMP_NUM_THREADS=1).  Access logs are off everywhere.
#
# The model is bench/make_bench_models.py's XGBoost binary:logistic (500
# trees, max_depth 8, 32 features).  forest_1tree sends the same requests to
# that model's first tree alone: the module's own cost, nearly without the
# prediction, next to return 200.  Requests carry 1 or 64 rows without
# missing values (V2 JSON has no NaN).  Before anything is timed, each
# endpoint's answer to the 64-row request is checked against XGBoost's own
# predictions (1e-5); a wrong answer stops the run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
MODULE=$BUILD/ngx_http_forest_module.so
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNS=${BENCH_CONNS:-16 256}
ROWS=${BENCH_ROWS:-1 64}
SERVER_CPUS=${BENCH_SERVER_CPUS:-0}
CLIENT_CPUS=${BENCH_CLIENT_CPUS:-1}
PEERS=${BENCH_PEERS:-return200 forest forest_1tree forest_v2 flask mlserver}
FLASK_THREADS=${BENCH_FLASK_THREADS:-4}
MLSERVER_VENV=${MLSERVER_VENV:-/tmp/venv-mlserver}
PORT=${BENCH_PORT:-19801}
NGINX=${NGINX:-/usr/sbin/nginx}
NICE=${BENCH_NICE:-0}

cd "$ROOT"
. bench/lib.sh
[ -f "$MODULE" ] || { echo "no module at $MODULE (make BUILD=...)"; exit 1; }
DATA=$ROOT/build/bench
MODEL=$DATA/xgb_bench.json
if [ ! -f "$MODEL" ] || [ ! -f "$DATA/bench.f32" ]; then
    python3 bench/make_bench_models.py --out "$DATA"
fi

RUN=$(mktemp -d /tmp/http_bench.XXXXXX)
BODIES=$RUN/bodies
python3 bench/http_payloads.py make "$BODIES" "$MODEL" "$DATA/bench.f32"
RESULTS=$RUN/results.tsv
: > "$RESULTS"
NOTES=$RUN/notes.txt
: > "$NOTES"

declare -A URL BODY_KIND SERVER_PID
URL[return200]=http://127.0.0.1:$PORT/floor
URL[forest]=http://127.0.0.1:$PORT/predict/bench
URL[forest_1tree]=http://127.0.0.1:$PORT/predict/bench_1tree
URL[forest_v2]=http://127.0.0.1:$PORT/v2/models/bench/infer
URL[flask]=http://127.0.0.1:$((PORT + 1))/predict
URL[mlserver]=http://127.0.0.1:$((PORT + 2))/v2/models/bench/infer
BODY_KIND=([return200]=simple [forest]=simple [forest_1tree]=simple
           [forest_v2]=v2 [flask]=simple [mlserver]=v2)
# which model answers, for the reference answer and the rows per batch
declare -A MODEL_OF=([forest_1tree]=bench_1tree)

PIDS=()
NGINX_STARTED=0

cleanup() {
    local pid
    if [ "$NGINX_STARTED" = 1 ] && [ -f "$RUN/nginx/logs/nginx.pid" ]; then
        kill -QUIT "$(cat "$RUN/nginx/logs/nginx.pid")" 2>/dev/null || true
    fi
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    sleep 0.5
}
trap cleanup EXIT

note() { echo "$*" | tee -a "$NOTES"; }

wants() { [[ " $PEERS " == *" $1 "* ]]; }

# NAME URL LOG (bench/lib.sh), its complaint kept in the notes too
wait_ready() {
    bench_wait_ready "$@" | tee -a "$NOTES"
    return "${PIPESTATUS[0]}"
}

start_nginx() {
    local d=$RUN/nginx
    bench_nginx_conf "$d" "$MODULE" 4096 "$(cat <<EOF
    # probabilities, like xgboost predict (the default of a binary:logistic
    # model is its class id, as with Triton FIL's output_class)
    forest_model bench $MODEL threads=1 is_classifier=off ${BENCH_FOREST_PARAMS:-};
    # the same requests through the module with only the model's first tree:
    # what the module costs beside the 500-tree prediction
    forest_model bench_1tree $BODIES/model_1tree.json threads=1 is_classifier=off;
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location /predict/ { forest_predict; }
        location /v2/ { forest_kserve; }
        location = /metrics { forest_metrics; }
        # the floor: NGINX answers without any module work (the body is
        # read and discarded, as a module has to read it too)
        location = /floor {
            default_type application/json;
            return 200 '{"predictions":[0.5]}';
        }
    }
EOF
)"
    nice -n "$NICE" taskset -c "$SERVER_CPUS" "$NGINX" -p "$d" -c conf/nginx.conf
    NGINX_STARTED=1
    SERVER_PID[nginx]=$(cat "$d/logs/nginx.pid")
    wait_ready nginx "http://127.0.0.1:$PORT/v2/health/ready" "$d/logs/error.log"
}

start_flask() {
    OMP_NUM_THREADS=1 BENCH_MODEL=$MODEL \
        nice -n "$NICE" taskset -c "$SERVER_CPUS" gunicorn -w 1 -k gthread --threads "$FLASK_THREADS" --backlog 4096 \
        -b "127.0.0.1:$((PORT + 1))" --chdir "$ROOT/bench/http_peers" \
        flask_app:app > "$RUN/gunicorn.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID[flask]=$!
    wait_ready flask "http://127.0.0.1:$((PORT + 1))/" "$RUN/gunicorn.log"
}

start_mlserver() {
    local d=$RUN/mlserver
    if ! "$MLSERVER_VENV/bin/python" -c 'import mlserver, mlserver_xgboost' \
            > "$RUN/mlserver-import.log" 2>&1; then
        note "MLServer skipped: no mlserver + mlserver-xgboost in $MLSERVER_VENV" \
             "($(tail -1 "$RUN/mlserver-import.log")); install with:" \
             "python3 -m venv $MLSERVER_VENV &&" \
             "$MLSERVER_VENV/bin/pip install mlserver mlserver-xgboost"
        return 1
    fi
    mkdir -p "$d"
    cp bench/http_peers/mlserver/settings.json \
       bench/http_peers/mlserver/model-settings.json "$d/"
    ln -s "$MODEL" "$d/model.json"
    OMP_NUM_THREADS=1 MLSERVER_HTTP_PORT=$((PORT + 2)) \
        MLSERVER_GRPC_PORT=$((PORT + 3)) MLSERVER_METRICS_PORT=$((PORT + 4)) \
        nice -n "$NICE" taskset -c "$SERVER_CPUS" "$MLSERVER_VENV/bin/mlserver" start "$d" \
        > "$RUN/mlserver.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID[mlserver]=$!
    wait_ready mlserver "http://127.0.0.1:$((PORT + 2))/v2/models/bench/ready" \
        "$RUN/mlserver.log"
}

check_answer() {  # PEER
    local out=$RUN/answer_$1.json code
    code=$(curl -s -o "$out" -w '%{http_code}' -H 'Content-Type: application/json' \
           --data-binary "@$BODIES/${BODY_KIND[$1]}_64.json" "${URL[$1]}")
    if [ "$1" = return200 ]; then
        [ "$code" = 200 ] || { note "return200 answered $code"; return 1; }
        echo "  return200: HTTP 200 (no prediction: the floor)"
        return 0
    fi
    if [ "$code" != 200 ]; then
        note "$1 answered HTTP $code: $(head -c 300 "$out")"
        return 1
    fi
    echo -n "  $1: 64 predictions, "
    local ref=$BODIES/ref_64.json
    [ "${MODEL_OF[$1]:-bench}" = bench ] || ref=$BODIES/ref_${MODEL_OF[$1]#bench_}_64.json
    python3 bench/http_payloads.py check "$ref" "$out"
}

# CPU time (clock ticks) of a server's whole process tree, all threads: on a
# machine shared with other work, server CPU per request is the steadier
# figure beside requests/s
server_ticks() {  # ROOT_PID
    local pids=" $1 " added=1 pid ppid t=0
    while [ "$added" = 1 ]; do
        added=0
        while read -r pid ppid; do
            if [[ "$pids" == *" $ppid "* && "$pids" != *" $pid "* ]]; then
                pids+="$pid "; added=1
            fi
        done < <(ps -e -o pid=,ppid=)
    done
    for pid in $pids; do
        # utime and stime: fields 14 and 15, counted after the ")" of comm
        t=$((t + $(sed -E 's/.*\) //' "/proc/$pid/stat" 2>/dev/null \
                   | awk '{ s += $12 + $13 } END { print s + 0 }')))
    done
    echo "$t"
}

# rows and executions of a model so far (for rows per batch)
forest_counts() {  # MODEL
    curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '
        $0 ~ "^nv_inference_count\\{model=\"" m "\"" { r = $2 }
        $0 ~ "^nv_inference_exec_count\\{model=\"" m "\"" { e = $2 }
        END { print r + 0, e + 0 }'
}

server_of() {
    case $1 in return200|forest*) echo nginx ;; *) echo "$1" ;; esac
}

run_wrk() {  # PEER ROWS CONNS DURATION [record]
    local out t0 t1 c0 c1 batch= pid=${SERVER_PID[$(server_of "$1")]}
    t0=$(server_ticks "$pid")
    [ "$(server_of "$1")" = nginx ] && c0=$(forest_counts "${MODEL_OF[$1]:-bench}")
    out=$(WRK_BODY=$BODIES/${BODY_KIND[$1]}_$2.json nice -n "$NICE" taskset -c "$CLIENT_CPUS" \
          wrk -t1 -c"$3" -d"$4" --timeout 5s -s bench/wrk/post.lua "${URL[$1]}" \
          2>&1) || { note "wrk failed on $1: $out"; return 1; }
    t1=$(server_ticks "$pid")
    [ "${5:-}" = record ] || return 0
    if [ "$1" != return200 ] && [ "$(server_of "$1")" = nginx ]; then
        c1=$(forest_counts "${MODEL_OF[$1]:-bench}")
        batch=$(echo "$c0 $c1" | awk '$4 > $2 {
            printf " rows_per_batch=%.1f", ($3 - $1) / ($4 - $2) }')
    fi
    local line
    line=$(echo "$out" | grep '^WRK_RESULT') \
        || { note "no wrk result for $1: $out"; return 1; }
    line="${line#WRK_RESULT } server_cpu_us=$(( (t1 - t0) * 1000000 / $(getconf CLK_TCK) ))"
    # requests=.. duration_us=.. p50_us=.. p99_us=.. non2xx=.. errors=.. server_cpu_us=..
    echo "$1 $2 $3 $(echo "$line" | sed -E 's/[a-z0-9_]+=//g')" >> "$RESULTS"
    printf '  %-10s rows=%-3s conns=%-4s %s%s\n' "$1" "$2" "$3" "$line" "$batch"
}

echo "ngx_forest HTTP benchmark: $(nproc) CPUs ($(lscpu | sed -nE 's/^Model name: +//p' | head -1))," \
     "servers on CPU $SERVER_CPUS, wrk on CPU $CLIENT_CPUS, $DURATION per case, nice $NICE"
echo "model $MODEL; run dir $RUN"
note "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" \
     "(other work on this machine shares the CPUs)"

ACTIVE=()
for p in $PEERS; do
    case $p in
        return200|forest*)
            [ "$NGINX_STARTED" = 1 ] || start_nginx ;;
        flask) start_flask ;;
        mlserver) start_mlserver || continue ;;
        *) echo "unknown peer $p"; exit 1 ;;
    esac
    ACTIVE+=("$p")
done

echo "checking one answer of each (64 rows) against XGBoost before timing:"
for p in "${ACTIVE[@]}"; do
    check_answer "$p"
done

echo "timing:"
for p in "${ACTIVE[@]}"; do
    run_wrk "$p" 1 16 "$WARMUP"
    for rows in $ROWS; do
        for c in $CONNS; do
            run_wrk "$p" "$rows" "$c" "$DURATION" record
        done
    done
done
# 1 connection: the latency of one request on an idle server
for p in return200 forest; do
    if [[ " ${ACTIVE[*]} " == *" $p "* ]]; then
        run_wrk "$p" 1 1 "$DURATION" record
    fi
done

note "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
cleanup
trap - EXIT
PIDS=()
NGINX_STARTED=0

echo
python3 bench/http_report.py "$RESULTS" "$NOTES"
