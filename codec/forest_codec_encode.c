/*
 * Response bodies.  KServe:
 *   {"model_name":..,"model_version":..,"id":..,"outputs":[{"name":"output__0",
 *    "datatype":"FP32","shape":[N,C],"data":[flat values]}]}
 * or, with binary output, "parameters":{"binary_data_size":B} instead of
 * "data" and the B bytes after the JSON (whose length the caller sends as
 * Inference-Header-Content-Length).  The classification extension answers a
 * BYTES tensor [N,K] of "value:index" strings instead.  Asked for, the
 * outputs treeshap_output (FP32 [N,F+1] or [N,C,F+1], Triton FIL's layout)
 * and leaf_index (INT32 [N,T]) follow.  Simple API:
 *   {"predictions":[v, ...]} or {"predictions":[[v, ...], ...]}, then
 *   "contributions" and "leaf_index" (one entry per row) when asked.
 * JSON never carries NaN or Infinity: such a value is written as null.
 */
#include <string.h>

#include "forest_codec_internal.h"

/* Per served value: the longest float text (-1.17549435e-38) and a comma. */
#define FLOAT_TEXT_MAX  16

typedef struct {
    const fcodec_request *req;
    const fcodec_shape   *s;
    const float          *outputs;
    float                *row;            /* one served row */
    uint32_t              cols;
    uint32_t              k;              /* classification entries per row */
    uint32_t             *top;            /* k indices */
} encoder;

static const float *
served_row(encoder *e, size_t r)
{
    fcodec_shape_row(e->s, e->outputs + r * e->s->forest_columns, e->row);
    return e->row;
}

/* The tensor's values: JSON text after "data": or raw bytes. */
static void
tensor_fp32(encoder *e, fcodec_out *o, int binary)
{
    size_t      r;
    uint32_t    c, bits;
    const float *row;

    for (r = 0; r < e->req->n_rows; r++) {
        row = served_row(e, r);
        for (c = 0; c < e->cols; c++) {
            if (binary) {
                memcpy(&bits, &row[c], sizeof(bits));
                fcodec_out_le32(o, bits);
            } else {
                if (r + c > 0) {
                    fcodec_out_raw(o, ",", 1);
                }
                fcodec_out_float(o, row[c]);
            }
        }
    }
}

/* Classification strings: JSON string array items, or Triton's BYTES
 * serialisation (each string as a 4-byte little-endian length + bytes). */
static void
tensor_classes(encoder *e, fcodec_out *o, int binary)
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
tensor(encoder *e, fcodec_out *o, int binary)
{
    if (e->k > 0) {
        tensor_classes(e, o, binary);
    } else {
        tensor_fp32(e, o, binary);
    }
}

/* Contributions: FP32 [N, F+1] or [N, C, F+1]; leaf indices: INT32
 * [N, T].  JSON text, or raw little-endian bytes. */
static void
tensor_extra(const fcodec_request *req, unsigned which, fcodec_out *o,
    int binary)
{
    size_t   n, i;
    uint32_t bits;

    if (which == FCODEC_OUT_CONTRIBS) {
        n = req->n_rows * req->contrib_groups * req->contrib_width;
        for (i = 0; i < n; i++) {
            if (binary) {
                memcpy(&bits, &req->contribs[i], sizeof(bits));
                fcodec_out_le32(o, bits);
            } else {
                if (i > 0) {
                    fcodec_out_raw(o, ",", 1);
                }
                fcodec_out_float(o, req->contribs[i]);
            }
        }
        return;
    }
    n = req->n_rows * req->n_trees;
    for (i = 0; i < n; i++) {
        if (binary) {
            fcodec_out_le32(o, (uint32_t) req->leaves[i]);
        } else {
            if (i > 0) {
                fcodec_out_raw(o, ",", 1);
            }
            fcodec_out_uint(o, (uint64_t) req->leaves[i]);
        }
    }
}

/* One entry of "outputs": name, datatype and shape, then its values as
 * "data" or, binary, appended to bin with their size in "parameters". */
static void
output_begin(fcodec_out *o, int first, const char *name, const char *type,
    size_t rows, uint32_t d1, uint32_t d2)
{
    fcodec_out_str(o, first ? "{\"name\":\"" : ",{\"name\":\"");
    fcodec_out_str(o, name);
    fcodec_out_str(o, "\",\"datatype\":\"");
    fcodec_out_str(o, type);
    fcodec_out_str(o, "\",\"shape\":[");
    fcodec_out_uint(o, rows);
    if (d1 > 0) {
        fcodec_out_raw(o, ",", 1);
        fcodec_out_uint(o, d1);
    }
    fcodec_out_raw(o, ",", 1);
    fcodec_out_uint(o, d2);
}

static void
output_binary_size(fcodec_out *o, size_t before, const fcodec_out *bin)
{
    fcodec_out_str(o, "],\"parameters\":{\"binary_data_size\":");
    fcodec_out_uint(o, bin->len - before);
    fcodec_out_str(o, "}}");
}

