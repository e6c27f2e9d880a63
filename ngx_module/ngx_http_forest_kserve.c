/*
 * forest_kserve: the KServe v2 / Triton HTTP endpoints.
 *
 *   GET  /v2                                   server metadata
 *   GET  /v2/health/live, /v2/health/ready
 *   GET  /v2/models/stats                      statistics of every model
 *   GET  /v2/models/{m}[/versions/{v}]         model metadata
 *   GET  .../ready, .../config, .../stats
 *   POST .../infer
 *   GET|POST /v2/repository/index              every model and its state
 *   POST /v2/repository/models/{m}/load, /unload   (ngx_http_forest_repo_api.c)
 */
#include "ngx_http_forest_module.h"


#define NGX_HTTP_FOREST_MAX_SEGMENTS  6


typedef enum {
    NGX_HTTP_FOREST_EP_METADATA = 0,
    NGX_HTTP_FOREST_EP_READY,
    NGX_HTTP_FOREST_EP_CONFIG,
    NGX_HTTP_FOREST_EP_STATS,
    NGX_HTTP_FOREST_EP_INFER
} ngx_http_forest_endpoint_e;


static ngx_int_t ngx_http_forest_kserve_model(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_str_t *seg, ngx_uint_t n);
static ngx_int_t ngx_http_forest_server_metadata(ngx_http_request_t *r);
static ngx_int_t ngx_http_forest_health(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_str_t *what);
static ngx_int_t ngx_http_forest_model_metadata(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_http_forest_model_t *m);
static ngx_int_t ngx_http_forest_model_config(ngx_http_request_t *r,
    ngx_http_forest_model_t *m);
static ngx_int_t ngx_http_forest_stats(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_http_forest_model_t *only);
static ngx_int_t ngx_http_forest_send_json(ngx_http_request_t *r, u_char *buf,
    u_char *last, u_char *end);
static ngx_int_t ngx_http_forest_is(ngx_str_t *s, const char *lit);


ngx_int_t
ngx_http_forest_kserve_handler(ngx_http_request_t *r)
{
    u_char                       *p, *last, *start;
    ngx_str_t                     seg[NGX_HTTP_FOREST_MAX_SEGMENTS];
    ngx_uint_t                    n;
    ngx_http_forest_main_conf_t  *fmcf;

    fmcf = ngx_http_get_module_main_conf(r, ngx_http_forest_module);

    p = r->uri.data;
    last = r->uri.data + r->uri.len;

    if (r->uri.len < 3 || ngx_strncmp(p, "/v2", 3) != 0
        || (r->uri.len > 3 && p[3] != '/'))
    {
        goto not_found;
    }

    p += 3;
    n = 0;

    while (p < last) {
        while (p < last && *p == '/') {
            p++;
        }

        if (p == last) {
            break;
        }

        if (n == NGX_HTTP_FOREST_MAX_SEGMENTS) {
            goto not_found;
        }

        start = p;
        while (p < last && *p != '/') {
            p++;
        }

        seg[n].data = start;
        seg[n].len = p - start;
        n++;
    }

    if (n > 0 && ngx_http_forest_is(&seg[0], "models")) {
        return ngx_http_forest_kserve_model(r, fmcf, seg, n);
    }

    if (n == 2 && ngx_http_forest_is(&seg[0], "repository")
        && ngx_http_forest_is(&seg[1], "index"))
    {
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
            return ngx_http_forest_not_allowed(r, "GET, HEAD, POST");
        }

        return ngx_http_forest_repo_index(r, fmcf);
    }

    if (n == 4 && ngx_http_forest_is(&seg[0], "repository")
        && ngx_http_forest_is(&seg[1], "models"))
    {
        return ngx_http_forest_repo_control(r, fmcf, &seg[2], &seg[3]);
    }

    /* a path that is no endpoint is 404 whatever the method */
    if (n != 0 && !(n == 2 && ngx_http_forest_is(&seg[0], "health"))) {
        goto not_found;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_forest_not_allowed(r, "GET, HEAD");
    }

    if (n == 0) {
        return ngx_http_forest_server_metadata(r);
    }

    return ngx_http_forest_health(r, fmcf, &seg[1]);

