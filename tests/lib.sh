# Shared by the shell suites (sourced, not run).  The caller sets
# passed=0 failed=0 first.

# tally OUTPUT RC: adds the last "N passed, N failed" line of OUTPUT to
# passed/failed; no such line, or a failing RC with no failure counted,
# counts as one failure.
tally() {
    local line p f
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$1" | tail -1)
    if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
    p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f))
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
