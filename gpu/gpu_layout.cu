/*
 * forest_model -> gpu_forest (host arrays).  Breadth-first per tree with
 * sibling pairs adjacent, so a node needs one child index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_layout.h"

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
    memset(f, 0, sizeof(*f));
}

static uint32_t
node_bits(const forest_node *nd)
{
    uint32_t bits;

    if (nd->kind == FOREST_NODE_LEAF) {
        return GPU_LEAF;
    }
    bits = (uint32_t) nd->feature & GPU_FEATURE_MASK;
    bits |= nd->default_left ? GPU_DEFAULT_LEFT : 0;
    bits |= nd->zero_is_missing ? GPU_ZERO_MISSING : 0;
    if (nd->kind == FOREST_NODE_CATEGORICAL) {
        bits |= GPU_CATEGORICAL | (nd->cat_in_set_left ? GPU_CAT_SET_LEFT : 0);
    }
    return bits;
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

        g->bits = node_bits(nd);
        g->left = 0;
        g->aux = 0;
        if (nd->kind == FOREST_NODE_LEAF) {
            if (m->tree_group[t] >= 0) {
                g->value = (float) m->leaf_values[nd->leaf];
            } else {
                g->aux = nd->leaf;
            }
        } else {
            if (nd->kind == FOREST_NODE_CATEGORICAL) {
                memcpy(&g->value, &nd->cat_nbits, sizeof(uint32_t));
                g->aux = nd->cat_word;
            } else {
                g->value = nd->threshold;
            }
            g->left = base + next;
            queue[tail++] = (uint32_t) nd->left;
            queue[tail++] = (uint32_t) nd->right;
            next += 2;
        }
        head++;
    }
    return tail;
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
    f->roots = (uint32_t *) malloc(m->n_trees * sizeof(uint32_t));
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
    free(queue);
    for (size_t i = 0; i < f->n_leaf_vec; i++) {
        f->leaf_vec[i] = (float) m->leaf_values[i];
    }
    if (m->n_cat_words) {
        memcpy(f->cat_bits, m->cat_bits, m->n_cat_words * sizeof(uint32_t));
    }
    memcpy(f->base_score, m->base_score, m->n_outputs * sizeof(double));
    memcpy(f->divisor, m->average_divisor, m->n_outputs * sizeof(double));
    return 0;
}
