/*
 * Counters in shared memory (so they add up over workers and survive a
 * reload), served as Prometheus text by forest_metrics with Triton's metric
 * names plus histograms and per-worker counts of our own, and as Triton's
 * statistics extension JSON by .../stats.
 */
#include "ngx_http_forest_module.h"


#define NGX_HTTP_FOREST_ZONE_SIZE  (1024 * 1024)


/* What one worker process (by ngx_worker) answered, over all models. */
typedef struct {
    ngx_atomic_t  requests;
    ngx_atomic_t  rows;
} ngx_http_forest_worker_stats_t;


typedef struct {
    ngx_queue_t                      entries;  /* ngx_http_forest_stats_t */
    ngx_http_forest_worker_stats_t  *workers;
    ngx_uint_t                       n_workers;
    ngx_http_forest_worker_stats_t  *retired;  /* before the last growth */
} ngx_http_forest_shctx_t;


/* the zone's data: the configuration it serves */
typedef struct {
    ngx_http_forest_main_conf_t     *fmcf;
    ngx_core_conf_t                 *ccf;      /* worker_processes */
} ngx_http_forest_zone_conf_t;


typedef struct {
    const char   *name;
    const char   *help;
    size_t        field;
    size_t        plus;                    /* a second field added, or 0 */
} ngx_http_forest_counter_t;


#define NGX_HTTP_FOREST_FIELD(f)  offsetof(ngx_http_forest_stats_t, f)

static ngx_http_forest_counter_t  ngx_http_forest_counters[] = {

    { "nv_inference_request_success",
      "Inference requests answered successfully",
      NGX_HTTP_FOREST_FIELD(success), 0 },

    { "nv_inference_request_failure",
      "Inference requests answered with an error",
      NGX_HTTP_FOREST_FIELD(failure), 0 },

    { "nv_inference_count",
      "Rows predicted",
      NGX_HTTP_FOREST_FIELD(inference_count), 0 },

    { "nv_inference_exec_count",
      "Model executions (batches run)",
      NGX_HTTP_FOREST_FIELD(exec_count), 0 },

    { "nv_inference_request_duration_us",
      "Total time from request start to response, in microseconds",
      NGX_HTTP_FOREST_FIELD(success_us), NGX_HTTP_FOREST_FIELD(failure_us) },

    { "nv_inference_queue_duration_us",
      "Total time requests waited for their batch to start, in microseconds",
      NGX_HTTP_FOREST_FIELD(queue_us), 0 },

    { "nv_inference_compute_infer_duration_us",
      "Total model execution time attributed to requests, in microseconds",
      NGX_HTTP_FOREST_FIELD(compute_us), 0 },
};

#define NGX_HTTP_FOREST_N_COUNTERS                                            \
    (sizeof(ngx_http_forest_counters) / sizeof(ngx_http_forest_counters[0]))


/* field: of ngx_http_forest_worker_stats_t */
static ngx_http_forest_counter_t  ngx_http_forest_worker_counters[] = {

    { "ngx_forest_worker_requests_total",
      "Inference requests answered by each worker process, all models",
      offsetof(ngx_http_forest_worker_stats_t, requests), 0 },

    { "ngx_forest_worker_rows_total",
      "Rows predicted by each worker process, all models",
      offsetof(ngx_http_forest_worker_stats_t, rows), 0 },
};

#define NGX_HTTP_FOREST_N_WORKER_COUNTERS                                     \
    (sizeof(ngx_http_forest_worker_counters)                                  \
     / sizeof(ngx_http_forest_worker_counters[0]))


/* bucket upper bounds (+Inf not listed), in rows and in microseconds */
static const uint64_t
    ngx_http_forest_batch_le[NGX_HTTP_FOREST_BATCH_BUCKETS - 1] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
    32768, 65536
};

static const uint64_t
    ngx_http_forest_time_le[NGX_HTTP_FOREST_TIME_BUCKETS - 1] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
    250000, 500000, 1000000, 2500000, 5000000
};


typedef struct {
    const char       *name;
    const char       *help;
    const uint64_t   *le;
    ngx_uint_t        n;                   /* bounds; the buckets are n + 1 */
    uint64_t          scale;               /* le and sum are printed / scale */
    size_t            buckets;             /* ngx_atomic_t[n + 1] */
    size_t            sum;
    size_t            sum_plus;            /* a second field added, or 0 */
} ngx_http_forest_histogram_t;


#define NGX_HTTP_FOREST_BOUNDS(le)  le, sizeof(le) / sizeof(le[0])

