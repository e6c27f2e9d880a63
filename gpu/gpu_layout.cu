/*
 * forest_model -> gpu_forest (host arrays).  Breadth-first per tree with
 * sibling pairs adjacent, so a node needs one child index; the compact
 * layout is derived from the 16-byte one, node for node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_walk.cuh"

extern "C" void
forest_gpu_layout_free_host(gpu_forest *f)
{
    free(f->nodes);
    free(f->roots);
    free(f->groups);
    free(f->leaf_vec);
    free(f->cat_bits);
    free(f->base_score);
    free(f->divisor);
    free(f->cnodes);
    free(f->ccat);
    memset(f, 0, sizeof(*f));
}

static uint32_t
node_bits(const forest_model *m, const forest_node *nd)
{
    uint32_t bits = (uint32_t) nd->feature & GPU_FEATURE_MASK;

    bits |= nd->default_left ? GPU_DEFAULT_LEFT : 0;
    bits |= nd->zero_is_missing ? GPU_ZERO_MISSING : 0;
    if (nd->kind == FOREST_NODE_CATEGORICAL) {
        bits |= GPU_CATEGORICAL | (nd->cat_in_set_left ? GPU_CAT_SET_LEFT : 0);
        if (m->category_whole_only != NULL
            && m->category_whole_only[nd->feature])
        {
            bits |= GPU_CAT_WHOLE;
        }
    }
    return bits;
}

extern "C" void
forest_gpu_split_test(const forest_model *m, const forest_node *nd,
    gpu_node *g)
{
    g->bits = node_bits(m, nd);
    g->left = 0;
    g->aux = 0;
    if (nd->kind == FOREST_NODE_CATEGORICAL) {
        memcpy(&g->value, &nd->cat_nbits, sizeof(uint32_t));
        g->aux = nd->cat_word;
    } else {
        g->value = nd->threshold;
    }
}

/* Lays out one tree breadth-first from dst[0]; returns nodes written. */
static uint32_t
layout_tree(const forest_model *m, uint32_t t, gpu_node *dst, uint32_t base,
    uint32_t *queue)
{
    const forest_node *tree = m->nodes + m->tree_begin[t];
    uint32_t           head = 0, tail = 1, next = 1;

    queue[0] = 0;
    while (head < tail) {
        const forest_node *nd = &tree[queue[head]];
        gpu_node          *g = &dst[head];

        if (nd->kind == FOREST_NODE_LEAF) {
            g->bits = GPU_LEAF;
            g->left = 0;
            g->aux = 0;
            if (m->tree_group[t] >= 0) {
                g->value = (float) m->leaf_values[nd->leaf];
            } else {
                g->aux = nd->leaf;
            }
        } else {
            forest_gpu_split_test(m, nd, g);
            g->left = base + next;
            queue[tail++] = (uint32_t) nd->left;
            queue[tail++] = (uint32_t) nd->right;
            next += 2;
        }
        head++;
    }
    return tail;
}

extern "C" void
forest_gpu_compact_stage(gpu_forest *f, uint32_t cap)
{
    f->cstage_cap = cap > 0 ? cap : 1;
    f->cstage = 0;
    if (f->max_tree > f->cstage_cap) {
        return;
    }
    for (uint32_t t = 0; t < f->n_trees; ) {
        uint32_t end = gpu_stage_end(*f, t);
        uint32_t n = f->roots[end] - f->roots[t];

        f->cstage = n > f->cstage ? n : f->cstage;
        t = end;
    }
}

/* The bits of the feature field: as few as hold n_features - 1. */
static uint32_t
feature_bits(uint32_t n_features)
{
    uint32_t b = 0;

    while (b < 32 && n_features > (1u << b)) {
        b++;
    }
    return b;
}

/* f->cnodes[i] from f->nodes[i]; a categorical node's set goes to
 * f->ccat at *at.  vector: the node's tree has vector leaves. */
