#!/usr/bin/env bash
# Faults, each under load on loopback, each bounded in time:
#   reload         nginx -s reload every second under load: zero failed requests
#   corrupt-reload a reload with a corrupted model file is refused (nginx -t
#                  fails too) and the old workers keep serving right answers
#   kill-9         one worker killed under load: only its in-flight requests
#                  fail, the master's new worker serves within 1 s
#   disconnects    clients gone mid-batch and mid-body: worker memory and
#                  descriptors back where they were, no alert
#   shutdown       graceful shutdown with batches pending and running: every
#                  request answered, and answered right
# FAULTS_SHORT=1 runs shorter loads (about 40 s in all, for CI).
# $1: absolute build dir.  Last line: N passed, N failed, N skipped.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
REL_PORT=${REL_PORT:-19710}
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "${FAULTS_SHORT:-0}" = 1 ]; then
    reload_secs=8 kill_secs=6 rounds=10
else
    reload_secs=30 kill_secs=10 rounds=40
fi

fail_all() { echo "FAIL faults: $*"; echo "$REL_PASSED passed, $((REL_FAILED + 1)) failed, 0 skipped"; exit 1; }

url="http://127.0.0.1:$REL_PORT"

# batch_delay makes requests wait in pending batches, so that reloads,
# kills, disconnects and shutdowns find batches on their way
rel_conf info "batch_delay=2ms max_batch_size=4096"
rel_start || fail_all "nginx did not start"
rel_prepare || fail_all "the requests could not be prepared"

# ---- reload every second under load ------------------------------------
# New connections for every request: a request sent on a kept-alive
# connection at the moment an old worker closes it idle is lost to any
# HTTP/1.1 server (the client must retry), so that case is measured apart.
for mode in close keepalive; do
    hdr=()
    [ "$mode" = close ] && hdr=(-H "Connection: close")
    rel_wrk "$REL_DIR/reload-$mode.out" "$reload_secs" 64 valid "${hdr[@]}"
    reloads=0
    for _ in $(seq $((reload_secs - 1))); do
        sleep 1
        rel_signal reload && reloads=$((reloads + 1))
    done
    rel_wrk_wait
    out=$REL_DIR/reload-$mode.out
    reqs=$(wrk_field "$out" requests) errs=$(wrk_field "$out" errors)
    non2xx=$(wrk_field "$out" non2xx) wrong=$(wrk_field "$out" wrong)
    if [ "$mode" = close ]; then
        [ "$errs" -eq 0 ] && [ "$non2xx" -eq 0 ] && [ "${wrong:-1}" -eq 0 ] && [ "${reqs:-0}" -gt 0 ]
        check reload $? "$reloads reloads in $reload_secs s under load, new connection per request: $reqs requests, $errs socket errors, $non2xx non-2xx, ${wrong:-?} wrong answers"
    else
        [ "$non2xx" -eq 0 ] && [ "${wrong:-1}" -eq 0 ] && [ "${reqs:-0}" -gt 0 ]
        check reload-keepalive $? "$reloads reloads in $reload_secs s under load, kept-alive connections: $reqs requests, $non2xx non-2xx, ${wrong:-?} wrong answers, $errs requests lost on connections closed idle (clients retry these)"
    fi
done

# ---- reload with a corrupted model --------------------------------------
rel_settle
before=$(rel_workers | sort | paste -sd,)
rel_wrk "$REL_DIR/corrupt.out" 6 64 valid
sleep 1
cp "$REL_DIR/models/fraud.json" "$REL_DIR/fraud.good"
head -c 5000 "$REL_DIR/fraud.good" > "$REL_DIR/models/fraud.json.new"
mv "$REL_DIR/models/fraud.json.new" "$REL_DIR/models/fraud.json"
"$NGINX" -t -p "$REL_DIR/" -c "$REL_DIR/conf/nginx.conf" -e "$REL_DIR/logs/test.log" > /dev/null 2>&1
t_rc=$?
rel_signal reload
sleep 2
after=$(rel_workers | sort | paste -sd,)
emerg=$(grep -c "cannot load $REL_DIR/models/fraud.json" "$REL_DIR/logs/error.log")
rel_wrk_wait
out=$REL_DIR/corrupt.out
errs=$(wrk_field "$out" errors) non2xx=$(wrk_field "$out" non2xx) wrong=$(wrk_field "$out" wrong) reqs=$(wrk_field "$out" requests)
[ "$t_rc" -ne 0 ] && [ "$emerg" -ge 1 ] && [ "$before" = "$after" ] && [ "$errs" -eq 0 ] \
    && [ "$non2xx" -eq 0 ] && [ "${wrong:-1}" -eq 0 ]
check corrupt-reload $? "nginx -t exit $t_rc; reload refused ($emerg [emerg] naming the file), workers unchanged ($before -> $after); $reqs requests meanwhile: $errs socket errors, $non2xx non-2xx, ${wrong:-?} wrong"
mv "$REL_DIR/fraud.good" "$REL_DIR/models/fraud.json"
rel_signal reload
sleep 1

