/*
 * inference.ModelInferRequest in, ModelInferResponse out:
 *   request:  1 model_name, 2 model_version, 3 id, 4 parameters,
 *             5 inputs {1 name, 2 datatype, 3 shape, 4 parameters,
 *                       5 contents {1 bool, 2 int, 3 int64, 4 uint,
 *                                   5 uint64, 6 fp32, 7 fp64, 8 bytes}},
 *             6 outputs {1 name, 2 parameters}, 7 raw_input_contents
 *   response: 1 model_name, 2 model_version, 3 id,
 *             5 outputs {1 name, 2 datatype, 3 shape}, 6 raw_output_contents
 * The outputs are those the request lists (output__0, treeshap_output,
 * leaf_index; output__0 alone when it lists none), in its order, each with
 * its raw_output_contents as Triton answers; InferParameter options
 * (predict_proba, output_margin/raw_score: bool_param; classification on
 * output__0: int64_param) are the HTTP codec's members.
 * The inputs are input__0 (any numeric datatype, or BYTES holding category
 * names and numbers as text for a model with category names) and the
 * optional base_margin (FP32 or FP64, [N] or [N, C]); raw_input_contents,
 * when used, hold every input's values in the inputs' order (BYTES as
 * Triton serialises it: a 4-byte little-endian length before each string).
 * Fields may come in any order, so the inputs are checked once the whole
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

/* One InferInputTensor: input__0 or base_margin. */
typedef struct {
    const uint8_t      *msg;
    size_t              len;
    int                 bm;             /* base_margin */
    const fcodec_dtype *dtype;
    uint64_t            shape[FCODEC_MAX_DIMS];
    uint32_t            rank;
    const uint8_t      *contents;
    size_t              contents_len;
    int                 have_contents;
    const uint8_t      *raw;            /* its raw_input_contents */
    size_t              raw_len;
} grpc_tensor;

/* At most this many raw_input_contents are kept: one per input. */
#define GRPC_MAX_INPUTS  2

typedef struct {
    const fcodec_model *m;
    fcodec_alloc       *a;
    fcodec_request     *req;

    grpc_tensor         in[GRPC_MAX_INPUTS];
    int                 n_inputs;
    const uint8_t      *raw[GRPC_MAX_INPUTS];
    size_t              raw_len[GRPC_MAX_INPUTS];
    int                 n_raw;

    /* the tensor whose values are being read, and where they go */
    const grpc_tensor  *t;
    const char         *what;           /* "input__0" or "base_margin" */
    float              *dst;
    size_t              n_vals, want_vals;
    size_t              n_rows;
} grpc_infer;

