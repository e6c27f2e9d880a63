/*
 * Inference requests: stream the body into the codec as it arrives, hand the
 * decoded rows to the batcher, and answer (results or a KServe
 * {"error": ...}).
 */
#include "ngx_http_forest_module.h"
#include "treeshap_interactions.h"


#define NGX_HTTP_FOREST_FILE_CHUNK  65536


static void ngx_http_forest_body_handler(ngx_http_request_t *r);
static void ngx_http_forest_body_read(ngx_http_request_t *r);
static ngx_int_t ngx_http_forest_consume(ngx_http_request_t *r,
    ngx_http_forest_ctx_t *ctx);
static ngx_int_t ngx_http_forest_feed(ngx_http_forest_ctx_t *ctx,
    u_char *data, size_t size);
static ngx_int_t ngx_http_forest_feed_file(ngx_http_request_t *r,
    ngx_http_forest_ctx_t *ctx, ngx_buf_t *b);
static ngx_int_t ngx_http_forest_body_error(ngx_http_request_t *r,
    ngx_http_forest_ctx_t *ctx, ngx_int_t rc);
static ngx_int_t ngx_http_forest_json_len(ngx_http_request_t *r,
    size_t *len);
static ngx_int_t ngx_http_forest_respond(ngx_http_forest_ctx_t *ctx,
    const float *out, ngx_uint_t status, const char *error);
static int ngx_http_forest_want_margin(ngx_http_request_t *r);
static void ngx_http_forest_ctx_cleanup(void *data);
static fcodec_cat_lookup ngx_http_forest_category(const void *model,
    uint32_t f, const char *s, size_t len, float *code);


static ngx_str_t  ngx_http_forest_json_len_header =
    ngx_string("Inference-Header-Content-Length");


ngx_int_t
ngx_http_forest_predict_handler(ngx_http_request_t *r)
{
    u_char                       *p;
    ngx_str_t                     name;
    ngx_http_forest_model_t      *m;
    ngx_http_forest_loc_conf_t   *flcf;
    ngx_http_forest_main_conf_t  *fmcf;

    if (!(r->method & NGX_HTTP_POST)) {
        return ngx_http_forest_not_allowed(r, "POST");
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);
    m = flcf->model;

    if (m == NULL) {
        /* /predict/<model>: the last segment of the URI names the model */
        p = r->uri.data + r->uri.len;
        while (p > r->uri.data && p[-1] != '/') {
            p--;
        }

        name.data = p;
        name.len = r->uri.data + r->uri.len - p;

        fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);
        m = ngx_http_forest_model_find(fmcf, &name, NULL);

        if (m == NULL) {
            return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_FOUND,
                                              NGX_LOG_INFO,
                                              "unknown model \"%V\"", &name);
        }
    }

    return ngx_http_forest_infer(r, m, FCODEC_SIMPLE);
}


