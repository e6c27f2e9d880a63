#!/usr/bin/env bash
# Scaling out on one machine: three identical ngx_forest instances (the
# module of $1, the iris model of models/) behind a plain NGINX running
# deploy/upstream/nginx-front.conf -- that very file, with loopback ports.
# Load goes through the front for a few seconds (tests/scaleout/load.py, every
# answer checked against LightGBM's reference probabilities) while instance 1
# is reloaded (nginx -s reload) and instance 2 is SIGKILLed, master and
# workers, and started again.
#   retry     the front as shipped: 0 failed, 0 wrong
#   no-retry  the same with NGINX's default proxy_next_upstream (a POST that
#             reached an instance is not resent): the requests in flight on the
#             killed instance, and any sent on a kept-alive connection an old
#             worker closed at the reload, fail with 502 (as many as the
#             front logged) -- what a client must retry when nothing retries
#             for it; still 0 wrong
# After each run the restarted instance must be back in the front's rotation.
# $1: absolute build dir.  Last line: N passed, N failed, N skipped.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NGINX=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
module=$BUILD/ngx_http_forest_module.so
LOAD_SECS=${SCALEOUT_SECS:-8}
CONNS=16
WORK=$(mktemp -d /tmp/forest-scaleout.XXXXXX)
. "$ROOT/tests/lib.sh"
passed=0 failed=0
LOAD_PID=

check() {        # check NAME STATUS MESSAGE: STATUS 0 passes
    local name=$1 st=$2; shift 2
    if [ "$st" = 0 ]; then echo "ok   $name: $*"; passed=$((passed + 1))
    else echo "FAIL $name: $*"; failed=$((failed + 1)); fi
}
finish() { echo "$passed passed, $failed failed, 0 skipped"; [ "$failed" -eq 0 ]; exit; }

for tool in curl python3; do
    command -v "$tool" > /dev/null || { check tools 1 "$tool is missing (scripts/install-deps.sh)"; finish; }
done
[ -f "$module" ] || { check module 1 "no module at $module"; finish; }
# the instances load the module (a sanitized one needs its runtimes
# preloaded); the front is plain nginx
INST_NGINX=$(nginx_for_module "$module" "$NGINX" "$WORK")

# four free loopback ports, held together so that they differ
read -r -a port <<< "$(python3 -c 'import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')"
front_port=${port[0]}
user=""; [ "$(id -u)" = 0 ] && user="user root;"

master_of() { cat "$WORK/$1/nginx.pid" 2>/dev/null; }

