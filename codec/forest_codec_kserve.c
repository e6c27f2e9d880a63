/*
 * KServe v2 inference requests, decoded as yajl streams them:
 *   {"id": "...", "parameters": {"binary_data_output": bool,
 *                   "predict_proba": bool, "output_margin": bool},
 *    "inputs": [{"name": "input__0", "shape": [N, F], "datatype": "FP32",
 *                "data": [flat or one array per row],
 *                "parameters": {"binary_data_size": B, "predict_proba": ..}},
 *               {"name": "base_margin", "shape": [N] or [N, C],
 *                "datatype": "FP32" or "FP64", "data": [...] or
 *                "parameters": {"binary_data_size": B}}],
 *    "outputs": [{"name": "output__0" | "treeshap_output" | "leaf_index",
 *                 "parameters": {"binary_data": bool, "classification": K}}]}
 * Binary data (input__0 of any type, BYTES included, and base_margin)
 * follows the JSON in the inputs' order (forest_codec_binary.c).
 * Members may come in any order, so what depends on several of them (shape
 * against values, datatype against values, binary size against shape) is
 * checked when the JSON ends; what one member decides alone fails at once.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest_codec_internal.h"

enum {
    K_ROOT = 0, K_REQ, K_REQ_PARAMS, K_INPUTS, K_INPUT, K_SHAPE, K_DATA,
    K_DATA_ROW, K_IN_PARAMS, K_OUTPUTS, K_OUTPUT, K_OUT_PARAMS,
    /* the base_margin input's members */
    K_BM_SHAPE, K_BM_DATA, K_BM_ROW, K_BM_PARAMS
};

enum {
    KEY_OTHER = 0, KEY_ID, KEY_INPUTS, KEY_OUTPUTS, KEY_PARAMS, KEY_NAME,
    KEY_SHAPE, KEY_DATATYPE, KEY_DATA, KEY_BINARY_DATA_SIZE,
    KEY_BINARY_DATA_OUTPUT, KEY_BINARY_DATA, KEY_CLASSIFICATION,
    KEY_SHARED_MEMORY, KEY_PREDICT_PROBA, KEY_OUTPUT_MARGIN
};

static const struct {
    int         ctx;
    const char *name;
    int         key;
} members[] = {
    { K_REQ,        "id",                   KEY_ID },
    { K_REQ,        "inputs",               KEY_INPUTS },
    { K_REQ,        "outputs",              KEY_OUTPUTS },
    { K_REQ,        "parameters",           KEY_PARAMS },
    { K_REQ_PARAMS, "binary_data_output",   KEY_BINARY_DATA_OUTPUT },
    { K_REQ_PARAMS, "predict_proba",        KEY_PREDICT_PROBA },
    { K_REQ_PARAMS, "output_margin",        KEY_OUTPUT_MARGIN },
    { K_REQ_PARAMS, "raw_score",            KEY_OUTPUT_MARGIN },
    { K_INPUT,      "name",                 KEY_NAME },
    { K_INPUT,      "shape",                KEY_SHAPE },
    { K_INPUT,      "datatype",             KEY_DATATYPE },
    { K_INPUT,      "data",                 KEY_DATA },
    { K_INPUT,      "parameters",           KEY_PARAMS },
    { K_IN_PARAMS,  "binary_data_size",     KEY_BINARY_DATA_SIZE },
    { K_IN_PARAMS,  "shared_memory_region", KEY_SHARED_MEMORY },
    { K_IN_PARAMS,  "predict_proba",        KEY_PREDICT_PROBA },
    { K_IN_PARAMS,  "output_margin",        KEY_OUTPUT_MARGIN },
    { K_IN_PARAMS,  "raw_score",            KEY_OUTPUT_MARGIN },
    { K_OUTPUT,     "name",                 KEY_NAME },
    { K_OUTPUT,     "parameters",           KEY_PARAMS },
    { K_OUT_PARAMS, "binary_data",          KEY_BINARY_DATA },
    { K_OUT_PARAMS, "classification",       KEY_CLASSIFICATION },
    { K_OUT_PARAMS, "shared_memory_region", KEY_SHARED_MEMORY },
    { K_BM_PARAMS,  "binary_data_size",     KEY_BINARY_DATA_SIZE },
    { K_BM_PARAMS,  "shared_memory_region", KEY_SHARED_MEMORY },
};

