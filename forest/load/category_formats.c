/*
 * Where the formats keep their category lists (forest/category.h):
 *   XGBoost 3.x JSON/UBJ: gradient_booster.model.cats.enc, one entry per
 *     feature: {"offsets": [n + 1], "values": [UTF-8 bytes]} for string
 *     categories, empty arrays for the others;
 *   LightGBM: the trailer line pandas_categorical:[[...], ...], one list per
 *     categorical feature in feature order (null without pandas).
 * Only lists of strings are kept: numbers in a request are codes already.
 */
#include "category.h"
#include "category_formats.h"
#include "doc.h"

#include <stdlib.h>
#include <string.h>

/* Gives feature f the labels of doc strings items[0..n). */
static int
set_from_strings(forest_model *m, uint32_t f, const doc_value *items,
    size_t n, const char *name, char *err, size_t errlen)
{
    const char **labels = malloc((n ? n : 1) * sizeof(char *));
    size_t      *lens = malloc((n ? n : 1) * sizeof(size_t));
    int          rc = -1;

    if (labels == NULL || lens == NULL) {
        forest_errf(err, errlen, name, "out of memory");
    } else {
        for (size_t i = 0; i < n; i++) {
            labels[i] = items[i].u.str;
            lens[i] = items[i].n;
        }
        rc = forest_category_set(m, f, labels, lens, (uint32_t) n, name, err,
                                 errlen);
    }
    free(labels);
    free(lens);
    return rc;
}

int
forest_xgb_categories(forest_model *m, const doc_value *cats,
    const char *name, char *err, size_t errlen)
{
    const doc_value *enc = forest_doc_get(cats, "enc");

    if (enc == NULL || forest_doc_len(enc) == 0) {
        return 0;
    }
    if (enc->type != DOC_ARRAY || enc->n != m->n_features) {
        forest_errf(err, errlen, name, "cats.enc: expected one entry per "
            "feature (%u)", m->n_features);
        return -1;
    }
    for (uint32_t f = 0; f < m->n_features; f++) {
        const doc_value *off = forest_doc_get(&enc->u.items[f], "offsets");
        const doc_value *val = forest_doc_get(&enc->u.items[f], "values");
        const char     **labels;
        size_t          *lens, n = forest_doc_len(off);
        char            *bytes;
        int              rc = 0;

        if (n < 2) {
            continue;                  /* not a string-category feature */
        }
        if (off->type != DOC_NUMBERS || val == NULL
            || val->type != DOC_NUMBERS || off->u.nums[0] != 0
            || off->u.nums[n - 1] != (double) val->n)
        {
            forest_errf(err, errlen, name, "cats.enc[%u]: offsets do not "
                "cover the values", f);
            return -1;
        }
        labels = malloc((n - 1) * sizeof(char *));
        lens = malloc((n - 1) * sizeof(size_t));
        bytes = malloc(val->n ? val->n : 1);
        if (labels == NULL || lens == NULL || bytes == NULL) {
            forest_errf(err, errlen, name, "out of memory");
            rc = -1;
        }
        for (size_t i = 0; rc == 0 && i < val->n; i++) {
            double b = val->u.nums[i];

            if (!(b >= 0 && b <= 255)) {
                forest_errf(err, errlen, name, "cats.enc[%u]: value %zu is "
                    "not a byte", f, i);
                rc = -1;
                break;
            }
            bytes[i] = (char) (uint8_t) b;
        }
        for (size_t i = 0; rc == 0 && i + 1 < n; i++) {
            double a = off->u.nums[i], z = off->u.nums[i + 1];

            if (!(a <= z)) {
                forest_errf(err, errlen, name, "cats.enc[%u]: offsets not "
                    "increasing", f);
                rc = -1;
                break;
            }
            labels[i] = bytes + (size_t) a;
            lens[i] = (size_t) (z - a);
        }
        if (rc == 0) {
            rc = forest_category_set(m, f, labels, lens, (uint32_t) (n - 1),
                                     name, err, errlen);
        }
        free(labels);
        free(lens);
        free(bytes);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

int
forest_lgb_categories(forest_model *m, const uint8_t *data, size_t len,
    const char *name, char *err, size_t errlen)
{
    static const char key[] = "\npandas_categorical:";
    const uint8_t    *at = memmem(data, len, key, sizeof(key) - 1), *end;
    const doc_value  *root;
    doc              *d;
    uint32_t          f = 0;
    int               rc = 0;

    if (at == NULL || m->feature_is_categorical == NULL) {
        return 0;
    }
    at += sizeof(key) - 1;
    end = memchr(at, '\n', len - (size_t) (at - data));
    d = forest_doc_parse_json(at, end ? (size_t) (end - at)
                                      : len - (size_t) (at - data),
                              name, err, errlen);
    if (d == NULL) {
        return -1;
    }
    root = forest_doc_root(d);
    /* null, or lists that are not all strings: nothing to map */
    for (size_t j = 0; root->type == DOC_ARRAY && j < root->n && rc == 0;
         j++)
    {
        const doc_value *l = &root->u.items[j];
        int              strings = l->type == DOC_ARRAY && l->n > 0;

        while (f < m->n_features && !m->feature_is_categorical[f]) {
            f++;
        }
        if (f == m->n_features) {
            forest_errf(err, errlen, name, "pandas_categorical has %zu "
                "lists for fewer categorical features", root->n);
            rc = -1;
            break;
        }
        for (size_t i = 0; strings && i < l->n; i++) {
            strings = l->u.items[i].type == DOC_STRING;
        }
        if (strings) {
            rc = set_from_strings(m, f, l->u.items, l->n, name, err, errlen);
        }
        f++;
    }
    forest_doc_free(d);
    return rc;
}
