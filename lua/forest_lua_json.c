/*
 * JSON <-> Lua for the hooks.
 *
 * Decoding streams yajl's callbacks straight into Lua tables (no DOM in
 * between): objects become tables keyed by string, arrays become sequences
 * carrying forest.array_mt (so an empty one stays an array), null becomes
 * forest.null, numbers become Lua numbers (doubles).
 *
 * Encoding writes the value a post hook returned: a table is an array when
 * it carries forest.array_mt or its keys are exactly 1..n, an object when
 * its keys are all strings; anything else (mixed or sparse keys, functions,
 * cycles, depth past FOREST_LUA_MAX_DEPTH, strings that are not UTF-8) is an
 * error naming the place in the value.  NaN and infinities become null, as
 * JSON has neither; see enc_number() for how numbers are spelled.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "forest_lua_internal.h"
#include "forest_json_number.h"


/* ---- decoding ---------------------------------------------------------- */

struct flua_decoder {
    yajl_handle     h;
    forest_lua     *fl;
    lua_State      *L;
    int             depth;
    int             too_deep;
    /* per open container: items so far in an array, -1 for an object */
    int             items[FOREST_LUA_MAX_DEPTH + 1];
};


/* Stores the value on top of the stack into the container below it. */
static int
dec_put(flua_decoder *d)
{
    if (d->depth == 0) {
        return 1;
    }

    if (d->items[d->depth] >= 0) {
        lua_rawseti(d->L, -2, ++d->items[d->depth]);
    } else {
        lua_rawset(d->L, -3);
    }

    return 1;
}


static int
dec_null(void *ctx)
{
    flua_decoder *d = ctx;

    flua_push_null(d->L);
    return dec_put(d);
}


static int
dec_boolean(void *ctx, int v)
{
    flua_decoder *d = ctx;

    lua_pushboolean(d->L, v);
    return dec_put(d);
}


static int
dec_number(void *ctx, const char *s, size_t len)
{
    char          buf[64], *text;
    double        v;
    flua_decoder *d = ctx;

    /* yajl has checked the syntax */
    if (!forest_json_number_fast(s, len, &v)) {
        text = len < sizeof(buf) ? buf : malloc(len + 1);
        if (text == NULL) {
            return 0;
        }

        memcpy(text, s, len);
        text[len] = '\0';
        v = strtod(text, NULL);

        if (text != buf) {
            free(text);
        }
    }

    lua_pushnumber(d->L, v);
    return dec_put(d);
}


static int
dec_string(void *ctx, const unsigned char *s, size_t len)
{
    flua_decoder *d = ctx;

    lua_pushlstring(d->L, (const char *) s, len);
    return dec_put(d);
}


static int
dec_open(flua_decoder *d, int items)
{
    if (d->depth == FOREST_LUA_MAX_DEPTH) {
        d->too_deep = 1;
        return 0;
    }

    d->depth++;
    d->items[d->depth] = items;
    return 1;
}


static int
dec_start_map(void *ctx)
{
    flua_decoder *d = ctx;

    lua_newtable(d->L);
    return dec_open(d, -1);
}


static int
dec_map_key(void *ctx, const unsigned char *s, size_t len)
{
    flua_decoder *d = ctx;

    lua_pushlstring(d->L, (const char *) s, len);
    return 1;
}


static int
dec_start_array(void *ctx)
{
    flua_decoder *d = ctx;

    lua_newtable(d->L);
    flua_push_array_mt(d->fl);
    lua_setmetatable(d->L, -2);
    return dec_open(d, 0);
}


static int
dec_end(void *ctx)
{
    flua_decoder *d = ctx;

    d->depth--;
    return dec_put(d);
}


static const yajl_callbacks  dec_callbacks = {
    dec_null,
    dec_boolean,
    NULL,
    NULL,
    dec_number,
    dec_string,
    dec_start_map,
    dec_map_key,
    dec_end,
    dec_start_array,
    dec_end
};


flua_decoder *
flua_decoder_create(void)
{
    flua_decoder  *d;

    d = calloc(1, sizeof(flua_decoder));
    if (d == NULL) {
        return NULL;
    }

    d->h = yajl_alloc(&dec_callbacks, NULL, d);
    if (d->h == NULL) {
        free(d);
        return NULL;
    }

    return d;
}


void
flua_decoder_destroy(flua_decoder *d)
{
    if (d != NULL) {
        yajl_free(d->h);
        free(d);
    }
}