/* the field of InferTensorContents that carries each datatype's values */
static const struct {
    const char *dtype;
    uint32_t    field;
} content_fields[] = {
    { "BOOL", 1 }, { "INT8", 2 }, { "INT16", 2 }, { "INT32", 2 },
    { "INT64", 3 }, { "UINT8", 4 }, { "UINT16", 4 }, { "UINT32", 4 },
    { "UINT64", 5 }, { "FP32", 6 }, { "FP64", 7 }, { "BYTES", 8 },
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

/* InferParameter's oneof: 1 bool_param, 2 int64_param, 3 string_param,
 * 4 double_param, 5 uint64_param */
static const char *param_kinds[] = {
    "empty", "a bool_param", "an int64_param", "a string_param",
    "a double_param", "a uint64_param"
};

/* The InferParameter's value, which must be the varint choice want (the
 * last choice set counts, as protobuf reads a oneof). */
static int
param_value(grpc_infer *g, const fcodec_pb_field *value, const char *what,
    uint32_t want, uint64_t *out)
{
    fcodec_pb        pb;
    fcodec_pb_field  f;
    const char      *why = NULL;
    int              rc;
    uint32_t         have = 0;

    fcodec_pb_init(&pb, value->data, value->len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (f.field < 1 || f.field > 5) {
            continue;
        }
        have = f.field;
        if (f.field == want) {
            if (!wire(g, &f, FCODEC_PB_VARINT, what)) {
                return 0;
            }
            *out = f.v;
        }
    }
    if (rc < 0) {
        return malformed(g, what, why);
    }
    if (have != want) {
        return fail(g, 400, "%s is %s; it must be %s", what,
                    param_kinds[have], want == 1
                    ? "a bool_param (true or false)" : param_kinds[want]);
    }
    return 1;
}

/* InferParameter's int64_param as a count up to limit */
static int
param_count(grpc_infer *g, const fcodec_pb_field *value, const char *what,
    uint64_t limit, uint64_t *out)
{
    if (!param_value(g, value, what, 2, out)) {
        return 0;
    }
    if ((int64_t) *out < 0 || *out > limit) {
        return fail(g, 400, "%s must be an int64_param from 0 to %llu", what,
                    (unsigned long long) limit);
    }
    return 1;
}

/* predict_proba and output_margin (raw_score), of the request or
 * input__0, as the HTTP codec takes them: a bool_param each */
static int
option(grpc_infer *g, const fcodec_pb_field *key,
    const fcodec_pb_field *value)
{
    int         *opt;
    uint64_t     on = 0;
    const char  *what;

    if (key->data == NULL) {
        return 1;
    }
    if (is(key, "predict_proba")) {
        opt = &g->req->opt_predict_proba;
        what = "parameter \"predict_proba\"";
    } else if (is(key, "output_margin") || is(key, "raw_score")) {
        opt = &g->req->opt_margin;
        what = "parameter \"output_margin\"";
    } else {
        return 1;
    }
    if (!param_value(g, value, what, 1, &on)) {
        return 0;
    }
    *opt = on ? FCODEC_OPT_ON : FCODEC_OPT_OFF;
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
    int              rc, which = -1;
    uint64_t         k = 0;
    uint8_t          i;
    char             err[sizeof(g->req->error)];

    fcodec_pb_init(&pb, o->data, o->len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (f.field == 1) {
            if (!wire(g, &f, FCODEC_PB_LEN, "an output's name")) {
                return 0;
            }
            which = fcodec_output_find(g->m, (const char *) f.data, f.len,
                                       err, sizeof(err));
            if (which < 0) {
                return fail(g, 400, "%s", err);
            }
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
            }
        }
    }
    if (rc < 0) {
        return malformed(g, "an output", why);
    }
    if (which < 0) {
        return fail(g, 400, "an entry of outputs has no name");
    }
    if (which == FCODEC_OUT_MAIN) {
        g->req->class_count = (uint32_t) k;
        g->req->want_output = 1;
    } else if (k > 0) {
        return fail(g, 400, "parameter \"classification\" applies to "
                    "output__0 only");
    }
    g->req->outputs_listed = 1;
    g->req->extras |= (unsigned) which;
    for (i = 0; i < g->req->n_order; i++) {
        if (g->req->order[i] == which) {
            return 1;
        }
    }
    if (g->req->n_order < sizeof(g->req->order)) {
        g->req->order[g->req->n_order++] = (uint8_t) which;
    }
    return 1;
}

static void
add_dim(grpc_tensor *t, uint64_t dim)
{
    if (t->rank < FCODEC_MAX_DIMS) {
        t->shape[t->rank] = dim;
    }
    t->rank++;
}

static void
shape_text(const grpc_tensor *t, char *text, size_t size)
{
    fcodec_shape_text(t->shape, t->rank, text, size);
}

/* The datatype a tensor may have: input__0 any numeric type, or BYTES for
 * a model with category names; base_margin FP32 or FP64. */
static int
datatype(grpc_infer *g, grpc_tensor *t, const fcodec_pb_field *f)
{
    t->dtype = fcodec_dtype_find((const char *) f->data, f->len);
    if (t->bm) {
        if (t->dtype == NULL || (strcmp(t->dtype->name, "FP32") != 0
                                 && strcmp(t->dtype->name, "FP64") != 0))
        {
            return fail(g, 400, "base_margin datatype must be FP32 or FP64");
        }
        return 1;
    }
    if (t->dtype == NULL || (t->dtype->size == 0 && g->m->category == NULL)) {
        return fail(g, 400, "input__0 datatype \"%.*s\" is not supported: "
                    "send FP32, FP64, FP16, BF16, an integer type or BOOL",
                    fcodec_shown(f->len), (const char *) f->data);
    }
    return 1;
}