/* Shape-announced rows are reserved up front only this far: a small body
 * must not make a large allocation by claiming a large shape. */
#define PREALLOC_MAX_VALUES  65536

static int
get_bool(fcodec_parser *p, const fcodec_value *v, const char *what, int *out)
{
    if (v->type != FCODEC_V_BOOL) {
        return fcodec_fail(p, 400, "%s is %s; it must be true or false",
                           what, fcodec_type_name(v));
    }
    *out = v->boolean;
    return 1;
}

/* predict_proba / output_margin (raw_score), of the request or its input */
static int
option(fcodec_parser *p, const fcodec_value *v)
{
    int  on = 0;
    int *opt = p->key == KEY_PREDICT_PROBA ? &p->req.opt_predict_proba
                                           : &p->req.opt_margin;

    if (!get_bool(p, v, p->key == KEY_PREDICT_PROBA
                        ? "parameters.predict_proba"
                        : "parameters.output_margin", &on))
    {
        return 0;
    }
    *opt = on ? FCODEC_OPT_ON : FCODEC_OPT_OFF;
    return 1;
}

static int
get_count(fcodec_parser *p, const fcodec_value *v, const char *what,
    uint64_t limit, uint64_t *out)
{
    if (v->type != FCODEC_V_NUM || v->num < 0 || v->num != floor(v->num)
        || v->num > (double) limit)
    {
        return fcodec_fail(p, 400, "%s must be an integer from 0 to %llu",
                           what, (unsigned long long) limit);
    }
    *out = (uint64_t) v->num;
    return 1;
}

static void
shape_text(const fcodec_kserve_state *ks, char *buf, size_t size)
{
    fcodec_shape_text(ks->shape, ks->rank, buf, size);
}

/* ---- members ------------------------------------------------------------ */

static int
request_member(fcodec_parser *p, const fcodec_value *v)
{
    switch (p->key) {
    case KEY_ID:
        if (v->type != FCODEC_V_STR || memchr(v->str, '\0', v->len) != NULL) {
            return fcodec_fail(p, 400, "\"id\" must be a string (without NUL)");
        }
        p->req.id = fcodec_pstrdup(p, v->str, v->len);
        return p->req.id != NULL;
    case KEY_INPUTS:
        if (p->api == FCODEC_KSERVE_ENVELOPE) {
            return fcodec_skip(p, v);
        }
        if (v->type != FCODEC_V_ARR) {
            return fcodec_fail(p, 400, "\"inputs\" is %s; it must be an array",
                               fcodec_type_name(v));
        }
        return fcodec_push(p, K_INPUTS);
    case KEY_OUTPUTS:
        if (v->type != FCODEC_V_ARR) {
            return fcodec_fail(p, 400, "\"outputs\" is %s; it must be an "
                               "array", fcodec_type_name(v));
        }
        return fcodec_push(p, K_OUTPUTS);
    case KEY_PARAMS:
        if (v->type != FCODEC_V_MAP) {
            return fcodec_fail(p, 400, "\"parameters\" is %s; it must be an "
                               "object", fcodec_type_name(v));
        }
        return fcodec_push(p, K_REQ_PARAMS);
    default:
        return fcodec_skip(p, v);
    }
}

static int
shared_memory(fcodec_parser *p)
{
    return fcodec_fail(p, 400, "shared memory tensors are not supported; send "
                       "the data in the request body");
}

/* The base_margin input's members: its values go to fcodec_bm_*, its
 * shape and datatype are checked against input__0 when the JSON ends. */
