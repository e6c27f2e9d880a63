/*
 * What a pre hook returned -> the float rows the forest predicts.
 *
 * The result is an array of rows; a row is either an array of exactly
 * n_features numbers or a table keyed by feature name (absent names are
 * missing values).  NaN (0/0) and forest.null are missing values.  Every
 * other shape or type is an error that names the row and the feature in the
 * script's own terms (rows[2].colour, rows[3][5]).  A second result, when
 * not nil, is the rows' base_margin: per row a number (one output) or an
 * array of one margin per output.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>

#include "forest_lua_internal.h"


typedef struct {
    forest_lua              *fl;
    lua_State               *L;
    const forest_lua_model  *m;
    flua_call               *c;
    size_t                   row;          /* 1-based, as the script sees it */
    int                      index;        /* stack slot of the name index
                                              (models with feature names) */
} rows_ctx;


static const char *
feature_name(const forest_lua_model *m, uint32_t f)
{
    if (m->feature_names == NULL || m->feature_names[f] == NULL) {
        return NULL;
    }

    return m->feature_names[f];
}


/* Where a value is, for messages: ".name" or "[5] (name)". */
static const char *
value_label(rows_ctx *x, uint32_t f, const char *key, char *buf, size_t len)
{
    const char  *name;

    if (key != NULL) {
        snprintf(buf, len, ".%.80s", key);
    } else {
        name = feature_name(x->m, f);
        snprintf(buf, len, "[%u]%s%.80s%s", f + 1, name ? " (" : "",
                 name ? name : "", name ? ")" : "");
    }

    return buf;
}


/* The value on top of the stack -> out[f]; key: its name in a named row. */
static int
put_value(rows_ctx *x, uint32_t f, const char *key, float *out)
{
    char        what[64], label[96];
    double      d;
    lua_State  *L = x->L;

    if (lua_type(L, -1) == LUA_TNUMBER) {
        d = lua_tonumber(L, -1);

        if (isfinite(d) && fabs(d) > FLT_MAX) {
            flua_fail(x->c, 500, "pre hook result: rows[%zu]%s is %g, "
                      "beyond the float32 range", x->row,
                      value_label(x, f, key, label, sizeof(label)), d);
            return -1;
        }

        out[f] = (float) d;
        return 0;
    }

    if (flua_is_null(L, -1)) {
        out[f] = NAN;
        return 0;
    }

    flua_fail(x->c, 500, "pre hook result: rows[%zu]%s is %s, want a number "
              "(0/0 or forest.null for a missing value)", x->row,
              value_label(x, f, key, label, sizeof(label)),
              flua_describe(L, -1, what, sizeof(what)));
    return -1;
}


static int
positional_row(rows_ctx *x, int row, float *out)
{
    double       k;
    size_t       max = 0;
    uint32_t     nf = x->m->n_features;
    lua_State   *L = x->L;

    lua_pushnil(L);
    while (lua_next(L, row)) {
        if (lua_type(L, -2) != LUA_TNUMBER) {
            flua_fail(x->c, 500, "pre hook result: rows[%zu] mixes "
                      "positions and feature names", x->row);
            return -1;
        }

        k = lua_tonumber(L, -2);

        if (k != floor(k) || k < 1) {
            flua_fail(x->c, 500, "pre hook result: rows[%zu] has the key "
                      "%g, want positions 1..%u", x->row, k, nf);
            return -1;
        }

        if (k > nf) {
            flua_fail(x->c, 500, "pre hook result: rows[%zu] has more than "
                      "%u values, model %s expects %u features", x->row, nf,
                      x->m->name, nf);
            return -1;
        }

        if (put_value(x, (uint32_t) k - 1, NULL, out) != 0) {
            return -1;
        }

        max = (size_t) k > max ? (size_t) k : max;
        lua_pop(L, 1);
    }

    if (max < nf) {
        flua_fail(x->c, 500, "pre hook result: rows[%zu] has %zu values, "
                  "model %s expects %u features (a missing value is 0/0 or "
                  "forest.null, not nil)", x->row, max, x->m->name, nf);
        return -1;
    }

    return 0;
}


