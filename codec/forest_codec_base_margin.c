/*
 * base_margin: each row's starting margins, as XGBoost's DMatrix base_margin
 * gives them (they replace the model's base_score, before the objective's
 * transform).  A KServe input named "base_margin", FP32 or FP64, shape [N]
 * (one output) or [N, C] (C = the model's outputs, e.g. classes), its values
 * as JSON "data", flat or one array per row; on the simple API a
 * "base_margin" member beside the rows: one number per row, or one array of
 * C numbers per row.  N must be the rows' count.  On KServe the values
 * may instead follow the JSON as binary data (FP32 or FP64, little-endian,
 * parameters.binary_data_size), read by forest_codec_binary.c through
 * fcodec_bm_push.
 */
#include <stdio.h>
#include <string.h>

#include "forest_codec_internal.h"

int
fcodec_bm_start(fcodec_parser *p)
{
    fcodec_bm_state *bm = &p->bm;

    if (p->m->n_margins == 0) {
        return fcodec_fail(p, 400, "model %s takes no base_margin",
                           p->m->name);
    }
    if (bm->given) {
        return fcodec_fail(p, 400, "the request gives base_margin twice");
    }
    bm->given = 1;
    bm->nested = -1;
    return 1;
}

int
fcodec_bm_push(fcodec_parser *p, float x)
{
    fcodec_bm_state *bm = &p->bm;
    size_t           limit = p->m->max_rows * p->m->n_margins, cap;
    float           *vals;

    if (bm->n == bm->cap) {
        if (bm->n >= limit) {
            return fcodec_fail(p, 413, "base_margin holds more than %zu "
                               "values (%zu rows of %u margins, the most a "
                               "request of model %s takes)", limit,
                               p->m->max_rows, p->m->n_margins, p->m->name);
        }
        cap = bm->cap ? 2 * bm->cap : 64;
        cap = cap < limit ? cap : limit;
        vals = fcodec_palloc(p, cap * sizeof(float));
        if (vals == NULL) {
            return fcodec_fail(p, 500, "out of memory");
        }
        if (bm->n > 0) {
            memcpy(vals, bm->vals, bm->n * sizeof(float));
        }
        bm->vals = vals;
        bm->cap = cap;
    }
    bm->vals[bm->n++] = x;
    return 1;
}

int
fcodec_bm_data(fcodec_parser *p, const fcodec_value *v, int row_ctx)
{
    fcodec_bm_state *bm = &p->bm;
    int              in_row = fcodec_top(p) == row_ctx;

    if (v->type == FCODEC_V_ARR) {
        if (in_row) {
            return fcodec_fail(p, 400, "base_margin is nested deeper than "
                               "[rows, margins]");
        }
        if (bm->nested == 0) {
            return fcodec_fail(p, 400, "base_margin mixes rows (arrays) and "
                               "single values");
        }
        bm->nested = 1;
        bm->row_start = bm->n;
        return fcodec_push(p, row_ctx);
    }
    if (v->type != FCODEC_V_NUM) {
        return fcodec_fail(p, 400, "base_margin value %zu is %s; it must be "
                           "a number", bm->n, fcodec_type_name(v));
    }
    if (!in_row) {
        if (bm->nested == 1) {
            return fcodec_fail(p, 400, "base_margin mixes rows (arrays) and "
                               "single values");
        }
        bm->nested = 0;
    }
    return fcodec_bm_push(p, fcodec_to_float(v->num));
}

int
fcodec_bm_row_end(fcodec_parser *p)
{
    fcodec_bm_state *bm = &p->bm;

    if (bm->n - bm->row_start != p->m->n_margins) {
        return fcodec_fail(p, 400, "base_margin row %zu holds %zu values; "
                           "model %s takes %u margins a row",
                           bm->row_start / p->m->n_margins,
                           bm->n - bm->row_start, p->m->name,
                           p->m->n_margins);
    }
    return 1;
}

/* A declared shape: [N] for one margin a row, [N, C]. */
int
fcodec_bm_shape_error(const fcodec_model *m, const uint64_t *shape,
    uint32_t rank, size_t n_rows, char *err, size_t errlen)
{
    uint32_t c = m->n_margins;

    if (rank == 0 || rank > 2 || (rank == 2 && shape[1] != c)
        || (rank == 1 && c != 1))
    {
        if (c == 1) {
            snprintf(err, errlen, "base_margin shape must be [%zu] or "
                     "[%zu, 1]: one margin per row", n_rows, n_rows);
        } else {
            snprintf(err, errlen, "base_margin shape must be [%zu, %u]: "
                     "model %s has %u outputs, one margin each", n_rows, c,
                     m->name, c);
        }
        return 400;
    }
    if (shape[0] != n_rows) {
        snprintf(err, errlen, "base_margin shape has %llu rows; input__0 "
                 "has %zu", (unsigned long long) shape[0], n_rows);
        return 400;
    }
    return 0;
}

static int
check_shape(fcodec_parser *p, size_t n_rows)
{
    char err[sizeof(p->req.error)];

    if (fcodec_bm_shape_error(p->m, p->bm.shape, p->bm.rank, n_rows, err,
                              sizeof(err)) != 0)
    {
        return fcodec_fail(p, 400, "%s", err);
    }
    return 1;
}

int
fcodec_bm_done(fcodec_parser *p, size_t n_rows)
{
    fcodec_bm_state *bm = &p->bm;
    size_t           want = n_rows * p->m->n_margins;

    if (!bm->given) {
        return 1;
    }
    if (p->api == FCODEC_KSERVE) {
        if (!bm->have_shape || !bm->have_dtype) {
            return fcodec_fail(p, 400, "base_margin has no \"%s\"",
                               !bm->have_shape ? "shape" : "datatype");
        }
        if (bm->have_data == bm->have_bsize) {
            return fcodec_fail(p, 400, "base_margin needs either \"data\" "
                               "or parameters.binary_data_size (it has %s)",
                               bm->have_data ? "both" : "neither");
        }
        if (!check_shape(p, n_rows)) {
            return 0;
        }
        if (bm->have_bsize) {
            /* the values follow the JSON; the section's end checks them */
            if (bm->binary_size != want * bm->dtype->size) {
                return fcodec_fail(p, 400, "base_margin binary_data_size is "
                                   "%llu but %zu rows of %u margins of %s "
                                   "take %llu bytes",
                                   (unsigned long long) bm->binary_size,
                                   n_rows, p->m->n_margins, bm->dtype->name,
                                   (unsigned long long) want
                                   * bm->dtype->size);
            }
            return fcodec_binary_expect(p, 1, bm->at, bm->dtype,
                                        bm->binary_size);
        }
    }
    if (bm->n != want) {
        return fcodec_fail(p, 400, "base_margin holds %zu values; %zu rows "
                           "of %u margins take %zu", bm->n, n_rows,
                           p->m->n_margins, want);
    }
    p->req.base_margin = bm->vals;
    return 1;
}