static int
base_margin_member(fcodec_parser *p, const fcodec_value *v)
{
    fcodec_bm_state *bm = &p->bm;
    const char      *want = p->key == KEY_PARAMS ? "an object" : "an array";

    switch (p->key) {
    case KEY_DATATYPE:
        if (v->type != FCODEC_V_STR
            || !((v->len == 4 && memcmp(v->str, "FP32", 4) == 0)
                 || (v->len == 4 && memcmp(v->str, "FP64", 4) == 0)))
        {
            return fcodec_fail(p, 400, "base_margin datatype must be FP32 or "
                               "FP64");
        }
        bm->dtype = fcodec_dtype_find(v->str, v->len);
        bm->have_dtype = 1;
        return 1;
    case KEY_SHAPE:
    case KEY_DATA:
    case KEY_PARAMS:
        if (v->type != (p->key == KEY_PARAMS ? FCODEC_V_MAP : FCODEC_V_ARR)) {
            return fcodec_fail(p, 400, "base_margin \"%s\" is %s; it must "
                               "be %s", p->key == KEY_SHAPE ? "shape"
                               : p->key == KEY_DATA ? "data" : "parameters",
                               fcodec_type_name(v), want);
        }
        if (p->key == KEY_SHAPE) {
            bm->have_shape = 1;
            bm->rank = 0;
            return fcodec_push(p, K_BM_SHAPE);
        }
        if (p->key == KEY_DATA) {
            if (bm->have_data) {
                return fcodec_fail(p, 400, "base_margin gives \"data\" "
                                   "twice");
            }
            bm->have_data = 1;
            return fcodec_push(p, K_BM_DATA);
        }
        return fcodec_push(p, K_BM_PARAMS);
    case KEY_NAME:
        return fcodec_fail(p, 400, "base_margin gives \"name\" twice");
    default:
        return fcodec_skip(p, v);
    }
}

static int
base_margin_value(fcodec_parser *p, const fcodec_value *v)
{
    fcodec_bm_state *bm = &p->bm;
    uint64_t         dim = 0;

    switch (fcodec_top(p)) {
    case K_BM_SHAPE:
        if (!get_count(p, v, "each dimension of base_margin \"shape\"",
                       UINT64_C(1) << 53, &dim))
        {
            return 0;
        }
        if (bm->rank < FCODEC_MAX_DIMS) {
            bm->shape[bm->rank] = dim;
        }
        bm->rank++;
        return 1;
    case K_BM_DATA:
    case K_BM_ROW:
        return fcodec_bm_data(p, v, K_BM_ROW);
    default: /* K_BM_PARAMS */
        if (p->key == KEY_BINARY_DATA_SIZE) {
            bm->have_bsize = 1;
            return get_count(p, v, "base_margin parameters.binary_data_size",
                             UINT64_C(1) << 53, &bm->binary_size);
        }
        return p->key == KEY_SHARED_MEMORY ? shared_memory(p)
                                           : fcodec_skip(p, v);
    }
}

/* "name" first: an input's other members go where its name says */
static int
input_name(fcodec_parser *p, const fcodec_value *v)
{
    fcodec_kserve_state *ks = &p->ks;
    int                  shown = fcodec_shown(v->len);

    if (v->len == 11 && memcmp(v->str, "base_margin", 11) == 0) {
        if (ks->in_members) {
            return fcodec_fail(p, 400, "input base_margin must give its "
                               "\"name\" before its other members");
        }
        p->bm.active = 1;
        p->bm.at = ks->n_inputs;
        return fcodec_bm_start(p);
    }
    if (v->len != 8 || memcmp(v->str, "input__0", 8) != 0) {
        return fcodec_fail(p, 400, "unknown input \"%.*s\": model %s has "
                           "the inputs input__0 and base_margin", shown,
                           v->str, p->m->name);
    }
    if (ks->have_name) {
        return fcodec_fail(p, 400, "the request gives input__0 twice");
    }
    ks->at = ks->n_inputs;
    return 1;
}

