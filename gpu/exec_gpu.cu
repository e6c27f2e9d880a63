/*
 * The GPU executor behind forest_exec.h.  The model is uploaded once; a small
 * pool of slots (stream + pinned host buffers + device buffers) lets several
 * batches be in flight from several calling threads.  predict() blocks its
 * calling thread (one of the module's batch threads, or of the NGINX thread
 * pool forest_thread_pool names; never an event loop) until its stream is
 * done.  Batches below transfer_threshold rows, where the PCIe
 * round trip costs more than the traversal, go to a CPU executor.
 * Contributions (TreeSHAP, gpu_shap.h) run the same way on the same
 * slots, from paths uploaded with the model where it has node covers;
 * below the threshold, or for a model whose paths the kernel cannot take,
 * the caller computes them on the CPU (forest_executor_contribs).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>

#include "forest_gpu.h"
#include "gpu_kernel.h"
#include "gpu_shap.h"

#define GPU_MAX_SLOTS   16
/* rows per launch: bounds the pinned memory a slot holds */
#define GPU_CHUNK_ROWS  (1u << 20)
/* a contributions launch's sums (a double per row value) at most */
#define GPU_SHAP_CHUNK_BYTES ((size_t) 256 << 20)

typedef struct {
    cudaStream_t  stream;
    float        *h_in, *h_out, *d_in, *d_out;
    double       *d_phi;               /* contributions' sums */
    size_t        cap_in, cap_out, cap_phi;    /* bytes */
    int           busy;
} gpu_slot;

typedef struct {
    forest_executor   base;
    gpu_forest        dev;             /* device pointers */
    gpu_shap          shap;            /* device pointers; n_outputs 0:
                                        * contributions on the CPU */
    forest_executor  *cpu;
    size_t            threshold;
    forest_gpu_kernel kernel;
    int               device;
    pthread_mutex_t   mu;
    pthread_cond_t    cv;
    unsigned          n_slots;
    gpu_slot          slots[GPU_MAX_SLOTS];
} gpu_exec;

static int
cuda_fail(cudaError_t rc, const char *what, char *err, size_t errlen)
{
    if (rc == cudaSuccess) {
        return 0;
    }
    snprintf(err, errlen, "CUDA %s: %s", what, cudaGetErrorString(rc));
    /* clears a non-sticky error so the next batch starts clean */
    cudaGetLastError();
    return -1;
}

extern "C" int
forest_gpu_probe(char *err, size_t errlen)
{
    int n = 0;

    if (cuda_fail(cudaGetDeviceCount(&n), "device probe", err, errlen)) {
        return -1;
    }
    if (n == 0) {
        snprintf(err, errlen, "no CUDA device found");
        return -1;
    }
    return n;
}

static void
slot_release_buffers(gpu_slot *s)
{
    cudaFreeHost(s->h_in);
    cudaFreeHost(s->h_out);
    cudaFree(s->d_in);
    cudaFree(s->d_out);
    cudaFree(s->d_phi);
    s->h_in = s->h_out = s->d_in = s->d_out = NULL;
    s->d_phi = NULL;
    s->cap_in = s->cap_out = s->cap_phi = 0;
}

/* Buffers of at least these sizes, never smaller than the slot held (so
 * predictions and contributions in turn do not reallocate). */
static int
slot_reserve(gpu_slot *s, size_t in_bytes, size_t out_bytes,
    size_t phi_bytes, char *err, size_t errlen)
{
    if (in_bytes <= s->cap_in && out_bytes <= s->cap_out
        && phi_bytes <= s->cap_phi)
    {
        return 0;
    }
    in_bytes = in_bytes > s->cap_in ? in_bytes : s->cap_in;
    out_bytes = out_bytes > s->cap_out ? out_bytes : s->cap_out;
    phi_bytes = phi_bytes > s->cap_phi ? phi_bytes : s->cap_phi;
    slot_release_buffers(s);
    if (cuda_fail(cudaMallocHost((void **) &s->h_in, in_bytes), "pinned alloc",
                  err, errlen)
        || cuda_fail(cudaMallocHost((void **) &s->h_out, out_bytes),
                     "pinned alloc", err, errlen)
        || cuda_fail(cudaMalloc((void **) &s->d_in, in_bytes), "device alloc",
                     err, errlen)
        || cuda_fail(cudaMalloc((void **) &s->d_out, out_bytes),
                     "device alloc", err, errlen)
        || (phi_bytes > 0
            && cuda_fail(cudaMalloc((void **) &s->d_phi, phi_bytes),
                         "device alloc", err, errlen)))
    {
        slot_release_buffers(s);
        return -1;
    }
    s->cap_in = in_bytes;
    s->cap_out = out_bytes;
    s->cap_phi = phi_bytes;
    return 0;
}

