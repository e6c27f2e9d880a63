/*
 * The simple API's request forms, decoded as yajl streams them:
 *   {"instances": [row, ...]}  or  {"inputs": [row, ...]}
 *   [row, ...]                 a bare list of rows
 *   [1, 2, null, ...]          a bare row
 *   {"f0": 1, "f3": null}      one row keyed by feature name
 * where a row is an array of n_features numbers (null = missing) or an
 * object keyed by the model's feature names (absent = missing).  The
 * wrapper object may also carry options, each true or false:
 *   "contributions", "interactions", "leaf_index" (extra outputs),
 *   "predict_proba", "output_margin" (or "raw_score"); and "base_margin":
 *   each row's starting margins, a number per row or an array of one per
 *   output.
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
    S_NAMED,           /* row as an object */
    S_BM,              /* "base_margin" */
    S_BM_ROW           /* one row's base margins */
};

/* >= 0: a feature index */
enum {
    KEY_CONTRIBS = -9, KEY_INTERACTIONS, KEY_LEAVES, KEY_PROBA, KEY_MARGIN,
    KEY_OTHER, KEY_ROWS, KEY_BASE_MARGIN
};

static const struct {
    const char *name;
    int         key;
} options[] = {
    { "contributions", KEY_CONTRIBS },
    { "interactions",  KEY_INTERACTIONS },
    { "leaf_index",    KEY_LEAVES },
    { "predict_proba", KEY_PROBA },
    { "output_margin", KEY_MARGIN },
    { "raw_score",     KEY_MARGIN },
};


static int
is_rows_key(const char *s, size_t len)
{
    return (len == 9 && memcmp(s, "instances", 9) == 0)
           || (len == 6 && memcmp(s, "inputs", 6) == 0);
}

static int
wrap_key(const char *s, size_t len)
{
    size_t i;

    if (is_rows_key(s, len)) {
        return KEY_ROWS;
    }
    if (len == 11 && memcmp(s, "base_margin", 11) == 0) {
        return KEY_BASE_MARGIN;
    }
    for (i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        if (strlen(options[i].name) == len
            && memcmp(options[i].name, s, len) == 0)
        {
            return options[i].key;
        }
    }
    return KEY_OTHER;
}

static int
option_value(fcodec_parser *p, const fcodec_value *v)
{
    int on;

    if (v->type != FCODEC_V_BOOL) {
        return fcodec_fail(p, 400, "option %s is %s; it must be true or "
                           "false", options[p->key - KEY_CONTRIBS].name,
                           fcodec_type_name(v));
    }
    on = v->boolean;
    switch (p->key) {
    case KEY_CONTRIBS:
    case KEY_INTERACTIONS:
        if (on && !p->m->contributions) {
            return fcodec_fail(p, 400, "model %s cannot answer %s: its file "
                               "stores no node cover (training hessian sums "
                               "or counts)", p->m->name,
                               options[p->key - KEY_CONTRIBS].name);
        }
        if (on) {
            p->req.extras |= p->key == KEY_CONTRIBS ? FCODEC_OUT_CONTRIBS
                                                    : FCODEC_OUT_INTERACTIONS;
        }
        return 1;
    case KEY_LEAVES:
        p->req.extras |= on ? FCODEC_OUT_LEAVES : 0;
        return 1;
    case KEY_PROBA:
        p->req.opt_predict_proba = on ? FCODEC_OPT_ON : FCODEC_OPT_OFF;
        return 1;
    default: /* KEY_MARGIN */
        p->req.opt_margin = on ? FCODEC_OPT_ON : FCODEC_OPT_OFF;
        return 1;
    }
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
    float f;

    switch (v->type) {
    case FCODEC_V_NUM:
        f = fcodec_to_float(v->num);
        if (!isfinite(f)) {
            return fcodec_fail(p, 400, "row %zu, feature %zu: %.*s is outside "
                               "float32's range", p->n_rows - 1,
                               p->n_vals - p->row_start,
                               fcodec_shown(v->len), v->str);
        }
        return fcodec_rows_push(p, f);
    case FCODEC_V_NULL:
        return fcodec_rows_push(p, NAN);
    case FCODEC_V_STR:
        if (p->m->category != NULL) {
            float code;

            return fcodec_category_cell(p, p->n_rows - 1,
                       (uint32_t) (p->n_vals - p->row_start), v, 0, &code)
                   && fcodec_rows_push(p, code);
        }
        /* fall through */
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
    case FCODEC_V_STR:
        if (p->m->category != NULL) {
            return fcodec_category_cell(p, p->n_rows - 1, (uint32_t) p->key,
                       v, 0, &p->vals[p->row_start + (size_t) p->key]);
        }
        /* fall through */
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
        if (p->key < KEY_OTHER) {
            return option_value(p, v);
        }
        if (p->key == KEY_BASE_MARGIN) {
            if (v->type != FCODEC_V_ARR) {
                return fcodec_fail(p, 400, "\"base_margin\" is %s; it must "
                                   "be an array, a value or an array of "
                                   "values per row", fcodec_type_name(v));
            }
            return fcodec_bm_start(p) && fcodec_push(p, S_BM);
        }
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
    case S_BM:
    case S_BM_ROW:
        return fcodec_bm_data(p, v, S_BM_ROW);
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
        if (wrap_key(s, len) != KEY_OTHER) {
            fcodec_set_top(p, S_WRAP);
            p->key = wrap_key(s, len);
            return 1;
        }
        fcodec_set_top(p, S_NAMED);
        return begin_named_row(p) && named_key(p, s, len);
    case S_WRAP:
        p->key = wrap_key(s, len);
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
    case S_BM_ROW:
        if (!fcodec_bm_row_end(p)) {
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
    return fcodec_bm_done(p, p->n_rows);
}

const fcodec_api_ops fcodec_simple_ops = {
    simple_value, simple_key, simple_end, simple_done, S_ROW
};
