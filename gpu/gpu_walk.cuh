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

/* NaN, or a zero where the node treats zero as missing (LightGBM) */
FOREST_HD static inline bool
gpu_missing(float v, bool zero_missing)
{
    return isnan(v) || (zero_missing && fabsf(v) <= GPU_ZERO_BOUND);
}

/* Whether v's category is in the set of nbits bits at set[0..]. */
FOREST_HD static inline bool
gpu_in_set(const gpu_forest &f, const uint32_t *set, uint32_t nbits, float v)
{
    if ((f.cat_truncates ? v > -1.0f : v >= 0.0f) && v < (float) nbits) {
        uint32_t c = v < 1.0f ? 0 : (uint32_t) v;

        return (gpu_ro(&set[c / 32]) >> (c % 32)) & 1u;
    }
    return false;
}

FOREST_HD static inline bool
gpu_goes_left(const gpu_forest &f, const gpu_node &nd, float v)
{
    if (gpu_missing(v, nd.bits & GPU_ZERO_MISSING)
        || ((nd.bits & GPU_CAT_WHOLE) && v != truncf(v)))
    {
        return (nd.bits & GPU_DEFAULT_LEFT) != 0;
    }
    if (nd.bits & GPU_CATEGORICAL) {
        uint32_t nbits;

        memcpy(&nbits, &nd.value, sizeof(nbits));
        return gpu_in_set(f, f.cat_bits + nd.aux, nbits, v)
               == ((nd.bits & GPU_CAT_SET_LEFT) != 0);
    }
    return v < nd.value;
}

/* gpu_goes_left's tests on a compact node. */
FOREST_HD static inline bool
gpu_cgoes_left(const gpu_forest &f, const gpu_cnode &nd, float v)
{
    if (gpu_missing(v, nd.word & GPU_C_ZERO_MISSING)) {
        return (nd.word & GPU_C_DEFAULT_LEFT) != 0;
    }
    if (nd.word & GPU_C_CATEGORICAL) {
        uint32_t at, head;

        memcpy(&at, &nd.value, sizeof(at));
        head = gpu_ro(&f.ccat[at]);
        if ((head & GPU_C_CAT_WHOLE) && v != truncf(v)) {
            return (nd.word & GPU_C_DEFAULT_LEFT) != 0;
        }
        return gpu_in_set(f, f.ccat + at + 1, head & ~GPU_C_CAT_WHOLE, v)
               == ((nd.word & GPU_C_CAT_SET_LEFT) != 0);
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

/* A compact node: one 8-byte load through the read-only cache (global) or
 * from a shared-memory stage (a plain load there). */
template <bool SHARED>
FOREST_HD static inline gpu_cnode
gpu_load_cnode(const gpu_cnode *nodes, uint32_t i)
{
    gpu_cnode nd;
#ifdef __CUDA_ARCH__
    if (!SHARED) {
        uint2 raw = __ldg(reinterpret_cast<const uint2 *>(nodes) + i);

        nd.value = __uint_as_float(raw.x);
        nd.word = raw.y;
        return nd;
    }
#endif
    nd = nodes[i];
    return nd;
}

/* The offset to a compact node's left child; 0: a leaf. */
FOREST_HD static inline uint32_t
gpu_cchild(const gpu_forest &f, const gpu_cnode &nd)
{
    return nd.word >> (GPU_C_FLAG_BITS + f.cfeat_bits);
}

FOREST_HD static inline uint32_t
gpu_cfeature(const gpu_forest &f, const gpu_cnode &nd)
{
    return (nd.word >> GPU_C_FLAG_BITS) & ((1u << f.cfeat_bits) - 1u);
}

/* The end of the stage of trees that starts at tree t0: the most trees
 * from t0 on whose nodes fit f.cstage_cap (at least t0 itself).  The
 * kernel and the launch's shared-memory size (forest_gpu_compact_stage)
 * both cut the forest here. */
FOREST_HD static inline uint32_t
gpu_stage_end(const gpu_forest &f, uint32_t t0)
{
    uint32_t base = gpu_ro(&f.roots[t0]), t1 = t0 + 1;

    while (t1 < f.n_trees && gpu_ro(&f.roots[t1 + 1]) - base <= f.cstage_cap) {
        t1++;
    }
    return t1;
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

/* Adds a leaf of a tree of group g (-1: vector leaves from leaf_vec[vec])
 * to the sums; SCALAR as gpu_add_tree's. */
template <bool SCALAR>
FOREST_HD static inline void
gpu_add_leaf(const gpu_forest &f, int32_t g, float value, uint32_t vec,
    float &acc0, float *acc)
{
    if (SCALAR) {
        acc0 += value;
    } else if (g >= 0) {
        acc[g] += value;
    } else {
        for (uint32_t k = 0; k < f.leaf_width; k++) {
            acc[k] += gpu_ro(&f.leaf_vec[vec + k]);
        }
    }
}

/*
 * Adds tree t's leaf for the row x to the sums: the step the rows and trees
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
    gpu_add_leaf<SCALAR>(f, g, nd.value, nd.aux, acc0, acc);
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
