#!/usr/bin/env bash
# A subset of the t/ suites with nginx run under valgrind's memcheck, as the
# real Test::Nginx does with TEST_NGINX_USE_VALGRIND: nginx in the
# foreground, one process (or a master and its workers where a file says
# master_on), --leak-check=full; a must_die block's nginx too.  Any report on
# nginx's stderr (an invalid read or write, a use of uninitialised memory, a
# definitely lost block) fails its block; t/valgrind.suppress holds nginx's
# own leaks.  The subset (VALGRIND_T_FILES) skips the suites that assert
# timings, which valgrind's slowdown breaks; prove runs two files at a time,
# the longest (080) first, the others beside it: about 2 minutes on 2 cores.
# $1: absolute build dir holding ngx_http_forest_module.so.
# Last line: N passed, N failed, N skipped.
set -uo pipefail
BUILD=$(cd "${1:-build}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v valgrind >/dev/null; then
    echo "valgrind is not installed"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi

# valgrind cannot run an ASan-instrumented module: under SANITIZE=1 this
# suite checks the plain build instead
. "$root/tests/lib.sh"
if [ -n "$(sanitizer_runtimes "$BUILD/ngx_http_forest_module.so")" ]; then
    BUILD=$root/build/valgrind
    env -u MAKEFLAGS -u MAKELEVEL make -s BUILD="$BUILD" SANITIZE=0 FOREST_CUDA=off module \
        > "$root/build/valgrind-make.log" 2>&1 \
        || { tail -20 "$root/build/valgrind-make.log"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
fi

export TEST_NGINX_USE_VALGRIND="--tool=memcheck --leak-check=full --show-possibly-lost=no --suppressions=$root/t/valgrind.suppress"
# requests are 20-50 times slower under valgrind
export TEST_NGINX_TIMEOUT=${TEST_NGINX_TIMEOUT:-30}

read -r -a files <<< "${VALGRIND_T_FILES:-t/080-hostile.t t/010-simple.t t/050-metrics.t t/097-repository.t t/096-categories.t}"
bash tests/suite_t.sh "$BUILD" "${files[@]}"