static gpu_slot *
slot_acquire(gpu_exec *ex)
{
    gpu_slot *s = NULL;

    pthread_mutex_lock(&ex->mu);
    for (;;) {
        for (unsigned i = 0; i < ex->n_slots && s == NULL; i++) {
            if (!ex->slots[i].busy) {
                s = &ex->slots[i];
            }
        }
        if (s != NULL) {
            break;
        }
        pthread_cond_wait(&ex->cv, &ex->mu);
    }
    s->busy = 1;
    pthread_mutex_unlock(&ex->mu);
    return s;
}

static void
slot_return(gpu_exec *ex, gpu_slot *s)
{
    pthread_mutex_lock(&ex->mu);
    s->busy = 0;
    pthread_cond_signal(&ex->cv);
    pthread_mutex_unlock(&ex->mu);
}

/* One chunk of n rows through H2D copy, launch(d_in, n, d_out, d_phi,
 * stream), D2H copy of cols floats a row on the slot's stream. */
template <typename L>
static int
run_chunk(gpu_exec *ex, gpu_slot *s, const float *rows, size_t n,
    float *out, uint32_t cols, L launch, char *err, size_t errlen)
{
    size_t in_bytes = n * ex->dev.n_features * sizeof(float);
    size_t out_bytes = n * cols * sizeof(float);

    memcpy(s->h_in, rows, in_bytes);
    if (cuda_fail(cudaMemcpyAsync(s->d_in, s->h_in, in_bytes,
                      cudaMemcpyHostToDevice, s->stream), "copy in", err, errlen)
        || cuda_fail(launch(s->d_in, n, s->d_out, s->d_phi, s->stream),
                     "kernel launch", err, errlen)
        || cuda_fail(cudaMemcpyAsync(s->h_out, s->d_out, out_bytes,
                         cudaMemcpyDeviceToHost, s->stream), "copy out", err,
                     errlen)
        || cuda_fail(cudaStreamSynchronize(s->stream), "batch", err, errlen))
    {
        return -1;
    }
    memcpy(out, s->h_out, out_bytes);
    return 0;
}

/* n_rows rows through launch on one slot, in chunks of at most chunk rows:
 * cols floats out a row, phi_cols doubles of device scratch a row. */
template <typename L>
static int
run_rows(gpu_exec *ex, const float *rows, size_t n_rows, size_t chunk,
    float *out, uint32_t cols, uint32_t phi_cols, L launch, char *err,
    size_t errlen)
{
    size_t    F = ex->dev.n_features;
    gpu_slot *s;
    int       rc = 0;

    if (cuda_fail(cudaSetDevice(ex->device), "set device", err, errlen)) {
        return -1;
    }
    s = slot_acquire(ex);
    for (size_t done = 0; done < n_rows && rc == 0; ) {
        size_t n = n_rows - done < chunk ? n_rows - done : chunk;

        rc = slot_reserve(s, n * F * sizeof(float), n * cols * sizeof(float),
            n * phi_cols * sizeof(double), err, errlen);
        if (rc == 0) {
            rc = run_chunk(ex, s, rows + done * F, n, out + done * cols, cols,
                launch, err, errlen);
        }
        done += n;
    }
    slot_return(ex, s);
    return rc;
}

static int
gpu_predict(forest_executor *base, const float *rows, size_t n_rows,
    int margin, float *out, char *err, size_t errlen)
{
    gpu_exec *ex = (gpu_exec *) base;
    uint32_t  cols = forest_output_columns(base->model, margin);

    if (n_rows < ex->threshold) {
        return forest_executor_predict(ex->cpu, rows, n_rows, margin, out, err,
            errlen);
    }
    return run_rows(ex, rows, n_rows, GPU_CHUNK_ROWS, out, cols, 0,
        [&](const float *in, size_t n, float *res, double *, cudaStream_t st) {
            return forest_gpu_predict_launch(&ex->dev, ex->kernel, in, n,
                margin, res, cols, st);
        }, err, errlen);
}

