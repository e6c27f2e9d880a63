/*
 * Counters in shared memory (so they add up over workers and survive a
 * reload), served as Prometheus text by forest_metrics with Triton's metric
 * names, and as Triton's statistics extension JSON by .../stats.
 */
#include "ngx_http_forest_module.h"


#define NGX_HTTP_FOREST_ZONE_SIZE  (1024 * 1024)


typedef struct {
    ngx_queue_t   entries;                 /* ngx_http_forest_stats_t */
} ngx_http_forest_shctx_t;


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


static ngx_int_t ngx_http_forest_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_http_forest_stats_named(
    ngx_http_forest_main_conf_t *fmcf, ngx_http_forest_stats_t *st);
static ngx_uint_t ngx_http_forest_stats_of(ngx_http_forest_stats_t *st,
    ngx_http_forest_model_t *m);
static ngx_atomic_uint_t ngx_http_forest_get(ngx_http_forest_stats_t *st,
    size_t field);


static ngx_str_t  ngx_http_forest_zone_name =
    ngx_string("ngx_http_forest_metrics");


ngx_int_t
ngx_http_forest_metrics_zone(ngx_conf_t *cf,
    ngx_http_forest_main_conf_t *fmcf)
{
    fmcf->shm_zone = ngx_shared_memory_add(cf, &ngx_http_forest_zone_name,
                                           NGX_HTTP_FOREST_ZONE_SIZE,
                                           &ngx_http_forest_module);
    if (fmcf->shm_zone == NULL) {
        return NGX_ERROR;
    }

    fmcf->shm_zone->init = ngx_http_forest_init_zone;
    fmcf->shm_zone->data = fmcf;

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
    ngx_http_forest_main_conf_t *fmcf = shm_zone->data;
    ngx_http_forest_main_conf_t *old = data;

    ngx_uint_t                 i;
    ngx_queue_t               *q, *next;
    ngx_slab_pool_t           *shpool;
    ngx_http_forest_shctx_t   *sh;
    ngx_http_forest_stats_t   *st;
    ngx_http_forest_model_t  **models, *m;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (old != NULL || shm_zone->shm.exists) {
        sh = shpool->data;

    } else {
        sh = ngx_slab_alloc(shpool, sizeof(ngx_http_forest_shctx_t));
        if (sh == NULL) {
            return NGX_ERROR;
        }

        ngx_queue_init(&sh->entries);
        shpool->data = sh;
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
    ngx_http_forest_stats_t  *st;

    st = m->stats;
    if (st == NULL) {
        return;
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
    ngx_uint_t                 b;
    ngx_time_t                *tp;
    ngx_http_forest_stats_t   *st;

    st = m->stats;
    if (st == NULL) {
        return;
    }

    for (b = 0; b < NGX_HTTP_FOREST_BATCH_BUCKETS - 1; b++) {
        if (rows <= ((size_t) 1 << b)) {
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&st->batch_bucket[b], 1);
    (void) ngx_atomic_fetch_add(&st->exec_count, 1);
    (void) ngx_atomic_fetch_add(&st->inference_count, rows);
    (void) ngx_atomic_fetch_add(&st->exec_compute_us, compute_us);
    (void) ngx_atomic_fetch_add(&st->compute_us, compute_us * n_requests);
    (void) ngx_atomic_fetch_add(&st->queue_us, queue_us_total);
    (void) ngx_atomic_fetch_add(&st->batched, n_requests);

    tp = ngx_timeofday();
    st->last_inference_ms = (ngx_atomic_uint_t) tp->sec * 1000 + tp->msec;
}


static ngx_atomic_uint_t
ngx_http_forest_get(ngx_http_forest_stats_t *st, size_t field)
{
    return *(ngx_atomic_t *) ((u_char *) st + field);
}


ngx_int_t
ngx_http_forest_metrics_handler(ngx_http_request_t *r)
{
    u_char                       *buf, *p, *end;
    size_t                        size;
    ngx_uint_t                    i, c, b;
    ngx_atomic_uint_t             v, cumulative;
    ngx_http_forest_model_t     **models, *m;
    ngx_http_forest_counter_t    *ctr;
    ngx_http_forest_main_conf_t  *fmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_forest_not_allowed(r, "GET, HEAD");
    }

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);
    models = fmcf->models.elts;

    /* a label pair is at most ~110 bytes, a value 20 */
    size = 4096 + fmcf->models.nelts
                  * (NGX_HTTP_FOREST_N_COUNTERS
                     + NGX_HTTP_FOREST_BATCH_BUCKETS + 2) * 200;

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

    p = ngx_slprintf(p, end,
                     "# HELP ngx_forest_batch_size Rows per model execution\n"
                     "# TYPE ngx_forest_batch_size histogram\n");

    for (i = 0; i < fmcf->models.nelts; i++) {
        m = models[i];
        if (m->stats == NULL) {
            continue;
        }

        cumulative = 0;

        for (b = 0; b < NGX_HTTP_FOREST_BATCH_BUCKETS; b++) {
            cumulative += m->stats->batch_bucket[b];

            if (b < NGX_HTTP_FOREST_BATCH_BUCKETS - 1) {
                p = ngx_slprintf(p, end,
                                 "ngx_forest_batch_size_bucket{model=\"%V\","
                                 "version=\"%V\",le=\"%uz\"} %uA\n",
                                 &m->name, &m->version, (size_t) 1 << b,
                                 cumulative);
            } else {
                p = ngx_slprintf(p, end,
                                 "ngx_forest_batch_size_bucket{model=\"%V\","
                                 "version=\"%V\",le=\"+Inf\"} %uA\n",
                                 &m->name, &m->version, cumulative);
            }
        }

        p = ngx_slprintf(p, end,
                         "ngx_forest_batch_size_sum{model=\"%V\","
                         "version=\"%V\"} %uA\n"
                         "ngx_forest_batch_size_count{model=\"%V\","
                         "version=\"%V\"} %uA\n",
                         &m->name, &m->version,
                         (ngx_atomic_uint_t) m->stats->inference_count,
                         &m->name, &m->version, cumulative);
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
