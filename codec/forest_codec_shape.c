/*
 * What a request is answered with, from what the forest computed, as Triton
 * FIL's output__0: a classifier gives its class id unless predict_proba asks
 * for one probability per class (a binary model's single probability p
 * becomes [1-p, p]); regressors and margin output give the values as they
 * are.
 */
#include <math.h>

#include "forest_codec_internal.h"

static int
answers_class_id(const fcodec_shape *s)
{
    return !s->margin && s->is_classifier && s->n_classes >= 2
           && !s->predict_proba;
}

static int
widens_binary(const fcodec_shape *s)
{
    return !s->margin && s->is_classifier && s->predict_proba
           && s->n_classes == 2 && s->forest_columns == 1;
}

uint32_t
fcodec_output_columns(const fcodec_shape *s)
{
    if (answers_class_id(s)) {
        return 1;
    }
    return widens_binary(s) ? 2 : s->forest_columns;
}

/* Index of the largest value; NaN never wins, ties go to the lower index. */
static uint32_t
argmax(const float *in, uint32_t n)
{
    uint32_t i, best = 0;

    for (i = 1; i < n; i++) {
        if (in[i] > in[best] || (isnan(in[best]) && !isnan(in[i]))) {
            best = i;
        }
    }
    return best;
}

void
fcodec_shape_row(const fcodec_shape *s, const float *in, float *out)
{
    uint32_t i;

    if (answers_class_id(s)) {
        if (s->n_classes == 2 && s->forest_columns <= 2) {
            /* the positive class's probability is the last column */
            out[0] = in[s->forest_columns - 1] > s->threshold ? 1.0f : 0.0f;
        } else if (s->forest_columns == 1) {
            out[0] = in[0];           /* already a class index (softmax) */
        } else {
            out[0] = (float) argmax(in, s->forest_columns);
        }
        return;
    }
    if (widens_binary(s)) {
        out[0] = 1.0f - in[0];
        out[1] = in[0];
        return;
    }
    for (i = 0; i < s->forest_columns; i++) {
        out[i] = in[i];
    }
}
