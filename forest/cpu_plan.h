/*
 * The CPU executor's compiled form of a forest_model, and the block kernels
 * that walk it.  Not installed; shared by exec_cpu.c and the cpu_kernel_*.c
 * files (one per instruction set).
 *
 * Tree layouts:
 *   DENSE   complete binary tree of `depth` decision levels, children of i at
 *           2i+1 (left) and 2i+2 (right), leaves implicit at the bottom level
 *           (2^depth leaf slots; a leaf above the bottom fills every slot
 *           below it).  No child pointers, so the top levels fit in vector
 *           registers and the walk is a fixed number of steps.
 *   SPARSE  depth-first order, left child adjacent (i+1), right child in
 *           `right`; a leaf points right to itself and never goes left (NaN
 *           threshold, no default-left), so walking past it is harmless.
 *           With top > 0 the tree's first `top` levels are also laid out
 *           densely at node_off, and right[node_off + slot] names the sparse
 *           node each bottom slot of that top continues at; kernels may
 *           walk the top densely, or ignore it and start at the sparse root.
 *   GENERIC categorical or zero_is_missing nodes: walked with the
 *           reference node rules straight from the model.
 *
 * Dense trees may also be copied into `blk` for the x86 few-rows walks
 * (forest_cpu_rows_by_tree_avx2/_avx512; the portable walk is faster
 * without): the tree cut into subtrees of three levels, each subtree's
 * seven nodes (feature word and threshold side by side) in one 64-byte
 * line, so a row's path through a depth-8 tree touches three node lines
 * instead of about nine.  A last group of one or two levels takes 16 or 32
 * bytes per subtree.
 */
#ifndef CPU_PLAN_H
#define CPU_PLAN_H

#include "forest_internal.h"

/* rows walked together through each tree */
#define CPU_BLOCK        64
/* node word: feature index in the low bits, flags above */
#define CPU_FEAT_MASK    0x00ffffff
#define CPU_DEFAULT_LEFT 0x80000000u   /* sign bit: NaN goes left */
#define CPU_LEAF         0x40000000u   /* SPARSE: this node is a leaf */
/* SPARSE: the right child's distance (right - i) when below 64, else 0;
 * a kernel may step right without loading right[] (the x86 tail walks) */
#define CPU_NEAR_SHIFT   24
#define CPU_NEAR_MASK    0x3f
/* deepest tree laid out densely (2^depth leaf slots) */
#define CPU_DENSE_MAX_DEPTH 10
/* dense levels above a sparse tree */
#define CPU_SPARSE_TOP      7

typedef enum {
    CPU_TREE_DENSE = 0,
    CPU_TREE_SPARSE,
    CPU_TREE_GENERIC
} cpu_tree_kind;

/* levels per line-sized subtree of the blocked layout */
#define CPU_BLK_LEVELS 3

typedef struct {
    int32_t word;         /* feature | flags */
    float   thr;
} cpu_bnode;

/* Where level d's node number `path` (0..2^d-1, left to right) lies in a
 * blocked tree of some depth: see cpu_blk_at(). */
typedef struct {
    uint32_t base;        /* the level's subtree group, plus its first
                           * node inside a subtree */
    uint8_t  k;           /* levels above this one inside the subtree */
    uint8_t  sh;          /* log2 of the group's subtree stride in nodes */
} cpu_blk_step;

typedef struct {
    uint32_t kind;        /* cpu_tree_kind */
    uint32_t depth;       /* decision levels on the longest path */
    int32_t  group;       /* output column, -1: vector leaves */
    uint32_t model_tree;  /* GENERIC: tree index in the model */
    uint32_t top;         /* SPARSE: dense levels at node_off (0: none) */
    size_t   node_off;    /* into cpu_plan.node / thr / right */
    size_t   sparse_off;  /* SPARSE: the root of the sparse layout */
    size_t   leaf_off;    /* into cpu_plan.leaf */
    size_t   blk_off;     /* DENSE: into cpu_plan.blk (64-byte aligned) */
} cpu_tree;