/* InferInputTensor: the fields, kept for input_done().  Its name first,
 * wherever it lies in the message: it says what the other fields are. */
static int
input_name(grpc_infer *g, grpc_tensor *t)
{
    fcodec_pb        pb;
    fcodec_pb_field  f;
    const char      *why = NULL;
    int              rc, named = 0;

    fcodec_pb_init(&pb, t->msg, t->len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (f.field != 1) {
            continue;
        }
        if (!wire(g, &f, FCODEC_PB_LEN, "the input's name")) {
            return 0;
        }
        /* a repeated name: the last one counts, as protobuf reads it */
        t->bm = is(&f, "base_margin");
        if (t->bm) {
            if (g->m->n_margins == 0) {
                return fail(g, 400, "model %s takes no base_margin",
                            g->m->name);
            }
        } else if (!is(&f, "input__0")) {
            return fail(g, 400, "unknown input \"%.*s\": model %s has the "
                        "inputs input__0 and base_margin",
                        fcodec_shown(f.len), (const char *) f.data,
                        g->m->name);
        }
        named = 1;
    }
    if (rc < 0) {
        return malformed(g, "the input", why);
    }
    if (!named) {
        return fail(g, 400, "an input has no name; model %s takes input__0 "
                    "and base_margin", g->m->name);
    }
    return 1;
}

static int
input(grpc_infer *g, grpc_tensor *t)
{
    fcodec_pb        pb;
    fcodec_pb_field  f, key, value;
    const char      *why = NULL;
    int              rc, typed = 0;
    uint64_t         dim;
    const uint8_t   *p;
    size_t           used;

    if (!input_name(g, t)) {
        return 0;
    }
    fcodec_pb_init(&pb, t->msg, t->len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        switch (f.field) {
        case 2:
            if (!wire(g, &f, FCODEC_PB_LEN, "the input's datatype")
                || !datatype(g, t, &f))
            {
                return 0;
            }
            typed = 1;
            break;
        case 3:
            if (f.wire == FCODEC_PB_VARINT) {
                add_dim(t, f.v);
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
                add_dim(t, dim);
            }
            break;
        case 4:
            if (!wire(g, &f, FCODEC_PB_LEN, "an input parameter")
                || !param_entry(g, &f, &key, &value)
                || !shared_memory(g, &key)
                || (!t->bm && !option(g, &key, &value)))
            {
                return 0;
            }
            break;
        case 5:
            if (!wire(g, &f, FCODEC_PB_LEN, "the input's contents")) {
                return 0;
            }
            t->contents = f.data;
            t->contents_len = f.len;
            t->have_contents = 1;
            break;
        }
    }
    if (rc < 0) {
        return malformed(g, "the input", why);
    }
    if (!typed) {
        return fail(g, 400, "%s has no datatype",
                    t->bm ? "base_margin" : "input__0");
    }
    return 1;
}

static int
check_shape(grpc_infer *g, const grpc_tensor *t)
{
    const fcodec_model *m = g->m;
    char                err[sizeof(g->req->error)];

    if (!fcodec_shape_fits(t->shape, t->rank, m, err, sizeof(err))) {
        return fail(g, 400, "%s", err);
    }
    if (t->shape[0] > m->max_rows) {
        return fail(g, 413, "input__0 has %llu rows; model %s takes at most "
                    "%zu per request", (unsigned long long) t->shape[0],
                    m->name, m->max_rows);
    }
    g->n_rows = (size_t) t->shape[0];
    return 1;
}

/* The values, once the message is known to hold them: a small message
 * must not make a large allocation by claiming a large shape. */
