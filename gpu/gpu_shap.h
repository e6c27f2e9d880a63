/*
 * TreeSHAP contributions on the GPU, the approach of GPUTreeShap (Mitchell,
 * Frank, Holmes: "GPUTreeShap: massively parallel exact calculation of SHAP
 * scores for tree ensembles", 2022).  Every root-to-leaf path of the model
 * becomes a run of elements (the path's root, then one per unique feature
 * on it, that feature's nodes merged), and whole paths are packed into bins
 * of GPU_SHAP_LANES elements.  A warp takes one bin for one row: each lane
 * holds an element and tests the row against its nodes, the path's EXTEND
 * steps pass the permutation weights between the path's lanes by warp
 * shuffles, each lane's UNWOUND sum reads them the same way, and the lane
 * adds its feature's contribution to the row's by an atomic add.  The
 * values are the recursive algorithm's of XGBoost, LightGBM and shap, as
 * forest/treeshap.c computes them on the CPU.
 */
#ifndef FOREST_GPU_SHAP_H
#define FOREST_GPU_SHAP_H

#include <cuda_runtime.h>

#include "gpu_layout.h"

/* a warp: the lanes whose shuffles carry a path */
#define GPU_SHAP_LANES 32

typedef struct {
    double    zero;      /* zero fraction: the product of the cover ratios of
                          * the feature's nodes on the path (root: 1) */
    int32_t   feature;   /* -1: the path's root element */
    uint32_t  output;    /* the first output column the leaf adds to */
    uint32_t  leaf;      /* its first value in values */
    uint32_t  cond;      /* first of the feature's nodes in conds */
    uint16_t  n_cond;
    uint16_t  width;     /* the leaf's values: 1, or a vector leaf's */
    uint8_t   first;     /* the lane of the path's root element in its bin */
    uint8_t   len;       /* the path's elements, root included */
} gpu_shap_elem;

typedef struct {
    gpu_shap_elem *elems;     /* bin after bin, a path's elements together */
    /* a path's node tests (forest_gpu_split_test), left = 1 where the path
     * goes left there */
    gpu_node      *conds;
    uint32_t      *bins;      /* n_bins + 1: each bin's first element */
    uint32_t      *bin_len;   /* the longest path of each bin */
    double        *values;    /* the model's leaf values */
    double        *bias;      /* n_outputs: the expected margin */
    double        *divisor;   /* n_outputs: the model's average_divisor */
    size_t         n_elems, n_conds, n_values;
    uint32_t       n_bins, n_features, n_outputs;
} gpu_shap;

#ifdef __cplusplus
extern "C" {
#endif

/* m's paths into host arrays; -1 with err where m has no node covers or a
 * path has more unique features than a warp's lanes hold (the caller then
 * computes contributions on the CPU). */
int  forest_gpu_shap_build(const forest_model *m, gpu_shap *s, char *err,
    size_t errlen);
void forest_gpu_shap_free_host(gpu_shap *s);

/* Device copies (gpu_device.cu). */
int  forest_gpu_shap_upload(const gpu_shap *host, gpu_shap *dev, char *err,
    size_t errlen);
void forest_gpu_shap_free_device(gpu_shap *dev);

/* Values a row's contributions take: n_outputs * (n_features + 1). */
size_t forest_gpu_shap_row_values(const gpu_shap *s);

#ifdef __cplusplus
}
#endif

/*
 * f: the model's layout and s its paths, both with device arrays.  X:
 * n_rows rows on the device; phi: room for n_rows row values of doubles
 * (the sums), out: n_rows row values of floats laid out as
 * forest_shap_run's, each feature's sum over the average divisor and the
 * bias last.
 */
cudaError_t forest_gpu_shap_launch(const gpu_forest *f, const gpu_shap *s,
    const float *X, size_t n_rows, double *phi, float *out,
    cudaStream_t stream);

#endif /* FOREST_GPU_SHAP_H */