# ---- kill -9 of one worker under load -------------------------------------
rel_settle
rel_wrk "$REL_DIR/kill.out" "$kill_secs" 256 valid
sleep 2
pre=$(rel_workers)
victim=$(head -1 <<< "$pre")
held=$(ss -tnpH state established "( sport = :$REL_PORT )" 2>/dev/null | grep -c "pid=$victim,")
t0=$(date +%s%N)
kill -KILL "$victim"
served=
for _ in $(seq 300); do
    pid=$(curl -s -o /dev/null -D - -H "Connection: close" \
        --data-binary '[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]]' "$url/predict/fraud" \
        | sed -nE 's/^X-Worker: ([0-9]+).*/\1/p')
    if [ -n "$pid" ] && ! grep -qx "$pid" <<< "$pre"; then
        served=$(( ($(date +%s%N) - t0) / 1000000 ))
        break
    fi
    sleep 0.01
done
rel_wrk_wait
out=$REL_DIR/kill.out
errs=$(wrk_field "$out" errors) non2xx=$(wrk_field "$out" non2xx) wrong=$(wrk_field "$out" wrong) reqs=$(wrk_field "$out" requests)
[ -n "$served" ] && [ "$served" -lt 1000 ] && [ "$errs" -le "$held" ] \
    && [ "$non2xx" -eq 0 ] && [ "${wrong:-1}" -eq 0 ]
check kill-9 $? "worker $victim killed holding $held connections: $errs requests failed of $reqs, $non2xx non-2xx, ${wrong:-?} wrong; its replacement served after ${served:-never} ms"

# ---- clients gone mid-batch and mid-body ----------------------------------
rel_settle
workers=$(rel_workers)
log_at=$(stat -c %s "$REL_DIR/logs/error.log")
python3 "$HERE/clients.py" disconnect "$REL_PORT" 10 50 > /dev/null   # warm-up: malloc arenas settle
sleep 1
rss0=0 fds0=0
for w in $workers; do rss0=$((rss0 + $(rss_kb "$w"))); fds0=$((fds0 + $(ls /proc/"$w"/fd | wc -l))); done
sent=$(python3 "$HERE/clients.py" disconnect "$REL_PORT" "$rounds" 50)
# the batches of clients gone still run; their connections close after
for _ in $(seq 100); do
    sleep 0.1
    rss1=0 fds1=0
    for w in $workers; do rss1=$((rss1 + $(rss_kb "$w"))); fds1=$((fds1 + $(ls /proc/"$w"/fd | wc -l))); done
    [ "$fds1" -le "$fds0" ] && break
done
answer=$(curl -s --data-binary '[[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]]' "$url/predict/fraud")
bad=$(tail -c +$((log_at + 1)) "$REL_DIR/logs/error.log" | grep -E '\[(warn|error|crit|alert|emerg)\]' | head -3)
# ASan's quarantine keeps freed memory resident: there RSS says nothing,
# and leaks are ASan's own report
rss_limit=2048
[ -n "$(sanitizer_runtimes "$BUILD/ngx_http_forest_module.so")" ] && rss_limit=$((1 << 30))
[ $((rss1 - rss0)) -lt $rss_limit ] && [ "$fds1" -le "$fds0" ] && [[ $answer == '{"predictions":[['* ]] && [ -z "$bad" ]
check disconnects $? "${sent#sent } clients gone mid-batch or mid-body: worker RSS $rss0 -> $rss1 kB, descriptors $fds0 -> $fds1, still serving${bad:+; log: $bad}"

# ---- graceful shutdown with batches in flight -----------------------------
python3 "$HERE/clients.py" inflight "$REL_PORT" 50 "$REL_DIR" \
    kill -QUIT "$NGINX_MASTER" > "$REL_DIR/inflight.out" 2>&1
rc=$?
for _ in $(seq 100); do kill -0 "$NGINX_MASTER" 2>/dev/null || break; sleep 0.1; done
gone=$(kill -0 "$NGINX_MASTER" 2>/dev/null && echo no || echo yes)
[ "$rc" -eq 0 ] && [ "$gone" = yes ]
check shutdown $? "graceful shutdown with a 20000-row batch running and 50 requests pending: $(tail -1 "$REL_DIR/inflight.out"); master exited: $gone"
NGINX_MASTER=

bad=$(grep -E '\[(crit|alert|emerg)\]' "$REL_DIR/logs/error.log" \
      | grep -vE "exited on signal 9|cannot load $REL_DIR/models/fraud.json" | head -5)
[ -z "$bad" ]
check faults-log $? "error log: no crit/alert/emerg but the expected kill and corrupt-model lines${bad:+: $bad}"

echo "$REL_PASSED passed, $REL_FAILED failed, 0 skipped"
[ "$REL_FAILED" -eq 0 ]
