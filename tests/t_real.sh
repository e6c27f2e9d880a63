#!/usr/bin/env bash
# The t/ suites under the real Test::Nginx (openresty/test-nginx, not
# packaged in Debian: a checkout, or the lib dir a CPAN install leaves),
# whose lib dir is $2, so that t/*.t stay Test::Nginx files that t/lib's
# runner merely also runs.  Its Perl dependencies are Debian packages:
# libtest-base-perl libtest-longstring-perl liblist-moreutils-perl
# libtext-diff-perl liburi-perl libhttp-message-perl libipc-run-perl.
#   tests/t_real.sh BUILD TEST_NGINX_LIBDIR [t/FILE.t ...]
# Last line: N passed, N failed, N skipped.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD TEST_NGINX_LIBDIR [t/FILE.t ...]"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
lib=$(cd "$2" 2>/dev/null && pwd)
# t/lib's runner answers to the same module name: it would pass for the
# real one here and prove nothing
if [ -z "$lib" ] || [ ! -f "$lib/Test/Nginx/Socket.pm" ] || [ "$lib" = "$root/t/lib" ]; then
    echo "no real Test::Nginx in $2 (want the lib dir holding Test/Nginx/Socket.pm)"
    echo "0 passed, 1 failed, 0 skipped"
    exit 1
fi
TEST_NGINX_LIB=$lib exec bash "$root/tests/suite_t.sh" "$1" "${@:3}"
