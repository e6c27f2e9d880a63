#!/usr/bin/env bash
# HTTP contributions benchmark: ngx_forest answering SHAP contributions
# (simple API, "contributions": true) against a hand-rolled Flask server
# calling XGBoost's predict(pred_contribs=True) (bench/shap_flask.py, gunicorn
# with one sync worker), on the XGBoost bench model of bench/shap_run.sh
# (BUILD/shap-bench/xgb_bench.json: 500 trees, depth 8, 32 features).
#
# Usage: bench/shap_http.sh [BUILD]   (BUILD holds ngx_http_forest_module.so
#                                      and the bench models; default build)
# Environment (defaults in brackets):
#   BENCH_DURATION [10s] each timed case    BENCH_ROUNDS [3] rounds of all cases
#   BENCH_CONNS [1 16]   BENCH_ROWS [1 64]  rows per request
#   BENCH_SERVER_CPUS [0] BENCH_CLIENT_CPUS [1]  (taskset lists)
#   BENCH_PORT [19821]: nginx; +1 gunicorn
#
# Same CPU for both: each server (all its processes and threads) is pinned
# to BENCH_SERVER_CPUS, wrk (1 thread) to BENCH_CLIENT_CPUS.  nginx: one
# worker, forest_model threads=1; gunicorn: one sync worker, XGBoost with
# nthread=1 (and OMP_NUM_THREADS=1).  Access logs are off in both.  Both get
# the same request bytes ({"instances": rows, "contributions": true}; 1 or
# 64 complete rows of bench.f32); before timing, both answers to the 64-row
# request are checked against XGBoost's own pred_contribs (1e-5 absolute +
# 1e-5 relative, per value), and a wrong answer stops the run.  The two
# servers are timed back to back in every case, in alternating order, each
# round; after each case the server is left to finish what wrk left queued
# (its CPU time stops growing) so that it does not slow the next case.  The
# report gives per-case medians over the rounds and the median of the
# per-round ratios: on a machine shared with other work the ratio of two
# servers timed together is the steadier figure, and CPU time per request
# (both servers' whole process trees) the steadiest.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. bench/lib.sh
BUILD=$(cd "${1:-build}" && pwd)
MODULE=$BUILD/ngx_http_forest_module.so
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNS:-1 16}
ROWS=${BENCH_ROWS:-1 64}
SERVER_CPUS=${BENCH_SERVER_CPUS:-0}
CLIENT_CPUS=${BENCH_CLIENT_CPUS:-1}
PORT=${BENCH_PORT:-19821}
NGINX=${NGINX:-/usr/sbin/nginx}
VENV=build/venv-flask

[ -f "$MODULE" ] || { echo "no module at $MODULE (make BUILD=... module)"; exit 1; }
[ -f "$VENV/.stamp" ] || bash scripts/make_venv.sh "$VENV" bench/requirements-flask.txt
# the bench models exactly as bench/shap_run.sh finds or makes them
DIR=$BUILD/shap-bench
MODEL=$DIR/xgb_bench.json
if [ ! -f "$MODEL" ] || [ ! -f "$DIR/lgb_bench.txt" ] || [ ! -f "$DIR/bench.f32" ]; then
    [ -f build/venv-shap/.stamp ] \
        || bash scripts/make_venv.sh build/venv-shap scripts/requirements-shap.txt
    build/venv-shap/bin/python bench/make_bench_models.py --out "$DIR"
fi

RUN=$(mktemp -d /tmp/shap_http.XXXXXX)
"$VENV/bin/python" bench/shap_flask.py make "$RUN" "$MODEL" "$DIR/bench.f32"
RESULTS=$RUN/results.tsv
: > "$RESULTS"

declare -A URL PID_OF
URL[forest]=http://127.0.0.1:$PORT/predict/bench
URL[flask]=http://127.0.0.1:$((PORT + 1))/contributions
GUNICORN_PID=
NGINX_STARTED=0

cleanup() {
    if [ "$NGINX_STARTED" = 1 ] && [ -f "$RUN/nginx/logs/nginx.pid" ]; then
        kill -QUIT "$(cat "$RUN/nginx/logs/nginx.pid")" 2>/dev/null || true
    fi
    if [ -n "$GUNICORN_PID" ]; then
        kill -TERM "$GUNICORN_PID" 2>/dev/null || true
        wait "$GUNICORN_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

start_nginx() {
    local d=$RUN/nginx
    bench_nginx_conf "$d" "$MODULE" 1024 "$(cat <<EOF
    forest_model bench $MODEL threads=1 is_classifier=off;
    server {
        listen 127.0.0.1:$PORT;
        location /predict/ { forest_predict; }
        location /v2/ { forest_kserve; }
    }
EOF
)"
    taskset -c "$SERVER_CPUS" "$NGINX" -p "$d" -c conf/nginx.conf
    NGINX_STARTED=1
    bench_wait_ready nginx "http://127.0.0.1:$PORT/v2/health/ready" "$d/logs/error.log"
    PID_OF[forest]=$(cat "$d/logs/nginx.pid")
}

start_flask() {
    # --timeout: a 64-row request queued behind 15 others takes far longer
    # than gunicorn's default 30 s allows a sync worker
    OMP_NUM_THREADS=1 taskset -c "$SERVER_CPUS" "$VENV/bin/gunicorn" -w 1 -k sync \
        --timeout 600 -b "127.0.0.1:$((PORT + 1))" --chdir "$ROOT/bench" \
        "shap_flask:create_app(\"$MODEL\")" > "$RUN/gunicorn.log" 2>&1 &
    GUNICORN_PID=$!
    bench_wait_ready flask "http://127.0.0.1:$((PORT + 1))/" "$RUN/gunicorn.log"
    PID_OF[flask]=$GUNICORN_PID
}

