/*
 * Exact path-dependent TreeSHAP (the algorithm of XGBoost's pred_contribs,
 * LightGBM's pred_contrib and shap's TreeExplainer) and leaf indices.
 *
 * forest_shap_new() compiles a model's trees into root-to-leaf paths once;
 * forest_shap_run() is then a pure function of the rows, callable from any
 * number of threads at once (each call uses one thread).
 */
#ifndef FOREST_TREESHAP_H
#define FOREST_TREESHAP_H

#include "forest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct forest_shap forest_shap;

/* NULL + "why" in err when the model has no node covers (or out of
 * memory). */
forest_shap *forest_shap_new(const forest_model *m, char *err,
    size_t errlen);
void forest_shap_free(forest_shap *s);

/* Values per row: n_outputs * (n_features + 1). */
size_t forest_shap_row_values(const forest_shap *s);

/*
 * n rows of n_features float32 (NaN = missing) -> out, row-major
 * [n][n_outputs][n_features + 1]: each feature's contribution to the
 * margin of each output, the last of each output the bias (expected margin),
 * so that a row's values of one output add up to its margin.  -1 when out of
 * memory (out untouched).
 */
int forest_shap_run(const forest_shap *s, const float *rows, size_t n,
    float *out);

/*
 * The leaf each row reaches in every tree, as the model's library numbers
 * it (forest_model.node_source_id): out is [n][n_trees].
 */
void forest_leaf_index(const forest_model *m, const float *rows, size_t n,
    int32_t *out);

#ifdef __cplusplus
}
#endif

#endif /* FOREST_TREESHAP_H */
