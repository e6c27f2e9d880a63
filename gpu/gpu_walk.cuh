/*
 * One row through one tree or every tree of a gpu_forest, and its outputs:
 * the bodies of the CUDA kernels (gpu_kernel.cu), compiled for the host as
 * well so that the "gpu-host" executor (exec_gpu_host.cu) checks the GPU
 * layout and walk against the libraries' outputs on machines without a GPU.
 */
#ifndef FOREST_GPU_WALK_CUH
#define FOREST_GPU_WALK_CUH

#include <math.h>
#include <string.h>

#define FOREST_HD __host__ __device__
#include "postprocess_impl.h"

#include "gpu_layout.h"

/* float32 bound of LightGBM's zero test |x| <= 1e-35 */
#define GPU_ZERO_BOUND 1e-35f

/* read-only data: through the read-only cache on the device */
template <typename T>
FOREST_HD static inline T
gpu_ro(const T *p)
{
#ifdef __CUDA_ARCH__
    return __ldg(p);
#else
    return *p;
#endif
}

FOREST_HD static inline bool
gpu_goes_left(const gpu_forest &f, const gpu_node &nd, float v)
{
    if (isnan(v) || ((nd.bits & GPU_ZERO_MISSING) && fabsf(v) <= GPU_ZERO_BOUND)) {
        return (nd.bits & GPU_DEFAULT_LEFT) != 0;
    }
    if (nd.bits & GPU_CATEGORICAL) {
        uint32_t nbits;
        bool     in = false;

        memcpy(&nbits, &nd.value, sizeof(nbits));
        if ((f.cat_truncates ? v > -1.0f : v >= 0.0f) && v < (float) nbits) {
            uint32_t c = v < 1.0f ? 0 : (uint32_t) v;
            in = (gpu_ro(&f.cat_bits[nd.aux + c / 32]) >> (c % 32)) & 1u;
        }
        return in == ((nd.bits & GPU_CAT_SET_LEFT) != 0);
    }
    return v < nd.value;
}

/* one 16-byte load on the device */
FOREST_HD static inline gpu_node
gpu_load_node(const gpu_node *nodes, uint32_t i)
{
    gpu_node nd;
#ifdef __CUDA_ARCH__
    uint4    raw = __ldg(reinterpret_cast<const uint4 *>(nodes) + i);

    nd.value = __uint_as_float(raw.x);
    nd.bits = raw.y;
    nd.left = raw.z;
    nd.aux = raw.w;
#else
    nd = nodes[i];
#endif
    return nd;
}

/* One output from scalar leaves: the walk's SCALAR case, which the kernel
 * launch and the host check must choose alike. */
FOREST_HD static inline bool
gpu_scalar_sums(const gpu_forest &f)
{
    return f.n_outputs == 1 && f.leaf_width == 1;
}

/* Zeroes the sums gpu_add_tree adds to; SCALAR as there. */
template <bool SCALAR>
FOREST_HD static inline void
gpu_zero_sums(const gpu_forest &f, float &acc0, float *acc)
{
    acc0 = 0.0f;
    for (uint32_t k = 0; !SCALAR && k < f.n_outputs; k++) {
        acc[k] = 0.0f;
    }
}

/*
 * Adds tree t's leaf for the row x to the sums: the step both kernel
 * strategies share.  SCALAR: one output, scalar leaves, summed in acc0 (a
 * register; an indexed array would live in local memory on the device);
 * otherwise in acc[0..n_outputs).
 */
template <bool SCALAR>
FOREST_HD static inline void
gpu_add_tree(const gpu_forest &f, const float *x, uint32_t t, float &acc0,
    float *acc)
{
    gpu_node nd = gpu_load_node(f.nodes, gpu_ro(&f.roots[t]));
    int32_t  g = gpu_ro(&f.groups[t]);

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
            acc[k] += gpu_ro(&f.leaf_vec[nd.aux + k]);
        }
    }
}

/* acc[0..n_outputs) = the row x's leaf sums, in tree order. */
template <bool SCALAR>
FOREST_HD static inline void
gpu_walk_row(const gpu_forest &f, const float *x, float *acc)
{
    float acc0;

    gpu_zero_sums<SCALAR>(f, acc0, acc);
    for (uint32_t t = 0; t < f.n_trees; t++) {
        gpu_add_tree<SCALAR>(f, x, t, acc0, acc);
    }
    if (SCALAR) {
        acc[0] = acc0;
    }
}

/* The row's outputs from its sums: averaged, plus the base score, then
 * the model's transform unless margin. */
FOREST_HD static inline void
gpu_finish_row(const gpu_forest &f, const float *acc, int margin, float *out)
{
    double mg[GPU_MAX_OUTPUTS];

    for (uint32_t k = 0; k < f.n_outputs; k++) {
        mg[k] = (double) acc[k] / f.divisor[k] + f.base_score[k];
    }
    if (margin) {
        for (uint32_t k = 0; k < f.n_outputs; k++) {
            out[k] = (float) mg[k];
        }
    } else {
        forest_postprocess_apply(f.post, f.sigmoid_alpha, f.ratio_c,
            f.n_outputs, mg, out);
    }
}

#endif /* FOREST_GPU_WALK_CUH */
