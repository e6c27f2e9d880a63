/*
 * NGINX glue of the Lua hooks (the hooks themselves: lua/forest_lua.h).
 *
 *   forest_lua_pre FILE;             location, with forest_predict/kserve
 *   forest_lua_post FILE;
 *   forest_lua_memory SIZE;          http: per worker state (64m)
 *   forest_lua_budget N;             http: VM instructions per call (10M)
 *   forest_lua_package_path PATH;    http: package.path for require
 *
 * Every hook file is loaded once when the configuration is read, in a
 * throwaway state, so that `nginx -t` fails on a script that does not load
 * or does not return a function; each worker then loads the files again
 * into its own state.  On a request, the body is kept as it arrives; once
 * read, the req table is built and pre(req) makes the rows (the codec does
 * when there is no pre hook); after the batch has run, post(req, out) makes
 * the response.  Both run on the event loop.
 */
#include "ngx_http_forest_module.h"
#include "forest_codec_internal.h"


static forest_lua *ngx_http_forest_lua_state(ngx_http_forest_lua_main_t *lm,
    char *err, size_t errlen);
static void ngx_http_forest_lua_model(ngx_http_forest_model_t *m,
    forest_lua_model *fm);
static ngx_int_t ngx_http_forest_lua_headers(ngx_http_request_t *r,
    forest_lua_request *rq);
static void ngx_http_forest_lua_fail(ngx_http_forest_ctx_t *ctx,
    int status, const char *msg);
static void ngx_http_forest_lua_cleanup(void *data);


/* ---- configuration ------------------------------------------------------ */

char *
ngx_http_forest_lua_hook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t                     *value, path;
    ngx_uint_t                     i;
    ngx_http_forest_lua_hook_t    *hook, **slot, **hooks, **added;
    ngx_http_forest_loc_conf_t    *flcf = conf;
    ngx_http_forest_main_conf_t   *fmcf;

    slot = (ngx_http_forest_lua_hook_t **) ((char *) conf + cmd->offset);

    if (*slot != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_forest_module);

    if (fmcf->lua.hooks.elts == NULL
        && ngx_array_init(&fmcf->lua.hooks, cf->pool, 4,
                          sizeof(ngx_http_forest_lua_hook_t *))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    hooks = fmcf->lua.hooks.elts;
    hook = NULL;

    for (i = 0; i < fmcf->lua.hooks.nelts; i++) {
        if (hooks[i]->path.len == path.len
            && ngx_strncmp(hooks[i]->path.data, path.data, path.len) == 0)
        {
            hook = hooks[i];
            break;
        }
    }

    if (hook == NULL) {
        hook = ngx_pcalloc(cf->pool, sizeof(ngx_http_forest_lua_hook_t));
        added = ngx_array_push(&fmcf->lua.hooks);
        if (hook == NULL || added == NULL) {
            return NGX_CONF_ERROR;
        }

        hook->path = path;
        hook->conf_file = cf->conf_file->file.name.data;
        hook->conf_line = cf->conf_file->line;
        hook->ref = -1;
        *added = hook;
    }

    *slot = hook;
    flcf->lua.conf_file = cf->conf_file->file.name.data;
    flcf->lua.conf_line = cf->conf_file->line;

    return NGX_CONF_OK;
}


char *
ngx_http_forest_lua_merge(ngx_conf_t *cf, ngx_http_forest_loc_conf_t *prev,
    ngx_http_forest_loc_conf_t *conf)
{
    if (conf->lua.conf_file != NULL
        && conf->api != NGX_HTTP_FOREST_API_PREDICT
        && conf->api != NGX_HTTP_FOREST_API_KSERVE)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "forest_lua_pre and forest_lua_post need "
                      "forest_predict or forest_kserve in the same location "
                      "in %s:%ui", conf->lua.conf_file, conf->lua.conf_line);
        return NGX_CONF_ERROR;
    }

    if (conf->lua.pre == NULL) {
        conf->lua.pre = prev->lua.pre;
    }

    if (conf->lua.post == NULL) {
        conf->lua.post = prev->lua.post;
    }

    return NGX_CONF_OK;
}


