/*
 * Category lists (category.h): building them for the loaders and finding a
 * name's code.  Lookups are binary searches over each list's labels sorted
 * as bytes, so a request's cost does not grow with the list.
 */
#include "category.h"
#include "forest_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* memcmp order, a shorter prefix first */
static int
label_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int
by_label(const void *x, const void *y, void *list)
{
    const forest_category_list *l = list;
    const char *a = l->labels[*(const uint32_t *) x];
    const char *b = l->labels[*(const uint32_t *) y];

    return label_cmp(a, strlen(a), b, strlen(b));
}

int
forest_has_categories(const forest_model *m)
{
    for (uint32_t f = 0; m->categories != NULL && f < m->n_features; f++) {
        if (m->categories[f].n > 0) {
            return 1;
        }
    }
    return 0;
}

const forest_category_list *
forest_category_list_of(const forest_model *m, uint32_t f)
{
    if (m->categories == NULL || f >= m->n_features
        || m->categories[f].n == 0)
    {
        return NULL;
    }
    return &m->categories[f];
}

forest_unseen_policy
forest_category_unseen(const forest_model *m)
{
    return m->format == FOREST_FORMAT_LIGHTGBM ? FOREST_UNSEEN_MISSING
                                               : FOREST_UNSEEN_REFUSED;
}

forest_cat_lookup
forest_category_code(const forest_model *m, uint32_t f, const char *s,
    size_t len, float *code)
{
    const forest_category_list *l = forest_category_list_of(m, f);
    size_t                      lo = 0, hi;

    if (l == NULL) {
        return FOREST_CAT_NO_LIST;
    }
    hi = l->n;
    while (lo < hi) {
        size_t      mid = lo + (hi - lo) / 2;
        const char *lab = l->labels[l->sorted[mid]];
        int         c = label_cmp(lab, strlen(lab), s, len);

        if (c == 0) {
            *code = (float) l->sorted[mid];
            return FOREST_CAT_FOUND;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *code = NAN;
    return FOREST_CAT_UNSEEN;
}

int
forest_category_set(forest_model *m, uint32_t f, const char *const *labels,
    const size_t *lens, uint32_t n, const char *name, char *err,
    size_t errlen)
{
    forest_category_list *l;

    if (f >= m->n_features) {
        forest_errf(err, errlen, name, "category list for feature %u of %u",
            f, m->n_features);
        return -1;
    }
    if (m->categories == NULL) {
        m->categories = calloc(m->n_features, sizeof(*m->categories));
        if (m->categories == NULL) {
            goto oom;
        }
    }
    l = &m->categories[f];
    if (l->n > 0 || n == 0) {
        forest_errf(err, errlen, name, "feature %u: %s category list", f,
            n == 0 ? "an empty" : "a second");
        return -1;
    }
    l->labels = calloc(n, sizeof(char *));
    l->sorted = malloc(n * sizeof(uint32_t));
    if (l->labels == NULL || l->sorted == NULL) {
        free(l->labels);
        free(l->sorted);
        l->labels = NULL;
        l->sorted = NULL;
        goto oom;
    }
    l->n = n;
    for (uint32_t i = 0; i < n; i++) {
        if (memchr(labels[i], '\0', lens[i]) != NULL) {
            forest_errf(err, errlen, name, "feature %u: category %u holds a "
                "NUL byte", f, i);
            return -1;
        }
        l->labels[i] = strndup(labels[i], lens[i]);
        if (l->labels[i] == NULL) {
            goto oom;
        }
        l->sorted[i] = i;
    }
    qsort_r(l->sorted, n, sizeof(uint32_t), by_label, l);
    for (uint32_t i = 1; i < n; i++) {
        if (strcmp(l->labels[l->sorted[i - 1]], l->labels[l->sorted[i]])
            == 0)
        {
            forest_errf(err, errlen, name, "feature %u: category '%.40s' "
                "listed twice", f, l->labels[l->sorted[i]]);
            return -1;
        }
    }
    return 0;
oom:
    forest_errf(err, errlen, name, "out of memory");
    return -1;
}

void
forest_category_free(forest_model *m)
{
    for (uint32_t f = 0; m->categories != NULL && f < m->n_features; f++) {
        for (uint32_t i = 0; i < m->categories[f].n; i++) {
            free(m->categories[f].labels[i]);
        }
        free(m->categories[f].labels);
        free(m->categories[f].sorted);
    }
    free(m->categories);
    m->categories = NULL;
}
