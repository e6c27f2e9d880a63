/*
 * ngx_http_forest_module: types shared by the module's files.
 *
 * Configuration time (master): every forest_model is loaded, validated and
 * registered in the main conf.  Worker time: init_process gives each model an
 * executor and a batcher of its own; requests are decoded by the codec
 * (forest_codec.h), batched, run on the module's batch threads (or an NGINX
 * thread pool) and answered back on the event loop.
 */
#ifndef NGX_HTTP_FOREST_MODULE_H
#define NGX_HTTP_FOREST_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>

#include "forest.h"
#include "category.h"
#include "forest_exec.h"
#include "treeshap.h"
#include "forest_codec.h"
#include "ngx_http_forest_lua.h"


/* NGX_HTTP_FOREST_VERSION comes from the top-level VERSION file: `config`
 * writes it into ngx_auto_config.h. */

#define NGX_HTTP_FOREST_NAME_MAX      64
#define NGX_HTTP_FOREST_VERSION_MAX   19     /* digits of a uint64 */
/* the longest JSON string (quoted, escaped) of a string of n bytes */
#define NGX_HTTP_FOREST_JSON_LEN(n)   (6 * (n) + 2)
/* batch-size histogram buckets: le 1, 2, 4, ... 2^(N-2), +Inf */
#define NGX_HTTP_FOREST_BATCH_BUCKETS 18
/* request and queue time histogram buckets: le 50us ... 5s, +Inf */
#define NGX_HTTP_FOREST_TIME_BUCKETS  17


typedef enum {
    NGX_HTTP_FOREST_DEVICE_CPU = 0,
    NGX_HTTP_FOREST_DEVICE_GPU,
    NGX_HTTP_FOREST_DEVICE_AUTO
} ngx_http_forest_device_e;


/* Counters of one model version in shared memory, summed over workers. */
typedef struct {
    ngx_queue_t             queue;
    u_char                  name[NGX_HTTP_FOREST_NAME_MAX];
    size_t                  name_len;
    u_char                  version[NGX_HTTP_FOREST_VERSION_MAX];
    size_t                  version_len;

    ngx_atomic_t            success;
    ngx_atomic_t            failure;
    ngx_atomic_t            success_us;          /* request durations */
    ngx_atomic_t            failure_us;
    ngx_atomic_t            queue_us;
    ngx_atomic_t            batched;             /* requests run in batches */
    ngx_atomic_t            compute_us;          /* per request */
    ngx_atomic_t            inference_count;     /* rows */
    ngx_atomic_t            exec_count;          /* batches */
    ngx_atomic_t            exec_compute_us;     /* per batch */
    ngx_atomic_t            last_inference_ms;   /* unix time */
    ngx_atomic_t            batch_bucket[NGX_HTTP_FOREST_BATCH_BUCKETS];
    ngx_atomic_t            request_bucket[NGX_HTTP_FOREST_TIME_BUCKETS];
    ngx_atomic_t            queue_bucket[NGX_HTTP_FOREST_TIME_BUCKETS];
} ngx_http_forest_stats_t;


typedef struct ngx_http_forest_batch_s  ngx_http_forest_batch_t;
typedef struct ngx_http_forest_ctx_s    ngx_http_forest_ctx_t;


typedef struct {
    ngx_str_t               name;                /* NUL-terminated */
    ngx_str_t               version;             /* NUL-terminated digits */
    uint64_t                version_n;
    ngx_str_t               path;                /* full path, NUL-terminated */
    ngx_str_t               defined_at;          /* for messages */
    ngx_str_t               config;              /* config.pbtxt, or empty */

    forest_model           *forest;
    forest_shap            *shap;                /* NULL: no node covers */
    forest_format           format;
    ngx_flag_t              predict_proba;
    ngx_flag_t              is_classifier;
    ngx_flag_t              proba_one_column;    /* FIL: binary, dims [1] */
    float                   threshold;
    ngx_uint_t              max_batch_size;      /* rows merged into one run */
    ngx_uint_t              batch_delay_us;      /* 0: no waiting */
    /* a CPU batch predicted to take no longer runs on the event loop */
    ngx_uint_t              inline_max_us;       /* 0: always on a thread */
    ngx_http_forest_device_e  device;
    ngx_uint_t              threads;
    ngx_uint_t              transfer_threshold;  /* GPU: smaller batches on CPU */
    ngx_uint_t              gpu_kernel;          /* forest_gpu_kernel */
    uint32_t                trees;               /* rounds kept: FOREST_TREES_* or N */

    ngx_http_forest_stats_t  *stats;             /* shared memory */

    /* per worker, set in init_process */
    forest_executor        *executor;            /* NULL: not ready (503) */
    const char             *executor_kind;       /* "cpu", "gpu" */
    ngx_http_forest_batch_t  *pending[2];        /* filling; index: margin */
    ngx_uint_t              in_flight;           /* batches on threads */
    /* the batch cost model: ns for 1 and for 16 rows of zeros,
     * measured at start (0: never inline), times cost_scale / 256, which
     * follows the batches' measured times */
    uint64_t                cost_ns[2];
    ngx_uint_t              cost_scale;
} ngx_http_forest_model_t;


