/*
 * The per-worker, per-model dynamic batcher.
 *
 * Rows of requests are appended to a pending batch, which goes to the
 * executor threads once it holds max_batch_size rows, or else:
 *
 *   batch_delay=0 (the default): at the end of the current event loop
 *     iteration when the model is idle (no batch of it running), so the
 *     requests that one epoll wakeup brought go together at no extra
 *     latency; while a batch runs, the rows that arrive meanwhile are merged
 *     and go when it completes (again at the end of that iteration);
 *   batch_delay>0: batch_delay after its first request arrived, like
 *     Triton's max_queue_delay, to the microsecond: NGINX timers tick in
 *     milliseconds, so the waiting batches have a clock of their own, one
 *     timerfd per worker on the event loop, armed for the earliest of them.
 *
 * A batch of the CPU executor whose predicted time is within the model's
 * inline_max runs on the event loop where it would be dispatched, instead
 * of paying the hand-off to a batch thread and back (two context switches
 * and an eventfd wakeup, about as much CPU as a 1-row prediction of a
 * small model).  The prediction is the executor's time for 1 and for 16
 * rows of zeros, measured when the worker starts, interpolated for the
 * batch's rows, and scaled by how the batches since then measured against
 * it (a running average).
 * Contributions and the GPU always go to a thread.  A batch found full
 * inside a request's handler goes at the end of the iteration instead, so
 * that no handler finds its request answered before it returns.
 *
 * Each request remembers its first row in the batch and gets exactly its
 * rows back.
 *
 * A batch owns its memory (its own pool) and lives until its thread task has
 * completed, whatever happens to the requests in it: a request that goes
 * away only clears its slot.
 */
#include "ngx_http_forest_module.h"
#include "treeshap_interactions.h"


/* The rows of a request that asked for SHAP interactions: computed for
 * those rows only (they cost C (F+1)^2 values and O(d^3) a leaf a row),
 * packed at "at" rows into the batch's interactions. */
typedef struct {
    size_t                    row;
    size_t                    n;
    size_t                    at;
} ngx_http_forest_ix_rows_t;

#include <sys/timerfd.h>


/* how often a batch still running is reported */
#define NGX_HTTP_FOREST_GUARD_MS  60000

/* the cost model: rows of its second point, runs kept the fastest of */
#define NGX_HTTP_FOREST_COST_ROWS   16
#define NGX_HTTP_FOREST_COST_RUNS   5
/* cost_scale: its 1, its bounds, and the weight of each new batch (1/8) */
#define NGX_HTTP_FOREST_SCALE_ONE   256
#define NGX_HTTP_FOREST_SCALE_MIN   64
#define NGX_HTTP_FOREST_SCALE_MAX   4096
#define NGX_HTTP_FOREST_SCALE_SHIFT 3


struct ngx_http_forest_batch_s {
    ngx_pool_t               *pool;
    ngx_log_t                *log;
    ngx_http_forest_model_t  *model;
    int                       margin;

    float                    *rows;
    size_t                    n_rows;
    size_t                    cap_rows;
    float                    *out;

    /* outputs some request asked for besides the prediction (FCODEC_OUT_*),
     * computed for every row of the batch */
    unsigned                  extras;
    float                    *contribs;
    float                    *interactions;
    ngx_http_forest_ix_rows_t *ix;
    ngx_uint_t                n_ix;
    ngx_uint_t                cap_ix;
    size_t                    ix_rows;
    int32_t                  *leaves;

    ngx_http_forest_ctx_t   **ctxs;
    ngx_uint_t                n_ctxs;
    ngx_uint_t                cap_ctxs;

    /* batch_delay=0: dispatches the batch at the end of the event loop
     * iteration (a posted event) */
    ngx_event_t               delay;
    /* batch_delay>0: the batch's place on the delay clock */
    ngx_queue_t               wait;
    uint64_t                  deadline_us;
    unsigned                  waiting:1;
    /*
     * armed while the batch waits or runs: a non-cancelable timer keeps a
     * gracefully exiting worker alive until the batch is answered
     */
    ngx_event_t               guard;
    ngx_http_forest_job_t     job;               /* on the batch threads */

    uint64_t                  start_us;
    uint64_t                  compute_ns;
    int                       rc;
    char                      err[FOREST_ERR_LEN];
};


static ngx_http_forest_batch_t *ngx_http_forest_batch_create(
    ngx_http_forest_model_t *m, int margin);
static ngx_int_t ngx_http_forest_batch_append(ngx_http_forest_batch_t *b,
    ngx_http_forest_ctx_t *ctx);
