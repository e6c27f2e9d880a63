#!/usr/bin/env bash
# Soak (`make soak`): SOAK_SECONDS (600) of mixed valid and invalid requests
# (3 valid kinds, 5 invalid ones: bad JSON, NaN, wrong feature count, unknown
# model, too many rows) at 64 connections.  Worker RSS is sampled every 10 s;
# after SOAK_WARMUP (60) s no worker may grow by 5 MB or more.  Every answer
# must be its request's checked answer, and the error log (level info) must
# hold only the expected lines: one "forest: 4xx" line per invalid request
# and nginx's own start, stop and client-gone notes.
# $1: absolute build dir.  Last line: N passed, N failed, N skipped.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
REL_PORT=${REL_PORT:-19730}
. "$(dirname "$0")/lib.sh"
secs=${SOAK_SECONDS:-600}
warmup=${SOAK_WARMUP:-60}
limit_kb=5120

rel_conf info "batch_delay=100us"
rel_start || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
rel_prepare || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
workers=$(rel_workers)

rel_wrk "$REL_DIR/soak.out" "$secs" 64 mixed
echo "t_s $(echo $workers | sed 's/[0-9]\+/rss_kb_&/g')" > "$REL_DIR/rss.txt"
start=$(date +%s)
while kill -0 "$WRK_PID" 2>/dev/null; do
    line="$(( $(date +%s) - start ))"
    for w in $workers; do line="$line $(rss_kb "$w")"; done
    echo "$line" >> "$REL_DIR/rss.txt"
    sleep 10
done
rel_wrk_wait
cat "$REL_DIR/soak.out"
cat "$REL_DIR/rss.txt"

reqs=$(wrk_field "$REL_DIR/soak.out" requests) errs=$(wrk_field "$REL_DIR/soak.out" errors)
ok=$(wrk_field "$REL_DIR/soak.out" ok) e4=$(wrk_field "$REL_DIR/soak.out" expected_4xx)
wrong=$(wrk_field "$REL_DIR/soak.out" wrong)
[ "${reqs:-0}" -gt 0 ] && [ "$errs" -eq 0 ] && [ "${wrong:-1}" -eq 0 ]
check soak-answers $? "$reqs requests in $secs s: $ok right 200s, $e4 right 4xx, ${wrong:-?} wrong, $errs socket errors"

# growth of each worker from its first sample past warm-up to its last
growth=$(awk -v w="$warmup" 'NR > 1 && $1 >= w {
        for (i = 2; i <= NF; i++) { if (!(i in first)) first[i] = $i; last[i] = $i } }
    END { m = -1e9; for (i in first) { g = last[i] - first[i]; if (g > m) m = g }
          print (m == -1e9 ? "none" : m) }' "$REL_DIR/rss.txt")
rss_end=$(tail -1 "$REL_DIR/rss.txt" | cut -d' ' -f2- | tr ' ' '+' | sed 's/+$//')
[ "$growth" != none ] && [ "$growth" -lt "$limit_kb" ]
check soak-rss $? "largest worker RSS growth after ${warmup} s warm-up: ${growth} kB (limit $limit_kb kB; worker RSS at the end: $rss_end kB)"

rel_stop
log=$REL_DIR/logs/error.log
forest_lines=$(grep -c 'forest: 4[0-9][0-9] ' "$log")
unexpected=$(grep -vE '\[notice\]|forest: 4[0-9][0-9] |client [0-9.]+ closed keepalive connection|client prematurely closed connection|client closed connection while waiting for request|shutdown\(\) failed \(107: ' "$log" | head -5)
# wrk stops counting with requests still in flight: up to one per connection
[ -z "$unexpected" ] && [ "$forest_lines" -ge "$e4" ] && [ "$forest_lines" -le $((e4 + 5 + 64)) ]
check soak-log $? "error log: $forest_lines 'forest: 4xx' lines for $e4 invalid requests counted by wrk (+5 from the preparation), nothing unexpected${unexpected:+: $unexpected}"

echo "$REL_PASSED passed, $REL_FAILED failed, 0 skipped"
[ "$REL_FAILED" -eq 0 ]
