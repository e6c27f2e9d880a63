/* Placeholder CPU executor over the reference predictor (single thread);
 * replaced by the optimised executor. */
#include "forest_exec.h"
#include "forest_internal.h"

#include <stdlib.h>

static int
ref_predict(forest_executor *ex, const float *rows, size_t n_rows, int margin,
    float *out, char *err, size_t errlen)
{
    const forest_model *m = ex->model;
    uint32_t            cols = forest_output_columns(m, margin);

    (void) err;
    (void) errlen;
    for (size_t r = 0; r < n_rows; r++) {
        forest_predict_row_reference(m, rows + r * m->n_features, margin,
            out + r * cols);
    }
    return 0;
}

static void
ref_destroy(forest_executor *ex)
{
    free(ex);
}

static const forest_executor_ops ref_ops = { "cpu", ref_predict, ref_destroy };

forest_executor *
forest_cpu_executor_create(const forest_model *m, unsigned threads, char *err,
    size_t errlen)
{
    forest_executor *ex = calloc(1, sizeof(*ex));

    (void) threads;
    if (ex == NULL) {
        forest_errf(err, errlen, "cpu executor", "out of memory");
        return NULL;
    }
    ex->ops = &ref_ops;
    ex->model = m;
    return ex;
}
