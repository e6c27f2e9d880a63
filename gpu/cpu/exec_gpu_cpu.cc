/*
 * The "gpu-cpu" executor: the GPU executor's layout and its kernel launches,
 * compiled by g++ through the CPU execution layer (cuda_runtime.h beside
 * this file) and run on CPU threads.  Only in the check builds of make
 * test-gpu-cpu (BUILD/gpu-cpu/{asan,tsan}/bin/forest), where
 * tests/parity.py drives it on every reference model.  Each batch runs
 * every kernel and variant the model can take, each on copies of the rows
 * and outputs of exactly their size (so ASan sees an access past them).
 * The ROWS variants must agree bit for bit.  TREES sums the same leaves in
 * another order, so its outputs are the ones returned, for parity.py to
 * hold against the libraries' (ROWS's sums are the gpu-host walk's, held
 * there); it must also come within parity.py's tolerance of ROWS.  TREES
 * runs the batch's first rows in pieces of 1 and TREES_PIECE, so every tile
 * shape occurs (one row, a full tile and a partial one); the other rows are
 * ROWS's.  Each TREES block is 128 threads meeting at barriers, which the
 * sanitizers make slow: a whole batch of them would cost make test minutes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forest_gpu.h"
#include "gpu_kernel.h"

/* a full TREES tile and a partial one */
#define TREES_PIECE 6
/* tests/parity.py's REL_TOL */
#define TREES_REL_TOL 1e-4

typedef struct {
    forest_executor base;
    gpu_forest      host;
} gpu_cpu_exec;

/* kernel: ROWS (then staged says which variant) or TREES */
static int
run_variant(const gpu_forest &f, forest_gpu_kernel kernel, int staged,
    const float *rows, size_t n_rows, int margin, float *out, uint32_t cols,
    char *err, size_t errlen)
{
    size_t      in_bytes = n_rows * f.n_features * sizeof(float);
    size_t      out_bytes = n_rows * cols * sizeof(float);
    float      *in = (float *) malloc(in_bytes);
    float      *res = (float *) malloc(out_bytes);
    cudaError_t e = cudaErrorMemoryAllocation;

    if (in != NULL && res != NULL) {
        memcpy(in, rows, in_bytes);
        e = kernel == FOREST_GPU_KERNEL_TREES
            ? forest_gpu_predict_launch(&f, kernel, in, n_rows, margin, res,
                  cols, NULL)
            : forest_gpu_predict_launch_variant(&f, staged, in, n_rows,
                  margin, res, cols, NULL);
    }
    if (e == cudaSuccess) {
        memcpy(out, res, out_bytes);
    } else {
        snprintf(err, errlen, "kernel (%s): %s",
            kernel == FOREST_GPU_KERNEL_TREES ? "trees"
            : staged ? "rows, staged" : "rows", cudaGetErrorString(e));
    }
    free(in);
    free(res);
    return e == cudaSuccess ? 0 : -1;
}

/* the first rows (at most 1 + TREES_PIECE) through TREES, in pieces of 1
 * and TREES_PIECE */
static int
run_trees(const gpu_forest &f, const float *rows, size_t n_rows, int margin,
    float *out, uint32_t cols, char *err, size_t errlen)
{
    const size_t pieces[] = { 1, TREES_PIECE };
    size_t       done = 0;

    for (size_t i = 0; i < 2 && done < n_rows; i++) {
        size_t n = n_rows - done < pieces[i] ? n_rows - done : pieces[i];

        if (run_variant(f, FOREST_GPU_KERNEL_TREES, 0,
                        rows + done * f.n_features, n, margin,
                        out + done * cols, cols, err, errlen) != 0)
        {
            return -1;
        }
        done += n;
    }
    return 0;
}

static int
trees_near_rows(const float *trees, const float *rows, size_t n_out,
    char *err, size_t errlen)
{
    for (size_t i = 0; i < n_out; i++) {
        double tol = TREES_REL_TOL * fmax(1.0, fabs((double) rows[i]));

        if (isnan(trees[i]) != isnan(rows[i])
            || fabs((double) trees[i] - rows[i]) > tol)
        {
            snprintf(err, errlen, "the trees and rows kernels differ at "
                "output %zu: %.9g and %.9g", i, trees[i], rows[i]);
            return -1;
        }
    }
    return 0;
}

static int
gpu_cpu_predict(forest_executor *base, const float *rows, size_t n_rows,
    int margin, float *out, char *err, size_t errlen)
{
    gpu_cpu_exec *ex = (gpu_cpu_exec *) base;
    uint32_t      cols = forest_output_columns(base->model, margin);
    size_t        n_out = n_rows * cols;
    size_t        n_trees = n_rows < 1 + TREES_PIECE ? n_rows : 1 + TREES_PIECE;
    int           fits = forest_gpu_rows_fit_shared(&ex->host);
    float        *by_rows, *staged = NULL;
    int           rc;

    if (n_rows == 0) {
        return 0;
    }
    by_rows = (float *) malloc(n_out * sizeof(float));
    if (fits) {
        staged = (float *) malloc(n_out * sizeof(float));
    }
    if (by_rows == NULL || (fits && staged == NULL)) {
        free(by_rows);
        free(staged);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = run_variant(ex->host, FOREST_GPU_KERNEL_ROWS, 0, rows, n_rows,
        margin, by_rows, cols, err, errlen);
    if (rc == 0 && staged != NULL) {
        rc = run_variant(ex->host, FOREST_GPU_KERNEL_ROWS, 1, rows, n_rows,
            margin, staged, cols, err, errlen);
        if (rc == 0 && memcmp(by_rows, staged, n_out * sizeof(float)) != 0) {
            snprintf(err, errlen, "the staged and unstaged kernels differ");
            rc = -1;
        }
    }
    if (rc == 0) {
        memcpy(out, by_rows, n_out * sizeof(float));
        rc = run_trees(ex->host, rows, n_trees, margin, out, cols, err,
            errlen);
    }
    if (rc == 0) {
        rc = trees_near_rows(out, by_rows, n_trees * cols, err, errlen);
    }
    free(by_rows);
    free(staged);
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