static ngx_http_forest_histogram_t  ngx_http_forest_histograms[] = {

    { "ngx_forest_batch_size",
      "Rows per model execution",
      NGX_HTTP_FOREST_BOUNDS(ngx_http_forest_batch_le), 1,
      NGX_HTTP_FOREST_FIELD(batch_bucket),
      NGX_HTTP_FOREST_FIELD(inference_count), 0 },

    { "ngx_forest_request_duration_seconds",
      "Time from request start to response, successes and failures",
      NGX_HTTP_FOREST_BOUNDS(ngx_http_forest_time_le), 1000000,
      NGX_HTTP_FOREST_FIELD(request_bucket),
      NGX_HTTP_FOREST_FIELD(success_us), NGX_HTTP_FOREST_FIELD(failure_us) },

    { "ngx_forest_queue_duration_seconds",
      "Time a request waited for its batch to start",
      NGX_HTTP_FOREST_BOUNDS(ngx_http_forest_time_le), 1000000,
      NGX_HTTP_FOREST_FIELD(queue_bucket),
      NGX_HTTP_FOREST_FIELD(queue_us), 0 },
};

#define NGX_HTTP_FOREST_N_HISTOGRAMS                                          \
    (sizeof(ngx_http_forest_histograms)                                       \
     / sizeof(ngx_http_forest_histograms[0]))


static ngx_int_t ngx_http_forest_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_forest_stats_named(
    ngx_http_forest_main_conf_t *fmcf, ngx_http_forest_stats_t *st);
static ngx_uint_t ngx_http_forest_stats_of(ngx_http_forest_stats_t *st,
    ngx_http_forest_model_t *m);
static ngx_int_t ngx_http_forest_init_workers(ngx_slab_pool_t *shpool,
    ngx_http_forest_shctx_t *sh, ngx_uint_t n);
static ngx_http_forest_worker_stats_t *ngx_http_forest_worker(void);
static void ngx_http_forest_observe(ngx_atomic_t *bucket, const uint64_t *le,
    ngx_uint_t n, uint64_t v);
static ngx_atomic_uint_t ngx_http_forest_get(ngx_http_forest_stats_t *st,
    size_t field);
static u_char *ngx_http_forest_histogram(u_char *p, u_char *end,
    ngx_http_forest_histogram_t *h, ngx_http_forest_model_t *m);
static u_char *ngx_http_forest_decimal(u_char *p, u_char *end, uint64_t v,
    uint64_t scale);


static ngx_str_t  ngx_http_forest_zone_name =
    ngx_string("ngx_http_forest_metrics");


ngx_int_t
ngx_http_forest_metrics_zone(ngx_conf_t *cf,
    ngx_http_forest_main_conf_t *fmcf)
{
    ngx_http_forest_zone_conf_t  *zcf;

    zcf = ngx_palloc(cf->pool, sizeof(ngx_http_forest_zone_conf_t));
    if (zcf == NULL) {
        return NGX_ERROR;
    }

    /* worker_processes may follow the http block: read when the zone is
     * initialized, after the core module's configuration is complete */
    zcf->fmcf = fmcf;
    zcf->ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                                ngx_core_module);

    fmcf->shm_zone = ngx_shared_memory_add(cf, &ngx_http_forest_zone_name,
                                           NGX_HTTP_FOREST_ZONE_SIZE,
                                           &ngx_http_forest_module);
    if (fmcf->shm_zone == NULL) {
        return NGX_ERROR;
    }

    fmcf->shm_zone->init = ngx_http_forest_init_zone;
    fmcf->shm_zone->data = zcf;

    return NGX_OK;
}


/*
 * A reload keeps the zone (same name and size): the counters of models that
 * are still configured carry on.  Entries that neither the new configuration
 * nor the running one (data, whose workers are told to quit now) names are
 * freed: their workers were told to quit at an earlier reload.
 */
