/*
 * What switching LuaJIT's JIT compiler off costs the hooks (lua/forest_lua.h
 * explains why it is off): the time of one request through the hook core
 * (req table from the JSON body, pre, rows) with the state as served (JIT
 * off, instruction budget on) and with the JIT compiler on, for the
 * benchmark's pre hook and for a loop-heavy one.
 *
 * Usage: lua_modes PRE_HOOK BODY_FILE N_FEATURES [CALLS]
 */
#include <luajit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forest_lua_internal.h"

static void *
arena_alloc(void *ctx, size_t size)
{
    /* rows of one call: reused, a request pool in the module */
    static char  *buf;
    static size_t cap;

    (void) ctx;
    if (size > cap) {
        free(buf);
        cap = size;
        buf = malloc(cap);
    }
    return buf;
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *
slurp(const char *path, size_t *len)
{
    FILE  *f = fopen(path, "rb");
    char  *s;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0) {
        perror(path);
        exit(2);
    }
    *len = (size_t) ftell(f);
    rewind(f);
    s = malloc(*len + 1);
    if (s == NULL || fread(s, 1, *len, f) != *len) {
        perror(path);
        exit(2);
    }
    fclose(f);
    return s;
}

/* Best of 5 rounds, microseconds per call. */
static double
run(const char *hook, const char *body, size_t len, uint32_t nf, int calls,
    int jit)
{
    char                err[512];
    int                 fn, req, i, round;
    float              *rows;
    size_t              n;
    double              t, best = 1e9;
    forest_lua         *fl;
    forest_lua_conf     conf = { 0, 0, NULL };
    forest_lua_alloc    a = { arena_alloc, NULL };
    forest_lua_model    m = { &m, "bench", "1", nf, NULL, 2 };
    forest_lua_request  rq;

    fl = forest_lua_create(&conf, err, sizeof(err));
    if (fl == NULL) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    if (jit) {
        luaJIT_setmode(fl->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
    }

    fn = forest_lua_load(fl, hook, err, sizeof(err));
    if (fn < 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }

    memset(&rq, 0, sizeof(rq));
    rq.method.data = "POST";
    rq.method.len = 4;
    rq.body = (const uint8_t *) body;
    rq.body_len = len;
    rq.model = &m;

    for (round = 0; round < 5; round++) {
        t = now();
        for (i = 0; i < calls; i++) {
            if (forest_lua_request_new(fl, &rq, &req, err, sizeof(err)) != 0
                || forest_lua_pre(fl, fn, req, &m, 1000, &a, &rows, &n, err,
                                  sizeof(err)) != 0)
            {
                fprintf(stderr, "%s\n", err);
                exit(1);
            }
            forest_lua_request_free(fl, req);
        }
        t = (now() - t) / calls * 1e6;
        best = t < best ? t : best;
    }

    forest_lua_destroy(fl);
    return best;
}

int
main(int argc, char **argv)
{
    char        *body, loop[] = "/tmp/forest-lua-modes-loop.lua";
    size_t       len;
    uint32_t     nf;
    int          calls;
    FILE        *f;
    double       off, on;

    if (argc < 4) {
        fprintf(stderr, "usage: %s PRE_HOOK BODY_FILE N_FEATURES [CALLS]\n",
                argv[0]);
        return 2;
    }

    body = slurp(argv[2], &len);
    nf = (uint32_t) atoi(argv[3]);
    calls = argc > 4 ? atoi(argv[4]) : 20000;

    off = run(argv[1], body, len, nf, calls, 0);
    on = run(argv[1], body, len, nf, calls, 1);
    printf("pre hook %s: %.2f us/request as served (JIT off, budget), "
           "%.2f us with the JIT compiler on\n", argv[1], off, on);

    /* where the JIT compiler would matter: a numeric loop in the hook */
    f = fopen(loop, "w");
    if (f == NULL) {
        perror(loop);
        return 2;
    }
    fprintf(f, "return function(req)\n"
               "  local s = 0\n"
               "  for i = 1, 20000 do s = s + (i %% 7) * 0.5 end\n"
               "  local row = {}\n"
               "  for j = 1, req.model.n_features do row[j] = s end\n"
               "  return { row }\n"
               "end\n");
    fclose(f);

    off = run(loop, body, len, nf, calls / 20, 0);
    on = run(loop, body, len, nf, calls / 20, 1);
    printf("loop-heavy pre hook (20000 iterations): %.2f us/request as "
           "served, %.2f us with the JIT compiler on\n", off, on);
    remove(loop);

    free(body);
    return 0;
}