stop_all() {
    [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
    local d m
    for d in i1 i2 i3 front; do
        m=$(master_of "$d")
        [ -n "$m" ] && kill -QUIT "$m" 2>/dev/null
    done
    for d in i1 i2 i3 front; do
        m=$(master_of "$d")
        [ -n "$m" ] || continue
        for _ in $(seq 50); do kill -0 "$m" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$m" 2>/dev/null
    done
    rm -rf "$WORK"
}
trap stop_all EXIT

# common DIR: the main-context lines of an instance or the front
common() {
    cat <<EOF
$user
worker_processes 1;
error_log $WORK/$1/error.log info;
pid $WORK/$1/nginx.pid;
events { worker_connections 1024; }
EOF
}
temp_paths() {
    local t
    for t in client_body proxy fastcgi uwsgi scgi; do echo "${t}_temp_path $WORK/$1/$t;"; done
}

# instance N on port[N]; X-Instance tells the load which one answered.
# batch_delay holds each request 2 ms for more rows (as a deployment that
# batches does), so that the kill finds requests in flight.
inst_conf() {
    local d=i$1
    mkdir -p "$WORK/$d"
    { echo "load_module $module;"; common "$d"; cat <<EOF
http {
    access_log off;
    $(temp_paths "$d")
    forest_model iris $ROOT/models/iris.txt format=lightgbm predict_proba=on batch_delay=2ms;
    server {
        listen 127.0.0.1:${port[$1]};
        client_max_body_size 64m;
        add_header X-Instance $1 always;
        location /v2/ { forest_kserve; }
        location /predict/ { forest_predict; }
    }
}
EOF
    } > "$WORK/$d/nginx.conf"
}

# nginx_ctl DIR [ARGS...]: the right nginx binary on DIR's configuration
nginx_ctl() {
    local d=$1 bin=$INST_NGINX
    shift
    [ "$d" = front ] && bin=$NGINX
    "$bin" -p "$WORK/$d/" -c "$WORK/$d/nginx.conf" -e "$WORK/$d/error.log" "$@"
}

# start DIR URL [CURL_ARGS...]: starts it and waits (5 s at most) until URL
# answers 200
start() {
    nginx_ctl "$1" || return 1
    for _ in $(seq 50); do
        curl -fs -o /dev/null "${@:3}" "$2" && return 0
        sleep 0.1
    done
    return 1
}

inst_start() { start "i$1" "http://127.0.0.1:${port[$1]}/v2/health/ready"; }

# SIGKILL of the master and its workers at once: workers outlive a killed
# master and would go on serving.  Prints how many processes died.
inst_kill() {
    local m pids
    m=$(master_of "i$1")
    mapfile -t pids < <(echo "$m"; pgrep -P "$m")
    kill -KILL "${pids[@]}"
    echo "${#pids[@]}"
}

# front_conf RETRY_LINE: the shipped front config with our ports, and
# RETRY_LINE for its proxy_next_upstream line (empty: as shipped)
front_conf() {
    local d=front src=$ROOT/deploy/upstream/nginx-front.conf
    mkdir -p "$WORK/$d"
    sed -e "s/127\.0\.0\.1:8081/127.0.0.1:${port[1]}/; s/127\.0\.0\.1:8082/127.0.0.1:${port[2]}/" \
        -e "s/127\.0\.0\.1:8083/127.0.0.1:${port[3]}/; s/^\( *\)listen 80;/\1listen 127.0.0.1:$front_port;/" \
        ${1:+-e "s/^\( *\)proxy_next_upstream .*/\1$1/"} "$src" > "$WORK/$d/front.conf"
    { common "$d"; echo "http { access_log off; $(temp_paths "$d") include $WORK/$d/front.conf; }"; } \
        > "$WORK/$d/nginx.conf"
    # the example must still have what the substitutions expect
    local p
    for p in "${port[@]}"; do grep -q "127\.0\.0\.1:${p}[; ]" "$WORK/$d/front.conf" || return 1; done
    grep -q "^ *${1:-proxy_next_upstream .* non_idempotent;}" "$WORK/$d/front.conf"
}

front_url="http://127.0.0.1:$front_port"
probe='{"instances":[[5.1,3.5,1.4,0.2]]}'

# in_rotation: every instance answers through the front within 6 s (the
# front leaves a failed instance out for its fail_timeout, 2 s)
in_rotation() {
    local seen
    for _ in $(seq 30); do
        seen=$(for _ in 1 2 3 4 5 6; do
            curl -s -D - -o /dev/null --data-binary "$probe" "$front_url/predict/iris" \
                | sed -nE 's/^X-Instance: ([0-9]+).*/\1/p'
        done | sort -u | paste -sd,)
        [ "$seen" = 1,2,3 ] && return 0
        sleep 0.2
    done
    echo "$seen"
    return 1
}

# load_field OUT NAME: a NAME=value of load.py's LOAD line
load_field() { sed -nE "s/^LOAD .*\\b$2=([^ ]*).*/\\1/p" "$1"; }

# front_errors RUN N REGEX: lines of RUN's front log on instance N matching REGEX
front_errors() { grep -E "$3" "$WORK/$1.front.log" | grep -c "upstream: \"http://127\.0\.0\.1:${port[$2]}/"; }
# the request was on its way to the instance or there: its connection
# closed, reset or broke (a POST NGINX resends only with non_idempotent)
in_flight="prematurely closed|reset by peer|Broken pipe"

# run_faults NAME: the load through the front, with the reload of instance
# 1 and the kill and restart of instance 2 on the way; sets the variables
# the checks print
run_faults() {
    local out=$WORK/$1.out log_at
    log_at=$(stat -c %s "$WORK/front/error.log")
    python3 "$ROOT/tests/scaleout/load.py" "$front_url" "$LOAD_SECS" "$CONNS" "$ROOT/models" > "$out" 2>&1 &
    LOAD_PID=$!
    sleep 2
    nginx_ctl i1 -s reload
    reload_rc=$?
    sleep 1.5
    killed=$(inst_kill 2)
    sleep 2
    inst_start 2
    restart_rc=$?
    wait "$LOAD_PID"
    LOAD_PID=
    grep -q '^LOAD sent=' "$out" || { summary="load.py gave no result: $(tail -3 "$out")"; return 1; }
    sent=$(load_field "$out" sent) ok=$(load_field "$out" ok) nfail=$(load_field "$out" failed)
    wrong=$(load_field "$out" wrong) rps=$(load_field "$out" rps) rows_s=$(load_field "$out" rows_per_s)
    by_inst=$(load_field "$out" instances) kinds=$(load_field "$out" failures)
    first_wrong=$(sed -n 's/^LOAD first wrong: //p' "$out")
    # the front logs each failed try on an instance, retried or not
    tail -c +$((log_at + 1)) "$WORK/front/error.log" > "$WORK/$1.front.log"
    broken1=$(front_errors "$1" 1 "$in_flight") broken2=$(front_errors "$1" 2 "$in_flight")
    refused2=$(front_errors "$1" 2 "Connection refused")
    summary="$sent requests in ${LOAD_SECS}s ($rps/s, $rows_s rows/s): $ok answered right (by instance $by_inst), $nfail failed ($kinds), $wrong wrong${first_wrong:+ (first: $first_wrong)}; reload rc $reload_rc, $killed processes killed, restart rc $restart_rc; front log: $broken1 requests broken in flight on instance 1, $broken2 on instance 2, $refused2 connections refused by instance 2"
    [ "$sent" -gt 0 ] && [ "$reload_rc" -eq 0 ] && [ "$restart_rc" -eq 0 ] \
        && [ "$killed" -ge 2 ] && [ "$wrong" -eq 0 ]
}

for n in 1 2 3; do
    inst_conf "$n"
    inst_start "$n"
    check "start-instance-$n" $? "instance $n on port ${port[$n]}"
done
front_conf
check front-conf $? "deploy/upstream/nginx-front.conf has the lines this test fills in: the three servers, listen 80, proxy_next_upstream with non_idempotent"
start front "$front_url/predict/iris" -d "$probe"
check start-front $? "the front on port $front_port"
[ "$failed" -eq 0 ] || { tail -n 5 "$WORK"/*/error.log; finish; }
seen=$(in_rotation)
check rotation $? "the front spreads requests over all three instances${seen:+ (only $seen)}"

run_faults retry
st=$?
[ "$st" -eq 0 ] && [ "$nfail" -eq 0 ]
check retry $? "front as shipped, reload of 1, SIGKILL and restart of 2: $summary"
seen=$(in_rotation)
check rotation-after-restart $? "instance 2 back in the front's rotation${seen:+ (only $seen)}"

# NGINX's default: proxy_next_upstream error timeout
front_conf "proxy_next_upstream error timeout;" && nginx_ctl front -s reload
check front-reload $? "front reloaded with proxy_next_upstream error timeout (no non_idempotent)"
sleep 1
run_faults no-retry
st=$?
[ "$st" -eq 0 ] && [[ $kinds =~ ^(-|502:[0-9]+)$ ]] && [ "$nfail" -eq $((broken1 + broken2)) ]
check no-retry $? "front without non_idempotent, same faults: $summary; each failure a 502 for a request broken in flight"
seen=$(in_rotation)
check rotation-after-restart-2 $? "instance 2 back in the front's rotation${seen:+ (only $seen)}"

bad=$(grep -hE '\[(crit|alert|emerg)\]' "$WORK"/i?/error.log | head -3)
[ -z "$bad" ]
check instance-logs $? "instance error logs: no crit/alert/emerg${bad:+: $bad}"
finish
