/*
 * What switching LuaJIT's JIT compiler off costs the hooks (lua/forest_lua.h
 * explains why it is off): the time of one request through the hook core
 * (req table from the JSON body, pre, rows) with the state as served (JIT
 * off, instruction budget on) and with the JIT compiler on, for the
 * benchmark's pre hook and for a loop-heavy one; then whether an endless
 * loop in a hook is stopped by the budget in each of those setups.
 *
 * Usage: lua_modes PRE_HOOK BODY_FILE N_FEATURES [CALLS]
 */
#include <luajit.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
    float              *rows, *margins;
    size_t              n;
    double              t, best = 1e9;
    forest_lua         *fl;
    forest_lua_conf     conf = { 0, 0, NULL };
    forest_lua_alloc    a = { arena_alloc, NULL };
    forest_lua_model    m = { &m, "bench", "1", nf, NULL, 2, 0 };
    forest_lua_request  rq;

    fl = forest_lua_create(&conf, err, sizeof(err));
    if (fl == NULL) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    if (jit) {
        /* opening the jit library initialises the compiler and turns it
         * on; the served state never opens it */
        lua_pushcfunction(fl->L, luaopen_jit);
        lua_call(fl->L, 0, 0);
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
                || forest_lua_pre(fl, fn, req, &m, 1000, &a, &rows, &n,
                                  &margins, err, sizeof(err)) != 0)
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

/*
 * Does an endless loop stop?  In a child process (killed after 2 s): the
 * state as served, with the JIT compiler on, and with it on but jit.off()
 * on the hook (the loop in a function from another chunk).  Returns the
 * milliseconds until the hook's 500, or -1 when it was still running.
 */
static double
bounded(int jit, const char *script)
{
    char              err[512], path[] = "/tmp/forest-lua-modes-XXXXXX";
    int               fd, fn, req, status;
    float            *rows, *margins;
    size_t            n;
    pid_t             pid;
    double            t;
    forest_lua       *fl;
    forest_lua_conf   conf = { 0, 0, NULL };
    forest_lua_alloc  a = { arena_alloc, NULL };
    forest_lua_model  m = { &m, "bench", "1", 1, NULL, 2, 0 };
    forest_lua_request rq;

    fd = mkstemp(path);
    if (fd < 0 || write(fd, script, strlen(script)) < 0) {
        perror(path);
        exit(2);
    }
    close(fd);

    t = now();
    pid = fork();

    if (pid == 0) {
        alarm(2);
        fl = forest_lua_create(&conf, err, sizeof(err));
        if (fl == NULL) {
            _exit(3);
        }
        if (jit) {
            lua_pushcfunction(fl->L, luaopen_jit);
            lua_call(fl->L, 0, 0);
            luaJIT_setmode(fl->L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_ON);
        }
        fn = forest_lua_load(fl, path, err, sizeof(err));
        memset(&rq, 0, sizeof(rq));
        rq.model = &m;
        if (fn < 0 || forest_lua_request_new(fl, &rq, &req, err, sizeof(err)))
        {
            fprintf(stderr, "%s\n", err);
            _exit(3);
        }
        _exit(forest_lua_pre(fl, fn, req, &m, 1, &a, &rows, &n, &margins,
                             err, sizeof(err)) == 500 ? 0 : 4);
    }

    waitpid(pid, &status, 0);
    t = (now() - t) * 1e3;
    remove(path);

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return t;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
        return -1;
    }
    fprintf(stderr, "bounded(): child status %d\n", status);
    exit(1);
}


static void
report(const char *what, double ms)
{
    if (ms < 0) {
        printf("endless loop, %s: still running after 2 s (not bounded)\n",
               what);
    } else {
        printf("endless loop, %s: 500 after %.1f ms (default budget)\n",
               what, ms);
    }
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

    report("as served (JIT off)",
           bounded(0, "return function() while true do end end\n"));
    report("JIT compiler on",
           bounded(1, "return function() while true do end end\n"));
    report("JIT on, jit.off(hook, true), loop in another chunk",
           bounded(1, "local spin = load('return function() "
                      "while true do end end')()\n"
                      "local hook = function() spin() end\n"
                      "jit.off(hook, true)\n"
                      "return hook\n"));

    free(body);
    return 0;
}