static int
named_row(rows_ctx *x, int row, float *out)
{
    uint32_t     f;
    const char  *key;
    lua_State   *L = x->L;

    if (x->m->feature_names == NULL) {
        flua_fail(x->c, 500, "pre hook result: rows[%zu] names its features, "
                  "but model %s has no feature names: return arrays of %u "
                  "numbers", x->row, x->m->name, x->m->n_features);
        return -1;
    }

    lua_pushnil(L);
    while (lua_next(L, row)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            flua_fail(x->c, 500, "pre hook result: rows[%zu] mixes feature "
                      "names and positions", x->row);
            return -1;
        }

        key = lua_tostring(L, -2);

        lua_pushvalue(L, -2);
        lua_rawget(L, x->index);

        if (lua_isnil(L, -1)) {
            flua_fail(x->c, 500, "pre hook result: rows[%zu].%.80s: model %s "
                      "has no feature of that name", x->row, key, x->m->name);
            return -1;
        }

        f = (uint32_t) lua_tonumber(L, -1);
        lua_pop(L, 1);

        if (put_value(x, f, key, out) != 0) {
            return -1;
        }

        lua_pop(L, 1);
    }

    return 0;
}


int
flua_rows(forest_lua *fl, int idx, const forest_lua_model *m,
    size_t max_rows, forest_lua_alloc *a, float **rows, size_t *n_rows,
    flua_call *c)
{
    char        what[64];
    float      *out, *r;
    double      k;
    size_t      n, count, i, f, nf;
    rows_ctx    x;
    lua_State  *L = fl->L;

    if (lua_type(L, idx) != LUA_TTABLE) {
        return flua_fail(c, 500, "pre hook returned %s, want an array of "
                         "rows (or nil, status, message)",
                         flua_describe(L, idx, what, sizeof(what)));
    }

    count = 0;
    n = lua_objlen(L, idx);

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;

        k = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
        if (k < 1 || k != floor(k) || k > (double) n) {
            return flua_fail(c, 500, "pre hook result: want an array of "
                             "rows, found the key %s",
                             flua_describe(L, -1, what, sizeof(what)));
        }
    }

    if (count != n) {
        return flua_fail(c, 500, "pre hook result: want an array of rows, "
                         "found holes (nil rows)");
    }

    if (n > max_rows) {
        return flua_fail(c, 413, "the pre hook made %zu rows, more than the "
                         "%zu allowed here", n, max_rows);
    }

    *rows = NULL;
    *n_rows = n;

    if (n == 0) {
        return 0;
    }

    nf = m->n_features;

    out = a->alloc(a->ctx, n * nf * sizeof(float));
    if (out == NULL) {
        return flua_fail(c, 500, "out of memory for %zu rows", n);
    }

    x.fl = fl;
    x.L = L;
    x.m = m;
    x.c = c;
    x.index = 0;

    if (m->feature_names != NULL) {
        flua_push_feature_index(fl, m);
        x.index = lua_gettop(L);
    }

    for (i = 0; i < n; i++) {
        x.row = i + 1;
        r = out + i * nf;

        for (f = 0; f < nf; f++) {
            r[f] = NAN;
        }

        lua_rawgeti(L, idx, (int) (i + 1));

        if (lua_type(L, -1) != LUA_TTABLE) {
            return flua_fail(c, 500, "pre hook result: rows[%zu] is %s, want "
                             "a table: an array of %zu numbers or a table "
                             "keyed by feature name", x.row,
                             flua_describe(L, -1, what, sizeof(what)), nf);
        }

        /* the first key tells the kind; an empty row is all missing */
        lua_pushnil(L);
        if (lua_next(L, -2)) {
            lua_pop(L, 1);

            if (lua_type(L, -1) == LUA_TNUMBER) {
                lua_pop(L, 1);
                if (positional_row(&x, lua_gettop(L), r) != 0) {
                    return c->status;
                }

            } else {
                lua_pop(L, 1);
                if (named_row(&x, lua_gettop(L), r) != 0) {
                    return c->status;
                }
            }
        }

        lua_pop(L, 1);
    }

    *rows = out;
    return 0;
}