not_found:

    return ngx_http_forest_no_endpoint(r);
}


/* seg[0] is "models" */
static ngx_int_t
ngx_http_forest_kserve_model(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_str_t *seg, ngx_uint_t n)
{
    ngx_str_t                    *version;
    ngx_uint_t                    i;
    ngx_http_forest_model_t      *m;
    ngx_http_forest_endpoint_e    ep;

    if (n == 2 && ngx_http_forest_is(&seg[1], "stats")) {
        ep = NGX_HTTP_FOREST_EP_STATS;
        m = NULL;
        goto method;
    }

    if (n < 2) {
        goto not_found;
    }

    version = NULL;
    i = 2;

    if (n >= 4 && ngx_http_forest_is(&seg[2], "versions")) {
        version = &seg[3];
        i = 4;
    }

    if (i == n) {
        ep = NGX_HTTP_FOREST_EP_METADATA;

    } else if (i + 1 != n) {
        goto not_found;

    } else if (ngx_http_forest_is(&seg[i], "ready")) {
        ep = NGX_HTTP_FOREST_EP_READY;

    } else if (ngx_http_forest_is(&seg[i], "config")) {
        ep = NGX_HTTP_FOREST_EP_CONFIG;

    } else if (ngx_http_forest_is(&seg[i], "stats")) {
        ep = NGX_HTTP_FOREST_EP_STATS;

    } else if (ngx_http_forest_is(&seg[i], "infer")) {
        ep = NGX_HTTP_FOREST_EP_INFER;

    } else {
        goto not_found;
    }

    m = ngx_http_forest_model_find(fmcf, &seg[1], version);

    if (m == NULL) {
        if (version != NULL
            && ngx_http_forest_model_find(fmcf, &seg[1], NULL) != NULL)
        {
            return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_FOUND,
                                              NGX_LOG_INFO,
                                              "unknown version \"%V\" of "
                                              "model \"%V\"", version,
                                              &seg[1]);
        }

        return ngx_http_forest_send_error(r, NULL, NGX_HTTP_NOT_FOUND,
                                          NGX_LOG_INFO,
                                          "unknown model \"%V\"", &seg[1]);
    }

method:

    if (ep == NGX_HTTP_FOREST_EP_INFER) {
        if (!(r->method & NGX_HTTP_POST)) {
            return ngx_http_forest_not_allowed(r, "POST");
        }

        return ngx_http_forest_infer(r, m, FCODEC_KSERVE);
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_forest_not_allowed(r, "GET, HEAD");
    }

    switch (ep) {

    case NGX_HTTP_FOREST_EP_METADATA:
        return ngx_http_forest_model_metadata(r, fmcf, m);

    case NGX_HTTP_FOREST_EP_READY:
        if (m->executor == NULL) {
            return ngx_http_forest_not_ready(r, m, 0);
        }
        return ngx_http_forest_send(r, NGX_HTTP_OK, "application/json",
                                    NULL, 0);

    case NGX_HTTP_FOREST_EP_CONFIG:
        return ngx_http_forest_model_config(r, m);

    default: /* NGX_HTTP_FOREST_EP_STATS */
        return ngx_http_forest_stats(r, fmcf, m);
    }

not_found:

    return ngx_http_forest_no_endpoint(r);
}


