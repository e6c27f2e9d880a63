# Shared by the reliability runs (sourced): an nginx of our own on loopback
# with the module of $BUILD, 2 workers, the xgb_binary reference model, and
# helpers to load it with wrk and read its figures.
#
# Needs: BUILD (absolute build dir), REL_PORT.  Sets REL_DIR (work dir,
# removed at exit unless REL_KEEP=1), NGINX_MASTER.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REF=$ROOT/tests/reference/models
NGINX=${NGINX:-/usr/sbin/nginx}
REL_DIR=$(mktemp -d /tmp/forest-rel.XXXXXX)
. "$ROOT/tests/lib.sh"
NGINX=$(nginx_for_module "$BUILD/ngx_http_forest_module.so" "$NGINX" "$REL_DIR")

# the next free port from REL_PORT on, should another run hold it
for _ in $(seq 20); do
    (exec 3<>"/dev/tcp/127.0.0.1/$REL_PORT") 2>/dev/null || break
    REL_PORT=$((REL_PORT + 1))
done
NGINX_MASTER=
WRK_PID=

rel_cleanup() {
    [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null
    if [ -n "$NGINX_MASTER" ] && kill -0 "$NGINX_MASTER" 2>/dev/null; then
        kill -QUIT "$NGINX_MASTER" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$NGINX_MASTER" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NGINX_MASTER" 2>/dev/null
    fi
    [ "${REL_KEEP:-0}" = 1 ] || rm -rf "$REL_DIR"
}
trap rel_cleanup EXIT

# rel_conf [LOG_LEVEL] [MODEL_KEYS]: writes $REL_DIR/conf/nginx.conf.
rel_conf() {
    local level=${1:-info} keys=${2:-}
    mkdir -p "$REL_DIR/conf" "$REL_DIR/logs" "$REL_DIR/models"
    cp "$REF/xgb_binary.json" "$REL_DIR/models/fraud.json"
    cat > "$REL_DIR/conf/nginx.conf" <<EOF
load_module $BUILD/ngx_http_forest_module.so;
worker_processes 2;
error_log $REL_DIR/logs/error.log $level;
pid $REL_DIR/logs/nginx.pid;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 4096; accept_mutex off; }
http {
    access_log off;
    client_body_temp_path $REL_DIR/client_body; proxy_temp_path $REL_DIR/proxy;
    fastcgi_temp_path $REL_DIR/fastcgi; uwsgi_temp_path $REL_DIR/uwsgi; scgi_temp_path $REL_DIR/scgi;
    forest_model fraud $REL_DIR/models/fraud.json predict_proba=on $keys;
    server {
        listen 127.0.0.1:$REL_PORT;
        client_max_body_size 64m;
        add_header X-Worker \$pid always;
        location /v2/ { forest_kserve; }
        location /predict/ { forest_predict; }
        location /few/ { forest_predict; forest_max_rows 16; }
        location = /metrics { forest_metrics; }
    }
}
EOF
}

rel_start() {
    "$NGINX" -p "$REL_DIR/" -c "$REL_DIR/conf/nginx.conf" -e "$REL_DIR/logs/error.log" || return 1
    for _ in $(seq 100); do
        NGINX_MASTER=$(cat "$REL_DIR/logs/nginx.pid" 2>/dev/null)
        [ -n "$NGINX_MASTER" ] && curl -fs -o /dev/null "http://127.0.0.1:$REL_PORT/v2/health/ready" && return 0
        sleep 0.1
    done
    echo "nginx did not come up on port $REL_PORT"; return 1
}

rel_signal() {   # rel_signal reload|quit: as the master's own -s does
    "$NGINX" -p "$REL_DIR/" -c "$REL_DIR/conf/nginx.conf" -e "$REL_DIR/logs/error.log" -s "$1" 2>/dev/null
}

rel_stop() {     # graceful quit; waits for the master to exit
    [ -n "$NGINX_MASTER" ] || return 0
    kill -QUIT "$NGINX_MASTER" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$NGINX_MASTER" 2>/dev/null || { NGINX_MASTER=; return 0; }; sleep 0.1; done
    echo "nginx master $NGINX_MASTER did not exit in 10 s"; return 1
}

rel_workers() {  # pids of the master's live worker processes
    local p
    for p in $(pgrep -P "$NGINX_MASTER"); do
        grep -q '^State:.*Z' /proc/"$p"/status 2>/dev/null || echo "$p"
    done
}

rel_settle() {   # waits (10 s at most) for old workers to finish exiting
    for _ in $(seq 100); do
        [ "$(rel_workers | wc -l)" -le 2 ] && return 0
        sleep 0.1
    done
    return 1
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status 2>/dev/null; }

rel_prepare() {  # the requests and their checked answers (prepare.py)
    python3 "$ROOT/tests/reliability/prepare.py" "$REL_DIR" "$REL_PORT" "$REF"
}

# rel_wrk OUT SECONDS CONNS [MIX] [extra wrk args...]: runs wrk in the
# background with the checking script; wait with rel_wrk_wait.
rel_wrk() {
    local out=$1 secs=$2 conns=$3 mix=${4:-valid}
    shift 4 2>/dev/null || shift $#
    REL_DIR=$REL_DIR REL_MIX=$mix wrk -t2 -c"$conns" -d"${secs}s" --timeout 5s --latency \
        -s "$ROOT/tests/reliability/wrk_check.lua" "$@" "http://127.0.0.1:$REL_PORT" > "$out" 2>&1 &
    WRK_PID=$!
}

rel_wrk_wait() { wait "$WRK_PID"; WRK_PID=; }

# wrk_field OUT NAME: requests, errors (socket errors of all kinds),
# non2xx, checked, ok, expected_4xx, wrong, p50_us, p99_us, rps
wrk_field() {
    local out=$1 name=$2
    case $name in
        requests) sed -nE 's/^ *([0-9]+) requests in .*/\1/p' "$out" ;;
        rps)      sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p' "$out" ;;
        errors)   sed -nE 's/.*Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+).*/\1 \2 \3 \4/p' "$out" \
                      | awk '{ s += $1 + $2 + $3 + $4 } END { print s + 0 }' ;;
        non2xx)   sed -nE 's/.*Non-2xx or 3xx responses: ([0-9]+).*/\1/p' "$out" | awk '{ s += $1 } END { print s + 0 }' ;;
        *)        sed -nE "s/^CHECK .*\\b$name=([0-9]+).*/\\1/p" "$out" ;;
    esac
}

# Result lines; run.sh sums them into "N passed, N failed, 0 skipped".
REL_PASSED=0
REL_FAILED=0
check() {        # check NAME CONDITION-RESULT(0/1 exit of the test) MESSAGE
    local name=$1 ok=$2; shift 2
    if [ "$ok" = 0 ]; then
        echo "PASS $name: $*"; REL_PASSED=$((REL_PASSED + 1))
    else
        echo "FAIL $name: $*"; REL_FAILED=$((REL_FAILED + 1))
    fi
}
