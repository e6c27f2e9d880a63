#!/usr/bin/env bash
# forest_grpc: starts nginx with the module in $1 serving the KServe v2 /
# Triton GRPCInferenceService on HTTP/2, cleartext (prior knowledge) and TLS
# (a self-signed certificate made here), and drives it with the real
# tritonclient.grpc (tests/grpc_check.py: every call, every reference model
# against the library's own outputs, hostile protobuf), with raw HTTP/2
# frames from nghttp (hostile gRPC framing), and with gRPC load through
# reloads and a worker's kill -9.  A sanitized module (SANITIZE=1) runs under
# its runtimes.  Last line: N passed, N failed, N skipped.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=$ROOT/tests/reference/models
NGINX=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module="$BUILD/ngx_http_forest_module.so"
. "$ROOT/tests/lib.sh"
passed=0 failed=0 skipped=0

for need in nghttp openssl; do
    command -v $need >/dev/null || { bad "$need is missing (make deps)"; summary; exit 1; }
done
if ! python3 -c 'import tritonclient.grpc' 2>/dev/null; then
    bad "$(command -v python3) lacks tritonclient[grpc] (make venv)"; summary; exit 1
fi
[ -f "$module" ] || { bad "no module at $module"; summary; exit 1; }

prefix=$(mktemp -d /tmp/forest-grpc.XXXXXX)
NGINX=$(nginx_for_module "$module" "$NGINX" "$prefix")
read -r port tls_port <<<"$(free_ports 2)"

ngx() { "$NGINX" -p "$prefix/" -c "$prefix/conf/nginx.conf" -e "$prefix/logs/error.log" "$@"; }
trap 'nginx_stop "$prefix"' EXIT

mkdir -p "$prefix/logs" "$prefix/conf" "$prefix/frames"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$prefix/conf/key.pem" -out "$prefix/conf/cert.pem" 2>/dev/null \
    || { bad "openssl could not make a certificate"; summary; exit 1; }

# name=reference model; binary and multiclass classifiers answer probabilities
served="fraud=xgb_binary,iris=lgb_multiclass,reg=xgb_reg,xmc=xgb_multiclass,xcat=xgb_cat"
served="$served,lbin=lgb_binary,lcat=lgb_cat,lreg=lgb_reg,tlx=tl_xgb_binary,tll=tl_lgb_binary"
models=""
for kv in ${served//,/ }; do
    name=${kv%%=*} ref=${kv#*=}
    file=$(ls "$REF/$ref".{json,txt,treelite} 2>/dev/null | head -1)
    proba=""; case $ref in *reg) ;; *) proba=" predict_proba=on" ;; esac
    models="$models    forest_model $name $file$proba;
"
done
# trained on DataFrames with string categories (grpc_check.py's STRCAT)
for m in xgb3_strcat.json lgb4_strcat.txt; do
    models="$models    forest_model ${m%.*} $ROOT/tests/models/$m predict_proba=on;
"
done

grpc_loc='location /inference.GRPCInferenceService/ { forest_grpc; }'
cat > "$prefix/conf/nginx.conf" <<CONF
$(nginx_conf_head "$module" "$prefix" 512 info)
    forest_max_rows 256;
$models
    server {
        listen 127.0.0.1:$port http2;
        $grpc_loc
    }
    server {
        listen 127.0.0.1:$tls_port ssl http2;
        ssl_certificate $prefix/conf/cert.pem;
        ssl_certificate_key $prefix/conf/key.pem;
        $grpc_loc
    }
}
CONF

if ! nginx_start "$NGINX" "$prefix" "$prefix/conf/nginx.conf"; then
    bad "nginx did not start"; summary; exit 1
fi
live() { nghttp -n "http://127.0.0.1:$port/inference.GRPCInferenceService/ServerLive" \
    -H 'content-type: application/grpc' -H 'te: trailers' -d "$prefix/frames/empty" \
    -v 2>&1 | grep -q 'grpc-status: 0'; }
printf '\0\0\0\0\0' > "$prefix/frames/empty"
for _ in $(seq 100); do live && break; sleep 0.05; done

# Lua hooks take JSON bodies: nginx -t refuses them where gRPC is served
sed 's#{ forest_grpc; }#{ forest_grpc; forest_lua_pre '"$ROOT"'/lua/examples/iris_pre.lua; }#' \
    "$prefix/conf/nginx.conf" > "$prefix/conf/lua.conf"
if out=$("$NGINX" -t -p "$prefix/" -c "$prefix/conf/lua.conf" 2>&1); then
    bad "nginx -t accepted a Lua hook in a forest_grpc location"
elif grep -q "need forest_predict or forest_kserve" <<<"$out"; then
    ok "nginx -t refuses a Lua hook in a forest_grpc location"
