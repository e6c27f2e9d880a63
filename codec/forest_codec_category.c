/*
 * A string in a row: the name of a category (fcodec_model.category), or in
 * a BYTES tensor (KServe JSON or binary data, gRPC) a number written as
 * text.
 */
#include "forest_codec_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "feature \"name\"" or "feature N" into buf; a row may hold more values
 * than the model has features (the row's length is checked at its end) */
static const char *
feature_label(const fcodec_model *m, uint32_t f, char *buf, size_t len)
{
    if (m->feature_names != NULL && f < m->n_features
        && m->feature_names[f] != NULL)
    {
        snprintf(buf, len, "feature \"%.*s\"", FCODEC_NAME_MAX_SHOWN,
                 m->feature_names[f]);
    } else {
        snprintf(buf, len, "feature %u", f);
    }
    return buf;
}

/* A BYTES cell of a feature without names: the whole string a number. */
static int
number_text(const char *s, size_t len, float *out)
{
    char   buf[FCODEC_NAME_MAX_SHOWN + 1], *end;
    double d;

    if (len == 0 || len > FCODEC_NAME_MAX_SHOWN
        || memchr(s, '\0', len) != NULL)
    {
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    d = strtod(buf, &end);
    if (*end != '\0' || end == buf || (!isnan(d) && !isfinite((float) d))) {
        return 0;
    }
    *out = (float) d;
    return 1;
}

int
fcodec_text_cell(const fcodec_model *m, size_t row, uint32_t f,
    const char *s, size_t len, int bytes, float *out, char *err,
    size_t errlen)
{
    char              where[FCODEC_NAME_MAX_SHOWN + 32];
    fcodec_cat_lookup r = FCODEC_CAT_NO_LIST;

    /* binary BYTES data has no null: there the empty string is missing */
    if (bytes == FCODEC_CELL_BINARY && len == 0) {
        *out = NAN;
        return 2;
    }
    if (m->category != NULL && f < m->n_features) {
        r = m->category(m->category_ctx, f, s, len, out);
    }
    switch (r) {
    case FCODEC_CAT_FOUND:
        return 1;
    case FCODEC_CAT_REFUSED:
        snprintf(err, errlen, "row %zu, %s: \"%.*s\" is not one of the "
                 "model's categories (its config lists them)", row,
                 feature_label(m, f, where, sizeof(where)),
                 fcodec_shown(len), s);
        return 0;
    default:
        if (bytes && number_text(s, len, out)) {
            return 2;
        }
        snprintf(err, errlen, "row %zu, %s: \"%.*s\" is a string, but the "
                 "feature %s (null marks a missing value)", row,
                 feature_label(m, f, where, sizeof(where)),
                 fcodec_shown(len), s,
                 bytes ? "has no category names and the string is not a "
                         "number"
                       : "has no category names: send a number");
        return 0;
    }
}

int
fcodec_category_cell(fcodec_parser *p, size_t row, uint32_t f,
    const fcodec_value *v, int bytes, float *out)
{
    char err[sizeof(p->req.error)];
    int  rc = fcodec_text_cell(p->m, row, f, v->str, v->len, bytes, out, err,
                               sizeof(err));

    return rc != 0 ? rc : fcodec_fail(p, 400, "%s", err);
}
