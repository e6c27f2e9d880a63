/*
 * forest_grpc: the KServe v2 / Triton GRPCInferenceService on HTTP/2
 * (listen ... http2, cleartext or TLS).  A call is a POST to
 * /inference.GRPCInferenceService/<Method> whose body is one framed
 * protobuf message: the body is read whole (up to client_max_body_size),
 * unframed and decoded by the codec (forest_codec_grpc.h); ModelInfer goes
 * through the same batcher as HTTP and is answered by
 * ngx_http_forest_grpc_result().  Every answer is HTTP 200 with
 * grpc-status: in trailers after a message, or alone in the headers
 * (trailers-only) for an error.
 */
#include "ngx_http_forest_module.h"
#include "forest_codec_grpc.h"


#define NGX_HTTP_FOREST_GRPC_BODY_CHUNK  16384


typedef struct ngx_http_forest_grpc_call_s  ngx_http_forest_grpc_call_t;

typedef ngx_int_t (*ngx_http_forest_grpc_pt)(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);

typedef struct {
    ngx_str_t                   name;
    ngx_http_forest_grpc_pt     handler;
} ngx_http_forest_grpc_method_t;

/* ctx first: the module's request ctx is &call->ctx */
struct ngx_http_forest_grpc_call_s {
    ngx_http_forest_ctx_t       ctx;
    const ngx_http_forest_grpc_method_t  *method;
    u_char                     *body;
    size_t                      len;
    size_t                      cap;
};


static ngx_int_t ngx_http_forest_grpc_unread(ngx_http_request_t *r,
    ngx_int_t rc);
static void ngx_http_forest_grpc_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_forest_grpc_take(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call);
static ngx_int_t ngx_http_forest_grpc_append(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, ngx_buf_t *b);
static ngx_int_t ngx_http_forest_grpc_dispatch(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call);
static ngx_int_t ngx_http_forest_grpc_reply(ngx_http_request_t *r,
    fcodec_pbw *w);
static ngx_int_t ngx_http_forest_grpc_send(ngx_http_request_t *r,
    u_char *buf, size_t len);
static ngx_int_t ngx_http_forest_grpc_target(ngx_http_request_t *r,
    const u_char *msg, size_t len, fcodec_grpc_target *t,
    ngx_http_forest_model_t **m, ngx_int_t *rc);
static ngx_int_t ngx_http_forest_grpc_live(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);
static ngx_int_t ngx_http_forest_grpc_ready(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);
static ngx_int_t ngx_http_forest_grpc_model_ready(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);
static ngx_int_t ngx_http_forest_grpc_server_metadata(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);
static ngx_int_t ngx_http_forest_grpc_model_metadata(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);
static ngx_int_t ngx_http_forest_grpc_model_config(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);
static ngx_int_t ngx_http_forest_grpc_statistics(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);
static ngx_int_t ngx_http_forest_grpc_index(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);
static ngx_int_t ngx_http_forest_grpc_infer(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len);
static void ngx_http_forest_grpc_cleanup(void *data);


static ngx_str_t  ngx_http_forest_grpc_service =
    ngx_string("/inference.GRPCInferenceService/");


static ngx_http_forest_grpc_method_t  ngx_http_forest_grpc_methods[] = {
    { ngx_string("ServerLive"), ngx_http_forest_grpc_live },
    { ngx_string("ServerReady"), ngx_http_forest_grpc_ready },
    { ngx_string("ModelReady"), ngx_http_forest_grpc_model_ready },
    { ngx_string("ServerMetadata"), ngx_http_forest_grpc_server_metadata },
    { ngx_string("ModelMetadata"), ngx_http_forest_grpc_model_metadata },
    { ngx_string("ModelConfig"), ngx_http_forest_grpc_model_config },
    { ngx_string("ModelStatistics"), ngx_http_forest_grpc_statistics },
    { ngx_string("RepositoryIndex"), ngx_http_forest_grpc_index },
    { ngx_string("ModelInfer"), ngx_http_forest_grpc_infer },
    { ngx_null_string, NULL }
};