static forest_lua *
ngx_http_forest_lua_state(ngx_http_forest_lua_main_t *lm, char *err,
    size_t errlen)
{
    forest_lua_conf  conf;

    conf.memory_limit = lm->memory;
    conf.budget = (uint32_t) lm->budget;
    conf.package_path = lm->package_path.len
                        ? (const char *) lm->package_path.data : NULL;

    return forest_lua_create(&conf, err, errlen);
}


/* Loads every hook once, so that `nginx -t` fails on a bad script. */
ngx_int_t
ngx_http_forest_lua_check(ngx_conf_t *cf, ngx_http_forest_main_conf_t *fmcf)
{
    char                         err[FOREST_ERR_LEN];
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    forest_lua                  *fl;
    ngx_http_forest_lua_hook_t **hooks;

    if (fmcf->lua.hooks.nelts == 0) {
        return NGX_OK;
    }

    fl = ngx_http_forest_lua_state(&fmcf->lua, err, sizeof(err));
    if (fl == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "forest lua: %s", err);
        return NGX_ERROR;
    }

    hooks = fmcf->lua.hooks.elts;
    rc = NGX_OK;

    for (i = 0; i < fmcf->lua.hooks.nelts; i++) {
        if (forest_lua_load(fl, (char *) hooks[i]->path.data, err,
                            sizeof(err))
            < 0)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "forest lua hook \"%V\" (named in %s:%ui) does not "
                          "load: %s", &hooks[i]->path, hooks[i]->conf_file,
                          hooks[i]->conf_line, err);
            rc = NGX_ERROR;
            break;
        }
    }

    forest_lua_destroy(fl);
    return rc;
}


ngx_int_t
ngx_http_forest_lua_init_worker(ngx_cycle_t *cycle,
    ngx_http_forest_main_conf_t *fmcf)
{
    char                         err[FOREST_ERR_LEN];
    ngx_uint_t                   i;
    ngx_http_forest_lua_hook_t **hooks;

    if (fmcf->lua.hooks.nelts == 0) {
        return NGX_OK;
    }

    fmcf->lua.state = ngx_http_forest_lua_state(&fmcf->lua, err,
                                                sizeof(err));
    if (fmcf->lua.state == NULL) {
        /* locations with hooks answer 500 in this worker */
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0, "forest lua: %s", err);
        return NGX_OK;
    }

    hooks = fmcf->lua.hooks.elts;

    for (i = 0; i < fmcf->lua.hooks.nelts; i++) {
        hooks[i]->ref = forest_lua_load(fmcf->lua.state,
                                        (char *) hooks[i]->path.data, err,
                                        sizeof(err));
        if (hooks[i]->ref < 0) {
            ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                          "forest lua hook \"%V\" does not load in this "
                          "worker: %s", &hooks[i]->path, err);
        }
    }

    return NGX_OK;
}


void
ngx_http_forest_lua_exit_worker(ngx_http_forest_main_conf_t *fmcf)
{
    forest_lua_destroy(fmcf->lua.state);
    fmcf->lua.state = NULL;
}


/* ---- requests ------------------------------------------------------------ */

