/*
 * Response bodies.  KServe:
 *   {"model_name":..,"model_version":..,"id":..,"outputs":[{"name":"output__0",
 *    "datatype":"FP32","shape":[N,C],"data":[flat values]}]}
 * or, with binary output, "parameters":{"binary_data_size":B} instead of
 * "data" and the B bytes after the JSON (whose length the caller sends as
 * Inference-Header-Content-Length).  The classification extension answers a
 * BYTES tensor [N,K] of "value:index" strings instead.  Asked for, the
 * outputs treeshap_output (FP32 [N,F+1] or [N,C,F+1], Triton FIL's layout)
 * leaf_index (INT32 [N,T]) and treeshap_interactions (FP32 [N,F+1,F+1] or
 * [N,C,F+1,F+1], XGBoost's pred_interactions layout) follow.  Simple API:
 *   {"predictions":[v, ...]} or {"predictions":[[v, ...], ...]}, then
 *   "contributions", "leaf_index" and "interactions" (one entry per row)
 *   when asked.
 * JSON never carries NaN or Infinity: such a value is written as null.
 * The tensors' names, shapes and binary values are also gRPC's
 * (forest_codec_grpc_infer.c).
 */
#include <string.h>

#include "forest_codec_internal.h"

/* Per served value: the longest float text (-1.17549435e-38) and a comma. */
#define FLOAT_TEXT_MAX  16

static const float *
served_row(fcodec_encoder *e, size_t r)
{
    fcodec_shape_row(e->s, e->outputs + r * e->s->forest_columns, e->row);
    return e->row;
}

/* The tensor's values: JSON text after "data": or raw bytes. */
static void
tensor_fp32(fcodec_encoder *e, fcodec_out *o, int binary)
{
    size_t      r;
    uint32_t    c;
    const float *row;

    for (r = 0; r < e->req->n_rows; r++) {
        row = served_row(e, r);
        if (binary) {
            fcodec_out_le32s(o, row, e->cols);
            continue;
        }
        for (c = 0; c < e->cols; c++) {
            if (r + c > 0) {
                fcodec_out_raw(o, ",", 1);
            }
            fcodec_out_float(o, row[c]);
        }
    }
}

/* Classification strings: JSON string array items, or Triton's BYTES
 * serialisation (each string as a 4-byte little-endian length + bytes). */
static void
tensor_classes(fcodec_encoder *e, fcodec_out *o, int binary)
{
    char         text[FCODEC_CLASS_TEXT_MAX];
    size_t       r, n;
    uint32_t     j;
    const float *row;

    for (r = 0; r < e->req->n_rows; r++) {
        row = served_row(e, r);
        fcodec_class_top(row, e->cols, e->k, e->top);
        for (j = 0; j < e->k; j++) {
            n = fcodec_class_text(text, row[e->top[j]], e->top[j]);
            if (binary) {
                fcodec_out_le32(o, (uint32_t) n);
                fcodec_out_raw(o, text, n);
            } else {
                if (r + j > 0) {
                    fcodec_out_raw(o, ",", 1);
                }
                fcodec_out_raw(o, "\"", 1);
                fcodec_out_raw(o, text, n);
                fcodec_out_raw(o, "\"", 1);
            }
        }
    }
}

static void
tensor(fcodec_encoder *e, fcodec_out *o, int binary)
{
    if (e->k > 0) {
        tensor_classes(e, o, binary);
    } else {
        tensor_fp32(e, o, binary);
    }
}

/* Values per row of an extra output. */
static size_t
extra_per_row(const fcodec_request *req, unsigned which)
{
    size_t per = (size_t) req->contrib_groups * req->contrib_width;

    switch (which) {
    case FCODEC_OUT_CONTRIBS:
        return per;
    case FCODEC_OUT_INTERACTIONS:
        return per * req->contrib_width;
    default:
        return req->n_trees;
    }
}

/* Contributions: FP32 [N, F+1] or [N, C, F+1]; interactions: FP32
 * [N, F+1, F+1] or [N, C, F+1, F+1]; leaf indices: INT32 [N, T].  JSON
 * text, or raw little-endian bytes. */