ngx_int_t
ngx_http_forest_grpc_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                     name;
    ngx_uint_t                    i;
    ngx_http_forest_grpc_call_t  *call;
    ngx_http_forest_loc_conf_t   *flcf;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_forest_not_allowed(r, "POST");
    }

    if (r->uri.len <= ngx_http_forest_grpc_service.len
        || ngx_strncmp(r->uri.data, ngx_http_forest_grpc_service.data,
                       ngx_http_forest_grpc_service.len)
           != 0)
    {
        return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_IMPLEMENTED,
                                          NGX_LOG_INFO,
                                          "unknown service \"%V\": this "
                                          "server implements "
                                          "inference.GRPCInferenceService",
                                          &r->uri);
    }

    name.data = r->uri.data + ngx_http_forest_grpc_service.len;
    name.len = r->uri.len - ngx_http_forest_grpc_service.len;

    for (i = 0; ngx_http_forest_grpc_methods[i].handler; i++) {
        if (ngx_http_forest_grpc_methods[i].name.len == name.len
            && ngx_strncmp(ngx_http_forest_grpc_methods[i].name.data,
                           name.data, name.len) == 0)
        {
            break;
        }
    }

    if (ngx_http_forest_grpc_methods[i].handler == NULL) {
        return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_IMPLEMENTED,
                                          NGX_LOG_INFO,
                                          "method %V is not implemented: "
                                          "ngx_forest serves ModelInfer and "
                                          "the health, metadata, config, "
                                          "statistics and index calls",
                                          &name);
    }

    call = ngx_pcalloc(r->pool, sizeof(ngx_http_forest_grpc_call_t));
    if (call == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    call->ctx.request = r;
    call->ctx.api = FCODEC_GRPC;
    call->ctx.alloc.alloc = ngx_http_forest_palloc;
    call->ctx.alloc.ctx = r->pool;
    call->ctx.start_us = ngx_http_forest_now_us();
    call->method = &ngx_http_forest_grpc_methods[i];

    ngx_http_set_ctx(r, &call->ctx, ngx_http_forest_module);

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    if (flcf->max_body && r->headers_in.content_length_n > flcf->max_body) {
        return ngx_http_forest_send_error(r, NULL,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          NGX_LOG_INFO,
                                          "request of %O bytes is larger "
                                          "than client_max_body_size (%O)",
                                          r->headers_in.content_length_n,
                                          flcf->max_body);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "forest grpc call %V", &name);

    /* taken as it arrives, so that the limit holds before it is all read */
    r->request_body_no_buffering = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_forest_grpc_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return ngx_http_forest_grpc_unread(r, rc);
    }

    return NGX_DONE;
}


/* The body could not be read: a gRPC status, unless the client is gone. */
static ngx_int_t
ngx_http_forest_grpc_unread(ngx_http_request_t *r, ngx_int_t rc)
{
    r->read_event_handler = ngx_http_block_reading;

    if (r->connection->error) {
        return rc;
    }

    return ngx_http_forest_send_error(r, NULL, rc, NGX_LOG_INFO,
                                      "the request body could not be read");
}


static void
ngx_http_forest_grpc_body(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_forest_grpc_call_t  *call;
    ngx_http_forest_loc_conf_t   *flcf;

    call = (ngx_http_forest_grpc_call_t *)
               ngx_http_get_module_ctx(r, ngx_http_forest_module);

    r->read_event_handler = ngx_http_forest_grpc_body;

    for ( ;; ) {
        rc = ngx_http_forest_grpc_take(r, call);

        if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
            flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);
            r->read_event_handler = ngx_http_block_reading;
            ngx_http_finalize_request(r,
                ngx_http_forest_send_error(r, NULL, rc, NGX_LOG_INFO,
                                           "request is larger than "
                                           "client_max_body_size (%O)",
                                           flcf->max_body));
            return;
        }

        if (rc != NGX_OK) {
            r->read_event_handler = ngx_http_block_reading;
            ngx_http_finalize_request(r,
                ngx_http_forest_send_error(r, NULL, rc, NGX_LOG_ERR,
                                           "the request could not be "
                                           "stored"));
            return;
        }

        if (!r->reading_body) {
            break;
        }

        rc = ngx_http_read_unbuffered_request_body(r);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            ngx_http_finalize_request(r, ngx_http_forest_grpc_unread(r, rc));
            return;
        }

        if (rc == NGX_AGAIN && r->request_body->bufs == NULL) {
            return;
        }
    }

    r->read_event_handler = ngx_http_block_reading;

    rc = ngx_http_forest_grpc_dispatch(r, call);

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    /* NGX_DONE: ModelInfer is in a batch, answered once it has run */
}


