/*
 * The device-side forest: what gpu_layout.cu builds from a forest_model and
 * the kernels read.  Nodes are 16 bytes (one vector load); the two children
 * of a node are adjacent (right = left + 1), trees are laid out breadth-first
 * so the first levels, which every row visits, share cache lines.  Models
 * that fit also get the same nodes, in the same places, in the compact
 * layout of the throughput kernel: 8 bytes a node (one 64-bit load, twice
 * as many nodes a cache line or a shared-memory stage holds).
 */
#ifndef FOREST_GPU_LAYOUT_H
#define FOREST_GPU_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "forest_exec.h"

#define GPU_FEATURE_MASK   0x00ffffffu
#define GPU_LEAF           (1u << 24)
#define GPU_DEFAULT_LEFT   (1u << 25)
#define GPU_CATEGORICAL    (1u << 26)
#define GPU_ZERO_MISSING   (1u << 27)
#define GPU_CAT_SET_LEFT   (1u << 28)
/* categorical: a value that is not a whole number is missing
 * (forest_model.category_whole_only) */
#define GPU_CAT_WHOLE      (1u << 29)

/* Per-thread accumulators live in registers; wider models run on the CPU. */
#define GPU_MAX_OUTPUTS    32

/* Dynamic shared memory a launch may take without an opt-in (sm_80, sm_90). */
#define GPU_SMEM_LIMIT     (48 * 1024)

/*
 * A compact node's word: flags in the low GPU_C_FLAG_BITS bits, then the
 * feature (cfeat_bits bits, as few as the model's features need), then the
 * offset from the node to its left child (the rest); offset 0 is a leaf,
 * since a child always comes after its parent.
 */
#define GPU_C_DEFAULT_LEFT 1u
#define GPU_C_ZERO_MISSING 2u
#define GPU_C_CATEGORICAL  4u
#define GPU_C_CAT_SET_LEFT 8u
#define GPU_C_FLAG_BITS    4u
/* GPU_CAT_WHOLE of a compact categorical node: in its set's bit count */
#define GPU_C_CAT_WHOLE    (1u << 31)

typedef struct {
    float     value;     /* threshold; scalar leaf value; vector leaf: first
                          * value (as uint); categorical: its set in ccat (as
                          * uint) */
    uint32_t  word;      /* flags | feature | left child offset */
} gpu_cnode;

typedef struct {
    float     value;     /* threshold; scalar leaf value; categorical: bit count (as uint) */
    uint32_t  bits;      /* feature | flags */
    uint32_t  left;      /* index of the left child in the node array; right = left + 1 */
    uint32_t  aux;       /* categorical: first bitset word; vector leaf: first value */
} gpu_node;

typedef struct {
    gpu_node  *nodes;
    uint32_t  *roots;        /* n_trees + 1: each tree's first node, then n_nodes */
    int32_t   *groups;       /* n_trees; -1 = vector leaf */
    float     *leaf_vec;     /* vector leaf values */
    uint32_t  *cat_bits;
    double    *base_score;   /* n_outputs */
    double    *divisor;      /* n_outputs */
    size_t     n_nodes, n_leaf_vec, n_cat_words;
    uint32_t   n_trees, n_features, n_outputs, leaf_width;
    int        post;
    int        cat_truncates;  /* forest_cat_truncates() */
    double     sigmoid_alpha, ratio_c;
    /* the compact layout: cnodes[i] is nodes[i]; NULL where the model does
     * not fit it (features and child offsets share 28 bits) */
    gpu_cnode *cnodes;
    uint32_t  *ccat;         /* each categorical node's set: bit count, words */
    size_t     n_ccat;
    uint32_t   cfeat_bits;
    uint32_t   max_tree;     /* nodes of the largest tree */
    uint32_t   cstage_cap;   /* nodes a shared-memory stage of trees may hold */
    uint32_t   cstage;       /* nodes of the largest stage (gpu_stage_end) under
                              * cstage_cap; 0: a tree exceeds it */
} gpu_forest;

#ifdef __cplusplus
extern "C" {
#endif

/* Host copy of the layout (malloc'd arrays); -1 with err if the model cannot
 * run on the GPU (the caller falls back to the CPU). */
int  forest_gpu_layout_build(const forest_model *m, gpu_forest *out,
    char *err, size_t errlen);
void forest_gpu_layout_free_host(gpu_forest *f);

/* A split node's test as the layout holds it (value, feature and flags,
 * categorical set in the layout's cat_bits); g->left is 0, the caller's. */
void forest_gpu_split_test(const forest_model *m, const forest_node *nd,
    gpu_node *g);

/* Sets f's cstage_cap to cap nodes (at least 1) and cstage to match:
 * the layout build takes GPU_SMEM_LIMIT's worth; the CPU execution layer's
 * check the least that holds the largest tree, for the most stages. */
void forest_gpu_compact_stage(gpu_forest *f, uint32_t cap);

/* An executor that owns a host layout of its model (the gpu-host and
 * gpu-cpu checks): created with ops, destroyed by
 * forest_gpu_layout_executor_destroy (which ops->destroy must be). */
typedef struct {
    forest_executor  base;
    gpu_forest       host;
} gpu_layout_executor;

forest_executor *forest_gpu_layout_executor_create(const forest_model *m,
    const forest_executor_ops *ops, char *err, size_t errlen);
void forest_gpu_layout_executor_destroy(forest_executor *base);

#ifdef __cplusplus
}
#endif

#endif /* FOREST_GPU_LAYOUT_H */
