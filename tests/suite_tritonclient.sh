#!/usr/bin/env bash
# Starts nginx with the module in $1 and drives it with the real
# tritonclient.http from pip (tests/tritonclient_check.py).  Ends with one
# "N passed, N failed, N skipped" line; non-zero exit on failure.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=$ROOT/tests/reference/models
NGINX=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module="$BUILD/ngx_http_forest_module.so"

if ! python3 -c 'import tritonclient.http' 2>/dev/null; then
    echo "FAIL $(command -v python3) lacks tritonclient[http] (make venv)"
    echo "0 passed, 1 failed, 0 skipped"; exit 1
fi
[ -f "$module" ] || { echo "no module at $module"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

prefix=$(mktemp -d /tmp/forest-tritonclient.XXXXXX)
. "$ROOT/tests/lib.sh"
NGINX=$(nginx_for_module "$module" "$NGINX" "$prefix")
# a free port in 19000-19999
port=$(python3 -c 'import random, socket
for _ in range(200):
    p = random.randint(19000, 19999); s = socket.socket()
    try: s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError: pass')

cleanup() {
    [ -f "$prefix/logs/nginx.pid" ] && kill -QUIT "$(cat "$prefix/logs/nginx.pid")" 2>/dev/null
    for _ in $(seq 50); do [ -f "$prefix/logs/nginx.pid" ] || break; sleep 0.1; done
    rm -rf "$prefix"
}
trap cleanup EXIT

mkdir -p "$prefix/logs" "$prefix/conf"
user=""; [ "$(id -u)" = 0 ] && user="user root;"
cat > "$prefix/conf/nginx.conf" <<CONF
load_module $module;
$user
daemon on;
master_process on;
worker_processes 2;
error_log $prefix/logs/error.log info;
pid $prefix/logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $prefix/client_body_temp;
    proxy_temp_path $prefix/proxy_temp;
    fastcgi_temp_path $prefix/fastcgi_temp;
    uwsgi_temp_path $prefix/uwsgi_temp;
    scgi_temp_path $prefix/scgi_temp;
    forest_model fraud $REF/xgb_binary.json predict_proba=on;
    forest_model iris  $REF/lgb_multiclass.txt predict_proba=on;
    forest_model reg   $REF/xgb_reg.json;
    server {
        listen 127.0.0.1:$port;
        location /v2 { forest_kserve; }
    }
}
CONF

if ! "$NGINX" -p "$prefix/" -c "$prefix/conf/nginx.conf" -e "$prefix/logs/error.log"; then
    cat "$prefix/logs/error.log"; echo "0 passed, 1 failed, 0 skipped"; exit 1
fi
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/v2/health/live" >/dev/null && break
    sleep 0.05
done

python3 "$ROOT/tests/tritonclient_check.py" "127.0.0.1:$port" "$REF"
rc=$?
if grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log"; then
    echo "error.log has [alert]/[crit]/[emerg] lines"
    echo "0 passed, 1 failed, 0 skipped"; exit 1
fi
exit $rc
