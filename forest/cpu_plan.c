/*
 * Compiles a forest_model into the CPU executor's layout (cpu_plan.h).
 */
#include "cpu_plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* spare entries after the node arrays: the vector kernels load whole
 * registers of a tree's top levels */
#define CPU_NODE_PAD 64

typedef struct {
    uint32_t depth;
    uint32_t leaves;
    int      generic;
} tree_shape;

#define UNREACHED UINT32_MAX

/* Children always follow their parent (forest_validate), so one forward
 * pass gives every node's level; nodes no parent names stay UNREACHED. */
static void
measure_tree(const forest_model *m, uint32_t t, uint32_t *level,
    tree_shape *s)
{
    const forest_node *tree = m->nodes + m->tree_begin[t];
    uint32_t           n = m->tree_begin[t + 1] - m->tree_begin[t];

    memset(s, 0, sizeof(*s));
    for (uint32_t i = 0; i < n; i++) {
        level[i] = UNREACHED;
    }
    level[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        const forest_node *nd = &tree[i];

        if (level[i] == UNREACHED) {
            continue;
        }
        if (nd->kind == FOREST_NODE_LEAF) {
            s->leaves++;
            if (level[i] > s->depth) {
                s->depth = level[i];
            }
            continue;
        }
        if (nd->kind == FOREST_NODE_CATEGORICAL || nd->zero_is_missing) {
            s->generic = 1;
        }
        level[nd->left] = level[nd->right] = level[i] + 1;
    }
}

/* n: the tree's nodes; width: values per leaf */
static uint32_t
choose_kind(const tree_shape *s, uint32_t n, uint32_t width)
{
    /* vector kernels index leaf values with int32 */
    if (s->generic || (uint64_t) n * width > INT32_MAX / 2) {
        return CPU_TREE_GENERIC;
    }
    /* padding a lopsided tree to a complete one costs more cache than the
     * pointer-free walk saves; wide leaves are padded at most 4x */
    if ((s->depth <= 6 && width == 1)
        || (s->depth <= CPU_DENSE_MAX_DEPTH
            && (1u << s->depth) <= 4 * s->leaves))
    {
        return CPU_TREE_DENSE;
    }
    return CPU_TREE_SPARSE;
}

static int32_t
node_word(const forest_node *nd)
{
    return (int32_t) ((uint32_t) nd->feature
                      | (nd->default_left ? CPU_DEFAULT_LEFT : 0u));
}

static void
copy_leaf(cpu_plan *p, const cpu_tree *tr, const forest_node *nd,
    size_t slot)
{
    uint32_t w = cpu_tree_width(p, tr);

    memcpy(&p->leaf[tr->leaf_off + slot * w], &p->m->leaf_values[nd->leaf],
        w * sizeof(double));
}