static int
input_member(fcodec_parser *p, const fcodec_value *v)
{
    fcodec_kserve_state *ks = &p->ks;
    int                  shown;

    if (p->bm.active) {
        return base_margin_member(p, v);
    }
    if (p->key != KEY_NAME) {
        /* the members of a later input would change input__0's */
        if (ks->have_name && !ks->in_named) {
            return fcodec_fail(p, 400, "an input after input__0 must give "
                               "its \"name\" before its other members");
        }
        ks->in_members++;
    }

    switch (p->key) {
    case KEY_NAME:
        if (v->type != FCODEC_V_STR) {
            return fcodec_fail(p, 400, "the input's \"name\" is %s; it must "
                               "be a string", fcodec_type_name(v));
        }
        ks->in_named = 1;
        if (!input_name(p, v)) {
            return 0;
        }
        if (p->bm.active) {
            return 1;
        }
        ks->have_name = 1;
        p->req.input_name = fcodec_pstrdup(p, v->str, v->len);
        return p->req.input_name != NULL;
    case KEY_SHAPE:
        if (v->type != FCODEC_V_ARR) {
            return fcodec_fail(p, 400, "input__0 \"shape\" is %s; it must be "
                               "an array", fcodec_type_name(v));
        }
        ks->have_shape = 1;
        ks->rank = 0;
        return fcodec_push(p, K_SHAPE);
    case KEY_DATATYPE:
        if (v->type != FCODEC_V_STR) {
            return fcodec_fail(p, 400, "input__0 \"datatype\" is %s; it must "
                               "be a string", fcodec_type_name(v));
        }
        ks->dtype = fcodec_dtype_find(v->str, v->len);
        /* BYTES: strings, for models with category names */
        if (ks->dtype == NULL
            || (ks->dtype->size == 0 && p->m->category == NULL))
        {
            shown = fcodec_shown(v->len);
            return fcodec_fail(p, 400, "input__0 datatype \"%.*s\" is not "
                               "supported: send FP32, FP64, FP16, BF16, an "
                               "integer type or BOOL", shown, v->str);
        }
        ks->have_dtype = 1;
        return 1;
    case KEY_DATA:
        if (v->type != FCODEC_V_ARR) {
            return fcodec_fail(p, 400, "input__0 \"data\" is %s; it must be "
                               "an array", fcodec_type_name(v));
        }
        if (ks->have_data) {
            return fcodec_fail(p, 400, "input__0 gives \"data\" twice");
        }
        ks->have_data = 1;
        return fcodec_push(p, K_DATA);
    case KEY_PARAMS:
        if (v->type != FCODEC_V_MAP) {
            return fcodec_fail(p, 400, "input__0 \"parameters\" is %s; it "
                               "must be an object", fcodec_type_name(v));
        }
        return fcodec_push(p, K_IN_PARAMS);
    default:
        return fcodec_skip(p, v);
    }
}

static int
output_member(fcodec_parser *p, const fcodec_value *v)
{
    int  which;
    char err[sizeof(p->req.error)];

    switch (p->key) {
    case KEY_NAME:
        if (v->type != FCODEC_V_STR) {
            return fcodec_fail(p, 400, "an output's \"name\" is %s; it must "
                               "be a string", fcodec_type_name(v));
        }
        which = fcodec_output_find(p->m, v->str, v->len, err, sizeof(err));
        if (which < 0) {
            return fcodec_fail(p, 400, "%s", err);
        }
        p->ks.out_extra = (unsigned) which;
        p->ks.out_have_name = 1;
        return 1;
    case KEY_PARAMS:
        if (v->type != FCODEC_V_MAP) {
            return fcodec_fail(p, 400, "output__0 \"parameters\" is %s; it "
                               "must be an object", fcodec_type_name(v));
        }
        return fcodec_push(p, K_OUT_PARAMS);
    default:
        return fcodec_skip(p, v);
    }
}

/* ---- tensor values ------------------------------------------------------ */

/* v is at least 2^63 in magnitude: where a double cannot tell it from the
 * 64-bit types' bounds (9223372036854775808 reads as INT64_MAX does). */