static int
gpu_contribs(forest_executor *base, const float *rows, size_t n_rows,
    float *out, char *err, size_t errlen)
{
    gpu_exec *ex = (gpu_exec *) base;
    uint32_t  cols = (uint32_t) forest_gpu_shap_row_values(&ex->shap);
    /* a launch's warps (a row and a bin each) within the grid's 2^31 - 1
     * blocks of 4 */
    size_t    chunk = ((size_t) 0x7fffffff * 4) / (ex->shap.n_bins + 1);

    if (cols == 0 || n_rows < ex->threshold) {
        return 1;
    }
    chunk = chunk < GPU_SHAP_CHUNK_BYTES / (cols * sizeof(double))
            ? chunk : GPU_SHAP_CHUNK_BYTES / (cols * sizeof(double));
    chunk = chunk < GPU_CHUNK_ROWS ? chunk : GPU_CHUNK_ROWS;
    chunk = chunk > 0 ? chunk : 1;
    return run_rows(ex, rows, n_rows, chunk, out, cols, cols,
        [&](const float *in, size_t n, float *res, double *phi,
            cudaStream_t st) {
            return forest_gpu_shap_launch(&ex->dev, &ex->shap, in, n, phi,
                res, st);
        }, err, errlen);
}

static void
gpu_destroy(forest_executor *base)
{
    gpu_exec *ex = (gpu_exec *) base;

    cudaSetDevice(ex->device);
    for (unsigned i = 0; i < ex->n_slots; i++) {
        slot_release_buffers(&ex->slots[i]);
        cudaStreamDestroy(ex->slots[i].stream);
    }
    forest_gpu_free_device(&ex->dev);
    forest_gpu_shap_free_device(&ex->shap);
    forest_executor_destroy(ex->cpu);
    pthread_mutex_destroy(&ex->mu);
    pthread_cond_destroy(&ex->cv);
    free(ex);
}

static const forest_executor_ops gpu_ops = {
    "gpu", gpu_predict, gpu_destroy, gpu_contribs
};

/* The model's TreeSHAP paths on the device, where it has them: a model
 * without covers, or with a path longer than a warp, leaves ex->shap empty
 * and its contributions to the CPU. */
static int
upload_shap(gpu_exec *ex, const forest_model *m, char *err, size_t errlen)
{
    gpu_shap host;
    char     why[FOREST_ERR_LEN];
    int      rc;

    if (forest_gpu_shap_build(m, &host, why, sizeof(why)) != 0) {
        return 0;
    }
    rc = forest_gpu_shap_upload(&host, &ex->shap, err, errlen);
    forest_gpu_shap_free_host(&host);
    return rc;
}

extern "C" forest_executor *
forest_gpu_executor_create(const forest_model *m,
    const forest_gpu_options *opt, char *err, size_t errlen)
{
    gpu_forest host;
    gpu_exec  *ex;
    char       why[FOREST_ERR_LEN];

    if (forest_gpu_probe(err, errlen) < 0) {
        return NULL;
    }
    if (forest_gpu_layout_build(m, &host, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "model not supported on the GPU: %s", why);
        return NULL;
    }
    ex = (gpu_exec *) calloc(1, sizeof(*ex));
    if (ex == NULL) {
        forest_gpu_layout_free_host(&host);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ex->base.ops = &gpu_ops;
    ex->base.model = m;
    ex->device = opt->device;
    ex->threshold = opt->transfer_threshold;
    ex->kernel = opt->kernel;
    ex->n_slots = opt->streams ? opt->streams : 4;
    ex->n_slots = ex->n_slots > GPU_MAX_SLOTS ? GPU_MAX_SLOTS : ex->n_slots;
    pthread_mutex_init(&ex->mu, NULL);
    pthread_cond_init(&ex->cv, NULL);

    if (cuda_fail(cudaSetDevice(opt->device), "set device", err, errlen)
        || forest_gpu_upload(&host, &ex->dev, err, errlen) != 0)
    {
        forest_gpu_layout_free_host(&host);
        pthread_mutex_destroy(&ex->mu);
        pthread_cond_destroy(&ex->cv);
        free(ex);
        return NULL;
    }
    forest_gpu_layout_free_host(&host);
    for (unsigned i = 0; i < ex->n_slots; i++) {
        if (cuda_fail(cudaStreamCreateWithFlags(&ex->slots[i].stream,
                          cudaStreamNonBlocking), "stream", err, errlen))
        {
            ex->n_slots = i;
            gpu_destroy(&ex->base);
            return NULL;
        }
    }
    if (upload_shap(ex, m, err, errlen) != 0) {
        gpu_destroy(&ex->base);
        return NULL;
    }
    ex->cpu = forest_cpu_executor_create(m, opt->cpu_threads, err, errlen);
    if (ex->cpu == NULL) {
        gpu_destroy(&ex->base);
        return NULL;
    }
    return &ex->base;
}
