#!/usr/bin/env bash
# What a realistic Lua pre hook costs (issue: with the hook, at least 70% of
# the requests/s without it, 1-row requests).  Serves the benchmark model
# twice from one nginx -- /plain (JSON rows, decoded by the codec) and /hook
# (one named transaction through bench/lua/bench_pre.lua: two string
# categories, one derived feature, the rest by name) -- checks that both
# answer the same prediction, then drives each with wrk and prints
# requests/s both ways and the ratio.  Then bench/lua/lua_modes.c times the
# hook core alone with the JIT compiler off (as served) and on.
#
# Usage: bench/lua_bench.sh BUILD   (env: DURATION=10s CONNS=16 THREADS=1
#        ROUNDS=2 PORT=19510; the model: build/bench/xgb_bench.json from
#        bench/make_bench_models.py, else
#        tests/reference/models/xgb_binary.json)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-2}
PORT=${PORT:-19510}
module=$BUILD/ngx_http_forest_module.so
[ -f "$module" ] || { echo "no module at $module (make BUILD=...)"; exit 1; }

model=$ROOT/build/bench/xgb_bench.json rows=$ROOT/build/bench/bench.csv
if [ ! -f "$model" ]; then
    model=$ROOT/tests/reference/models/xgb_binary.json
    rows=${model%.json}.input.csv
fi

work=$(mktemp -d /tmp/forest-lua-bench.XXXXXX)
nginx_pid=
cleanup() {
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/logs"

# one request of each kind, from the first complete row; the transaction
# says the same as the row: f0 = channel code, f1 = merchant code,
# f2 = amount / items
python3 - "$rows" "$work" <<'EOF'
import csv, json, math, sys
rows, work = sys.argv[1], sys.argv[2]
with open(rows) as f:
    r = csv.reader(f)
    next(r)
    row = next(x for x in r if all(x))
v = [float(x) for x in row]
v[0], v[1] = 1.0, 7.0                 # channel "app", merchant "m07"
items = 4
with open(f"{work}/plain.json", "w") as f:
    json.dump({"instances": [v]}, f)
tx = {"channel": "app", "merchant": "m07", "amount": v[2] * items, "items": items}
tx.update({f"f{j}": v[j] for j in range(3, len(v))})
with open(f"{work}/hook.json", "w") as f:
    json.dump(tx, f)
EOF

cat > "$work/nginx.conf" <<EOF
load_module $module;
worker_processes 1;
daemon off;
error_log $work/logs/error.log warn;
pid $work/logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/cb; proxy_temp_path $work/p;
    fastcgi_temp_path $work/f; uwsgi_temp_path $work/u; scgi_temp_path $work/s;
    forest_model bench $model predict_proba=on;
    server {
        listen 127.0.0.1:$PORT;
        location = /plain { forest_predict bench; }
        location = /hook  { forest_predict bench;
                            forest_lua_pre $ROOT/bench/lua/bench_pre.lua; }
    }
}
EOF

/usr/sbin/nginx -p "$work" -c "$work/nginx.conf" &
nginx_pid=$!
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/plain" && break
    sleep 0.1
done

plain=$(curl -s --data-binary @"$work/plain.json" "http://127.0.0.1:$PORT/plain")
hook=$(curl -s --data-binary @"$work/hook.json" "http://127.0.0.1:$PORT/hook")
echo "model: $model"
echo "plain: $plain"
echo "hook:  $hook"
if [ "$plain" != "$hook" ] || [[ "$plain" != *predictions* ]]; then
    echo "the two endpoints do not answer the same prediction"
    exit 1
fi

rps() {   # path body -> requests/s
    BODY_FILE=$2 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" \
        -s "$ROOT/bench/lua/wrk_post.lua" "http://127.0.0.1:$PORT$1" \
        | awk '/^Requests\/sec:/ { print $2 }'
}

# warm both paths, then alternate so that drift hits both alike
BODY_FILE=$work/plain.json wrk -t1 -c4 -d1s -s "$ROOT/bench/lua/wrk_post.lua" \
    "http://127.0.0.1:$PORT/plain" > /dev/null
BODY_FILE=$work/hook.json wrk -t1 -c4 -d1s -s "$ROOT/bench/lua/wrk_post.lua" \
    "http://127.0.0.1:$PORT/hook" > /dev/null

sum_plain=0 sum_hook=0
for i in $(seq "$ROUNDS"); do
    p=$(rps /plain "$work/plain.json")
    h=$(rps /hook "$work/hook.json")
    echo "round $i: without hook $p req/s, with hook $h req/s"
    sum_plain=$(echo "$sum_plain + $p" | bc -l)
    sum_hook=$(echo "$sum_hook + $h" | bc -l)
done

if grep -E '\[(error|alert|crit|emerg)\]' "$work/logs/error.log"; then
    echo "errors in the log"
    exit 1
fi

printf "1-row requests, %s connections, %s x %s: without hook %.0f req/s, " \
    "$CONNS" "$ROUNDS" "$DURATION" "$(echo "$sum_plain / $ROUNDS" | bc -l)"
printf "with pre hook %.0f req/s, ratio %.1f%% (goal >= 70%%)\n" \
    "$(echo "$sum_hook / $ROUNDS" | bc -l)" \
    "$(echo "100 * $sum_hook / $sum_plain" | bc -l)"

# the hook core alone: JIT compiler off (as served) against on
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$ROOT/lua" \
    -I"$ROOT/codec" -I/usr/include/luajit-2.1 -o "$work/lua_modes" \
    "$ROOT/bench/lua/lua_modes.c" "$ROOT"/lua/forest_lua_*.c -lluajit-5.1 -lyajl -lm
"$work/lua_modes" "$ROOT/bench/lua/bench_pre.lua" "$work/hook.json" \
    "$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['instances'][0]))" "$work/plain.json")"
