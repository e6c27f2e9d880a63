# Shared by the shell suites (sourced, not run).  A suite that counts its
# own checks sets passed=0 failed=0 skipped=0 first and ends with `summary`.
# Every suite's last line is "N passed, N failed, N skipped"; a skip is only
# for hardware the machine lacks, announced by a "SKIP reason: what" line.

ok()  { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }

# summary: the closing line; status 1 when anything failed.
summary() {
    echo "$passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

# summary_counts OUTPUT: "P F S" from the last summary line of OUTPUT (one
# word and a colon may stand before it), or nothing.
summary_counts() {
    grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' <<<"$1" \
        | tail -1 | sed -E 's/^([A-Za-z0-9_-]+: )?//; s/([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/'
}

# tally OUTPUT RC: adds OUTPUT's summary to passed/failed/skipped.  No
# summary, nothing run (0 passed, 0 failed, 0 skipped), or a failing RC with
# no failure counted, counts as one failure.
tally() {
    local p f s
    read -r p f s <<<"$(summary_counts "$1")"
    if [ -z "$p" ] || [ $((p + f + s)) -eq 0 ]; then failed=$((failed + 1)); return; fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    [ "$2" -eq 0 ] || [ "$f" -gt 0 ] || failed=$((failed + 1))
}

# sanitizer_runtimes MODULE: the ASan/UBSan runtimes a SANITIZE=1 module
# links (space-separated), or nothing.  The packaged nginx is not
# instrumented, so such a module loads only with these preloaded.
sanitizer_runtimes() {
    ldd "$1" 2>/dev/null | awk '/lib(asan|ubsan)\.so/ { print $3 }' | paste -sd' '
}

# nginx_for_module MODULE NGINX WORKDIR: prints the nginx command to run
# with MODULE: NGINX itself, or for a sanitized module a wrapper script in
# WORKDIR that preloads the runtimes (every nginx invocation loads the
# module, `-s quit` included; forked workers inherit the preload).
nginx_for_module() {
    local san
    san=$(sanitizer_runtimes "$1")
    if [ -z "$san" ]; then echo "$2"; return; fi
    cat > "$3/nginx-san" <<WRAP
#!/bin/sh
ASAN_OPTIONS=\${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0} LD_PRELOAD="$san" exec "$2" "\$@"
WRAP
    chmod +x "$3/nginx-san"
    echo "$3/nginx-san"
}

# free_ports N: N distinct free TCP ports on 127.0.0.1 in 19000-19999,
# space-separated.
free_ports() {
    python3 - "$1" <<'PY'
import random, socket, sys
ports = []
while len(ports) < int(sys.argv[1]):
    p = random.randint(19000, 19999); s = socket.socket()
    try: s.bind(("127.0.0.1", p)); s.close(); ports.append(p)
    except OSError: pass
print(*ports)
PY
}

# nginx_start NGINX PREFIX CONF: starts the daemon with its error log in
# PREFIX/logs; on failure prints that log and returns 1.
nginx_start() {
    "$1" -p "$2/" -c "$3" -e "$2/logs/error.log" && return 0
    cat "$2/logs/error.log"; return 1
}

# wait_http URL: waits up to 5 s for URL to answer 2xx.
wait_http() {
    for _ in $(seq 100); do curl -sf "$1" >/dev/null && return 0; sleep 0.05; done
    return 1
}

# nginx_stop PREFIX: quits the nginx of PREFIX/logs/nginx.pid, waits up to
# 10 s for it to exit, and removes PREFIX (for `trap ... EXIT`).
nginx_stop() {
    local pid
    pid=$(cat "$1/logs/nginx.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -rf "$1"
}

# nginx_conf_head MODULE PREFIX CONNECTIONS LOG_LEVEL: the main context of a
# suite's nginx.conf (2 workers, logs and temp paths under PREFIX) and the
# opening of its http block, which the caller goes on with and closes.
nginx_conf_head() {
    cat <<CONF
load_module $1;
$([ "$(id -u)" = 0 ] && echo "user root;")
daemon on;
master_process on;
worker_processes 2;
error_log $2/logs/error.log $4;
pid $2/logs/nginx.pid;
events { worker_connections $3; }
http {
    access_log off;
    client_body_temp_path $2/client_body_temp;
    proxy_temp_path $2/proxy_temp;
    fastcgi_temp_path $2/fastcgi_temp;
    uwsgi_temp_path $2/uwsgi_temp;
    scgi_temp_path $2/scgi_temp;
CONF
}
