/*
 * Shared by the lua/forest_lua_*.c files; not part of the API.
 */
#ifndef FOREST_LUA_INTERNAL_H
#define FOREST_LUA_INTERNAL_H

#include <lua.h>
#include <lauxlib.h>

#include "forest_lua.h"

struct forest_lua {
    lua_State      *L;

    size_t          used;              /* bytes held by the state */
    size_t          limit;
    int             mem_refused;       /* the allocator said no */
    int             uncapped;          /* while collecting garbage */

    uint32_t        budget;
    int             exhausted;         /* the count hook fired */

    int             array_mt;          /* registry refs */
    int             models;            /* key -> req.model table */
    int             indexes;           /* key -> { feature name = index } */

    /* JSON text of the last post result (C memory, reused) */
    char           *out;
    size_t          out_len;
    size_t          out_cap;
};

/*
 * Runs f(L) with ud as its light userdata argument, protected, with the
 * instruction budget reset; what = "pre hook", "post hook", ... prefixes
 * error messages.  Returns 0 or the status f left in *status, or 500 when
 * f raised (runtime error, budget, memory: message in err).
 */
typedef struct {
    forest_lua     *fl;
    int             status;            /* set by f; 0 = success */
    int             out_of_memory;     /* f raised a memory error */
    char           *err;
    size_t          errlen;
} flua_call;

int flua_run(forest_lua *fl, lua_CFunction f, flua_call *c, const char *what);

/* Sets c->status and the message; returns the status. */
int flua_fail(flua_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* forest.null: JSON null, a light userdata NULL (as cjson.null, ngx.null) */
void flua_push_null(lua_State *L);
int flua_is_null(lua_State *L, int idx);
void flua_push_array_mt(forest_lua *fl);
/* 1 when the table at idx carries forest's array metatable */
int flua_is_marked_array(forest_lua *fl, int idx);

/* JSON text -> one Lua value pushed on the stack, or a status. */
typedef struct flua_decoder flua_decoder;
flua_decoder *flua_decoder_create(void);
void flua_decoder_destroy(flua_decoder *d);
/* Inside flua_run only (it may raise a memory error). */
int flua_json_decode(forest_lua *fl, flua_decoder *d, const uint8_t *text,
    size_t len, flua_call *c);

/* The Lua value at idx (absolute) -> JSON text in fl->out / fl->out_len. */
int flua_json_encode(forest_lua *fl, int idx, flua_call *c);

/* The pre hook's result at idx (absolute) -> float rows. */
int flua_rows(forest_lua *fl, int idx, const forest_lua_model *m,
    size_t max_rows, forest_lua_alloc *a, float **rows, size_t *n_rows,
    flua_call *c);

/* The pre hook's second result at idx (absolute) -> n_rows *
 * m->n_margins floats, NULL for nil. */
int flua_margins(forest_lua *fl, int idx, const forest_lua_model *m,
    size_t n_rows, forest_lua_alloc *a, float **out, flua_call *c);

/* Pushes the value kept for model m in the registry table `cache`, made
 * by build (which pushes it) the first time. */
typedef void (*flua_build_fn)(forest_lua *fl, const forest_lua_model *m);
void flua_push_cached(forest_lua *fl, int cache, const forest_lua_model *m,
    flua_build_fn build);

/* Pushes the cached { feature name = 0-based index } table of a model. */
void flua_push_feature_index(forest_lua *fl, const forest_lua_model *m);

/* Describes the value at idx for messages: `a string ("red")`, `a boolean`. */
const char *flua_describe(lua_State *L, int idx, char *buf, size_t len);

#endif /* FOREST_LUA_INTERNAL_H */
