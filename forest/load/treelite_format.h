/*
 * Treelite checkpoint bytes -> views into them: the reading half of the
 * Treelite loader (treelite_read.c), used by load_treelite.c.
 * Nothing is copied; every view points into the caller's buffer, and every
 * count has been checked against the bytes left.
 */
#ifndef FOREST_TREELITE_FORMAT_H
#define FOREST_TREELITE_FORMAT_H

#include "bytes.h"
#include "forest_internal.h"

#include <string.h>

enum { TL_FLOAT32 = 2, TL_FLOAT64 = 3 };
enum { TL_OP_EQ = 1, TL_OP_LT, TL_OP_LE, TL_OP_GT, TL_OP_GE };
enum { TL_NODE_LEAF = 0, TL_NODE_NUMERIC = 1, TL_NODE_CATEGORICAL = 2 };
enum { TL_TASK_BINARY = 0, TL_TASK_REGRESSOR, TL_TASK_MULTICLASS,
       TL_TASK_RANKING, TL_TASK_ISOLATION_FOREST };

/* One node field of a tree: element i is at base + i * stride, so the
 * column arrays of 4.x and the node structs of 3.9 read the same way. */
typedef struct {
    const uint8_t *base;
    size_t         stride;
} tl_field;

typedef struct {
    uint32_t  n_nodes;
    tl_field  node_type, cleft, cright, split_index, default_left,
              leaf_value, threshold, cmp, cat_right, lv_begin, lv_end,
              cat_begin, cat_end;
    /* node statistics: u64 data_count, f64 sum_hess, each with a u8
     * "present" flag per node; base NULL when the tree stores none */
    tl_field  data_count, data_count_present, sum_hess, sum_hess_present;
    int       sindex_packed;    /* 3.9: default_left is bit 31 of split_index */
    int       has_lv;           /* leaf_vector_begin/end present */
    int       has_cat;          /* category_list_begin/end present */
    const uint8_t *leaf_vector, *cat_list;
    uint64_t  n_leaf_vector, n_cat_list;
} tl_tree;

typedef struct {
    int32_t   major, minor, patch;
    int       thr64, leaf64;
    uint64_t  n_trees;
    int32_t   n_features;
    uint8_t   task;
    uint8_t   average;
    uint32_t  n_targets, max_class, shape0, shape1;
    const uint8_t *num_class;         /* int32[n_targets], NULL: max_class */
    const uint8_t *target_id, *class_id;  /* int32[n_trees] or NULL (3.9) */
    int32_t   v3_class_mod;           /* 3.9 grove per class: class = t % K */
    int32_t   v3_class_all;           /* 3.9 prob-dist leaves: class -1 */
    char      post[64];
    double    sigmoid_alpha, ratio_c;
    const uint8_t *base_scores;       /* float64[...] (4.x) */
    uint64_t  n_base_scores;
    const uint8_t *attributes;        /* JSON text (4.x), not NUL-terminated */
    uint64_t  n_attributes;
    double    v3_global_bias;
} tl_header;

static inline int32_t
le_i32(const uint8_t *p)
{
    uint32_t v = forest_le_u32(p);
    int32_t  s;

    memcpy(&s, &v, sizeof(s));
    return s;
}

static inline double
le_real(const uint8_t *p, int is64)
{
    return is64 ? forest_le_f64(p) : (double) forest_le_f32(p);
}

static inline const uint8_t *
at(tl_field f, uint32_t i)
{
    return f.base + (size_t) i * f.stride;
}

/* Header, model-level fields and optional-field slots (4.x or 3.9). */
int forest_tl_read_header(forest_reader *r, tl_header *h);

/* Sets m->category_whole_only from the header's attributes
 * (category_treelite.c); 0, or -1 with err. */
int forest_tl_category_attributes(forest_model *m, const uint8_t *json,
    size_t len, const char *name, char *err, size_t errlen);
/* One tree: the 4.x column arrays, or the 3.9 array of node structs. */
int forest_tl_read_tree_v4(forest_reader *r, const tl_header *h, tl_tree *t);
int forest_tl_read_tree_v3(forest_reader *r, const tl_header *h, tl_tree *t);

#endif /* FOREST_TREELITE_FORMAT_H */