else
    bad "nginx -t on a Lua hook in a forest_grpc location: $out"
fi

# ---- tritonclient.grpc, cleartext and TLS ---------------------------------
out=$(timeout 120 python3 "$ROOT/tests/grpc_check.py" "127.0.0.1:$port" "$REF" "$served" 2>&1)
rc=$?; echo "$out" | grep -v '^[0-9]* passed'; tally "$out" $rc
out=$(timeout 120 python3 "$ROOT/tests/grpc_check.py" "127.0.0.1:$tls_port" "$REF" "$served" \
    --tls "$prefix/conf/cert.pem" 2>&1)
rc=$?; echo "$out" | grep -v '^[0-9]* passed'; tally "$out" $rc

# ---- hostile framing from raw HTTP/2 (nghttp) -----------------------------
# frame NAME BYTES(printf format) METHOD WANT: the grpc-status answered
frame() {
    local f="$prefix/frames/$1" got
    printf "$2" > "$f"
    got=$(timeout 10 nghttp -v "http://127.0.0.1:$port/inference.GRPCInferenceService/$3" \
        -H 'content-type: application/grpc' -H 'te: trailers' -d "$f" 2>&1 \
        | sed -nE 's/.*grpc-status: ([0-9]+).*/\1/p' | head -1)
    if [ "$got" = "$4" ]; then ok "framing: $1 -> grpc-status $4"
    else bad "framing: $1 -> grpc-status '${got:-none}', want $4"; fi
}
frame "empty body" '' ModelInfer 3
frame "truncated prefix" '\0\0\0' ModelInfer 3
frame "prefix announces more than sent" '\0\0\0\0\144\012\005fraud' ModelInfer 3
frame "compressed flag" '\1\0\0\0\007\012\005fraud' ModelInfer 12
frame "flag 2" '\2\0\0\0\007\012\005fraud' ModelInfer 3
frame "two messages" '\0\0\0\0\0\0\0\0\0\0' ServerLive 3
frame "unknown method" '\0\0\0\0\0' NoSuchCall 12
frame "trace setting" '\0\0\0\0\0' Trace 12
frame "ModelReady of an unknown model" '\0\0\0\0\010\012\006nosuch' ModelReady 0
got=$(timeout 10 nghttp -v "http://127.0.0.1:$port/inference.GRPCInferenceService/ServerLive" 2>&1 \
    | sed -nE 's/.*grpc-status: ([0-9]+).*/\1/p' | head -1)
[ "$got" = 12 ] && ok "framing: GET -> grpc-status 12" || bad "framing: GET -> '${got:-none}'"
live && ok "server live after the hostile frames" || bad "server not live after the hostile frames"

# ---- load through reloads and a worker's kill -9 --------------------------
load() { timeout 60 python3 "$ROOT/tests/grpc_check.py" "127.0.0.1:$port" "$REF" "$served" --load "$@" 2>&1 | tail -1; }
load 6 4 > "$prefix/reload.out" &
lp=$!
for _ in 1 2 3; do sleep 1.5; ngx -s reload; done
wait $lp
res=$(cat "$prefix/reload.out")
if [[ $res =~ ^load:\ ok=[0-9]+\ wrong=0$ ]]; then ok "gRPC load through 3 reloads: $res"
else bad "gRPC load through 3 reloads: $res"; fi

sleep 1
load 5 4 > "$prefix/kill.out" &
lp=$!
sleep 2
victim=$(pgrep -P "$(cat "$prefix/logs/nginx.pid")" | head -1)
kill -KILL "$victim"
wait $lp
res=$(cat "$prefix/kill.out")
lost=$(sed -nE 's/.*StatusCode.UNAVAILABLE=([0-9]+).*/\1/p' <<<"$res")
rest=$(sed -E 's/ StatusCode.UNAVAILABLE=[0-9]+//' <<<"$res")
# a client whose connection the victim held loses the call in flight and,
# without a retry policy (tritonclient's default), the first call on the
# channel before it has reconnected: at most 2 of each of the 4 clients
if [[ $rest =~ ^load:\ ok=[0-9]+\ wrong=0$ ]] && [ "${lost:-0}" -le 8 ]; then
    ok "gRPC load through a worker's kill -9: $res (UNAVAILABLE only on its connections)"
else
    bad "gRPC load through a worker's kill -9: $res"
fi
live && ok "server live after the kill" || bad "server not live after the kill"

if grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log" | grep -v "exited on signal 9"; then
    bad "error.log has [alert]/[crit]/[emerg] lines"
fi
if grep -E 'runtime error|AddressSanitizer' "$prefix/logs/error.log"; then
    bad "sanitizer reports in error.log"
fi
summary