typedef struct {
    const forest_model *m;
    cpu_tree  *trees;
    uint32_t   n_trees;
    uint32_t   n_features;
    uint32_t   n_outputs;
    uint32_t   leaf_width;
    uint32_t   max_depth;
    int32_t   *node;      /* feature | flags */
    float     *thr;       /* go left iff x < thr (NaN: default side) */
    int32_t   *right;     /* SPARSE only (tree-relative); 0 elsewhere */
    double    *leaf;      /* DENSE: per leaf slot; SPARSE: per node */
    float     *leaf_f;    /* the same as float when all are exact floats
                           * (half the cache), else NULL */
    cpu_bnode *blk;       /* DENSE trees, blocked (see above), or NULL */
    size_t     n_nodes, n_leaf, n_blk;
    /* per tree depth, per level */
    cpu_blk_step blk_step[CPU_DENSE_MAX_DEPTH + 1][CPU_DENSE_MAX_DEPTH];
} cpu_plan;

/* Compiles m (already validated), with the blocked copy of its dense trees
 * when `blocked`.  0, or -1 with err. */
int forest_cpu_plan_build(cpu_plan *p, const forest_model *m, int blocked,
    char *err, size_t errlen);
void forest_cpu_plan_free(cpu_plan *p);

/*
 * A block kernel adds, for rows [0, n) of a block (n <= CPU_BLOCK, rows
 * n_features apart), every tree's leaf values into acc[k * CPU_BLOCK + r]
 * (acc zeroed by the caller), in tree order.
 */
typedef void (*cpu_block_fn)(const cpu_plan *p, const float *rows, size_t n,
    double *acc);

void forest_cpu_block_scalar(const cpu_plan *p, const float *rows,
    size_t n, double *acc);
void forest_cpu_block_avx2(const cpu_plan *p, const float *rows,
    size_t n, double *acc);
void forest_cpu_block_avx512(const cpu_plan *p, const float *rows,
    size_t n, double *acc);
void forest_cpu_block_neon(const cpu_plan *p, const float *rows,
    size_t n, double *acc);

/* Whether this build has the block kernel FOREST_SIMD calls `name` and
 * this CPU runs it. */
int forest_cpu_simd_runs(const char *name);

/* Few rows: each row walks many trees at once instead (any CPU; AVX2 and
 * AVX-512 one tree per lane).  Same contract as a block kernel. */
void forest_cpu_rows_by_tree(const cpu_plan *p, const float *rows,
    size_t n, double *acc);
void forest_cpu_rows_by_tree_avx2(const cpu_plan *p, const float *rows,
    size_t n, double *acc);
void forest_cpu_rows_by_tree_avx512(const cpu_plan *p, const float *rows,
    size_t n, double *acc);

/* Trees first..last-1 (at most CPU_ROW_TREES) for the row at r of a block,
 * walked in lock step so their loads overlap. */
#define CPU_ROW_TREES 16
void forest_cpu_trees_one_row(const cpu_plan *p, uint32_t first,
    uint32_t last, const float *row, size_t r, double *acc);

/* GENERIC trees, shared by every kernel. */
void forest_cpu_tree_generic(const cpu_plan *p, const cpu_tree *tr,
    const float *rows, size_t n, double *acc);

/* A tree's leaves add cpu_tree_width() values, to the output columns from
 * cpu_tree_col0() on: one column for a tree of an output group, else all
 * of a vector leaf.  always_inline: with plain inline GCC 12 compiles the
 * SIMD kernels into different code; with it, into the same code as the
 * expressions written out in place. */
#define CPU_ALWAYS_INLINE static inline __attribute__((always_inline))

CPU_ALWAYS_INLINE uint32_t
cpu_tree_width(const cpu_plan *p, const cpu_tree *tr)
{
    return tr->group >= 0 ? 1 : p->leaf_width;
}

CPU_ALWAYS_INLINE size_t
cpu_tree_col0(const cpu_tree *tr)
{
    return tr->group >= 0 ? (size_t) tr->group : 0;
}

/* Index in a blocked tree of the node at level s's `path`. */
CPU_ALWAYS_INLINE uint32_t
cpu_blk_at(const cpu_blk_step *s, uint32_t path)
{
    return s->base + ((path >> s->k) << s->sh)
           + (path & ((1u << s->k) - 1));
}

/* The node words and thresholds of trees tr[0..nt), walked together. */
CPU_ALWAYS_INLINE void
cpu_tree_tables(const cpu_plan *p, const cpu_tree *tr, int nt,
    const int32_t **node, const float **thr)
{
    for (int k = 0; k < nt; k++) {
        node[k] = p->node + tr[k].node_off;
        thr[k] = p->thr + tr[k].node_off;
    }
}

