/*
 * Model lifetime (forest_load reads the file and hands the bytes to the
 * format table, load/formats.c; forest_free) and the structural validation
 * every loaded model goes through.
 */
#include "category.h"
#include "forest_internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const post_names[FOREST_POST_COUNT] = {
    [FOREST_POST_IDENTITY] = "identity",
    [FOREST_POST_SIGMOID] = "sigmoid",
    [FOREST_POST_SOFTMAX] = "softmax",
    [FOREST_POST_EXP] = "exponential",
    [FOREST_POST_HINGE] = "hinge",
    [FOREST_POST_SIGNED_SQUARE] = "signed_square",
    [FOREST_POST_LOG1P_EXP] = "logarithm_one_plus_exp",
    [FOREST_POST_EXP_STANDARD_RATIO] = "exponential_standard_ratio",
    [FOREST_POST_MAX_INDEX] = "max_index",
};

const char *
forest_postprocessor_name(forest_postprocessor p)
{
    return (p >= 0 && p < FOREST_POST_COUNT) ? post_names[p] : "unknown";
}

void
forest_errf(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
    va_list ap;
    int     n;

    if (err == NULL || errlen == 0) {
        return;
    }
    n = snprintf(err, errlen, "%s: ", name ? name : "model");
    if (n < 0 || (size_t) n >= errlen) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t) n, fmt, ap);
    va_end(ap);
}

int
forest_threshold_le(double t, float *thr)
{
    float f;

    if (isnan(t)) {
        *thr = NAN;
        return 0;
    }
    if (t == INFINITY) {
        *thr = -INFINITY;
        return 1;
    }
    /* largest float <= t, then the next float up (+inf above FLT_MAX,
     * where only +inf itself is not <= t) */
    f = t > FLT_MAX ? FLT_MAX : (float) t;
    if ((double) f > t) {
        f = nextafterf(f, -INFINITY);
    }
    *thr = nextafterf(f, INFINITY);
    return 0;
}

void
forest_node_swap_children(forest_node *nd)
{
    int32_t tmp = nd->left;

    nd->left = nd->right;
    nd->right = tmp;
    nd->default_left = !nd->default_left;
}

float
forest_threshold_lt(double t)
{
    float f;

    if (isnan(t)) {
        return NAN;
    }
    /* smallest float >= t */
    f = (float) t;
    if ((double) f < t) {
        f = nextafterf(f, INFINITY);
    }
    return f;
}