static void
wide_value(fcodec_kserve_state *ks, const fcodec_value *v)
{
    int neg = v->str[0] == '-';

    if (ks->past_i64[0] == '\0'
        && fcodec_number_cmp(v->str, v->len, neg ? "9223372036854775808"
                                                 : "9223372036854775807") > 0)
    {
        snprintf(ks->past_i64, sizeof(ks->past_i64), "%.*s",
                 fcodec_shown(v->len), v->str);
    }
    if (!neg && ks->past_u64[0] == '\0'
        && fcodec_number_cmp(v->str, v->len, "18446744073709551615") > 0)
    {
        snprintf(ks->past_u64, sizeof(ks->past_u64), "%.*s",
                 fcodec_shown(v->len), v->str);
    }
}

static int
data_value(fcodec_parser *p, const fcodec_value *v)
{
    fcodec_kserve_state *ks = &p->ks;
    int                  in_row = fcodec_top(p) == K_DATA_ROW;

    if (v->type == FCODEC_V_ARR) {
        if (in_row) {
            return fcodec_fail(p, 400, "input__0 data is nested deeper than "
                               "its shape [rows, %u]", p->m->n_features);
        }
        if (ks->data_nested == 0) {
            goto mixed;
        }
        ks->data_nested = 1;
        return fcodec_row_begin(p) && fcodec_push(p, K_DATA_ROW);
    }
    if (v->type == FCODEC_V_MAP
        || (v->type == FCODEC_V_STR && p->m->category == NULL))
    {
        return fcodec_fail(p, 400, "input__0 data value %zu is %s; values "
                           "must be numbers (null marks a missing value)",
                           p->n_vals, fcodec_type_name(v));
    }
    if (!in_row) {
        if (ks->data_nested == 1) {
            goto mixed;
        }
        ks->data_nested = 0;
    }
    if (v->type == FCODEC_V_STR) {
        /* a category name (or, in a BYTES tensor, a number as text) */
        float x;
        int   rc;

        /* the datatype may come after the data: BYTES is checked then */
        ks->saw_str = 1;
        rc = fcodec_category_cell(p, p->n_vals / p->m->n_features,
                 (uint32_t) (p->n_vals % p->m->n_features), v,
                 ks->dtype == NULL || ks->dtype->size == 0, &x);
        ks->saw_text_num |= rc == 2;
        return rc && fcodec_rows_push(p, x);
    }
    if (v->type == FCODEC_V_BOOL) {
        ks->saw_bool = 1;
        return fcodec_rows_push(p, (float) v->boolean);
    }
    if (v->type == FCODEC_V_NULL) {
        return fcodec_rows_push(p, NAN);
    }
    if (!ks->saw_num || v->num < ks->vmin) {
        ks->vmin = v->num;
    }
    if (!ks->saw_num || v->num > ks->vmax) {
        ks->vmax = v->num;
    }
    ks->saw_num = 1;
    if (!ks->saw_fraction && v->num != floor(v->num)) {
        ks->saw_fraction = 1;
        ks->fraction = v->num;
    }
    if (fabs(v->num) >= 0x1p63) {
        wide_value(ks, v);
    }
    return fcodec_rows_push(p, fcodec_to_float(v->num));

mixed:
    return fcodec_fail(p, 400, "input__0 data mixes rows (arrays) and single "
                       "values");
}