static void ngx_http_forest_batch_free(ngx_http_forest_batch_t *b);
static void ngx_http_forest_batch_close(ngx_http_forest_batch_t *b);
static void ngx_http_forest_batch_dispatch(ngx_http_forest_batch_t *b);
static uint64_t ngx_http_forest_batch_cost(ngx_http_forest_batch_t *b);
static uint64_t ngx_http_forest_batch_on_loop(ngx_http_forest_batch_t *b);
static void ngx_http_forest_batch_rescale(ngx_http_forest_batch_t *b);
static void ngx_http_forest_batch_fail(ngx_http_forest_batch_t *b,
    ngx_uint_t status, const char *error);
static ngx_int_t ngx_http_forest_batch_post_task(ngx_http_forest_batch_t *b,
    ngx_thread_pool_t *tp, ngx_thread_task_t *task);
static void ngx_http_forest_batch_run(void *data);
static void ngx_http_forest_batch_task(void *data, ngx_log_t *log);
static void ngx_http_forest_batch_finish(void *data);
static void ngx_http_forest_batch_task_done(ngx_event_t *ev);
static void ngx_http_forest_batch_extras(ngx_http_forest_batch_t *b,
    ngx_http_forest_ctx_t *ctx);
static float *ngx_http_forest_batch_rebase(ngx_http_forest_batch_t *b,
    ngx_http_forest_ctx_t *ctx, float *margins);
static void ngx_http_forest_batch_delay_handler(ngx_event_t *ev);
static void ngx_http_forest_batch_guard_handler(ngx_event_t *ev);
static void ngx_http_forest_batch_wait(ngx_http_forest_batch_t *b);
static void ngx_http_forest_batch_unwait(ngx_http_forest_batch_t *b);
static ngx_int_t ngx_http_forest_clock_arm(uint64_t deadline_us);
static void ngx_http_forest_clock_handler(ngx_event_t *ev);


/* The per-worker clock of batch_delay: the waiting batches, earliest
 * deadline first, and a timerfd armed for the first of them. */
typedef struct {
    ngx_connection_t         *conn;
    ngx_queue_t               waiting;
} ngx_http_forest_clock_t;

static ngx_http_forest_clock_t  ngx_http_forest_clock;

/* the pool of the last batch answered, emptied (NULL: none) */
static ngx_pool_t  *ngx_http_forest_spare_pool;


