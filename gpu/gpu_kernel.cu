/*
 * One thread per row walks every tree.  A block first stages its rows in
 * shared memory (coalesced global reads; an odd row stride keeps the random
 * feature reads of a warp off the same bank), then each thread descends with
 * one 16-byte node load per level through the read-only cache.
 */
#define FOREST_HD __host__ __device__
#include "postprocess_impl.h"

#include "gpu_kernel.h"

#define GPU_BLOCK      128
#define GPU_SMEM_LIMIT (48 * 1024)
/* float32 bound of LightGBM's zero test |x| <= 1e-35 */
#define GPU_ZERO_BOUND 1e-35f

__device__ static bool
gpu_goes_left(const gpu_forest &f, const gpu_node &nd, float v)
{
    if (isnan(v) || ((nd.bits & GPU_ZERO_MISSING) && fabsf(v) <= GPU_ZERO_BOUND)) {
        return (nd.bits & GPU_DEFAULT_LEFT) != 0;
    }
    if (nd.bits & GPU_CATEGORICAL) {
        uint32_t nbits = __float_as_uint(nd.value);
        bool     in = false;

        if ((f.cat_truncates ? v > -1.0f : v >= 0.0f) && v < (float) nbits) {
            uint32_t c = v < 1.0f ? 0 : (uint32_t) v;
            in = (__ldg(&f.cat_bits[nd.aux + c / 32]) >> (c % 32)) & 1u;
        }
        return in == ((nd.bits & GPU_CAT_SET_LEFT) != 0);
    }
    return v < nd.value;
}

__device__ static gpu_node
gpu_load_node(const gpu_node *nodes, uint32_t i)
{
    uint4    raw = __ldg(reinterpret_cast<const uint4 *>(nodes) + i);
    gpu_node nd;

    nd.value = __uint_as_float(raw.x);
    nd.bits = raw.y;
    nd.left = raw.z;
    nd.aux = raw.w;
    return nd;
}

template <bool STAGED, bool SCALAR>
__global__ void
gpu_predict_kernel(gpu_forest f, const float *__restrict__ X, size_t n_rows,
    int margin, float *__restrict__ out, uint32_t out_cols)
{
    extern __shared__ float staged[];
    const uint32_t F = f.n_features;
    const size_t   first = (size_t) blockIdx.x * blockDim.x;
    const size_t   row = first + threadIdx.x;
    const float   *x;
    float          acc[GPU_MAX_OUTPUTS];
    double         mg[GPU_MAX_OUTPUTS];

    if (STAGED) {
        const uint32_t stride = F | 1u;
        const size_t   nr = min((size_t) blockDim.x, n_rows - first);

        for (size_t i = threadIdx.x; i < nr * F; i += blockDim.x) {
            staged[(i / F) * stride + i % F] = X[first * F + i];
        }
        __syncthreads();
        x = staged + (size_t) threadIdx.x * stride;
    } else {
        x = X + row * F;
    }
    if (row >= n_rows) {
        return;
    }
    /* single-output models keep their sum in a register; an indexed array
     * would live in local memory */
    float acc0 = 0.0f;

    for (uint32_t k = 0; !SCALAR && k < f.n_outputs; k++) {
        acc[k] = 0.0f;
    }
    for (uint32_t t = 0; t < f.n_trees; t++) {
        gpu_node nd = gpu_load_node(f.nodes, __ldg(&f.roots[t]));
        int32_t  g = __ldg(&f.groups[t]);

        while (!(nd.bits & GPU_LEAF)) {
            bool left = gpu_goes_left(f, nd, x[nd.bits & GPU_FEATURE_MASK]);
            nd = gpu_load_node(f.nodes, nd.left + (left ? 0u : 1u));
        }
        if (SCALAR) {
            acc0 += nd.value;
        } else if (g >= 0) {
            acc[g] += nd.value;
        } else {
            for (uint32_t k = 0; k < f.leaf_width; k++) {
                acc[k] += __ldg(&f.leaf_vec[nd.aux + k]);
            }
        }
    }
    if (SCALAR) {
        acc[0] = acc0;
    }
    for (uint32_t k = 0; k < f.n_outputs; k++) {
        mg[k] = (double) acc[k] / f.divisor[k] + f.base_score[k];
    }
    if (margin) {
        for (uint32_t k = 0; k < f.n_outputs; k++) {
            out[row * out_cols + k] = (float) mg[k];
        }
    } else {
        forest_postprocess_apply(f.post, f.sigmoid_alpha, f.ratio_c,
            f.n_outputs, mg, out + row * out_cols);
    }
}

cudaError_t
gpu_predict_launch(const gpu_forest *dev, const float *X, size_t n_rows,
    int margin, float *out, uint32_t out_cols, cudaStream_t stream)
{
    size_t blocks = (n_rows + GPU_BLOCK - 1) / GPU_BLOCK;
    size_t smem = (size_t) GPU_BLOCK * (dev->n_features | 1u) * sizeof(float);

    if (n_rows == 0) {
        return cudaSuccess;
    }
    bool   staged = smem <= GPU_SMEM_LIMIT;
    bool   scalar = dev->n_outputs == 1 && dev->leaf_width == 1;

    if (staged && scalar) {
        gpu_predict_kernel<true, true><<<blocks, GPU_BLOCK, smem, stream>>>(
            *dev, X, n_rows, margin, out, out_cols);
    } else if (staged) {
        gpu_predict_kernel<true, false><<<blocks, GPU_BLOCK, smem, stream>>>(
            *dev, X, n_rows, margin, out, out_cols);
    } else if (scalar) {
        gpu_predict_kernel<false, true><<<blocks, GPU_BLOCK, 0, stream>>>(
            *dev, X, n_rows, margin, out, out_cols);
    } else {
        gpu_predict_kernel<false, false><<<blocks, GPU_BLOCK, 0, stream>>>(
            *dev, X, n_rows, margin, out, out_cols);
    }
    return cudaGetLastError();
}