/* Datatype against the JSON values, once both are known. */
static int
check_values(fcodec_parser *p)
{
    const fcodec_kserve_state *ks = &p->ks;
    const fcodec_dtype        *dt = ks->dtype;
    const char                *past;

    if (dt->size == 0) {
        if (ks->saw_num || ks->saw_bool) {
            return fcodec_fail(p, 400, "input__0 is BYTES but its data holds "
                               "%s; send every value as a string",
                               ks->saw_num ? "numbers" : "true or false");
        }
        return 1;
    }
    if (ks->saw_text_num) {
        return fcodec_fail(p, 400, "input__0 is %s but its data holds "
                           "numbers as strings (a BYTES tensor holds those)",
                           dt->name);
    }
    if (ks->saw_str && dt->is_bool) {
        return fcodec_fail(p, 400, "input__0 is BOOL but its data holds "
                           "category names");
    }
    if (dt->is_bool) {
        if (ks->saw_num) {
            return fcodec_fail(p, 400, "input__0 is BOOL but its data holds "
                               "numbers; send true and false");
        }
        return 1;
    }
    if (ks->saw_bool) {
        return fcodec_fail(p, 400, "input__0 is %s but its data holds true or "
                           "false", dt->name);
    }
    if (dt->is_int && ks->saw_fraction) {
        return fcodec_fail(p, 400, "input__0 is %s but its data holds %g",
                           dt->name, ks->fraction);
    }
    if (ks->saw_num && (ks->vmin < dt->min || ks->vmax > dt->max)) {
        return fcodec_fail(p, 400, "input__0 is %s but its data holds %g, "
                           "outside the type's range", dt->name,
                           ks->vmin < dt->min ? ks->vmin : ks->vmax);
    }
    if (dt->is_int && dt->size == 8) {
        past = dt->min < 0 ? ks->past_i64 : ks->past_u64;
        if (past[0] != '\0') {
            return fcodec_fail(p, 400, "input__0 is %s but its data holds "
                               "%s, outside the type's range", dt->name,
                               past);
        }
    }
    return 1;
}

static int
shape_dim(fcodec_parser *p, const fcodec_value *v)
{
    fcodec_kserve_state *ks = &p->ks;
    uint64_t             dim = 0;

    if (!get_count(p, v, "each dimension of input__0 \"shape\"",
                   UINT64_C(1) << 53, &dim))
    {
        return 0;
    }
    if (ks->rank < FCODEC_MAX_DIMS) {
        ks->shape[ks->rank] = dim;
    }
    ks->rank++;
    return 1;
}

static int
check_shape(fcodec_parser *p)
{
    const fcodec_kserve_state *ks = &p->ks;
    const fcodec_model        *m = p->m;
    char                       err[sizeof(p->req.error)];
    uint64_t                   n;

    if (!fcodec_shape_fits(ks->shape, ks->rank, m, err, sizeof(err))) {
        return fcodec_fail(p, 400, "%s", err);
    }
    if (ks->shape[0] > m->max_rows) {
        return fcodec_fail(p, 413, "input__0 has %llu rows; model %s takes at "
                           "most %zu per request",
                           (unsigned long long) ks->shape[0], m->name,
                           m->max_rows);
    }
    n = ks->shape[0] * m->n_features;
    return fcodec_rows_reserve(p, n < PREALLOC_MAX_VALUES
                                  ? (size_t) n : PREALLOC_MAX_VALUES);
}

static int
end_output(fcodec_parser *p)
{
    if (!p->ks.out_have_name) {
        return fcodec_fail(p, 400, "an entry of \"outputs\" has no \"name\"");
    }
    p->req.outputs_listed = 1;
    if (p->ks.out_extra != 0) {
        if (p->ks.out_class > 0) {
            return fcodec_fail(p, 400, "parameters.classification applies to "
                               "output__0 only");
        }
        p->req.extras |= p->ks.out_extra;
        if (p->ks.out_binary == 1) {
            p->req.extras_binary |= p->ks.out_extra;
        } else if (p->ks.out_binary == 0) {
            p->ks.extras_json |= p->ks.out_extra;
        }
        return 1;
    }
    p->ks.out_main = 1;
    p->req.binary_output = p->ks.out_binary;
    p->req.class_count = p->ks.out_class;
    return 1;
}

/* ---- callbacks ---------------------------------------------------------- */

