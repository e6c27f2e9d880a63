/*
 * forest_model -> gpu_shap (host arrays): each leaf's path from the root,
 * its nodes grouped by feature into elements, and the paths packed into
 * bins of GPU_SHAP_LANES lanes in tree order, a bin closed when the next
 * path does not fit it whole.  A vector leaf's path adds to every output
 * (the path's weights do not depend on the leaf's value).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_shap.h"

/* the walk's recursion: as deep as the CPU's TreeSHAP takes */
#define GPU_SHAP_MAX_DEPTH 4096

typedef struct {
    const forest_model *m;
    gpu_shap           *s;
    size_t              cap_elems, cap_conds, cap_bins, cap_bin_len;
    /* the walk's path from the root: node, the way taken, cover ratio */
    uint32_t            node[GPU_SHAP_MAX_DEPTH];
    bool                left[GPU_SHAP_MAX_DEPTH];
    double              ratio[GPU_SHAP_MAX_DEPTH];
    char               *err;
    size_t              errlen;
} shap_builder;

/* Room for n items in *a (of *cap): doubles it as needed; -1 out of
 * memory (the array left as it was). */
template <typename T>
static int
reserve(T **a, size_t *cap, size_t n)
{
    size_t want = *cap ? *cap : 256;
    T     *p;

    if (n <= *cap) {
        return 0;
    }
    while (want < n) {
        want *= 2;
    }
    p = (T *) realloc(*a, want * sizeof(T));
    if (p == NULL) {
        return -1;
    }
    *a = p;
    *cap = want;
    return 0;
}

static int
builder_oom(shap_builder *b)
{
    snprintf(b->err, b->errlen, "out of host memory building the GPU "
        "TreeSHAP paths");
    return -1;
}

static double
cover_ratio(double child, double parent)
{
    return parent > 0.0 ? child / parent : 0.0;
}

/* Closes the open bin (s->n_bins) and opens one at element begin, with
 * room to close that one too. */
static int
open_bin(shap_builder *b, uint32_t begin)
{
    gpu_shap *s = b->s;

    if (reserve(&s->bins, &b->cap_bins, s->n_bins + 3) != 0
        || reserve(&s->bin_len, &b->cap_bin_len, s->n_bins + 2) != 0)
    {
        return builder_oom(b);
    }
    s->bins[++s->n_bins] = begin;
    s->bin_len[s->n_bins] = 0;
    return 0;
}

/* Element e's nodes: those of the path's first d nodes (from i) that test
 * e's feature. */
static int
add_conds(shap_builder *b, const forest_node *tree, uint32_t i, uint32_t d,
    gpu_shap_elem *e)
{
    gpu_shap *s = b->s;

    for (uint32_t j = i; j < d; j++) {
        gpu_node *c;

        if (tree[b->node[j]].feature != e->feature) {
            continue;
        }
        if (reserve(&s->conds, &b->cap_conds, s->n_conds + 1) != 0) {
            return builder_oom(b);
        }
        c = &s->conds[s->n_conds++];
        forest_gpu_split_test(b->m, &tree[b->node[j]], c);
        c->left = b->left[j];
        e->zero *= b->ratio[j];
        e->n_cond++;
    }
    return 0;
}

/* The path to leaf nd at depth d of tree t. */
static int
add_path(shap_builder *b, uint32_t t, uint32_t d, const forest_node *nd)
{
    const forest_model *m = b->m;
    const forest_node  *tree = m->nodes + m->tree_begin[t];
    gpu_shap           *s = b->s;
    uint32_t            begin = (uint32_t) s->n_elems, n = 1, at;
    gpu_shap_elem       root;

    if (reserve(&s->elems, &b->cap_elems, s->n_elems + d + 1) != 0) {
        return builder_oom(b);
    }
    memset(&root, 0, sizeof(root));
    root.zero = 1.0;
    root.feature = -1;
    root.output = m->tree_group[t] < 0 ? 0 : (uint32_t) m->tree_group[t];
    root.leaf = nd->leaf;
    root.width = (uint16_t) (m->tree_group[t] < 0 ? m->leaf_width : 1);
    s->elems[s->n_elems++] = root;
    /* one element per feature, in order of first appearance */
    for (uint32_t i = 0; i < d; i++) {
        gpu_shap_elem *e;
        bool           seen = false;

        for (uint32_t j = 0; j < i && !seen; j++) {
            seen = tree[b->node[j]].feature == tree[b->node[i]].feature;
        }
        if (seen) {
            continue;
        }
        e = &s->elems[s->n_elems++];
        *e = root;
        e->feature = tree[b->node[i]].feature;
        e->cond = (uint32_t) s->n_conds;
        if (add_conds(b, tree, i, d, e) != 0) {
            return -1;
        }
        n++;
    }
    if (n > GPU_SHAP_LANES) {
        snprintf(b->err, b->errlen, "a path of %u features (the GPU TreeSHAP "
            "kernel takes at most %u)", n - 1, GPU_SHAP_LANES - 1);
        return -1;
    }
    at = begin - s->bins[s->n_bins];
    if (at + n > GPU_SHAP_LANES) {
        if (open_bin(b, begin) != 0) {
            return -1;
        }
        at = 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        s->elems[begin + i].first = (uint8_t) at;
        s->elems[begin + i].len = (uint8_t) n;
    }
    if (n > s->bin_len[s->n_bins]) {
        s->bin_len[s->n_bins] = n;
    }
    return 0;
}

