/*
 * inference.ModelInferRequest in, ModelInferResponse out:
 *   request:  1 model_name, 2 model_version, 3 id, 4 parameters,
 *             5 inputs {1 name, 2 datatype, 3 shape, 4 parameters,
 *                       5 contents {1 bool, 2 int, 3 int64, 4 uint,
 *                                   5 uint64, 6 fp32, 7 fp64, 8 bytes}},
 *             6 outputs {1 name, 2 parameters}, 7 raw_input_contents
 *   response: 1 model_name, 2 model_version, 3 id,
 *             5 outputs {1 name, 2 datatype, 3 shape}, 6 raw_output_contents
 * Fields may come in any order, so input__0 is checked once the whole
 * message has been read; unknown fields are skipped, a known field with
 * another wire type is an error.  Values convert to float32 as in the HTTP
 * codec (a typed field must be the one of the tensor's datatype, integers
 * must lie in the datatype's range).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "forest_codec_internal.h"
#include "forest_codec_grpc.h"

typedef struct {
    const fcodec_model *m;
    fcodec_alloc       *a;
    fcodec_request     *req;

    const uint8_t      *input;          /* the InferInputTensor */
    size_t              input_len;
    int                 n_inputs;
    const uint8_t      *raw;            /* raw_input_contents[0] */
    size_t              raw_len;
    int                 n_raw;

    /* input__0 */
    const fcodec_dtype *dtype;
    uint64_t            shape[FCODEC_MAX_DIMS];
    uint32_t            rank;
    const uint8_t      *contents;
    size_t              contents_len;
    int                 have_contents;
    size_t              n_vals, want_vals;
} grpc_infer;

/* the field of InferTensorContents that carries each datatype's values */
static const struct {
    const char *dtype;
    uint32_t    field;
} content_fields[] = {
    { "BOOL", 1 }, { "INT8", 2 }, { "INT16", 2 }, { "INT32", 2 },
    { "INT64", 3 }, { "UINT8", 4 }, { "UINT16", 4 }, { "UINT32", 4 },
    { "UINT64", 5 }, { "FP32", 6 }, { "FP64", 7 },
};

static const char *content_names[] = {
    "", "bool_contents", "int_contents", "int64_contents", "uint_contents",
    "uint64_contents", "fp32_contents", "fp64_contents", "bytes_contents"
};

