#!/usr/bin/env bash
# The GPU benchmark's rehearsal (bench/gpu.sh rehearse): every step of the
# one-shot device run that needs no CUDA (the request file, the nginx
# configuration with the module of this build under nginx -t, the MPS
# step's checks, the tables on bench/gpu/rehearse/'s fake results), so
# that the run on a lent GPU cannot fail on a typo.  The packing and the
# HTTP step against the packed nginx need the developers' tools folder
# (FOREST_TOOLS) and run by hand (README, "GPU").  $1 = absolute build dir.
set -uo pipefail
BUILD=${1:?usage: suite_gpu_bench.sh BUILD_DIR}
cd "$(dirname "$0")/.."
. tests/lib.sh
passed=0 failed=0 skipped=0

work=$(mktemp -d /tmp/suite-gpu-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# a SANITIZE=1 module loads into the packaged nginx only with its runtimes
nginx=$(nginx_for_module "$BUILD/ngx_http_forest_module.so" /usr/sbin/nginx "$work")
out=$(BUILD=$(realpath --relative-to=. "$BUILD") FOREST_NGINX=$nginx FOREST_TOOLS= \
      timeout 60 bash bench/gpu.sh rehearse 2>&1)
rc=$?
echo "$out" | sed 's/^/    /'
if [ "$rc" -eq 0 ] && [ "$(tail -1 <<<"$out")" = "rehearse: ok" ]; then
    ok "bench/gpu.sh rehearse"
else
    bad "bench/gpu.sh rehearse: $(tail -3 <<<"$out" | tr '\n' ' ' | cut -c1-300)"
fi
# the table code reads what gpu_bench prints: the strategies it names
for k in auto rows trees compact; do
    if grep -q "\"$k\", FOREST_GPU_KERNEL_" bench/gpu_bench.c; then
        ok "gpu_bench measures the $k strategy the tables read"
    else
        bad "bench/gpu_bench.c has no $k strategy, which bench/gpu/table.py reads"
    fi
done
# and the contribution lines of gpu_bench --contribs
for who in gpu cpu1; do
    if grep -qF "\"contrib\\t$who\\t" bench/gpu_bench.c; then
        ok "gpu_bench --contribs measures $who, which the tables read"
    else
        bad "bench/gpu_bench.c prints no contrib $who line, which bench/gpu/table.py reads"
    fi
done
summary
