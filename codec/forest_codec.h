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

/* What a category name became. */
typedef enum {
    FCODEC_CAT_FOUND = 0,                 /* *code: its code, or NaN for an
                                           * unseen name the library takes
                                           * as missing */
    FCODEC_CAT_REFUSED,                   /* unseen, and the library refuses
                                           * it */
    FCODEC_CAT_NO_LIST                    /* the feature has no names */
} fcodec_cat_lookup;

/* A body under construction (forest_codec_out.c; the protobuf writer of
 * forest_pb.h builds on it); ok turns 0 once memory ran out. */
typedef struct {
    fcodec_alloc   *a;
    uint8_t        *buf;
    size_t          len, cap;
    int             ok;
} fcodec_out;

/* What the codec needs to know about the model a request targets. */
typedef struct {
    const char          *name;
    uint32_t             n_features;
    char *const         *feature_names;   /* n_features entries or NULL */
    size_t               max_rows;        /* forest_max_rows: 413 past it */
    int                  contributions;   /* can answer treeshap_output
                                             and treeshap_interactions */
    /* A string sent for feature f: its category's code into *code
     * (forest/category.h); NULL when the model has no category names. */
    fcodec_cat_lookup  (*category)(const void *ctx, uint32_t f,
                                   const char *s, size_t len, float *code);
    const void          *category_ctx;
    /* margins per row a "base_margin" input holds (the model's outputs);
     * 0: the model takes none */
    uint32_t             n_margins;
    /* values in a row's treeshap_interactions (FCODEC_INTERACTIONS_MAX) */
    size_t               interactions_row;
} fcodec_model;

/* Outputs a request may ask for besides output__0 (fcodec_request.extras);
 * FCODEC_OUT_MAIN names output__0 itself where an output is one of the
 * four (fcodec_request.order). */
#define FCODEC_OUT_MAIN      0u           /* "output__0" */
#define FCODEC_OUT_CONTRIBS  1u           /* "treeshap_output" */
#define FCODEC_OUT_LEAVES    2u           /* "leaf_index" */
#define FCODEC_OUT_INTERACTIONS 4u        /* "treeshap_interactions" */

/* A request's treeshap_interactions hold at most this many values (16 MiB
 * as FP32, several times that as JSON text): C (F+1)^2 a row grows fast
 * with the features and classes, so the rows forest_max_rows allows can
 * ask for more memory than a worker should hold for one answer; 413 past
 * it. */
#define FCODEC_INTERACTIONS_MAX  ((size_t) 1 << 22)
#define FCODEC_OUTPUT_NAMES  "output__0, treeshap_output, leaf_index, " \
                             "treeshap_interactions"

/* A per-request option: not given (the model's setting), off or on. */
enum { FCODEC_OPT_UNSET = 0, FCODEC_OPT_OFF, FCODEC_OPT_ON };

typedef enum {
    FCODEC_KSERVE = 0,                     /* POST .../infer */
    FCODEC_SIMPLE,                         /* POST /predict/<model> */
    /* a KServe request's own members only (id, parameters, outputs), its
     * "inputs" skipped: for a Lua pre hook, which makes the rows itself */
    FCODEC_KSERVE_ENVELOPE,
    /* ModelInfer over gRPC: decoded whole by fcodec_grpc_infer_decode()
     * (forest_codec_grpc.h), never by the streaming parser */
    FCODEC_GRPC
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

    /* per-request outputs and options: KServe "outputs" and "parameters"
     * (of the request or its input), simple API "contributions",
     * "leaf_index", "predict_proba", "output_margin" members */
    unsigned    extras;                    /* FCODEC_OUT_* asked for */
    unsigned    extras_binary;             /* those to send as binary data */
    int         opt_predict_proba;         /* FCODEC_OPT_* */
    int         opt_margin;                /* output_margin / raw_score */
    /* gRPC: the outputs to answer (FCODEC_OUT_MAIN or FCODEC_OUT_*), in
     * the order the request listed them, each once */
    uint8_t     order[4];
    uint8_t     n_order;
    /* the "base_margin" input (KServe JSON or binary data, gRPC) or member
     * (simple API): each row's starting margins, n_rows *
     * fcodec_model.n_margins; NULL when absent */
    const float *base_margin;

    /* filled by the caller before fcodec_encode() for the extras asked */
    /* n_rows * contrib_groups * contrib_width */
    const float   *contribs;
    uint32_t       contrib_groups;         /* > 1: shape [N, groups, width] */
    uint32_t       contrib_width;          /* features + 1 (the bias) */
    /* n_rows * contrib_groups * contrib_width * contrib_width */
    const float   *interactions;
    const int32_t *leaves;                 /* n_rows * n_trees */
    uint32_t       n_trees;

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