static void
tensor_extra(const fcodec_request *req, unsigned which, fcodec_out *o,
    int binary)
{
    const float *f = which == FCODEC_OUT_CONTRIBS ? req->contribs
                     : which == FCODEC_OUT_INTERACTIONS ? req->interactions
                     : NULL;
    size_t       n, i;

    n = req->n_rows * extra_per_row(req, which);
    if (binary) {
        fcodec_out_le32s(o, f != NULL ? (const void *) f
                                      : (const void *) req->leaves, n);
        return;
    }
    for (i = 0; i < n; i++) {
        if (i > 0) {
            fcodec_out_raw(o, ",", 1);
        }
        if (f != NULL) {
            fcodec_out_float(o, f[i]);
        } else {
            fcodec_out_uint(o, (uint64_t) req->leaves[i]);
        }
    }
}

static void
tensor_values(fcodec_encoder *e, unsigned which, fcodec_out *o, int binary)
{
    if (which == FCODEC_OUT_MAIN) {
        tensor(e, o, binary);
    } else {
        tensor_extra(e->req, which, o, binary);
    }
}

void
fcodec_encoder_binary(fcodec_encoder *e, unsigned which, fcodec_out *o)
{
    tensor_values(e, which, o, 1);
}

uint32_t
fcodec_encoder_meta(const fcodec_encoder *e, unsigned which,
    const char **name, const char **datatype, uint64_t shape[4])
{
    const fcodec_request *req = e->req;

    shape[0] = req->n_rows;
    switch (which) {
    case FCODEC_OUT_MAIN:
        *name = "output__0";
        *datatype = e->k ? "BYTES" : "FP32";
        shape[1] = e->k ? e->k : e->cols;
        return 2;
    case FCODEC_OUT_CONTRIBS:
        *name = "treeshap_output";
        *datatype = "FP32";
        if (req->contrib_groups > 1) {
            shape[1] = req->contrib_groups;
            shape[2] = req->contrib_width;
            return 3;
        }
        shape[1] = req->contrib_width;
        return 2;
    case FCODEC_OUT_INTERACTIONS:
        *name = "treeshap_interactions";
        *datatype = "FP32";
        if (req->contrib_groups > 1) {
            shape[1] = req->contrib_groups;
            shape[2] = shape[3] = req->contrib_width;
            return 4;
        }
        shape[1] = shape[2] = req->contrib_width;
        return 3;
    default:
        *name = "leaf_index";
        *datatype = "INT32";
        shape[1] = req->n_trees;
        return 2;
    }
}

/* One entry of "outputs": name, datatype and shape, then its values as
 * "data" or, binary, appended to bin with their size in "parameters". */
static void
output_begin(fcodec_out *o, int first, const fcodec_encoder *e,
    unsigned which)
{
    const char *name, *type;
    uint64_t    shape[4];
    uint32_t    rank, i;

    rank = fcodec_encoder_meta(e, which, &name, &type, shape);
    fcodec_out_str(o, first ? "{\"name\":\"" : ",{\"name\":\"");
    fcodec_out_str(o, name);
    fcodec_out_str(o, "\",\"datatype\":\"");
    fcodec_out_str(o, type);
    fcodec_out_str(o, "\",\"shape\":[");
    for (i = 0; i < rank; i++) {
        if (i > 0) {
            fcodec_out_raw(o, ",", 1);
        }
        fcodec_out_uint(o, shape[i]);
    }
}

static void
output_binary_size(fcodec_out *o, size_t before, const fcodec_out *bin)
{
    fcodec_out_str(o, "],\"parameters\":{\"binary_data_size\":");
    fcodec_out_uint(o, bin->len - before);
    fcodec_out_str(o, "}}");
}