/* n trees from tr on are all dense, of one depth (walked together) */
CPU_ALWAYS_INLINE int
cpu_same_dense(const cpu_tree *tr, uint32_t n)
{
    for (uint32_t k = 1; k < n; k++) {
        if (tr[k].kind != CPU_TREE_DENSE || tr[k].depth != tr->depth) {
            return 0;
        }
    }
    return 1;
}

/* n sparse trees from tr on have dense tops of one depth (walked together) */
CPU_ALWAYS_INLINE int
cpu_same_tops(const cpu_tree *tr, uint32_t n)
{
    for (uint32_t k = 1; k < n; k++) {
        if (tr[k].top != tr->top) {
            return 0;
        }
    }
    return 1;
}

/*
 * Lane compaction below sparse tops (the x86 vector kernels): the (row,
 * tree) lanes still inside up to CPU_SPARSE_CHUNK sparse trees, compacted
 * into as few vectors as they fill, step one level a round and leave at
 * their leaf.  A lane's node is counted from the sparse root of the
 * chunk's first tree (the plan's nodes number fewer than 2^31); its tag is
 * its tree in the chunk << CPU_TAG_SHIFT | its row.
 */
#define CPU_SPARSE_CHUNK 8
#define CPU_TAG_SHIFT    6
#define CPU_TAIL_MAX     (CPU_SPARSE_CHUNK * CPU_BLOCK + 16)
_Static_assert(CPU_BLOCK == 1 << CPU_TAG_SHIFT,
    "a tag's row takes CPU_TAG_SHIFT bits");

/* Lanes walking on: node, row offset, tag and node word. */
typedef struct {
    int32_t at[CPU_TAIL_MAX], roff[CPU_TAIL_MAX], tag[CPU_TAIL_MAX];
    int32_t word[CPU_TAIL_MAX];
    int     n;
} cpu_tail_lanes;

/* Lanes at their leaf: node and tag. */
typedef struct {
    int32_t at[CPU_TAIL_MAX], tag[CPU_TAIL_MAX];
    int     n;
} cpu_tail_done;

/* The sparse trees from t on (at most CPU_SPARSE_CHUNK) walked together. */
CPU_ALWAYS_INLINE uint32_t
cpu_sparse_chunk(const cpu_plan *p, uint32_t t)
{
    uint32_t nt = 1;

    while (nt < CPU_SPARSE_CHUNK && t + nt < p->n_trees
           && p->trees[t + nt].kind == CPU_TREE_SPARSE)
    {
        nt++;
    }
    return nt;
}

/* fin[tag]: the leaf (tree-relative) each finished lane reached; base: per
 * tree of the chunk, its sparse root from the first's. */
CPU_ALWAYS_INLINE void
cpu_tail_leaves(const cpu_tail_done *done, const int32_t *base, int32_t *fin)
{
    for (int i = 0; i < done->n; i++) {
        fin[done->tag[i]] = done->at[i] - base[done->tag[i] >> CPU_TAG_SHIFT];
    }
}

/* Adds the leaf values at `slot` (per row) of one tree into acc. */
static inline void
cpu_add_leaf(const cpu_plan *p, const cpu_tree *tr, size_t r, uint32_t slot,
    double *acc)
{
    uint32_t w = cpu_tree_width(p, tr);
    size_t   col0 = cpu_tree_col0(tr);
    size_t   at = tr->leaf_off + (size_t) slot * w;

    for (uint32_t k = 0; k < w; k++) {
        acc[(col0 + k) * CPU_BLOCK + r] += p->leaf_f != NULL
                                           ? (double) p->leaf_f[at + k]
                                           : p->leaf[at + k];
    }
}

/*
 * The x86 few-rows walks, one tree per lane: a kernel's group function
 * walks trees tr[0..nv * vl) (vl trees a vector, nv vectors) for rows
 * [0, n) and adds their leaves with cpu_row_leaves().
 */
typedef void (*cpu_rows_group_fn)(const cpu_plan *p, const cpu_tree *tr,
    const float *rows, size_t n, double *acc, int nv);

/* Whether trees tr[0..n) can be walked as one group: dense of one depth,
 * or all sparse (node and blk indices are gathered as int32). */