static ngx_int_t
ngx_http_forest_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_forest_zone_conf_t *zcf = shm_zone->data;
    ngx_http_forest_zone_conf_t *ozcf = data;

    ngx_uint_t                    i;
    ngx_queue_t                  *q, *next;
    ngx_slab_pool_t              *shpool;
    ngx_http_forest_shctx_t      *sh;
    ngx_http_forest_stats_t      *st;
    ngx_http_forest_model_t     **models, *m;
    ngx_http_forest_main_conf_t  *fmcf, *old;

    fmcf = zcf->fmcf;
    old = ozcf ? ozcf->fmcf : NULL;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (old != NULL || shm_zone->shm.exists) {
        sh = shpool->data;

    } else {
        sh = ngx_slab_alloc(shpool, sizeof(ngx_http_forest_shctx_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        ngx_queue_init(&sh->entries);
        sh->workers = NULL;
        sh->n_workers = 0;
        sh->retired = NULL;
        shpool->data = sh;
    }

    if (ngx_http_forest_init_workers(shpool, sh,
                                     (ngx_uint_t) zcf->ccf->worker_processes)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "forest: no room for the counters of %i workers "
                      "in the metrics zone", zcf->ccf->worker_processes);
        return NGX_ERROR;
    }

    for (q = ngx_queue_head(&sh->entries);
         q != ngx_queue_sentinel(&sh->entries);
         q = next)
    {
        next = ngx_queue_next(q);
        st = ngx_queue_data(q, ngx_http_forest_stats_t, queue);

        if (!ngx_http_forest_stats_named(fmcf, st)
            && (old == NULL || !ngx_http_forest_stats_named(old, st)))
        {
            ngx_queue_remove(q);
            ngx_slab_free(shpool, st);
        }
    }

    models = fmcf->models.elts;

    for (i = 0; i < fmcf->models.nelts; i++) {
        m = models[i];

        for (q = ngx_queue_head(&sh->entries);
             q != ngx_queue_sentinel(&sh->entries);
             q = ngx_queue_next(q))
        {
            st = ngx_queue_data(q, ngx_http_forest_stats_t, queue);

            if (ngx_http_forest_stats_of(st, m)) {
                m->stats = st;
                break;
            }
        }

        if (m->stats != NULL) {
            continue;
        }

        st = ngx_slab_calloc(shpool, sizeof(ngx_http_forest_stats_t));
        if (st == NULL) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "forest: no room for the counters of model "
                          "\"%V\" in the metrics zone", &m->name);
            return NGX_ERROR;
        }

        ngx_memcpy(st->name, m->name.data, m->name.len);
        st->name_len = m->name.len;
        ngx_memcpy(st->version, m->version.data, m->version.len);
        st->version_len = m->version.len;

        ngx_queue_insert_tail(&sh->entries, &st->queue);

        m->stats = st;
    }

    return NGX_OK;
}


/*
 * The per-worker counters go by worker number, which nginx gives anew from
 * 0 at a reload: new worker N carries on the count of slot N, as the model
 * counters carry on, and the old workers finishing their requests add to
 * the same slots.  More workers than ever before get a larger array with
 * the counts copied; workers read the array through the zone on every
 * count, so the old one is only freed at the next growth, as its last
 * readers were told to quit at the reload before.  Fewer workers keep the
 * array: the slots above worker_processes are not exported, and show again
 * with their counts if the workers come back.
 */
static ngx_int_t
ngx_http_forest_init_workers(ngx_slab_pool_t *shpool,
    ngx_http_forest_shctx_t *sh, ngx_uint_t n)
{
    ngx_http_forest_worker_stats_t  *w;

    if (n <= sh->n_workers) {
        return NGX_OK;
    }

    w = ngx_slab_calloc(shpool, n * sizeof(ngx_http_forest_worker_stats_t));
    if (w == NULL) {
        return NGX_ERROR;
    }

    if (sh->workers != NULL) {
        ngx_memcpy(w, sh->workers,
                   sh->n_workers * sizeof(ngx_http_forest_worker_stats_t));
    }

    if (sh->retired != NULL) {
        ngx_slab_free(shpool, sh->retired);
    }

    sh->retired = sh->workers;
    sh->workers = w;
    sh->n_workers = n;

    return NGX_OK;
}


/* The slot of this worker process (NULL: no zone, or not a worker of it). */
static ngx_http_forest_worker_stats_t *
ngx_http_forest_worker(void)
{
    ngx_slab_pool_t              *shpool;
    ngx_http_forest_shctx_t      *sh;
    ngx_http_forest_main_conf_t  *fmcf;

    fmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_forest_module);
    if (fmcf == NULL || fmcf->shm_zone == NULL) {
        return NULL;
    }

    shpool = (ngx_slab_pool_t *) fmcf->shm_zone->shm.addr;
    sh = shpool->data;

    return ngx_worker < sh->n_workers ? &sh->workers[ngx_worker] : NULL;
}


