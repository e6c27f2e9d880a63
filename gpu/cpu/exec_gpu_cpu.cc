/*
 * The "gpu-cpu" executor: the GPU executor's layout and its kernel launches,
 * compiled by g++ through the CPU execution layer (cuda_runtime.h beside
 * this file) and run on CPU threads.  Only in the check builds of make
 * test-gpu-cpu (BUILD/gpu-cpu/{asan,tsan}/bin/forest), where
 * tests/parity.py drives it on every reference model.  Each batch runs
 * every kernel and variant the model can take, each on copies of the rows
 * and outputs of exactly their size (so ASan sees an access past them):
 * ROWS with its rows read from global memory and staged in shared memory,
 * COMPACT with its trees read from global memory and staged (in about
 * three stages, so stage boundaries occur),
 * and TREES.  ROWS and COMPACT add the same leaves in the same order, so
 * they must agree bit for bit.  TREES sums them in another order, so its
 * outputs are the ones returned, for parity.py to hold against the
 * libraries' (ROWS's sums are the gpu-host walk's, held there); it must
 * also come within parity.py's tolerance of ROWS.  TREES runs the batch's
 * first rows in pieces of 1 and TREES_PIECE, so every tile shape occurs
 * (one row, a full tile and a partial one); the other rows are ROWS's.
 * Each TREES block is 128 threads meeting at barriers, which the
 * sanitizers make slow: a whole batch of them would cost make test minutes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forest_gpu.h"
#include "gpu_kernel.h"
#include "gpu_shap.h"

/* a full TREES tile and a partial one */
#define TREES_PIECE 6
/* tests/parity.py's REL_TOL */
#define TREES_REL_TOL 1e-4

