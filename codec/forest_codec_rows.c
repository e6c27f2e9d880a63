/*
 * The float rows a request decodes into: one row-major buffer that grows
 * from the request's allocator (which never frees, so it doubles), bounded
 * by the model's max_rows, with each row's feature count checked as it ends.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "forest_codec_internal.h"

static int
too_many_rows(fcodec_parser *p)
{
    return fcodec_fail(p, 413, "the request has more than %zu rows; model %s "
                       "takes at most %zu per request",
                       p->m->max_rows, p->m->name, p->m->max_rows);
}

int
fcodec_rows_reserve(fcodec_parser *p, size_t n_vals)
{
    float  *vals;
    size_t  cap;

    if (n_vals <= p->cap_vals) {
        return 1;
    }
    if (n_vals > p->max_vals) {
        return too_many_rows(p);
    }
    cap = p->cap_vals > 0 ? p->cap_vals : 64;
    while (cap < n_vals) {
        cap = cap > p->max_vals / 2 ? p->max_vals : cap * 2;
    }
    if (cap > SIZE_MAX / sizeof(float)) {
        return fcodec_fail(p, 413, "the request is too large");
    }
    vals = fcodec_palloc(p, cap * sizeof(float));
    if (vals == NULL) {
        return 0;
    }
    if (p->n_vals > 0) {
        memcpy(vals, p->vals, p->n_vals * sizeof(float));
    }
    p->vals = vals;
    p->cap_vals = cap;
    return 1;
}

/* fcodec_rows_push when the buffer is full or the request at its limit */
int
fcodec_rows_push_slow(fcodec_parser *p, float v)
{
    if (p->n_vals == p->max_vals) {
        if (p->in_row && p->n_vals - p->row_start >= p->m->n_features) {
            return fcodec_fail(p, 400, "row %zu has more than %u features, "
                               "model %s expects %u", p->n_rows - 1,
                               p->m->n_features, p->m->name, p->m->n_features);
        }
        return too_many_rows(p);
    }
    if (p->n_vals == p->cap_vals && !fcodec_rows_reserve(p, p->n_vals + 1)) {
        return 0;
    }
    p->vals[p->n_vals++] = v;
    return 1;
}

int
fcodec_row_begin(fcodec_parser *p)
{
    if (p->n_rows >= p->m->max_rows) {
        return too_many_rows(p);
    }
    p->n_rows++;
    p->row_start = p->n_vals;
    p->in_row = 1;
    return 1;
}

int
fcodec_row_begin_missing(fcodec_parser *p)
{
    uint32_t i, f = p->m->n_features;

    if (!fcodec_row_begin(p) || !fcodec_rows_reserve(p, p->n_vals + f)) {
        return 0;
    }
    for (i = 0; i < f; i++) {
        p->vals[p->n_vals++] = NAN;
    }
    return 1;
}

int
fcodec_row_end(fcodec_parser *p)
{
    size_t got = p->n_vals - p->row_start;

    p->in_row = 0;
    if (got != p->m->n_features) {
        return fcodec_fail(p, 400, "row %zu has %zu features, model %s "
                           "expects %u", p->n_rows - 1, got, p->m->name,
                           p->m->n_features);
    }
    return 1;
}