/* Whether a model of the configuration has its counters in st. */
static ngx_uint_t
ngx_http_forest_stats_named(ngx_http_forest_main_conf_t *fmcf,
    ngx_http_forest_stats_t *st)
{
    ngx_uint_t                 i;
    ngx_http_forest_model_t  **models;

    models = fmcf->models.elts;

    for (i = 0; i < fmcf->models.nelts; i++) {
        if (ngx_http_forest_stats_of(st, models[i])) {
            return 1;
        }
    }

    return 0;
}


static ngx_uint_t
ngx_http_forest_stats_of(ngx_http_forest_stats_t *st,
    ngx_http_forest_model_t *m)
{
    return st->name_len == m->name.len
           && st->version_len == m->version.len
           && ngx_strncmp(st->name, m->name.data, m->name.len) == 0
           && ngx_strncmp(st->version, m->version.data, m->version.len) == 0;
}


void
ngx_http_forest_stats_request(ngx_http_forest_model_t *m,
    ngx_uint_t success, uint64_t duration_us)
{
    ngx_http_forest_stats_t         *st;
    ngx_http_forest_worker_stats_t  *w;

    st = m->stats;
    if (st == NULL) {
        return;
    }

    ngx_http_forest_observe(st->request_bucket, ngx_http_forest_time_le,
                            NGX_HTTP_FOREST_TIME_BUCKETS - 1, duration_us);

    w = ngx_http_forest_worker();
    if (w != NULL) {
        (void) ngx_atomic_fetch_add(&w->requests, 1);
    }

    if (success) {
        (void) ngx_atomic_fetch_add(&st->success, 1);
        (void) ngx_atomic_fetch_add(&st->success_us, duration_us);

    } else {
        (void) ngx_atomic_fetch_add(&st->failure, 1);
        (void) ngx_atomic_fetch_add(&st->failure_us, duration_us);
    }
}


void
ngx_http_forest_stats_batch(ngx_http_forest_model_t *m, size_t rows,
    ngx_uint_t n_requests, uint64_t queue_us_total, uint64_t compute_us)
{
    ngx_time_t                      *tp;
    ngx_http_forest_stats_t         *st;
    ngx_http_forest_worker_stats_t  *w;

    st = m->stats;
    if (st == NULL) {
        return;
    }

    ngx_http_forest_observe(st->batch_bucket, ngx_http_forest_batch_le,
                            NGX_HTTP_FOREST_BATCH_BUCKETS - 1, rows);

    w = ngx_http_forest_worker();
    if (w != NULL) {
        (void) ngx_atomic_fetch_add(&w->rows, rows);
    }

    (void) ngx_atomic_fetch_add(&st->exec_count, 1);
    (void) ngx_atomic_fetch_add(&st->inference_count, rows);
    (void) ngx_atomic_fetch_add(&st->exec_compute_us, compute_us);
    (void) ngx_atomic_fetch_add(&st->compute_us, compute_us * n_requests);
    (void) ngx_atomic_fetch_add(&st->queue_us, queue_us_total);
    (void) ngx_atomic_fetch_add(&st->batched, n_requests);

    tp = ngx_timeofday();
    st->last_inference_ms = (ngx_atomic_uint_t) tp->sec * 1000 + tp->msec;
}


/* One request's wait for its batch; the total is in stats_batch's. */
void
ngx_http_forest_stats_queue(ngx_http_forest_model_t *m, uint64_t queue_us)
{
    if (m->stats != NULL) {
        ngx_http_forest_observe(m->stats->queue_bucket,
                                ngx_http_forest_time_le,
                                NGX_HTTP_FOREST_TIME_BUCKETS - 1, queue_us);
    }
}


/* bucket: n + 1 counts, the first bound >= v's, or the last (+Inf) */
static void
ngx_http_forest_observe(ngx_atomic_t *bucket, const uint64_t *le,
    ngx_uint_t n, uint64_t v)
{
    ngx_uint_t  b;

    for (b = 0; b < n && v > le[b]; b++) { /* void */ }

    (void) ngx_atomic_fetch_add(&bucket[b], 1);
}


static ngx_atomic_uint_t
ngx_http_forest_get(ngx_http_forest_stats_t *st, size_t field)
{
    return *(ngx_atomic_t *) ((u_char *) st + field);
}


