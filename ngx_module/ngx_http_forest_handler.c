/*
 * Inference requests: read the body, decode it with the codec, hand the rows
 * to the batcher, and answer (results or a KServe {"error": ...}).
 */
#include "ngx_http_forest_module.h"

#include <time.h>


#define NGX_HTTP_FOREST_FILE_CHUNK  65536


static void ngx_http_forest_body_handler(ngx_http_request_t *r);
static void ngx_http_forest_decode(ngx_http_request_t *r,
    ngx_http_forest_ctx_t *ctx);
static ngx_int_t ngx_http_forest_feed_file(ngx_http_request_t *r,
    fcodec_parser *p, ngx_buf_t *b, u_char **chunk);
static ngx_int_t ngx_http_forest_json_len(ngx_http_request_t *r,
    size_t *len);
static ngx_int_t ngx_http_forest_respond(ngx_http_forest_ctx_t *ctx,
    const float *out, ngx_uint_t status, const char *error);
static int ngx_http_forest_want_margin(ngx_http_request_t *r);
static void ngx_http_forest_ctx_cleanup(void *data);
static void *ngx_http_forest_palloc(void *pool, size_t size);


static ngx_str_t  ngx_http_forest_json_len_header =
    ngx_string("Inference-Header-Content-Length");


uint64_t
ngx_http_forest_now_us(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


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
    ngx_int_t                    rc;
    ngx_pool_cleanup_t          *cln;
    ngx_http_forest_ctx_t       *ctx;
    ngx_http_forest_loc_conf_t  *flcf;

    if (m->executor == NULL) {
        return ngx_http_forest_send_error(r, m,
                                          NGX_HTTP_SERVICE_UNAVAILABLE,
                                          NGX_LOG_ERR,
                                          "model \"%V\" version %V is not "
                                          "ready", &m->name, &m->version);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_forest_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    ctx->request = r;
    ctx->model = m;
    ctx->api = api;
    ctx->margin = ngx_http_forest_want_margin(r);
    ctx->start_us = ngx_http_forest_now_us();

    ctx->alloc.alloc = ngx_http_forest_palloc;
    ctx->alloc.ctx = r->pool;

    ctx->fm.name = (const char *) m->name.data;
    ctx->fm.n_features = m->forest->n_features;
    ctx->fm.feature_names = m->forest->feature_names;
    ctx->fm.max_rows = flcf->max_rows;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_forest_ctx_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_forest_module);

    rc = ngx_http_read_client_request_body(r, ngx_http_forest_body_handler);

    if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
        /* the rest of the body is unread: the connection cannot be reused */
        r->keepalive = 0;
        r->lingering_close = 1;

        return ngx_http_forest_send_error(r, m, rc, NGX_LOG_INFO,
                                          "request body is larger than "
                                          "client_max_body_size");
    }

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        ngx_http_forest_stats_request(m, 0,
                                      ngx_http_forest_now_us()
                                      - ctx->start_us);
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_forest_body_handler(ngx_http_request_t *r)
{
    ngx_int_t               rc;
    ngx_uint_t              status;
    ngx_http_forest_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_forest_module);

    ngx_http_forest_decode(r, ctx);

    if (ctx->req.status != 0) {
        status = ctx->req.status;

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


static void
ngx_http_forest_decode(ngx_http_request_t *r, ngx_http_forest_ctx_t *ctx)
{
    size_t                    json_len;
    u_char                   *chunk;
    ngx_int_t                 rc;
    ngx_buf_t                *b;
    ngx_chain_t              *cl;
    fcodec_parser            *p;
    ngx_http_request_body_t  *rb;

    json_len = (size_t) -1;

    if (ctx->api == FCODEC_KSERVE
        && ngx_http_forest_json_len(r, &json_len) != NGX_OK)
    {
        ctx->req.status = NGX_HTTP_BAD_REQUEST;
        ngx_sprintf((u_char *) ctx->req.error,
                    "invalid %V header%Z", &ngx_http_forest_json_len_header);
        return;
    }

    p = fcodec_parser_create(ctx->api, &ctx->fm, json_len, &ctx->alloc);
    if (p == NULL) {
        ctx->req.status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_sprintf((u_char *) ctx->req.error,
                    "out of memory for the request parser%Z");
        return;
    }

    rb = r->request_body;
    chunk = NULL;

    for (cl = rb ? rb->bufs : NULL; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            if (b->last > b->pos
                && fcodec_parser_feed(p, b->pos, b->last - b->pos) != 0)
            {
                break;
            }

            continue;
        }

        if (b->in_file) {
            rc = ngx_http_forest_feed_file(r, p, b, &chunk);

            if (rc == NGX_ERROR) {
                fcodec_parser_abort(p);
                ctx->req.status = NGX_HTTP_INTERNAL_SERVER_ERROR;
                ngx_sprintf((u_char *) ctx->req.error,
                            "cannot read the buffered request body%Z");
                return;
            }

            if (rc == NGX_DECLINED) {
                break;
            }
        }
    }

    fcodec_parser_finish(p, &ctx->req);
}


