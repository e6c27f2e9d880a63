/*
 * The link functions from margin space to output space, written once for the
 * host (forest/postprocess.c) and the CUDA kernels (gpu/), which include this
 * header with FOREST_HD = __host__ __device__.
 */
#ifndef FOREST_POSTPROCESS_IMPL_H
#define FOREST_POSTPROCESS_IMPL_H

#include <math.h>
#include <stdint.h>

#ifndef FOREST_HD
#define FOREST_HD
#endif

FOREST_HD static inline void
forest_postprocess_apply(int post, double alpha, double ratio_c, uint32_t n,
    const double *margin, float *out)
{
    uint32_t k, best;
    double   mx, sum;

    switch (post) {
    case 1: /* FOREST_POST_SIGMOID */
        for (k = 0; k < n; k++) {
            out[k] = (float) (1.0 / (1.0 + exp(-alpha * margin[k])));
        }
        return;
    case 2: /* FOREST_POST_SOFTMAX */
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
    case 3: /* FOREST_POST_EXP */
        for (k = 0; k < n; k++) {
            out[k] = (float) exp(margin[k]);
        }
        return;
    case 4: /* FOREST_POST_HINGE */
        for (k = 0; k < n; k++) {
            out[k] = margin[k] > 0.0 ? 1.0f : 0.0f;
        }
        return;
    case 5: /* FOREST_POST_SIGNED_SQUARE */
        for (k = 0; k < n; k++) {
            out[k] = (float) (copysign(1.0, margin[k]) * margin[k] * margin[k]);
        }
        return;
    case 6: /* FOREST_POST_LOG1P_EXP */
        for (k = 0; k < n; k++) {
            out[k] = (float) log1p(exp(margin[k]));
        }
        return;
    case 7: /* FOREST_POST_EXP_STANDARD_RATIO */
        for (k = 0; k < n; k++) {
            out[k] = (float) exp2(-margin[k] / ratio_c);
        }
        return;
    case 8: /* FOREST_POST_MAX_INDEX */
        best = 0;
        for (k = 1; k < n; k++) {
            if (margin[k] > margin[best]) {
                best = k;
            }
        }
        out[0] = (float) best;
        return;
    default: /* FOREST_POST_IDENTITY */
        for (k = 0; k < n; k++) {
            out[k] = (float) margin[k];
        }
        return;
    }
}

#endif /* FOREST_POSTPROCESS_IMPL_H */