/* NGX_DECLINED: no hooks here; NGX_OK: ctx->lua is set. */
ngx_int_t
ngx_http_forest_lua_begin(ngx_http_forest_ctx_t *ctx, size_t json_len)
{
    ngx_http_request_t           *r = ctx->request;
    ngx_pool_cleanup_t           *cln;
    ngx_http_forest_lua_ctx_t    *lctx;
    ngx_http_forest_loc_conf_t   *flcf;
    ngx_http_forest_main_conf_t  *fmcf;

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    if (flcf->lua.pre == NULL && flcf->lua.post == NULL) {
        return NGX_DECLINED;
    }

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);

    lctx = ngx_pcalloc(r->pool, sizeof(ngx_http_forest_lua_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (lctx == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    lctx->pre = flcf->lua.pre;
    lctx->post = flcf->lua.post;
    lctx->state = fmcf->lua.state;
    lctx->json_len = json_len;

    cln->handler = ngx_http_forest_lua_cleanup;
    cln->data = lctx;

    ctx->lua = lctx;
    return NGX_OK;
}


/* Keeps a piece of the body (the size was checked against the limit). */
ngx_int_t
ngx_http_forest_lua_body(ngx_http_forest_ctx_t *ctx, u_char *data,
    size_t len)
{
    u_char                     *p;
    size_t                      cap;
    ngx_http_request_t         *r = ctx->request;
    ngx_http_forest_lua_ctx_t  *lctx = ctx->lua;

    if (lctx->len + len > lctx->cap) {
        cap = ngx_max(lctx->cap * 2, lctx->len + len);
        if (r->headers_in.content_length_n > 0) {
            cap = ngx_max(cap, (size_t) r->headers_in.content_length_n);
        }

        p = ngx_pnalloc(r->pool, cap);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (lctx->len) {
            ngx_memcpy(p, lctx->body, lctx->len);
        }

        lctx->body = p;
        lctx->cap = cap;
    }

    ngx_memcpy(lctx->body + lctx->len, data, len);
    lctx->len += len;

    return NGX_OK;
}


/*
 * The body has been read (and decoded by the codec when there is no pre
 * hook): builds the req table and runs pre.  A failure is left in ctx->req
 * (status and message), as the codec leaves its own.
 */
void
ngx_http_forest_lua_request(ngx_http_forest_ctx_t *ctx)
{
    int                          rc;
    char                         err[FOREST_ERR_LEN];
    float                       *rows, *margins;
    size_t                       n_rows;
    forest_lua_alloc             alloc;
    forest_lua_model             fm;
    fcodec_parser               *p;
    forest_lua_request           rq;
    ngx_http_request_t          *r = ctx->request;
    ngx_http_forest_lua_ctx_t   *lctx = ctx->lua;
    ngx_http_forest_loc_conf_t  *flcf;

    if (lctx->state == NULL
        || (lctx->pre != NULL && lctx->pre->ref < 0)
        || (lctx->post != NULL && lctx->post->ref < 0))
    {
        ngx_http_forest_lua_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "the lua hooks of this location did not "
                                 "load in this worker (see its start in the "
                                 "error log)");
        return;
    }

    if (lctx->pre != NULL && lctx->json_len != (size_t) -1) {
        ngx_http_forest_lua_fail(ctx, NGX_HTTP_BAD_REQUEST,
                                 "binary tensor data cannot go through a "
                                 "lua pre hook: send JSON");
        return;
    }

    ngx_memzero(&rq, sizeof(forest_lua_request));

    ngx_http_forest_lua_model(ctx->model, &fm);
    fm.n_margins = ctx->fm.n_margins;

    rq.method.data = (const char *) r->method_name.data;
    rq.method.len = r->method_name.len;
    rq.args.data = (const char *) r->args.data;
    rq.args.len = r->args.len;
    rq.body = lctx->body;
    rq.body_len = ngx_min(lctx->len, lctx->json_len);
    rq.model = &fm;

    if (ngx_http_forest_lua_headers(r, &rq) != NGX_OK) {
        ngx_http_forest_lua_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                 "out of memory for the req table");
        return;
    }

    rc = forest_lua_request_new(lctx->state, &rq, &lctx->req, err,
                                sizeof(err));
    if (rc != 0) {
        ngx_http_forest_lua_fail(ctx, rc, err);
        return;
    }

    if (lctx->pre == NULL) {
        return;
    }

    if (ctx->api == FCODEC_KSERVE) {
        /*
         * the request's id, parameters and outputs, as without a hook; a bad
         * one is rejected before the hook runs
         */
        p = fcodec_parser_create(FCODEC_KSERVE_ENVELOPE, &ctx->fm,
                                 (size_t) -1, &ctx->alloc);
        if (p == NULL) {
            ngx_http_forest_lua_fail(ctx, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "out of memory for the KServe request");
            return;
        }

        (void) fcodec_parser_feed(p, lctx->body, lctx->len);
        fcodec_parser_finish(p, &ctx->req);

        if (ctx->req.status != 0) {
            return;
        }
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    alloc.alloc = ngx_http_forest_palloc;
    alloc.ctx = r->pool;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "forest lua pre \"%V\"", &lctx->pre->path);

    rc = forest_lua_pre(lctx->state, lctx->pre->ref, lctx->req, &fm,
                        flcf->max_rows, &alloc, &rows, &n_rows, &margins,
                        err, sizeof(err));
    if (rc != 0) {
        ngx_http_forest_lua_fail(ctx, rc, err);
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "forest lua pre: %uz rows", n_rows);

    ctx->req.rows = rows;
    ctx->req.n_rows = n_rows;
    ctx->req.base_margin = margins;
}