ngx_int_t
ngx_http_forest_metrics_handler(ngx_http_request_t *r)
{
    u_char                          *buf, *p, *end;
    size_t                           size, lines;
    ngx_uint_t                       i, c, h, n_workers;
    ngx_atomic_uint_t                v;
    ngx_core_conf_t                 *ccf;
    ngx_slab_pool_t                 *shpool;
    ngx_http_forest_shctx_t         *sh;
    ngx_http_forest_model_t        **models, *m;
    ngx_http_forest_counter_t       *ctr;
    ngx_http_forest_main_conf_t     *fmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_forest_not_allowed(r, "GET, HEAD");
    }

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);
    models = fmcf->models.elts;

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);
    sh = NULL;
    n_workers = 0;

    if (fmcf->shm_zone != NULL) {
        shpool = (ngx_slab_pool_t *) fmcf->shm_zone->shm.addr;
        sh = shpool->data;
        n_workers = ngx_min(sh->n_workers,
                            (ngx_uint_t) ccf->worker_processes);
    }

    /* per model: the counters, and each histogram's buckets, sum, count */
    lines = NGX_HTTP_FOREST_N_COUNTERS;

    for (h = 0; h < NGX_HTTP_FOREST_N_HISTOGRAMS; h++) {
        lines += ngx_http_forest_histograms[h].n + 3;
    }

    /*
     * a model's line is at most a 42-byte name, 118 bytes of labels (model,
     * version, le) and a 20-digit value; a worker's line 75 bytes; the HELP
     * and TYPE lines fit the 4096
     */
    size = 4096 + fmcf->models.nelts * lines * 200 + n_workers * 2 * 80;

    buf = ngx_pnalloc(r->pool, size);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = buf;
    end = buf + size;

    for (c = 0; c < NGX_HTTP_FOREST_N_COUNTERS; c++) {
        ctr = &ngx_http_forest_counters[c];

        p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s counter\n",
                         ctr->name, ctr->help, ctr->name);

        for (i = 0; i < fmcf->models.nelts; i++) {
            m = models[i];
            if (m->stats == NULL) {
                continue;
            }

            v = ngx_http_forest_get(m->stats, ctr->field);
            if (ctr->plus) {
                v += ngx_http_forest_get(m->stats, ctr->plus);
            }

            p = ngx_slprintf(p, end, "%s{model=\"%V\",version=\"%V\"} %uA\n",
                             ctr->name, &m->name, &m->version, v);
        }
    }

    for (h = 0; h < NGX_HTTP_FOREST_N_HISTOGRAMS; h++) {
        p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s histogram\n",
                         ngx_http_forest_histograms[h].name,
                         ngx_http_forest_histograms[h].help,
                         ngx_http_forest_histograms[h].name);

        for (i = 0; i < fmcf->models.nelts; i++) {
            if (models[i]->stats != NULL) {
                p = ngx_http_forest_histogram(p, end,
                                              &ngx_http_forest_histograms[h],
                                              models[i]);
            }
        }
    }

    for (c = 0; c < NGX_HTTP_FOREST_N_WORKER_COUNTERS; c++) {
        ctr = &ngx_http_forest_worker_counters[c];

        p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s counter\n",
                         ctr->name, ctr->help, ctr->name);

        for (i = 0; i < n_workers; i++) {
            v = *(ngx_atomic_t *) ((u_char *) &sh->workers[i] + ctr->field);
            p = ngx_slprintf(p, end, "%s{worker=\"%ui\"} %uA\n",
                             ctr->name, i, v);
        }
    }

    if (p == end) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "forest: metrics truncated");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_forest_send(r, NGX_HTTP_OK,
                                "text/plain; version=0.0.4; charset=utf-8",
                                buf, p - buf);
}


/*
 * One model's lines of a histogram: cumulative buckets, the sum, and the
 * count as the +Inf bucket, so that a scrape racing an observation still
 * has _count equal to the +Inf bucket.
 */
static u_char *
ngx_http_forest_histogram(u_char *p, u_char *end,
    ngx_http_forest_histogram_t *h, ngx_http_forest_model_t *m)
{
    ngx_uint_t          b;
    ngx_atomic_t       *bucket;
    ngx_atomic_uint_t   cumulative, sum;

    bucket = (ngx_atomic_t *) ((u_char *) m->stats + h->buckets);
    cumulative = 0;

    for (b = 0; b <= h->n; b++) {
        cumulative += bucket[b];

        p = ngx_slprintf(p, end, "%s_bucket{model=\"%V\",version=\"%V\","
                         "le=\"", h->name, &m->name, &m->version);

        if (b < h->n) {
            p = ngx_http_forest_decimal(p, end, h->le[b], h->scale);

        } else {
            p = ngx_slprintf(p, end, "+Inf");
        }

        p = ngx_slprintf(p, end, "\"} %uA\n", cumulative);
    }

    sum = ngx_http_forest_get(m->stats, h->sum);
    if (h->sum_plus) {
        sum += ngx_http_forest_get(m->stats, h->sum_plus);
    }

    p = ngx_slprintf(p, end, "%s_sum{model=\"%V\",version=\"%V\"} ",
                     h->name, &m->name, &m->version);
    p = ngx_http_forest_decimal(p, end, sum, h->scale);

    return ngx_slprintf(p, end,
                        "\n%s_count{model=\"%V\",version=\"%V\"} %uA\n",
                        h->name, &m->name, &m->version, cumulative);
}


