#!/usr/bin/env bash
# `forest tune` and the Grafana dashboard (deploy/grafana/).
#  - forest info --thresholds: the split values the generated rows use;
#  - the sweep's plan on made-up measurements, and forest tune's errors;
#  - a short tune of models/iris.txt (two configurations at 4 connections,
#    2 s each, a p99 budget the shared CI machine keeps): the outputs exist
#    and agree (tests/tune_checks.py outputs), recommended.conf passes
#    nginx -t with the module;
#  - report.html rendered by headless Chromium: a screenshot that shows
#    something, both charts loaded, no console error;
#  - the dashboard read by Grafana's dashboard models (the pinned
#    grafana-foundation-sdk; no key they do not know, every value of their
#    type, and broken copies fail), and its metric names against what
#    /metrics of a running nginx exports.
# $1 = absolute build dir.
set -uo pipefail
BUILD=${1:?usage: suite_tune.sh BUILD_DIR}
FOREST=$BUILD/bin/forest
MODULE=$BUILD/ngx_http_forest_module.so
cd "$(dirname "$0")/.."
ROOT=$(pwd)
. tests/lib.sh
TMP=$(mktemp -d /tmp/suite_tune.XXXXXX)
NGINX_PID=
cleanup() {
    [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
passed=0 failed=0 skipped=0
NGINX=$(nginx_for_module "$MODULE" "${NGINX:-/usr/sbin/nginx}" "$TMP")
BUDGET_MS=2000

# check NAME CMD...: passes when CMD exits 0; its output is the reason
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name${out:+: ${out##*$'\n'}}"
    else bad "$name: ${out:0:600}"; fi
}

# ---- forest info --thresholds -------------------------------------------
thr=$("$FOREST" info models/iris.txt --thresholds 2>&1)
if [ "$(grep -c '^thresholds\[[0-3]\]: ' <<<"$thr")" = 4 ] \
   && python3 -c '
import re, sys
for line in sys.stdin:
    m = re.match(r"thresholds\[\d+\]: (.*)", line)
    if m:
        v = [float(x) for x in m.group(1).split(",")]
        assert v == sorted(set(v)), line
' <<<"$thr"; then
    ok "info --thresholds: iris's 4 features, ascending, distinct"
else
    bad "info --thresholds: ${thr:0:300}"
fi

cat_thr=$("$FOREST" info tests/reference/models/lgb_cat.txt --thresholds 2>&1)
if grep -Eq '^category_codes\[0\]: [1-9][0-9]*$' <<<"$cat_thr"; then
    ok "info --thresholds: categorical features give their category count"
else
    bad "info --thresholds on lgb_cat: ${cat_thr:0:300}"
fi

# expect NAME RC REGEX CMD...: exit status RC and REGEX in stdout+stderr
expect() {
    local name=$1 rc=$2 re=$3 out got
    shift 3
    out=$("$@" 2>&1); got=$?
    if [ "$got" -eq "$rc" ] && grep -Eq -- "$re" <<<"$out"; then ok "$name"
    else bad "$name: exit $got: ${out:0:300}"; fi
}
expect "tune: no script, a clear message" 1 'no forest_tune.py' \
    env FOREST_TUNE_SCRIPT=/nonexistent "$FOREST" tune models/iris.txt
expect "tune: missing model" 1 'nope.json: no such file' \
    "$FOREST" tune nope.json --out "$TMP/x"
expect "tune: bad --p99" 1 "--p99 '2 parsecs': expected a time" \
    "$FOREST" tune models/iris.txt --p99 '2 parsecs' --out "$TMP/x"
expect "tune --help names the options" 0 '--concurrency' "$FOREST" tune --help

check "the sweep's plan (coarse set, refinement, Pareto frontier)" \
    python3 tests/tune_checks.py search

# ---- a short tune --------------------------------------------------------
OUT=$TMP/tune
start=$SECONDS
tune_log=$("$FOREST" tune models/iris.txt --p99 "${BUDGET_MS}ms" \
    --concurrency 4 --time 2s --warmup 1s --max-configs 2 --gpu off \
    --nginx "$NGINX" --module "$MODULE" --out "$OUT" 2>&1)
rc=$?
if [ "$rc" = 0 ] && grep -q '^configuration 2 of 2: ' <<<"$tune_log" \
   && grep -q '^re-measuring configuration [12]: ' <<<"$tune_log"; then
    ok "forest tune: 2 configurations and a re-measurement in $((SECONDS - start)) s, progress lines"
else
    bad "forest tune exit $rc: ${tune_log:0:1500}"
fi
for f in results.csv report.html recommended.conf throughput_p99.png \
         throughput_p99.svg batch_sizes.png batch_sizes.svg; do
    [ -s "$OUT/$f" ] || bad "tune output $f missing or empty"
done
check "tune outputs agree (csv, report, recommended.conf, charts)" \
    python3 tests/tune_checks.py outputs "$OUT" "$BUDGET_MS"

# the recommended lines are valid nginx.conf where they say they belong
{
    echo "load_module $MODULE;"
    echo "pid $TMP/t.pid; error_log $TMP/t.log;"
    grep -v '^#' "$OUT/recommended.conf" | grep '^worker_processes'
    echo "events {}"
    echo "http {"
    grep -v '^#' "$OUT/recommended.conf" | grep -v '^worker_processes'
    echo "server { listen 127.0.0.1:1; location /v2/ { forest_kserve; } } }"
} > "$TMP/rec.conf"
check "recommended.conf passes nginx -t" \
    "$NGINX" -t -p "$TMP" -c "$TMP/rec.conf" -e "$TMP/t.log"

# ---- the report in a browser ---------------------------------------------
CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ]; then
    bad "no chromium (make deps installs Debian's chromium)"
else
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start
    chrome=("$CHROMIUM" --headless=new --no-sandbox --disable-gpu
            --hide-scrollbars --user-data-dir="$TMP/chromium"
            --enable-logging=stderr --v=0)
    "${chrome[@]}" --window-size=1280,1800 --screenshot="$TMP/report.png" \
        "file://$OUT/report.html" > "$TMP/chromium.log" 2>&1
    check "report.html screenshot shows the report" \
        python3 tests/tune_checks.py screenshot "$TMP/report.png"
    dom=$("${chrome[@]}" --dump-dom "file://$OUT/report.html" 2>>"$TMP/chromium.log")
    if grep -q 'data-images-loaded="2/2"' <<<"$dom"; then
        ok "report.html: both charts load in Chromium"
    else
        bad "report.html: charts not loaded ($(grep -o 'data-images-loaded="[^"]*"' <<<"$dom"))"
    fi
    if grep -E 'CONSOLE|Uncaught|Failed to load resource|net::ERR_' "$TMP/chromium.log"; then
        bad "report.html: errors in Chromium's console (above)"
    else
        ok "report.html: no console or load errors"
    fi
fi

# ---- the Grafana dashboard -----------------------------------------------
check "dashboard reads into Grafana's dashboard models, strictly" \
    python3 tests/tune_checks.py grafana deploy/grafana/ngx_forest.json

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$TMP/ngx/logs"
cat > "$TMP/ngx/nginx.conf" <<EOF
load_module $MODULE;
daemon off;
pid logs/nginx.pid;
error_log logs/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path client_body_temp;
    forest_model iris $ROOT/models/iris.txt;
    server {
        listen 127.0.0.1:$PORT;
        location /v2/ { forest_kserve; }
        location = /metrics { forest_metrics; }
    }
}
EOF
"$NGINX" -p "$TMP/ngx" -c nginx.conf -e "$TMP/ngx/logs/error.log" &
NGINX_PID=$!
for _ in $(seq 50); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/v2/health/ready" && break
    sleep 0.1
done
curl -sf -o /dev/null -H 'Content-Type: application/json' \
    -d '{"inputs":[{"name":"input__0","datatype":"FP32","shape":[1,4],"data":[5.1,3.5,1.4,0.2]}]}' \
    "http://127.0.0.1:$PORT/v2/models/iris/infer"
curl -sf "http://127.0.0.1:$PORT/metrics" > "$TMP/metrics.txt"
check "dashboard uses only metric names /metrics exports, and all of them" \
    python3 tests/tune_checks.py metrics deploy/grafana/ngx_forest.json "$TMP/metrics.txt"
kill "$NGINX_PID" 2>/dev/null
wait "$NGINX_PID" 2>/dev/null
NGINX_PID=

summary