static int
encode_kserve(fcodec_encoder *e, const char *model_name, const char *version,
    fcodec_alloc *a, fcodec_response *out)
{
    const fcodec_request *req = e->req;
    size_t                values = req->n_rows * (e->k ? e->k : e->cols);
    size_t                per = e->k ? FCODEC_CLASS_TEXT_MAX + 4 : FLOAT_TEXT_MAX;
    size_t                extra = 0, before;
    unsigned              which;
    int                   first = 1, any_binary;
    fcodec_out            o, bin;

    for (which = FCODEC_OUT_CONTRIBS; which <= FCODEC_OUT_INTERACTIONS;
         which <<= 1)
    {
        if (req->extras & which) {
            extra += req->n_rows * extra_per_row(req, which);
        }
    }
    any_binary = (req->want_output && req->binary_output)
                 || req->extras_binary != 0;
    fcodec_out_init(&o, a, 256 + 6 * (strlen(model_name) + strlen(version)
                           + (req->id ? strlen(req->id) : 0))
                           + (req->binary_output ? 0 : values * per)
                           + extra * FLOAT_TEXT_MAX);
    fcodec_out_init(&bin, a, any_binary ? values * per + extra * 4 : 16);
    fcodec_out_str(&o, "{\"model_name\":");
    fcodec_out_json_string(&o, model_name);
    fcodec_out_str(&o, ",\"model_version\":");
    fcodec_out_json_string(&o, version);
    if (req->id != NULL) {
        fcodec_out_str(&o, ",\"id\":");
        fcodec_out_json_string(&o, req->id);
    }
    fcodec_out_str(&o, ",\"outputs\":[");
    for (which = FCODEC_OUT_MAIN; which <= FCODEC_OUT_INTERACTIONS;
         which = which ? which << 1 : FCODEC_OUT_CONTRIBS)
    {
        if (which == FCODEC_OUT_MAIN ? !req->want_output
                                     : !(req->extras & which))
        {
            continue;
        }
        output_begin(&o, first, e, which);
        first = 0;
        if (which == FCODEC_OUT_MAIN ? req->binary_output
                                     : (req->extras_binary & which) != 0)
        {
            before = bin.len;
            tensor_values(e, which, &bin, 1);
            output_binary_size(&o, before, &bin);
        } else {
            fcodec_out_str(&o, "],\"data\":[");
            tensor_values(e, which, &o, 0);
            fcodec_out_str(&o, "]}");
        }
    }
    fcodec_out_str(&o, "]}");
    if (any_binary) {
        out->json_len = o.len;
        if (!bin.ok) {
            return -1;
        }
        fcodec_out_raw(&o, bin.buf, bin.len);
    }
    if (!o.ok) {
        return -1;
    }
    out->body = o.buf;
    out->len = o.len;
    out->content_type = any_binary ? "application/octet-stream"
                                   : "application/json";
    return 0;
}

/* ,"contributions":[[[...F+1], ...C] or [...F+1], ...],
 * ,"leaf_index":[[...T], ...] or
 * ,"interactions":[[[[...F+1], ...F+1], ...C] or [[...F+1], ...F+1], ...]:
 * one entry per row */
static void
simple_extra(const fcodec_request *req, unsigned which, fcodec_out *o)
{
    size_t       r, per;
    uint32_t     g, groups, width, lines;
    const float *f = which == FCODEC_OUT_INTERACTIONS ? req->interactions
                                                      : req->contribs;

    groups = req->contrib_groups;
    width = req->contrib_width;
    lines = 1;
    if (which == FCODEC_OUT_CONTRIBS) {
        fcodec_out_str(o, ",\"contributions\":[");
    } else if (which == FCODEC_OUT_INTERACTIONS) {
        lines = width;
        fcodec_out_str(o, ",\"interactions\":[");
    } else {
        groups = 1;
        width = req->n_trees;
        fcodec_out_str(o, ",\"leaf_index\":[");
    }
    per = (size_t) groups * lines * width;
    for (r = 0; r < req->n_rows; r++) {
        fcodec_out_str(o, r > 0 ? ",[" : "[");
        for (g = 0; g < groups * lines; g++) {
            fcodec_request one = *req;
            size_t         at = r * per + (size_t) g * width;

            if (groups > 1 && g % lines == 0) {
                fcodec_out_str(o, g > 0 ? ",[" : "[");
            }
            if (lines > 1) {
                fcodec_out_str(o, g % lines > 0 ? ",[" : "[");
            }
            /* one line of width values, as a one-row contribution */
            one.n_rows = 1;
            one.contrib_groups = 1;
            one.contrib_width = width;
            one.contribs = f ? f + at : NULL;
            one.leaves = req->leaves ? req->leaves + at : NULL;
            tensor_extra(&one, which == FCODEC_OUT_INTERACTIONS
                               ? FCODEC_OUT_CONTRIBS : which, o, 0);
            if (lines > 1) {
                fcodec_out_raw(o, "]", 1);
            }
            if (groups > 1 && g % lines == lines - 1) {
                fcodec_out_raw(o, "]", 1);
            }
        }
        fcodec_out_raw(o, "]", 1);
    }
    fcodec_out_raw(o, "]", 1);
}