static int
kserve_value(fcodec_parser *p, const fcodec_value *v)
{
    fcodec_kserve_state *ks = &p->ks;
    uint64_t             count = 0;

    switch (fcodec_top(p)) {
    case K_ROOT:
        if (v->type != FCODEC_V_MAP) {
            return fcodec_fail(p, 400, "the request is %s; it must be a JSON "
                               "object", fcodec_type_name(v));
        }
        return fcodec_push(p, K_REQ);
    case K_REQ:
        return request_member(p, v);
    case K_REQ_PARAMS:
        if (p->key == KEY_BINARY_DATA_OUTPUT) {
            return get_bool(p, v, "parameters.binary_data_output",
                            &ks->req_binary_output);
        }
        if (p->key == KEY_PREDICT_PROBA || p->key == KEY_OUTPUT_MARGIN) {
            return option(p, v);
        }
        return fcodec_skip(p, v);
    case K_INPUTS:
        if (v->type != FCODEC_V_MAP) {
            return fcodec_fail(p, 400, "an entry of \"inputs\" is %s; it must "
                               "be an object", fcodec_type_name(v));
        }
        if (++ks->n_inputs > 2) {
            return fcodec_fail(p, 400, "model %s has the inputs input__0 "
                               "and base_margin; the request has more",
                               p->m->name);
        }
        ks->in_members = 0;
        ks->in_named = 0;
        p->bm.active = 0;
        return fcodec_push(p, K_INPUT);
    case K_INPUT:
        return input_member(p, v);
    case K_SHAPE:
        return shape_dim(p, v);
    case K_DATA:
    case K_DATA_ROW:
        return data_value(p, v);
    case K_IN_PARAMS:
        if (p->key == KEY_BINARY_DATA_SIZE) {
            ks->have_bsize = 1;
            return get_count(p, v, "input__0 parameters.binary_data_size",
                             UINT64_C(1) << 53, &ks->binary_size);
        }
        if (p->key == KEY_PREDICT_PROBA || p->key == KEY_OUTPUT_MARGIN) {
            return option(p, v);
        }
        return p->key == KEY_SHARED_MEMORY ? shared_memory(p)
                                           : fcodec_skip(p, v);
    case K_OUTPUTS:
        if (v->type != FCODEC_V_MAP) {
            return fcodec_fail(p, 400, "an entry of \"outputs\" is %s; it "
                               "must be an object", fcodec_type_name(v));
        }
        ks->out_have_name = 0;
        ks->out_binary = -1;
        ks->out_class = 0;
        ks->out_extra = 0;
        return fcodec_push(p, K_OUTPUT);
    case K_OUTPUT:
        return output_member(p, v);
    case K_BM_SHAPE:
    case K_BM_DATA:
    case K_BM_ROW:
    case K_BM_PARAMS:
        return base_margin_value(p, v);
    default: /* K_OUT_PARAMS */
        if (p->key == KEY_BINARY_DATA) {
            return get_bool(p, v, "output__0 parameters.binary_data",
                            &ks->out_binary);
        }
        if (p->key == KEY_CLASSIFICATION) {
            if (!get_count(p, v, "output__0 parameters.classification",
                           UINT32_MAX, &count))
            {
                return 0;
            }
            ks->out_class = (uint32_t) count;
            return 1;
        }
        return p->key == KEY_SHARED_MEMORY ? shared_memory(p)
                                           : fcodec_skip(p, v);
    }
}

static int
kserve_key(fcodec_parser *p, const char *s, size_t len)
{
    int    ctx = fcodec_top(p);
    size_t i;

    p->key = KEY_OTHER;
    for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
        if (members[i].ctx == ctx && strlen(members[i].name) == len
            && memcmp(members[i].name, s, len) == 0)
        {
            p->key = members[i].key;
            break;
        }
    }
    return 1;
}

static int
kserve_end(fcodec_parser *p)
{
    switch (fcodec_top(p)) {
    case K_REQ:
        /* binary tensors follow the JSON only where the header tells where
         * it ends: the bytes after it would read as trailing garbage */
        if (p->json_len == FCODEC_NO_LEN
            && ((p->ks.have_bsize && !p->ks.have_data)
                || (p->bm.have_bsize && !p->bm.have_data)))
        {
            return fcodec_fail(p, 400, "%s has binary_data_size but the "
                               "request has no "
                               "Inference-Header-Content-Length",
                               p->ks.have_bsize && !p->ks.have_data
                               ? "input__0" : "base_margin");
        }
        break;
    case K_SHAPE:
        if (!check_shape(p)) {
            return 0;
        }
        break;
    case K_DATA_ROW:
        if (!fcodec_row_end(p)) {
            return 0;
        }
        break;
    case K_BM_ROW:
        if (!fcodec_bm_row_end(p)) {
            return 0;
        }
        break;
    case K_INPUT:
        /* of two inputs, an unnamed one would mix into input__0 */
        if (!p->ks.in_named && p->ks.n_inputs > 1) {
            return fcodec_fail(p, 400, "an input has no \"name\"; model %s "
                               "takes input__0 and base_margin", p->m->name);
        }
        break;
    case K_OUTPUT:
        if (!end_output(p)) {
            return 0;
        }
        break;
    }
    fcodec_pop(p);
    return 1;
}

