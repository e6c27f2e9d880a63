/*
 * Category lists: the names a model's training data gave the categories of
 * its categorical features (pandas "category" columns), which XGBoost 3.x
 * stores in the model and LightGBM writes as its pandas_categorical line.
 * A request may send such a category by name; it becomes the code the
 * library trained on, i.e. the name's position in the list, exactly as the
 * library re-codes a DataFrame.  Names compare as bytes (UTF-8), case and
 * spaces included.
 */
#ifndef FOREST_CATEGORY_H
#define FOREST_CATEGORY_H

#include "forest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One feature's list: label i is category code i. */
typedef struct forest_category_list {
    uint32_t   n;          /* 0: the feature has no list */
    char     **labels;     /* n NUL-terminated names (they hold no NUL) */
    uint32_t  *sorted;     /* the n indices ordered by label, for lookup */
} forest_category_list;

/* What a name not in the list becomes: the library's own answer. */
typedef enum {
    FOREST_UNSEEN_MISSING = 0,   /* LightGBM: code -1, then NaN */
    FOREST_UNSEEN_REFUSED        /* XGBoost: "Found a category not in the
                                  * training set" */
} forest_unseen_policy;

typedef enum {
    FOREST_CAT_FOUND = 0,        /* *code is the category's code */
    FOREST_CAT_UNSEEN,           /* not in the list; *code NaN when the
                                  * library takes it as missing */
    FOREST_CAT_NO_LIST           /* the feature has no category list */
} forest_cat_lookup;

/* Whether any feature of m has a category list. */
int forest_has_categories(const forest_model *m);

/* Feature f's list, or NULL when it has none. */
const forest_category_list *forest_category_list_of(const forest_model *m,
    uint32_t f);

/* The code of name s (len bytes) on feature f. */
forest_cat_lookup forest_category_code(const forest_model *m, uint32_t f,
    const char *s, size_t len, float *code);

/* m's policy for names that are not in a list. */
forest_unseen_policy forest_category_unseen(const forest_model *m);

/* For the loaders: gives feature f the n labels (copied), allocating
 * m->categories on first use.  0, or -1 with err (out of memory, a NUL in a
 * label, the same label twice). */
int forest_category_set(forest_model *m, uint32_t f, const char *const *labels,
    const size_t *lens, uint32_t n, const char *name, char *err,
    size_t errlen);

/* Frees m->categories (forest_free calls it). */
void forest_category_free(forest_model *m);

#ifdef __cplusplus
}
#endif

#endif /* FOREST_CATEGORY_H */
