/*
 * The request parser's frame: the JSON callbacks (called by yajl and by the
 * fast path, forest_codec_json.c), the yajl handle, the split of a KServe
 * body into its JSON header and binary part, error reporting and the
 * context stack.  What each JSON value means is up to the API's ops
 * (forest_codec_kserve.c, forest_codec_simple.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forest_codec_internal.h"
#include "forest_json_number.h"

/* Longest number token accepted; JSON has no limit, but no float needs more
 * than a few dozen digits and a longer token is an attack on strtod. */
#define FCODEC_MAX_NUMBER  320

static const fcodec_api_ops *
api_ops(const fcodec_parser *p)
{
    return p->api == FCODEC_SIMPLE ? &fcodec_simple_ops : &fcodec_kserve_ops;
}

int
fcodec_fail(fcodec_parser *p, int status, const char *fmt, ...)
{
    va_list ap;

    if (p->req.status == 0) {
        p->req.status = status;
        va_start(ap, fmt);
        vsnprintf(p->req.error, sizeof(p->req.error), fmt, ap);
        va_end(ap);
    }
    return 0;
}

void *
fcodec_palloc(fcodec_parser *p, size_t size)
{
    void *mem = p->a->alloc(p->a->ctx, size ? size : 1);

    if (mem == NULL) {
        fcodec_fail(p, 500, "out of memory while reading the request");
    }
    return mem;
}