/* input__0 complete and consistent; its binary data expected when sent so */
static int
inputs_done(fcodec_parser *p)
{
    const fcodec_kserve_state *ks = &p->ks;
    char                       text[96];
    uint64_t                   n, need;

    if (ks->n_inputs == 0) {
        return fcodec_fail(p, 400, "the request has no inputs; model %s takes "
                           "input__0", p->m->name);
    }
    if (!ks->have_name) {
        return fcodec_fail(p, 400, "the input has no \"name\"; model %s takes "
                           "input__0", p->m->name);
    }
    if (!ks->have_shape || !ks->have_dtype) {
        return fcodec_fail(p, 400, "input__0 has no \"%s\"",
                           ks->have_shape ? "datatype" : "shape");
    }
    if (ks->have_data == ks->have_bsize) {
        return fcodec_fail(p, 400, "input__0 needs either \"data\" or "
                           "parameters.binary_data_size (it has %s)",
                           ks->have_data ? "both" : "neither");
    }

    /* (the shape's text only for a message: printf costs) */
    n = ks->shape[0] * p->m->n_features;
    if (ks->have_data) {
        if (!check_values(p)) {
            return 0;
        }
        if (p->n_vals != n) {
            shape_text(ks, text, sizeof(text));
            return fcodec_fail(p, 400, "input__0 shape %s has %llu values, "
                               "got %zu", text, (unsigned long long) n,
                               p->n_vals);
        }
    } else if (ks->dtype->size == 0) {
        /* Triton's BYTES serialisation: a 4-byte length before each string */
        if (ks->binary_size < 4 * n) {
            shape_text(ks, text, sizeof(text));
            return fcodec_fail(p, 400, "input__0 binary_data_size is %llu but "
                               "shape %s of BYTES takes at least %llu bytes "
                               "(a 4-byte length before each string)",
                               (unsigned long long) ks->binary_size, text,
                               (unsigned long long) (4 * n));
        }
        fcodec_binary_expect(p, 0, ks->at, ks->dtype, ks->binary_size);
    } else {
        need = n * ks->dtype->size;
        if (ks->binary_size != need) {
            shape_text(ks, text, sizeof(text));
            return fcodec_fail(p, 400, "input__0 binary_data_size is %llu but "
                               "shape %s of %s takes %llu bytes",
                               (unsigned long long) ks->binary_size, text,
                               ks->dtype->name, (unsigned long long) need);
        }
        fcodec_binary_expect(p, 0, ks->at, ks->dtype, need);
    }
    return fcodec_bm_done(p, (size_t) ks->shape[0]);
}

static int
kserve_done(fcodec_parser *p)
{
    const fcodec_kserve_state *ks = &p->ks;

    if (p->api != FCODEC_KSERVE_ENVELOPE && !inputs_done(p)) {
        return 0;
    }
    if (!p->req.outputs_listed || p->req.binary_output < 0) {
        p->req.binary_output = ks->req_binary_output;
    }
    if (ks->req_binary_output) {
        p->req.extras_binary |= p->req.extras & ~ks->extras_json;
    }
    p->req.want_output = !p->req.outputs_listed || ks->out_main;
    return 1;
}

/* (data values are checked against the datatype: no row_ctx) */
const fcodec_api_ops fcodec_kserve_ops = {
    kserve_value, kserve_key, kserve_end, kserve_done, -1
};
