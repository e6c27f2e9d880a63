#!/usr/bin/env bash
# `make demo`: serves conf.example (the bundled models in models/) with the
# module built in $1, in the foreground on 127.0.0.1:8080 (FOREST_DEMO_PORT
# to change it), and gRPC on 127.0.0.1:8001 (FOREST_DEMO_GRPC_PORT).
# Everything nginx writes goes under $1/demo.  Ctrl-C stops it.
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NGINX=${NGINX:-/usr/sbin/nginx}
PORT=${FOREST_DEMO_PORT:-8080}
GRPC_PORT=${FOREST_DEMO_GRPC_PORT:-8001}
module="$BUILD/ngx_http_forest_module.so"
prefix="$BUILD/demo"

[ -f "$module" ] || { echo "demo: no module at $module; run make first" >&2; exit 1; }
[ -f "$ROOT/models/fraud.json" ] && [ -f "$ROOT/models/iris.txt" ] \
    || { echo "demo: models/ is missing; run scripts/make_demo_models.py" >&2; exit 1; }

mkdir -p "$prefix/logs" "$prefix/conf"
sed -e "s#^load_module .*ngx_http_forest_module.so;#load_module $module;#" \
    -e "s# models/# $ROOT/models/#g" \
    -e "s#\([ \"]\)lua/examples/#\1$ROOT/lua/examples/#g" \
    -e "s#listen 127.0.0.1:8080;#listen 127.0.0.1:$PORT;#" \
    -e "s#listen 127.0.0.1:8001 http2;#listen 127.0.0.1:$GRPC_PORT http2;#" \
    "$ROOT/conf.example" > "$prefix/conf/nginx.conf"

cat <<MSG
ngx_forest demo on http://127.0.0.1:$PORT  (config: $prefix/conf/nginx.conf, logs: $prefix/logs)
  curl -s localhost:$PORT/v2/models/iris
  curl -s localhost:$PORT/predict/iris -d '{"instances": [[5.1, 3.5, 1.4, 0.2], {"petal_length": 5.8, "petal_width": 2.2}]}'
  curl -s localhost:$PORT/v2/models/iris/infer -d '{"inputs": [{"name": "input__0", "shape": [1, 4], "datatype": "FP32", "data": [6.0, 2.7, 5.1, 1.6]}]}'
  curl -s localhost:$PORT/metrics
gRPC (tritonclient.grpc) on localhost:$GRPC_PORT (FOREST_DEMO_GRPC_PORT to change it)
Ctrl-C to stop.
MSG
exec "$NGINX" -p "$prefix/" -c "$prefix/conf/nginx.conf" -e "$prefix/logs/error.log" -g "daemon off;"
