#!/usr/bin/env bash
# A Triton FIL model repository served with one directive
# (forest_model_repository DIR poll=) and driven with the real
# tritonclient.http (tests/repository_check.py): the repository index, load,
# unload and polling under inference load, 0 failed requests.  Ends with one
# "N passed, N failed, N skipped" line; non-zero exit on failure.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REF=$ROOT/tests/reference/models
module="$BUILD/ngx_http_forest_module.so"

python3 -c 'import tritonclient.http' 2>/dev/null || {
    echo "FAIL $(command -v python3) lacks tritonclient[http] (make venv)"
    echo "0 passed, 1 failed, 0 skipped"; exit 1; }
[ -f "$module" ] || { echo "no module at $module"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

run=$(mktemp -d /tmp/forest-repository.XXXXXX)
. "$ROOT/tests/lib.sh"
nginx=$(nginx_for_module "$module" "${TEST_NGINX_BINARY:-/usr/sbin/nginx}" "$run")
port=$(free_ports 1)
trap 'nginx_stop "$run"' EXIT

# the repository as the FIL backend's docs lay it out
fil_config() {   # NAME: the xgb_binary classifier, predict_proba [2]
    cat <<PBTXT
name: "$1"
backend: "fil"
max_batch_size: 1024
input [ { name: "input__0" data_type: TYPE_FP32 dims: [ 20 ] } ]
output [ { name: "output__0" data_type: TYPE_FP32 dims: [ 2 ] } ]
instance_group [ { kind: KIND_AUTO } ]
parameters [
  { key: "model_type" value: { string_value: "xgboost_json" } },
  { key: "output_class" value: { string_value: "true" } },
  { key: "predict_proba" value: { string_value: "true" } }
]
PBTXT
}
repo=$run/model_repository
for m in fraud reg bad; do
    mkdir -p "$repo/$m/1"
    fil_config "$m" > "$repo/$m/config.pbtxt"
    cp "$REF/xgb_binary.json" "$repo/$m/1/xgboost.json"
done
echo '{ broken' > "$repo/bad/1/xgboost.json"

mkdir -p "$run/logs"
cat > "$run/nginx.conf" <<CONF
$(nginx_conf_head "$module" "$run" 256 notice)
    forest_model_repository $repo poll=500ms;
    forest_repository_state $run/logs/repository.state;
    server {
        listen 127.0.0.1:$port;
        location /v2 { forest_kserve; }
        location /v2/repository/ {
            allow 127.0.0.1;
            deny all;
            forest_kserve;
            forest_repository_control on;
        }
    }
}
CONF

nginx_start "$nginx" "$run" "$run/nginx.conf" || {
    echo "0 passed, 1 failed, 0 skipped"; exit 1; }
wait_http "http://127.0.0.1:$port/v2/health/live"

python3 "$ROOT/tests/repository_check.py" "127.0.0.1:$port" "$REF" "$repo"
rc=$?
if grep -E '\[(alert|crit)\]' "$run/logs/error.log"; then
    echo "FAIL error.log has [alert]/[crit] lines"
    echo "0 passed, 1 failed, 0 skipped"; exit 1
fi
exit $rc