/* base_margin[row][k] (k 0 when the row is a bare number) on top of the
 * stack -> *out */
static int
margin_value(lua_State *L, size_t row, uint32_t k, int in_array, float *out,
    flua_call *c)
{
    char    what[64], where[48];
    double  d;

    if (in_array) {
        snprintf(where, sizeof(where), "base_margin[%zu][%u]", row, k + 1);
    } else {
        snprintf(where, sizeof(where), "base_margin[%zu]", row);
    }

    if (lua_type(L, -1) != LUA_TNUMBER) {
        return flua_fail(c, 500, "pre hook result: %s is %s, want a number",
                         where, flua_describe(L, -1, what, sizeof(what)));
    }

    d = lua_tonumber(L, -1);

    if (isfinite(d) && fabs(d) > FLT_MAX) {
        return flua_fail(c, 500, "pre hook result: %s is %g, beyond the "
                         "float32 range", where, d);
    }

    *out = (float) d;
    return 0;
}


int
flua_margins(forest_lua *fl, int idx, const forest_lua_model *m,
    size_t n_rows, forest_lua_alloc *a, float **out, flua_call *c)
{
    char        what[64];
    float      *v;
    size_t      r;
    uint32_t    k, nm = m->n_margins;
    lua_State  *L = fl->L;

    *out = NULL;

    if (lua_isnil(L, idx)) {
        return 0;
    }

    if (nm == 0) {
        return flua_fail(c, 500, "pre hook returned a base_margin, but model "
                         "%s takes none", m->name);
    }

    if (lua_type(L, idx) != LUA_TTABLE || lua_objlen(L, idx) != n_rows) {
        return flua_fail(c, 500, "pre hook returned base_margin as %s, want "
                         "an array of %zu entries, one per row (each %s)",
                         lua_type(L, idx) == LUA_TTABLE
                         ? "an array of another length"
                         : flua_describe(L, idx, what, sizeof(what)),
                         n_rows, nm == 1 ? "a number"
                                         : "an array of one margin per output");
    }

    v = a->alloc(a->ctx, n_rows * nm * sizeof(float) + 1);
    if (v == NULL) {
        return flua_fail(c, 500, "out of memory for %zu margins",
                         n_rows * nm);
    }

    for (r = 0; r < n_rows; r++) {
        lua_rawgeti(L, idx, (int) r + 1);

        if (lua_type(L, -1) == LUA_TTABLE) {
            if (lua_objlen(L, -1) != nm) {
                return flua_fail(c, 500, "pre hook result: base_margin[%zu] "
                                 "holds %zu values; model %s takes %u "
                                 "margins a row", r + 1,
                                 (size_t) lua_objlen(L, -1), m->name, nm);
            }

            for (k = 0; k < nm; k++) {
                lua_rawgeti(L, -1, (int) k + 1);
                if (margin_value(L, r + 1, k, 1, &v[r * nm + k], c) != 0) {
                    return c->status;
                }
                lua_pop(L, 1);
            }

        } else if (nm == 1) {
            if (margin_value(L, r + 1, 0, 0, &v[r], c) != 0) {
                return c->status;
            }

        } else {
            return flua_fail(c, 500, "pre hook result: base_margin[%zu] is "
                             "%s, want an array of %u margins", r + 1,
                             flua_describe(L, -1, what, sizeof(what)), nm);
        }

        lua_pop(L, 1);
    }

    *out = v;
    return 0;
}


static void
build_feature_index(forest_lua *fl, const forest_lua_model *m)
{
    uint32_t    f;
    lua_State  *L = fl->L;

    lua_createtable(L, 0, (int) m->n_features);

    /* the first of duplicate names wins, as in the codec */
    for (f = m->n_features; f > 0; f--) {
        if (m->feature_names[f - 1] != NULL) {
            lua_pushnumber(L, f - 1);
            lua_setfield(L, -2, m->feature_names[f - 1]);
        }
    }
}

void
flua_push_feature_index(forest_lua *fl, const forest_lua_model *m)
{
    flua_push_cached(fl, fl->indexes, m, build_feature_index);
}