/* Moves what has been read into call->body: NGX_OK, or an HTTP status. */
static ngx_int_t
ngx_http_forest_grpc_take(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call)
{
    ngx_int_t                 rc;
    ngx_chain_t              *cl;
    ngx_http_request_body_t  *rb;

    rb = r->request_body;

    if (rb == NULL) {
        return NGX_OK;
    }

    for (cl = rb->bufs; cl; cl = cl->next) {
        rc = ngx_http_forest_grpc_append(r, call, cl->buf);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    rb->bufs = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_forest_grpc_append(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, ngx_buf_t *b)
{
    off_t                        size;
    u_char                      *p;
    size_t                       cap;
    ssize_t                      n;
    ngx_http_forest_loc_conf_t  *flcf;

    size = ngx_buf_size(b);

    if (size == 0) {
        return NGX_OK;
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    if (flcf->max_body && (off_t) call->len + size > flcf->max_body) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    if (call->len + size > call->cap) {
        cap = ngx_max(call->cap * 2, NGX_HTTP_FOREST_GRPC_BODY_CHUNK);
        while (cap < call->len + size) {
            cap *= 2;
        }

        p = ngx_pnalloc(r->pool, cap);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (call->len) {
            ngx_memcpy(p, call->body, call->len);
            ngx_pfree(r->pool, call->body);
        }

        call->body = p;
        call->cap = cap;
    }

    if (ngx_buf_in_memory(b)) {
        ngx_memcpy(call->body + call->len, b->pos, (size_t) size);
        b->pos = b->last;

    } else {
        /* a body the core had already written out */
        n = ngx_read_file(b->file, call->body + call->len, (size_t) size,
                          b->file_pos);

        if (n != (ssize_t) size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_read_file_n " read %z of %O from \"%V\"",
                          n, size, &b->file->name);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    call->len += (size_t) size;

    return NGX_OK;
}


static ngx_int_t
ngx_http_forest_grpc_dispatch(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call)
{
    int            status;
    size_t         len;
    const u_char  *msg;
    char           err[256];

    status = fcodec_grpc_unframe(call->body, call->len, &msg, &len, err,
                                 sizeof(err));
    if (status != 0) {
        return ngx_http_forest_send_error(r, NULL, status, NGX_LOG_INFO,
                                          "%s", err);
    }

    return call->method->handler(r, call, msg, len);
}


/* ---- answers ------------------------------------------------------------ */

/* A gRPC-safe grpc-message: percent-encoded outside printable ASCII. */
static ngx_int_t
ngx_http_forest_grpc_push(ngx_http_request_t *r, ngx_list_t *list,
    const char *key, const u_char *value, size_t len)
{
    u_char           *p;
    size_t            i;
    ngx_table_elt_t  *h;

    h = ngx_list_push(list);
    p = ngx_pnalloc(r->pool, 3 * len + 1);
    if (h == NULL || p == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = p;

    for (i = 0; i < len; i++) {
        if (value[i] >= 0x20 && value[i] < 0x7f && value[i] != '%') {
            *p++ = value[i];

        } else {
            p = ngx_sprintf(p, "%%%02XD", (int) value[i]);
        }
    }

    h->value.len = p - h->value.data;

    return NGX_OK;
}


/*
 * The error answer of ngx_http_forest_send_error() in a gRPC location:
 * trailers-only, the status mapped from the HTTP one.
 */
ngx_int_t
ngx_http_forest_grpc_error(ngx_http_request_t *r, ngx_uint_t status,
    const u_char *msg)
{
    ngx_int_t  rc;
    u_char     code[NGX_INT_T_LEN];

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    r->headers_out.status = NGX_HTTP_OK;
    ngx_str_set(&r->headers_out.content_type, "application/grpc");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_forest_grpc_push(r, &r->headers_out.headers, "grpc-status",
                                  code,
                                  ngx_sprintf(code, "%d",
                                              fcodec_grpc_status((int) status))
                                  - code)
        != NGX_OK
        || ngx_http_forest_grpc_push(r, &r->headers_out.headers,
                                     "grpc-message", msg, ngx_strlen(msg))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    r->header_only = 1;

    return ngx_http_send_header(r);
}


/* The message w holds, framed. */
static ngx_int_t
ngx_http_forest_grpc_reply(ngx_http_request_t *r, fcodec_pbw *w)
{
    if (fcodec_pbw_frame(w) != 0) {
        return ngx_http_forest_send_error(r, NULL,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          NGX_LOG_ERR, "out of memory for "
                                          "the response");
    }

    return ngx_http_forest_grpc_send(r, w->out.buf, w->out.len);
}


/* A framed message and grpc-status 0 in the trailers. */
static ngx_int_t
ngx_http_forest_grpc_send(ngx_http_request_t *r, u_char *buf, size_t len)
{
    if (ngx_http_forest_grpc_push(r, &r->headers_out.trailers, "grpc-status",
                                  (u_char *) "0", 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_forest_send(r, NGX_HTTP_OK, "application/grpc", buf,
                                len);
}


/* ModelInfer's answer, once its batch has run (ngx_http_forest_respond) */
ngx_int_t
ngx_http_forest_grpc_result(ngx_http_forest_ctx_t *ctx, const float *out)
{
    ngx_int_t                 rc;
    fcodec_shape              shape;
    fcodec_response           resp;
    ngx_http_forest_model_t  *m;

    m = ctx->model;

    ngx_http_forest_request_shape(ctx, &shape);

    if (fcodec_grpc_infer_encode(&ctx->req, &shape,
                                 (const char *) m->name.data,
                                 (const char *) m->version.data, out,
                                 &ctx->alloc, &resp)
        != 0)
    {
        return ngx_http_forest_send_error(ctx->request, m,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          NGX_LOG_ERR,
                                          "model \"%V\": out of memory for "
                                          "the response", &m->name);
    }

    rc = ngx_http_forest_grpc_send(ctx->request, resp.body, resp.len);

    ngx_http_forest_stats_request(m, 1,
                                  ngx_http_forest_now_us() - ctx->start_us);

    return rc;
}


/* ---- methods ------------------------------------------------------------ */

static ngx_int_t
ngx_http_forest_grpc_bool(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, ngx_uint_t value)
{
    fcodec_pbw     w;
    fcodec_alloc  *a;

    a = &call->ctx.alloc;

    fcodec_pbw_init(&w, a, 16, 1);
    if (value) {
        fcodec_pbw_varint(&w, 1, 1);
    }

    return ngx_http_forest_grpc_reply(r, &w);
}


static ngx_int_t
ngx_http_forest_grpc_live(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len)
{
    return  ngx_http_forest_grpc_bool(r, call, 1);
}


static ngx_uint_t
ngx_http_forest_grpc_all_ready(ngx_http_request_t *r)
{
    ngx_uint_t                    i;
    ngx_http_forest_model_t     **models;
    ngx_http_forest_main_conf_t  *fmcf;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);
    models = fmcf->models.elts;

    for (i = 0; i < fmcf->models.nelts; i++) {
        if (models[i]->executor == NULL) {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_forest_grpc_ready(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len)
{
    return ngx_http_forest_grpc_bool(r, call,
                                     ngx_http_forest_grpc_all_ready(r));
}


/*
 * The model a request names: NGX_OK with *m (NULL: no such model), or
 * NGX_ERROR for a malformed message, answered with *rc the result.
 */
static ngx_int_t
ngx_http_forest_grpc_target(ngx_http_request_t *r, const u_char *msg,
    size_t len, fcodec_grpc_target *t, ngx_http_forest_model_t **m,
    ngx_int_t *rc)
{
    int                           status;
    ngx_str_t                     name, version;
    ngx_http_forest_main_conf_t  *fmcf;
    char                          err[256];

    *m = NULL;

    status = fcodec_grpc_target_read(msg, len, t, err, sizeof(err));
    if (status != 0) {
        *rc = ngx_http_forest_send_error(r, NULL, status, NGX_LOG_INFO,
                                         "%s", err);
        return NGX_ERROR;
    }

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);

    name.data = (u_char *) t->name;
    name.len = t->name_len;
    version.data = (u_char *) t->version;
    version.len = t->version_len;

    *m = ngx_http_forest_model_find(fmcf, &name,
                                    version.len ? &version : NULL);

    return NGX_OK;
}


/* NOT_FOUND for the model (or version) a request names */
static ngx_int_t
ngx_http_forest_grpc_unknown(ngx_http_request_t *r, fcodec_grpc_target *t)
{
    ngx_str_t                     name, version;
    ngx_http_forest_main_conf_t  *fmcf;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);

    name.data = (u_char *) t->name;
    name.len = t->name_len;
    version.data = (u_char *) t->version;
    version.len = t->version_len;

    if (version.len && ngx_http_forest_model_find(fmcf, &name, NULL)) {
        return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_FOUND,
                                          NGX_LOG_INFO,
                                          "unknown version \"%V\" of model "
                                          "\"%V\"", &version, &name);
    }

    return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_FOUND,
                                      NGX_LOG_INFO, "unknown model \"%V\"",
                                      &name);
}


/* Triton answers ready: false for a model it does not have */
static ngx_int_t
ngx_http_forest_grpc_model_ready(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len)
{
    ngx_int_t                 rc;
    fcodec_grpc_target        t;
    ngx_http_forest_model_t  *m;

    if (ngx_http_forest_grpc_target(r, msg, len, &t, &m, &rc) != NGX_OK) {
        return rc;
    }

    return ngx_http_forest_grpc_bool(r, call,
                                     m != NULL && m->executor != NULL);
}


static ngx_int_t
ngx_http_forest_grpc_server_metadata(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len)
{
    fcodec_pbw     w;
    fcodec_alloc  *a;

    a = &call->ctx.alloc;

    fcodec_pbw_init(&w, a, 256, 1);
    fcodec_pbw_str(&w, 1, "ngx_forest");
    fcodec_pbw_str(&w, 2, NGX_HTTP_FOREST_VERSION);
    fcodec_pbw_str(&w, 3, "classification");
    fcodec_pbw_str(&w, 3, "statistics");
    fcodec_pbw_str(&w, 3, "model_configuration");

    return ngx_http_forest_grpc_reply(r, &w);
}


/* TensorMetadata {1 name, 2 datatype, 3 shape [-1, cols]} */
static void
ngx_http_forest_grpc_tensor(fcodec_pbw *w, uint32_t field, fcodec_alloc *a,
    const char *name, uint32_t cols)
{
    int64_t     shape[2];
    fcodec_pbw  t;

    shape[0] = -1;
    shape[1] = cols;

    fcodec_pbw_init(&t, a, 64, 0);
    fcodec_pbw_str(&t, 1, name);
    fcodec_pbw_str(&t, 2, "FP32");
    fcodec_pbw_packed(&t, 3, shape, 2);
    fcodec_pbw_msg(w, field, &t);
}


static ngx_int_t
ngx_http_forest_grpc_model_metadata(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len)
{
    ngx_int_t                     rc;
    ngx_uint_t                    i;
    fcodec_pbw                    w;
    fcodec_alloc                 *a;
    fcodec_grpc_target            t;
    ngx_http_forest_model_t      *m, **models;
    ngx_http_forest_main_conf_t  *fmcf;

    if (ngx_http_forest_grpc_target(r, msg, len, &t, &m, &rc) != NGX_OK) {
        return rc;
    }

    if (m == NULL) {
        return ngx_http_forest_grpc_unknown(r, &t);
    }

    a = &call->ctx.alloc;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);
    models = fmcf->models.elts;

    fcodec_pbw_init(&w, a, 256, 1);
    fcodec_pbw_str(&w, 1, (char *) m->name.data);

    for (i = 0; i < fmcf->models.nelts; i++) {
        if (models[i]->name.len == m->name.len
            && ngx_strncmp(models[i]->name.data, m->name.data, m->name.len)
               == 0)
        {
            fcodec_pbw_str(&w, 2, (char *) models[i]->version.data);
        }
    }

    fcodec_pbw_str(&w, 3, "ngx_forest");
    ngx_http_forest_grpc_tensor(&w, 4, a, "input__0",
                                m->forest->n_features);
    ngx_http_forest_grpc_tensor(&w, 5, a, "output__0",
                                ngx_http_forest_model_columns(m, 0));

    return ngx_http_forest_grpc_reply(r, &w);
}


/* ModelConfig.parameters entry: map<string, ModelParameter{string_value}> */
static void
ngx_http_forest_grpc_param(fcodec_pbw *w, fcodec_alloc *a, const char *key,
    const char *value)
{
    fcodec_pbw  e, v;

    fcodec_pbw_init(&v, a, 64, 0);
    fcodec_pbw_str(&v, 1, value);

    fcodec_pbw_init(&e, a, 64, 0);
    fcodec_pbw_str(&e, 1, key);
    fcodec_pbw_msg(&e, 2, &v);

    fcodec_pbw_msg(w, 14, &e);
}


/* ModelInput/ModelOutput: {1 name, 2 data_type TYPE_FP32, dims} */
static void
ngx_http_forest_grpc_io(fcodec_pbw *w, uint32_t field, uint32_t dims_field,
    fcodec_alloc *a, const char *name, uint32_t dim)
{
    int64_t     d;
    fcodec_pbw  t;

    d = dim;

    fcodec_pbw_init(&t, a, 64, 0);
    fcodec_pbw_str(&t, 1, name);
    fcodec_pbw_varint(&t, 2, 11);
    fcodec_pbw_packed(&t, dims_field, &d, 1);
    fcodec_pbw_msg(w, field, &t);
}


/* The Triton model configuration HTTP's .../config gives, as protobuf. */
static ngx_int_t
ngx_http_forest_grpc_model_config(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len)
{
    int64_t                   version;
    ngx_int_t                 rc;
    fcodec_pbw                w, c, s, t;
    fcodec_alloc             *a;
    fcodec_grpc_target        tg;
    ngx_http_forest_model_t  *m;
    u_char                    num[NGX_INT_T_LEN + 1];

    if (ngx_http_forest_grpc_target(r, msg, len, &tg, &m, &rc) != NGX_OK) {
        return rc;
    }

    if (m == NULL) {
        return ngx_http_forest_grpc_unknown(r, &tg);
    }

    a = &call->ctx.alloc;

    fcodec_pbw_init(&c, a, 512, 0);
    fcodec_pbw_str(&c, 1, (char *) m->name.data);
    fcodec_pbw_str(&c, 2, "ngx_forest");
    fcodec_pbw_str(&c, 17, "ngx_forest");

    /* version_policy { specific { versions: [v] } } */
    version = (int64_t) m->version_n;
    fcodec_pbw_init(&s, a, 32, 0);
    fcodec_pbw_packed(&s, 1, &version, 1);
    fcodec_pbw_init(&t, a, 32, 0);
    fcodec_pbw_msg(&t, 3, &s);
    fcodec_pbw_msg(&c, 3, &t);

    fcodec_pbw_varint(&c, 4, m->max_batch_size);
    ngx_http_forest_grpc_io(&c, 5, 4, a, "input__0", m->forest->n_features);
    ngx_http_forest_grpc_io(&c, 6, 3, a, "output__0",
                            ngx_http_forest_model_columns(m, 0));

    /* instance_group { kind, count: 1 } */
    fcodec_pbw_init(&t, a, 32, 0);
    fcodec_pbw_varint(&t, 2, 1);
    fcodec_pbw_varint(&t, 4, m->executor_kind != NULL
                             && ngx_strcmp(m->executor_kind, "gpu") == 0
                             ? 1 : 2);
    fcodec_pbw_msg(&c, 7, &t);

    /* dynamic_batching { max_queue_delay_microseconds } */
    fcodec_pbw_init(&t, a, 32, 0);
    if (m->batch_delay_us) {
        fcodec_pbw_varint(&t, 2, m->batch_delay_us);
    }
    fcodec_pbw_msg(&c, 11, &t);

    ngx_http_forest_grpc_param(&c, a, "model_type",
                               forest_format_name(m->forest->format));
    ngx_http_forest_grpc_param(&c, a, "objective", m->forest->objective);
    ngx_http_forest_grpc_param(&c, a, "output_class",
                               m->is_classifier ? "true" : "false");
    ngx_http_forest_grpc_param(&c, a, "predict_proba",
                               m->predict_proba ? "true" : "false");
    *ngx_sprintf(num, "%.6f", (double) m->threshold) = '\0';
    ngx_http_forest_grpc_param(&c, a, "threshold", (char *) num);
    *ngx_sprintf(num, "%ui", m->threads) = '\0';
    ngx_http_forest_grpc_param(&c, a, "threads", (char *) num);
    *ngx_sprintf(num, "%uD", m->forest->n_trees) = '\0';
    ngx_http_forest_grpc_param(&c, a, "num_trees", (char *) num);
    *ngx_sprintf(num, "%uD", m->forest->n_classes) = '\0';
    ngx_http_forest_grpc_param(&c, a, "num_class", (char *) num);

    fcodec_pbw_init(&w, a, c.out.len + 16, 1);
    fcodec_pbw_msg(&w, 1, &c);

    return ngx_http_forest_grpc_reply(r, &w);
}


/* StatisticDuration {1 count, 2 ns} as field of w */
static void
ngx_http_forest_grpc_duration(fcodec_pbw *w, uint32_t field, fcodec_alloc *a,
    uint64_t count, uint64_t us)
{
    fcodec_pbw  d;

    fcodec_pbw_init(&d, a, 32, 0);
    if (count) {
        fcodec_pbw_varint(&d, 1, count);
    }
    if (us) {
        fcodec_pbw_varint(&d, 2, us * 1000);
    }
    fcodec_pbw_msg(w, field, &d);
}


/* The counters HTTP's .../stats gives, as ModelStatistics messages. */
/* a model's entry in the statistics and index lists: {1 name, 2 version} */
static void
ngx_http_forest_grpc_entry(fcodec_pbw *e, fcodec_alloc *a, size_t size,
    ngx_http_forest_model_t *m)
{
    fcodec_pbw_init(e, a, size, 0);
    fcodec_pbw_str(e, 1, (char *) m->name.data);
    fcodec_pbw_str(e, 2, (char *) m->version.data);
}


static ngx_int_t
ngx_http_forest_grpc_statistics(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len)
{
    ngx_int_t                     rc;
    ngx_uint_t                    i;
    fcodec_pbw                    w, ms, is;
    fcodec_alloc                 *a;
    ngx_atomic_uint_t             batched;
    fcodec_grpc_target            t;
    ngx_http_forest_stats_t      *st;
    ngx_http_forest_model_t      *m, *only, **models;
    ngx_http_forest_main_conf_t  *fmcf;

    if (ngx_http_forest_grpc_target(r, msg, len, &t, &only, &rc) != NGX_OK) {
        return rc;
    }

    /* no name: every model */
    if (only == NULL && t.name_len) {
        return ngx_http_forest_grpc_unknown(r, &t);
    }

    a = &call->ctx.alloc;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);
    models = fmcf->models.elts;

    fcodec_pbw_init(&w, a, 256 * (fmcf->models.nelts + 1), 1);

    for (i = 0; i < fmcf->models.nelts; i++) {
        m = models[i];
        st = m->stats;

        if (st == NULL || (only != NULL && m != only)) {
            continue;
        }

        batched = st->batched;

        fcodec_pbw_init(&is, a, 128, 0);
        ngx_http_forest_grpc_duration(&is, 1, a, st->success,
                                      st->success_us);
        ngx_http_forest_grpc_duration(&is, 2, a, st->failure,
                                      st->failure_us);
        ngx_http_forest_grpc_duration(&is, 3, a, batched, st->queue_us);
        ngx_http_forest_grpc_duration(&is, 4, a, batched, 0);
        ngx_http_forest_grpc_duration(&is, 5, a, batched, st->compute_us);
        ngx_http_forest_grpc_duration(&is, 6, a, batched, 0);

        ngx_http_forest_grpc_entry(&ms, a, 256, m);
        fcodec_pbw_varint(&ms, 3, st->last_inference_ms);
        fcodec_pbw_varint(&ms, 4, st->inference_count);
        fcodec_pbw_varint(&ms, 5, st->exec_count);
        fcodec_pbw_msg(&ms, 6, &is);

        fcodec_pbw_msg(&w, 1, &ms);
    }

    return ngx_http_forest_grpc_reply(r, &w);
}


static ngx_int_t
ngx_http_forest_grpc_index(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len)
{
    int                           status;
    ngx_uint_t                    i;
    fcodec_pbw                    w, e;
    fcodec_alloc                 *a;
    fcodec_grpc_target            t;
    ngx_http_forest_model_t     **models;
    ngx_http_forest_main_conf_t  *fmcf;
    char                          err[256];

    /* RepositoryIndexRequest {1 repository_name, 2 ready} */
    status = fcodec_grpc_target_read(msg, len, &t, err, sizeof(err));
    if (status != 0) {
        return ngx_http_forest_send_error(r, NULL, status, NGX_LOG_INFO,
                                          "%s", err);
    }

    a = &call->ctx.alloc;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);
    models = fmcf->models.elts;

    fcodec_pbw_init(&w, a, 128 * (fmcf->models.nelts + 1), 1);

    for (i = 0; i < fmcf->models.nelts; i++) {
        if (t.flag && models[i]->executor == NULL) {
            continue;
        }

        ngx_http_forest_grpc_entry(&e, a, 128, models[i]);
        fcodec_pbw_str(&e, 3, models[i]->executor ? "READY" : "UNAVAILABLE");
        fcodec_pbw_msg(&w, 1, &e);
    }

    return ngx_http_forest_grpc_reply(r, &w);
}


static ngx_int_t
ngx_http_forest_grpc_infer(ngx_http_request_t *r,
    ngx_http_forest_grpc_call_t *call, const u_char *msg, size_t len)
{
    ngx_int_t                    rc;
    ngx_uint_t                   status;
    fcodec_grpc_target           t;
    ngx_pool_cleanup_t          *cln;
    ngx_http_forest_ctx_t       *ctx;
    ngx_http_forest_model_t     *m;
    ngx_http_forest_loc_conf_t  *flcf;

    if (ngx_http_forest_grpc_target(r, msg, len, &t, &m, &rc) != NGX_OK) {
        return rc;
    }

    if (m == NULL) {
        return ngx_http_forest_grpc_unknown(r, &t);
    }

    if (m->executor == NULL) {
        return ngx_http_forest_not_ready(r, m, 1);
    }

    flcf = ngx_http_get_module_loc_conf(r, ngx_http_forest_module);

    ctx = &call->ctx;
    ctx->model = m;
    ngx_http_forest_codec_model(ctx, m, flcf);

    fcodec_grpc_infer_decode(msg, len, &ctx->fm, &ctx->alloc, &ctx->req);

    if (ctx->req.status != 0) {
        status = ctx->req.status;
        return ngx_http_forest_send_error(r, m, status,
                                          status >= 500 ? NGX_LOG_ERR
                                                        : NGX_LOG_INFO,
                                          "%s", ctx->req.error);
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_forest_grpc_cleanup;
    cln->data = ctx;

    ngx_http_forest_request_margin(ctx);

    if (ngx_http_forest_batch_submit(ctx) != NGX_OK) {
        return ngx_http_forest_send_error(r, m,
                                          NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          NGX_LOG_ERR,
                                          "model \"%V\": out of memory for "
                                          "the batch", &m->name);
    }

    return NGX_DONE;
}


/* the stream is going away mid-batch */
static void
ngx_http_forest_grpc_cleanup(void *data)
{
    ngx_http_forest_batch_detach(data);
}
