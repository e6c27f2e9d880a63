/*
 * The simple API's request forms, decoded as yajl streams them:
 *   {"instances": [row, ...]}  or  {"inputs": [row, ...]}
 *   [row, ...]                 a bare list of rows
 *   [1, 2, null, ...]          a bare row
 *   {"f0": 1, "f3": null}      one row keyed by feature name
 * where a row is an array of n_features numbers (null = missing) or an
 * object keyed by the model's feature names (absent = missing).
 */
#include <math.h>
#include <string.h>

#include "forest_codec_internal.h"

enum {
    S_ROOT = 0,
    S_OBJECT,          /* root object before its first key tells its form */
    S_WRAP,            /* {"instances": ...} */
    S_LIST,            /* array of rows */
    S_ARRAY,           /* root array before its first element tells its form */
    S_ROW,             /* row as an array */
    S_NAMED            /* row as an object */
};

enum { KEY_OTHER = -2, KEY_ROWS = -1 };     /* >= 0: a feature index */


static int
is_rows_key(const char *s, size_t len)
{
    return (len == 9 && memcmp(s, "instances", 9) == 0)
           || (len == 6 && memcmp(s, "inputs", 6) == 0);
}

static int
begin_named_row(fcodec_parser *p)
{
    fcodec_simple_state *ss = &p->ss;
    size_t               bytes = (p->m->n_features + 7) / 8;

    if (p->m->feature_names == NULL) {
        return fcodec_fail(p, 400, "model %s has no feature names: send each "
                           "row as an array of %u values", p->m->name,
                           p->m->n_features);
    }
    if (ss->seen == NULL) {
        ss->seen = fcodec_palloc(p, bytes);
        if (ss->seen == NULL || !fcodec_names_build(p, &ss->names)) {
            return 0;
        }
    }
    memset(ss->seen, 0, bytes);
    return fcodec_row_begin_missing(p);
}

/* Models read float32: a number past its range would become an infinity
 * unnoticed, so it is refused as KServe's FP32 refuses it. */
static int
in_float_range(const fcodec_value *v)
{
    return isfinite(fcodec_to_float(v->num));
}

static int
row_value(fcodec_parser *p, const fcodec_value *v)
{
    switch (v->type) {
    case FCODEC_V_NUM:
        if (!in_float_range(v)) {
            return fcodec_fail(p, 400, "row %zu, feature %zu: %.*s is outside "
                               "float32's range", p->n_rows - 1,
                               p->n_vals - p->row_start,
                               fcodec_shown(v->len), v->str);
        }
        return fcodec_rows_push(p, fcodec_to_float(v->num));
    case FCODEC_V_NULL:
        return fcodec_rows_push(p, NAN);
    default:
        return fcodec_fail(p, 400, "row %zu, feature %zu: %s is not a number "
                           "(null marks a missing value)", p->n_rows - 1,
                           p->n_vals - p->row_start, fcodec_type_name(v));
    }
}

static int
named_value(fcodec_parser *p, const fcodec_value *v)
{
    const char *name = p->m->feature_names[p->key];

    switch (v->type) {
    case FCODEC_V_NUM:
        if (!in_float_range(v)) {
            return fcodec_fail(p, 400, "row %zu, feature \"%.*s\": %.*s is "
                               "outside float32's range", p->n_rows - 1,
                               FCODEC_NAME_MAX_SHOWN, name,
                               fcodec_shown(v->len), v->str);
        }
        p->vals[p->row_start + (size_t) p->key] = fcodec_to_float(v->num);
        return 1;
    case FCODEC_V_NULL:
        return 1;
    default:
        return fcodec_fail(p, 400, "row %zu, feature \"%.*s\": %s is not a "
                           "number (null marks a missing value)",
                           p->n_rows - 1, FCODEC_NAME_MAX_SHOWN, name,
                           fcodec_type_name(v));
    }
}