char *
fcodec_pstrdup(fcodec_parser *p, const char *s, size_t len)
{
    char *d = fcodec_palloc(p, len + 1);

    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

int
fcodec_push(fcodec_parser *p, int ctx)
{
    if (p->depth >= FCODEC_MAX_DEPTH) {
        return fcodec_fail(p, 400, "JSON nested deeper than %d levels",
                           FCODEC_MAX_DEPTH);
    }
    p->ctx[++p->depth] = (uint8_t) ctx;
    return 1;
}

int
fcodec_skip(fcodec_parser *p, const fcodec_value *v)
{
    if (v->type == FCODEC_V_MAP || v->type == FCODEC_V_ARR) {
        p->skip = 1;
    }
    return 1;
}

const char *
fcodec_type_name(const fcodec_value *v)
{
    static const char *names[] = {
        "null", "a boolean", "a number", "a string", "an object", "an array"
    };

    return names[v->type];
}

/* ---- yajl adapters: every event becomes an fcodec_value ---------------- */

/* Inside a value the API ignores only its nesting is followed, so that no
 * limit meant for what the API reads applies to it. */
static int
skipped(fcodec_parser *p, fcodec_vtype type)
{
    if (p->skip == 0) {
        return 0;
    }
    if (type == FCODEC_V_MAP || type == FCODEC_V_ARR) {
        p->skip++;
    }
    return 1;
}

static int
on_value(void *ctx, const fcodec_value *v)
{
    fcodec_parser *p = ctx;

    if (skipped(p, v->type)) {
        return 1;
    }
    return api_ops(p)->value(p, v);
}

static int
on_null(void *ctx)
{
    fcodec_value v = { .type = FCODEC_V_NULL };

    return on_value(ctx, &v);
}

static int
on_boolean(void *ctx, int b)
{
    fcodec_value v = { .type = FCODEC_V_BOOL, .boolean = b };

    return on_value(ctx, &v);
}

/* A number token's value (len <= FCODEC_MAX_NUMBER): the fast path's, or
 * strtod's.  Apart, so that the common path keeps neither its registers
 * nor the buffer on its stack. */
static __attribute__((noinline)) double
number_value(const char *s, size_t len)
{
    char   buf[FCODEC_MAX_NUMBER + 1];
    double v;

    if (fcodec_json_fast && forest_json_number_fast(s, len, &v)) {
        return v;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return strtod(buf, NULL);
}

int
fcodec_number(fcodec_parser *p, const char *s, size_t len, const double *num)
{
    const fcodec_api_ops *ops = api_ops(p);
    fcodec_value          v;
    double                d;
    float                 f;

    if (skipped(p, FCODEC_V_NUM)) {
        return 1;
    }
    if (len > FCODEC_MAX_NUMBER) {
        return fcodec_fail(p, 400, "a number in the JSON is longer than %d "
                           "characters", FCODEC_MAX_NUMBER);
    }
    d = num != NULL ? *num : number_value(s, len);
    if (fcodec_top(p) == ops->row_ctx) {
        f = fcodec_to_float(d);
        if (isfinite(f)) {
            return fcodec_rows_push(p, f);
        }
    }
    v = (fcodec_value) { .type = FCODEC_V_NUM, .str = s, .len = len,
                         .num = d };
    return ops->value(p, &v);
}

/* yajl's own integer callback fails on values past long long; taking the
 * token and converting it here accepts every JSON number. */
static int
on_number(void *ctx, const char *s, size_t len)
{
    return fcodec_number(ctx, s, len, NULL);
}

static int
on_string(void *ctx, const unsigned char *s, size_t len)
{
    fcodec_value v = { .type = FCODEC_V_STR, .str = (const char *) s,
                       .len = len };

    return on_value(ctx, &v);
}

static int
on_start_map(void *ctx)
{
    fcodec_value v = { .type = FCODEC_V_MAP };

    return on_value(ctx, &v);
}

static int
on_start_array(void *ctx)
{
    fcodec_value v = { .type = FCODEC_V_ARR };

    return on_value(ctx, &v);
}

static int
on_map_key(void *ctx, const unsigned char *s, size_t len)
{
    fcodec_parser *p = ctx;

    if (p->skip > 0) {
        return 1;
    }
    return api_ops(p)->key(p, (const char *) s, len);
}

static int
on_end(void *ctx)
{
    fcodec_parser *p = ctx;

    if (p->skip > 0) {
        p->skip--;
        return 1;
    }
    return api_ops(p)->end(p);
}

const yajl_callbacks fcodec_yajl_callbacks = {
    on_null, on_boolean, NULL, NULL, on_number, on_string,
    on_start_map, on_map_key, on_end, on_start_array, on_end
};

/* ---- lifecycle ---------------------------------------------------------- */

fcodec_parser *
fcodec_parser_create(fcodec_api api, const fcodec_model *m, size_t json_len,
    fcodec_alloc *a)
{
    fcodec_parser *p = a->alloc(a->ctx, sizeof(*p));

    if (p == NULL) {
        return NULL;
    }
    memset(p, 0, sizeof(*p));
    p->api = api;
    p->m = m;
    p->a = a;
    p->json_len = api == FCODEC_KSERVE ? json_len : FCODEC_NO_LEN;
    p->ks.data_nested = -1;
    p->ks.out_binary = -1;

    /* saturating: max_vals only bounds memory, it never wraps */
    p->max_vals = m->n_features != 0 && m->max_rows > SIZE_MAX / m->n_features
                  ? SIZE_MAX : m->max_rows * m->n_features;

    if (m->n_features == 0) {
        fcodec_fail(p, 500, "model %s has no features", m->name);
        return p;
    }
    if (p->json_len == 0) {
        fcodec_fail(p, 400, "Inference-Header-Content-Length is 0: the JSON "
                    "header is missing");
    }
    return p;
}

int
fcodec_yajl_start(fcodec_parser *p)
{
    p->h = yajl_alloc(&fcodec_yajl_callbacks, NULL, p);
    if (p->h == NULL) {
        return fcodec_fail(p, 500, "out of memory while reading the request");
    }
    return 1;
}

/* A NaN or Infinity token (what Python's json module writes for them) is
 * the common case of a client serialising a missing value; tell it what to
 * send instead.  yajl rejects 'N' and 'I' as invalid characters, stopping
 * right after them, and "-I" as a malformed number, stopping before the 'I',
 * however the body was cut into pieces.  (Its offsets of other errors do
 * depend on the pieces, so messages carry no offset.) */
static int
rejected_nonfinite(const fcodec_parser *p, const char *msg,
    const uint8_t *data, size_t len, size_t at)
{
    uint8_t before = at > 0 && at <= len ? data[at - 1] : p->last_byte;

    if (strncmp(msg, "lexical error: invalid char", 27) == 0) {
        return before == 'N' || before == 'I';
    }
    if (strncmp(msg, "lexical error: malformed number", 31) == 0) {
        return before == '-' && at < len && data[at] == 'I';
    }
    return 0;
}

static void
json_error(fcodec_parser *p, const uint8_t *data, size_t len)
{
    unsigned char *msg;
    const char    *text;

    if (p->req.status != 0) {
        return;                       /* a callback said why */
    }
    msg = yajl_get_error(p->h, 0, NULL, 0);
    text = msg != NULL ? (const char *) msg : "";
    fcodec_fail(p, 400, "invalid JSON: %.*s%s", (int) strcspn(text, "\n"),
                text,
                data != NULL && rejected_nonfinite(p, text, data, len,
                                                   yajl_get_bytes_consumed(p->h))
                ? " (NaN and Infinity are not JSON: send null for a missing "
                  "value)" : "");
    if (msg != NULL) {
        yajl_free_error(p->h, msg);
    }
}

int
fcodec_yajl_feed(fcodec_parser *p, const uint8_t *data, size_t len)
{
    if (len == 0) {
        return 1;
    }
    if (yajl_parse(p->h, data, len) != yajl_status_ok) {
        json_error(p, data, len);
        return 0;
    }
    p->last_byte = data[len - 1];
    return 1;
}

int
fcodec_yajl_complete(fcodec_parser *p)
{
    if (yajl_complete_parse(p->h) != yajl_status_ok) {
        json_error(p, NULL, 0);
        return 0;
    }
    return 1;
}

static int
json_complete(fcodec_parser *p)
{
    p->json_done = 1;
    if (p->json_fed == 0) {
        fcodec_fail(p, 400, "the request body is empty");
        return -1;
    }
    if (!fcodec_json_complete(p)) {
        return -1;
    }
    return api_ops(p)->done(p) ? 0 : -1;
}

int
fcodec_parser_feed(fcodec_parser *p, const uint8_t *data, size_t len)
{
    size_t take;

    if (p->req.status != 0) {
        return -1;
    }
    if (!p->json_done) {
        take = len;
        if (p->json_len != FCODEC_NO_LEN && take > p->json_len - p->json_fed) {
            take = p->json_len - p->json_fed;
        }
        if (take > 0 && !fcodec_json_feed(p, data, take)) {
            return -1;
        }
        p->json_fed += take;
        if (take > 0) {
            p->last_byte = data[take - 1];
        }
        data += take;
        len -= take;
        if (p->json_fed == p->json_len && json_complete(p) < 0) {
            return -1;
        }
    }
    if (len > 0 && !fcodec_binary_feed(p, data, len)) {
        return -1;
    }
    return 0;
}

void
fcodec_parser_finish(fcodec_parser *p, fcodec_request *req)
{
    if (p->req.status == 0 && !p->json_done) {
        if (p->json_len != FCODEC_NO_LEN) {
            fcodec_fail(p, 400, "the body ends after %zu bytes, inside the "
                        "%zu-byte JSON header (Inference-Header-Content-Length)",
                        p->json_fed, p->json_len);
        } else {
            (void) json_complete(p);
        }
    }
    if (p->req.status == 0) {
        (void) fcodec_binary_finish(p);
    }
    if (p->req.status == 0) {
        p->req.rows = p->vals;
        p->req.n_rows = p->n_vals / p->m->n_features;
        fcodec_interactions_fit(p->m, &p->req);
    }
    if (p->req.status != 0) {
        p->req.rows = NULL;
        p->req.n_rows = 0;
    }
    *req = p->req;
    fcodec_parser_abort(p);
}

void
fcodec_parser_abort(fcodec_parser *p)
{
    if (p->h != NULL) {
        yajl_free(p->h);
        p->h = NULL;
    }
}