/* v / scale (a power of ten) in decimal, without trailing zeros */
static u_char *
ngx_http_forest_decimal(u_char *p, u_char *end, uint64_t v, uint64_t scale)
{
    uint64_t  frac;

    p = ngx_slprintf(p, end, "%uL", v / scale);
    frac = v % scale;

    if (frac == 0) {
        return p;
    }

    p = ngx_slprintf(p, end, ".");

    for (scale /= 10; frac != 0; scale /= 10) {
        p = ngx_slprintf(p, end, "%uL", frac / scale);
        frac %= scale;
    }

    return p;
}


/* Triton's statistics extension: {"model_stats": [...]} */
u_char *
ngx_http_forest_stats_json(ngx_pool_t *pool,
    ngx_http_forest_main_conf_t *fmcf, ngx_http_forest_model_t *only,
    size_t *len)
{
    u_char                    *buf, *p, *end, *name, *version;
    size_t                     size;
    ngx_uint_t                 i, first;
    ngx_atomic_uint_t          success, batched;
    ngx_http_forest_stats_t   *st;
    ngx_http_forest_model_t  **models, *m;

    models = fmcf->models.elts;
    size = 64 + fmcf->models.nelts
                * (1536 + NGX_HTTP_FOREST_JSON_LEN(
                              NGX_HTTP_FOREST_NAME_MAX
                              + NGX_HTTP_FOREST_VERSION_MAX));

    buf = ngx_pnalloc(pool, size);
    if (buf == NULL) {
        return NULL;
    }

    end = buf + size;
    p = ngx_slprintf(buf, end, "{\"model_stats\":[");
    first = 1;

    for (i = 0; i < fmcf->models.nelts; i++) {
        m = models[i];
        st = m->stats;

        if ((only != NULL && m != only) || st == NULL) {
            continue;
        }

        name = ngx_http_forest_json_string(pool, (char *) m->name.data);
        version = ngx_http_forest_json_string(pool, (char *) m->version.data);
        if (name == NULL || version == NULL) {
            return NULL;
        }

        success = st->success;
        batched = st->batched;

        p = ngx_slprintf(p, end,
                         "%s{\"name\":%s,\"version\":%s,"
                         "\"last_inference\":%uA,"
                         "\"inference_count\":%uA,\"execution_count\":%uA,"
                         "\"inference_stats\":{"
                         "\"success\":{\"count\":%uA,\"ns\":%uA},"
                         "\"fail\":{\"count\":%uA,\"ns\":%uA},"
                         "\"queue\":{\"count\":%uA,\"ns\":%uA},"
                         "\"compute_input\":{\"count\":%uA,\"ns\":0},"
                         "\"compute_infer\":{\"count\":%uA,\"ns\":%uA},"
                         "\"compute_output\":{\"count\":%uA,\"ns\":0},"
                         "\"cache_hit\":{\"count\":0,\"ns\":0},"
                         "\"cache_miss\":{\"count\":0,\"ns\":0}},"
                         "\"batch_stats\":[]}",
                         first ? "" : ",", name, version,
                         (ngx_atomic_uint_t) st->last_inference_ms,
                         (ngx_atomic_uint_t) st->inference_count,
                         (ngx_atomic_uint_t) st->exec_count,
                         success, (ngx_atomic_uint_t) st->success_us * 1000,
                         (ngx_atomic_uint_t) st->failure,
                         (ngx_atomic_uint_t) st->failure_us * 1000,
                         batched, (ngx_atomic_uint_t) st->queue_us * 1000,
                         batched, batched,
                         (ngx_atomic_uint_t) st->compute_us * 1000, batched);
        first = 0;
    }

    p = ngx_slprintf(p, end, "]}");

    if (p == end) {
        return NULL;
    }

    *len = p - buf;

    return buf;
}
