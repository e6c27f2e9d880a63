/*
 * The TreeSHAP kernels (see gpu_shap.h): zero the sums, a warp per (bin,
 * row) adds every path's contributions, then the sums become the outputs.
 * Warps are numbered row fastest, so the warps running at once share a
 * bin's elements and node tests in cache.  Per path of d unique features
 * (l = d + 1 elements, the root at rank 0), as the recursive algorithm's
 * EXTEND builds it one element at a time, the weights after element e are
 *     w'[i] = w[i] z_e (e - i) / (e + 1) + w[i-1] o_e i / (e + 1)
 * (z the zero fraction, o the one fraction: 1 when the row takes all the
 * element's nodes the path's way, else 0): the lane of rank i computes
 * w'[i] from its own w[i] and its left neighbour's, and z_e, o_e come from
 * the lane of rank e.  A lane's UNWOUND sum then reads w[d-1] .. w[0] the
 * same way.  Lanes past the bin's elements, and lanes whose path is
 * shorter than the bin's longest, take part in every shuffle (all 32 lanes
 * shuffle together) and change nothing.
 */
#include "gpu_walk.cuh"
#include "gpu_shap.h"
#include "gpu_launch.cuh"

#define GPU_SHAP_BLOCK 128
#define GPU_SHAP_FULL  0xffffffffu

/* 1 when the row takes every one of the element's nodes the path's way */
__device__ static inline double
shap_one(const gpu_forest &f, const gpu_shap &s, const gpu_shap_elem &e,
    const float *x)
{
    float v = x[e.feature];

    for (uint32_t c = e.cond; c < e.cond + e.n_cond; c++) {
        gpu_node nd = gpu_load_node(s.conds, c);

        if (gpu_goes_left(f, nd, v) != (nd.left != 0)) {
            return 0.0;
        }
    }
    return 1.0;
}

/*
 * The sum over the unwound path of the lane's element (zero fraction z,
 * one fraction o) from the path's weights w (the lane of rank i holds
 * w[i]); d: the path's unique features, top: the bin's longest path's.
 */
__device__ static inline double
shap_unwound(double w, const gpu_shap_elem &e, double o, uint32_t d,
    uint32_t top)
{
    double next = __shfl_sync(GPU_SHAP_FULL, w, e.first + d);
    double total = 0.0;

    for (int j = (int) top - 1; j >= 0; j--) {
        double wj = __shfl_sync(GPU_SHAP_FULL, w,
            e.first + min((uint32_t) j, d));

        if ((uint32_t) j >= d) {
            continue;
        }
        if (o != 0.0) {
            double tmp = next * (d + 1) / (j + 1);

            total += tmp;
            next = wj - tmp * e.zero * (d - j) / (d + 1);
        } else {
            total += wj * (d + 1) / (e.zero * (d - j));
        }
    }
    return total;
}

static __global__ void
gpu_shap_kernel(gpu_forest f, gpu_shap s, const float *__restrict__ X,
    size_t n_rows, double *__restrict__ phi)
{
    const size_t   warp = ((size_t) blockIdx.x * blockDim.x + threadIdx.x)
                          / GPU_SHAP_LANES;
    const uint32_t lane = threadIdx.x % GPU_SHAP_LANES;
    const size_t   row = warp % n_rows, bin = warp / n_rows;
    const float   *x = X + row * s.n_features;
    gpu_shap_elem  e;
    uint32_t       begin, top, d, rank;
    double         o = 1.0, w;

    /* whole warps: the block is a multiple of GPU_SHAP_LANES */
    if (bin >= s.n_bins) {
        return;
    }
    begin = s.bins[bin];
    top = s.bin_len[bin];
    if (begin + lane < s.bins[bin + 1]) {
        e = s.elems[begin + lane];
        if (e.feature >= 0) {
            o = shap_one(f, s, e, x);
        }
    } else {
        memset(&e, 0, sizeof(e));
        e.zero = 1.0;
        e.feature = -1;
        e.first = (uint8_t) lane;
        e.len = 1;
    }
    d = e.len - 1u;
    rank = lane - e.first;
    w = rank == 0 ? 1.0 : 0.0;
    for (uint32_t k = 1; k < top; k++) {
        uint32_t src = e.first + min(k, d);
        double   zk = __shfl_sync(GPU_SHAP_FULL, e.zero, src);
        double   ok = __shfl_sync(GPU_SHAP_FULL, o, src);
        double   wl = __shfl_sync(GPU_SHAP_FULL, w, lane > 0 ? lane - 1 : 0);

        if (k <= d && rank <= k) {
            w = w * zk * (k - rank) / (k + 1)
                + (rank > 0 ? wl * ok * rank / (k + 1) : 0.0);
        }
    }
    if (top > 1) {
        double total = shap_unwound(w, e, o, d, top - 1);

        /* o == z: no contribution (and 0 * inf where both are 0) */
        if (e.feature >= 0 && o != e.zero) {
            double *to = phi + (row * s.n_outputs + e.output)
                               * (s.n_features + 1) + (uint32_t) e.feature;

            for (uint32_t k = 0; k < e.width; k++) {
                atomicAdd(to + (size_t) k * (s.n_features + 1),
                    total * (o - e.zero) * s.values[e.leaf + k]);
            }
        }
    }
}

static __global__ void
gpu_shap_zero(double *phi, size_t n)
{
    size_t i = (size_t) blockIdx.x * blockDim.x + threadIdx.x;

    if (i < n) {
        phi[i] = 0.0;
    }
}

static __global__ void
gpu_shap_finish(gpu_shap s, const double *__restrict__ phi, size_t n,
    float *__restrict__ out)
{
    size_t   i = (size_t) blockIdx.x * blockDim.x + threadIdx.x;
    uint32_t cols = s.n_features + 1, col, k;

    if (i >= n) {
        return;
    }
    col = (uint32_t) (i % cols);
    k = (uint32_t) (i / cols % s.n_outputs);
    out[i] = col == s.n_features ? (float) s.bias[k]
                                 : (float) (phi[i] / s.divisor[k]);
}

cudaError_t
forest_gpu_shap_launch(const gpu_forest *f, const gpu_shap *s,
    const float *X, size_t n_rows, double *phi, float *out,
    cudaStream_t stream)
{
    size_t n = n_rows * forest_gpu_shap_row_values(s);
    size_t blocks = (n + GPU_SHAP_BLOCK - 1) / GPU_SHAP_BLOCK;
    size_t warps = n_rows * s->n_bins;
    size_t per_block = GPU_SHAP_BLOCK / GPU_SHAP_LANES;

    if (n_rows == 0) {
        return cudaSuccess;
    }
    FOREST_LAUNCH(gpu_shap_zero, blocks, GPU_SHAP_BLOCK, 0, stream, phi, n);
    if (warps > 0) {
        FOREST_LAUNCH(gpu_shap_kernel, (warps + per_block - 1) / per_block,
            GPU_SHAP_BLOCK, 0, stream, *f, *s, X, n_rows, phi);
    }
    FOREST_LAUNCH(gpu_shap_finish, blocks, GPU_SHAP_BLOCK, 0, stream, *s,
        phi, n, out);
    return cudaGetLastError();
}
