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
port=$(free_ports 1)
trap 'nginx_stop "$prefix"' EXIT

mkdir -p "$prefix/logs" "$prefix/conf"
cat > "$prefix/conf/nginx.conf" <<CONF
$(nginx_conf_head "$module" "$prefix" 256 info)
    forest_model fraud $REF/xgb_binary.json predict_proba=on;
    forest_model iris  $REF/lgb_multiclass.txt predict_proba=on;
    forest_model reg   $REF/xgb_reg.json;
    forest_model xmc   $REF/xgb_multiclass.json predict_proba=on;
    forest_model xgb3_strcat $ROOT/tests/models/xgb3_strcat.json predict_proba=on;
    forest_model lgb4_strcat $ROOT/tests/models/lgb4_strcat.txt predict_proba=on;
    server {
        listen 127.0.0.1:$port;
        location /v2 { forest_kserve; }
    }
}
CONF

nginx_start "$NGINX" "$prefix" "$prefix/conf/nginx.conf" || {
    echo "0 passed, 1 failed, 0 skipped"; exit 1; }
wait_http "http://127.0.0.1:$port/v2/health/live"

python3 "$ROOT/tests/tritonclient_check.py" "127.0.0.1:$port" "$REF"
rc=$?
if grep -E '\[(alert|crit|emerg)\]' "$prefix/logs/error.log"; then
    echo "error.log has [alert]/[crit]/[emerg] lines"
    echo "0 passed, 1 failed, 0 skipped"; exit 1
fi
exit $rc
