/*
 * The per-worker Lua state: capped allocator, instruction budget, the
 * libraries and the `forest` table hooks see, loading a hook file, and the
 * protected runner every other file calls Lua through.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>
#include <luajit.h>

#include "forest_lua_internal.h"


static void *
flua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    void        *p;
    forest_lua  *fl = ud;

    if (ptr == NULL) {
        osize = 0;
    }

    if (nsize == 0) {
        free(ptr);
        fl->used -= osize;
        return NULL;
    }

    /* shrinking is always allowed: LuaJIT does not expect it to fail */
    if (nsize > osize && fl->used - osize + nsize > fl->limit
        && !fl->uncapped)
    {
        fl->mem_refused = 1;
        return NULL;
    }

    p = realloc(ptr, nsize);
    if (p == NULL) {
        fl->mem_refused = 1;
        return NULL;
    }

    fl->used = fl->used - osize + nsize;
    return p;
}


/*
 * Fires once `budget` instructions have run, then at every instruction, so
 * that a pcall in the script cannot catch the error and go on.
 */
static void
flua_hook(lua_State *L, lua_Debug *ar)
{
    void        *ud;
    forest_lua  *fl;

    (void) lua_getallocf(L, &ud);
    fl = ud;

    fl->exhausted = 1;
    lua_sethook(L, flua_hook, LUA_MASKCOUNT, 1);

    /* where the script was: the message is all the error log gets */
    if (lua_getinfo(L, "Sl", ar) && ar->currentline > 0) {
        luaL_error(L, "%s:%d: exceeded its budget of %d instructions",
                   ar->short_src, ar->currentline, (int) fl->budget);
    }

    luaL_error(L, "exceeded its budget of %d instructions", (int) fl->budget);
}


int
flua_fail(flua_call *c, int status, const char *fmt, ...)
{
    va_list  args;

    c->status = status;
    va_start(args, fmt);
    vsnprintf(c->err, c->errlen, fmt, args);
    va_end(args);
    return status;
}


static int
flua_collect(lua_State *L)
{
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}


/*
 * Garbage counts against the cap: collect it before it crowds out the next
 * call (rare once a hook settles).  The collection itself may allocate (the
 * protected call's closure, a smaller string table), so the cap is lifted
 * while it runs; otherwise a state filled to the cap could never recover.
 */
static void
flua_make_room(forest_lua *fl)
{
    if (fl->used <= fl->limit / 2) {
        return;
    }

    fl->uncapped = 1;
    (void) lua_cpcall(fl->L, flua_collect, NULL);
    fl->uncapped = 0;
    lua_settop(fl->L, 0);
}


int
flua_run(forest_lua *fl, lua_CFunction f, flua_call *c, const char *what)
{
    int          rc;
    const char  *msg;
    lua_State   *L = fl->L;

    c->fl = fl;
    c->status = 0;
    c->out_of_memory = 0;

    flua_make_room(fl);

    fl->exhausted = 0;
    fl->mem_refused = 0;
    lua_sethook(L, flua_hook, LUA_MASKCOUNT, (int) fl->budget);

    rc = lua_cpcall(L, f, c);

    if (rc != 0) {
        msg = lua_tostring(L, -1);

        if (rc == LUA_ERRMEM) {
            c->out_of_memory = 1;
            flua_fail(c, 500, "%s%sran out of memory (the Lua state may use "
                      "%zu bytes)", what ? what : "", what ? ": " : "",
                      fl->limit);

        } else if (msg != NULL) {
            flua_fail(c, 500, "%s%s%s", what ? what : "", what ? ": " : "",
                      msg);

        } else {
            flua_fail(c, 500, "%s%sraised an error object of type %s",
                      what ? what : "", what ? ": " : "",
                      luaL_typename(L, -1));
        }

        lua_pop(L, 1);
    }

    flua_make_room(fl);

    return c->status;
}


void
flua_push_null(lua_State *L)
{
    lua_pushlightuserdata(L, NULL);
}


int
flua_is_null(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TLIGHTUSERDATA
           && lua_touserdata(L, idx) == NULL;
}


void
flua_push_array_mt(forest_lua *fl)
{
    lua_rawgeti(fl->L, LUA_REGISTRYINDEX, fl->array_mt);
}


void
flua_push_cached(forest_lua *fl, int cache, const forest_lua_model *m,
    flua_build_fn build)
{
    lua_State  *L = fl->L;

    lua_rawgeti(L, LUA_REGISTRYINDEX, cache);
    lua_pushlightuserdata(L, (void *) m->key);
    lua_rawget(L, -2);

    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        build(fl, m);
        lua_pushlightuserdata(L, (void *) m->key);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }

    lua_remove(L, -2);
}


int
flua_is_marked_array(forest_lua *fl, int idx)
{
    int         yes;
    lua_State  *L = fl->L;

    if (!lua_getmetatable(L, idx)) {
        return 0;
    }

    flua_push_array_mt(fl);
    yes = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return yes;
}


const char *
flua_describe(lua_State *L, int idx, char *buf, size_t len)
{
    size_t       n;
    const char  *s;

    switch (lua_type(L, idx)) {

    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        snprintf(buf, len, "a string (\"%.*s%s\")", n > 40 ? 40 : (int) n,
                 s, n > 40 ? "..." : "");
        return buf;

    case LUA_TNIL:
        return "nil";

    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            return "forest.null";
        }
        return "a light userdata";

    case LUA_TTABLE:
        return "a table";

    case LUA_TNUMBER:
        return "a number";

    case LUA_TBOOLEAN:
        return lua_toboolean(L, idx) ? "a boolean (true)" : "a boolean (false)";

    default:
        snprintf(buf, len, "a %s", luaL_typename(L, idx));
        return buf;
    }
}


