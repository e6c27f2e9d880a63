#!/usr/bin/env bash
# The container image's smoke test (make image first): `make test-image`,
# and tests/suite_image.sh in make test.
# Runs it as a user would in production: a Triton-style model repository
# (made here from models/) mounted read-only, a read-only root filesystem
# with only /tmp writable (a tmpfs), the image's non-root user, ports
# published on 127.0.0.1.  Infers and checks against models/*.expected.csv,
# checks health, metrics and HEALTHCHECK, stops the container with its stop
# signal under load and checks every request in flight was answered
# (tests/image/load.py), then serves a mounted nginx.conf and fails cleanly
# on a broken model.  Ends with "N passed, N failed, N skipped".
# Env: IMAGE (default localhost/ngx-forest:latest).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IMAGE=${IMAGE:-localhost/ngx-forest:latest}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/deploy/container/containers.conf}
passed=0 failed=0 skipped=0
work=$(mktemp -d)
name=ngx-forest-smoke-$$

cleanup() {
    podman rm -f -i -t 0 "$name" "$name-conf" "$name-bad" "$name-triton" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

check() {   # check NAME COMMAND...: one result line
    local what=$1; shift
    if "$@"; then echo "ok - $what"; passed=$((passed + 1))
    else echo "not ok - $what"; failed=$((failed + 1)); fi
}
summary() { echo "$passed passed, $failed failed, $skipped skipped"; [ "$failed" -eq 0 ]; }

if ! podman image exists "$IMAGE"; then
    echo "not ok - no image $IMAGE (run make image)"
    failed=1; summary; exit 1
fi

# The repository as Triton lays it out, but with a config.pbtxt in only one
# folder: the entrypoint writes a forest_model line per version.
repo=$work/models
mkdir -p "$repo/iris/1" "$repo/fraud/1" "$repo/fraud/2"
cp "$ROOT/models/iris.txt" "$repo/iris/1/model.txt"
cp "$ROOT/models/fraud.json" "$repo/fraud/1/xgboost.json"
cp "$ROOT/models/fraud.json" "$repo/fraud/2/xgboost.json"
printf 'backend: "fil"\nmax_batch_size: 1024\n' > "$repo/iris/config.pbtxt"
chmod -R a+rX "$work"   # mktemp -d is 0700; the container runs as uid 10001

# run NAME [podman args...]: starts the image the production way
run() {
    local n=$1; shift
    podman run -d --name "$n" --read-only --read-only-tmpfs=false \
        --tmpfs /tmp:rw,mode=1777,size=64m \
        -p 127.0.0.1::8000 -p 127.0.0.1::8002 "$@" "$IMAGE" >/dev/null 2>"$work/$n.run.err" \
        || { cat "$work/$n.run.err"; return 1; }
}
# ready NAME URL: waits up to 30 s for URL to answer 200
ready() {
    local _
    for _ in $(seq 150); do
        curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
        [ "$(podman inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || break
        sleep 0.2
    done
    podman logs "$1" 2>&1 | tail -20
    return 1
}
http_code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- the image's configuration
check "image stops with SIGQUIT (graceful)" \
    test "$(podman image inspect -f '{{.Config.StopSignal}}' "$IMAGE")" = SIGQUIT
check "image runs as uid 10001" \
    test "$(podman image inspect -f '{{.Config.User}}' "$IMAGE")" = 10001:10001
check "image has a HEALTHCHECK" \
    grep -q ngx-forest-healthcheck <<<"$(podman image inspect -f '{{.Config.Healthcheck}}' "$IMAGE")"

# ---- serving the repository
# batch_delay=1s keeps every request waiting in a batch for a second; the
# load's clients move in step (one batch per worker, answered together), so
# a stop 2.5 s into the load comes half a second before the third batch is
# answered: 16 requests surely in flight, with time for the signal to land.
started=$(date +%s.%N)
# The HEALTHCHECK is run by hand below: podman's timer for it needs systemd.
run "$name" --health-interval=disable -v "$repo:/models:ro" -e FOREST_WORKERS=2 \
    -e FOREST_MODEL_ARGS="predict_proba=on batch_delay=1s"
addr=$(podman port "$name" 8000/tcp 2>/dev/null)
maddr=$(podman port "$name" 8002/tcp 2>/dev/null)
base=http://$addr
check "ready on a published port" ready "$name" "$base/v2/health/ready"
echo "# ready after $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s"

check "nginx runs as the non-root user" \
    test "$(podman top "$name" user | tail -n +2 | sort -u)" = ngx-forest
check "root filesystem is read-only" \
    bash -c "! podman exec '$name' touch /etc/nginx/x 2>/dev/null"
# the label is the package's version; /v2 has it without a Debian revision
version=$(podman image inspect -f '{{index .Config.Labels "org.opencontainers.image.version"}}' "$IMAGE")
check "/v2 reports the image's version (${version%-*})" \
    grep -q "\"version\":\"${version%-*}\"" <<<"$(curl -s "$base/v2")"
check "/v2/health/live 200" test "$(http_code "$base/v2/health/live")" = 200
check "/v2/health/ready 200" test "$(http_code "$base/v2/health/ready")" = 200
check "iris version 1 ready" test "$(http_code "$base/v2/models/iris/versions/1/ready")" = 200
check "fraud serves both versions" \
    grep -q '"versions":\["1","2"\]' <<<"$(curl -s "$base/v2/models/fraud")"

iris_check() {
    python3 - "$base" "$ROOT/models" <<'PY'
import csv, json, sys, urllib.request
base, models = sys.argv[1], sys.argv[2]
rows = lambda f: [[float(x) for x in r] for r in list(csv.reader(open(f"{models}/{f}")))[1:]]
x, want = rows("iris.input.csv"), rows("iris.expected.csv")
body = json.dumps({"inputs": [{"name": "input__0", "shape": [len(x), 4],
                   "datatype": "FP32", "data": [v for r in x for v in r]}]}).encode()
out = json.load(urllib.request.urlopen(f"{base}/v2/models/iris/infer", body))["outputs"][0]
flat = [v for r in want for v in r]
bad = [i for i, (a, b) in enumerate(zip(out["data"], flat)) if abs(a - b) > 1e-5]
ok = out["shape"] == [len(want), 3] and len(out["data"]) == len(flat) and not bad
print(f"# iris: {len(want)} rows, {len(bad)} values off")
sys.exit(0 if ok else 1)
PY
}
check "iris: 150 rows match iris.expected.csv" iris_check
check "fraud infers" grep -q '"shape":\[1,2\]' <<<"$(curl -s "$base/v2/models/fraud/infer" \
    -d "{\"inputs\": [{\"name\": \"input__0\", \"shape\": [1, 20], \"datatype\": \"FP32\", \"data\": [$(seq -s, 0.1 0.1 2.0)]}]}")"
check "metrics port counts the iris request" \
    grep -q '^nv_inference_request_success{model="iris",version="1"} 1$' <<<"$(curl -s "http://$maddr/metrics")"
check "HEALTHCHECK reports healthy" podman healthcheck run "$name"

# ---- stop under load: the image's STOPSIGNAL through `podman stop`
check "requests in flight at the stop are answered" \
    python3 "$ROOT/tests/image/load.py" "$addr" "$ROOT/models" 2.5 -- podman stop -t 30 "$name"
check "exit status 0 after the stop (not killed)" \
    test "$(podman inspect -f '{{.State.ExitCode}}' "$name")" = 0
check "nginx shut down gracefully" grep -q 'gracefully shutting down' <<<"$(podman logs "$name" 2>&1)"
podman rm -f -t 0 "$name" >/dev/null 2>&1

# ---- a mounted nginx.conf replaces the generated one
cat > "$work/nginx.conf" <<'CONF'
include /etc/nginx/modules-enabled/*.conf;
pid /tmp/nginx.pid;
events {}
http {
    access_log off;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path       /tmp/proxy;
    fastcgi_temp_path     /tmp/fastcgi;
    uwsgi_temp_path       /tmp/uwsgi;
    scgi_temp_path        /tmp/scgi;
    forest_model flower /models/iris/1/model.txt;
    server {
        listen 8000;
        location /v2 { forest_kserve; }
        location = /score { forest_predict flower; }
    }
}
CONF
chmod a+r "$work/nginx.conf"
run "$name-conf" --no-healthcheck -v "$repo:/models:ro" -v "$work/nginx.conf:/etc/ngx-forest/nginx.conf:ro"
caddr=$(podman port "$name-conf" 8000/tcp 2>/dev/null)
check "mounted nginx.conf: ready" ready "$name-conf" "http://$caddr/v2/health/ready"
check "mounted nginx.conf: serves its own location" \
    grep -q '"predictions"' <<<"$(curl -s "http://$caddr/score" -d '{"instances": [[5.1, 3.5, 1.4, 0.2]]}')"
podman rm -f -t 0 "$name-conf" >/dev/null 2>&1

# ---- a Triton FIL repository (config.pbtxt in every folder), as it is
mkdir -p "$work/triton/iris/1" "$work/triton/fraud/3"
cp "$ROOT/models/iris.txt" "$work/triton/iris/1/model.txt"
cp "$ROOT/models/fraud.json" "$work/triton/fraud/3/xgboost.json"
cat > "$work/triton/iris/config.pbtxt" <<'PBTXT'
backend: "fil"
max_batch_size: 1024
parameters { key: "model_type" value { string_value: "lightgbm" } }
PBTXT
cat > "$work/triton/fraud/config.pbtxt" <<'PBTXT'
name: "fraud"  # must match the folder
backend: "fil"
max_batch_size: 256
parameters [ { key: "model_type" value { string_value: "xgboost_json" } },
             { key: "output_class" value { string_value: "true" } } ]
PBTXT
chmod -R a+rX "$work/triton"
run "$name-triton" --no-healthcheck -v "$work/triton:/models:ro"
taddr=$(podman port "$name-triton" 8000/tcp 2>/dev/null)
check "config.pbtxt repository: ready" ready "$name-triton" "http://$taddr/v2/health/ready"
check "config.pbtxt repository: iris infers" \
    grep -q '"shape":\[1,3\]' <<<"$(curl -s "http://$taddr/v2/models/iris/infer" \
        -d '{"inputs":[{"name":"input__0","shape":[1,4],"datatype":"FP32","data":[6.0,2.7,5.1,1.6]}]}')"
check "config.pbtxt repository: fraud version 3 ready" \
    test "$(http_code "http://$taddr/v2/models/fraud/versions/3/ready")" = 200
podman rm -f -t 0 "$name-triton" >/dev/null 2>&1

# ---- a broken model stops the start, saying which and why
mkdir -p "$work/bad/broken/1"
head -c 100 "$ROOT/models/fraud.json" > "$work/bad/broken/1/xgboost.json"
chmod -R a+rX "$work/bad"
run "$name-bad" --no-healthcheck -v "$work/bad:/models:ro"
podman wait "$name-bad" >/dev/null 2>&1
check "broken model: start fails" test "$(podman inspect -f '{{.State.ExitCode}}' "$name-bad")" != 0
bad_log=$(podman logs "$name-bad" 2>&1)
check "broken model: nginx -t names the model and file" \
    grep -q 'forest_model "broken": .*/models/broken/1/xgboost.json' <<<"$bad_log"
echo "$bad_log" | grep -E 'emerg|failed' | sed 's/^/# /'

summary
