#!/usr/bin/env bash
# Symbols that could collide.  nginx dlopen()s a module RTLD_GLOBAL, so what
# the module exports shares one namespace with nginx and every other module:
# the .so must export only what nginx's load_module looks up
# (ngx_module/ngx_http_forest_module.map, linked in by `config`).  The
# libraries' globals, linked into the module, the CLI and whatever else
# links them, each carry their library's prefix: forest_ (libforest.a,
# libforest_cuda.a), fcodec_ (libforest_codec.a), forest_lua_ or flua_ (the
# Lua core's objects in the module build).  $1: absolute build dir.
set -uo pipefail
BUILD=${1:?usage: suite_symbols.sh BUILD_DIR}
cd "$(dirname "$0")/.."
. tests/lib.sh
passed=0 failed=0 skipped=0

# The module's object and the three arrays of the generated
# ngx_http_forest_module_modules.c that ngx_load_module dlsym()s.
so_allowed=(ngx_http_forest_module ngx_modules ngx_module_names ngx_module_order)
so_needed=(ngx_modules ngx_module_names)

# Made by g++ for C++ exception handling (weak, hidden), not a C name.
compiler_made=(DW.ref.__gxx_personality_v0)

in_list() {
    local want=$1 x; shift
    for x in "$@"; do [ "$x" = "$want" ] && return 0; done
    return 1
}

# ---- the module's dynamic exports ----------------------------------------
so=$BUILD/ngx_http_forest_module.so
if [ ! -f "$so" ]; then
    bad "no $so (make module)"
else
    exported=$(nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }' | sort -u)
    extra=()
    while read -r s; do
        [ -n "$s" ] && ! in_list "$s" "${so_allowed[@]}" && extra+=("$s")
    done <<<"$exported"
    if [ ${#extra[@]} -eq 0 ]; then
        ok "module exports only: $(paste -sd' ' <<<"$exported")"
    else
        bad "module exports ${#extra[@]} symbols beyond ${so_allowed[*]}: $(printf '%s ' "${extra[@]}" | cut -c1-600)"
    fi
    for s in "${so_needed[@]}"; do
        if grep -qx "$s" <<<"$exported"; then
            ok "module exports $s (nginx's load_module needs it)"
        else
            bad "module does not export $s: nginx cannot load it"
        fi
    done
fi

# ---- the libraries' globals ------------------------------------------------
# "member symbol" for each defined global of archive $1, C++ names demangled
# to their bare function name.
globals() {
    nm -A -g --defined-only -C "$1" \
        | sed -nE 's/^[^:]+:([^:]+):[0-9a-f]* [A-Za-z] ([^(]*).*$/\1 \2/p'
}

# "archive-or-objects#prefix regex" for each library
libs=("$BUILD/libforest.a#forest_" "$BUILD/libforest_codec.a#fcodec_"
      "$BUILD/nginx/addon/lua/*.o#(forest_lua|flua)_")
# libforest_cuda.a exists only where nvcc built gpu/
[ -f "$BUILD/libforest_cuda.a" ] && libs+=("$BUILD/libforest_cuda.a#forest_")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for entry in "${libs[@]}"; do
    lib=${entry%#*} prefix=${entry##*#}
    name=$(basename "$lib")
    # the Lua core is compiled into the module, not archived: archive its
    # objects here so that nm names them the same way
    if [[ "$lib" == *'*.o' ]]; then
        name="the Lua core ($(dirname "$lib"))"
        objs=($lib)
        if [ ! -f "${objs[0]}" ] || ! ar rcs "$tmp/lua.a" "${objs[@]}"; then
            bad "no $lib (make module)"
            continue
        fi
        lib=$tmp/lua.a
    fi
    if [ ! -f "$lib" ]; then
        bad "no $lib (make lib)"
        continue
    fi
    offenders=() n=0
    while read -r member sym; do
        [ -n "$sym" ] || continue
        n=$((n + 1))
        [[ "$sym" =~ ^$prefix ]] && continue
        in_list "$sym" "${compiler_made[@]}" && continue
        offenders+=("$member:$sym")
    done < <(globals "$lib")
    if [ "$n" -eq 0 ]; then
        bad "$name: nm listed no globals"
    elif [ ${#offenders[@]} -eq 0 ]; then
        ok "$name: $n globals, all $prefix"
    else
        bad "$name: ${#offenders[@]} globals without the $prefix prefix (prefix them, or make them static): ${offenders[*]}"
    fi
done

summary
