/*
 * Exact path-dependent SHAP interaction values: XGBoost's
 * pred_interactions (shap's shap_interaction_values plus the bias).
 */
#ifndef FOREST_TREESHAP_INTERACTIONS_H
#define FOREST_TREESHAP_INTERACTIONS_H

#include "treeshap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values per row: n_outputs * (n_features + 1) * (n_features + 1). */
size_t forest_shap_interactions_row_values(const forest_model *m);

/*
 * n rows of n_features float32 (NaN = missing) of model m, s its
 * forest_shap_new(m) -> out, row-major
 * [n][n_outputs][n_features + 1][n_features + 1]: per output a symmetric
 * matrix whose off-diagonal (i, j) is half the interaction of features i
 * and j, whose diagonal is each feature's contribution less its row's
 * interactions, and whose last row and column are 0 but for the bias in
 * the corner, so that each row of a matrix adds up to that feature's
 * contribution.  -1 when out of memory.
 */
int forest_shap_interactions(const forest_shap *s, const forest_model *m,
    const float *rows, size_t n, float *out);

/* The bias of n_rows rows of interactions when each row started from its
 * base_margin (n_outputs per row) instead of the model's base_score, as
 * forest_rebase_contribs() moves the contributions' bias. */
void forest_rebase_interactions(const forest_model *m,
    const float *base_margin, size_t n_rows, float *values);

#ifdef __cplusplus
}
#endif

#endif /* FOREST_TREESHAP_INTERACTIONS_H */