ngx_int_t
ngx_http_forest_batch_init_worker(ngx_cycle_t *cycle)
{
    int                       fd;
    ngx_http_forest_clock_t  *ck = &ngx_http_forest_clock;

    ngx_queue_init(&ck->waiting);

    fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK|TFD_CLOEXEC);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "forest: timerfd_create() failed");
        return NGX_ERROR;
    }

    ck->conn = ngx_get_connection(fd, cycle->log);
    if (ck->conn == NULL) {
        close(fd);
        return NGX_ERROR;
    }

    ck->conn->read->handler = ngx_http_forest_clock_handler;
    ck->conn->read->log = cycle->log;

    if (ngx_add_event(ck->conn->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_close_connection(ck->conn);
        ck->conn = NULL;
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_forest_batch_exit_worker(void)
{
    /* closed here, so that the exiting worker finds no socket left open */
    if (ngx_http_forest_clock.conn != NULL) {
        ngx_close_connection(ngx_http_forest_clock.conn);
        ngx_http_forest_clock.conn = NULL;
    }

    if (ngx_http_forest_spare_pool != NULL) {
        ngx_destroy_pool(ngx_http_forest_spare_pool);
        ngx_http_forest_spare_pool = NULL;
    }
}


ngx_int_t
ngx_http_forest_batch_submit(ngx_http_forest_ctx_t *ctx)
{
    int                       margin;
    size_t                    n;
    ngx_http_forest_model_t  *m;
    ngx_http_forest_batch_t  *b;

    m = ctx->model;
    n = ctx->req.n_rows;

    /* a request with base_margin runs with the margins, rebased and
     * transformed per request once the batch is back */
    margin = ctx->margin || ctx->req.base_margin != NULL;
    b = m->pending[margin];

    if (b != NULL && b->n_rows + n > m->max_batch_size) {
        ngx_http_forest_batch_close(b);
        b = NULL;
    }

    if (b == NULL) {
        b = ngx_http_forest_batch_create(m, margin);
        if (b == NULL) {
            return NGX_ERROR;
        }

        m->pending[margin] = b;
    }

    if (ngx_http_forest_batch_append(b, ctx) != NGX_OK) {
        if (b->n_ctxs == 0) {
            m->pending[margin] = NULL;
            ngx_http_forest_batch_free(b);
        }

        return NGX_ERROR;
    }

    if (b->n_rows >= m->max_batch_size) {
        ngx_http_forest_batch_close(b);
        return NGX_OK;
    }

    if (b->waiting || b->delay.posted
        || (m->batch_delay_us == 0 && m->in_flight > 0))
    {
        /* already timed, or goes when the running batch completes */
        return NGX_OK;
    }

    if (m->batch_delay_us) {
        ngx_http_forest_batch_wait(b);

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, b->log, 0,
                       "forest batch %p goes at the end of this iteration",
                       b);

        ngx_post_event(&b->delay, &ngx_posted_events);
    }

    return NGX_OK;
}


void
ngx_http_forest_batch_detach(ngx_http_forest_ctx_t *ctx)
{
    if (ctx->batch == NULL) {
        return;
    }

    ctx->batch->ctxs[ctx->slot] = NULL;
    ctx->batch = NULL;
}


static ngx_http_forest_batch_t *
ngx_http_forest_batch_create(ngx_http_forest_model_t *m, int margin)
{
    ngx_pool_t               *pool;
    ngx_http_forest_batch_t  *b;

    pool = ngx_http_forest_spare_pool;

    if (pool != NULL) {
        ngx_http_forest_spare_pool = NULL;

    } else {
        pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
        if (pool == NULL) {
            return NULL;
        }
    }

    b = ngx_pcalloc(pool, sizeof(ngx_http_forest_batch_t));
    if (b == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    b->pool = pool;
    /* batch events outlive any one request: log with the cycle's log */
    b->log = ngx_cycle->log;
    b->model = m;
    b->margin = margin;

    b->delay.handler = ngx_http_forest_batch_delay_handler;
    b->delay.data = b;
    b->delay.log = b->log;

    b->guard.handler = ngx_http_forest_batch_guard_handler;
    b->guard.data = b;
    b->guard.log = b->log;

    return b;
}


/* The batch's memory goes; its pool stays for the next batch when there
 * is no spare yet (a malloc and free of a pool less per batch). */
static void
ngx_http_forest_batch_free(ngx_http_forest_batch_t *b)
{
    ngx_pool_t  *pool;

    pool = b->pool;

    if (ngx_http_forest_spare_pool != NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    ngx_reset_pool(pool);
    ngx_http_forest_spare_pool = pool;
}


/* The next n rows of b are a request's that asks for interactions. */
static ngx_int_t
ngx_http_forest_batch_ix_rows(ngx_http_forest_batch_t *b, size_t n)
{
    ngx_uint_t                  cap;
    ngx_http_forest_ix_rows_t  *ix;

    if (b->n_ix == b->cap_ix) {
        cap = ngx_max(b->cap_ix * 2, 4);

        ix = ngx_palloc(b->pool, cap * sizeof(ngx_http_forest_ix_rows_t));
        if (ix == NULL) {
            return NGX_ERROR;
        }

        if (b->ix != NULL) {
            ngx_memcpy(ix, b->ix,
                       b->n_ix * sizeof(ngx_http_forest_ix_rows_t));
            ngx_pfree(b->pool, b->ix);
        }

        b->ix = ix;
        b->cap_ix = cap;
    }

    b->ix[b->n_ix].row = b->n_rows;
    b->ix[b->n_ix].n = n;
    b->ix[b->n_ix].at = b->ix_rows;
    b->n_ix++;
    b->ix_rows += n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_forest_batch_append(ngx_http_forest_batch_t *b,
    ngx_http_forest_ctx_t *ctx)
{
    size_t                   n, cap, row_bytes;
    float                   *rows;
    ngx_uint_t               cap_ctxs;
    ngx_http_forest_ctx_t  **ctxs;

    n = ctx->req.n_rows;
    row_bytes = (size_t) b->model->forest->n_features * sizeof(float);

    if (b->n_rows + n > b->cap_rows) {
        cap = ngx_max(b->cap_rows * 2, b->n_rows + n);
        cap = ngx_max(cap, 16);

        rows = ngx_palloc(b->pool, cap * row_bytes);
        if (rows == NULL) {
            return NGX_ERROR;
        }

        if (b->rows != NULL) {
            ngx_memcpy(rows, b->rows, b->n_rows * row_bytes);
            ngx_pfree(b->pool, b->rows);
        }

        b->rows = rows;
        b->cap_rows = cap;
    }

    if (b->n_ctxs == b->cap_ctxs) {
        cap_ctxs = ngx_max(b->cap_ctxs * 2, 8);

        ctxs = ngx_palloc(b->pool, cap_ctxs * sizeof(ngx_http_forest_ctx_t *));
        if (ctxs == NULL) {
            return NGX_ERROR;
        }

        if (b->ctxs != NULL) {
            ngx_memcpy(ctxs, b->ctxs,
                       b->n_ctxs * sizeof(ngx_http_forest_ctx_t *));
            ngx_pfree(b->pool, b->ctxs);
        }

        b->ctxs = ctxs;
        b->cap_ctxs = cap_ctxs;
    }

    ngx_memcpy((u_char *) b->rows + b->n_rows * row_bytes, ctx->req.rows,
               n * row_bytes);

    if ((ctx->req.extras & FCODEC_OUT_INTERACTIONS)
        && ngx_http_forest_batch_ix_rows(b, n) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->batch = b;
    ctx->slot = b->n_ctxs;
    ctx->row_offset = b->n_rows;
    b->extras |= ctx->req.extras;
    ctx->queued_us = ngx_http_forest_now_us();

    b->ctxs[b->n_ctxs++] = ctx;
    b->n_rows += n;

    return NGX_OK;
}


/* A full batch, found so inside a request's handler. */
static void
ngx_http_forest_batch_close(ngx_http_forest_batch_t *b)
{
    ngx_http_forest_model_t  *m;

    m = b->model;

    if (ngx_http_forest_batch_on_loop(b) == 0) {
        ngx_http_forest_batch_dispatch(b);
        return;
    }

    /* it runs on the event loop: once this handler has returned */

    if (m->pending[b->margin] == b) {
        m->pending[b->margin] = NULL;
    }

    ngx_http_forest_batch_unwait(b);

    if (!b->delay.posted) {
        ngx_post_event(&b->delay, &ngx_posted_events);
    }
}


static void
ngx_http_forest_batch_dispatch(ngx_http_forest_batch_t *b)
{
    size_t                        cols;
    uint64_t                      on_loop;
    ngx_int_t                     rc;
    ngx_thread_task_t            *task;
    ngx_http_forest_model_t      *m;
    ngx_http_forest_main_conf_t  *fmcf;

    m = b->model;

    if (m->pending[b->margin] == b) {
        m->pending[b->margin] = NULL;
    }

    ngx_http_forest_batch_unwait(b);

    if (b->delay.posted) {
        ngx_delete_posted_event(&b->delay);
    }

    cols = forest_output_columns(m->forest, b->margin);

    fmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_forest_module);

    /* its predicted time in ns, or 0: it goes to a thread */
    on_loop = ngx_http_forest_batch_on_loop(b);

    b->out = ngx_palloc(b->pool, b->n_rows * cols * sizeof(float));
    task = (fmcf->thread_pool && !on_loop)
           ? ngx_thread_task_alloc(b->pool, 0) : NULL;

    if ((b->extras & FCODEC_OUT_CONTRIBS) && m->shap != NULL) {
        b->contribs = ngx_palloc(b->pool, b->n_rows * sizeof(float)
                                          * forest_shap_row_values(m->shap));
        if (b->contribs == NULL) {
            b->out = NULL;
        }
    }

    if (b->ix_rows > 0 && m->shap != NULL) {
        b->interactions = ngx_palloc(b->pool, b->ix_rows * sizeof(float)
                              * forest_shap_interactions_row_values(m->forest));
        if (b->interactions == NULL) {
            b->out = NULL;
        }
    }

    if (b->extras & FCODEC_OUT_LEAVES) {
        b->leaves = ngx_palloc(b->pool, b->n_rows * sizeof(int32_t)
                                        * m->forest->n_trees);
        if (b->leaves == NULL) {
            b->out = NULL;
        }
    }

    if (b->out == NULL
        || (fmcf->thread_pool != NULL && !on_loop && task == NULL))
    {
        ngx_http_forest_batch_fail(b, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                   "out of memory for the batch");
        return;
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, b->log, 0,
                   "forest batch %p dispatch: model \"%V\", %uz rows of %ui "
                   "requests, margin:%d", b, &m->name, b->n_rows, b->n_ctxs,
                   b->margin);

    if (on_loop) {
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, b->log, 0,
                       "forest batch %p runs on the event loop: %uL ns "
                       "predicted, inline_max %ui us", b, on_loop,
                       m->inline_max_us);

        m->in_flight++;
        ngx_http_forest_batch_run(b);
        ngx_http_forest_batch_finish(b);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, b->log, 0,
                   "forest batch %p goes to a thread, inline_max %ui us",
                   b, m->inline_max_us);

    if (fmcf->thread_pool != NULL) {
        rc = ngx_http_forest_batch_post_task(b, fmcf->thread_pool, task);

    } else {
        b->job.run = ngx_http_forest_batch_run;
        b->job.done = ngx_http_forest_batch_finish;
        b->job.data = b;
        rc = ngx_http_forest_runner_post(&b->job, b->log);
    }

    if (rc != NGX_OK) {
        /* the queue has logged why (e.g. it is full) */
        ngx_http_forest_batch_fail(b, NGX_HTTP_SERVICE_UNAVAILABLE,
                                   "the executor queue cannot take the batch");
        return;
    }

    m->in_flight++;
    ngx_add_timer(&b->guard, NGX_HTTP_FOREST_GUARD_MS);
}


/* A batch that never ran: every request in it gets the error. */
static void
ngx_http_forest_batch_fail(ngx_http_forest_batch_t *b, ngx_uint_t status,
    const char *error)
{
    ngx_uint_t              i;
    ngx_http_forest_ctx_t  *ctx;

    for (i = 0; i < b->n_ctxs; i++) {
        ctx = b->ctxs[i];

        if (ctx != NULL) {
            ctx->batch = NULL;
            ngx_http_forest_complete(ctx, NULL, status, error);
        }
    }

    if (b->guard.timer_set) {
        ngx_del_timer(&b->guard);
    }

    ngx_http_forest_batch_free(b);
}


void
ngx_http_forest_batch_calibrate(ngx_http_forest_model_t *m, ngx_log_t *log)
{
    char        err[FOREST_ERR_LEN];
    float      *rows, *out;
    size_t      n, cols;
    uint64_t    t, best;
    ngx_uint_t  k, run;

    m->cost_ns[0] = 0;
    m->cost_ns[1] = 0;
    m->cost_scale = NGX_HTTP_FOREST_SCALE_ONE;

    /* a GPU executor's call waits for the device: never on the loop */
    if (m->inline_max_us == 0 || ngx_strcmp(m->executor_kind, "cpu") != 0) {
        return;
    }

    n = NGX_HTTP_FOREST_COST_ROWS;
    cols = ngx_max(forest_output_columns(m->forest, 0),
                   forest_output_columns(m->forest, 1));

    rows = ngx_calloc(n * m->forest->n_features * sizeof(float), log);
    out = ngx_alloc(n * cols * sizeof(float), log);

    if (rows == NULL || out == NULL) {
        goto done;
    }

    for (k = 0; k < 2; k++) {
        best = (uint64_t) -1;

        for (run = 0; run < NGX_HTTP_FOREST_COST_RUNS; run++) {
            t = ngx_http_forest_now_ns();

            if (forest_executor_predict(m->executor, rows, k ? n : 1, 0, out,
                                        err, sizeof(err))
                != 0)
            {
                ngx_log_error(NGX_LOG_WARN, log, 0,
                              "forest_model \"%V\" version %V: its batches "
                              "go to threads, timing it failed: %s",
                              &m->name, &m->version, err);
                m->cost_ns[0] = 0;
                goto done;
            }

            t = ngx_http_forest_now_ns() - t;
            best = ngx_min(best, t);

            if (t > (uint64_t) m->inline_max_us * 1000 * 4) {
                /* far over the bound: more runs change nothing */
                break;
            }
        }

        m->cost_ns[k] = ngx_max(best, 1);

        if (k == 0 && best > (uint64_t) m->inline_max_us * 1000) {
            /* not even one row fits: the second point is never used */
            m->cost_ns[1] = m->cost_ns[0] * n;
            break;
        }
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, log, 0,
                   "forest_model \"%V\" costs %uL ns a row, %uL ns %uz rows",
                   &m->name, m->cost_ns[0], m->cost_ns[1], n);

done:

    ngx_free(rows);
    ngx_free(out);
}


/*
 * The batch's time by the measurements at start, in ns, before cost_scale;
 * (uint64_t) -1 for a batch that goes to a thread whatever its size.
 */
static uint64_t
ngx_http_forest_batch_cost(ngx_http_forest_batch_t *b)
{
    size_t                    n;
    uint64_t                  ns;
    ngx_http_forest_model_t  *m;

    m = b->model;
    n = b->n_rows;

    if (m->cost_ns[0] == 0
        || ((b->extras & (FCODEC_OUT_CONTRIBS | FCODEC_OUT_INTERACTIONS))
            && m->shap != NULL))
    {
        return (uint64_t) -1;
    }

    /* between the two points the line joining them; beyond, the second
     * point's time per row (more rows cost no more each) */
    if (n < NGX_HTTP_FOREST_COST_ROWS) {
        ns = m->cost_ns[0]
             + (ngx_max(m->cost_ns[1], m->cost_ns[0]) - m->cost_ns[0])
               * (n - 1) / (NGX_HTTP_FOREST_COST_ROWS - 1);

    } else {
        ns = m->cost_ns[1] * n / NGX_HTTP_FOREST_COST_ROWS;
    }

    if (b->extras & FCODEC_OUT_LEAVES) {
        /* a second walk of every tree */
        ns *= 2;
    }

    return ns;
}


/* The batch's predicted time in ns, if it is within inline_max; else 0. */
static uint64_t
ngx_http_forest_batch_on_loop(ngx_http_forest_batch_t *b)
{
    uint64_t                  ns;
    ngx_http_forest_model_t  *m;

    m = b->model;
    ns = ngx_http_forest_batch_cost(b);

    if (ns == (uint64_t) -1) {
        return 0;
    }

    ns = ngx_max(ns * m->cost_scale / NGX_HTTP_FOREST_SCALE_ONE, 1);

    return ns <= (uint64_t) m->inline_max_us * 1000 ? ns : 0;
}


/*
 * The cost model follows the time the batches near the bound take (on the
 * loop or not): caches colder than at the start, data that walks deeper
 * than zeros, a busier machine.  Batches far over the bound do not count:
 * their time per row is lower than small batches' and would pull the
 * prediction under what the batches that may run on the loop take.
 */
static void
ngx_http_forest_batch_rescale(ngx_http_forest_batch_t *b)
{
    uint64_t                  cost, ratio;
    ngx_http_forest_model_t  *m;

    m = b->model;

    if (b->rc != 0 || b->contribs != NULL || b->interactions != NULL) {
        return;
    }

    cost = ngx_http_forest_batch_cost(b);
    if (cost == (uint64_t) -1 || cost == 0
        || cost > (uint64_t) m->inline_max_us * 1000 * 2)
    {
        return;
    }

    /* the ratio to the unscaled prediction, in cost_scale's unit */
    ratio = b->compute_ns * NGX_HTTP_FOREST_SCALE_ONE / cost;
    ratio = ngx_max(ratio, NGX_HTTP_FOREST_SCALE_MIN);
    ratio = ngx_min(ratio, NGX_HTTP_FOREST_SCALE_MAX);

    m->cost_scale = (m->cost_scale * ((1 << NGX_HTTP_FOREST_SCALE_SHIFT) - 1)
                     + ratio)
                    >> NGX_HTTP_FOREST_SCALE_SHIFT;
}


static ngx_int_t
ngx_http_forest_batch_post_task(ngx_http_forest_batch_t *b,
    ngx_thread_pool_t *tp, ngx_thread_task_t *task)
{
    task->ctx = b;
    task->handler = ngx_http_forest_batch_task;
    task->event.handler = ngx_http_forest_batch_task_done;
    task->event.data = b;
    task->event.log = b->log;

    return ngx_thread_task_post(tp, task);
}


static void
ngx_http_forest_batch_task(void *data, ngx_log_t *log)
{
    ngx_http_forest_batch_run(data);
}


static void
ngx_http_forest_batch_task_done(ngx_event_t *ev)
{
    ngx_http_forest_batch_finish(ev->data);
}


static void
ngx_http_forest_batch_run(void *data)
{
    ngx_http_forest_batch_t *b = data;

    uint64_t                    start;
    ngx_uint_t                  i;
    ngx_http_forest_ix_rows_t  *ix;

    start = ngx_http_forest_now_ns();

    b->rc = forest_executor_predict(b->model->executor, b->rows, b->n_rows,
                                    b->margin, b->out, b->err,
                                    sizeof(b->err));

    /* on the GPU where the executor offers them, else on this thread */
    if (b->rc == 0 && b->contribs != NULL) {
        b->rc = forest_executor_contribs(b->model->executor, b->model->shap,
                                         b->rows, b->n_rows, b->contribs,
                                         b->err, sizeof(b->err));
    }

    for (i = 0; b->rc == 0 && b->interactions != NULL && i < b->n_ix; i++) {
        ix = &b->ix[i];

        if (forest_shap_interactions(b->model->shap, b->model->forest,
                b->rows + ix->row * b->model->forest->n_features, ix->n,
                b->interactions
                + ix->at * forest_shap_interactions_row_values(
                               b->model->forest)) != 0)
        {
            b->rc = -1;
            ngx_cpystrn((u_char *) b->err,
                        (u_char *) "out of memory for SHAP interactions",
                        sizeof(b->err));
        }
    }

    if (b->rc == 0 && b->leaves != NULL) {
        forest_leaf_index(b->model->forest, b->rows, b->n_rows, b->leaves);
    }

    b->start_us = start / 1000;
    b->compute_ns = ngx_http_forest_now_ns() - start;
}


static void
ngx_http_forest_batch_finish(void *data)
{
    ngx_http_forest_batch_t *b = data;

    int                       margin;
    float                    *out;
    size_t                    cols;
    uint64_t                  queue_us;
    ngx_uint_t                i, n_reqs;
    ngx_http_forest_ctx_t    *ctx;
    ngx_http_forest_model_t  *m;

    m = b->model;
    m->in_flight--;

    if (b->guard.timer_set) {
        ngx_del_timer(&b->guard);
    }

    /*
     * without batch_delay, what gathered meanwhile goes next, with what
     * else this event loop iteration brings
     */
    for (margin = 0; m->batch_delay_us == 0 && margin < 2; margin++) {
        if (m->pending[margin] != NULL && !m->pending[margin]->delay.posted) {
            ngx_post_event(&m->pending[margin]->delay, &ngx_posted_events);
        }
    }

    queue_us = 0;
    n_reqs = 0;

    for (i = 0; i < b->n_ctxs; i++) {
        ctx = b->ctxs[i];
        if (ctx != NULL) {
            queue_us += b->start_us - ctx->queued_us;
            n_reqs++;
            ngx_http_forest_stats_queue(m, b->start_us - ctx->queued_us);
        }
    }

    ngx_log_debug5(NGX_LOG_DEBUG_HTTP, b->log, 0,
                   "forest batch %p done: rc:%d, %uz rows, %ui requests "
                   "still waiting, %uL us computing", b, b->rc, b->n_rows,
                   n_reqs, b->compute_ns / 1000);

    ngx_http_forest_stats_batch(m, b->n_rows, n_reqs, queue_us,
                                b->compute_ns / 1000);

    ngx_http_forest_batch_rescale(b);

    cols = forest_output_columns(m->forest, b->margin);

    for (i = 0; i < b->n_ctxs; i++) {
        ctx = b->ctxs[i];
        if (ctx == NULL) {
            continue;
        }

        ctx->batch = NULL;

        if (b->rc == 0) {
            ngx_http_forest_batch_extras(b, ctx);
            out = b->out + ctx->row_offset * cols;

            if (ctx->req.base_margin != NULL) {
                out = ngx_http_forest_batch_rebase(b, ctx, out);
            }

            if (out == NULL) {
                ngx_http_forest_complete(ctx, NULL,
                                         NGX_HTTP_INTERNAL_SERVER_ERROR,
                                         "out of memory for the outputs");
                continue;
            }

            ngx_http_forest_complete(ctx, out, 0, NULL);

        } else {
            /* the executor (e.g. a CUDA error) failed this batch only and
             * stays usable: the client may retry */
            ngx_http_forest_complete(ctx, NULL,
                                     NGX_HTTP_SERVICE_UNAVAILABLE, b->err);
        }
    }

    ngx_http_forest_batch_free(b);
}


/*
 * A request's rows of a margins batch started from its base_margin instead
 * of the model's base_score: the margins in place when it asked for them,
 * else its outputs from the request's pool (NULL: no memory).  Its
 * contributions' and interactions' bias moves the same way.
 */
static float *
ngx_http_forest_batch_rebase(ngx_http_forest_batch_t *b,
    ngx_http_forest_ctx_t *ctx, float *margins)
{
    float         *out;
    size_t         n;
    forest_model  *fm;

    fm = b->model->forest;
    n = ctx->req.n_rows;

    if (ctx->req.contribs != NULL) {
        forest_rebase_contribs(fm, ctx->req.base_margin, n,
                               (float *) ctx->req.contribs);
    }

    if (ctx->req.interactions != NULL) {
        forest_rebase_interactions(fm, ctx->req.base_margin, n,
                                   (float *) ctx->req.interactions);
    }

    if (ctx->margin) {
        out = margins;

    } else {
        out = ngx_palloc(ctx->request->pool, n * sizeof(float)
                                             * forest_output_columns(fm, 0));
        if (out == NULL) {
            return NULL;
        }
    }

    forest_rebase_margins(fm, ctx->req.base_margin, n, margins, ctx->margin,
                          out);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "forest base_margin: %uz rows rebased, margin:%d", n,
                   ctx->margin);

    return out;
}


/* Points the request at its rows of the batch's extra outputs, which live
 * until the answer is encoded (in ngx_http_forest_complete()). */
static void
ngx_http_forest_batch_extras(ngx_http_forest_batch_t *b,
    ngx_http_forest_ctx_t *ctx)
{
    ngx_uint_t                i;
    ngx_http_forest_model_t  *m;

    m = b->model;

    if (b->contribs != NULL) {
        ctx->req.contrib_groups = m->forest->n_outputs;
        ctx->req.contrib_width = m->forest->n_features + 1;
        ctx->req.contribs = b->contribs
                            + ctx->row_offset
                              * forest_shap_row_values(m->shap);
    }

    for (i = 0; b->interactions != NULL && i < b->n_ix; i++) {
        if (b->ix[i].row == ctx->row_offset) {
            ctx->req.contrib_groups = m->forest->n_outputs;
            ctx->req.contrib_width = m->forest->n_features + 1;
            ctx->req.interactions = b->interactions
                                    + b->ix[i].at
                                      * forest_shap_interactions_row_values(
                                            m->forest);
        }
    }

    if (b->leaves != NULL) {
        ctx->req.n_trees = m->forest->n_trees;
        ctx->req.leaves = b->leaves + ctx->row_offset * m->forest->n_trees;
    }
}


static void
ngx_http_forest_batch_delay_handler(ngx_event_t *ev)
{
    ngx_http_forest_batch_dispatch(ev->data);
}


static void
ngx_http_forest_batch_guard_handler(ngx_event_t *ev)
{
    ngx_http_forest_batch_t *b = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "forest: a batch of %uz rows of model \"%V\" has been "
                  "running for more than %d s", b->n_rows, &b->model->name,
                  NGX_HTTP_FOREST_GUARD_MS / 1000);

    ngx_add_timer(&b->guard, NGX_HTTP_FOREST_GUARD_MS);
}


/*
 * On the clock until batch_delay from now; the guard (the delay in ms, and
 * then the usual report time) keeps a gracefully exiting worker alive
 * until the batch goes.
 */
static void
ngx_http_forest_batch_wait(ngx_http_forest_batch_t *b)
{
    ngx_queue_t              *q;
    ngx_http_forest_batch_t  *other;
    ngx_http_forest_clock_t  *ck = &ngx_http_forest_clock;

    b->deadline_us = ngx_http_forest_now_us() + b->model->batch_delay_us;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, b->log, 0,
                   "forest batch %p waits %ui us, until %uL",
                   b, b->model->batch_delay_us, b->deadline_us);

    /* deadlines mostly come in order: look from the latest */
    for (q = ngx_queue_last(&ck->waiting);
         q != ngx_queue_sentinel(&ck->waiting);
         q = ngx_queue_prev(q))
    {
        other = ngx_queue_data(q, ngx_http_forest_batch_t, wait);
        if (other->deadline_us <= b->deadline_us) {
            break;
        }
    }

    ngx_queue_insert_after(q, &b->wait);
    b->waiting = 1;

    ngx_add_timer(&b->guard, b->model->batch_delay_us / 1000
                             + NGX_HTTP_FOREST_GUARD_MS);

    if (ngx_queue_head(&ck->waiting) == &b->wait
        && ngx_http_forest_clock_arm(b->deadline_us) != NGX_OK)
    {
        /* cannot wait: go at the end of this event loop iteration */
        ngx_http_forest_batch_unwait(b);
        ngx_post_event(&b->delay, &ngx_posted_events);
    }
}


