/*
 * Responses every endpoint shares: a body, a KServe {"error": ...} with its
 * log line, the 404/405/503 answers, and the request pool as the codec's and
 * the Lua core's allocator.
 */
#include "ngx_http_forest_module.h"

#include <time.h>


static void ngx_http_forest_log_escape(u_char *dst, size_t size,
    const u_char *src);


uint64_t
ngx_http_forest_now_us(void)
{
    return ngx_http_forest_now_ns() / 1000;
}


uint64_t
ngx_http_forest_now_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}


ngx_int_t
ngx_http_forest_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *content_type, u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (r->headers_in.expect != NULL && !r->expect_tested
        && r->http_version == NGX_HTTP_VERSION_11)
    {
        /*
         * answered from the headers alone: a client waiting for
         * 100 Continue gets this instead, and its body is not read
         */
        ngx_http_forest_leave_body(r);

    } else {
        /* a response that does not read the body must discard it */
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
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


/* The answer of an inference request that ran: a success of its model. */
ngx_int_t
ngx_http_forest_send_result(ngx_http_forest_ctx_t *ctx,
    const char *content_type, u_char *body, size_t len)
{
    ngx_int_t  rc;

    rc = ngx_http_forest_send(ctx->request, NGX_HTTP_OK, content_type, body,
                              len);

    ngx_http_forest_stats_request(ctx->model, 1,
                                  ngx_http_forest_now_us() - ctx->start_us);

    return rc;
}


/* m: the request counts as a failure of this model (NULL: of none). */
ngx_int_t
ngx_http_forest_send_error(ngx_http_request_t *r, ngx_http_forest_model_t *m,
    ngx_uint_t status, ngx_uint_t level, const char *fmt, ...)
{
    u_char                 *p, *body;
    size_t                  len;
    va_list                 args;
    fcodec_alloc            alloc;
    ngx_http_forest_ctx_t  *ctx;
    ngx_http_forest_loc_conf_t  *flcf;
    u_char                  msg[512];
    u_char                  logged[4 * sizeof(msg)];

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    /* one line per failed request; the log handler adds the request */
    ngx_http_forest_log_escape(logged, sizeof(logged), msg);
    ngx_log_error(level, r->connection->log, 0, "forest: %ui %s", status,
                  logged);

    if (m != NULL) {
        ctx = ngx_http_get_module_ctx(r, ngx_http_forest_module);
        ngx_http_forest_stats_request(m, 0, ctx ? ngx_http_forest_now_us()
                                                  - ctx->start_us
                                                : 0);
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    if (flcf->api == NGX_HTTP_FOREST_API_GRPC) {
        return ngx_http_forest_grpc_error(r, status, msg);
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


/*
 * 503 for a model with no executor in this worker.  An inference request
 * is a failure of the model, logged as an error; a readiness probe that
 * asks is only told.
 */
ngx_int_t
ngx_http_forest_not_ready(ngx_http_request_t *r, ngx_http_forest_model_t *m,
    ngx_uint_t inference)
{
    return ngx_http_forest_send_error(r, inference ? m : NULL,
                                      NGX_HTTP_SERVICE_UNAVAILABLE,
                                      inference ? NGX_LOG_ERR : NGX_LOG_INFO,
                                      "model \"%V\" version %V is not ready",
                                      &m->name, &m->version);
}


ngx_int_t
ngx_http_forest_no_endpoint(ngx_http_request_t *r)
{
    return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_FOUND,
                                      NGX_LOG_INFO, "no endpoint \"%V\"",
                                      &r->uri);
}


/* s as a JSON string, quoted: every string the module writes into JSON */
u_char *
ngx_http_forest_json_string(ngx_pool_t *pool, const char *s)
{
    fcodec_alloc  alloc;

    alloc.alloc = ngx_http_forest_palloc;
    alloc.ctx = pool;

    return (u_char *) fcodec_json_string(s, &alloc);
}


u_char *
ngx_http_forest_categories_json(ngx_pool_t *pool, const forest_model *m)
{
    u_char                       *buf, *p, *end, *q;
    size_t                        size;
    uint32_t                      f, i;
    char                          index[16];
    const char                   *key;
    const forest_category_list   *l;

    if (!forest_has_categories(m)) {
        return (u_char *) "";
    }

    /* each name at most 6 bytes a byte escaped (\u00XX), quoted */
    size = 3;

    for (f = 0; f < m->n_features; f++) {
        l = forest_category_list_of(m, f);
        if (l == NULL) {
            continue;
        }

        key = m->feature_names && m->feature_names[f]
              ? m->feature_names[f] : "";
        size += 6 * ngx_strlen(key) + 32;

        for (i = 0; i < l->n; i++) {
            size += 6 * ngx_strlen(l->labels[i]) + 3;
        }
    }

    buf = ngx_pnalloc(pool, size + 1);
    if (buf == NULL) {
        return NULL;
    }

    end = buf + size;
    p = ngx_slprintf(buf, end, "{");

    for (f = 0; f < m->n_features; f++) {
        l = forest_category_list_of(m, f);
        if (l == NULL) {
            continue;
        }

        if (m->feature_names && m->feature_names[f]) {
            key = m->feature_names[f];

        } else {
            ngx_snprintf((u_char *) index, sizeof(index), "%uD%Z", f);
            key = index;
        }

        q = ngx_http_forest_json_string(pool, key);
        if (q == NULL) {
            return NULL;
        }

        p = ngx_slprintf(p, end, "%s%s:[", p == buf + 1 ? "" : ",", q);

        for (i = 0; i < l->n; i++) {
            q = ngx_http_forest_json_string(pool, l->labels[i]);
            if (q == NULL) {
                return NULL;
            }

            p = ngx_slprintf(p, end, "%s%s", i ? "," : "", q);
        }

        p = ngx_slprintf(p, end, "]");
    }

    p = ngx_slprintf(p, end, "}");
    *p = '\0';

    return buf;
}


/*
 * The rest of the body is left unread: no 100 Continue invites it, and the
 * connection closes after the response, lingering so that a body still on
 * its way does not reset the connection before the client has read it.
 */
void
ngx_http_forest_leave_body(ngx_http_request_t *r)
{
    r->expect_tested = 1;
    r->keepalive = 0;
    r->lingering_close = 1;
}


/* The allocator of the codec and of the Lua core: pool is an ngx_pool_t. */
void *
ngx_http_forest_palloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


/*
 * Messages quote what clients sent (a decoded URI may hold "%0a"): control
 * characters are escaped so that a request cannot forge error log lines.
 */
static void
ngx_http_forest_log_escape(u_char *dst, size_t size, const u_char *src)
{
    u_char  *last;

    last = dst + size - 1;

    for ( /* void */ ; *src != '\0' && dst < last; src++) {

        if (*src >= 0x20 && *src != 0x7f) {
            *dst++ = *src;
            continue;
        }

        if (last - dst < 4) {
            break;
        }

        dst = ngx_sprintf(dst, "\\x%02xd", (int) *src);
    }

    *dst = '\0';
}