/* A computation for the module's batch threads (ngx_http_forest_runner.c). */
typedef struct ngx_http_forest_job_s  ngx_http_forest_job_t;

struct ngx_http_forest_job_s {
    ngx_http_forest_job_t  *next;
    void                  (*run)(void *data);    /* on a batch thread */
    void                  (*done)(void *data);   /* back on the event loop */
    void                   *data;
};


/* One forest_model_repository directive. */
typedef struct {
    ngx_str_t               path;                /* full, NUL-terminated */
    u_char                 *file;                /* where it was given */
    ngx_uint_t              line;
} ngx_http_forest_repo_t;


/* A model (or one version) of a repository that is not served, and why. */
typedef struct {
    ngx_str_t               name;
    ngx_str_t               version;             /* empty: every version */
    ngx_str_t               reason;
} ngx_http_forest_repo_entry_t;


/* forest_model_repository: the repositories and what they do not serve. */
typedef struct {
    ngx_array_t             dirs;                /* of ..._repo_t */
    ngx_array_t             unavailable;         /* of ..._repo_entry_t */
    ngx_str_t               state;               /* forest_repository_state */
    ngx_msec_t              poll;                /* 0: no polling */
    uint64_t                fingerprint;         /* of the dirs as read */
    uint64_t                seq;                 /* load/unload request read */
} ngx_http_forest_repo_main_t;


typedef struct {
    ngx_array_t             models;              /* ngx_http_forest_model_t * */
    ngx_http_forest_repo_main_t  repo;
    ngx_thread_pool_t      *thread_pool;         /* NULL: the batch threads */
    ngx_uint_t              batch_threads;
    ngx_uint_t              batch_max_queue;
    ngx_shm_zone_t         *shm_zone;
    ngx_http_forest_lua_main_t  lua;
} ngx_http_forest_main_conf_t;


typedef enum {
    NGX_HTTP_FOREST_API_NONE = 0,
    NGX_HTTP_FOREST_API_KSERVE,
    NGX_HTTP_FOREST_API_PREDICT,
    NGX_HTTP_FOREST_API_METRICS,
    NGX_HTTP_FOREST_API_GRPC
} ngx_http_forest_api_e;


typedef struct {
    ngx_http_forest_api_e   api;
    ngx_str_t               model_name;          /* forest_predict NAME */
    u_char                 *model_file;          /* where it was named */
    ngx_uint_t              model_line;
    ngx_http_forest_model_t  *model;
    size_t                  max_rows;
    /* client_max_body_size, enforced here to answer 413 in JSON */
    off_t                   max_body;
    ngx_http_forest_lua_loc_t   lua;             /* pre/post hooks */
    ngx_flag_t              repo_control;        /* load/unload allowed */
} ngx_http_forest_loc_conf_t;


/* One request from decoded body to response. */
struct ngx_http_forest_ctx_s {
    ngx_http_request_t     *request;
    ngx_http_forest_model_t  *model;
    fcodec_api              api;
    fcodec_model            fm;                  /* the parser keeps these */
    fcodec_alloc            alloc;
    fcodec_parser          *parser;              /* while the body streams */
    off_t                   body_bytes;
    fcodec_request          req;
    int                     margin;

    ngx_http_forest_batch_t  *batch;             /* NULL unless waiting */
    ngx_uint_t              slot;                /* index in batch->ctxs */
    size_t                  row_offset;          /* first row in the batch */

    uint64_t                start_us;
    uint64_t                queued_us;