/* order: scratch for the depth-first order (new index per model node) */
static void
fill_sparse(cpu_plan *p, const cpu_tree *tr, uint32_t t, uint32_t *order,
    uint32_t *stack)
{
    const forest_model *m = p->m;
    const forest_node  *tree = m->nodes + m->tree_begin[t];
    uint32_t            n = m->tree_begin[t + 1] - m->tree_begin[t];
    uint32_t            top = 0, next = 0;

    for (uint32_t i = 0; i < n; i++) {
        order[i] = UNREACHED;
    }

    /* right pushed first so the left child is placed right after its parent */
    stack[top++] = 0;
    while (top > 0) {
        uint32_t i = stack[--top];

        order[i] = next++;
        if (tree[i].kind != FOREST_NODE_LEAF) {
            stack[top++] = (uint32_t) tree[i].right;
            stack[top++] = (uint32_t) tree[i].left;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        const forest_node *nd = &tree[i];
        size_t             at = tr->sparse_off + order[i];

        if (order[i] == UNREACHED) {
            continue;
        }
        if (nd->kind == FOREST_NODE_LEAF) {
            p->node[at] = (int32_t) CPU_LEAF;
            p->thr[at] = NAN;
            p->right[at] = (int32_t) order[i];
            copy_leaf(p, tr, nd, order[i]);
        } else {
            uint32_t near = order[nd->right] - order[i];

            near = near <= CPU_NEAR_MASK ? near : 0;
            p->node[at] = node_word(nd)
                          | (int32_t) (near << CPU_NEAR_SHIFT);
            p->thr[at] = nd->threshold;
            p->right[at] = (int32_t) order[nd->right];
        }
    }
}

/*
 * The complete tree of the first `levels` levels, children implicit
 * (2i+1, 2i+2).  pos: per model node, its index in that tree.  Each bottom
 * slot is filled by `order == NULL`: a dense tree (levels = its depth), a
 * copy of the leaf above it (padding below a shallow leaf: any direction
 * lands on a copy of it); else the dense top of a sparse tree: the sparse
 * node (order) the walk continues at.
 */
static void
fill_complete(cpu_plan *p, const cpu_tree *tr, uint32_t t, uint32_t levels,
    uint32_t *pos, const uint32_t *level, const uint32_t *order)
{
    const forest_model *m = p->m;
    const forest_node  *tree = m->nodes + m->tree_begin[t];
    uint32_t            n = m->tree_begin[t + 1] - m->tree_begin[t];
    uint32_t            k = levels;

    for (uint32_t i = 0; i + 1 < (1u << k); i++) {
        p->node[tr->node_off + i] = 0;
        p->thr[tr->node_off + i] = NAN;
    }
    pos[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        const forest_node *nd = &tree[i];

        if (level[i] == UNREACHED || level[i] > k) {
            continue;
        }
        if (nd->kind != FOREST_NODE_LEAF && level[i] < k) {
            p->node[tr->node_off + pos[i]] = node_word(nd);
            p->thr[tr->node_off + pos[i]] = nd->threshold;
            pos[nd->left] = 2 * pos[i] + 1;
            pos[nd->right] = 2 * pos[i] + 2;
            continue;
        }
        {
            uint32_t span = 1u << (k - level[i]);
            uint32_t first = (pos[i] - ((1u << level[i]) - 1)) * span;

            for (uint32_t s = first; s < first + span; s++) {
                if (order == NULL) {
                    copy_leaf(p, tr, nd, s);
                } else {
                    p->right[tr->node_off + s] = (int32_t) order[i];
                }
            }
        }
    }
}

/* The blocked layout of a dense tree of `depth` levels: fills
 * steps[0..depth) and returns its node count, a whole number of lines. */
static uint32_t
blk_layout(uint32_t depth, cpu_blk_step *steps)
{
    uint32_t size = 0;

    for (uint32_t g = 0; CPU_BLK_LEVELS * g < depth; g++) {
        uint32_t r = depth - CPU_BLK_LEVELS * g;

        r = r > CPU_BLK_LEVELS ? CPU_BLK_LEVELS : r;
        for (uint32_t k = 0; k < r; k++) {
            steps[CPU_BLK_LEVELS * g + k] = (cpu_blk_step) {
                size + (1u << k) - 1, (uint8_t) k, (uint8_t) r };
        }
        /* 2^(3g) subtrees of 2^r node slots (r = 3: one line each) */
        size += 1u << (CPU_BLK_LEVELS * g + r);
    }
    return (size + 7) & ~7u;
}

/* The dense tree's level-order nodes copied to their blocked places. */
static void
fill_blk(cpu_plan *p, const cpu_tree *tr)
{
    const cpu_blk_step *steps = p->blk_step[tr->depth];

    for (uint32_t d = 0; d < tr->depth; d++) {
        for (uint32_t path = 0; path < (1u << d); path++) {
            size_t i = tr->node_off + (1u << d) - 1 + path;

            p->blk[tr->blk_off + cpu_blk_at(&steps[d], path)] =
                (cpu_bnode) { p->node[i], p->thr[i] };
        }
    }
}

static int
allocate(cpu_plan *p, char *err, size_t errlen)
{
    size_t nn = p->n_nodes + CPU_NODE_PAD;

    p->node = calloc(nn, sizeof(int32_t));
    p->thr = calloc(nn, sizeof(float));
    p->right = calloc(nn, sizeof(int32_t));
    p->leaf = calloc(p->n_leaf ? p->n_leaf : 1, sizeof(double));
    if (p->n_blk > 0) {
        /* n_blk is a whole number of 64-byte lines */
        p->blk = aligned_alloc(64, p->n_blk * sizeof(cpu_bnode));
    }
    if (p->node == NULL || p->thr == NULL || p->right == NULL
        || p->leaf == NULL || (p->n_blk > 0 && p->blk == NULL))
    {
        forest_errf(err, errlen, "cpu executor", "out of memory for the "
            "compiled model (%zu nodes, %zu leaf values)", p->n_nodes,
            p->n_leaf);
        return -1;
    }
    if (p->blk != NULL) {
        memset(p->blk, 0, p->n_blk * sizeof(cpu_bnode));
    }
    return 0;
}

/* XGBoost leaves are float32 already: summing them from floats is exact */
static void
narrow_leaves(cpu_plan *p)
{
    for (size_t i = 0; i < p->n_leaf; i++) {
        if ((double) (float) p->leaf[i] != p->leaf[i]) {
            return;
        }
    }
    p->leaf_f = malloc((p->n_leaf ? p->n_leaf : 1) * sizeof(float));
    for (size_t i = 0; p->leaf_f != NULL && i < p->n_leaf; i++) {
        p->leaf_f[i] = (float) p->leaf[i];
    }
}

int
forest_cpu_plan_build(cpu_plan *p, const forest_model *m, int blocked,
    char *err, size_t errlen)
{
    uint32_t   max_nodes = 1, *level, *pos, *stack, *order;
    uint32_t   blk_size[CPU_DENSE_MAX_DEPTH + 1];
    tree_shape s;
    int        rc = -1;

    memset(p, 0, sizeof(*p));
    p->m = m;
    p->n_trees = m->n_trees;
    p->n_features = m->n_features;
    p->n_outputs = m->n_outputs;
    p->leaf_width = m->leaf_width;
    for (uint32_t d = 0; d <= CPU_DENSE_MAX_DEPTH; d++) {
        blk_size[d] = blk_layout(d, p->blk_step[d]);
    }
    for (uint32_t t = 0; t < m->n_trees; t++) {
        uint32_t n = m->tree_begin[t + 1] - m->tree_begin[t];

        max_nodes = n > max_nodes ? n : max_nodes;
    }
    p->trees = calloc(m->n_trees, sizeof(cpu_tree));
    level = malloc(4 * (size_t) max_nodes * sizeof(uint32_t));
    if (p->trees == NULL || level == NULL) {
        forest_errf(err, errlen, "cpu executor", "out of memory");
        goto done;
    }
    pos = level + max_nodes;
    stack = pos + max_nodes;
    order = stack + max_nodes;

    for (uint32_t t = 0; t < m->n_trees; t++) {
        cpu_tree *tr = &p->trees[t];
        uint32_t  n = m->tree_begin[t + 1] - m->tree_begin[t];
        uint32_t  w;

        measure_tree(m, t, level, &s);
        w = m->tree_group[t] >= 0 ? 1 : m->leaf_width;
        tr->kind = choose_kind(&s, n, w);
        tr->depth = s.depth;
        tr->group = m->tree_group[t];
        tr->model_tree = t;
        tr->node_off = p->n_nodes;
        tr->leaf_off = p->n_leaf;
        p->max_depth = s.depth > p->max_depth ? s.depth : p->max_depth;
        if (tr->kind == CPU_TREE_DENSE) {
            p->n_nodes += (1u << s.depth) - 1;
            p->n_leaf += (size_t) w << s.depth;
            if (blocked) {
                tr->blk_off = p->n_blk;
                p->n_blk += blk_size[s.depth];
            }
        } else if (tr->kind == CPU_TREE_SPARSE) {
            tr->top = s.depth > CPU_SPARSE_TOP ? CPU_SPARSE_TOP : s.depth - 1;
            tr->sparse_off = p->n_nodes + (1u << tr->top);
            p->n_nodes += (1u << tr->top) + n;
            p->n_leaf += (size_t) w * n;
        }
    }
    if (allocate(p, err, errlen) != 0) {
        goto done;
    }
    for (uint32_t t = 0; t < m->n_trees; t++) {
        cpu_tree *tr = &p->trees[t];

        if (tr->kind == CPU_TREE_DENSE) {
            measure_tree(m, t, level, &s);
            fill_complete(p, tr, t, tr->depth, pos, level, NULL);
            if (blocked) {
                fill_blk(p, tr);
            }
        } else if (tr->kind == CPU_TREE_SPARSE) {
            measure_tree(m, t, level, &s);
            fill_sparse(p, tr, t, order, stack);
            fill_complete(p, tr, t, tr->top, pos, level, order);
        }
    }
    narrow_leaves(p);
    rc = 0;
done:
    free(level);
    if (rc != 0) {
        forest_cpu_plan_free(p);
    }
    return rc;
}

void
forest_cpu_plan_free(cpu_plan *p)
{
    free(p->trees);
    free(p->node);
    free(p->thr);
    free(p->right);
    free(p->leaf);
    free(p->leaf_f);
    free(p->blk);
    memset(p, 0, sizeof(*p));
}

void
forest_cpu_tree_generic(const cpu_plan *p, const cpu_tree *tr,
    const float *rows, size_t n, double *acc)
{
    const forest_model *m = p->m;
    const forest_node  *tree = m->nodes + m->tree_begin[tr->model_tree];
    uint32_t            w = cpu_tree_width(p, tr);
    size_t              col0 = cpu_tree_col0(tr);

    for (size_t r = 0; r < n; r++) {
        const float       *row = rows + r * p->n_features;
        const forest_node *nd = tree;

        while (nd->kind != FOREST_NODE_LEAF) {
            nd = tree + (forest_node_goes_left(m, nd, row[nd->feature])
                         ? nd->left : nd->right);
        }
        for (uint32_t k = 0; k < w; k++) {
            acc[(col0 + k) * CPU_BLOCK + r] += m->leaf_values[nd->leaf + k];
        }
    }
}