int
flua_json_decode(forest_lua *fl, flua_decoder *d, const uint8_t *text,
    size_t len, flua_call *c)
{
    size_t          n;
    yajl_status     st;
    unsigned char  *msg;
    lua_State      *L = fl->L;

    d->fl = fl;
    d->L = L;

    /* a table and a key per level */
    if (!lua_checkstack(L, 2 * FOREST_LUA_MAX_DEPTH + 8)) {
        return flua_fail(c, 500, "no Lua stack for the JSON body");
    }

    st = yajl_parse(d->h, text, len);
    if (st == yajl_status_ok) {
        st = yajl_complete_parse(d->h);
    }

    if (st == yajl_status_ok) {
        return 0;
    }

    if (d->too_deep) {
        return flua_fail(c, 400, "the JSON body is nested deeper than %d "
                         "levels", FOREST_LUA_MAX_DEPTH);
    }

    if (st == yajl_status_client_canceled) {
        return flua_fail(c, 500, "out of memory decoding the JSON body");
    }

    msg = yajl_get_error(d->h, 0, NULL, 0);
    n = msg ? strlen((char *) msg) : 0;
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) {
        n--;
    }

    flua_fail(c, 400, "invalid JSON body: %.*s (at byte %zu)", (int) n,
              msg ? (char *) msg : "", yajl_get_bytes_consumed(d->h));

    if (msg != NULL) {
        yajl_free_error(d->h, msg);
    }

    return c->status;
}


/* ---- encoding ---------------------------------------------------------- */

typedef struct {
    forest_lua     *fl;
    lua_State      *L;
    flua_call      *c;
    int             no_memory;
    char            path[192];         /* where in the value, for messages */
    size_t          path_len;
} encoder;


static void
enc_raw(encoder *e, const char *s, size_t n)
{
    char        *p;
    size_t       cap;
    forest_lua  *fl = e->fl;

    if (e->no_memory) {
        return;
    }

    if (fl->out_len + n > fl->out_cap) {
        cap = fl->out_cap ? fl->out_cap : 4096;
        while (cap < fl->out_len + n) {
            cap *= 2;
        }

        p = realloc(fl->out, cap);
        if (p == NULL) {
            e->no_memory = 1;
            return;
        }

        fl->out = p;
        fl->out_cap = cap;
    }

    memcpy(fl->out + fl->out_len, s, n);
    fl->out_len += n;
}


static int
enc_error(encoder *e, const char *fmt, const char *detail)
{
    e->path[e->path_len] = '\0';
    flua_fail(e->c, 500, fmt, e->path, detail);
    return -1;
}


/* Length of the UTF-8 sequence at s, or 0 if it is not one. */
static size_t
utf8_len(const unsigned char *s, size_t left)
{
    size_t    n, i;
    uint32_t  cp;

    if (s[0] < 0x80) {
        return 1;
    }

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }

    if (left < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }

    /* overlong forms, surrogates, past U+10FFFF */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
        || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    {
        return 0;
    }

    return n;
}


static int
enc_string(encoder *e, const char *s, size_t len)
{
    char                  esc[8];
    size_t                i, n, run;
    const unsigned char  *u = (const unsigned char *) s;

    enc_raw(e, "\"", 1);

    for (i = 0, run = 0; i < len; i += n) {
        n = utf8_len(u + i, len - i);
        if (n == 0) {
            return enc_error(e, "post hook result%s: a string that is not "
                             "UTF-8%s", "");
        }

        if (n == 1 && (u[i] < 0x20 || u[i] == '"' || u[i] == '\\')) {
            enc_raw(e, s + run, i - run);
            run = i + 1;

            switch (u[i]) {
            case '"':  enc_raw(e, "\\\"", 2); break;
            case '\\': enc_raw(e, "\\\\", 2); break;
            case '\n': enc_raw(e, "\\n", 2); break;
            case '\r': enc_raw(e, "\\r", 2); break;
            case '\t': enc_raw(e, "\\t", 2); break;
            default:
                snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
                enc_raw(e, esc, 6);
            }
        }
    }

    enc_raw(e, s + run, len - run);
    enc_raw(e, "\"", 1);
    return 0;
}


/*
 * Integers are written as such; a value that is exactly a float32 (what the
 * forest computed, passed through) with the fewest digits that read back as
 * that float32, as the codec writes outputs (0.9f is 0.9, not
 * 0.89999997615814209); any other double with the fewest of 15-17 digits
 * that read back exactly.
 */
static void
enc_number(encoder *e, double v)
{
    char  buf[40];
    int   n, digits;

    if (!isfinite(v)) {
        enc_raw(e, "null", 4);
        return;
    }

    if (v == floor(v) && fabs(v) < 1e17) {
        n = snprintf(buf, sizeof(buf), "%.0f", v);

    } else if (fabs(v) <= FLT_MAX && (double) (float) v == v) {
        for (digits = 6; ; digits++) {
            n = snprintf(buf, sizeof(buf), "%.*g", digits, v);
            if (digits == 9 || (float) strtod(buf, NULL) == (float) v) {
                break;
            }
        }

    } else {
        n = snprintf(buf, sizeof(buf), "%.15g", v);
        if (strtod(buf, NULL) != v) {
            n = snprintf(buf, sizeof(buf), "%.17g", v);
        }
    }

    enc_raw(e, buf, (size_t) n);
}


