/*
 * Host entry to the link functions; the transforms themselves live in
 * postprocess_impl.h so the CUDA kernels share the exact same code.
 */
#include "forest_internal.h"
#include "postprocess_impl.h"

/* the impl header switches on the enum's values */
_Static_assert(FOREST_POST_SIGMOID == 1 && FOREST_POST_SOFTMAX == 2
    && FOREST_POST_EXP == 3 && FOREST_POST_HINGE == 4
    && FOREST_POST_SIGNED_SQUARE == 5 && FOREST_POST_LOG1P_EXP == 6
    && FOREST_POST_EXP_STANDARD_RATIO == 7 && FOREST_POST_MAX_INDEX == 8,
    "postprocess_impl.h case labels");

void
forest_postprocess_row(const forest_model *m, const double *margin, float *out)
{
    forest_postprocess_apply(m->post, m->sigmoid_alpha, m->ratio_c,
        m->n_outputs, margin, out);
}
