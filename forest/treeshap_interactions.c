/*
 * Exact path-dependent SHAP interaction values, as XGBoost's
 * pred_interactions and shap's shap_interaction_values compute them.
 *
 * XGBoost defines phi_ij (i != j) as half the difference between feature
 * j's TreeSHAP value with feature i conditioned present and with it
 * conditioned absent (Lundberg et al. 2020, Algorithm 3).  Conditioning
 * changes only the leaves whose path tests i: i leaves the path's players
 * and the leaf's weight is scaled by i's one fraction o_i (present) or its
 * zero fraction z_i (absent).  So a leaf of value v whose path has unique
 * features with fractions (o_k, z_k) adds
 *     phi_ij += v (o_i - z_i) (o_j - z_j) W_ij / 2,
 * W_ij the Shapley weight sum of the path without i and j: with c_m the
 * coefficients of prod_{k != i,j} (z_k (1 - t) + o_k t) in the Bernstein
 * basis t^m (1 - t)^(n - m) (the paper's EXTEND weights before scaling),
 *     W_ij = sum_m c_m m! (n - m)! / (n + 1)!.
 * Each leaf's product over all its features is built once; i, then j, are
 * unwound from it (the paper's UNWIND), so a leaf costs O(d^3) for d unique
 * features instead of two conditioned tree walks per feature.  Only
 * features a tree tests get interactions; the rest stay 0.  The diagonal
 * is the feature's contribution less its row's interactions and the bias
 * sits alone in the last row and column, as XGBoost lays them out.
 */
#include "forest_internal.h"
#include "treeshap_interactions.h"

#include <stdlib.h>
#include <string.h>

/* rows whose contributions are computed together */
#define IX_BLOCK 32

typedef struct {
    const forest_model *m;
    const float        *row;
    double             *phi;        /* n_outputs * cols * cols */
    size_t              cols;
    /* the path from the root to the node being visited */
    int32_t            *path_feature;
    double             *path_z;
    uint8_t            *path_hot;
    /* the leaf's unique features */
    uint32_t           *elem_of_feature;   /* element + 1, 0: none */
    int32_t            *feature;
    double             *z, *o;
    /* Bernstein coefficients: all elements, without i, without i and j;
     * the integral weights of a path without two */
    double             *all, *no_i, *no_ij, *weight;
} ix_scratch;

static double
ratio(double child, double parent)
{
    return parent > 0.0 ? child / parent : 0.0;
}

/* c (n + 1 coefficients) without the factor z (1 - t) + o t, into u
 * (n coefficients); o is 0 or 1, z > 0 where o is 0 */
static void
unwind(const double *c, uint32_t n, double z, double o, double *u)
{
    if (o == 0.0) {
        for (uint32_t m = 0; m < n; m++) {
            u[m] = c[m] / z;
        }
        return;
    }
    u[n - 1] = c[n];
    for (uint32_t m = n - 1; m > 0; m--) {
        u[m - 1] = c[m] - z * u[m];
    }
}

