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