/*
 * Answers a request that ran, through post.  NGX_DECLINED when the
 * location has no post hook (the codec encodes the answer).
 */
ngx_int_t
ngx_http_forest_lua_respond(ngx_http_forest_ctx_t *ctx, const float *out)
{
    int                         rc;
    char                        err[FOREST_ERR_LEN];
    float                      *served;
    size_t                      i, len;
    uint8_t                    *body;
    uint32_t                    cols;
    fcodec_shape                shape;
    forest_lua_alloc            alloc;
    ngx_http_request_t         *r = ctx->request;
    ngx_http_forest_model_t    *m = ctx->model;
    ngx_http_forest_lua_ctx_t  *lctx = ctx->lua;

    if (lctx == NULL || lctx->post == NULL) {
        return NGX_DECLINED;
    }

    ngx_http_forest_request_shape(ctx, &shape);
    cols = fcodec_output_columns(&shape);

    served = ngx_palloc(r->pool, ctx->req.n_rows * cols * sizeof(float) + 1);
    if (served == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < ctx->req.n_rows; i++) {
        fcodec_shape_row(&shape, out + i * shape.forest_columns,
                         served + i * cols);
    }

    alloc.alloc = ngx_http_forest_palloc;
    alloc.ctx = r->pool;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "forest lua post \"%V\": %uz rows of %uD columns",
                   &lctx->post->path, ctx->req.n_rows, cols);

    rc = forest_lua_post(lctx->state, lctx->post->ref, lctx->req, served,
                         ctx->req.n_rows, cols, &alloc, &body, &len, err,
                         sizeof(err));
    if (rc != 0) {
        return ngx_http_forest_send_error(r, m, rc,
                                          rc >= 500 ? NGX_LOG_ERR
                                                    : NGX_LOG_INFO,
                                          "%s", err);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "forest lua post: %uz bytes", len);

    return ngx_http_forest_send_result(ctx, "application/json", body, len);
}


static void
ngx_http_forest_lua_fail(ngx_http_forest_ctx_t *ctx, int status,
    const char *msg)
{
    ctx->req.status = status;
    ngx_cpystrn((u_char *) ctx->req.error, (u_char *) msg,
                sizeof(ctx->req.error));
}


static void
ngx_http_forest_lua_model(ngx_http_forest_model_t *m, forest_lua_model *fm)
{
    fm->key = m;
    fm->name = (const char *) m->name.data;
    fm->version = (const char *) m->version.data;
    fm->n_features = m->forest->n_features;
    fm->feature_names = m->forest->feature_names;
    fm->n_classes = m->forest->n_classes;
}


static ngx_int_t
ngx_http_forest_lua_headers(ngx_http_request_t *r, forest_lua_request *rq)
{
    ngx_uint_t        i, n;
    forest_lua_str   *h;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *elts;

    n = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }

    h = ngx_palloc(r->pool, 2 * n * sizeof(forest_lua_str) + 1);
    if (h == NULL) {
        return NGX_ERROR;
    }

    rq->headers = h;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        elts = part->elts;

        for (i = 0; i < part->nelts; i++) {
            h[0].data = (const char *) elts[i].lowcase_key;
            h[0].len = elts[i].key.len;
            h[1].data = (const char *) elts[i].value.data;
            h[1].len = elts[i].value.len;
            h += 2;
        }
    }

    rq->n_headers = n;
    return NGX_OK;
}


static void
ngx_http_forest_lua_cleanup(void *data)
{
    ngx_http_forest_lua_ctx_t *lctx = data;

    if (lctx->req != 0 && lctx->state != NULL) {
        forest_lua_request_free(lctx->state, lctx->req);
        lctx->req = 0;
    }
}

