/*
 * LuaJIT pre- and post-processing hooks: plain C + LuaJIT + yajl, no NGINX
 * types (the NGINX glue is ngx_module/ngx_http_forest_lua.c), so the same
 * code is driven by the module and by tests/lua/test_lua.c.
 *
 * One forest_lua (one lua_State) per worker.  Every call into Lua runs
 * protected and bounded:
 *
 *   - memory: a custom allocator refuses to grow the state past
 *     memory_limit bytes (garbage not yet collected counts too); the Lua
 *     code sees a "not enough memory" error, the caller a 500.
 *   - time: a count hook raises an error once a call has run `budget`
 *     virtual-machine instructions; from then on it raises again at every
 *     instruction, so a script that catches the error with pcall cannot go
 *     on.  LuaJIT calls hooks only from its interpreter, never inside code
 *     its JIT compiler produced, so the JIT compiler is switched off for the
 *     whole state and the jit, ffi and debug libraries are not opened (each
 *     could turn it back on or remove the hook).  Measured by
 *     bench/lua/lua_modes.c: with the compiler on, an endless loop in a hook
 *     never returns, even with jit.off() on the hook (a loop in a function of
 *     another chunk is still compiled); as served it ends in a 500.  On a
 *     realistic pre hook the interpreter costs little more than compiled
 *     code; tight numeric loops lose more (README.md, "Lua hooks", has the
 *     numbers of bench/lua_bench.sh and bench/lua/lua_modes.c).
 *
 *   What this does NOT bound: the time of one call to a C function (a
 *   library function such as string.find on a pathological pattern, or a C
 *   module loaded with require), which runs to completion; its memory is
 *   still capped.  Only code run through this API is counted: the budget is
 *   reset at every call.
 *
 * Functions return 0 or an HTTP status (400, 413, 500, ...) with a message
 * in err; nothing here raises past the API.
 */
#ifndef FOREST_LUA_H
#define FOREST_LUA_H

#include <stddef.h>
#include <stdint.h>

#define FOREST_LUA_DEFAULT_MEMORY   (64 * 1024 * 1024)
#define FOREST_LUA_DEFAULT_BUDGET   10000000
/* nesting of JSON documents and of tables turned into JSON */
#define FOREST_LUA_MAX_DEPTH        64

typedef struct forest_lua forest_lua;

typedef struct {
    size_t          memory_limit;      /* bytes; 0 = the default */
    uint32_t        budget;            /* VM instructions per call, 1..INT_MAX;
                                          0 = the default */
    const char     *package_path;      /* package.path (";;" = the default);
                                          NULL keeps LuaJIT's */
} forest_lua_conf;

/* Memory the results are written to (an ngx_pool_t in the module). */
typedef struct {
    void         *(*alloc)(void *ctx, size_t size);    /* NULL on failure */
    void           *ctx;
} forest_lua_alloc;

typedef struct {
    const char     *data;
    size_t          len;
} forest_lua_str;

/* What a hook is told about the model: req.model. */
typedef struct {
    const void     *key;               /* stable identity (cache key) */
    const char     *name;
    const char     *version;
    uint32_t        n_features;
    char *const    *feature_names;     /* NULL, or n_features (entries may
                                          be NULL) */
    uint32_t        n_classes;         /* 0 for regressors */
    uint32_t        n_margins;         /* margins a row's base_margin
                                          holds (req.model.margins); 0: the
                                          model takes none */
} forest_lua_model;

/* The request the req table is built from. */
typedef struct {
    forest_lua_str          method;
    forest_lua_str          args;      /* query string, still escaped */
    const forest_lua_str   *headers;   /* n_headers (lowercase name, value)
                                          pairs: 2 * n_headers entries */
    size_t                  n_headers;
    const uint8_t          *body;      /* JSON text (req.body), or NULL */
    size_t                  body_len;
    const forest_lua_model *model;
} forest_lua_request;

forest_lua *forest_lua_create(const forest_lua_conf *conf, char *err,
    size_t errlen);
void forest_lua_destroy(forest_lua *fl);

/* Bytes the state holds now (live data and uncollected garbage). */
size_t forest_lua_memory(forest_lua *fl);

/*
 * Runs the file (its chunk name is the path, so messages read
 * "path:line: ..."), which must return a function.  Returns a reference to
 * that function (> 0), or -1 with the reason in err.
 */
int forest_lua_load(forest_lua *fl, const char *path, char *err,
    size_t errlen);

/*
 * Builds the req table (body decoded from JSON, method, args, headers,
 * model) and keeps it until forest_lua_request_free(): *ref identifies it.
 * Returns 0, 400 (invalid JSON), 413 (the body needs more memory than the
 * state may have) or 500.
 */
int forest_lua_request_new(forest_lua *fl, const forest_lua_request *rq,
    int *ref, char *err, size_t errlen);
void forest_lua_request_free(forest_lua *fl, int ref);

/*
 * pre(req): the rows to predict, n_rows * model->n_features floats from a
 * (NaN = missing), and with `return rows, base_margin` each row's starting
 * margins, n_rows * model->n_margins floats into *base_margin (NULL when
 * the hook gives none).  Returns 0; the status the hook chose with
 * `return nil, status, message`; 413 past max_rows; 500 for a runtime error,
 * an exhausted budget or memory, or a result of the wrong shape or type
 * (the message names the row and feature).
 */
int forest_lua_pre(forest_lua *fl, int fn, int req,
    const forest_lua_model *model, size_t max_rows, forest_lua_alloc *a,
    float **rows, size_t *n_rows, float **base_margin, char *err,
    size_t errlen);

/*
 * post(req, out): out holds one entry per row, a number when cols == 1,
 * else an array of cols numbers (served: n_rows * cols floats).  The value
 * the hook returns is encoded as JSON into memory from a.  Returns 0, the
 * hook's own status (nil, status, message), or 500.
 */
int forest_lua_post(forest_lua *fl, int fn, int req, const float *served,
    size_t n_rows, uint32_t cols, forest_lua_alloc *a, uint8_t **body,
    size_t *len, char *err, size_t errlen);

#endif /* FOREST_LUA_H */
