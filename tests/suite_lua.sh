#!/usr/bin/env bash
# Lua hook core (lua/forest_lua_*.c, no NGINX): builds the C driver
# tests/lua/test_lua.c with it, LuaJIT and yajl, plainly and under
# ASan+UBSan, and runs both.  $1: absolute build dir.
# Last line: N passed, N failed, N skipped.
set -uo pipefail
build=${1:?build dir}
root=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0 skipped=0

. "$root/tests/lib.sh"

srcs=("$root"/lua/forest_lua_*.c)
flags=(-std=c11 -D_GNU_SOURCE -g -Wall -Wextra -Werror -I"$root/lua"
       -I"$root/codec" -I/usr/include/luajit-2.1 -I"$root/tests/unit")
san=(-O1 -fsanitize=address,undefined -fno-omit-frame-pointer
     -fno-sanitize-recover=undefined)

for variant in plain san; do
    extra=(-O2) bin=$build/lua-test
    [ $variant = san ] && extra=("${san[@]}") bin=$build/lua-test-san
    if ! ${CC:-cc} "${flags[@]}" "${extra[@]}" "$root/tests/lua/test_lua.c" \
            "${srcs[@]}" -lluajit-5.1 -lyajl -lm -o "$bin"; then
        echo "lua-test ($variant) does not build"; failed=$((failed + 1)); continue
    fi
    out=$("$bin" 2>&1); rc=$?
    echo "$out" | tail -30
    tally "$out" $rc
done

summary