static int
fail(grpc_infer *g, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(grpc_infer *g, int status, const char *fmt, ...)
{
    va_list ap;

    if (g->req->status == 0) {
        g->req->status = status;
        va_start(ap, fmt);
        vsnprintf(g->req->error, sizeof(g->req->error), fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int
wire(grpc_infer *g, const fcodec_pb_field *f, uint32_t want, const char *what)
{
    if (f->wire == want) {
        return 1;
    }
    return fail(g, 400, "malformed ModelInferRequest: %s (field %u) has wire "
                "type %s, not %s", what, f->field,
                fcodec_pb_wire_name(f->wire), fcodec_pb_wire_name(want));
}

static int
malformed(grpc_infer *g, const char *what, const char *why)
{
    return fail(g, 400, "malformed ModelInferRequest: %s: %s", what, why);
}

static int
is(const fcodec_pb_field *f, const char *s)
{
    return f->len == strlen(s) && memcmp(f->data, s, f->len) == 0;
}

/* ---- parameters (map<string, InferParameter>) --------------------------- */

/* One map entry: its key and InferParameter value (NULL when absent). */
static int
param_entry(grpc_infer *g, const fcodec_pb_field *e, fcodec_pb_field *key,
    fcodec_pb_field *value)
{
    fcodec_pb        pb;
    fcodec_pb_field  f;
    const char      *why = NULL;
    int              rc;

    key->data = NULL;
    key->len = 0;
    value->data = NULL;
    value->len = 0;
    fcodec_pb_init(&pb, e->data, e->len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (f.field == 1 || f.field == 2) {
            if (!wire(g, &f, FCODEC_PB_LEN, "a parameter")) {
                return 0;
            }
            *(f.field == 1 ? key : value) = f;
        }
    }
    return rc < 0 ? malformed(g, "a parameter", why) : 1;
}

/* InferParameter's int64_param (field 2) as a count up to limit */
static int
param_count(grpc_infer *g, const fcodec_pb_field *value, const char *what,
    uint64_t limit, uint64_t *out)
{
    fcodec_pb        pb;
    fcodec_pb_field  f;
    const char      *why = NULL;
    int              rc, have = 0;

    fcodec_pb_init(&pb, value->data, value->len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (f.field == 1 || f.field == 3) {
            have = -1;
        } else if (f.field == 2) {
            if (!wire(g, &f, FCODEC_PB_VARINT, what)) {
                return 0;
            }
            have = 1;
            *out = f.v;
        }
    }
    if (rc < 0) {
        return malformed(g, what, why);
    }
    if (have != 1 || (int64_t) *out < 0 || *out > limit) {
        return fail(g, 400, "%s must be an int64_param from 0 to %llu", what,
                    (unsigned long long) limit);
    }
    return 1;
}

static int
shared_memory(grpc_infer *g, const fcodec_pb_field *key)
{
    if (key->len >= 13 && memcmp(key->data, "shared_memory", 13) == 0) {
        return fail(g, 400, "shared memory tensors are not supported; send "
                    "the data in the request");
    }
    return 1;
}

/* ---- members ------------------------------------------------------------ */

static int
output(grpc_infer *g, const fcodec_pb_field *o)
{
    fcodec_pb        pb;
    fcodec_pb_field  f, key, value;
    const char      *why = NULL;
    int              rc, named = 0;
    uint64_t         k = 0;

    fcodec_pb_init(&pb, o->data, o->len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (f.field == 1) {
            if (!wire(g, &f, FCODEC_PB_LEN, "an output's name")) {
                return 0;
            }
            if (!is(&f, "output__0")) {
                return fail(g, 400, "unknown output \"%.*s\": model %s has "
                            "one output, output__0", fcodec_shown(f.len),
                            (const char *) f.data, g->m->name);
            }
            named = 1;
        } else if (f.field == 2) {
            if (!wire(g, &f, FCODEC_PB_LEN, "an output parameter")
                || !param_entry(g, &f, &key, &value)
                || !shared_memory(g, &key))
            {
                return 0;
            }
            if (key.data != NULL && is(&key, "classification")) {
                if (!param_count(g, &value, "output__0 parameter "
                                 "\"classification\"", UINT32_MAX, &k))
                {
                    return 0;
                }
                g->req->class_count = (uint32_t) k;
            }
        }
    }
    if (rc < 0) {
        return malformed(g, "an output", why);
    }
    if (!named) {
        return fail(g, 400, "an entry of outputs has no name");
    }
    g->req->outputs_listed = 1;
    return 1;
}

static void
add_dim(grpc_infer *g, uint64_t dim)
{
    if (g->rank < FCODEC_MAX_DIMS) {
        g->shape[g->rank] = dim;
    }
    g->rank++;
}

/* InferInputTensor: the fields, kept for input_done() */
static int
input(grpc_infer *g)
{
    fcodec_pb        pb;
    fcodec_pb_field  f, key, value;
    const char      *why = NULL;
    int              rc, named = 0, typed = 0;
    uint64_t         dim;
    const uint8_t   *p;
    size_t           used;

    fcodec_pb_init(&pb, g->input, g->input_len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        switch (f.field) {
        case 1:
            if (!wire(g, &f, FCODEC_PB_LEN, "the input's name")) {
                return 0;
            }
            if (!is(&f, "input__0")) {
                return fail(g, 400, "unknown input \"%.*s\": model %s has "
                            "one input, input__0", fcodec_shown(f.len),
                            (const char *) f.data, g->m->name);
            }
            named = 1;
            break;
        case 2:
            if (!wire(g, &f, FCODEC_PB_LEN, "the input's datatype")) {
                return 0;
            }
            g->dtype = fcodec_dtype_find((const char *) f.data, f.len);
            if (g->dtype == NULL || g->dtype->size == 0) {
                return fail(g, 400, "input__0 datatype \"%.*s\" is not "
                            "supported: send FP32, FP64, FP16, BF16, an "
                            "integer type or BOOL", fcodec_shown(f.len),
                            (const char *) f.data);
            }
            typed = 1;
            break;
        case 3:
            if (f.wire == FCODEC_PB_VARINT) {
                add_dim(g, f.v);
                break;
            }
            if (!wire(g, &f, FCODEC_PB_LEN, "the input's shape")) {
                return 0;
            }
            for (p = f.data; p < f.data + f.len; p += used) {
                used = fcodec_pb_varint(p, f.data + f.len, &dim);
                if (used == 0) {
                    return malformed(g, "the input's shape",
                                     "a varint is truncated");
                }
                add_dim(g, dim);
            }
            break;
        case 4:
            if (!wire(g, &f, FCODEC_PB_LEN, "an input parameter")
                || !param_entry(g, &f, &key, &value)
                || !shared_memory(g, &key))
            {
                return 0;
            }
            break;
        case 5:
            if (!wire(g, &f, FCODEC_PB_LEN, "the input's contents")) {
                return 0;
            }
            g->contents = f.data;
            g->contents_len = f.len;
            g->have_contents = 1;
            break;
        }
    }
    if (rc < 0) {
        return malformed(g, "the input", why);
    }
    if (!named) {
        return fail(g, 400, "the input has no name; model %s takes input__0",
                    g->m->name);
    }
    if (!typed) {
        return fail(g, 400, "input__0 has no datatype");
    }
    return 1;
}

static int
check_shape(grpc_infer *g)
{
    const fcodec_model *m = g->m;
    char                text[96];
    size_t              at = 0;
    uint32_t            i;

    at += snprintf(text, sizeof(text), "[");
    for (i = 0; i < g->rank && i < FCODEC_MAX_DIMS; i++) {
        at += snprintf(text + at, sizeof(text) - at, "%s%lld", i ? "," : "",
                       (long long) g->shape[i]);
    }
    snprintf(text + at, sizeof(text) - at, "%s]",
             g->rank > FCODEC_MAX_DIMS ? ",..." : "");

    if (g->rank != 2) {
        return fail(g, 400, "input__0 shape %s must have two dimensions: "
                    "[rows, %u]", text, m->n_features);
    }
    if (g->shape[1] != m->n_features) {
        return fail(g, 400, "input__0 shape %s: model %s expects %u features",
                    text, m->name, m->n_features);
    }
    if (g->shape[0] == 0) {
        return fail(g, 400, "input__0 shape %s holds no rows", text);
    }
    if (g->shape[0] > m->max_rows) {
        return fail(g, 413, "input__0 has %llu rows; model %s takes at most "
                    "%zu per request", (unsigned long long) g->shape[0],
                    m->name, m->max_rows);
    }
    g->want_vals = (size_t) g->shape[0] * m->n_features;
    return 1;
}

/* The rows, once the message is known to hold their values: a small
 * message must not make a large allocation by claiming a large shape. */
static int
alloc_rows(grpc_infer *g)
{
    g->req->rows = g->a->alloc(g->a->ctx, g->want_vals * sizeof(float));
    if (g->req->rows == NULL) {
        return fail(g, 500, "out of memory for %zu values", g->want_vals);
    }
    return 1;
}

/* ---- values ------------------------------------------------------------- */

static float
f32_of(uint64_t bits)
{
    uint32_t b = (uint32_t) bits;
    float    v;

    memcpy(&v, &b, sizeof(v));
    return v;
}

static float
f64_of(uint64_t bits)
{
    double d;

    memcpy(&d, &bits, sizeof(d));
    return isnan(d) ? NAN : fcodec_to_float(d);
}

/* One element of content field cf, checked against the datatype's range. */
static int
push(grpc_infer *g, uint32_t cf, uint64_t v)
{
    const fcodec_dtype *dt = g->dtype;
    double              d;
    float               x;

    if (g->n_vals == g->want_vals) {
        return fail(g, 400, "input__0 %s holds more than the %zu values of "
                    "its shape", content_names[cf], g->want_vals);
    }
    switch (cf) {
    case 1:
        x = v != 0;
        break;
    case 2:
    case 4:
        d = cf == 2 ? (double) (int32_t) (uint32_t) v
                    : (double) (uint32_t) v;
        if (d < dt->min || d > dt->max) {
            return fail(g, 400, "input__0 is %s but its data holds %.0f, "
                        "outside the type's range", dt->name, d);
        }
        x = (float) d;
        break;
    case 3:
        x = (float) (int64_t) v;
        break;
    case 5:
        x = (float) v;
        break;
    case 6:
        x = f32_of(v);
        break;
    default:
        x = f64_of(v);
        break;
    }
    g->req->rows[g->n_vals++] = x;
    return 1;
}

/* Every element of one occurrence of content field cf, packed or not. */
static int
push_field(grpc_infer *g, const fcodec_pb_field *f, uint32_t elem_wire)
{
    const uint8_t *p, *end;
    uint64_t       v;
    size_t         used, size, i;

    if (f->wire == elem_wire) {
        return push(g, f->field, f->v);
    }
    if (!wire(g, f, FCODEC_PB_LEN, content_names[f->field])) {
        return 0;
    }
    end = f->data + f->len;
    if (elem_wire == FCODEC_PB_VARINT) {
        for (p = f->data; p < end; p += used) {
            used = fcodec_pb_varint(p, end, &v);
            if (used == 0) {
                return malformed(g, content_names[f->field],
                                 "a varint is truncated");
            }
            if (!push(g, f->field, v)) {
                return 0;
            }
        }
        return 1;
    }
    size = elem_wire == FCODEC_PB_I32 ? 4 : 8;
    if (f->len % size != 0) {
        return malformed(g, content_names[f->field],
                         "packed fixed-size values end mid-value");
    }
    for (p = f->data; p < end; p += size) {
        for (v = 0, i = size; i > 0; i--) {
            v = v << 8 | p[i - 1];
        }
        if (!push(g, f->field, v)) {
            return 0;
        }
    }
    return 1;
}

static int
typed_contents(grpc_infer *g)
{
    fcodec_pb        pb;
    fcodec_pb_field  f;
    const char      *why = NULL;
    uint32_t         want = 0;
    size_t           i;
    int              rc;

    for (i = 0; i < sizeof(content_fields) / sizeof(content_fields[0]); i++) {
        if (strcmp(content_fields[i].dtype, g->dtype->name) == 0) {
            want = content_fields[i].field;
        }
    }
    fcodec_pb_init(&pb, g->contents, g->contents_len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (f.field < 1 || f.field > 8) {
            continue;
        }
        if (f.field != want) {
            if (want == 0) {
                return fail(g, 400, "input__0 is %s, which has no typed "
                            "contents field: send it in raw_input_contents",
                            g->dtype->name);
            }
            return fail(g, 400, "input__0 is %s but its contents hold %s; "
                        "send %s", g->dtype->name, content_names[f.field],
                        content_names[want]);
        }
        if (!push_field(g, &f, f.field == 6 ? FCODEC_PB_I32
                               : f.field == 7 ? FCODEC_PB_I64
                               : FCODEC_PB_VARINT))
        {
            return 0;
        }
    }
    if (rc < 0) {
        return malformed(g, "the input's contents", why);
    }
    return 1;
}

static int
raw_contents(grpc_infer *g)
{
    const fcodec_dtype *dt = g->dtype;
    uint64_t            need = (uint64_t) g->want_vals * dt->size;
    size_t              i;

    if (g->n_raw != 1) {
        return fail(g, 400, "the request has %d raw_input_contents; model %s "
                    "has one input", g->n_raw, g->m->name);
    }
    if (g->raw_len != need) {
        return fail(g, 400, "input__0 raw_input_contents holds %zu bytes but "
                    "shape [%llu,%u] of %s takes %llu", g->raw_len,
                    (unsigned long long) g->shape[0], g->m->n_features,
                    dt->name, (unsigned long long) need);
    }
    if (!alloc_rows(g)) {
        return 0;
    }
    for (i = 0; i < g->want_vals; i++) {
        g->req->rows[i] = dt->load(g->raw + i * dt->size);
    }
    g->n_vals = g->want_vals;
    return 1;
}

static int
input_done(grpc_infer *g)
{
    if (g->n_inputs == 0) {
        return fail(g, 400, "the request has no inputs; model %s takes "
                    "input__0", g->m->name);
    }
    if (!input(g) || !check_shape(g)) {
        return 0;
    }
    if (g->n_raw > 0 && g->have_contents) {
        return fail(g, 400, "input__0 has contents and the request has "
                    "raw_input_contents; send one of them");
    }
    if (g->n_raw > 0) {
        return raw_contents(g);
    }
    if (!g->have_contents) {
        return fail(g, 400, "input__0 has neither contents nor "
                    "raw_input_contents");
    }
    /* every value takes at least a byte */
    if (g->want_vals > g->contents_len) {
        return fail(g, 400, "input__0 shape [%llu,%u] has %zu values; its "
                    "contents hold at most %zu", (unsigned long long)
                    g->shape[0], g->m->n_features, g->want_vals,
                    g->contents_len);
    }
    if (!alloc_rows(g) || !typed_contents(g)) {
        return 0;
    }
    if (g->n_vals != g->want_vals) {
        return fail(g, 400, "input__0 shape [%llu,%u] has %zu values, got "
                    "%zu", (unsigned long long) g->shape[0],
                    g->m->n_features, g->want_vals, g->n_vals);
    }
    return 1;
}

static int
request_field(grpc_infer *g, const fcodec_pb_field *f)
{
    fcodec_pb_field key, value;

    switch (f->field) {
    case 1:
    case 2:
        return wire(g, f, FCODEC_PB_LEN, f->field == 1 ? "model_name"
                                                        : "model_version");
    case 3:
        if (!wire(g, f, FCODEC_PB_LEN, "id")) {
            return 0;
        }
        if (memchr(f->data, '\0', f->len) != NULL) {
            return fail(g, 400, "the id must be a string without NUL");
        }
        g->req->id = g->a->alloc(g->a->ctx, f->len + 1);
        if (g->req->id == NULL) {
            return fail(g, 500, "out of memory for the id");
        }
        memcpy(g->req->id, f->data, f->len);
        g->req->id[f->len] = '\0';
        return 1;
    case 4:
        return wire(g, f, FCODEC_PB_LEN, "parameters")
               && param_entry(g, f, &key, &value);
    case 5:
        if (!wire(g, f, FCODEC_PB_LEN, "inputs")) {
            return 0;
        }
        if (++g->n_inputs > 1) {
            return fail(g, 400, "model %s has one input, input__0; the "
                        "request has more", g->m->name);
        }
        g->input = f->data;
        g->input_len = f->len;
        return 1;
    case 6:
        return wire(g, f, FCODEC_PB_LEN, "outputs") && output(g, f);
    case 7:
        if (!wire(g, f, FCODEC_PB_LEN, "raw_input_contents")) {
            return 0;
        }
        if (g->n_raw++ == 0) {
            g->raw = f->data;
            g->raw_len = f->len;
        }
        return 1;
    default:
        return 1;
    }
}

void
fcodec_grpc_infer_decode(const uint8_t *msg, size_t len,
    const fcodec_model *m, fcodec_alloc *a, fcodec_request *req)
{
    grpc_infer       g;
    fcodec_pb        pb;
    fcodec_pb_field  f;
    const char      *why = NULL;
    int              rc;

    memset(req, 0, sizeof(*req));
    memset(&g, 0, sizeof(g));
    g.m = m;
    g.a = a;
    g.req = req;

    fcodec_pb_init(&pb, msg, len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (!request_field(&g, &f)) {
            break;
        }
    }
    if (rc < 0) {
        malformed(&g, "the message", why);
    }
    if (req->status == 0 && input_done(&g)) {
        req->n_rows = (size_t) g.shape[0];
        req->input_name = "input__0";
        req->want_output = 1;
        return;
    }
    req->rows = NULL;
    req->n_rows = 0;
}

/* ---- response ----------------------------------------------------------- */

int
fcodec_grpc_infer_encode(const fcodec_request *req, const fcodec_shape *s,
    const char *model_name, const char *version, const float *outputs,
    fcodec_alloc *a, fcodec_response *out)
{
    fcodec_pbw   w, t;
    fcodec_out   bytes;
    uint32_t     cols, k = 0, j, c, bits, *top = NULL;
    int64_t      shape[2];
    size_t       r, n;
    float       *row;
    uint8_t     *at;
    char         text[FCODEC_CLASS_TEXT_MAX];

    if (s->forest_columns == 0) {
        return -1;
    }
    cols = fcodec_output_columns(s);
    row = a->alloc(a->ctx, cols * sizeof(float));
    if (row == NULL) {
        return -1;
    }
    if (req->class_count > 0) {
        k = req->class_count < cols ? req->class_count : cols;
        top = a->alloc(a->ctx, k * sizeof(uint32_t));
        if (top == NULL) {
            return -1;
        }
    }

    fcodec_pbw_init(&w, a, 128 + strlen(model_name) + strlen(version)
                           + (req->id ? strlen(req->id) : 0)
                           + req->n_rows * cols * 4, 1);
    fcodec_pbw_str(&w, 1, model_name);
    fcodec_pbw_str(&w, 2, version);
    if (req->id != NULL && req->id[0] != '\0') {
        fcodec_pbw_str(&w, 3, req->id);
    }

    shape[0] = (int64_t) req->n_rows;
    shape[1] = k ? k : cols;
    fcodec_pbw_init(&t, a, 64, 0);
    fcodec_pbw_str(&t, 1, "output__0");
    fcodec_pbw_str(&t, 2, k ? "BYTES" : "FP32");
    fcodec_pbw_packed(&t, 3, shape, 2);
    fcodec_pbw_msg(&w, 5, &t);

    if (k == 0) {
        n = req->n_rows * cols * 4;
        fcodec_pbw_len_header(&w, 6, n);
        at = fcodec_pbw_reserve(&w, n);
        if (at == NULL) {
            return -1;
        }
        for (r = 0; r < req->n_rows; r++) {
            fcodec_shape_row(s, outputs + r * s->forest_columns, row);
            for (c = 0; c < cols; c++, at += 4) {
                memcpy(&bits, &row[c], 4);
                at[0] = (uint8_t) bits;
                at[1] = (uint8_t) (bits >> 8);
                at[2] = (uint8_t) (bits >> 16);
                at[3] = (uint8_t) (bits >> 24);
            }
        }
        w.out.len += n;
    } else {
        /* Triton's BYTES layout: a 4-byte little-endian length per string */
        fcodec_out_init(&bytes, a, req->n_rows * k * 16);
        for (r = 0; r < req->n_rows; r++) {
            fcodec_shape_row(s, outputs + r * s->forest_columns, row);
            fcodec_class_top(row, cols, k, top);
            for (j = 0; j < k; j++) {
                n = fcodec_class_text(text, row[top[j]], top[j]);
                fcodec_out_le32(&bytes, (uint32_t) n);
                fcodec_out_raw(&bytes, text, n);
            }
        }
        if (!bytes.ok) {
            return -1;
        }
        fcodec_pbw_bytes(&w, 6, bytes.buf, bytes.len);
    }

    if (fcodec_pbw_frame(&w) != 0) {
        return -1;
    }
    out->body = w.out.buf;
    out->len = w.out.len;
    out->json_len = FCODEC_NO_LEN;
    out->content_type = "application/grpc";
    return 0;
}
