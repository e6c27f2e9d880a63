/*
 * Request decoding and response encoding for the two HTTP APIs (KServe v2
 * with Triton's binary tensor extension, and the simple instances API).
 *
 * Plain C + yajl, no NGINX types, so the same code is driven by the module
 * and by the fuzz targets.  Memory comes from the caller's allocator and
 * lives as long as the request (an ngx_pool_t in the module); nothing here is
 * freed piecemeal except the yajl handle, which fcodec_parser_finish() and
 * fcodec_parser_abort() release.
 */
#ifndef FOREST_CODEC_H
#define FOREST_CODEC_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    void  *(*alloc)(void *ctx, size_t size);   /* NULL on failure */
    void   *ctx;
} fcodec_alloc;

/* What the codec needs to know about the model a request targets. */
typedef struct {
    const char          *name;
    uint32_t             n_features;
    char *const         *feature_names;   /* n_features entries or NULL */
    size_t               max_rows;        /* forest_max_rows: 413 past it */
} fcodec_model;

typedef enum {
    FCODEC_KSERVE = 0,                     /* POST .../infer */
    FCODEC_SIMPLE,                         /* POST /predict/<model> */
    /* a KServe request's own members only (id, parameters, outputs), its
     * "inputs" skipped: for a Lua pre hook, which makes the rows itself */
    FCODEC_KSERVE_ENVELOPE
} fcodec_api;

/* The decoded request. */
typedef struct {
    float      *rows;                      /* n_rows * n_features, NaN = missing */
    size_t      n_rows;

    /* KServe only */
    char       *id;                        /* "id" member, NULL when absent */
    char       *input_name;                /* always "input__0" once valid */
    int         outputs_listed;            /* request had "outputs" */
    int         want_output;               /* output__0 requested (or none listed) */
    int         binary_output;             /* answer output__0 as binary data */
    uint32_t    class_count;               /* classification extension: top-k, 0 = off */

    /* error: HTTP status (400, 413, ...) and message; 0 when valid */
    int         status;
    char        error[256];
} fcodec_request;

typedef struct fcodec_parser fcodec_parser;

/*
 * json_len: for KServe with the binary extension, the value of
 * Inference-Header-Content-Length (bytes of JSON before the binary tensors);
 * (size_t) -1 when the header is absent (the whole body is JSON).
 */
fcodec_parser *fcodec_parser_create(fcodec_api api, const fcodec_model *m,
    size_t json_len, fcodec_alloc *a);

/* Feed the next piece of the body.  Returns 0, or -1 once an error is known
 * (the status and message are in the request fcodec_parser_finish() gives). */
int fcodec_parser_feed(fcodec_parser *p, const uint8_t *data, size_t len);

/* End of body: completes the request (req->status != 0 on error). */
void fcodec_parser_finish(fcodec_parser *p, fcodec_request *req);
void fcodec_parser_abort(fcodec_parser *p);

/*
 * How the served output is shaped from the forest's outputs, mirroring Triton
 * FIL: classifiers answer a class id per row unless predict_proba (then one
 * probability per class, [N,2] for binary models); regressors a value per
 * row; margin=1 gives the raw margins as they are.
 */
typedef struct {
    uint32_t    forest_columns;            /* columns the executor wrote per row */
    uint32_t    n_classes;                 /* 0 = regressor */
    int         is_classifier;
    int         predict_proba;
    int         margin;
    float       threshold;                 /* binary class output: p > threshold */
} fcodec_shape;

/* Columns of the served output per row. */
uint32_t fcodec_output_columns(const fcodec_shape *s);

/* Response body for a successful request. */
typedef struct {
    uint8_t    *body;
    size_t      len;
    /* KServe binary output: JSON header length for the
     * Inference-Header-Content-Length response header, else (size_t) -1 */
    size_t      json_len;
    const char *content_type;
} fcodec_response;

/*
 * outputs: req->n_rows * s->forest_columns floats from the executor.
 * model_name/version go into the KServe response.  Returns 0 or -1 (no
 * memory).
 */
int fcodec_encode(fcodec_api api, const fcodec_request *req,
    const fcodec_shape *s, const char *model_name, const char *version,
    const float *outputs, fcodec_alloc *a, fcodec_response *out);

/* {"error": "..."} with the message JSON-escaped; NULL on no memory. */
uint8_t *fcodec_error_body(const char *message, fcodec_alloc *a, size_t *len);

/* s as a JSON string: quoted, escaped, invalid UTF-8 as U+FFFD, and
 * NUL-terminated; NULL on no memory. */
char *fcodec_json_string(const char *s, fcodec_alloc *a);

#endif /* FOREST_CODEC_H */
