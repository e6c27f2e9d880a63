/*
 * The category attributes of a Treelite checkpoint (its header's JSON
 * "attributes" string).  scripts/convert_sklearn.py writes
 *     {"category_fraction_is_missing": [feature, ...]}
 * for scikit-learn HistGradientBoosting models: their encoder maps every
 * value it was not trained on to NaN, and while the converter moves the
 * unseen whole numbers into the category sets, a fraction such as 2.5 (which
 * Treelite truncates to category 2) can only be told apart at prediction.
 * Other attributes are Treelite's or their writer's business and ignored.
 */
#include "loaders.h"
#include "doc.h"
#include "treelite_format.h"

#include <stdlib.h>
#include <string.h>

#define TL_ATTR_WHOLE "category_fraction_is_missing"

int
forest_tl_category_attributes(forest_model *m, const uint8_t *json,
    size_t len, const char *name, char *err, size_t errlen)
{
    const doc_value *v;
    doc             *d;
    int              rc = -1;

    /* most checkpoints hold "{}": parse only what may name the key */
    if (len < sizeof(TL_ATTR_WHOLE) - 1
        || memmem(json, len, TL_ATTR_WHOLE, sizeof(TL_ATTR_WHOLE) - 1)
           == NULL)
    {
        return 0;
    }
    d = forest_doc_parse_json(json, len, name, err, errlen);
    if (d == NULL) {
        return -1;
    }
    v = forest_doc_get(forest_doc_root(d), TL_ATTR_WHOLE);
    if (v == NULL) {
        rc = 0;
        goto done;
    }
    if (v->type != DOC_NUMBERS) {
        forest_errf(err, errlen, name, "attribute " TL_ATTR_WHOLE " is not "
            "an array of feature indices");
        goto done;
    }
    m->category_whole_only = calloc(m->n_features, 1);
    if (m->category_whole_only == NULL) {
        forest_errf(err, errlen, name, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < v->n; i++) {
        double f = v->u.nums[i];

        if (!(f >= 0 && f < (double) m->n_features) || f != (double) (long) f) {
            forest_errf(err, errlen, name, "attribute " TL_ATTR_WHOLE
                ": feature %g out of range (model has %u features)", f,
                m->n_features);
            goto done;
        }
        m->category_whole_only[(size_t) f] = 1;
    }
    rc = 0;
done:
    forest_doc_free(d);
    return rc;
}
