/*
 * The reference predictor: walks forest_node directly, one row at a time.
 * Slow on purpose; it is the executable statement of the node rules in
 * forest.h that the optimised executors are tested against.
 */
#include "forest_internal.h"

#include <math.h>
#include <stdlib.h>

/* float32 bound of LightGBM's zero test |x| <= 1e-35 (kZeroThreshold) */
#define FOREST_ZERO_BOUND 1e-35f

static int
category_in_set(const forest_model *m, const forest_node *nd, float x)
{
    uint32_t c;

    if (!(forest_cat_truncates(m) ? x > -1.0f : x >= 0.0f)
        || x >= (float) nd->cat_nbits)
    {
        return 0;
    }
    /* truncation toward zero, as the libraries do (-0.5 is category 0) */
    c = x < 1.0f ? 0 : (uint32_t) x;
    return (m->cat_bits[nd->cat_word + c / 32] >> (c % 32)) & 1u;
}

int
forest_node_goes_left(const forest_model *m, const forest_node *nd, float x)
{
    if (isnan(x) || (nd->zero_is_missing && fabsf(x) <= FOREST_ZERO_BOUND)) {
        return nd->default_left;
    }
    if (nd->kind == FOREST_NODE_CATEGORICAL) {
        if (m->category_whole_only != NULL
            && m->category_whole_only[nd->feature] && x != truncf(x))
        {
            return nd->default_left;
        }
        return category_in_set(m, nd, x) == nd->cat_in_set_left;
    }
    return x < nd->threshold;
}

void
forest_predict_row_reference(const forest_model *m, const float *row,
    int margin, float *out)
{
    double   stack_acc[16];
    double  *acc = stack_acc;
    uint32_t k;

    if (m->n_outputs > 16) {
        acc = malloc(m->n_outputs * sizeof(double));
        if (acc == NULL) {
            for (k = 0; k < forest_output_columns(m, margin); k++) {
                out[k] = NAN;
            }
            return;
        }
    }
    for (k = 0; k < m->n_outputs; k++) {
        acc[k] = 0.0;
    }
    for (uint32_t t = 0; t < m->n_trees; t++) {
        const forest_node *tree = m->nodes + m->tree_begin[t];
        const forest_node *nd = tree;

        while (nd->kind != FOREST_NODE_LEAF) {
            nd = tree + (forest_node_goes_left(m, nd, row[nd->feature])
                         ? nd->left : nd->right);
        }
        if (m->tree_group[t] >= 0) {
            acc[m->tree_group[t]] += m->leaf_values[nd->leaf];
        } else {
            for (k = 0; k < m->leaf_width; k++) {
                acc[k] += m->leaf_values[nd->leaf + k];
            }
        }
    }
    for (k = 0; k < m->n_outputs; k++) {
        acc[k] = acc[k] / m->average_divisor[k] + m->base_score[k];
    }
    if (margin) {
        for (k = 0; k < m->n_outputs; k++) {
            out[k] = (float) acc[k];
        }
    } else {
        forest_postprocess_row(m, acc, out);
    }
    if (acc != stack_acc) {
        free(acc);
    }
}
