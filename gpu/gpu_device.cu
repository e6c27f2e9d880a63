/*
 * Moving a host gpu_forest (gpu_layout.cu) and gpu_shap (gpu_shap_paths.cu)
 * to the device and back out.
 */
#include <stdio.h>
#include <string.h>

#include "gpu_kernel.h"
#include "gpu_shap.h"

#define UPLOAD(field, count)                                                  \
    (cudaMalloc((void **) &dev->field, ((count) + 1) * sizeof(*host->field))  \
     || cudaMemcpy(dev->field, host->field, (count) * sizeof(*host->field),   \
                   cudaMemcpyHostToDevice))

void
forest_gpu_free_device(gpu_forest *dev)
{
    cudaFree(dev->nodes);
    cudaFree(dev->roots);
    cudaFree(dev->groups);
    cudaFree(dev->leaf_vec);
    cudaFree(dev->cat_bits);
    cudaFree(dev->base_score);
    cudaFree(dev->divisor);
    cudaFree(dev->cnodes);
    cudaFree(dev->ccat);
    memset(dev, 0, sizeof(*dev));
}

int
forest_gpu_upload(const gpu_forest *host, gpu_forest *dev, char *err,
    size_t errlen)
{
    *dev = *host;
    dev->nodes = NULL;
    dev->roots = NULL;
    dev->groups = NULL;
    dev->leaf_vec = NULL;
    dev->cat_bits = NULL;
    dev->base_score = NULL;
    dev->divisor = NULL;
    dev->cnodes = NULL;
    dev->ccat = NULL;
    if (UPLOAD(nodes, host->n_nodes) || UPLOAD(roots, host->n_trees + 1)
        || UPLOAD(groups, host->n_trees) || UPLOAD(leaf_vec, host->n_leaf_vec)
        || UPLOAD(cat_bits, host->n_cat_words)
        || UPLOAD(base_score, host->n_outputs)
        || UPLOAD(divisor, host->n_outputs)
        || (host->cnodes != NULL && (UPLOAD(cnodes, host->n_nodes)
                                     || UPLOAD(ccat, host->n_ccat))))
    {
        snprintf(err, errlen, "CUDA model upload failed: %s",
            cudaGetErrorString(cudaGetLastError()));
        forest_gpu_free_device(dev);
        return -1;
    }
    return 0;
}

extern "C" void
forest_gpu_shap_free_device(gpu_shap *dev)
{
    cudaFree(dev->elems);
    cudaFree(dev->conds);
    cudaFree(dev->bins);
    cudaFree(dev->bin_len);
    cudaFree(dev->values);
    cudaFree(dev->bias);
    cudaFree(dev->divisor);
    memset(dev, 0, sizeof(*dev));
}

extern "C" int
forest_gpu_shap_upload(const gpu_shap *host, gpu_shap *dev, char *err,
    size_t errlen)
{
    memset(dev, 0, sizeof(*dev));
    dev->n_elems = host->n_elems;
    dev->n_conds = host->n_conds;
    dev->n_values = host->n_values;
    dev->n_bins = host->n_bins;
    dev->n_features = host->n_features;
    dev->n_outputs = host->n_outputs;
    if (UPLOAD(elems, host->n_elems) || UPLOAD(conds, host->n_conds)
        || UPLOAD(bins, host->n_bins + 1) || UPLOAD(bin_len, host->n_bins)
        || UPLOAD(values, host->n_values) || UPLOAD(bias, host->n_outputs)
        || UPLOAD(divisor, host->n_outputs))
    {
        snprintf(err, errlen, "CUDA TreeSHAP upload failed: %s",
            cudaGetErrorString(cudaGetLastError()));
        forest_gpu_shap_free_device(dev);
        return -1;
    }
    return 0;
}