/* Depth first from node i at depth d of tree t: a path per leaf, and the
 * leaf's share of the tree's expected value (leaf cover / root cover). */
static int
walk(shap_builder *b, uint32_t t, uint32_t i, uint32_t d)
{
    const forest_model *m = b->m;
    const forest_node  *nd = &m->nodes[m->tree_begin[t] + i];
    const double       *cover = m->node_cover + m->tree_begin[t];

    if (nd->kind == FOREST_NODE_LEAF) {
        bool     vec = m->tree_group[t] < 0;
        uint32_t g = vec ? 0 : (uint32_t) m->tree_group[t];
        double   share = i == 0 ? 1.0 : cover_ratio(cover[i], cover[0]);

        for (uint32_t k = 0; k < (vec ? m->leaf_width : 1); k++) {
            b->s->bias[g + k] += share * m->leaf_values[nd->leaf + k];
        }
        return d > 0 ? add_path(b, t, d, nd) : 0;
    }
    if (d >= GPU_SHAP_MAX_DEPTH) {
        snprintf(b->err, b->errlen, "tree %u deeper than %u", t,
            GPU_SHAP_MAX_DEPTH);
        return -1;
    }
    b->node[d] = i;
    for (int l = 1; l >= 0; l--) {
        uint32_t c = (uint32_t) (l ? nd->left : nd->right);

        b->left[d] = l;
        b->ratio[d] = cover_ratio(cover[c], cover[i]);
        if (walk(b, t, c, d + 1) != 0) {
            return -1;
        }
    }
    return 0;
}

template <typename T>
static T *
copy_of(const T *src, size_t n)
{
    T *p = (T *) malloc((n + 1) * sizeof(T));

    if (p != NULL && n > 0) {
        memcpy(p, src, n * sizeof(T));
    }
    return p;
}

static int
build(shap_builder *b)
{
    const forest_model *m = b->m;
    gpu_shap           *s = b->s;

    s->n_features = m->n_features;
    s->n_outputs = m->n_outputs;
    s->n_values = m->n_leaf_values;
    s->bias = (double *) calloc(m->n_outputs, sizeof(double));
    s->divisor = copy_of(m->average_divisor, m->n_outputs);
    s->values = copy_of(m->leaf_values, m->n_leaf_values);
    /* bin 0 opens at element 0; s->bins[n_bins] is the open bin's start */
    if (s->bias == NULL || s->divisor == NULL || s->values == NULL
        || reserve(&s->bins, &b->cap_bins, 2) != 0
        || reserve(&s->bin_len, &b->cap_bin_len, 1) != 0)
    {
        return builder_oom(b);
    }
    s->bins[0] = 0;
    s->bin_len[0] = 0;
    if (m->leaf_width > UINT16_MAX) {
        snprintf(b->err, b->errlen, "leaves of %u values (the GPU TreeSHAP "
            "kernel takes at most %u)", m->leaf_width, UINT16_MAX);
        return -1;
    }
    for (uint32_t t = 0; t < m->n_trees; t++) {
        if (walk(b, t, 0, 0) != 0) {
            return -1;
        }
        if (s->n_elems >= UINT32_MAX / 2 || s->n_conds >= UINT32_MAX / 2) {
            snprintf(b->err, b->errlen, "too many path elements for the "
                "GPU TreeSHAP kernel");
            return -1;
        }
    }
    /* close the open bin: its end, unless it is empty (no paths at all) */
    if (s->n_elems > s->bins[s->n_bins]) {
        s->bins[++s->n_bins] = (uint32_t) s->n_elems;
    }
    for (uint32_t k = 0; k < m->n_outputs; k++) {
        s->bias[k] = s->bias[k] / m->average_divisor[k] + m->base_score[k];
    }
    return 0;
}

extern "C" int
forest_gpu_shap_build(const forest_model *m, gpu_shap *s, char *err,
    size_t errlen)
{
    shap_builder *b;
    int           rc;

    memset(s, 0, sizeof(*s));
    if (m->node_cover == NULL) {
        snprintf(err, errlen, "the model file stores no node covers");
        return -1;
    }
    b = (shap_builder *) calloc(1, sizeof(*b));
    if (b == NULL) {
        snprintf(err, errlen, "out of host memory building the GPU TreeSHAP "
            "paths");
        return -1;
    }
    b->m = m;
    b->s = s;
    b->err = err;
    b->errlen = errlen;
    rc = build(b);
    free(b);
    if (rc != 0) {
        forest_gpu_shap_free_host(s);
    }
    return rc;
}

extern "C" void
forest_gpu_shap_free_host(gpu_shap *s)
{
    free(s->elems);
    free(s->conds);
    free(s->bins);
    free(s->bin_len);
    free(s->values);
    free(s->bias);
    free(s->divisor);
    memset(s, 0, sizeof(*s));
}

extern "C" size_t
forest_gpu_shap_row_values(const gpu_shap *s)
{
    return (size_t) s->n_outputs * (s->n_features + 1);
}