static void
ngx_http_forest_batch_unwait(ngx_http_forest_batch_t *b)
{
    if (b->waiting) {
        /* the clock may still fire for it: it then finds nothing due */
        ngx_queue_remove(&b->wait);
        b->waiting = 0;
    }
}


static ngx_int_t
ngx_http_forest_clock_arm(uint64_t deadline_us)
{
    struct itimerspec  its;

    ngx_memzero(&its, sizeof(struct itimerspec));
    /* 0 would disarm it: a deadline can be no earlier than 1 us */
    its.it_value.tv_sec = (time_t) (deadline_us / 1000000);
    its.it_value.tv_nsec = (long) (deadline_us % 1000000) * 1000 + 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "forest clock armed for %uL", deadline_us);

    if (timerfd_settime(ngx_http_forest_clock.conn->fd, TFD_TIMER_ABSTIME,
                        &its, NULL)
        == -1)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                      "forest: timerfd_settime() failed");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_forest_clock_handler(ngx_event_t *ev)
{
    uint64_t                  now, expirations;
    ngx_queue_t              *q;
    ngx_http_forest_batch_t  *b;
    ngx_http_forest_clock_t  *ck = &ngx_http_forest_clock;

    while (read(ck->conn->fd, &expirations, sizeof(uint64_t))
           == sizeof(uint64_t))
    {
        /* void */
    }

    now = ngx_http_forest_now_us();

    while (!ngx_queue_empty(&ck->waiting)) {
        q = ngx_queue_head(&ck->waiting);
        b = ngx_queue_data(q, ngx_http_forest_batch_t, wait);

        if (b->deadline_us > now) {
            if (ngx_http_forest_clock_arm(b->deadline_us) != NGX_OK) {
                /* do not strand them: they go now */
                now = b->deadline_us;
                continue;
            }

            break;
        }

        ngx_http_forest_batch_dispatch(b);
    }
}