static int
encode_kserve(encoder *e, const char *model_name, const char *version,
    fcodec_alloc *a, fcodec_response *out)
{
    const fcodec_request *req = e->req;
    size_t                values = req->n_rows * (e->k ? e->k : e->cols);
    size_t                per = e->k ? FCODEC_CLASS_TEXT_MAX + 4 : FLOAT_TEXT_MAX;
    size_t                extra = 0, before;
    unsigned              which;
    int                   first = 1, any_binary;
    fcodec_out            o, bin;

    if (req->extras & FCODEC_OUT_CONTRIBS) {
        extra += req->n_rows * req->contrib_groups * req->contrib_width;
    }
    if (req->extras & FCODEC_OUT_LEAVES) {
        extra += req->n_rows * req->n_trees;
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
    if (req->want_output) {
        output_begin(&o, first, "output__0", e->k ? "BYTES" : "FP32",
                     req->n_rows, 0, e->k ? e->k : e->cols);
        first = 0;
        if (req->binary_output) {
            before = bin.len;
            tensor(e, &bin, 1);
            output_binary_size(&o, before, &bin);
        } else {
            fcodec_out_str(&o, "],\"data\":[");
            tensor(e, &o, 0);
            fcodec_out_str(&o, "]}");
        }
    }
    for (which = FCODEC_OUT_CONTRIBS; which <= FCODEC_OUT_LEAVES;
         which <<= 1)
    {
        if (!(req->extras & which)) {
            continue;
        }
        if (which == FCODEC_OUT_CONTRIBS) {
            output_begin(&o, first, "treeshap_output", "FP32", req->n_rows,
                         req->contrib_groups > 1 ? req->contrib_groups : 0,
                         req->contrib_width);
        } else {
            output_begin(&o, first, "leaf_index", "INT32", req->n_rows, 0,
                         req->n_trees);
        }
        first = 0;
        if (req->extras_binary & which) {
            before = bin.len;
            tensor_extra(req, which, &bin, 1);
            output_binary_size(&o, before, &bin);
        } else {
            fcodec_out_str(&o, "],\"data\":[");
            tensor_extra(req, which, &o, 0);
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

/* ,"contributions":[[[...F+1], ...C] or [...F+1], ...] or
 * ,"leaf_index":[[...T], ...]: one entry per row */
static void
simple_extra(const fcodec_request *req, unsigned which, fcodec_out *o)
{
    size_t   r, per;
    uint32_t g, groups, width;

    if (which == FCODEC_OUT_CONTRIBS) {
        groups = req->contrib_groups;
        width = req->contrib_width;
        fcodec_out_str(o, ",\"contributions\":[");
    } else {
        groups = 1;
        width = req->n_trees;
        fcodec_out_str(o, ",\"leaf_index\":[");
    }
    per = (size_t) groups * width;
    for (r = 0; r < req->n_rows; r++) {
        fcodec_out_str(o, r > 0 ? ",[" : "[");
        for (g = 0; g < groups; g++) {
            fcodec_request one = *req;

            if (groups > 1) {
                fcodec_out_str(o, g > 0 ? ",[" : "[");
            }
            one.n_rows = 1;
            one.contrib_groups = 1;
            one.contribs = req->contribs ? req->contribs + r * per
                                           + (size_t) g * width : NULL;
            one.leaves = req->leaves ? req->leaves + r * per : NULL;
            tensor_extra(&one, which, o, 0);
            if (groups > 1) {
                fcodec_out_raw(o, "]", 1);
            }
        }
        fcodec_out_raw(o, "]", 1);
    }
    fcodec_out_raw(o, "]", 1);
}

static int
encode_simple(encoder *e, fcodec_alloc *a, fcodec_response *out)
{
    size_t       r;
    uint32_t     c;
    const float *row;
    fcodec_out   o;

    fcodec_out_init(&o, a, 64 + e->req->n_rows * (e->cols * FLOAT_TEXT_MAX + 2)
                           + e->req->n_rows * FLOAT_TEXT_MAX
                             * ((e->req->extras & FCODEC_OUT_CONTRIBS
                                 ? e->req->contrib_groups
                                   * e->req->contrib_width : 0)
                                + (e->req->extras & FCODEC_OUT_LEAVES
                                   ? e->req->n_trees : 0)));
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
    if (e->req->extras & FCODEC_OUT_CONTRIBS) {
        simple_extra(e->req, FCODEC_OUT_CONTRIBS, &o);
    }
    if (e->req->extras & FCODEC_OUT_LEAVES) {
        simple_extra(e->req, FCODEC_OUT_LEAVES, &o);
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
    encoder e = { .req = req, .s = s, .outputs = outputs };

    if (s->forest_columns == 0) {
        return -1;
    }
    e.cols = fcodec_output_columns(s);
    e.row = a->alloc(a->ctx, e.cols * sizeof(float));
    if (e.row == NULL) {
        return -1;
    }
    out->json_len = FCODEC_NO_LEN;
    if (api == FCODEC_SIMPLE) {
        return encode_simple(&e, a, out);
    }
    if (req->class_count > 0) {
        e.k = req->class_count < e.cols ? req->class_count : e.cols;
        e.top = a->alloc(a->ctx, e.k * sizeof(uint32_t));
        if (e.top == NULL) {
            return -1;
        }
    }
    return encode_kserve(&e, model_name, version, a, out);
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