    ngx_http_forest_lua_ctx_t  *lua;             /* NULL: no hooks */
};


extern ngx_module_t  ngx_http_forest_module;


/* ngx_http_forest_model.c */
char *ngx_http_forest_model_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_http_forest_model_t *ngx_http_forest_model_create(ngx_conf_t *cf,
    ngx_str_t *name);
ngx_int_t ngx_http_forest_model_load(ngx_conf_t *cf,
    ngx_http_forest_model_t *m, char *err, size_t errlen);
ngx_int_t ngx_http_forest_model_conflict(ngx_http_forest_main_conf_t *fmcf,
    ngx_http_forest_model_t *m, char *err, size_t errlen);
ngx_int_t ngx_http_forest_model_register(ngx_http_forest_main_conf_t *fmcf,
    ngx_http_forest_model_t *m);
ngx_int_t ngx_http_forest_valid_name(ngx_str_t *name);
ngx_http_forest_model_t *ngx_http_forest_model_find(
    ngx_http_forest_main_conf_t *fmcf, ngx_str_t *name, ngx_str_t *version);
ngx_int_t ngx_http_forest_models_init_worker(ngx_cycle_t *cycle,
    ngx_http_forest_main_conf_t *fmcf);
void ngx_http_forest_models_exit_worker(ngx_http_forest_main_conf_t *fmcf);
uint32_t ngx_http_forest_model_columns(ngx_http_forest_model_t *m,
    int margin);
void ngx_http_forest_model_shape(ngx_http_forest_model_t *m, int margin,
    fcodec_shape *shape);

/* ngx_http_forest_repo.c */
char *ngx_http_forest_repository_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_forest_repo_init_main(ngx_conf_t *cf,
    ngx_http_forest_main_conf_t *fmcf);
ngx_int_t ngx_http_forest_repo_init_module(ngx_cycle_t *cycle);
uint64_t ngx_http_forest_repo_fingerprint(ngx_http_forest_main_conf_t *fmcf);
ngx_int_t ngx_http_forest_repo_update(ngx_log_t *log, ngx_pool_t *pool,
    ngx_str_t *state, ngx_str_t *name, ngx_uint_t unload, uint64_t *seq);
ngx_int_t ngx_http_forest_repo_result(ngx_str_t *state, uint64_t seq,
    ngx_str_t *name, ngx_pool_t *pool, ngx_flag_t *ready, ngx_str_t *error);

/* ngx_http_forest_repo_api.c */
ngx_int_t ngx_http_forest_repo_index(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf);
ngx_int_t ngx_http_forest_repo_control(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_str_t *name, ngx_str_t *action);
ngx_int_t ngx_http_forest_repo_init_worker(ngx_cycle_t *cycle,
    ngx_http_forest_main_conf_t *fmcf);

/* ngx_http_forest_gpu.c */
#if (NGX_FOREST_CUDA)
ngx_int_t ngx_http_forest_gpu_probe(ngx_cycle_t *cycle, char *err,
    size_t errlen);
#endif

/* ngx_http_forest_handler.c */
ngx_int_t ngx_http_forest_predict_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_forest_infer(ngx_http_request_t *r,
    ngx_http_forest_model_t *m, fcodec_api api);
void ngx_http_forest_complete(ngx_http_forest_ctx_t *ctx, const float *out,
    ngx_uint_t status, const char *error);
void ngx_http_forest_codec_model(ngx_http_forest_ctx_t *ctx,
    ngx_http_forest_model_t *m, ngx_http_forest_loc_conf_t *flcf);
void ngx_http_forest_request_margin(ngx_http_forest_ctx_t *ctx);
void ngx_http_forest_request_shape(ngx_http_forest_ctx_t *ctx,
    fcodec_shape *shape);

/* ngx_http_forest_util.c */
uint64_t ngx_http_forest_now_us(void);
uint64_t ngx_http_forest_now_ns(void);
ngx_int_t ngx_http_forest_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *content_type, u_char *body, size_t len);
ngx_int_t ngx_http_forest_send_result(ngx_http_forest_ctx_t *ctx,
    const char *content_type, u_char *body, size_t len);
ngx_int_t ngx_http_forest_send_error(ngx_http_request_t *r,
    ngx_http_forest_model_t *m, ngx_uint_t status, ngx_uint_t level,
    const char *fmt, ...);