static void
compact_node(gpu_forest *f, bool vector, uint32_t fb, uint32_t i, size_t *at)
{
    const gpu_node *nd = &f->nodes[i];
    gpu_cnode      *c = &f->cnodes[i];
    uint32_t        nbits, pos = (uint32_t) *at;

    c->value = nd->value;
    c->word = 0;
    if (nd->bits & GPU_LEAF) {
        if (vector) {
            memcpy(&c->value, &nd->aux, sizeof(nd->aux));
        }
        return;
    }
    c->word = (nd->bits & GPU_DEFAULT_LEFT ? GPU_C_DEFAULT_LEFT : 0)
              | (nd->bits & GPU_ZERO_MISSING ? GPU_C_ZERO_MISSING : 0)
              | (nd->bits & GPU_CAT_SET_LEFT ? GPU_C_CAT_SET_LEFT : 0)
              | (nd->bits & GPU_FEATURE_MASK) << GPU_C_FLAG_BITS
              | (nd->left - i) << (GPU_C_FLAG_BITS + fb);
    if (nd->bits & GPU_CATEGORICAL) {
        c->word |= GPU_C_CATEGORICAL;
        memcpy(&nbits, &nd->value, sizeof(nbits));
        memcpy(&c->value, &pos, sizeof(pos));
        f->ccat[(*at)++] = nbits
                           | (nd->bits & GPU_CAT_WHOLE ? GPU_C_CAT_WHOLE : 0);
        memcpy(&f->ccat[*at], &f->cat_bits[nd->aux],
            (nbits + 31) / 32 * sizeof(uint32_t));
        *at += (nbits + 31) / 32;
    }
}

/*
 * f->cnodes and f->ccat from f->nodes; leaves them NULL (0 returned) where
 * a feature or a child offset does not fit its field; -1 out of memory.
 */
static int
compact_build(gpu_forest *f)
{
    uint32_t fb = feature_bits(f->n_features);
    uint32_t off_bits = 32 - GPU_C_FLAG_BITS - fb;
    size_t   n_ccat = 0, at = 0;

    if (fb + GPU_C_FLAG_BITS >= 32) {
        return 0;
    }
    for (uint32_t t = 0; t < f->n_trees; t++) {
        for (uint32_t i = f->roots[t]; i < f->roots[t + 1]; i++) {
            const gpu_node *nd = &f->nodes[i];
            uint32_t        nbits;

            if (nd->bits & GPU_LEAF) {
                continue;
            }
            if (((uint64_t) nd->left - i) >> off_bits) {
                return 0;
            }
            if (nd->bits & GPU_CATEGORICAL) {
                memcpy(&nbits, &nd->value, sizeof(nbits));
                n_ccat += 1 + (nbits + 31) / 32;
            }
        }
    }
    if (n_ccat >= UINT32_MAX) {
        return 0;
    }
    f->cnodes = (gpu_cnode *) malloc(f->n_nodes * sizeof(gpu_cnode));
    f->ccat = (uint32_t *) malloc((n_ccat + 1) * sizeof(uint32_t));
    if (f->cnodes == NULL || f->ccat == NULL) {
        return -1;
    }
    for (uint32_t t = 0; t < f->n_trees; t++) {
        for (uint32_t i = f->roots[t]; i < f->roots[t + 1]; i++) {
            compact_node(f, f->groups[t] < 0, fb, i, &at);
        }
    }
    f->n_ccat = n_ccat;
    f->cfeat_bits = fb;
    return 0;
}