forest_model *
forest_load(const char *path, forest_format format, char *err, size_t errlen)
{
    FILE         *f;
    uint8_t      *buf;
    long          size;
    size_t        got;
    forest_model *m;

    f = fopen(path, "rb");
    if (f == NULL) {
        forest_errf(err, errlen, path, "cannot open: %s", strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        forest_errf(err, errlen, path, "cannot read: %s", strerror(errno));
        fclose(f);
        return NULL;
    }
    /* one spare byte so text loaders may rely on a terminating NUL */
    buf = malloc((size_t) size + 1);
    if (buf == NULL) {
        forest_errf(err, errlen, path, "out of memory reading %ld bytes", size);
        fclose(f);
        return NULL;
    }
    got = fread(buf, 1, (size_t) size, f);
    fclose(f);
    if (got != (size_t) size) {
        forest_errf(err, errlen, path, "short read");
        free(buf);
        return NULL;
    }
    buf[size] = '\0';
    m = forest_load_buffer(buf, (size_t) size, format, path, err, errlen);
    free(buf);
    return m;
}

void
forest_free(forest_model *m)
{
    if (m == NULL) {
        return;
    }
    free(m->nodes);
    free(m->tree_begin);
    free(m->tree_group);
    free(m->leaf_values);
    free(m->cat_bits);
    free(m->base_score);
    free(m->average_divisor);
    if (m->feature_names != NULL) {
        for (uint32_t i = 0; i < m->n_features; i++) {
            free(m->feature_names[i]);
        }
        free(m->feature_names);
    }
    free(m->feature_is_categorical);
    free(m->category_whole_only);
    forest_category_free(m);
    free(m->node_cover);
    free(m->node_source_id);
    free(m);
}

uint32_t
forest_output_columns(const forest_model *m, int margin)
{
    if (!margin && m->post == FOREST_POST_MAX_INDEX) {
        return 1;
    }
    return m->n_outputs;
}

static int
validate_tree(const forest_model *m, uint32_t t, uint8_t *seen, char *err,
    size_t errlen)
{
    uint32_t begin = m->tree_begin[t], n = m->tree_begin[t + 1] - begin;

    if (n == 0) {
        forest_errf(err, errlen, "model", "tree %u has no nodes", t);
        return -1;
    }
    memset(seen, 0, n);
    for (uint32_t i = 0; i < n; i++) {
        const forest_node *nd = &m->nodes[begin + i];

        if (nd->kind == FOREST_NODE_LEAF) {
            uint32_t w = m->tree_group[t] < 0 ? m->leaf_width : 1;

            if ((size_t) nd->leaf + w > m->n_leaf_values) {
                forest_errf(err, errlen, "model",
                    "tree %u node %u: leaf value out of range", t, i);
                return -1;
            }
            continue;
        }
        if (nd->kind != FOREST_NODE_NUMERIC
            && nd->kind != FOREST_NODE_CATEGORICAL)
        {
            forest_errf(err, errlen, "model", "tree %u node %u: bad kind",
                t, i);
            return -1;
        }
        if (nd->feature < 0 || (uint32_t) nd->feature >= m->n_features) {
            forest_errf(err, errlen, "model", "tree %u node %u: feature %d "
                "out of range (model has %u features)", t, i, nd->feature,
                m->n_features);
            return -1;
        }
        /* children must come after their parent: no cycles, one parent */
        if (nd->left <= (int32_t) i || (uint32_t) nd->left >= n
            || nd->right <= (int32_t) i || (uint32_t) nd->right >= n
            || nd->left == nd->right || seen[nd->left] || seen[nd->right])
        {
            forest_errf(err, errlen, "model", "tree %u node %u: bad child "
                "indices %d/%d", t, i, nd->left, nd->right);
            return -1;
        }
        seen[nd->left] = seen[nd->right] = 1;
        if (nd->kind == FOREST_NODE_CATEGORICAL
            && (size_t) nd->cat_word + (nd->cat_nbits + 31) / 32
               > m->n_cat_words)
        {
            forest_errf(err, errlen, "model", "tree %u node %u: category set "
                "out of range", t, i);
            return -1;
        }
    }
    return 0;
}

int
forest_validate(const forest_model *m, char *err, size_t errlen)
{
    uint8_t *seen;
    uint32_t max_nodes = 0;
    int      rc = 0;

    if (m->n_trees == 0 || m->n_outputs == 0 || m->n_features == 0) {
        forest_errf(err, errlen, "model", "empty model (%u trees, %u outputs, "
            "%u features)", m->n_trees, m->n_outputs, m->n_features);
        return -1;
    }
    if (m->leaf_width != 1 && m->leaf_width != m->n_outputs) {
        forest_errf(err, errlen, "model", "leaf width %u does not match %u "
            "outputs", m->leaf_width, m->n_outputs);
        return -1;
    }
    if (m->tree_begin[0] != 0 || m->tree_begin[m->n_trees] != m->n_nodes) {
        forest_errf(err, errlen, "model", "tree offsets do not cover the "
            "nodes");
        return -1;
    }
    for (uint32_t t = 0; t < m->n_trees; t++) {
        if (m->tree_begin[t + 1] < m->tree_begin[t]) {
            forest_errf(err, errlen, "model", "tree offsets not increasing");
            return -1;
        }
        if (m->tree_group[t] >= (int32_t) m->n_outputs
            || (m->tree_group[t] < 0 && m->leaf_width != m->n_outputs))
        {
            forest_errf(err, errlen, "model", "tree %u: output group %d out "
                "of range", t, m->tree_group[t]);
            return -1;
        }
        if (m->tree_begin[t + 1] - m->tree_begin[t] > max_nodes) {
            max_nodes = m->tree_begin[t + 1] - m->tree_begin[t];
        }
    }
    seen = malloc(max_nodes ? max_nodes : 1);
    if (seen == NULL) {
        forest_errf(err, errlen, "model", "out of memory");
        return -1;
    }
    for (uint32_t t = 0; t < m->n_trees && rc == 0; t++) {
        rc = validate_tree(m, t, seen, err, errlen);
    }
    free(seen);
    return rc;
}

int
forest_node_info_grow(forest_model *m, size_t *cap, size_t need)
{
    size_t c = *cap;

    if (forest_grow((void **) &m->node_cover, &c, need, sizeof(double), 256)
        != 0)
    {
        return -1;
    }
    c = *cap;
    if (forest_grow((void **) &m->node_source_id, &c, need, sizeof(int32_t),
                    256) != 0)
    {
        return -1;
    }
    *cap = c;
    return 0;
}

/* A cover TreeSHAP cannot use (absent somewhere: NaN; negative) drops the
 * covers of the whole model: contributions are then refused. */
static void
drop_unusable_cover(forest_model *m)
{
    for (size_t i = 0; m->node_cover != NULL && i < m->n_nodes; i++) {
        if (!(m->node_cover[i] >= 0.0)) {
            free(m->node_cover);
            m->node_cover = NULL;
        }
    }
}

int
forest_model_finish(forest_model *m, const char *name, char *err,
    size_t errlen)
{
    char why[FOREST_ERR_LEN];

    if (m->n_outputs == 0 || m->n_outputs > FOREST_MAX_OUTPUTS) {
        forest_errf(err, errlen, name, "bad number of outputs %u",
            m->n_outputs);
        return -1;
    }
    if (m->base_score == NULL) {
        m->base_score = calloc(m->n_outputs, sizeof(double));
    }
    if (m->average_divisor == NULL) {
        m->average_divisor = malloc(m->n_outputs * sizeof(double));
        for (uint32_t k = 0; m->average_divisor && k < m->n_outputs; k++) {
            m->average_divisor[k] = 1.0;
        }
    }
    if (m->base_score == NULL || m->average_divisor == NULL) {
        forest_errf(err, errlen, name, "out of memory");
        return -1;
    }
    if (m->post == FOREST_POST_SIGMOID && m->sigmoid_alpha == 0.0) {
        m->sigmoid_alpha = 1.0;
    }
    m->format = m->format ? m->format : FOREST_FORMAT_AUTO;
    drop_unusable_cover(m);
    if (forest_validate(m, why, sizeof(why)) != 0) {
        /* why starts with "model: " */
        forest_errf(err, errlen, name, "%s", why + 7);
        return -1;
    }
    return 0;
}