static int
encode_simple(fcodec_encoder *e, fcodec_alloc *a, fcodec_response *out)
{
    size_t       r, extra = 0;
    uint32_t     c;
    unsigned     which;
    const float *row;
    fcodec_out   o;

    for (which = FCODEC_OUT_CONTRIBS; which <= FCODEC_OUT_INTERACTIONS;
         which <<= 1)
    {
        if (e->req->extras & which) {
            /* and a bracket and comma per line of values */
            extra += extra_per_row(e->req, which) + 2 * e->req->contrib_width
                     * e->req->contrib_groups;
        }
    }
    fcodec_out_init(&o, a, 64 + e->req->n_rows * (e->cols * FLOAT_TEXT_MAX + 2)
                           + e->req->n_rows * FLOAT_TEXT_MAX * extra);
    fcodec_out_str(&o, "{\"predictions\":[");
    for (r = 0; r < e->req->n_rows; r++) {
        row = served_row(e, r);
        if (r > 0) {
            fcodec_out_raw(&o, ",", 1);
        }
        if (e->cols == 1) {
            fcodec_out_float(&o, row[0]);
            continue;
        }
        fcodec_out_raw(&o, "[", 1);
        for (c = 0; c < e->cols; c++) {
            if (c > 0) {
                fcodec_out_raw(&o, ",", 1);
            }
            fcodec_out_float(&o, row[c]);
        }
        fcodec_out_raw(&o, "]", 1);
    }
    fcodec_out_str(&o, "]");
    for (which = FCODEC_OUT_CONTRIBS; which <= FCODEC_OUT_INTERACTIONS;
         which <<= 1)
    {
        if (e->req->extras & which) {
            simple_extra(e->req, which, &o);
        }
    }
    fcodec_out_str(&o, "}");
    if (!o.ok) {
        return -1;
    }
    out->body = o.buf;
    out->len = o.len;
    out->content_type = "application/json";
    return 0;
}

int
fcodec_encode(fcodec_api api, const fcodec_request *req,
    const fcodec_shape *s, const char *model_name, const char *version,
    const float *outputs, fcodec_alloc *a, fcodec_response *out)
{
    fcodec_encoder e;

    if (fcodec_encoder_init(&e, req, s, outputs, a) != 0) {
        return -1;
    }
    out->json_len = FCODEC_NO_LEN;
    if (api == FCODEC_SIMPLE) {
        return encode_simple(&e, a, out);
    }
    return encode_kserve(&e, model_name, version, a, out);
}

int
fcodec_encoder_init(fcodec_encoder *e, const fcodec_request *req,
    const fcodec_shape *s, const float *outputs, fcodec_alloc *a)
{
    memset(e, 0, sizeof(*e));
    e->req = req;
    e->s = s;
    e->outputs = outputs;
    if (s->forest_columns == 0) {
        return -1;
    }
    e->cols = fcodec_output_columns(s);
    e->row = a->alloc(a->ctx, e->cols * sizeof(float));
    if (e->row == NULL) {
        return -1;
    }
    if (req->class_count > 0) {
        e->k = req->class_count < e->cols ? req->class_count : e->cols;
        e->top = a->alloc(a->ctx, e->k * sizeof(uint32_t));
        if (e->top == NULL) {
            return -1;
        }
    }
    return 0;
}

uint8_t *
fcodec_error_body(const char *message, fcodec_alloc *a, size_t *len)
{
    fcodec_out o;

    fcodec_out_init(&o, a, 16 + 6 * strlen(message));
    fcodec_out_str(&o, "{\"error\":");
    fcodec_out_json_string(&o, message);
    fcodec_out_raw(&o, "}", 1);
    if (!o.ok) {
        return NULL;
    }
    *len = o.len;
    return o.buf;
}

char *
fcodec_json_string(const char *s, fcodec_alloc *a)
{
    fcodec_out o;

    fcodec_out_init(&o, a, 3 + 6 * strlen(s));
    fcodec_out_json_string(&o, s);
    fcodec_out_raw(&o, "", 1);
    return o.ok ? (char *) o.buf : NULL;
}