/* One leaf's interactions, its path's d unique features in sc. */
static void
add_leaf(ix_scratch *sc, uint32_t d, const double *v, uint32_t width,
    uint32_t first_output)
{
    size_t cols = sc->cols;

    if (d < 2) {
        return;
    }
    /* a feature that can neither be taken nor skipped zeroes every term */
    for (uint32_t k = 0; k < d; k++) {
        if (sc->z[k] == 0.0 && sc->o[k] == 0.0) {
            return;
        }
    }
    sc->all[0] = 1.0;
    for (uint32_t k = 0; k < d; k++) {
        sc->all[k + 1] = sc->o[k] * sc->all[k];
        for (uint32_t m = k; m > 0; m--) {
            sc->all[m] = sc->z[k] * sc->all[m] + sc->o[k] * sc->all[m - 1];
        }
        sc->all[0] *= sc->z[k];
    }
    /* m! (n - m)! / (n + 1)! for n = d - 2 */
    sc->weight[0] = 1.0 / (d - 1);
    for (uint32_t m = 0; m + 2 < d; m++) {
        sc->weight[m + 1] = sc->weight[m] * (m + 1) / (d - 2 - m);
    }
    for (uint32_t i = 0; i < d; i++) {
        unwind(sc->all, d, sc->z[i], sc->o[i], sc->no_i);
        for (uint32_t j = i + 1; j < d; j++) {
            double w = 0.0, x;

            unwind(sc->no_i, d - 1, sc->z[j], sc->o[j], sc->no_ij);
            for (uint32_t m = 0; m + 1 < d; m++) {
                w += sc->no_ij[m] * sc->weight[m];
            }
            x = 0.5 * (sc->o[i] - sc->z[i]) * (sc->o[j] - sc->z[j]) * w;
            for (uint32_t k = 0; k < width; k++) {
                double *phi = sc->phi + (first_output + k) * cols * cols;

                phi[sc->feature[i] * cols + sc->feature[j]] += v[k] * x;
                phi[sc->feature[j] * cols + sc->feature[i]] += v[k] * x;
            }
        }
    }
}

/* The unique features of the path to a leaf at depth d. */
static uint32_t
path_elements(ix_scratch *sc, uint32_t d)
{
    uint32_t n = 0;

    for (uint32_t k = 0; k < d; k++) {
        int32_t  f = sc->path_feature[k];
        uint32_t e = sc->elem_of_feature[f];

        if (e == 0) {
            sc->feature[n] = f;
            sc->z[n] = sc->path_z[k];
            sc->o[n] = sc->path_hot[k];
            sc->elem_of_feature[f] = ++n;
            continue;
        }
        sc->z[e - 1] *= sc->path_z[k];
        sc->o[e - 1] *= sc->path_hot[k];
    }
    for (uint32_t k = 0; k < n; k++) {
        sc->elem_of_feature[sc->feature[k]] = 0;
    }
    return n;
}

/* Depth first from node i at depth d of tree t (forest_shap_new has
 * checked the depth). */
static void
walk(ix_scratch *sc, uint32_t t, uint32_t i, uint32_t d)
{
    const forest_model *m = sc->m;
    const forest_node  *tree = m->nodes + m->tree_begin[t];
    const double       *cover = m->node_cover + m->tree_begin[t];
    const forest_node  *nd = &tree[i];
    int                 left;

    if (nd->kind == FOREST_NODE_LEAF) {
        const double *v = m->leaf_values + nd->leaf;
        uint32_t      n = path_elements(sc, d);

        if (m->tree_group[t] < 0) {
            add_leaf(sc, n, v, m->leaf_width, 0);
        } else {
            add_leaf(sc, n, v, 1, (uint32_t) m->tree_group[t]);
        }
        return;
    }
    left = forest_node_goes_left(m, nd, sc->row[nd->feature]);
    sc->path_feature[d] = nd->feature;
    sc->path_z[d] = ratio(cover[nd->left], cover[i]);
    sc->path_hot[d] = (uint8_t) left;
    walk(sc, t, (uint32_t) nd->left, d + 1);
    sc->path_z[d] = ratio(cover[nd->right], cover[i]);
    sc->path_hot[d] = (uint8_t) !left;
    walk(sc, t, (uint32_t) nd->right, d + 1);
}

/* One row's values into out from its phi and its contributions c. */
static void
finish_row(const ix_scratch *sc, const float *c, float *out)
{
    const forest_model *m = sc->m;
    size_t              cols = sc->cols, f = m->n_features;

    for (uint32_t k = 0; k < m->n_outputs; k++) {
        const double *phi = sc->phi + k * cols * cols;
        const float  *ck = c + k * cols;
        float        *o = out + k * cols * cols;

        for (size_t i = 0; i < f; i++) {
            double diag = ck[i];

            for (size_t j = 0; j < f; j++) {
                if (j != i) {
                    o[i * cols + j] = (float) (phi[i * cols + j]
                                               / m->average_divisor[k]);
                    diag -= o[i * cols + j];
                }
            }
            o[i * cols + i] = (float) diag;
            o[i * cols + f] = 0.0f;
            o[f * cols + i] = 0.0f;
        }
        o[f * cols + f] = ck[f];
    }
}

