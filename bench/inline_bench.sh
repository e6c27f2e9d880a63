#!/usr/bin/env bash
# Batches on the event loop (forest_model inline_max): what they save and
# what they may cost the other requests, in one run of one nginx worker.
#
# Usage: bench/inline_bench.sh [BUILD]   (BUILD holds ngx_http_forest_module.so;
#                                         default build)
# Environment (defaults in brackets):
#   BENCH_DURATION [5s] each timed case   BENCH_ROUNDS [3]: rounds, medians kept
#   BENCH_SERVER_CPUS [0] BENCH_CLIENT_CPUS [1]   (taskset lists)
#   BENCH_PORT [19811]
#
# 1. Cost: 1-row requests at 16 connections to return 200, to
#    bench/http_bench.sh's 1-tree model and to its 500-tree model, each
#    model with the default inline_max and with inline_max=0 (every batch on
#    a thread), the cases interleaved round by round.  Server CPU time per
#    request (the worker and its threads, from /proc) is the figure to
#    compare on a shared machine; requests/s is printed beside it.
# 2. Responsiveness: 1-row requests to the 1-tree model at 8 connections
#    (the probe) while 4 connections send 64-row requests to the 500-tree
#    model configured with inline_max=0, the default, and 5ms (a bound that
#    lets those batches run on the event loop): the probe's p50/p99 say what
#    a batch on the loop costs the requests behind it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
MODULE=$BUILD/ngx_http_forest_module.so
DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-3}
SERVER_CPUS=${BENCH_SERVER_CPUS:-0}
CLIENT_CPUS=${BENCH_CLIENT_CPUS:-1}
PORT=${BENCH_PORT:-19811}

cd "$ROOT"
. bench/lib.sh
[ -f "$MODULE" ] || { echo "no module at $MODULE (make BUILD=...)"; exit 1; }
DATA=$ROOT/build/bench
VENV=build/venv-bench
bench_venv "$VENV" bench/requirements-peers.txt
bench_models "$VENV/bin/python" "$DATA"

RUN=$(mktemp -d /tmp/inline_bench.XXXXXX)
BODIES=$RUN/bodies
"$VENV/bin/python" bench/http_payloads.py make "$BODIES" "$DATA/xgb_bench.json" \
    "$DATA/bench.f32"

D=$RUN/nginx
bench_nginx_conf "$D" "$MODULE" 4096 "$(cat <<EOF
    forest_model big $DATA/xgb_bench.json threads=1 is_classifier=off;
    forest_model big_thr $DATA/xgb_bench.json threads=1 is_classifier=off inline_max=0;
    forest_model big_5ms $DATA/xgb_bench.json threads=1 is_classifier=off inline_max=5ms;
    forest_model t1 $BODIES/model_1tree.json threads=1 is_classifier=off;
    forest_model t1_thr $BODIES/model_1tree.json threads=1 is_classifier=off inline_max=0;
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location /predict/ { forest_predict; }
        location = /floor {
            default_type application/json;
            return 200 '{"predictions":[0.5]}';
        }
    }
EOF
)"
taskset -c "$SERVER_CPUS" /usr/sbin/nginx -p "$D" -c conf/nginx.conf
trap 'kill -QUIT "$(cat "$D/logs/nginx.pid")" 2>/dev/null || true; sleep 0.5; rm -rf "$RUN"' EXIT
bench_wait_ready nginx "http://127.0.0.1:$PORT/floor" "$D/logs/error.log"
WORKER=$(pgrep -P "$(cat "$D/logs/nginx.pid")" | head -1)

echo "inline bench: $(nproc) CPUs ($(lscpu | sed -nE 's/^Model name: +//p' | head -1)), nginx" \
     "worker on CPU $SERVER_CPUS, wrk on CPU $CLIENT_CPUS, $DURATION per case, $ROUNDS rounds"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

# CPU ticks of the worker and all its threads
ticks() { awk '{ s += $14 + $15 } END { print s }' /proc/"$WORKER"/task/*/stat; }

url() { [ "$1" = floor ] && echo "http://127.0.0.1:$PORT/floor" || echo "http://127.0.0.1:$PORT/predict/$1"; }

# CASE ROWS CONNS DURATION: prints the WRK_RESULT line
wrk_line() {
    WRK_BODY=$BODIES/simple_$2.json taskset -c "$CLIENT_CPUS" \
        wrk -t1 -c"$3" -d"$4" --timeout 5s -s bench/wrk/post.lua "$(url "$1")" \
        | grep '^WRK_RESULT'
}

field() { sed -E "s/.* $1=([0-9]+).*/\\1/" <<<"$2"; }

CASES="floor t1 t1_thr big big_thr"
OUT=$RUN/cost.txt
: > "$OUT"
for c in $CASES; do wrk_line "$c" 1 16 1s > /dev/null; done
for r in $(seq 1 "$ROUNDS"); do
    for c in $CASES; do
        t0=$(ticks)
        line=$(wrk_line "$c" 1 16 "$DURATION")
        t1=$(ticks)
        n=$(field requests "$line")
        echo "$c $(awk -v t=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
             'BEGIN { printf "%.2f", t * 1e6 / hz / n }') \
             $((n * 1000000 / $(field duration_us "$line"))) $(field p99_us "$line")" >> "$OUT"
    done
done

echo
echo "1. cost, 1-row requests, 16 connections (medians of $ROUNDS rounds):"
awk -v cases="$CASES" '
    { cpu[$1] = cpu[$1] " " $2; rps[$1] = rps[$1] " " $3; p99[$1] = p99[$1] " " $4 }
    function median(s,   a, n, i, j, t) {
        n = split(s, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return a[int((n + 1) / 2)]
    }
    END {
        n = split(cases, c, " ")
        floor = median(cpu["floor"])
        printf "  %-8s %16s %14s %10s %10s\n", "case", "server us/req", "of floor''s", "req/s", "p99 us"
        for (i = 1; i <= n; i++) {
            m = median(cpu[c[i]])
            printf "  %-8s %16.2f %13.0f%% %10d %10d\n", c[i], m, 100 * floor / m,
                median(rps[c[i]]), median(p99[c[i]])
        }
    }' "$OUT"

echo
echo "2. probe (1 row, 1-tree model, 8 connections) while 4 connections send"
echo "   64-row requests to the 500-tree model:"
for r in $(seq 1 "$ROUNDS"); do
    for big in big_thr big big_5ms; do
        wrk_line t1 1 8 "$DURATION" > "$RUN/probe" &
        load=$(wrk_line "$big" 64 4 "$DURATION")
        wait
        probe=$(cat "$RUN/probe")
        printf '  round %s, load on %-8s probe p50 %5s us p99 %6s us; load p99 %6s us, %s req\n' \
            "$r" "$big" "$(field p50_us "$probe")" "$(field p99_us "$probe")" \
            "$(field p99_us "$load")" "$(field requests "$load")"
    done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