ngx_int_t
ngx_http_forest_infer(ngx_http_request_t *r, ngx_http_forest_model_t *m,
    fcodec_api api)
{
    size_t                       json_len;
    ngx_int_t                    rc;
    ngx_pool_cleanup_t          *cln;
    ngx_http_forest_ctx_t       *ctx;
    ngx_http_forest_loc_conf_t  *flcf;

    if (m->executor == NULL) {
        return ngx_http_forest_not_ready(r, m, 1);
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_forest_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ctx->model = m;
    ctx->api = api;
    ctx->margin = ngx_http_forest_want_margin(r);
    ctx->start_us = ngx_http_forest_now_us();

    ngx_http_set_ctx(r, ctx, ngx_http_forest_module);

    if (flcf->max_body && r->headers_in.content_length_n > flcf->max_body) {
        ngx_http_forest_leave_body(r);

        return ngx_http_forest_send_error(r, m,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          NGX_LOG_INFO,
                                          "request body of %O bytes is "
                                          "larger than client_max_body_size "
                                          "(%O)",
                                          r->headers_in.content_length_n,
                                          flcf->max_body);
    }

    json_len = (size_t) -1;

    if (api == FCODEC_KSERVE
        && ngx_http_forest_json_len(r, &json_len) != NGX_OK)
    {
        return ngx_http_forest_send_error(r, m, NGX_HTTP_BAD_REQUEST,
                                          NGX_LOG_INFO, "invalid %V header",
                                          &ngx_http_forest_json_len_header);
    }

    if (json_len != (size_t) -1 && r->headers_in.content_length_n >= 0
        && (off_t) json_len > r->headers_in.content_length_n)
    {
        return ngx_http_forest_send_error(r, m, NGX_HTTP_BAD_REQUEST,
                                          NGX_LOG_INFO,
                                          "%V is %uz, past the end of the "
                                          "%O-byte body",
                                          &ngx_http_forest_json_len_header,
                                          json_len,
                                          r->headers_in.content_length_n);
    }

    ctx->alloc.alloc = ngx_http_forest_palloc;
    ctx->alloc.ctx = r->pool;

    ngx_http_forest_codec_model(ctx, m, flcf);

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_forest_lua_begin(ctx, json_len) == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a lua pre hook makes the rows from the body instead of the codec */
    if (ctx->lua == NULL || ctx->lua->pre == NULL) {
        ctx->parser = fcodec_parser_create(api, &ctx->fm, json_len,
                                           &ctx->alloc);
        if (ctx->parser == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    cln->handler = ngx_http_forest_ctx_cleanup;
    cln->data = ctx;

    /* the body goes to the parser as it arrives, never to a temp file */
    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_forest_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return ngx_http_forest_body_error(r, ctx, rc);
    }

    return NGX_DONE;
}


static void
ngx_http_forest_body_handler(ngx_http_request_t *r)
{
    if (r->reading_body) {
        r->read_event_handler = ngx_http_forest_body_read;
    }

    ngx_http_forest_body_read(r);
}


/* Feeds what has arrived to the parser; decodes once the body is read. */
static void
ngx_http_forest_body_read(ngx_http_request_t *r)
{
    ngx_int_t                    rc;
    ngx_uint_t                   status;
    ngx_http_forest_ctx_t       *ctx;
    ngx_http_request_body_t     *rb;

    ctx = ngx_http_get_module_ctx(r, ngx_http_forest_module);
    rb = r->request_body;

    for ( ;; ) {
        rc = ngx_http_forest_consume(r, ctx);

        if (rc != NGX_OK) {
            ngx_http_finalize_request(r, ngx_http_forest_body_error(r, ctx,
                                                                    rc));
            return;
        }

        if (ctx->req.status != 0 || !r->reading_body) {
            break;
        }

        rc = ngx_http_read_unbuffered_request_body(r);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            ngx_http_finalize_request(r, ngx_http_forest_body_error(r, ctx,
                                                                    rc));
            return;
        }

        if (rc == NGX_AGAIN && rb->bufs == NULL) {
            return;
        }
    }

    r->read_event_handler = ngx_http_block_reading;

    if (ctx->req.status == 0 && ctx->parser != NULL) {
        fcodec_parser_finish(ctx->parser, &ctx->req);
    }

    ctx->parser = NULL;

    if (ctx->req.status == 0 && ctx->lua != NULL) {
        ngx_http_forest_lua_request(ctx);
    }

    if (ctx->req.status != 0) {
        status = ctx->req.status;

        if (r->reading_body) {
            ngx_http_forest_leave_body(r);
        }

        rc = ngx_http_forest_send_error(r, ctx->model, status,
                                        status >= 500 ? NGX_LOG_ERR
                                                      : NGX_LOG_INFO,
                                        "%s", ctx->req.error);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (ctx->req.n_rows == 0) {
        ngx_http_finalize_request(r,
                                  ngx_http_forest_respond(ctx, NULL, 0, NULL));
        return;
    }

    ngx_http_forest_request_margin(ctx);

    if (ngx_http_forest_batch_submit(ctx) != NGX_OK) {
        rc = ngx_http_forest_send_error(r, ctx->model,
                                        NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        NGX_LOG_ERR,
                                        "model \"%V\": out of memory for "
                                        "the batch", &ctx->model->name);
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* ngx_http_forest_complete() answers once the batch has run */
}


/*
 * Feeds and releases the buffers read so far.  NGX_OK (a codec error found
 * is in ctx->req after fcodec_parser_finish()), or an HTTP status.
 */
static ngx_int_t
ngx_http_forest_consume(ngx_http_request_t *r, ngx_http_forest_ctx_t *ctx)
{
    off_t                        size;
    ngx_int_t                    rc;
    ngx_buf_t                   *b;
    ngx_chain_t                 *cl;
    ngx_http_request_body_t     *rb;
    ngx_http_forest_loc_conf_t  *flcf;

    rb = r->request_body;

    if (rb == NULL) {
        return NGX_OK;
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    for (cl = rb->bufs; cl; cl = cl->next) {
        b = cl->buf;

        size = ngx_buf_size(b);
        ctx->body_bytes += size;

        if (flcf->max_body && ctx->body_bytes > flcf->max_body) {
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        if (size == 0 || ctx->req.status != 0) {
            /* nothing to parse, or the parser has already given up */

        } else if (ngx_buf_in_memory(b)) {
            rc = ngx_http_forest_feed(ctx, b->pos, (size_t) size);
            if (rc != NGX_OK) {
                return rc;
            }

        } else {
            /* a body the core had already buffered (e.g. HTTP/2) */
            rc = ngx_http_forest_feed_file(r, ctx, b);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        if (ngx_buf_in_memory(b)) {
            b->pos = b->last;
        }
    }

    rb->bufs = NULL;

    return NGX_OK;
}


/* One piece of the body: kept for the lua hooks, parsed by the codec. */
static ngx_int_t
ngx_http_forest_feed(ngx_http_forest_ctx_t *ctx, u_char *data, size_t size)
{
    if (ctx->lua != NULL
        && ngx_http_forest_lua_body(ctx, data, size) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->parser != NULL
        && fcodec_parser_feed(ctx->parser, data, size) != 0)
    {
        /* the parser knows the error; fetch it now */
        fcodec_parser_finish(ctx->parser, &ctx->req);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_forest_feed_file(ngx_http_request_t *r, ngx_http_forest_ctx_t *ctx,
    ngx_buf_t *b)
{
    off_t     pos;
    size_t    size;
    ssize_t   n;
    u_char   *chunk;

    chunk = ngx_palloc(r->pool, NGX_HTTP_FOREST_FILE_CHUNK);
    if (chunk == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (pos = b->file_pos; pos < b->file_last; pos += n) {
        size = (size_t) ngx_min(b->file_last - pos,
                                NGX_HTTP_FOREST_FILE_CHUNK);

        n = ngx_read_file(b->file, chunk, size, pos);

        if (n == NGX_ERROR) {
            /* ngx_read_file() has logged why */
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if ((size_t) n != size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_read_file_n " read only %z of %uz from \"%V\"",
                          n, size, &b->file->name);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_forest_feed(ctx, chunk, size) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ctx->req.status != 0) {
            break;
        }
    }

    ngx_pfree(r->pool, chunk);

    return NGX_OK;
}


/* The body could not be read (to its end). */
static ngx_int_t
ngx_http_forest_body_error(ngx_http_request_t *r, ngx_http_forest_ctx_t *ctx,
    ngx_int_t rc)
{
    ngx_http_forest_loc_conf_t  *flcf;

    if (ctx->parser != NULL) {
        fcodec_parser_abort(ctx->parser);
        ctx->parser = NULL;
    }

    r->read_event_handler = ngx_http_block_reading;

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        ngx_http_forest_leave_body(r);

        flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

        return ngx_http_forest_send_error(r, ctx->model, rc, NGX_LOG_INFO,
                                          "request body is larger than "
                                          "client_max_body_size (%O)",
                                          flcf->max_body);
    }

    if (rc == NGX_HTTP_BAD_REQUEST && !r->connection->error) {
        /* broken framing (logged by the core); a client gone sets error */
        ngx_http_forest_leave_body(r);

        return ngx_http_forest_send_error(r, ctx->model, rc, NGX_LOG_INFO,
                                          "%s",
                                          r->headers_in.chunked
                                          ? "the request body is not valid "
                                            "chunked encoding"
                                          : "the request body could not be "
                                            "read");
    }

    /* timeouts, a client gone, ...: the core's own status and logging */
    ngx_http_forest_stats_request(ctx->model, 0,
                                  ngx_http_forest_now_us() - ctx->start_us);
    return rc;
}


/* Triton's binary tensor extension: bytes of JSON before the tensors */
static ngx_int_t
ngx_http_forest_json_len(ngx_http_request_t *r, size_t *len)
{
    off_t             n;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_OK;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != ngx_http_forest_json_len_header.len
            || ngx_strncasecmp(h[i].key.data,
                               ngx_http_forest_json_len_header.data,
                               h[i].key.len) != 0)
        {
            continue;
        }

        n = ngx_atoof(h[i].value.data, h[i].value.len);
        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        *len = (size_t) n;
        return NGX_OK;
    }
}


/* ?margin=1 (or true, on) asks for the raw margins */
static int
ngx_http_forest_want_margin(ngx_http_request_t *r)
{
    ngx_str_t  v;

    if (ngx_http_arg(r, (u_char *) "margin", 6, &v) != NGX_OK) {
        return 0;
    }

    return (v.len == 1 && v.data[0] == '1')
           || (v.len == 4 && ngx_strncasecmp(v.data, (u_char *) "true", 4) == 0)
           || (v.len == 2 && ngx_strncasecmp(v.data, (u_char *) "on", 2) == 0);
}


void
ngx_http_forest_complete(ngx_http_forest_ctx_t *ctx, const float *out,
    ngx_uint_t status, const char *error)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ngx_http_finalize_request(r,
                              ngx_http_forest_respond(ctx, out, status, error));
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_forest_respond(ngx_http_forest_ctx_t *ctx, const float *out,
    ngx_uint_t status, const char *error)
{
    u_char                   *p;
    ngx_int_t                 rc;
    fcodec_shape              shape;
    fcodec_response           resp;
    ngx_table_elt_t          *h;
    ngx_http_request_t       *r;
    ngx_http_forest_model_t  *m;

    r = ctx->request;
    m = ctx->model;

    if (error != NULL) {
        return ngx_http_forest_send_error(r, m, status,
                                          status >= 500 ? NGX_LOG_ERR
                                                        : NGX_LOG_INFO,
                                          "model \"%V\": %s", &m->name,
                                          error);
    }

    if (ctx->api == FCODEC_GRPC) {
        return ngx_http_forest_grpc_result(ctx, out);
    }

    rc = ngx_http_forest_lua_respond(ctx, out);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    ngx_http_forest_request_shape(ctx, &shape);

    if (fcodec_encode(ctx->api, &ctx->req, &shape,
                      (const char *) m->name.data,
                      (const char *) m->version.data, out, &ctx->alloc,
                      &resp)
        != 0)
    {
        return ngx_http_forest_send_error(r, m,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          NGX_LOG_ERR,
                                          "model \"%V\": out of memory for "
                                          "the response", &m->name);
    }

    if (resp.json_len != (size_t) -1) {
        h = ngx_list_push(&r->headers_out.headers);
        p = ngx_pnalloc(r->pool, NGX_SIZE_T_LEN);
        if (h == NULL || p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        h->key = ngx_http_forest_json_len_header;
        h->value.data = p;
        h->value.len = ngx_sprintf(p, "%uz", resp.json_len) - p;
    }

    return ngx_http_forest_send_result(ctx, resp.content_type, resp.body,
                                       resp.len);
}


/* the request's own output_margin (KServe or gRPC) outranks ?margin= */
void
ngx_http_forest_request_margin(ngx_http_forest_ctx_t *ctx)
{
    if (ctx->req.opt_margin != FCODEC_OPT_UNSET) {
        ctx->margin = ctx->req.opt_margin == FCODEC_OPT_ON;
    }
}


/* the served shape: the model's, with the request's own predict_proba */
void
ngx_http_forest_request_shape(ngx_http_forest_ctx_t *ctx,
    fcodec_shape *shape)
{
    ngx_http_forest_model_t  *m;

    m = ctx->model;

    ngx_http_forest_model_shape(m, ctx->margin, shape);

    if (ctx->req.opt_predict_proba != FCODEC_OPT_UNSET && m->is_classifier) {
        shape->is_classifier = 1;
        shape->predict_proba = ctx->req.opt_predict_proba == FCODEC_OPT_ON;
    }
}


static void
ngx_http_forest_ctx_cleanup(void *data)
{
    ngx_http_forest_ctx_t *ctx = data;

    /* the request is going away mid-body or mid-batch */

    if (ctx->parser != NULL) {
        fcodec_parser_abort(ctx->parser);
        ctx->parser = NULL;
    }

    ngx_http_forest_batch_detach(ctx);
}


/* What the codec needs to know of model m (HTTP and gRPC alike). */
void
ngx_http_forest_codec_model(ngx_http_forest_ctx_t *ctx,
    ngx_http_forest_model_t *m, ngx_http_forest_loc_conf_t *flcf)
{
    ctx->fm.name = (const char *) m->name.data;
    ctx->fm.n_features = m->forest->n_features;
    ctx->fm.feature_names = m->forest->feature_names;
    ctx->fm.max_rows = flcf->max_rows;
    ctx->fm.contributions = m->shap != NULL;
    ctx->fm.interactions_row = m->shap != NULL
                               ? forest_shap_interactions_row_values(m->forest)
                               : 0;

    if (m->forest->n_outputs <= FOREST_REBASE_MAX_OUTPUTS) {
        ctx->fm.n_margins = m->forest->n_outputs;
    }

    if (forest_has_categories(m->forest)) {
        ctx->fm.category = ngx_http_forest_category;
        ctx->fm.category_ctx = m->forest;
    }
}


/* The codec's category lookup (fcodec_model.category): forest's answer
 * with the library's policy for names it never saw. */
static fcodec_cat_lookup
ngx_http_forest_category(const void *model, uint32_t f, const char *s,
    size_t len, float *code)
{
    const forest_model  *m = model;

    switch (forest_category_code(m, f, s, len, code)) {

    case FOREST_CAT_FOUND:
        return FCODEC_CAT_FOUND;

    case FOREST_CAT_UNSEEN:
        return forest_category_unseen(m) == FOREST_UNSEEN_MISSING
               ? FCODEC_CAT_FOUND : FCODEC_CAT_REFUSED;

    default:
        return FCODEC_CAT_NO_LIST;
    }
}
