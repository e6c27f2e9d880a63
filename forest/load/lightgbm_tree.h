/*
 * One "Tree=N" block of a LightGBM text model to forest nodes: shared by
 * the loader (load_lightgbm.c) and its tree builder (lightgbm_tree.c).
 */
#ifndef FOREST_LIGHTGBM_TREE_H
#define FOREST_LIGHTGBM_TREE_H

#include "forest_internal.h"
#include "text_scan.h"

/* the lines of one Tree=N block the loader needs (spans into the file) */
typedef struct {
    text_span num_leaves, num_cat, split_feature, threshold, decision_type,
              left_child, right_child, leaf_value, cat_boundaries,
              cat_threshold, is_linear, internal_count, leaf_count;
} lgb_tree_text;

/* the model being filled, where errors go, and per-tree scratch */
typedef struct {
    forest_model *m;
    const char   *name;
    char         *err;
    size_t        errlen;
    size_t        cap_nodes, cap_leaves, cap_cat, cap_trees, cap_info;
    /* sized for the largest tree so far */
    size_t        cap_scratch;
    int32_t      *feature, *dtype, *child[2], *queue;
    double       *threshold, *leaf;
    double       *cover;            /* internal nodes, then leaves */
    uint32_t     *cat_bounds;
    uint8_t      *seen;             /* internal nodes, then leaves */
} lgb_trees;

#define LGB_FAIL(T, ...) \
    (forest_errf((T)->err, (T)->errlen, (T)->name, __VA_ARGS__), -1)

/* Records `key=value` of a tree block when it is one the builder reads. */
void forest_lgb_tree_line(lgb_tree_text *tx, text_span key, text_span value);

/* Appends tree t (nodes, leaf values, category bitsets) to T->m. */
int forest_lgb_build_tree(lgb_trees *T, uint32_t t, const lgb_tree_text *tx);

/* One integer in [lo, hi]; what names the field in the error. */
int forest_lgb_one_int(lgb_trees *T, const char *what, text_span v,
    long long lo, long long hi, long long *out);

void forest_lgb_trees_free(lgb_trees *T);

#endif /* FOREST_LIGHTGBM_TREE_H */
