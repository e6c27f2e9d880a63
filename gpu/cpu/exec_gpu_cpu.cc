/*
 * The "gpu-cpu" executor: the GPU executor's layout and its kernel launches,
 * compiled by g++ through the CPU execution layer (cuda_runtime.h beside
 * this file) and run on CPU threads.  Only in the check builds of make
 * test-gpu-cpu (BUILD/gpu-cpu/{asan,tsan}/bin/forest), where
 * tests/parity.py drives it on every reference model.  Each batch runs
 * every variant of the kernel the model can take, each on copies of the
 * rows and outputs of exactly their size (so ASan sees an access past
 * them); the variants must agree bit for bit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forest_gpu.h"
#include "gpu_kernel.h"

typedef struct {
    forest_executor base;
    gpu_forest      host;
} gpu_cpu_exec;

static int
run_variant(const gpu_forest &f, int staged, const float *rows,
    size_t n_rows, int margin, float *out, uint32_t cols, char *err,
    size_t errlen)
{
    size_t      in_bytes = n_rows * f.n_features * sizeof(float);
    size_t      out_bytes = n_rows * cols * sizeof(float);
    float      *in = (float *) malloc(in_bytes);
    float      *res = (float *) malloc(out_bytes);
    cudaError_t e = cudaErrorMemoryAllocation;

    if (in != NULL && res != NULL) {
        memcpy(in, rows, in_bytes);
        e = forest_gpu_predict_launch_variant(&f, staged, in, n_rows,
            margin, res, cols, NULL);
    }
    if (e == cudaSuccess) {
        memcpy(out, res, out_bytes);
    } else {
        snprintf(err, errlen, "kernel (staged=%d): %s", staged,
            cudaGetErrorString(e));
    }
    free(in);
    free(res);
    return e == cudaSuccess ? 0 : -1;
}

static int
gpu_cpu_predict(forest_executor *base, const float *rows, size_t n_rows,
    int margin, float *out, char *err, size_t errlen)
{
    gpu_cpu_exec *ex = (gpu_cpu_exec *) base;
    uint32_t      cols = forest_output_columns(base->model, margin);
    size_t        n_out = n_rows * cols;
    float        *other;
    int           rc;

    if (n_rows == 0) {
        return 0;
    }
    if (run_variant(ex->host, 0, rows, n_rows, margin, out, cols, err,
                    errlen) != 0)
    {
        return -1;
    }
    if (!forest_gpu_rows_fit_shared(&ex->host)) {
        return 0;
    }
    other = (float *) malloc(n_out * sizeof(float));
    if (other == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = run_variant(ex->host, 1, rows, n_rows, margin, other, cols, err,
        errlen);
    if (rc == 0 && memcmp(out, other, n_out * sizeof(float)) != 0) {
        snprintf(err, errlen, "the staged and unstaged kernels differ");
        rc = -1;
    }
    free(other);
    return rc;
}

static void
gpu_cpu_destroy(forest_executor *base)
{
    gpu_cpu_exec *ex = (gpu_cpu_exec *) base;

    forest_gpu_layout_free_host(&ex->host);
    free(ex);
}

static const forest_executor_ops gpu_cpu_ops = {
    "gpu-cpu", gpu_cpu_predict, gpu_cpu_destroy
};

extern "C" forest_executor *
forest_gpu_cpu_executor_create(const forest_model *m, char *err,
    size_t errlen)
{
    gpu_cpu_exec *ex = (gpu_cpu_exec *) calloc(1, sizeof(*ex));
    char          why[FOREST_ERR_LEN];

    if (ex == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (forest_gpu_layout_build(m, &ex->host, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "model not supported on the GPU: %s", why);
        free(ex);
        return NULL;
    }
    ex->base.ops = &gpu_cpu_ops;
    ex->base.model = m;
    return &ex->base;
}