ngx_int_t ngx_http_forest_not_allowed(ngx_http_request_t *r,
    const char *allow);
ngx_int_t ngx_http_forest_not_ready(ngx_http_request_t *r,
    ngx_http_forest_model_t *m, ngx_uint_t inference);
ngx_int_t ngx_http_forest_no_endpoint(ngx_http_request_t *r);
u_char *ngx_http_forest_json_string(ngx_pool_t *pool, const char *s);
/* {"feature": ["name", ...], ...} of the model's category lists, "" when
 * it has none; NULL when out of memory. */
u_char *ngx_http_forest_categories_json(ngx_pool_t *pool,
    const forest_model *m);
void ngx_http_forest_leave_body(ngx_http_request_t *r);
void *ngx_http_forest_palloc(void *pool, size_t size);

/* ngx_http_forest_kserve.c */
ngx_int_t ngx_http_forest_kserve_handler(ngx_http_request_t *r);

/* ngx_http_forest_grpc.c */
ngx_int_t ngx_http_forest_grpc_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_forest_grpc_error(ngx_http_request_t *r,
    ngx_uint_t status, const u_char *msg);
ngx_int_t ngx_http_forest_grpc_result(ngx_http_forest_ctx_t *ctx,
    const float *out);

/* ngx_http_forest_batch.c */
ngx_int_t ngx_http_forest_batch_submit(ngx_http_forest_ctx_t *ctx);
void ngx_http_forest_batch_detach(ngx_http_forest_ctx_t *ctx);
/* the batch_delay clock of the worker (init_process, exit_process) */
ngx_int_t ngx_http_forest_batch_init_worker(ngx_cycle_t *cycle);
void ngx_http_forest_batch_exit_worker(void);
/* times the model's executor for the inline bound (init_process) */
void ngx_http_forest_batch_calibrate(ngx_http_forest_model_t *m,
    ngx_log_t *log);

/* ngx_http_forest_runner.c */
ngx_int_t ngx_http_forest_runner_init(ngx_cycle_t *cycle, ngx_uint_t threads,
    ngx_uint_t max_queue);
ngx_int_t ngx_http_forest_runner_post(ngx_http_forest_job_t *job,
    ngx_log_t *log);
void ngx_http_forest_runner_exit(ngx_cycle_t *cycle);

/* ngx_http_forest_lua.c */
char *ngx_http_forest_lua_hook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_forest_lua_merge(ngx_conf_t *cf,
    ngx_http_forest_loc_conf_t *prev, ngx_http_forest_loc_conf_t *conf);
ngx_int_t ngx_http_forest_lua_check(ngx_conf_t *cf,
    ngx_http_forest_main_conf_t *fmcf);
ngx_int_t ngx_http_forest_lua_init_worker(ngx_cycle_t *cycle,
    ngx_http_forest_main_conf_t *fmcf);
void ngx_http_forest_lua_exit_worker(ngx_http_forest_main_conf_t *fmcf);
ngx_int_t ngx_http_forest_lua_begin(ngx_http_forest_ctx_t *ctx,
    size_t json_len);
ngx_int_t ngx_http_forest_lua_body(ngx_http_forest_ctx_t *ctx, u_char *data,
    size_t len);
void ngx_http_forest_lua_request(ngx_http_forest_ctx_t *ctx);
ngx_int_t ngx_http_forest_lua_respond(ngx_http_forest_ctx_t *ctx,
    const float *out);

/* ngx_http_forest_metrics.c */
ngx_int_t ngx_http_forest_metrics_zone(ngx_conf_t *cf,
    ngx_http_forest_main_conf_t *fmcf);
ngx_int_t ngx_http_forest_metrics_handler(ngx_http_request_t *r);
u_char *ngx_http_forest_stats_json(ngx_pool_t *pool,
    ngx_http_forest_main_conf_t *fmcf, ngx_http_forest_model_t *only,
    size_t *len);
void ngx_http_forest_stats_request(ngx_http_forest_model_t *m,
    ngx_uint_t success, uint64_t duration_us);
void ngx_http_forest_stats_batch(ngx_http_forest_model_t *m, size_t rows,
    ngx_uint_t n_requests, uint64_t queue_us_total, uint64_t compute_us);
void ngx_http_forest_stats_queue(ngx_http_forest_model_t *m,
    uint64_t queue_us);

#endif /* NGX_HTTP_FOREST_MODULE_H */