CPU_ALWAYS_INLINE int
cpu_few_rows_fit(const cpu_plan *p, const cpu_tree *tr, uint32_t n)
{
    if (tr->kind == CPU_TREE_DENSE) {
        return p->n_blk <= INT32_MAX && cpu_same_dense(tr, n);
    }
    if (tr->kind != CPU_TREE_SPARSE || p->n_nodes > INT32_MAX) {
        return 0;
    }
    for (uint32_t k = 1; k < n; k++) {
        if (tr[k].kind != CPU_TREE_SPARSE) {
            return 0;
        }
    }
    return 1;
}

/* Defines `name`, a kernel's cpu_rows_group_fn: kind(p, tr, rows, n, acc,
 * nv) with nv a constant (1, 2, 4, and 8 where max_nv is 8), each width
 * compiled to a walk of its own. */
#define CPU_ROWS_GROUP_FN(name, kind, max_nv)                               \
static void                                                                 \
name(const cpu_plan *p, const cpu_tree *tr, const float *rows, size_t n,    \
    double *acc, int nv)                                                    \
{                                                                           \
    if ((max_nv) >= 8 && nv == 8) {                                         \
        kind(p, tr, rows, n, acc, (max_nv) >= 8 ? 8 : 1);                   \
    } else if (nv == 4) {                                                   \
        kind(p, tr, rows, n, acc, 4);                                       \
    } else if (nv == 2) {                                                   \
        kind(p, tr, rows, n, acc, 2);                                       \
    } else {                                                                \
        kind(p, tr, rows, n, acc, 1);                                       \
    }                                                                       \
}

/* Trees in groups of nv * vl (nv the largest power of two up to max_nv
 * that fits), the rest CPU_ROW_TREES at a time by the portable walk. */
CPU_ALWAYS_INLINE void
cpu_rows_by_tree_groups(const cpu_plan *p, const float *rows, size_t n,
    double *acc, uint32_t vl, int max_nv, cpu_rows_group_fn group)
{
    for (uint32_t t = 0; t < p->n_trees;) {
        const cpu_tree *tr = &p->trees[t];
        uint32_t        left = p->n_trees - t, last;
        int             nv = max_nv;

        while (nv > 0 && ((uint32_t) nv * vl > left
                          || !cpu_few_rows_fit(p, tr, (uint32_t) nv * vl)))
        {
            nv /= 2;
        }
        if (nv > 0) {
            group(p, tr, rows, n, acc, nv);
            t += (uint32_t) nv * vl;
            continue;
        }
        last = left < CPU_ROW_TREES ? p->n_trees : t + CPU_ROW_TREES;
        for (size_t r = 0; r < n; r++) {
            forest_cpu_trees_one_row(p, t, last, rows + r * p->n_features, r,
                acc);
        }
        t = last;
    }
}

/* Trees tr[0..n) all add to one output column. */
CPU_ALWAYS_INLINE int
cpu_same_column(const cpu_tree *tr, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++) {
        if (tr[j].group != tr[0].group || tr[j].group < 0) {
            return 0;
        }
    }
    return 1;
}

/* Trees tr[0..nt) of row r reached leaf slot[j] (a dense tree's leaf
 * number, a sparse tree's node); leaf_at[j] = tr[j].leaf_off.  Added in
 * tree order; the trees of one output column in a register rather than
 * through acc (a store-to-load chain). */
CPU_ALWAYS_INLINE void
cpu_row_leaves(const cpu_plan *p, const cpu_tree *tr, uint32_t nt, size_t r,
    const uint32_t *slot, const size_t *leaf_at, int one_column, double *acc)
{
    double *a = acc + cpu_tree_col0(tr) * CPU_BLOCK + r;
    double  sum = *a;

    if (!one_column) {
        for (uint32_t j = 0; j < nt; j++) {
            cpu_add_leaf(p, &tr[j], r, slot[j], acc);
        }
    } else if (p->leaf_f != NULL) {
        for (uint32_t j = 0; j < nt; j++) {
            sum += (double) p->leaf_f[leaf_at[j] + slot[j]];
        }
        *a = sum;
    } else {
        for (uint32_t j = 0; j < nt; j++) {
            sum += p->leaf[leaf_at[j] + slot[j]];
        }
        *a = sum;
    }
}

#endif /* CPU_PLAN_H */