/* forest.array([t]): marks t (or a new table) as a JSON array, so that an
 * empty one is written [] rather than {}. */
static int
flua_array(lua_State *L)
{
    forest_lua  *fl = lua_touserdata(L, lua_upvalueindex(1));

    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    flua_push_array_mt(fl);
    lua_setmetatable(L, 1);
    return 1;
}


typedef struct {
    flua_call            c;
    const char          *package_path;
} init_args;


static const luaL_Reg  flua_libs[] = {
    { "", luaopen_base },
    { LUA_LOADLIBNAME, luaopen_package },
    { LUA_TABLIBNAME, luaopen_table },
    { LUA_IOLIBNAME, luaopen_io },
    { LUA_OSLIBNAME, luaopen_os },
    { LUA_STRLIBNAME, luaopen_string },
    { LUA_MATHLIBNAME, luaopen_math },
    { LUA_BITLIBNAME, luaopen_bit },
    { NULL, NULL }
};


static int
flua_init(lua_State *L)
{
    const luaL_Reg  *lib;
    init_args       *a = lua_touserdata(L, 1);
    forest_lua      *fl = a->c.fl;

    /* jit, ffi and debug stay closed: each could take code out of the
     * instruction budget (see forest_lua.h) */
    for (lib = flua_libs; lib->func; lib++) {
        lua_pushcfunction(L, lib->func);
        lua_pushstring(L, lib->name);
        lua_call(L, 1, 0);
    }

    /* newproxy is the one way to a __gc finalizer from Lua: finalizers
     * would run Lua code inside garbage collection steps */
    lua_pushnil(L);
    lua_setglobal(L, "newproxy");

    if (a->package_path != NULL) {
        lua_getglobal(L, "package");
        lua_getfield(L, -1, "path");
        (void) luaL_gsub(L, a->package_path, ";;", ";\1;");
        (void) luaL_gsub(L, lua_tostring(L, -1), "\1", lua_tostring(L, -2));
        lua_setfield(L, -4, "path");
        lua_pop(L, 3);
    }

    lua_newtable(L);
    fl->array_mt = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    fl->models = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    fl->indexes = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_createtable(L, 0, 3);
    flua_push_null(L);
    lua_setfield(L, -2, "null");
    flua_push_array_mt(fl);
    lua_setfield(L, -2, "array_mt");
    lua_pushlightuserdata(L, fl);
    lua_pushcclosure(L, flua_array, 1);
    lua_setfield(L, -2, "array");

    /* both `forest` and require("forest") */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "loaded");
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "forest");
    lua_pop(L, 2);
    lua_setglobal(L, "forest");

    return 0;
}


forest_lua *
forest_lua_create(const forest_lua_conf *conf, char *err, size_t errlen)
{
    init_args    a;
    forest_lua  *fl;

    if (conf->budget > INT_MAX) {
        snprintf(err, errlen, "the instruction budget %u is over %d",
                 conf->budget, INT_MAX);
        return NULL;
    }

    fl = calloc(1, sizeof(forest_lua));
    if (fl == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }

    fl->limit = conf->memory_limit ? conf->memory_limit
                                   : FOREST_LUA_DEFAULT_MEMORY;
    fl->budget = conf->budget ? conf->budget : FOREST_LUA_DEFAULT_BUDGET;

    /* a custom allocator needs LuaJIT's 64-bit GC mode (GC64), the
     * default of the LuaJIT that Debian's lua-nginx-module links */
    fl->L = lua_newstate(flua_alloc, fl);
    if (fl->L == NULL) {
        snprintf(err, errlen, "cannot create a Lua state with its own "
                 "allocator (%zu bytes allowed; LuaJIT without GC64?)",
                 fl->limit);
        free(fl);
        return NULL;
    }

    /* hooks never fire inside compiled traces: the budget needs the
     * interpreter (forest_lua.h) */
    luaJIT_setmode(fl->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);

    a.c.err = err;
    a.c.errlen = errlen;
    a.package_path = conf->package_path;

    if (flua_run(fl, flua_init, &a.c, "creating the Lua state") != 0) {
        forest_lua_destroy(fl);
        return NULL;
    }

    return fl;
}


void
forest_lua_destroy(forest_lua *fl)
{
    if (fl == NULL) {
        return;
    }

    lua_close(fl->L);
    free(fl->out);
    free(fl);
}


size_t
forest_lua_memory(forest_lua *fl)
{
    return fl->used;
}


typedef struct {
    flua_call            c;
    const char          *path;
    int                  ref;
} load_args;


static int
flua_load(lua_State *L)
{
    char        what[64];
    load_args  *a = lua_touserdata(L, 1);

    if (luaL_loadfile(L, a->path) != 0) {
        flua_fail(&a->c, 500, "%s", lua_tostring(L, -1));
        return 0;
    }

    lua_call(L, 0, 1);

    if (!lua_isfunction(L, -1)) {
        flua_fail(&a->c, 500, "%s returned %s, want a function",
                  a->path, flua_describe(L, -1, what, sizeof(what)));
        return 0;
    }

    a->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}


int
forest_lua_load(forest_lua *fl, const char *path, char *err, size_t errlen)
{
    load_args  a;

    a.c.err = err;
    a.c.errlen = errlen;
    a.path = path;
    a.ref = LUA_NOREF;

    if (flua_run(fl, flua_load, &a.c, NULL) != 0) {
        return -1;
    }

    return a.ref;
}