/* Appends "[i]" or ".key" to the path (truncated when long). */
static void
path_push(encoder *e, const char *key, size_t index)
{
    int     n;
    size_t  room = sizeof(e->path) - e->path_len;

    if (key != NULL) {
        n = snprintf(e->path + e->path_len, room, ".%s", key);
    } else {
        n = snprintf(e->path + e->path_len, room, "[%zu]", index);
    }

    if (n > 0) {
        e->path_len += (size_t) n < room ? (size_t) n : room - 1;
    }
}


static int enc_value(encoder *e, int idx, int depth);


static int
enc_array(encoder *e, int idx, size_t n, int depth)
{
    size_t  i, saved;

    enc_raw(e, "[", 1);
    saved = e->path_len;

    for (i = 1; i <= n; i++) {
        if (i > 1) {
            enc_raw(e, ",", 1);
        }

        path_push(e, NULL, i);
        lua_rawgeti(e->L, idx, (int) i);

        if (enc_value(e, lua_gettop(e->L), depth + 1) != 0) {
            return -1;
        }

        lua_pop(e->L, 1);
        e->path_len = saved;
    }

    enc_raw(e, "]", 1);
    return 0;
}


static int
enc_object(encoder *e, int idx, int depth)
{
    int          first = 1;
    size_t       len, saved;
    const char  *key;
    lua_State   *L = e->L;

    enc_raw(e, "{", 1);
    saved = e->path_len;

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        /* keys were checked to be strings: lua_tolstring leaves them be */
        key = lua_tolstring(L, -2, &len);

        if (!first) {
            enc_raw(e, ",", 1);
        }
        first = 0;

        if (enc_string(e, key, len) != 0) {
            return -1;
        }
        enc_raw(e, ":", 1);

        path_push(e, key, 0);

        if (enc_value(e, lua_gettop(L), depth + 1) != 0) {
            return -1;
        }

        lua_pop(L, 1);
        e->path_len = saved;
    }

    enc_raw(e, "}", 1);
    return 0;
}


static int
enc_table(encoder *e, int idx, int depth)
{
    char         what[64];
    double       k;
    size_t       count, max, strings, numbers;
    lua_State   *L = e->L;

    if (depth >= FOREST_LUA_MAX_DEPTH) {
        return enc_error(e, "post hook result%s: tables nested deeper "
                         "than 64 levels%s (a table that contains itself?)",
                         "");
    }

    if (!lua_checkstack(L, 4)) {
        return enc_error(e, "post hook result%s: no Lua stack%s", "");
    }

    if (flua_is_marked_array(e->fl, idx)) {
        return enc_array(e, idx, lua_objlen(L, idx), depth);
    }

    count = max = strings = numbers = 0;

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        count++;

        if (lua_type(L, -1) == LUA_TSTRING) {
            strings++;
            continue;
        }

        if (lua_type(L, -1) == LUA_TNUMBER) {
            k = lua_tonumber(L, -1);
            if (k >= 1 && k == floor(k) && k <= (double) INT32_MAX) {
                numbers++;
                max = (size_t) k > max ? (size_t) k : max;
                continue;
            }
        }

        return enc_error(e, "post hook result%s: a table key that is %s "
                         "(JSON objects need string keys, arrays 1..n)",
                         flua_describe(L, -1, what, sizeof(what)));
    }

    if (strings && numbers) {
        return enc_error(e, "post hook result%s: a table with both array "
                         "items and named keys%s", "");
    }

    if (numbers) {
        if (max != count) {
            return enc_error(e, "post hook result%s: an array with holes "
                             "(nil items; use forest.null)%s", "");
        }
        return enc_array(e, idx, count, depth);
    }

    return enc_object(e, idx, depth);
}


static int
enc_value(encoder *e, int idx, int depth)
{
    size_t       len;
    const char  *s;
    char         what[64];
    lua_State   *L = e->L;

    switch (lua_type(L, idx)) {

    case LUA_TNIL:
        enc_raw(e, "null", 4);
        return 0;

    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) {
            enc_raw(e, "true", 4);
        } else {
            enc_raw(e, "false", 5);
        }
        return 0;

    case LUA_TNUMBER:
        enc_number(e, lua_tonumber(L, idx));
        return 0;

    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        return enc_string(e, s, len);

    case LUA_TTABLE:
        return enc_table(e, idx, depth);

    default:
        if (flua_is_null(L, idx)) {
            enc_raw(e, "null", 4);
            return 0;
        }

        return enc_error(e, "post hook result%s: %s has no JSON form",
                         flua_describe(L, idx, what, sizeof(what)));
    }
}


int
flua_json_encode(forest_lua *fl, int idx, flua_call *c)
{
    encoder  e;

    e.fl = fl;
    e.L = fl->L;
    e.c = c;
    e.no_memory = 0;
    e.path_len = 0;

    fl->out_len = 0;

    if (enc_value(&e, idx, 0) != 0) {
        return c->status;
    }

    if (e.no_memory) {
        return flua_fail(c, 500, "out of memory writing the post hook "
                         "result as JSON");
    }

    return 0;
}