size_t
forest_shap_interactions_row_values(const forest_model *m)
{
    return (size_t) m->n_outputs * (m->n_features + 1)
           * (m->n_features + 1);
}

int
forest_shap_interactions(const forest_shap *s, const forest_model *m,
    const float *rows, size_t n, float *out)
{
    ix_scratch  sc;
    size_t      per_row = forest_shap_row_values(s);
    size_t      lanes = FOREST_MAX_DEPTH + 2;
    float      *contribs;
    int         rc = -1;

    memset(&sc, 0, sizeof(sc));
    sc.m = m;
    sc.cols = (size_t) m->n_features + 1;
    sc.phi = malloc(m->n_outputs * sc.cols * sc.cols * sizeof(double));
    sc.path_feature = malloc(FOREST_MAX_DEPTH * sizeof(int32_t));
    sc.path_z = malloc(FOREST_MAX_DEPTH * sizeof(double));
    sc.path_hot = malloc(FOREST_MAX_DEPTH);
    sc.elem_of_feature = calloc(m->n_features, sizeof(uint32_t));
    sc.feature = malloc(FOREST_MAX_DEPTH * sizeof(int32_t));
    sc.z = malloc(7 * lanes * sizeof(double));
    contribs = malloc(IX_BLOCK * per_row * sizeof(float));
    if (sc.phi == NULL || sc.path_feature == NULL || sc.path_z == NULL
        || sc.path_hot == NULL || sc.elem_of_feature == NULL
        || sc.feature == NULL || sc.z == NULL || contribs == NULL)
    {
        goto done;
    }
    sc.o = sc.z + lanes;
    sc.all = sc.o + lanes;
    sc.no_i = sc.all + lanes;
    sc.no_ij = sc.no_i + lanes;
    sc.weight = sc.no_ij + lanes;
    for (size_t r0 = 0; r0 < n; r0 += IX_BLOCK) {
        size_t nb = n - r0 < IX_BLOCK ? n - r0 : IX_BLOCK;

        if (forest_shap_run(s, rows + r0 * m->n_features, nb, contribs)
            != 0)
        {
            goto done;
        }
        for (size_t r = 0; r < nb; r++) {
            sc.row = rows + (r0 + r) * m->n_features;
            memset(sc.phi, 0,
                m->n_outputs * sc.cols * sc.cols * sizeof(double));
            for (uint32_t t = 0; t < m->n_trees; t++) {
                walk(&sc, t, 0, 0);
            }
            finish_row(&sc, contribs + r * per_row,
                out + (r0 + r) * forest_shap_interactions_row_values(m));
        }
    }
    rc = 0;
done:
    free(sc.phi);
    free(sc.path_feature);
    free(sc.path_z);
    free(sc.path_hot);
    free(sc.elem_of_feature);
    free(sc.feature);
    free(sc.z);
    free(contribs);
    return rc;
}

void
forest_rebase_interactions(const forest_model *m, const float *base_margin,
    size_t n_rows, float *values)
{
    size_t cols = (size_t) m->n_features + 1;

    for (size_t r = 0; r < n_rows; r++) {
        for (uint32_t k = 0; k < m->n_outputs; k++) {
            float *bias = values + ((r * m->n_outputs + k) * cols + cols - 1)
                                   * cols + cols - 1;

            *bias = (float) ((double) *bias - m->base_score[k]
                             + (double) base_margin[r * m->n_outputs + k]);
        }
    }
}
