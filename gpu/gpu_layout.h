/*
 * The device-side forest: what gpu_layout.cu builds from a forest_model and
 * the kernel reads.  Nodes are 16 bytes (one vector load); the two children
 * of a node are adjacent (right = left + 1), trees are laid out breadth-first
 * so the first levels, which every row visits, share cache lines.
 */
#ifndef FOREST_GPU_LAYOUT_H
#define FOREST_GPU_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "forest.h"

#define GPU_FEATURE_MASK   0x00ffffffu
#define GPU_LEAF           (1u << 24)
#define GPU_DEFAULT_LEFT   (1u << 25)
#define GPU_CATEGORICAL    (1u << 26)
#define GPU_ZERO_MISSING   (1u << 27)
#define GPU_CAT_SET_LEFT   (1u << 28)

/* Per-thread accumulators live in registers; wider models run on the CPU. */
#define GPU_MAX_OUTPUTS    32

typedef struct {
    float     value;     /* threshold; scalar leaf value; categorical: bit count (as uint) */
    uint32_t  bits;      /* feature | flags */
    uint32_t  left;      /* index of the left child in the node array; right = left + 1 */
    uint32_t  aux;       /* categorical: first bitset word; vector leaf: first value */
} gpu_node;

typedef struct {
    gpu_node  *nodes;
    uint32_t  *roots;        /* n_trees */
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
} gpu_forest;

#ifdef __cplusplus
extern "C" {
#endif

/* Host copy of the layout (malloc'd arrays); -1 with err if the model cannot
 * run on the GPU (the caller falls back to the CPU). */
int  forest_gpu_layout_build(const forest_model *m, gpu_forest *out,
    char *err, size_t errlen);
void forest_gpu_layout_free_host(gpu_forest *f);

#ifdef __cplusplus
}
#endif

#endif /* FOREST_GPU_LAYOUT_H */