extern "C" int
forest_gpu_layout_build(const forest_model *m, gpu_forest *f,
    char *err, size_t errlen)
{
    uint32_t *queue;
    uint32_t  max_tree = 0, pos = 0;

    memset(f, 0, sizeof(*f));
    if (m->n_outputs > GPU_MAX_OUTPUTS) {
        snprintf(err, errlen, "%u outputs (the GPU kernel keeps at most %u "
            "per row)", m->n_outputs, GPU_MAX_OUTPUTS);
        return -1;
    }
    if (m->n_nodes >= UINT32_MAX) {
        snprintf(err, errlen, "too many nodes for the GPU layout");
        return -1;
    }
    for (uint32_t t = 0; t < m->n_trees; t++) {
        uint32_t n = m->tree_begin[t + 1] - m->tree_begin[t];
        max_tree = n > max_tree ? n : max_tree;
    }
    f->n_nodes = m->n_nodes;
    f->n_trees = m->n_trees;
    f->n_features = m->n_features;
    f->n_outputs = m->n_outputs;
    f->leaf_width = m->leaf_width;
    f->post = (int) m->post;
    f->cat_truncates = forest_cat_truncates(m);
    f->sigmoid_alpha = m->sigmoid_alpha;
    f->ratio_c = m->ratio_c;
    f->n_leaf_vec = m->leaf_width > 1 ? m->n_leaf_values : 0;
    f->n_cat_words = m->n_cat_words;

    f->nodes = (gpu_node *) malloc(m->n_nodes * sizeof(gpu_node));
    f->roots = (uint32_t *) malloc((m->n_trees + 1) * sizeof(uint32_t));
    f->groups = (int32_t *) malloc(m->n_trees * sizeof(int32_t));
    f->leaf_vec = (float *) malloc((f->n_leaf_vec + 1) * sizeof(float));
    f->cat_bits = (uint32_t *) malloc((f->n_cat_words + 1) * sizeof(uint32_t));
    f->base_score = (double *) malloc(m->n_outputs * sizeof(double));
    f->divisor = (double *) malloc(m->n_outputs * sizeof(double));
    queue = (uint32_t *) malloc(max_tree * sizeof(uint32_t));
    if (!f->nodes || !f->roots || !f->groups || !f->leaf_vec || !f->cat_bits
        || !f->base_score || !f->divisor || !queue)
    {
        free(queue);
        forest_gpu_layout_free_host(f);
        snprintf(err, errlen, "out of host memory building the GPU layout");
        return -1;
    }
    for (uint32_t t = 0; t < m->n_trees; t++) {
        f->roots[t] = pos;
        f->groups[t] = m->tree_group[t];
        pos += layout_tree(m, t, f->nodes + pos, pos, queue);
    }
    f->roots[m->n_trees] = pos;
    f->max_tree = max_tree;
    free(queue);
    for (size_t i = 0; i < f->n_leaf_vec; i++) {
        f->leaf_vec[i] = (float) m->leaf_values[i];
    }
    if (m->n_cat_words) {
        memcpy(f->cat_bits, m->cat_bits, m->n_cat_words * sizeof(uint32_t));
    }
    memcpy(f->base_score, m->base_score, m->n_outputs * sizeof(double));
    memcpy(f->divisor, m->average_divisor, m->n_outputs * sizeof(double));
    if (compact_build(f) != 0) {
        forest_gpu_layout_free_host(f);
        snprintf(err, errlen, "out of host memory building the GPU layout");
        return -1;
    }
    forest_gpu_compact_stage(f, GPU_SMEM_LIMIT / sizeof(gpu_cnode));
    return 0;
}

extern "C" forest_executor *
forest_gpu_layout_executor_create(const forest_model *m,
    const forest_executor_ops *ops, char *err, size_t errlen)
{
    gpu_layout_executor *ex;
    char                 why[FOREST_ERR_LEN];

    ex = (gpu_layout_executor *) calloc(1, sizeof(*ex));
    if (ex == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (forest_gpu_layout_build(m, &ex->host, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "model not supported on the GPU: %s", why);
        free(ex);
        return NULL;
    }
    ex->base.ops = ops;
    ex->base.model = m;
    return &ex->base;
}

extern "C" void
forest_gpu_layout_executor_destroy(forest_executor *base)
{
    gpu_layout_executor *ex = (gpu_layout_executor *) base;

    forest_gpu_layout_free_host(&ex->host);
    free(ex);
}
