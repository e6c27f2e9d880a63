/*
 * A string in a row: the name of a category (fcodec_model.category), or in
 * a KServe BYTES tensor a number written as text.
 */
#include "forest_codec_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "feature \"name\"" or "feature N" into buf; a row may hold more values
 * than the model has features (the row's length is checked at its end) */
static const char *
feature_label(const fcodec_parser *p, uint32_t f, char *buf, size_t len)
{
    if (p->m->feature_names != NULL && f < p->m->n_features
        && p->m->feature_names[f] != NULL)
    {
        snprintf(buf, len, "feature \"%.*s\"", FCODEC_NAME_MAX_SHOWN,
                 p->m->feature_names[f]);
    } else {
        snprintf(buf, len, "feature %u", f);
    }
    return buf;
}

/* A BYTES cell of a feature without names: the whole string a number. */
static int
number_text(const fcodec_value *v, float *out)
{
    char   buf[FCODEC_NAME_MAX_SHOWN + 1], *end;
    double d;

    if (v->len == 0 || v->len > FCODEC_NAME_MAX_SHOWN
        || memchr(v->str, '\0', v->len) != NULL)
    {
        return 0;
    }
    memcpy(buf, v->str, v->len);
    buf[v->len] = '\0';
    d = strtod(buf, &end);
    if (*end != '\0' || end == buf || (!isnan(d) && !isfinite((float) d))) {
        return 0;
    }
    *out = (float) d;
    return 1;
}

int
fcodec_category_cell(fcodec_parser *p, size_t row, uint32_t f,
    const fcodec_value *v, int bytes, float *out)
{
    char              where[FCODEC_NAME_MAX_SHOWN + 32];
    fcodec_cat_lookup r = FCODEC_CAT_NO_LIST;

    if (p->m->category != NULL && f < p->m->n_features) {
        r = p->m->category(p->m->category_ctx, f, v->str, v->len, out);
    }
    switch (r) {
    case FCODEC_CAT_FOUND:
        return 1;
    case FCODEC_CAT_REFUSED:
        return fcodec_fail(p, 400, "row %zu, %s: \"%.*s\" is not one of the "
                           "model's categories (its config lists them)", row,
                           feature_label(p, f, where, sizeof(where)),
                           fcodec_shown(v->len), v->str);
    default:
        if (bytes && number_text(v, out)) {
            return 2;
        }
        return fcodec_fail(p, 400, "row %zu, %s: \"%.*s\" is a string, but "
                           "the feature %s (null marks a missing value)", row,
                           feature_label(p, f, where, sizeof(where)),
                           fcodec_shown(v->len), v->str,
                           bytes ? "has no category names and the string is "
                                   "not a number"
                                 : "has no category names: send a number");
    }
}
