/*
 * The req table and the two hook calls: pre(req) -> rows, and
 * post(req, out) -> the JSON response.
 */
#include <math.h>
#include <string.h>

#include "forest_lua_internal.h"


/* ---- req ------------------------------------------------------------- */

/* req.model, built once per model and worker (hooks should not edit it) */
static void
build_model(forest_lua *fl, const forest_lua_model *m)
{
    uint32_t    f;
    lua_State  *L = fl->L;

    lua_createtable(L, 0, 6);

    lua_pushstring(L, m->name);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, m->version);
    lua_setfield(L, -2, "version");
    lua_pushnumber(L, m->n_features);
    lua_setfield(L, -2, "n_features");
    lua_pushnumber(L, m->n_classes);
    lua_setfield(L, -2, "classes");
    lua_pushnumber(L, m->n_margins);
    lua_setfield(L, -2, "margins");

    if (m->feature_names != NULL) {
        lua_createtable(L, (int) m->n_features, 0);
        flua_push_array_mt(fl);
        lua_setmetatable(L, -2);

        for (f = 0; f < m->n_features; f++) {
            if (m->feature_names[f] != NULL) {
                lua_pushstring(L, m->feature_names[f]);
            } else {
                flua_push_null(L);
            }
            lua_rawseti(L, -2, (int) f + 1);
        }

        lua_setfield(L, -2, "features");
    }
}


static int
hex_value(int ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    ch |= 0x20;
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    return -1;
}


/* Pushes s unescaped: %XX and + for a space. */
static void
push_unescaped(lua_State *L, const char *s, size_t len)
{
    int          hi, lo;
    size_t       i;
    luaL_Buffer  b;

    luaL_buffinit(L, &b);

    for (i = 0; i < len; i++) {
        if (s[i] == '+') {
            luaL_addchar(&b, ' ');
            continue;
        }

        if (s[i] == '%' && i + 2 < len) {
            hi = hex_value((unsigned char) s[i + 1]);
            lo = hex_value((unsigned char) s[i + 2]);

            if (hi >= 0 && lo >= 0) {
                luaL_addchar(&b, (char) (hi * 16 + lo));
                i += 2;
                continue;
            }
        }

        luaL_addchar(&b, s[i]);
    }

    luaL_pushresult(&b);
}


/* req.args: name = value (true for a bare name); the first of a repeated
 * name wins, as with ngx_http_arg() */
static void
push_args(lua_State *L, const forest_lua_str *args)
{
    const char  *p, *end, *amp, *eq;

    lua_newtable(L);

    p = args->data;
    end = p + args->len;

    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }

        eq = memchr(p, '=', (size_t) (amp - p));

        if (amp > p && eq != p) {
            push_unescaped(L, p, (size_t) ((eq ? eq : amp) - p));
            lua_pushvalue(L, -1);
            lua_rawget(L, -3);

            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                if (eq) {
                    push_unescaped(L, eq + 1, (size_t) (amp - eq - 1));
                } else {
                    lua_pushboolean(L, 1);
                }
                lua_rawset(L, -3);

            } else {
                lua_pop(L, 2);
            }
        }

        p = amp + 1;
    }
}


/* req.headers: lowercase name = value; repeated names joined with ", " */
static void
push_headers(lua_State *L, const forest_lua_request *rq)
{
    size_t                 i;
    const forest_lua_str  *h;

    lua_createtable(L, 0, (int) rq->n_headers);

    for (i = 0; i < rq->n_headers; i++) {
        h = &rq->headers[2 * i];

        lua_pushlstring(L, h[0].data, h[0].len);
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);

        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushlstring(L, h[1].data, h[1].len);
        } else {
            lua_pushliteral(L, ", ");
            lua_pushlstring(L, h[1].data, h[1].len);
            lua_concat(L, 3);
        }

        lua_rawset(L, -3);
    }
}


typedef struct {
    flua_call                  c;
    const forest_lua_request  *rq;
    flua_decoder              *dec;
    int                        ref;
} request_args;


static int
flua_request(lua_State *L)
{
    request_args              *a = lua_touserdata(L, 1);
    forest_lua                *fl = a->c.fl;
    const forest_lua_request  *rq = a->rq;

    lua_createtable(L, 0, 5);

    if (rq->body_len > 0) {
        if (flua_json_decode(fl, a->dec, rq->body, rq->body_len, &a->c) != 0)
        {
            return 0;
        }
        lua_setfield(L, -2, "body");
    }

    lua_pushlstring(L, rq->method.data, rq->method.len);
    lua_setfield(L, -2, "method");

    push_args(L, &rq->args);
    lua_setfield(L, -2, "args");

    push_headers(L, rq);
    lua_setfield(L, -2, "headers");

    flua_push_cached(fl, fl->models, rq->model, build_model);
    lua_setfield(L, -2, "model");

    a->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return 0;
}


int
forest_lua_request_new(forest_lua *fl, const forest_lua_request *rq,
    int *ref, char *err, size_t errlen)
{
    request_args  a;

    a.c.err = err;
    a.c.errlen = errlen;
    a.rq = rq;
    a.ref = LUA_NOREF;

    a.dec = flua_decoder_create();
    if (a.dec == NULL) {
        return flua_fail(&a.c, 500, "out of memory for the JSON decoder");
    }

    (void) flua_run(fl, flua_request, &a.c, "building the req table");
    flua_decoder_destroy(a.dec);

    if (a.c.out_of_memory) {
        return flua_fail(&a.c, 413, "the request body needs more memory "
                         "than the Lua state may use (%zu bytes)", fl->limit);
    }

    if (a.c.status == 0) {
        *ref = a.ref;
    }

    return a.c.status;
}


