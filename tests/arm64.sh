#!/usr/bin/env bash
# `make test-arm64`: the AArch64 build, checked on an x86 machine.  Cross-
# compiles (gcc-aarch64-linux-gnu) the library, the CLI and the unit tests
# into BUILD/arm64 and runs them under qemu-aarch64 (qemu-user, the target's
# C library from the cross toolchain), test_exec_cpu on the NEON kernel bit
# for bit against the reference predictor (the portable kernel is the same
# C as on x86, tested there); then the parity suite on every reference model
# through the emulated CLI; then compiles the NGINX module's objects for
# AArch64 against the packaged nginx headers and BUILD's configure output.
# The module is not linked: that needs the arm64 builds of libyajl and
# LuaJIT, which an x86 machine does not have (a native arm64 build uses
# Debian's).  Timing under qemu means nothing; bench/ says how NEON's gain
# is argued.  Not part of `make test` (about 2-3 minutes of emulation).
#
#   tests/arm64.sh BUILD   (absolute x86 build dir where `make module` ran)
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib.sh
passed=0 failed=0 skipped=0
BUILD=${1:?usage: tests/arm64.sh BUILD_DIR}
A=$BUILD/arm64
CROSS=aarch64-linux-gnu
export QEMU_LD_PREFIX=/usr/$CROSS
mkdir -p "$A"

for tool in $CROSS-gcc qemu-aarch64; do
    if ! command -v "$tool" > /dev/null; then
        bad "$tool is not installed (make deps)"
        summary; exit 1
    fi
done

tests=()
for t in tests/unit/test_*.c; do
    t=${t#tests/unit/}; tests+=("$A/tests/${t%.c}")
done
if env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -j2 CC=$CROSS-gcc \
        BUILD="$A" FOREST_CUDA=off "$A/libforest.a" "$A/bin/forest" \
        "${tests[@]}" > "$A/build.log" 2>&1; then
    ok "cross build: libforest.a, forest, ${#tests[@]} unit tests"
else
    bad "cross build: $(tail -5 "$A/build.log")"
    summary; exit 1
fi
if [[ $(file "$A/bin/forest") == *'ARM aarch64'* ]] \
   && syms=$($CROSS-nm "$A/libforest.a") \
   && grep -q ' T forest_cpu_block_neon$' <<<"$syms" \
   && ! grep -q 'forest_cpu_block_avx' <<<"$syms"; then
    ok "AArch64 objects with the NEON kernel and no x86 kernel"
else
    bad "$A/bin/forest is not an AArch64 build with the NEON kernel only"
fi

# the unit tests, all at once (each is one process under emulation)
for t in "${tests[@]}"; do
    arg=; [ "$(basename "$t")" = test_exec_cpu ] && arg=neon
    ( qemu-aarch64 "$t" $arg > "$t.log" 2>&1; echo $? > "$t.rc" ) &
done
wait
for t in "${tests[@]}"; do
    last=$(tail -1 "$t.log") rc=$(cat "$t.rc") name=$(basename "$t")
    if [ "$rc" = 0 ] && [[ $last =~ ^[0-9]+\ passed,\ 0\ failed ]]; then
        ok "qemu-aarch64 $name: $last"
    else
        bad "qemu-aarch64 $name: rc $rc: $(grep -m3 -E 'FAIL|failed' "$t.log")"
    fi
done

# parity through the emulated CLI: parity.py runs BUILD/bin/forest
mkdir -p "$A/qemu/bin"
printf '#!/bin/sh\nexec qemu-aarch64 %s/bin/forest "$@"\n' "$A" \
    > "$A/qemu/bin/forest"
chmod +x "$A/qemu/bin/forest"
out=$(python3 tests/parity.py "$A/qemu" 2>&1); rc=$?
last=$(tail -1 <<<"$out")
if [ $rc -eq 0 ] && [[ $last =~ ^[0-9]+\ passed,\ 0\ failed ]]; then
    ok "parity under qemu-aarch64 (NEON kernel): $last"
else
    bad "parity under qemu-aarch64: $(grep -m5 FAIL <<<"$out") $last"
fi

# the module's objects, with nginx's own flags and include paths from the
# x86 configure (same LP64 sizes; its arch tests are compiler macros);
# headers the cross sysroot lacks (yajl, OpenSSL's, PCRE2's) come after it
# from /usr/include, OpenSSL's two generated headers from the x86 multiarch
# dir (no arch-specific types in them for LP64).
ngx_mk=$BUILD/nginx/Makefile
NGX_SRC=${NGX_SRC:-/usr/share/nginx/src}
if [ ! -f "$ngx_mk" ]; then
    bad "no $ngx_mk: run make module first"
    summary; exit 1
fi
incs=$(sed -n '/^ALL_INCS = /,/^$/p' "$ngx_mk" \
       | sed 's/^ALL_INCS = //; s/\\$//' | tr -s ' \t\n' ' ')
cflags=$(sed -n 's/^CFLAGS = //p' "$ngx_mk" | sed 's/-DFOREST_HAVE_CUDA=1//')
mkdir -p "$A/module-fallback/openssl" "$A/module"
for h in opensslconf.h configuration.h; do
    ln -sf "/usr/include/x86_64-linux-gnu/openssl/$h" \
        "$A/module-fallback/openssl/$h"
done
n=0 nbad=0
for src in ngx_module/*.c lua/*.c; do
    n=$((n + 1))
    o=$A/module/$(basename "$src" .c).o
    # shellcheck disable=SC2086
    if ! (cd "$NGX_SRC" && $CROSS-gcc -c -fPIC $cflags $incs \
            -idirafter /usr/include -idirafter "$A/module-fallback" \
            -o "$o" "$OLDPWD/$src") > "$o.log" 2>&1; then
        nbad=$((nbad + 1)); echo "$src: $(head -5 "$o.log")"
    fi
done
why="no arm64 libyajl/LuaJIT here"
arm=$(file "$A/module/"*.o | grep -c 'ARM aarch64')
if [ $nbad -eq 0 ] && [ "$arm" -eq $n ]; then
    ok "NGINX module: $n objects compile for AArch64 (not linked: $why)"
else
    bad "NGINX module: $nbad of $n objects do not compile for AArch64"
fi
summary