# CPU time (clock ticks) of a server's master and its children, all threads
server_ticks() {  # ROOT_PID
    local pid t=0
    for pid in "$1" $(pgrep -P "$1"); do
        # utime and stime: fields 14 and 15, counted after the ")" of comm
        t=$((t + $(sed -E 's/.*\) //' "/proc/$pid/stat" 2>/dev/null \
                   | awk '{ print $12 + $13 }')))
    done
    echo "$t"
}

# until the server has finished what wrk left queued: no CPU used for 1 s
wait_idle() {  # ROOT_PID
    local a b
    a=$(server_ticks "$1")
    while sleep 1; b=$(server_ticks "$1"); [ "$b" != "$a" ]; do a=$b; done
}

run_wrk() {  # SERVER ROWS CONNS DURATION [ROUND]
    local out t0 t1 line pid=${PID_OF[$1]}
    t0=$(server_ticks "$pid")
    out=$(WRK_BODY=$RUN/body_$2.json taskset -c "$CLIENT_CPUS" \
          wrk -t1 -c"$3" -d"$4" --timeout 120s -s bench/wrk/post.lua "${URL[$1]}" \
          2>&1) || { echo "wrk failed on $1: $out"; return 1; }
    t1=$(server_ticks "$pid")
    wait_idle "$pid"
    [ -n "${5:-}" ] || return 0
    line=$(echo "$out" | grep '^WRK_RESULT') || { echo "no wrk result for $1: $out"; return 1; }
    line="${line#WRK_RESULT } server_cpu_us=$(( (t1 - t0) * 1000000 / $(getconf CLK_TCK) ))"
    # requests duration_us p50_us p99_us non2xx errors server_cpu_us
    echo "$1 $2 $3 $5 $(echo "$line" | sed -E 's/[a-z0-9_]+=//g')" >> "$RESULTS"
    printf '  round %s %-6s rows=%-3s conns=%-3s %s\n' "$5" "$1" "$2" "$3" "$line"
}

CPU=$(lscpu | sed -nE 's/^Model name: +//p' | head -1)
echo "ngx_forest contributions over HTTP against Flask + XGBoost pred_contribs:" \
     "$(nproc) CPUs ($CPU), servers on CPU $SERVER_CPUS, wrk on CPU $CLIENT_CPUS," \
     "$DURATION per case, $ROUNDS rounds"
echo "model $MODEL; run dir $RUN"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

start_nginx
start_flask
echo "checking both answers to the 64-row request against XGBoost's pred_contribs:"
for s in forest flask; do
    code=$(curl -s -o "$RUN/answer_$s.json" -w '%{http_code}' \
           -H 'Content-Type: application/json' \
           --data-binary "@$RUN/body_64.json" "${URL[$s]}")
    [ "$code" = 200 ] || { echo "$s answered HTTP $code: $(head -c 300 "$RUN/answer_$s.json")"; exit 1; }
done
"$VENV/bin/python" bench/shap_flask.py check "$RUN/ref_64.json" \
    "$RUN/answer_forest.json" "$RUN/answer_flask.json"

echo "timing:"
for s in forest flask; do run_wrk "$s" 1 1 2s; done   # warm-up
for round in $(seq 1 "$ROUNDS"); do
    for rows in $ROWS; do
        for c in $CONNS; do
            # alternate who goes first, so neither always follows the other
            if [ $((round % 2)) = 1 ]; then order="forest flask"; else order="flask forest"; fi
            for s in $order; do run_wrk "$s" "$rows" "$c" "$DURATION" "$round"; done
        done
    done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup
trap - EXIT

echo
echo "$CPU; load average $LOAD0 at the start, $LOAD1 at the end"
"$VENV/bin/python" - "$RESULTS" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(dict)   # (rows, conns) -> {round: {server: fields}}
for line in open(sys.argv[1]):
    s, rows, conns, rnd, req, dur, p50, p99, non2xx, err, cpu = line.split()
    runs[(int(rows), int(conns))].setdefault(rnd, {})[s] = dict(
        rps=int(req) / (int(dur) / 1e6), p50=int(p50) / 1e3, p99=int(p99) / 1e3,
        bad=int(non2xx) + int(err), cpu=int(cpu) / max(int(req), 1))
med = statistics.median
print("medians over %d rounds; ratio: ngx_forest over Flask (median of the "
      "rounds' ratios)" % max(len(r) for r in runs.values()))
print("rows conns | %-36s | %-36s | ratio req/s  CPU/req"
      % ("Flask + XGBoost pred_contribs", "ngx_forest contributions"))
print("           |    req/s   p50 ms   p99 ms us CPU/req |"
      "    req/s   p50 ms   p99 ms us CPU/req |")
for (rows, conns), rounds in sorted(runs.items()):
    cols = []
    for s in ("flask", "forest"):
        v = [r[s] for r in rounds.values()]
        cols.append("%8.1f %8.2f %8.2f %11.0f" % tuple(
            med(x[k] for x in v) for k in ("rps", "p50", "p99", "cpu")))
    both = [r for r in rounds.values() if r["flask"]["rps"] > 0]
    ratio = med(r["forest"]["rps"] / r["flask"]["rps"] for r in both)
    cpu = med(r["flask"]["cpu"] / r["forest"]["cpu"] for r in both)
    bad = sum(x["bad"] for r in rounds.values() for x in r.values())
    print("%4d %5d | %s | %s | %7.1fx %7.1fx%s" % (
        rows, conns, cols[0], cols[1], ratio, cpu,
        "  (%d errors/non-2xx)" % bad if bad else ""))
EOF
