/*
 * Response bodies.  KServe:
 *   {"model_name":..,"model_version":..,"id":..,"outputs":[{"name":"output__0",
 *    "datatype":"FP32","shape":[N,C],"data":[flat values]}]}
 * or, with binary output, "parameters":{"binary_data_size":B} instead of
 * "data" and the B bytes after the JSON (whose length the caller sends as
 * Inference-Header-Content-Length).  The classification extension answers a
 * BYTES tensor [N,K] of "value:index" strings instead.  Simple API:
 *   {"predictions":[v, ...]} or {"predictions":[[v, ...], ...]}.
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

static int
encode_kserve(encoder *e, const char *model_name, const char *version,
    fcodec_alloc *a, fcodec_response *out)
{
    const fcodec_request *req = e->req;
    size_t                values = req->n_rows * (e->k ? e->k : e->cols);
    size_t                per = e->k ? FCODEC_CLASS_TEXT_MAX + 4 : FLOAT_TEXT_MAX;
    fcodec_out            o, bin;

    fcodec_out_init(&o, a, 256 + 6 * (strlen(model_name) + strlen(version)
                           + (req->id ? strlen(req->id) : 0))
                           + (req->binary_output ? 0 : values * per));
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
        fcodec_out_str(&o, e->k ? "{\"name\":\"output__0\",\"datatype\":\"BYTES\""
                                : "{\"name\":\"output__0\",\"datatype\":\"FP32\"");
        fcodec_out_str(&o, ",\"shape\":[");
        fcodec_out_uint(&o, req->n_rows);
        fcodec_out_raw(&o, ",", 1);
        fcodec_out_uint(&o, e->k ? e->k : e->cols);
        if (req->binary_output) {
            fcodec_out_init(&bin, a, values * per);
            tensor(e, &bin, 1);
            fcodec_out_str(&o, "],\"parameters\":{\"binary_data_size\":");
            fcodec_out_uint(&o, bin.len);
            fcodec_out_str(&o, "}}]}");
            out->json_len = o.len;
            if (!bin.ok) {
                return -1;
            }
            fcodec_out_raw(&o, bin.buf, bin.len);
        } else {
            fcodec_out_str(&o, "],\"data\":[");
            tensor(e, &o, 0);
            fcodec_out_str(&o, "]}]}");
        }
    } else {
        fcodec_out_str(&o, "]}");
    }
    if (!o.ok) {
        return -1;
    }
    out->body = o.buf;
    out->len = o.len;
    out->content_type = req->binary_output && req->want_output
                        ? "application/octet-stream" : "application/json";
    return 0;
}

static int
encode_simple(encoder *e, fcodec_alloc *a, fcodec_response *out)
{
    size_t       r;
    uint32_t     c;
    const float *row;
    fcodec_out   o;

    fcodec_out_init(&o, a, 32 + e->req->n_rows * (e->cols * FLOAT_TEXT_MAX + 2));
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
    fcodec_out_str(&o, "]}");
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
