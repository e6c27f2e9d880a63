/*
 * Types of the NGINX glue of the Lua hooks (ngx_http_forest_lua.c);
 * included by ngx_http_forest_module.h, which declares the functions.
 */
#ifndef NGX_HTTP_FOREST_LUA_H
#define NGX_HTTP_FOREST_LUA_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "forest_lua.h"


/* One hook file, shared by every location that names it. */
typedef struct {
    ngx_str_t                    path;           /* full, NUL-terminated */
    u_char                      *conf_file;      /* where it was named */
    ngx_uint_t                   conf_line;
    int                          ref;            /* per worker; -1: failed */
} ngx_http_forest_lua_hook_t;


typedef struct {
    ngx_array_t                  hooks;          /* ngx_http_forest_lua_hook_t * */
    size_t                       memory;         /* bytes per state */
    ngx_int_t                    budget;         /* instructions per call */
    ngx_str_t                    package_path;
    forest_lua                  *state;          /* per worker */
} ngx_http_forest_lua_main_t;


typedef struct {
    ngx_http_forest_lua_hook_t  *pre;
    ngx_http_forest_lua_hook_t  *post;
    u_char                      *conf_file;      /* where this location */
    ngx_uint_t                   conf_line;      /* named a hook itself */
} ngx_http_forest_lua_loc_t;


/* Per request, when its location has hooks. */
typedef struct {
    ngx_http_forest_lua_hook_t  *pre;
    ngx_http_forest_lua_hook_t  *post;
    forest_lua                  *state;
    u_char                      *body;           /* the body as read */
    size_t                       len;
    size_t                       cap;
    size_t                       json_len;       /* (size_t) -1: all JSON */
    int                          req;            /* req table; 0: none */
} ngx_http_forest_lua_ctx_t;

#endif /* NGX_HTTP_FOREST_LUA_H */
