/*
 * Portable block kernel: plain C, rows of a block walked in groups whose
 * independent loads overlap.  Used where no vector kernel applies.
 */
#include "cpu_plan.h"

/* rows walked in lock step through a dense tree */
#define LANES 8

static int
takes_left(int32_t word, float x, float t)
{
    /* NaN fails the comparison and goes where the sign bit says */
    return (x < t) | ((x != x) & (word < 0));
}

static void
dense_tree(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    size_t n, double *acc)
{
    const int32_t *node = p->node + tr->node_off;
    const float   *thr = p->thr + tr->node_off;
    uint32_t       first_leaf = (1u << tr->depth) - 1;

    for (size_t r0 = 0; r0 < n; r0 += LANES) {
        const float *row[LANES];
        uint32_t     idx[LANES];
        size_t       nr = n - r0 < LANES ? n - r0 : LANES;

        for (size_t j = 0; j < LANES; j++) {
            /* spare lanes repeat the first row; their result is dropped */
            row[j] = rows + (r0 + (j < nr ? j : 0)) * p->n_features;
            idx[j] = 0;
        }
        for (uint32_t d = 0; d < tr->depth; d++) {
            for (size_t j = 0; j < LANES; j++) {
                int32_t w = node[idx[j]];
                float   x = row[j][w & CPU_FEAT_MASK];

                idx[j] = 2 * idx[j] + 2 - (uint32_t) takes_left(w, x, thr[idx[j]]);
            }
        }
        for (size_t j = 0; j < nr; j++) {
            cpu_add_leaf(p, tr, r0 + j, idx[j] - first_leaf, acc);
        }
    }
}

static void
sparse_tree(const cpu_plan *p, const cpu_tree *tr, const float *rows,
    size_t n, double *acc)
{
    const int32_t *node = p->node + tr->sparse_off;
    const float   *thr = p->thr + tr->sparse_off;
    const int32_t *right = p->right + tr->sparse_off;

    for (size_t r = 0; r < n; r++) {
        const float *row = rows + r * p->n_features;
        uint32_t     i = 0;

        while (!(node[i] & CPU_LEAF)) {
            int32_t w = node[i];

            i = takes_left(w, row[w & CPU_FEAT_MASK], thr[i])
                ? i + 1 : (uint32_t) right[i];
        }
        cpu_add_leaf(p, tr, r, i, acc);
    }
}

#define TREE_LANES CPU_ROW_TREES

/* Trees first..last-1 for one row, walked in lock step so their loads
 * overlap, then their leaves added in tree order.  A sparse tree's leaf
 * points to itself, so stepping it further is harmless. */
void
forest_cpu_trees_one_row(const cpu_plan *p, uint32_t first,
    uint32_t last, const float *row, size_t r, double *acc)
{
    uint32_t idx[TREE_LANES], max_depth = 0, dense_depth = 0;

    for (uint32_t t = first; t < last; t++) {
        const cpu_tree *tr = &p->trees[t];

        idx[t - first] = 0;
        if (tr->kind != CPU_TREE_GENERIC && tr->depth > max_depth) {
            max_depth = tr->depth;
        }
        if (tr->kind == CPU_TREE_DENSE && tr->depth > dense_depth) {
            dense_depth = tr->depth;
        }
    }
    for (uint32_t d = 0, active = 1; d < max_depth && active; d++) {
        /* stop once every sparse tree sits on a leaf and dense ones are done */
        active = d + 1 < dense_depth;
        for (uint32_t t = first; t < last; t++) {
            const cpu_tree *tr = &p->trees[t];
            uint32_t        i = idx[t - first];
            size_t          base = tr->kind == CPU_TREE_DENSE ? tr->node_off
                                                              : tr->sparse_off;
            int32_t         w = p->node[base + i];
            int             left;

            if (tr->kind == CPU_TREE_GENERIC || d >= tr->depth) {
                continue;
            }
            left = takes_left(w, row[w & CPU_FEAT_MASK], p->thr[base + i]);
            if (tr->kind == CPU_TREE_DENSE) {
                idx[t - first] = 2 * i + 2 - (uint32_t) left;
            } else {
                uint32_t right = (uint32_t) p->right[base + i];

                idx[t - first] = left ? i + 1 : right;
                active += !(w & CPU_LEAF);
            }
        }
    }
    for (uint32_t t = first; t < last; t++) {
        const cpu_tree *tr = &p->trees[t];

        switch (tr->kind) {
        case CPU_TREE_DENSE:
            cpu_add_leaf(p, tr, r, idx[t - first] - ((1u << tr->depth) - 1),
                acc);
            break;
        case CPU_TREE_SPARSE:
            cpu_add_leaf(p, tr, r, idx[t - first], acc);
            break;
        default:
            forest_cpu_tree_generic(p, tr, row, 1, acc + r);
            break;
        }
    }
}

void
forest_cpu_rows_by_tree(const cpu_plan *p, const float *rows, size_t n,
    double *acc)
{
    for (size_t r = 0; r < n; r++) {
        for (uint32_t t = 0; t < p->n_trees; t += TREE_LANES) {
            uint32_t last = p->n_trees - t < TREE_LANES ? p->n_trees
                                                        : t + TREE_LANES;

            forest_cpu_trees_one_row(p, t, last, rows + r * p->n_features, r,
                                     acc);
        }
    }
}

void
forest_cpu_block_scalar(const cpu_plan *p, const float *rows, size_t n,
    double *acc)
{
    for (uint32_t t = 0; t < p->n_trees; t++) {
        const cpu_tree *tr = &p->trees[t];

        switch (tr->kind) {
        case CPU_TREE_DENSE:
            dense_tree(p, tr, rows, n, acc);
            break;
        case CPU_TREE_SPARSE:
            sparse_tree(p, tr, rows, n, acc);
            break;
        default:
            forest_cpu_tree_generic(p, tr, rows, n, acc);
            break;
        }
    }
}
