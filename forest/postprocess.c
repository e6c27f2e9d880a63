/*
 * Link functions from margin space to the model's output space.  Kept apart
 * from the traversal so every executor (CPU, GPU fallback, reference) shares
 * one definition of each transform.
 */
#include "forest_internal.h"

#include <math.h>

static double
sigmoid(double x, double alpha)
{
    return 1.0 / (1.0 + exp(-alpha * x));
}

void
forest_postprocess_row(const forest_model *m, const double *margin, float *out)
{
    uint32_t n = m->n_outputs, k, best;
    double   mx, sum;

    switch (m->post) {
    case FOREST_POST_SIGMOID:
        for (k = 0; k < n; k++) {
            out[k] = (float) sigmoid(margin[k], m->sigmoid_alpha);
        }
        return;
    case FOREST_POST_SOFTMAX:
        mx = margin[0];
        for (k = 1; k < n; k++) {
            mx = margin[k] > mx ? margin[k] : mx;
        }
        sum = 0.0;
        for (k = 0; k < n; k++) {
            sum += exp(margin[k] - mx);
        }
        for (k = 0; k < n; k++) {
            out[k] = (float) (exp(margin[k] - mx) / sum);
        }
        return;
    case FOREST_POST_EXP:
        for (k = 0; k < n; k++) {
            out[k] = (float) exp(margin[k]);
        }
        return;
    case FOREST_POST_HINGE:
        for (k = 0; k < n; k++) {
            out[k] = margin[k] > 0.0 ? 1.0f : 0.0f;
        }
        return;
    case FOREST_POST_SIGNED_SQUARE:
        for (k = 0; k < n; k++) {
            out[k] = (float) (copysign(1.0, margin[k]) * margin[k] * margin[k]);
        }
        return;
    case FOREST_POST_LOG1P_EXP:
        for (k = 0; k < n; k++) {
            out[k] = (float) log1p(exp(margin[k]));
        }
        return;
    case FOREST_POST_EXP_STANDARD_RATIO:
        for (k = 0; k < n; k++) {
            out[k] = (float) exp2(-margin[k] / m->ratio_c);
        }
        return;
    case FOREST_POST_MAX_INDEX:
        best = 0;
        for (k = 1; k < n; k++) {
            if (margin[k] > margin[best]) {
                best = k;
            }
        }
        out[0] = (float) best;
        return;
    case FOREST_POST_IDENTITY:
    default:
        for (k = 0; k < n; k++) {
            out[k] = (float) margin[k];
        }
        return;
    }
}