static ngx_int_t
ngx_http_forest_server_metadata(ngx_http_request_t *r)
{
    u_char  *buf, *last, *version;
    size_t   size;

    version = ngx_http_forest_json_string(r->pool, NGX_HTTP_FOREST_VERSION);
    if (version == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    size = 256 + ngx_strlen(version);

    buf = ngx_pnalloc(r->pool, size);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_slprintf(buf, buf + size,
                        "{\"name\":\"ngx_forest\",\"version\":%s,"
                        "\"extensions\":[\"classification\","
                        "\"binary_tensor_data\",\"statistics\","
                        "\"model_configuration\",\"model_repository\"]}",
                        version);

    return ngx_http_forest_send_json(r, buf, last, buf + size);
}


static ngx_int_t
ngx_http_forest_health(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_str_t *what)
{
    ngx_uint_t                i;
    ngx_http_forest_model_t **models;

    if (ngx_http_forest_is(what, "live")) {
        return ngx_http_forest_send(r, NGX_HTTP_OK, "application/json",
                                    NULL, 0);
    }

    if (!ngx_http_forest_is(what, "ready")) {
        return ngx_http_forest_no_endpoint(r);
    }

    models = fmcf->models.elts;

    for (i = 0; i < fmcf->models.nelts; i++) {
        if (models[i]->executor == NULL) {
            return ngx_http_forest_not_ready(r, models[i], 0);
        }
    }

    return ngx_http_forest_send(r, NGX_HTTP_OK, "application/json", NULL, 0);
}


static ngx_int_t
ngx_http_forest_model_metadata(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_http_forest_model_t *m)
{
    u_char                    *buf, *p, *end, *s, *cats;
    size_t                     size;
    ngx_uint_t                 i, first;
    ngx_http_forest_model_t  **models;

    models = fmcf->models.elts;

    s = ngx_http_forest_json_string(r->pool, (char *) m->name.data);
    cats = ngx_http_forest_categories_json(r->pool, m->forest);
    if (s == NULL || cats == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    size = 640 + ngx_strlen(s) + ngx_strlen(cats)
           + fmcf->models.nelts
             * (NGX_HTTP_FOREST_JSON_LEN(NGX_HTTP_FOREST_VERSION_MAX) + 1);

    buf = ngx_pnalloc(r->pool, size);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    end = buf + size;

    p = ngx_slprintf(buf, end, "{\"name\":%s,\"versions\":[", s);

    first = 1;

    for (i = 0; i < fmcf->models.nelts; i++) {
        if (models[i]->name.len == m->name.len
            && ngx_strncmp(models[i]->name.data, m->name.data, m->name.len)
               == 0)
        {
            s = ngx_http_forest_json_string(r->pool,
                                            (char *) models[i]->version.data);
            if (s == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            p = ngx_slprintf(p, end, "%s%s", first ? "" : ",", s);
            first = 0;
        }
    }

    p = ngx_slprintf(p, end,
                     "],\"platform\":\"ngx_forest\","
                     "\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\","
                     "\"shape\":[-1,%uD]}],"
                     "\"outputs\":[{\"name\":\"output__0\","
                     "\"datatype\":\"FP32\",\"shape\":[-1,%uD]}]",
                     m->forest->n_features,
                     ngx_http_forest_model_columns(m, 0));

    /* the names a request may send for categorical features */
    if (cats[0] != '\0') {
        p = ngx_slprintf(p, end, ",\"parameters\":{\"categories\":%s,"
                         "\"unseen_category\":\"%s\"}", cats,
                         forest_category_unseen(m->forest)
                         == FOREST_UNSEEN_MISSING ? "missing" : "refused");
    }

    p = ngx_slprintf(p, end, "}");

    return ngx_http_forest_send_json(r, buf, p, end);
}


/* A Triton-style model configuration. */
static ngx_int_t
ngx_http_forest_model_config(ngx_http_request_t *r,
    ngx_http_forest_model_t *m)
{
    u_char  *buf, *p, *end, *name, *model_type, *objective, *cats;
    size_t   size;

    name = ngx_http_forest_json_string(r->pool, (char *) m->name.data);
    model_type = ngx_http_forest_json_string(r->pool,
                                      forest_format_name(m->forest->format));
    objective = ngx_http_forest_json_string(r->pool, m->forest->objective);
    cats = ngx_http_forest_categories_json(r->pool, m->forest);

    if (name == NULL || model_type == NULL || objective == NULL
        || cats == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* Triton's parameters hold strings: the lists as JSON text */
    if (cats[0] != '\0') {
        cats = ngx_http_forest_json_string(r->pool, (char *) cats);
        if (cats == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    size = 1600 + ngx_strlen(name) + ngx_strlen(model_type)
           + ngx_strlen(objective) + ngx_strlen(cats);

    buf = ngx_pnalloc(r->pool, size);
    if (buf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    end = buf + size;

    /* the version is digits, a JSON number here as in Triton */
    p = ngx_slprintf(buf, end,
                     "{\"name\":%s,\"platform\":\"ngx_forest\","
                     "\"backend\":\"ngx_forest\","
                     "\"version_policy\":{\"specific\":{\"versions\":[%V]}},"
                     "\"max_batch_size\":%ui,"
                     "\"input\":[{\"name\":\"input__0\","
                     "\"data_type\":\"TYPE_FP32\",\"dims\":[%uD]}],"
                     "\"output\":[{\"name\":\"output__0\","
                     "\"data_type\":\"TYPE_FP32\",\"dims\":[%uD]}],"
                     "\"dynamic_batching\":{"
                     "\"max_queue_delay_microseconds\":%ui},"
                     "\"instance_group\":[{\"kind\":\"%s\",\"count\":1}],"
                     "\"parameters\":{"
                     "\"model_type\":{\"string_value\":%s},"
                     "\"objective\":{\"string_value\":%s},"
                     "\"output_class\":{\"string_value\":\"%s\"},"
                     "\"predict_proba\":{\"string_value\":\"%s\"},"
                     "\"threshold\":{\"string_value\":\"%.6f\"},"
                     "\"threads\":{\"string_value\":\"%ui\"},"
                     "\"num_trees\":{\"string_value\":\"%uD\"},"
                     "\"num_class\":{\"string_value\":\"%uD\"}",
                     name, &m->version, m->max_batch_size,
                     m->forest->n_features,
                     ngx_http_forest_model_columns(m, 0),
                     m->batch_delay_us,
                     (m->executor_kind != NULL
                      && ngx_strcmp(m->executor_kind, "gpu") == 0)
                     ? "KIND_GPU" : "KIND_CPU",
                     model_type, objective,
                     m->is_classifier ? "true" : "false",
                     m->predict_proba ? "true" : "false",
                     (double) m->threshold, m->threads,
                     m->forest->n_trees, m->forest->n_classes);

    if (cats[0] != '\0') {
        p = ngx_slprintf(p, end, ",\"categories\":{\"string_value\":%s},"
                         "\"unseen_category\":{\"string_value\":\"%s\"}",
                         cats, forest_category_unseen(m->forest)
                               == FOREST_UNSEEN_MISSING
                               ? "missing" : "refused");
    }

    p = ngx_slprintf(p, end, "}}");

    return ngx_http_forest_send_json(r, buf, p, end);
}


static ngx_int_t
ngx_http_forest_stats(ngx_http_request_t *r,
    ngx_http_forest_main_conf_t *fmcf, ngx_http_forest_model_t *only)
{
    u_char  *body;
    size_t   len;

    body = ngx_http_forest_stats_json(r->pool, fmcf, only, &len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_forest_send(r, NGX_HTTP_OK, "application/json", body,
                                len);
}


static ngx_int_t
ngx_http_forest_send_json(ngx_http_request_t *r, u_char *buf, u_char *last,
    u_char *end)
{
    if (last == end) {
        /* ngx_slprintf() stopped at the end: the buffer was too small */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "forest: response of \"%V\" truncated", &r->uri);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_forest_send(r, NGX_HTTP_OK, "application/json", buf,
                                last - buf);
}


static ngx_int_t
ngx_http_forest_is(ngx_str_t *s, const char *lit)
{
    size_t  len;

    len = ngx_strlen(lit);

    return s->len == len && ngx_strncmp(s->data, lit, len) == 0;
}