/* NGX_OK, NGX_DECLINED (the codec found an error), or NGX_ERROR */
static ngx_int_t
ngx_http_forest_feed_file(ngx_http_request_t *r, fcodec_parser *p,
    ngx_buf_t *b, u_char **chunk)
{
    off_t    pos;
    size_t   size;
    ssize_t  n;

    if (*chunk == NULL) {
        *chunk = ngx_palloc(r->pool, NGX_HTTP_FOREST_FILE_CHUNK);
        if (*chunk == NULL) {
            return NGX_ERROR;
        }
    }

    for (pos = b->file_pos; pos < b->file_last; pos += n) {
        size = (size_t) ngx_min(b->file_last - pos,
                                NGX_HTTP_FOREST_FILE_CHUNK);

        n = ngx_read_file(b->file, *chunk, size, pos);

        if (n == NGX_ERROR) {
            /* ngx_read_file() has logged why */
            return NGX_ERROR;
        }

        if ((size_t) n != size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_read_file_n " read only %z of %uz from \"%V\"",
                          n, size, &b->file->name);
            return NGX_ERROR;
        }

        if (fcodec_parser_feed(p, *chunk, size) != 0) {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
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

    ngx_http_forest_model_shape(m, ctx->margin, &shape);

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

    rc = ngx_http_forest_send(r, NGX_HTTP_OK, resp.content_type, resp.body,
                              resp.len);

    ngx_http_forest_stats_request(m, 1,
                                  ngx_http_forest_now_us() - ctx->start_us);

    return rc;
}


ngx_int_t
ngx_http_forest_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *content_type, u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    /* a response that does not read the body must discard it */
    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type.data = (u_char *) content_type;
    r->headers_out.content_type.len = ngx_strlen(content_type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_forest_send_error(ngx_http_request_t *r, ngx_http_forest_model_t *m,
    ngx_uint_t status, ngx_uint_t level, const char *fmt, ...)
{
    u_char                 *p, *body;
    size_t                  len;
    va_list                 args;
    fcodec_alloc            alloc;
    ngx_http_forest_ctx_t  *ctx;
    u_char                  msg[512];

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    /* one line per failed request; the log handler adds the request */
    ngx_log_error(level, r->connection->log, 0, "forest: %ui %s", status,
                  msg);

    if (m != NULL) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_forest_module);
        ngx_http_forest_stats_request(m, 0, ctx ? ngx_http_forest_now_us()
                                                  - ctx->start_us
                                                : 0);
    }

    alloc.alloc = ngx_http_forest_palloc;
    alloc.ctx = r->pool;

    body = fcodec_error_body((const char *) msg, &alloc, &len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_forest_send(r, status, "application/json", body, len);
}


ngx_int_t
ngx_http_forest_not_allowed(ngx_http_request_t *r, const char *allow)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = (u_char *) allow;
    h->value.len = ngx_strlen(allow);

    return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_ALLOWED,
                                      NGX_LOG_INFO,
                                      "method %V not allowed here "
                                      "(allowed: %s)",
                                      &r->method_name, allow);
}


static void
ngx_http_forest_ctx_cleanup(void *data)
{
    ngx_http_forest_ctx_t *ctx = data;

    /* the request is going away: its batch must not answer it */
    ngx_http_forest_batch_detach(ctx);
}


static void *
ngx_http_forest_palloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}
