#!/usr/bin/env bash
# Load: wrk with 256 connections for LOAD_SECONDS (60) of valid requests
# (KServe JSON, KServe binary, simple API in turn) against 2 workers.
# Passes with zero non-2xx answers, zero socket errors, and every response
# equal to its request's answer checked against xgboost's own output.
# $1: absolute build dir.  Last line: N passed, N failed, N skipped.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
REL_PORT=${REL_PORT:-19700}
. "$(dirname "$0")/lib.sh"
secs=${LOAD_SECONDS:-60}
conns=${LOAD_CONNECTIONS:-256}

rel_conf notice
rel_start || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
rel_prepare || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }

rel_wrk "$REL_DIR/wrk.out" "$secs" "$conns" valid
rel_wrk_wait
cat "$REL_DIR/wrk.out"

reqs=$(wrk_field "$REL_DIR/wrk.out" requests)
errs=$(wrk_field "$REL_DIR/wrk.out" errors)
non2xx=$(wrk_field "$REL_DIR/wrk.out" non2xx)
checked=$(wrk_field "$REL_DIR/wrk.out" checked)
wrong=$(wrk_field "$REL_DIR/wrk.out" wrong)
rps=$(wrk_field "$REL_DIR/wrk.out" rps)
p99=$(wrk_field "$REL_DIR/wrk.out" p99_us)

[ "${reqs:-0}" -gt 0 ] && [ "$errs" -eq 0 ] && [ "$non2xx" -eq 0 ]
check load $? "$reqs requests in ${secs} s at $conns connections ($rps/s, p99 ${p99} us): $non2xx non-2xx, $errs socket errors"
[ "${checked:-0}" -gt 0 ] && [ "${wrong:-1}" -eq 0 ]
check load-answers $? "$checked responses compared with their checked answers: ${wrong:-?} wrong"
bad=$(grep -E '\[(warn|error|crit|alert|emerg)\]' "$REL_DIR/logs/error.log" | head -5)
[ -z "$bad" ]
check load-log $? "error log has no warn/error/crit/alert/emerg line${bad:+: $bad}"

rel_stop
echo "$REL_PASSED passed, $REL_FAILED failed, 0 skipped"
[ "$REL_FAILED" -eq 0 ]
