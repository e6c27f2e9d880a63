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
