/*
 * XGBoost model builder shared by the three XGBoost loaders: each decodes
 * its encoding into xgb_learner + one xgb_tree per tree; this turns them into
 * a forest_model with XGBoost's prediction semantics.
 */
#ifndef FOREST_XGBOOST_MODEL_H
#define FOREST_XGBOOST_MODEL_H

#include "forest_internal.h"

/* One tree as the file stores it (node 0 is the root). */
typedef struct {
    uint32_t        n_nodes;
    const int32_t  *left;          /* -1 on leaves */
    const int32_t  *right;
    const int64_t  *feature;       /* split feature (unchecked) */
    const float    *cond;          /* split condition, or the leaf value */
    const uint8_t  *default_left;
    const double   *cover;             /* sum_hessian; NULL: not stored */
    const uint8_t  *is_categorical;    /* NULL: all numeric */
    /* categorical node i: categories cats[cat_begin[i] .. + cat_count[i]) */
    const uint32_t *cat_begin;
    const uint32_t *cat_count;
    const int64_t  *cats;
    size_t          n_cats;
    /* vector leaves (leaf_width > 1): leaf i's values start at
     * leaf_vec[leaf_index[i] * leaf_width]; n_leaf_vec values in all */
    uint32_t        leaf_width;
    const int64_t  *leaf_index;
    const float    *leaf_vec;
    size_t          n_leaf_vec;
} xgb_tree;

typedef struct {
    char      objective[64];
    uint32_t  version[3];
    int       version_parts;       /* fields of version known: 0, 2 or 3 */
    uint32_t  n_features;
    uint32_t  num_class;           /* 0 or 1: not multiclass */
    uint32_t  num_target;          /* 0 or 1: one target */
    /* in output space, as the file stores it; 1 value or one per output */
    const double *base_score;
    uint32_t  n_base_score;
    uint32_t  n_trees;
    uint32_t  num_parallel_tree;   /* 0: not stored (1) */
} xgb_learner;

typedef struct xgb_builder xgb_builder;

/* Checks the objective and sizes; NULL + "name: reason" on refusal. */
xgb_builder *forest_xgb_builder_new(const xgb_learner *l, const char *name,
    char *err, size_t errlen);

/* Tree t of l->n_trees, in file order.  group: output column, or -1 for a
 * vector-leaf tree; weight multiplies its leaves (dart), 1 otherwise. */
int forest_xgb_builder_add_tree(xgb_builder *b, const xgb_tree *t,
    int64_t group, double weight, char *err, size_t errlen);

/* feature_names: n_features strings or NULL; types "c" = categorical. */
int forest_xgb_builder_set_features(xgb_builder *b, const char *const *names,
    const char *const *types, char *err, size_t errlen);

/* The learner attribute best_iteration (early stopping), when stored. */
void forest_xgb_builder_set_best(xgb_builder *b, uint32_t best_iteration);

/* Consumes b (also on failure). */
forest_model *forest_xgb_builder_finish(xgb_builder *b, forest_format format,
    char *err, size_t errlen);
void forest_xgb_builder_free(xgb_builder *b);

/* The JSON / UBJSON model document (both encode the same schema). */
struct doc;
forest_model *forest_xgb_model_from_doc(const struct doc *d,
    forest_format format, const char *name, char *err, size_t errlen);

#endif /* FOREST_XGBOOST_MODEL_H */
