/*
 * The executor interface: how a caller (CLI, NGINX module, benchmarks) runs a
 * batch of rows through a model without knowing where it runs.  The CPU
 * executor (forest/exec_cpu.c) and the CUDA executor (gpu/) implement it.
 */
#ifndef FOREST_EXEC_H
#define FOREST_EXEC_H

#include <stdio.h>

#include "forest.h"
#include "treeshap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct forest_executor forest_executor;

typedef struct {
    const char *name;                       /* "cpu", "gpu" */
    /*
     * Predict n_rows rows of model->n_features float32 values (row-major,
     * NaN = missing) into out (n_rows * forest_output_columns(model, margin)
     * floats).  Blocks until done; never called on an event loop.  May be
     * called concurrently from several threads.  Returns 0, or -1 with a
     * message in err (the batch failed; the executor stays usable).
     */
    int  (*predict)(forest_executor *ex, const float *rows, size_t n_rows,
                    int margin, float *out, char *err, size_t errlen);
    void (*destroy)(forest_executor *ex);
    /*
     * Optional (NULL: not offered): the TreeSHAP contributions of n_rows
     * rows into out, as forest_shap_run lays them out and within 1e-5
     * absolute + relative of its values.  Same threading as predict.
     * Returns 0, -1 with a message in err (the batch failed), or 1 where
     * the executor leaves the batch to forest_shap_run (below its transfer
     * threshold, or paths it cannot take).
     */
    int  (*contribs)(forest_executor *ex, const float *rows, size_t n_rows,
                     float *out, char *err, size_t errlen);
} forest_executor_ops;

struct forest_executor {
    const forest_executor_ops *ops;
    const forest_model        *model;      /* not owned; outlives the executor */
};

/* threads: 0 = the CPUs this process may use (forest_cpu_count). */
forest_executor *forest_cpu_executor_create(const forest_model *m,
    unsigned threads, char *err, size_t errlen);

static inline int
forest_executor_predict(forest_executor *ex, const float *rows, size_t n_rows,
    int margin, float *out, char *err, size_t errlen)
{
    return ex->ops->predict(ex, rows, n_rows, margin, out, err, errlen);
}

/* Contributions by the executor where it offers them for this batch, else
 * by forest_shap_run on the calling thread (s: the model's paths). */
static inline int
forest_executor_contribs(forest_executor *ex, const forest_shap *s,
    const float *rows, size_t n_rows, float *out, char *err, size_t errlen)
{
    int rc = 1;

    if (ex->ops->contribs != NULL) {
        rc = ex->ops->contribs(ex, rows, n_rows, out, err, errlen);
    }
    if (rc == 1 && forest_shap_run(s, rows, n_rows, out) != 0) {
        snprintf(err, errlen, "out of memory for the contributions");
        return -1;
    }
    return rc == 1 ? 0 : rc;
}

static inline void
forest_executor_destroy(forest_executor *ex)
{
    if (ex != NULL) {
        ex->ops->destroy(ex);
    }
}

#ifdef __cplusplus
}
#endif

#endif /* FOREST_EXEC_H */
