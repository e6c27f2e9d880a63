#!/usr/bin/env bash
# The whole t/ suite against the module built with ASan+UBSan (build/san,
# built here if needed) loaded into the packaged nginx with the sanitizer
# runtimes preloaded.  Sanitizer reports go to files (a daemonised nginx has
# no stderr of its own), which are read afterwards: any ASan error or UBSan
# runtime error fails, and so does any leak whose allocation stack leaves
# nginx and libc (nginx's own exit-time allocations are not ours).
# $1: the build dir of `make test` (unused: this suite has its own build).
# Last line: N passed, N failed, N skipped.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
san_build=${FOREST_SAN_BUILD:-build/san}
shift    # further arguments: t/ files to run instead of all

if ! out=$(make -s BUILD="$san_build" SANITIZE=1 FOREST_CUDA=off module 2>&1); then
    echo "$out" | tail -20
    echo "building the sanitizer module in $san_build failed"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
module="$root/$san_build/ngx_http_forest_module.so"

logs=$(mktemp -d /tmp/forest-asan.XXXXXX)
trap 'rm -rf "$logs"' EXIT

# The fast unwinder (frame pointers, which our code keeps and nginx lacks)
# shows our frames above malloc and stops in nginx: enough to tell whose a
# leak is, at half the cost of the full one (fast_unwind_on_malloc=0).
export TEST_NGINX_LD_PRELOAD=$(ldd "$module" | awk '/lib(asan|ubsan)\.so/ { print $3 }' | paste -sd' ')
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$logs/asan"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$logs/ubsan"
# instrumented nginx on a busy CI machine: room beyond the 3 s default
export TEST_NGINX_TIMEOUT=${TEST_NGINX_TIMEOUT:-10}

out=$(bash tests/suite_t.sh "$root/$san_build" "$@" 2>&1)
rc=$?
echo "$out" | grep -v '^ok '
. "$root/tests/lib.sh"
read -r passed failed skipped <<<"$(summary_counts "$out")"
passed=${passed:-0}; failed=${failed:-1}; skipped=${skipped:-0}
[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1

# A leak is nginx's own when every frame above the allocator is in nginx or
# libc.  Frames in our module often print as "<unknown module>" or as an
# offset into another library: nginx has unloaded the module when the
# process exits and LSan reports.
reports=0
for f in "$logs"/*; do
    [ -f "$f" ] || continue
    bad=$(awk '
        /ERROR: AddressSanitizer|runtime error:/ { print FILENAME ": " $0; next }
        /^(Direct|Indirect) leak of/ { rec = $0; inrec = 1; ours = 0; next }
        inrec && /^ *#[0-9]+ / {
            rec = rec "\n" $0
            if ($1 != "#0" && $0 !~ /\/usr\/sbin\/nginx\+|\.\.\/sysdeps\/|\.\.\/csu\/|libc\.so/) ours = 1
            next
        }
        inrec { if (ours) print FILENAME ":\n" rec; inrec = 0 }
        END { if (inrec && ours) print FILENAME ":\n" rec }' "$f")
    if [ -n "$bad" ]; then
        echo "$bad"
        reports=$((reports + 1))
    fi
done
echo "sanitizer reports (errors, leaks through our code): $reports"
failed=$((failed + reports))
summary
