/*
 * Per-row starting margins (XGBoost's base_margin): a row given one starts
 * its sum of trees from it instead of the model's base_score, in margin
 * space, before the postprocessor, as XGBoost predicts with a DMatrix that
 * has a base_margin.  Applied to the executors' margins afterwards, so the
 * executors and their batches stay as they are.
 */
#include "forest.h"

void
forest_rebase_margins(const forest_model *m, const float *base_margin,
    size_t n_rows, const float *margins, int margin, float *out)
{
    uint32_t n = m->n_outputs;
    uint32_t cols = forest_output_columns(m, margin);
    double   row[FOREST_REBASE_MAX_OUTPUTS];

    for (size_t r = 0; r < n_rows; r++) {
        for (uint32_t k = 0; k < n; k++) {
            row[k] = (double) margins[r * n + k] - m->base_score[k]
                     + (double) base_margin[r * n + k];
        }
        if (margin) {
            for (uint32_t k = 0; k < n; k++) {
                out[r * cols + k] = (float) row[k];
            }
        } else {
            forest_postprocess_row(m, row, out + r * cols);
        }
    }
}

void
forest_rebase_contribs(const forest_model *m, const float *base_margin,
    size_t n_rows, float *contribs)
{
    uint32_t n = m->n_outputs;
    size_t   width = (size_t) m->n_features + 1;

    for (size_t r = 0; r < n_rows; r++) {
        for (uint32_t k = 0; k < n; k++) {
            float *bias = contribs + (r * n + k) * width + width - 1;

            *bias = (float) ((double) *bias - m->base_score[k]
                             + (double) base_margin[r * n + k]);
        }
    }
}