static const char *
variant_name(forest_gpu_kernel kernel, int staged)
{
    switch (kernel) {
    case FOREST_GPU_KERNEL_TREES:
        return "trees";
    case FOREST_GPU_KERNEL_COMPACT:
        return staged ? "compact, staged" : "compact";
    default:
        return staged ? "rows, staged" : "rows";
    }
}

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
        e = forest_gpu_launch_variant(&f, kernel, staged, in, n_rows, margin,
            res, cols, NULL);
    }
    if (e == cudaSuccess) {
        memcpy(out, res, out_bytes);
    } else {
        snprintf(err, errlen, "kernel (%s): %s", variant_name(kernel, staged),
            cudaGetErrorString(e));
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

/* f's variant (kernel, staged) must give the outputs ref gave, bit for
 * bit; tmp: room for them */
static int
run_same(const gpu_forest &f, forest_gpu_kernel kernel, int staged,
    const float *rows, size_t n_rows, int margin, const float *ref,
    float *tmp, uint32_t cols, char *err, size_t errlen)
{
    if (run_variant(f, kernel, staged, rows, n_rows, margin, tmp, cols, err,
                    errlen) != 0)
    {
        return -1;
    }
    if (memcmp(ref, tmp, n_rows * cols * sizeof(float)) != 0) {
        snprintf(err, errlen, "the %s kernel differs from the rows kernel",
            variant_name(kernel, staged));
        return -1;
    }
    return 0;
}

static int
gpu_cpu_predict(forest_executor *base, const float *rows, size_t n_rows,
    int margin, float *out, char *err, size_t errlen)
{
    gpu_forest f = ((gpu_layout_executor *) base)->host;
    uint32_t   cols = forest_output_columns(base->model, margin);
    size_t     n_out = n_rows * cols;
    size_t     n_trees = n_rows < 1 + TREES_PIECE ? n_rows : 1 + TREES_PIECE;
    float     *by_rows, *tmp;
    int        rc;

    if (n_rows == 0) {
        return 0;
    }
    by_rows = (float *) malloc(n_out * sizeof(float));
    tmp = (float *) malloc(n_out * sizeof(float));
    if (by_rows == NULL || tmp == NULL) {
        free(by_rows);
        free(tmp);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = run_variant(f, FOREST_GPU_KERNEL_ROWS, 0, rows, n_rows, margin,
        by_rows, cols, err, errlen);
    if (rc == 0 && forest_gpu_can_stage(&f, FOREST_GPU_KERNEL_ROWS)) {
        rc = run_same(f, FOREST_GPU_KERNEL_ROWS, 1, rows, n_rows, margin,
            by_rows, tmp, cols, err, errlen);
    }
    if (rc == 0 && f.cnodes != NULL) {
        rc = run_same(f, FOREST_GPU_KERNEL_COMPACT, 0, rows, n_rows, margin,
            by_rows, tmp, cols, err, errlen);
    }
    if (rc == 0 && forest_gpu_can_stage(&f, FOREST_GPU_KERNEL_COMPACT)) {
        /* about three stages: their boundaries occur, while each stage's
         * two barriers cost the sanitizers a block of thread wake-ups */
        uint32_t third = (uint32_t) (f.n_nodes / 3);

        third = third < f.cstage_cap ? third : f.cstage_cap;
        forest_gpu_compact_stage(&f, f.max_tree > third ? f.max_tree : third);
        rc = run_same(f, FOREST_GPU_KERNEL_COMPACT, 1, rows, n_rows, margin,
            by_rows, tmp, cols, err, errlen);
    }
    if (rc == 0) {
        memcpy(out, by_rows, n_out * sizeof(float));
        rc = run_trees(f, rows, n_trees, margin, out, cols, err, errlen);
    }
    if (rc == 0) {
        rc = trees_near_rows(out, by_rows, n_trees * cols, err, errlen);
    }
    free(by_rows);
    free(tmp);
    return rc;
}

/*
 * Contributions: the TreeSHAP kernels (gpu_shap.cu) over paths built for
 * the call (a check, not a server: the executor keeps only the layout), on
 * copies of the rows and of the outputs and sums of exactly their size.
 * A model the kernel cannot take fails here, where the GPU executor would
 * leave it to the CPU, so that the checks see it.
 */
static int
gpu_cpu_contribs(forest_executor *base, const float *rows, size_t n_rows,
    float *out, char *err, size_t errlen)
{
    const gpu_forest &f = ((gpu_layout_executor *) base)->host;
    gpu_shap          s;
    char              why[FOREST_ERR_LEN];
    size_t            per, in_bytes = n_rows * f.n_features * sizeof(float);
    float            *in, *res;
    double           *phi;
    cudaError_t       e = cudaErrorMemoryAllocation;

    if (forest_gpu_shap_build(base->model, &s, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "GPU contributions: %s", why);
        return -1;
    }
    per = n_rows * forest_gpu_shap_row_values(&s);
    in = (float *) malloc(in_bytes);
    res = (float *) malloc(per * sizeof(float));
    phi = (double *) malloc(per * sizeof(double));
    if (in != NULL && res != NULL && phi != NULL) {
        memcpy(in, rows, in_bytes);
        e = forest_gpu_shap_launch(&f, &s, in, n_rows, phi, res, NULL);
    }
    if (e == cudaSuccess) {
        memcpy(out, res, per * sizeof(float));
    } else {
        snprintf(err, errlen, "kernel (contributions): %s",
            cudaGetErrorString(e));
    }
    free(in);
    free(res);
    free(phi);
    forest_gpu_shap_free_host(&s);
    return e == cudaSuccess ? 0 : -1;
}

static const forest_executor_ops gpu_cpu_ops = {
    "gpu-cpu", gpu_cpu_predict, forest_gpu_layout_executor_destroy,
    gpu_cpu_contribs
};

extern "C" forest_executor *
forest_gpu_cpu_executor_create(const forest_model *m, char *err,
    size_t errlen)
{
    return forest_gpu_layout_executor_create(m, &gpu_cpu_ops, err, errlen);
}