void
forest_lua_request_free(forest_lua *fl, int ref)
{
    luaL_unref(fl->L, LUA_REGISTRYINDEX, ref);
}


/* ---- hooks ------------------------------------------------------------ */

/*
 * results at base+1..base+3: nil, status, message rejects the request;
 * returns 1 when it did (c->status set), 0 when the first result is a value.
 */
static int
rejected(lua_State *L, int base, flua_call *c, const char *hook,
    const char *want)
{
    char         what[64];
    double       status;
    const char  *msg;

    if (!lua_isnil(L, base + 1)) {
        return 0;
    }

    if (lua_isnil(L, base + 2)) {
        flua_fail(c, 500, "%s hook returned nil, want %s (or nil, status, "
                  "message)", hook, want);
        return 1;
    }

    status = lua_type(L, base + 2) == LUA_TNUMBER ? lua_tonumber(L, base + 2)
                                                   : 0;

    if (status != floor(status) || status < 400 || status > 599) {
        flua_fail(c, 500, "%s hook rejected the request with the status %s, "
                  "want a number from 400 to 599", hook,
                  lua_type(L, base + 2) == LUA_TNUMBER
                  ? lua_tostring(L, base + 2)
                  : flua_describe(L, base + 2, what, sizeof(what)));
        return 1;
    }

    msg = lua_type(L, base + 3) == LUA_TSTRING ? lua_tostring(L, base + 3)
                                                : NULL;

    flua_fail(c, (int) status, "%s",
              msg ? msg : "the request was rejected by the lua hook");
    return 1;
}


typedef struct {
    flua_call                c;
    int                      fn;
    int                      req;
    const forest_lua_model  *model;
    size_t                   max_rows;
    forest_lua_alloc        *a;
    float                   *rows;
    size_t                   n_rows;
    float                   *margins;
} pre_args;


static int
flua_pre(lua_State *L)
{
    int        base;
    pre_args  *a = lua_touserdata(L, 1);

    base = lua_gettop(L);

    lua_rawgeti(L, LUA_REGISTRYINDEX, a->fn);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->req);
    lua_call(L, 1, 3);

    if (!rejected(L, base, &a->c, "pre", "an array of rows")
        && flua_rows(a->c.fl, base + 1, a->model, a->max_rows, a->a,
                     &a->rows, &a->n_rows, &a->c) == 0)
    {
        (void) flua_margins(a->c.fl, base + 2, a->model, a->n_rows, a->a,
                            &a->margins, &a->c);
    }

    return 0;
}


int
forest_lua_pre(forest_lua *fl, int fn, int req,
    const forest_lua_model *model, size_t max_rows, forest_lua_alloc *a,
    float **rows, size_t *n_rows, float **base_margin, char *err,
    size_t errlen)
{
    pre_args  p;

    p.c.err = err;
    p.c.errlen = errlen;
    p.fn = fn;
    p.req = req;
    p.model = model;
    p.max_rows = max_rows;
    p.a = a;
    p.rows = NULL;
    p.n_rows = 0;
    p.margins = NULL;

    if (flua_run(fl, flua_pre, &p.c, "pre hook") != 0) {
        return p.c.status;
    }

    *rows = p.rows;
    *n_rows = p.n_rows;
    *base_margin = p.margins;
    return 0;
}


typedef struct {
    flua_call                c;
    int                      fn;
    int                      req;
    const float             *served;
    size_t                   n_rows;
    uint32_t                 cols;
} post_args;


static int
flua_post(lua_State *L)
{
    int         base;
    size_t      r;
    uint32_t    k;
    post_args  *a = lua_touserdata(L, 1);
    forest_lua *fl = a->c.fl;

    base = lua_gettop(L);

    lua_rawgeti(L, LUA_REGISTRYINDEX, a->fn);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->req);

    lua_createtable(L, (int) a->n_rows, 0);
    flua_push_array_mt(fl);
    lua_setmetatable(L, -2);

    for (r = 0; r < a->n_rows; r++) {
        if (a->cols == 1) {
            lua_pushnumber(L, a->served[r]);

        } else {
            lua_createtable(L, (int) a->cols, 0);
            flua_push_array_mt(fl);
            lua_setmetatable(L, -2);

            for (k = 0; k < a->cols; k++) {
                lua_pushnumber(L, a->served[r * a->cols + k]);
                lua_rawseti(L, -2, (int) k + 1);
            }
        }

        lua_rawseti(L, -2, (int) r + 1);
    }

    lua_call(L, 2, 3);

    if (!rejected(L, base, &a->c, "post", "the value to answer with")) {
        (void) flua_json_encode(fl, base + 1, &a->c);
    }

    return 0;
}


int
forest_lua_post(forest_lua *fl, int fn, int req, const float *served,
    size_t n_rows, uint32_t cols, forest_lua_alloc *a, uint8_t **body,
    size_t *len, char *err, size_t errlen)
{
    uint8_t    *p;
    post_args   q;

    q.c.err = err;
    q.c.errlen = errlen;
    q.fn = fn;
    q.req = req;
    q.served = served;
    q.n_rows = n_rows;
    q.cols = cols;

    if (flua_run(fl, flua_post, &q.c, "post hook") != 0) {
        return q.c.status;
    }

    p = a->alloc(a->ctx, fl->out_len ? fl->out_len : 1);
    if (p == NULL) {
        return flua_fail(&q.c, 500, "out of memory for the response");
    }

    memcpy(p, fl->out, fl->out_len);
    *body = p;
    *len = fl->out_len;
    return 0;
}