static int
alloc_values(grpc_infer *g)
{
    g->dst = g->a->alloc(g->a->ctx, g->want_vals * sizeof(float));
    if (g->dst == NULL) {
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

static int
too_many(grpc_infer *g, const char *where)
{
    return fail(g, 400, "%s %s holds more than the %zu values of its shape",
                g->what, where, g->want_vals);
}

/* One element of content field cf, checked against the datatype's range. */
static int
push(grpc_infer *g, uint32_t cf, uint64_t v)
{
    const fcodec_dtype *dt = g->t->dtype;
    double              d;
    float               x;

    if (g->n_vals == g->want_vals) {
        return too_many(g, content_names[cf]);
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
    g->dst[g->n_vals++] = x;
    return 1;
}

/* One string of a BYTES input__0 (bytes_contents or raw): a category name
 * or a number, as the HTTP codec takes them. */
static int
push_text(void *ctx, size_t index, const uint8_t *s, uint32_t len)
{
    grpc_infer *g = ctx;
    uint32_t    nf = g->m->n_features;
    char        err[sizeof(g->req->error)];

    if (index >= g->want_vals) {
        return too_many(g, g->t->raw != NULL ? "raw_input_contents"
                                             : "bytes_contents");
    }
    if (fcodec_text_cell(g->m, index / nf, (uint32_t) (index % nf),
                         (const char *) s, len, FCODEC_CELL_BINARY,
                         &g->dst[index], err,
                         sizeof(err)) == 0)
    {
        return fail(g, 400, "%s", err);
    }
    g->n_vals = index + 1;
    return 1;
}

/* Every element of one occurrence of content field cf, packed or not. */
static int
push_field(grpc_infer *g, const fcodec_pb_field *f, uint32_t elem_wire)
{
    const uint8_t *p, *end;
    uint64_t       v;
    size_t         used, size, i;

    if (f->field == 8) {
        /* one string a field */
        if (!wire(g, f, FCODEC_PB_LEN, content_names[8])) {
            return 0;
        }
        if (f->len > UINT32_MAX) {
            return fail(g, 400, "input__0 bytes_contents: string %zu is "
                        "longer than 4 GiB", g->n_vals);
        }
        return push_text(g, g->n_vals, f->data, (uint32_t) f->len);
    }
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
    const grpc_tensor *t = g->t;
    fcodec_pb          pb;
    fcodec_pb_field    f;
    const char        *why = NULL;
    uint32_t           want = 0;
    size_t             i;
    int                rc;

    for (i = 0; i < sizeof(content_fields) / sizeof(content_fields[0]); i++) {
        if (strcmp(content_fields[i].dtype, t->dtype->name) == 0) {
            want = content_fields[i].field;
        }
    }
    fcodec_pb_init(&pb, t->contents, t->contents_len);
    while ((rc = fcodec_pb_next(&pb, &f, &why)) == 1) {
        if (f.field < 1 || f.field > 8) {
            continue;
        }
        if (f.field != want) {
            if (want == 0) {
                return fail(g, 400, "%s is %s, which has no typed "
                            "contents field: send it in raw_input_contents",
                            g->what, t->dtype->name);
            }
            return fail(g, 400, "%s is %s but its contents hold %s; "
                        "send %s", g->what, t->dtype->name,
                        content_names[f.field], content_names[want]);
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

/* BYTES in raw_input_contents: Triton's 4-byte length before each string */
static int
raw_text(grpc_infer *g)
{
    fcodec_bytes_reader r;

    fcodec_bytes_init(&r, g->t->raw_len);
    switch (fcodec_bytes_read(&r, g->t->raw, g->t->raw_len, g->a, push_text,
                              g))
    {
    case FCODEC_BYTES_OK:
        return 1;
    case FCODEC_BYTES_PAST_END:
        if (r.n_prefix < 4) {
            return fail(g, 400, "input__0 BYTES raw_input_contents: string "
                        "%zu has no room for its 4-byte length", r.index);
        }
        return fail(g, 400, "input__0 BYTES raw_input_contents: string %zu "
                    "is %u bytes long, past the end of the contents",
                    r.index, r.len);
    case FCODEC_BYTES_NO_MEMORY:
        return fail(g, 500, "out of memory for a string");
    default:
        return 0;
    }
}

static int
raw_contents(grpc_infer *g)
{
    const grpc_tensor  *t = g->t;
    const fcodec_dtype *dt = t->dtype;
    uint64_t            need = (uint64_t) g->want_vals * dt->size;
    size_t              i;
    char                text[96];

    if (dt->size == 0) {
        /* every string takes its 4-byte length at least */
        if (t->raw_len / 4 < g->want_vals) {
            shape_text(t, text, sizeof(text));
            return fail(g, 400, "input__0 raw_input_contents holds %zu bytes "
                        "but shape %s of BYTES takes at least %llu (a 4-byte "
                        "length before each string)", t->raw_len, text,
                        (unsigned long long) g->want_vals * 4);
        }
        return alloc_values(g) && raw_text(g);
    }
    if (t->raw_len != need) {
        shape_text(t, text, sizeof(text));
        return fail(g, 400, "%s raw_input_contents holds %zu bytes but "
                    "shape %s of %s takes %llu", g->what, t->raw_len, text,
                    dt->name, (unsigned long long) need);
    }
    if (!alloc_values(g)) {
        return 0;
    }
    for (i = 0; i < g->want_vals; i++) {
        g->dst[i] = dt->load(t->raw + i * dt->size);
    }
    g->n_vals = g->want_vals;
    return 1;
}

/* The values of tensor t, want of them, into g->dst. */
static int
tensor_values(grpc_infer *g, const grpc_tensor *t, size_t want)
{
    char text[96];

    g->t = t;
    g->what = t->bm ? "base_margin" : "input__0";
    g->want_vals = want;
    g->n_vals = 0;
    if (t->raw != NULL && t->have_contents) {
        return fail(g, 400, "%s has contents and the request has "
                    "raw_input_contents; send one of them", g->what);
    }
    if (t->raw != NULL) {
        return raw_contents(g);
    }
    if (!t->have_contents) {
        return fail(g, 400, "%s has neither contents nor "
                    "raw_input_contents", g->what);
    }
    /* every value takes at least a byte */
    if (want > t->contents_len) {
        shape_text(t, text, sizeof(text));
        return fail(g, 400, "%s shape %s has %zu values; its contents hold "
                    "at most %zu", g->what, text, want, t->contents_len);
    }
    if (!alloc_values(g) || !typed_contents(g)) {
        return 0;
    }
    if (g->n_vals != want) {
        shape_text(t, text, sizeof(text));
        return fail(g, 400, "%s shape %s has %zu values, got %zu", g->what,
                    text, want, g->n_vals);
    }
    return 1;
}

static int
base_margin(grpc_infer *g, const grpc_tensor *t)
{
    char err[sizeof(g->req->error)];

    if (fcodec_bm_shape_error(g->m, t->shape, t->rank, g->n_rows, err,
                              sizeof(err)) != 0)
    {
        return fail(g, 400, "%s", err);
    }
    if (!tensor_values(g, t, g->n_rows * g->m->n_margins)) {
        return 0;
    }
    g->req->base_margin = g->dst;
    return 1;
}

static int
input_done(grpc_infer *g)
{
    grpc_tensor *t, *rows = NULL, *bm = NULL;
    int          i;

    if (g->n_inputs == 0) {
        return fail(g, 400, "the request has no inputs; model %s takes "
                    "input__0", g->m->name);
    }
    /* raw_input_contents go to the inputs in order, all of them or none */
    if (g->n_raw > 0 && g->n_raw != g->n_inputs) {
        return fail(g, 400, "the request has %d raw_input_contents for %d "
                    "inputs; send one for each input, or none", g->n_raw,
                    g->n_inputs);
    }
    for (i = 0; i < g->n_inputs; i++) {
        t = &g->in[i];
        if (!input(g, t)) {
            return 0;
        }
        if (t->bm ? bm != NULL : rows != NULL) {
            return fail(g, 400, "the request gives %s twice",
                        t->bm ? "base_margin" : "input__0");
        }
        *(t->bm ? &bm : &rows) = t;
        if (g->n_raw > 0) {
            t->raw = g->raw[i];
            t->raw_len = g->raw_len[i];
        }
    }
    if (rows == NULL) {
        return fail(g, 400, "the request has no input__0; model %s takes "
                    "input__0 (and base_margin)", g->m->name);
    }
    if (!check_shape(g, rows)
        || !tensor_values(g, rows, g->n_rows * g->m->n_features))
    {
        return 0;
    }
    g->req->rows = g->dst;
    return bm == NULL || base_margin(g, bm);
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
               && param_entry(g, f, &key, &value)
               && option(g, &key, &value);
    case 5:
        if (!wire(g, f, FCODEC_PB_LEN, "inputs")) {
            return 0;
        }
        if (g->n_inputs == GRPC_MAX_INPUTS) {
            return fail(g, 400, "model %s has the inputs input__0 and "
                        "base_margin; the request has more", g->m->name);
        }
        g->in[g->n_inputs].msg = f->data;
        g->in[g->n_inputs++].len = f->len;
        return 1;
    case 6:
        return wire(g, f, FCODEC_PB_LEN, "outputs") && output(g, f);
    case 7:
        if (!wire(g, f, FCODEC_PB_LEN, "raw_input_contents")) {
            return 0;
        }
        if (g->n_raw < GRPC_MAX_INPUTS) {
            g->raw[g->n_raw] = f->data;
            g->raw_len[g->n_raw] = f->len;
        }
        g->n_raw++;
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
    int              rc, done = 0;

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
        req->n_rows = g.n_rows;
        fcodec_interactions_fit(m, req);
        done = req->status == 0;
    }
    if (done) {
        req->input_name = "input__0";
        if (!req->outputs_listed) {
            req->want_output = 1;
            req->order[req->n_order++] = FCODEC_OUT_MAIN;
        }
        return;
    }
    req->rows = NULL;
    req->base_margin = NULL;
    req->n_rows = 0;
}

/* ---- response ----------------------------------------------------------- */

/* One InferOutputTensor (name, datatype, shape) of the response. */
static void
output_meta(fcodec_pbw *w, const fcodec_encoder *e, unsigned which,
    fcodec_alloc *a, uint64_t *bytes)
{
    fcodec_pbw   t;
    const char  *name, *datatype;
    uint64_t     shape[4];
    int64_t      dims[3];
    uint32_t     rank, i;

    rank = fcodec_encoder_meta(e, which, &name, &datatype, shape);
    *bytes = 4;
    for (i = 0; i < rank; i++) {
        dims[i] = (int64_t) shape[i];
        *bytes *= shape[i];
    }
    fcodec_pbw_init(&t, a, 64, 0);
    fcodec_pbw_str(&t, 1, name);
    fcodec_pbw_str(&t, 2, datatype);
    fcodec_pbw_packed(&t, 3, dims, rank);
    fcodec_pbw_msg(w, 5, &t);
}

int
fcodec_grpc_infer_encode(const fcodec_request *req, const fcodec_shape *s,
    const char *model_name, const char *version, const float *outputs,
    fcodec_alloc *a, fcodec_response *out)
{
    fcodec_encoder  e;
    fcodec_pbw      w;
    fcodec_out      strings;
    uint64_t        bytes[3], total = 0;
    uint8_t         i;

    if (fcodec_encoder_init(&e, req, s, outputs, a) != 0) {
        return -1;
    }
    fcodec_pbw_init(&w, a, 128, 1);
    fcodec_pbw_str(&w, 1, model_name);
    fcodec_pbw_str(&w, 2, version);
    if (req->id != NULL && req->id[0] != '\0') {
        fcodec_pbw_str(&w, 3, req->id);
    }
    for (i = 0; i < req->n_order; i++) {
        output_meta(&w, &e, req->order[i], a, &bytes[i]);
        total += bytes[i] + 16;
    }
    /* room for the values up front: one growth, not one per output */
    if (fcodec_out_reserve(&w.out, total) == NULL) {
        return -1;
    }

    /* raw_output_contents in the outputs' order, as Triton answers */
    for (i = 0; i < req->n_order; i++) {
        if (req->order[i] == FCODEC_OUT_MAIN && e.k > 0) {
            /* classification strings: their lengths are known once written */
            fcodec_out_init(&strings, a, req->n_rows * e.k * 16);
            fcodec_encoder_binary(&e, FCODEC_OUT_MAIN, &strings);
            if (!strings.ok) {
                return -1;
            }
            fcodec_pbw_bytes(&w, 6, strings.buf, strings.len);
            continue;
        }
        fcodec_pbw_len_header(&w, 6, bytes[i]);
        fcodec_encoder_binary(&e, req->order[i], &w.out);
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
