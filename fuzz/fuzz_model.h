/*
 * The model the codec fuzz targets decode requests for: 4 named features,
 * category names on f1 and f2, 3 margins a row of base_margin, 64 rows at
 * most; and the check that a decoded base_margin holds every value it
 * promises (ASan sees a short buffer).
 */
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include "forest_codec.h"

#include <math.h>
#include <stdlib.h>

/* Category names on f1 ("a", "b"; unseen refused) and f2 ("a"; unseen
 * missing), so that string cells take every path of the codec. */
static fcodec_cat_lookup
fuzz_category(const void *ctx, uint32_t f, const char *s, size_t len,
    float *code)
{
    (void) ctx;
    if (f != 1 && f != 2) {
        return FCODEC_CAT_NO_LIST;
    }
    if (len == 1 && (s[0] == 'a' || (f == 1 && s[0] == 'b'))) {
        *code = (float) (s[0] - 'a');
        return FCODEC_CAT_FOUND;
    }
    *code = NAN;
    return f == 1 ? FCODEC_CAT_REFUSED : FCODEC_CAT_FOUND;
}

static char *fuzz_names[4] = { "f0", "f1", "f2", "f3" };

static const fcodec_model fuzz_model = { "fuzz", 4, fuzz_names, 64, 1,
                                         fuzz_category, NULL, 3, 0 };

static void
fuzz_check_margins(const fcodec_request *req)
{
    volatile float sum = 0;
    size_t         i;

    if (req->base_margin == NULL) {
        return;
    }
    for (i = 0; i < req->n_rows * fuzz_model.n_margins; i++) {
        sum += req->base_margin[i];
    }
    (void) sum;
}

#endif /* FUZZ_MODEL_H */