static int
list_element(fcodec_parser *p, const fcodec_value *v)
{
    switch (v->type) {
    case FCODEC_V_ARR:
        return fcodec_row_begin(p) && fcodec_push(p, S_ROW);
    case FCODEC_V_MAP:
        return begin_named_row(p) && fcodec_push(p, S_NAMED);
    case FCODEC_V_NUM:
    case FCODEC_V_NULL:
        /* a list of scalars is a list of rows only for one-feature models */
        if (p->m->n_features == 1) {
            return fcodec_row_begin(p) && row_value(p, v) && fcodec_row_end(p);
        }
        /* fall through */
    default:
        return fcodec_fail(p, 400, "instance %zu is %s; each instance is a "
                           "row: an array of %u values or an object keyed by "
                           "feature name", p->n_rows, fcodec_type_name(v),
                           p->m->n_features);
    }
}

static int
simple_value(fcodec_parser *p, const fcodec_value *v)
{
    switch (fcodec_top(p)) {
    case S_ROOT:
        if (v->type == FCODEC_V_MAP) {
            return fcodec_push(p, S_OBJECT);
        }
        if (v->type == FCODEC_V_ARR) {
            return fcodec_push(p, S_ARRAY);
        }
        return fcodec_fail(p, 400, "the request is %s; send {\"instances\": "
                           "[[...], ...]}, a row [...] or an object keyed by "
                           "feature name", fcodec_type_name(v));
    case S_WRAP:
        if (p->key != KEY_ROWS) {
            return fcodec_skip(p, v);
        }
        if (p->ss.have_rows) {
            return fcodec_fail(p, 400, "the request gives its rows twice "
                               "(\"instances\" and \"inputs\")");
        }
        p->ss.have_rows = 1;
        if (v->type != FCODEC_V_ARR) {
            return fcodec_fail(p, 400, "\"instances\" is %s; it must be an "
                               "array of rows", fcodec_type_name(v));
        }
        return fcodec_push(p, S_LIST);
    case S_ARRAY:
        if (v->type == FCODEC_V_ARR || v->type == FCODEC_V_MAP) {
            fcodec_set_top(p, S_LIST);
            return list_element(p, v);
        }
        fcodec_set_top(p, S_ROW);
        return fcodec_row_begin(p) && row_value(p, v);
    case S_LIST:
        return list_element(p, v);
    case S_ROW:
        return row_value(p, v);
    default: /* S_NAMED */
        return named_value(p, v);
    }
}

static int
named_key(fcodec_parser *p, const char *s, size_t len)
{
    long idx = fcodec_names_find(&p->ss.names, p->m, s, len);
    int  shown = fcodec_shown(len);

    if (idx < 0) {
        return fcodec_fail(p, 400, "row %zu: model %s has no feature named "
                           "\"%.*s\"", p->n_rows - 1, p->m->name, shown, s);
    }
    if (p->ss.seen[idx / 8] & (1u << (idx % 8))) {
        return fcodec_fail(p, 400, "row %zu: feature \"%.*s\" is given twice",
                           p->n_rows - 1, shown, s);
    }
    p->ss.seen[idx / 8] |= (uint8_t) (1u << (idx % 8));
    p->key = (int) idx;
    return 1;
}

static int
simple_key(fcodec_parser *p, const char *s, size_t len)
{
    switch (fcodec_top(p)) {
    case S_OBJECT:
        if (is_rows_key(s, len)) {
            fcodec_set_top(p, S_WRAP);
            p->key = KEY_ROWS;
            return 1;
        }
        fcodec_set_top(p, S_NAMED);
        return begin_named_row(p) && named_key(p, s, len);
    case S_WRAP:
        p->key = is_rows_key(s, len) ? KEY_ROWS : KEY_OTHER;
        return 1;
    case S_NAMED:
        return named_key(p, s, len);
    default:
        return 1;
    }
}

static int
simple_end(fcodec_parser *p)
{
    switch (fcodec_top(p)) {
    case S_OBJECT:
        return fcodec_fail(p, 400, "the request is an empty object; send "
                           "{\"instances\": [[...], ...]}");
    case S_ROW:
        if (!fcodec_row_end(p)) {
            return 0;
        }
        break;
    }
    fcodec_pop(p);
    return 1;
}

static int
simple_done(fcodec_parser *p)
{
    if (p->n_rows == 0) {
        return fcodec_fail(p, 400, "the request holds no rows");
    }
    return 1;
}

const fcodec_api_ops fcodec_simple_ops = {
    simple_value, simple_key, simple_end, simple_done
};
