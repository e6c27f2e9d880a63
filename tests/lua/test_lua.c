/*
 * The Lua hook core (lua/forest_lua_*.c) without NGINX: loading, the req
 * table, pre results -> rows, post results -> JSON, and the bounds (errors,
 * budget, memory).  Built and run by tests/suite_lua.sh, plainly and under
 * ASan+UBSan.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "forest_lua.h"

static char dir[] = "/tmp/forest-lua-test-XXXXXX";
static char err[512];

static void *
test_alloc(void *ctx, size_t size)
{
    (void) ctx;
    /* freed at exit by the list below: the module's pool does the same */
    void **p = malloc(sizeof(void *) + size);
    static void **head;
    if (p == NULL) {
        return NULL;
    }
    p[0] = head;
    head = p;
    return p + 1;
}

static forest_lua_alloc alloc = { test_alloc, NULL };

static char *const fnames[4] = { "amount", "colour", NULL, "ratio" };

static forest_lua_model model = {
    &model, "fraud", "1", 4, fnames, 2, 1
};

/* three outputs: base_margin takes three margins a row */
static forest_lua_model three = {
    &three, "iris", "1", 3, NULL, 3, 3
};

static forest_lua_model unnamed = {
    &unnamed, "plain", "1", 3, NULL, 0, 0
};

/* Writes a script into the temp dir and returns its path. */
static const char *
script(const char *name, const char *text)
{
    static char path[8][256];
    static int  next;
    char       *p = path[next++ % 8];
    FILE       *f;

    snprintf(p, 256, "%s/%s", dir, name);
    f = fopen(p, "w");
    if (f == NULL) {
        perror(p);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
    return p;
}

static int
load(forest_lua *fl, const char *name, const char *text)
{
    int ref = forest_lua_load(fl, script(name, text), err, sizeof(err));
    if (ref < 0) {
        fprintf(stderr, "load %s: %s\n", name, err);
    }
    return ref;
}

static int
request(forest_lua *fl, const char *body, const char *args, int *ref)
{
    static const forest_lua_str headers[] = {
        { "content-type", 12 }, { "application/json", 16 },
        { "x-tag", 5 }, { "a", 1 },
        { "x-tag", 5 }, { "b", 1 },
    };
    forest_lua_request rq;

    memset(&rq, 0, sizeof(rq));
    rq.method.data = "POST";
    rq.method.len = 4;
    rq.args.data = args ? args : "";
    rq.args.len = args ? strlen(args) : 0;
    rq.headers = headers;
    rq.n_headers = 3;
    rq.body = (const uint8_t *) body;
    rq.body_len = body ? strlen(body) : 0;
    rq.model = &model;

    return forest_lua_request_new(fl, &rq, ref, err, sizeof(err));
}

/* The base_margin of the last pre() call. */
static float *margins;

/* Runs pre on body; returns the status, rows in *rows. */
static int
pre(forest_lua *fl, int fn, const char *body, const forest_lua_model *m,
    float **rows, size_t *n)
{
    int req, rc;

    rc = request(fl, body, NULL, &req);
    if (rc != 0) {
        return rc;
    }
    rc = forest_lua_pre(fl, fn, req, m, 100, &alloc, rows, n, &margins,
                        err, sizeof(err));
    forest_lua_request_free(fl, req);
    return rc;
}

/* A pre hook returning the given Lua expression, run on "{}". */
static int
pre_expr(forest_lua *fl, const char *expr, const forest_lua_model *m,
    float **rows, size_t *n)
{
    char text[1024];
    int  fn;

    snprintf(text, sizeof(text), "return function(req) return %s end\n",
             expr);
    fn = load(fl, "expr.lua", text);
    if (fn < 0) {
        return -1;
    }
    return pre(fl, fn, "{}", m, rows, n);
}

/* Runs post with out = served and returns the JSON (static buffer). */
static const char *
post(forest_lua *fl, const char *text, const char *body, const char *args,
    const float *served, size_t n, uint32_t cols, int *status)
{
    static char json[16384];
    uint8_t    *b;
    size_t      len;
    int         fn, req;

    fn = load(fl, "post.lua", text);
    *status = request(fl, body, args, &req);
    if (*status != 0 || fn < 0) {
        return "";
    }
    *status = forest_lua_post(fl, fn, req, served, n, cols, &alloc, &b, &len,
                              err, sizeof(err));
    forest_lua_request_free(fl, req);
    if (*status != 0) {
        return "";
    }
    snprintf(json, sizeof(json), "%.*s", (int) len, (char *) b);
    return json;
}

static int
has(const char *s, const char *part)
{
    if (strstr(s, part) == NULL) {
        fprintf(stderr, "  \"%s\" lacks \"%s\"\n", s, part);
        return 0;
    }
    return 1;
}

static void
test_loading(forest_lua *fl)
{
    CHECK(load(fl, "ok.lua", "return function() end") > 0);

    CHECK(forest_lua_load(fl, script("syntax.lua", "return function(\n  x = \n"),
                          err, sizeof(err)) < 0);
    CHECK(has(err, "syntax.lua:2:"));

    CHECK(forest_lua_load(fl, script("value.lua", "return 42\n"), err,
                          sizeof(err)) < 0);
    CHECK(has(err, "returned a number, want a function"));

    CHECK(forest_lua_load(fl, script("runtime.lua", "local x = nil\nx.y = 1\n"),
                          err, sizeof(err)) < 0);
    CHECK(has(err, "runtime.lua:2:"));

    CHECK(forest_lua_load(fl, "/nonexistent/forest.lua", err, sizeof(err)) < 0);
    CHECK(has(err, "cannot open /nonexistent/forest.lua"));

    CHECK(forest_lua_load(fl, script("loop.lua", "while true do end\n"), err,
                          sizeof(err)) < 0);
    CHECK(has(err, "exceeded its budget"));
}

static void
test_rows(forest_lua *fl)
{
    float  *rows;
    size_t  n;
    int     rc;

    rc = pre_expr(fl, "{ {1, 2, 0/0, 4}, {amount = 5, ratio = 0.25}, "
                      "{1e38, forest.null, -1/0, nil, [4] = 8} }",
                  &model, &rows, &n);
    CHECK(rc == 0 && n == 3);
    if (rc == 0 && n == 3) {
        CHECK(rows[0] == 1 && rows[1] == 2 && isnan(rows[2]) && rows[3] == 4);
        CHECK(rows[4] == 5 && isnan(rows[5]) && isnan(rows[6])
              && rows[7] == 0.25f);
        CHECK(rows[8] == 1e38f && isnan(rows[9]) && isinf(rows[10])
              && rows[10] < 0 && rows[11] == 8);
    }

    CHECK(pre_expr(fl, "{ {ratio = 3}, {colour = 1}, {amount = 2} }", &model,
                   &rows, &n) == 0 && n == 3);
    if (n == 3) {
        CHECK(rows[3] == 3 && isnan(rows[0]) && rows[5] == 1
              && rows[8] == 2 && isnan(rows[11]));
    }

    CHECK(pre_expr(fl, "{}", &model, &rows, &n) == 0 && n == 0);
    CHECK(pre_expr(fl, "{ {} }", &model, &rows, &n) == 0 && n == 1
          && isnan(rows[0]) && isnan(rows[3]));

    /* wrong shapes and types: 500 naming the row and the feature */
    CHECK(pre_expr(fl, "{ {amount = 1, colour = 'red'} }", &model, &rows, &n)
          == 500 && has(err, "rows[1].colour is a string (\"red\")"));
    CHECK(pre_expr(fl, "{ {1, 2, 3, true} }", &model, &rows, &n) == 500
          && has(err, "rows[1][4] (ratio) is a boolean (true)"));
    CHECK(pre_expr(fl, "{ {1, 2, 3, 4}, {size = 3} }", &model, &rows, &n)
          == 500 && has(err, "rows[2].size: model fraud has no feature"));
    CHECK(pre_expr(fl, "{ {1, 2, 3} }", &model, &rows, &n) == 500
          && has(err, "rows[1] has 3 values, model fraud expects 4"));
    CHECK(pre_expr(fl, "{ {1, 2, 3, 4, 5} }", &model, &rows, &n) == 500
          && has(err, "rows[1] has more than 4 values"));
    CHECK(pre_expr(fl, "{ {1, 2, 3, 4, amount = 1} }", &model, &rows, &n)
          == 500 && has(err, "rows[1] mixes"));
    CHECK(pre_expr(fl, "{ 5 }", &model, &rows, &n) == 500
          && has(err, "rows[1] is a number, want a table"));
    CHECK(pre_expr(fl, "'rows'", &model, &rows, &n) == 500
          && has(err, "pre hook returned a string (\"rows\"), want an array"));
    CHECK(pre_expr(fl, "{ rows = {} }", &model, &rows, &n) == 500
          && has(err, "found the key a string (\"rows\")"));
    CHECK(pre_expr(fl, "{ [1] = {}, [3] = {} }", &model, &rows, &n) == 500);
    CHECK(pre_expr(fl, "{ {1e39, 0, 0, 0} }", &model, &rows, &n) == 500
          && has(err, "beyond the float32 range"));
    CHECK(pre_expr(fl, "{ {0.5, 0, 0, 0} }", &model, &rows, &n) == 0);
    CHECK(pre_expr(fl, "{ {a = 1} }", &unnamed, &rows, &n) == 500
          && has(err, "model plain has no feature names"));
    CHECK(pre_expr(fl, "{ {[1.5] = 1} }", &model, &rows, &n) == 500
          && has(err, "has the key 1.5"));
    CHECK(pre_expr(fl, "{ {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, "
                       "{}, {}, {}, {}, {}, {}, {}, {}, {} }",
                   &model, &rows, &n) == 0 && n == 21);

    /* rejections */
    CHECK(pre_expr(fl, "nil, 422, 'amount must be positive'", &model, &rows,
                   &n) == 422 && has(err, "amount must be positive"));
    CHECK(pre_expr(fl, "nil, 200, 'ok?'", &model, &rows, &n) == 500
          && has(err, "want a number from 400 to 599"));
    CHECK(pre_expr(fl, "nil", &model, &rows, &n) == 500
          && has(err, "pre hook returned nil"));
    CHECK(pre_expr(fl, "nil, 403", &model, &rows, &n) == 403);

    /* a second result: the rows' base_margin, a number or C margins a row */
    CHECK(pre_expr(fl, "{ {1, 2, 3, 4}, {} }, nil", &model, &rows, &n) == 0
          && margins == NULL);
    CHECK(pre_expr(fl, "{ {1, 2, 3, 4}, {} }, { 0.5, -1 }", &model, &rows,
                   &n) == 0 && n == 2 && margins != NULL
          && margins[0] == 0.5f && margins[1] == -1);
    CHECK(pre_expr(fl, "{ {}, {} }, { {0.5}, {2} }", &model, &rows, &n) == 0
          && margins != NULL && margins[1] == 2);
    CHECK(pre_expr(fl, "{ {1, 2, 3} }, { {1, 2, 3} }", &three, &rows, &n)
          == 0 && margins != NULL && margins[2] == 3);
    CHECK(pre_expr(fl, "{ {1, 2, 3} }, { 1 }", &three, &rows, &n) == 500
          && has(err, "base_margin[1] is a number, want an array of 3"));
    CHECK(pre_expr(fl, "{ {1, 2, 3} }, { {1, 2} }", &three, &rows, &n) == 500
          && has(err, "base_margin[1] holds 2 values; model iris takes 3"));
    CHECK(pre_expr(fl, "{ {}, {} }, { 1 }", &model, &rows, &n) == 500
          && has(err, "want an array of 2 entries, one per row"));
    CHECK(pre_expr(fl, "{ {} }, { 'x' }", &model, &rows, &n) == 500
          && has(err, "base_margin[1] is a string (\"x\"), want a number"));
    CHECK(pre_expr(fl, "{ {} }, { 1e39 }", &model, &rows, &n) == 500
          && has(err, "beyond the float32 range"));
    CHECK(pre_expr(fl, "{ {} }, 5", &model, &rows, &n) == 500
          && has(err, "base_margin as a number"));
    CHECK(pre_expr(fl, "{ {1, 2, 3} }, { 1 }", &unnamed, &rows, &n) == 500
          && has(err, "model plain takes none"));
}

static void
test_body(forest_lua *fl)
{
    float  *rows;
    size_t  n;
    int     fn;
    char    deep[400];

    /* the decoded body, checked from Lua */
    fn = load(fl, "body.lua",
        "return function(req)\n"
        "  local b = req.body\n"
        "  assert(b.s == 'h\\195\\169llo \"q\"', 'string')\n"
        "  assert(b.n == -12.5e2 and b.i == 12345678901234, 'numbers')\n"
        "  assert(b.t == true and b.f == false, 'booleans')\n"
        "  assert(b.z == forest.null, 'null')\n"
        "  assert(#b.a == 3 and b.a[2] == forest.null and b.a[3].k == 'v', 'array')\n"
        "  assert(getmetatable(b.a) == forest.array_mt, 'array marked')\n"
        "  assert(getmetatable(b.e) == forest.array_mt and #b.e == 0, 'empty array')\n"
        "  assert(next(b.o) == nil and getmetatable(b.o) == nil, 'empty object')\n"
        "  return { { b.n, 0, 0, 0 } }\n"
        "end\n");
    CHECK(pre(fl, fn, "{\"s\": \"h\\u00e9llo \\\"q\\\"\", \"n\": -12.5e2, "
                      "\"i\": 12345678901234, \"t\": true, \"f\": false, "
                      "\"z\": null, \"a\": [1, null, {\"k\": \"v\"}], "
                      "\"e\": [], \"o\": {}}",
              &model, &rows, &n) == 0 && n == 1 && rows[0] == -1250);
    if (n != 1) {
        fprintf(stderr, "  %s\n", err);
    }

    fn = load(fl, "id.lua", "return function(req) return req.body end\n");
    CHECK(pre(fl, fn, "[[1, 2, 3, 4], {\"amount\": 7}]", &model, &rows, &n)
          == 0 && n == 2 && rows[3] == 4 && rows[4] == 7);

    CHECK(pre(fl, fn, "{\"a\": [1, 2", &model, &rows, &n) == 400
          && has(err, "invalid JSON body"));
    CHECK(pre(fl, fn, "{\"a\": 1} x", &model, &rows, &n) == 400);
    CHECK(pre(fl, fn, "\"\\xff\"", &model, &rows, &n) == 400);

    /* a body the state has no memory for: the memory error is raised from
     * inside yajl's callbacks; the state goes on */
    {
        size_t  i, len = 0, cap = 8 * 1024 * 1024;
        char   *big = malloc(cap);

        CHECK(big != NULL);
        if (big != NULL) {
            len += (size_t) sprintf(big, "[");
            for (i = 0; len < cap - 64; i++) {
                len += (size_t) sprintf(big + len, "%s{\"k%zu\": [%zu]}",
                                        i ? "," : "", i, i);
            }
            sprintf(big + len, "]");
            CHECK(pre(fl, fn, big, &model, &rows, &n) == 413
                  && has(err, "needs more memory than the Lua state may use"));
            free(big);
        }
        CHECK(pre(fl, fn, "[[1, 2, 3, 4]]", &model, &rows, &n) == 0 && n == 1);
    }

    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    CHECK(pre(fl, fn, deep, &model, &rows, &n) == 400
          && has(err, "nested deeper than 64"));
    deep[0] = ' ';
    deep[129] = ' ';
    /* 64 levels decode: the result is then a wrong shape, not a 400 */
    CHECK(pre(fl, fn, deep, &model, &rows, &n) == 500);
}

/* JSON numbers decode as strtod reads them (the decoder's fast path and
 * its fallback), and post writes them back so that they read the same
 * (as the same float32 for a value that is exactly one). */
static void
test_numbers(forest_lua *fl)
{
    static const char *fixed[] = {
        "0", "-0", "0.1", "-2.5e-3", "1e22", "1e23", "123456789012345",
        "1234567890123456", "12345678901234567890", "0.000001234",
        "5e-324", "1.7976931348623157e308", "3.4028235e38", "9.5367431640625e-7",
        "0.30000000000000004", "1E+2", "7.0e-10", "100000000000000000000000"
    };
    char         body[8192], *p, want[64];
    const char  *j, *q;
    size_t       i, n = 0;
    int          st, bad = 0;
    double       a, b;
    const float  none[1] = { 0 };
    unsigned     seed = 12345;

    p = body;
    p += sprintf(p, "[");
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++, n++) {
        p += sprintf(p, "%s%s", n ? "," : "", fixed[i]);
    }
    for (i = 0; i < 200; i++, n++) {
        seed = seed * 1103515245 + 12345;
        snprintf(want, sizeof(want), "%.*g", 1 + (int) (seed >> 16) % 17,
                 ((double) (seed >> 8) / 977.0 - 8000.0)
                 * pow(10.0, (int) ((seed >> 4) % 41) - 20));
        p += sprintf(p, ",%s", want);
    }
    sprintf(p, "]");

    j = post(fl, "return function(req) return req.body end\n", body, NULL,
             none, 0, 1, &st);
    CHECK(st == 0);

    /* element by element: what strtod reads from the request and from
     * the answer must be the same double */
    p = body + 1;
    q = j + 1;
    for (i = 0; i < n && st == 0; i++) {
        a = strtod(p, &p);
        b = strtod(q, (char **) &q);
        /* a value that is exactly a float32 is written as the shortest
         * text of that float32 (see enc_number) */
        if ((fabs(a) <= 3.4e38 && (double) (float) a == a)
            ? (float) a != (float) b
            : (a != b || signbit(a) != signbit(b)))
        {
            fprintf(stderr, "  number %zu: %.17g became %.17g\n", i, a, b);
            bad++;
        }
        p++;
        q++;
    }
    CHECK(bad == 0);
}

static void
test_errors(forest_lua *fl)
{
    float  *rows;
    size_t  n;
    int     fn;

    fn = load(fl, "boom.lua",
              "return function(req)\n"
              "  local t = nil\n"
              "  return t.field\n"
              "end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 500
          && has(err, "pre hook: ") && has(err, "boom.lua:3:")
          && has(err, "attempt to index"));

    fn = load(fl, "raise.lua",
              "return function(req) error({code = 1}) end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 500
          && has(err, "error object of type table"));

    /* the budget: loops, loops that catch the error, coroutines */
    fn = load(fl, "spin.lua",
              "return function(req)\n  while true do end\nend\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 500
          && has(err, "spin.lua:2: exceeded its budget of 200000 instructions"));

    fn = load(fl, "catch.lua",
              "return function(req)\n"
              "  while true do pcall(function() while true do end end) end\n"
              "end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 500
          && has(err, "exceeded its budget"));

    fn = load(fl, "xcatch.lua",
              "return function(req)\n"
              "  for i = 1, 1e9 do\n"
              "    xpcall(function() while true do end end,\n"
              "           function(e) return e end)\n"
              "  end\n"
              "end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 500
          && has(err, "exceeded its budget"));

    fn = load(fl, "co.lua",
              "return function(req)\n"
              "  local co = coroutine.wrap(function() while true do end end)\n"
              "  co()\n"
              "end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 500
          && has(err, "exceeded its budget"));

    /* a budget is per call: a hook near it passes every time */
    fn = load(fl, "busy.lua",
              "return function(req)\n"
              "  local s = 0\n"
              "  for i = 1, 50000 do s = s + i end\n"
              "  return { { s, 0, 0, 0 } }\n"
              "end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 0 && rows[0] == 1250025000);
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 0);

    /* memory: a growing table, a growing string; the state lives on */
    fn = load(fl, "hog.lua",
              "return function(req)\n"
              "  local t = {}\n"
              "  for i = 1, 1e8 do t[i] = {i} end\n"
              "end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 500
          && has(err, "ran out of memory"));

    fn = load(fl, "strhog.lua",
              "return function(req)\n"
              "  return string.rep('x', 1e9)\n"
              "end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 500
          && has(err, "ran out of memory"));

    fn = load(fl, "memcatch.lua",
              "return function(req)\n"
              "  while true do\n"
              "    pcall(function() local t = {} for i = 1, 1e8 do t[i] = i end end)\n"
              "  end\n"
              "end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 500);

    CHECK(forest_lua_memory(fl) < 8 * 1024 * 1024);

    fn = load(fl, "after.lua",
              "return function(req) return { { 1, 2, 3, 4 } } end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 0 && n == 1);

    /* the libraries that could lift the bounds are not there */
    fn = load(fl, "libs.lua",
              "return function(req)\n"
              "  assert(jit == nil and debug == nil and newproxy == nil)\n"
              "  assert(not pcall(require, 'ffi'))\n"
              "  assert(not pcall(require, 'jit'))\n"
              "  assert(require('forest') == forest)\n"
              "  assert(string and table and math and bit and os and io)\n"
              "  return {}\n"
              "end\n");
    CHECK(pre(fl, fn, "{}", &model, &rows, &n) == 0);
    if (n != 0) {
        fprintf(stderr, "  %s\n", err);
    }
}

static void
test_post(forest_lua *fl)
{
    int          st;
    const char  *j;
    const float  served[] = { 0.25f, 0.75f, 0.9f, 0.1f };
    const float  nan_row[] = { NAN, 1 };

    j = post(fl,
             "local labels = { [0] = 'legit', [1] = 'fraud' }\n"
             "return function(req, out)\n"
             "  local res = {}\n"
             "  for i, p in ipairs(out) do\n"
             "    local best = p[2] > p[1] and 1 or 0\n"
             "    res[i] = { label = labels[best], p = p[2] }\n"
             "  end\n"
             "  return { predictions = res, model = req.model.name }\n"
             "end\n", "{}", NULL, served, 2, 2, &st);
    CHECK(st == 0);
    CHECK(has(j, "\"model\":\"fraud\""));
    CHECK(strstr(j, "{\"label\":\"fraud\",\"p\":0.75}")
          || strstr(j, "{\"p\":0.75,\"label\":\"fraud\"}"));
    CHECK(has(j, "\"legit\""));

    j = post(fl, "return function(req, out) return out end\n", "{}", NULL,
             served, 4, 1, &st);
    CHECK(st == 0 && strcmp(j, "[0.25,0.75,0.9,0.1]") == 0);

    j = post(fl, "return function(req, out) return out end\n", "{}", NULL,
             nan_row, 1, 2, &st);
    CHECK(st == 0 && strcmp(j, "[[null,1]]") == 0);

    j = post(fl, "return function(req, out)\n"
                 "  return { e = forest.array(), o = {}, n = forest.null,\n"
                 "           s = 'tab\\tquote\"\\1', big = 2^53, f = 0.1,\n"
                 "           third = 1/3 }\n"
                 "end\n", "{}", NULL, served, 0, 1, &st);
    CHECK(st == 0);
    CHECK(has(j, "\"e\":[]") && has(j, "\"o\":{}") && has(j, "\"n\":null"));
    CHECK(has(j, "\"s\":\"tab\\tquote\\\"\\u0001\""));
    CHECK(has(j, "\"big\":9007199254740992") && has(j, "\"f\":0.1")
          && has(j, "\"third\":0.33333333333333331"));

    /* req seen by post: body, args, headers */
    j = post(fl, "return function(req, out)\n"
                 "  return { id = req.body.id, k = req.args.k, flag = req.args.flag,\n"
                 "           sp = req.args.sp, tag = req.headers['x-tag'],\n"
                 "           ct = req.headers['content-type'],\n"
                 "           m = req.method, nf = req.model.n_features,\n"
                 "           f2 = req.model.features[2], f3 = req.model.features[3],\n"
                 "           c = req.model.classes }\n"
                 "end\n", "{\"id\": \"r1\"}", "k=v1&flag&k=v2&sp=a+b%21",
             served, 0, 1, &st);
    CHECK(st == 0);
    CHECK(has(j, "\"id\":\"r1\"") && has(j, "\"k\":\"v1\"")
          && has(j, "\"flag\":true") && has(j, "\"sp\":\"a b!\"")
          && has(j, "\"tag\":\"a, b\"") && has(j, "\"m\":\"POST\"")
          && has(j, "\"nf\":4") && has(j, "\"f2\":\"colour\"")
          && has(j, "\"f3\":null") && has(j, "\"c\":2")
          && has(j, "\"ct\":\"application/json\""));

    /* results that have no JSON form */
    post(fl, "return function() return { a = { 1, 2, x = 3 } } end\n", "{}",
         NULL, served, 0, 1, &st);
    CHECK(st == 500 && has(err, "post hook result.a: a table with both"));
    post(fl, "return function() return { a = { [1] = 1, [3] = 3 } } end\n",
         "{}", NULL, served, 0, 1, &st);
    CHECK(st == 500 && has(err, "result.a: an array with holes"));
    post(fl, "return function() return { f = print } end\n", "{}", NULL,
         served, 0, 1, &st);
    CHECK(st == 500 && has(err, "result.f: a function has no JSON form"));
    post(fl, "return function() local t = {} t.t = t return t end\n", "{}",
         NULL, served, 0, 1, &st);
    CHECK(st == 500 && has(err, "deeper than 64"));
    post(fl, "return function() return { s = '\\255' } end\n", "{}", NULL,
         served, 0, 1, &st);
    CHECK(st == 500 && has(err, "result.s: a string that is not UTF-8"));
    post(fl, "return function() return { [true] = 1 } end\n", "{}", NULL,
         served, 0, 1, &st);
    CHECK(st == 500 && has(err, "a table key that is a boolean"));
    post(fl, "return function() return { x = {[0] = 1} } end\n", "{}", NULL,
         served, 0, 1, &st);
    CHECK(st == 500 && has(err, "result.x: a table key that is a number"));
    post(fl, "return function() return nil, 409, 'conflict' end\n", "{}",
         NULL, served, 0, 1, &st);
    CHECK(st == 409 && has(err, "conflict"));
    post(fl, "return function() return nil end\n", "{}", NULL, served, 0, 1,
         &st);
    CHECK(st == 500 && has(err, "post hook returned nil"));
    j = post(fl, "return function() return 'plain' end\n", "{}", NULL, served,
             0, 1, &st);
    CHECK(st == 0 && strcmp(j, "\"plain\"") == 0);
}

static void
test_create(void)
{
    forest_lua_conf  conf = { 0, 0, NULL };
    forest_lua      *fl;
    float           *rows;
    size_t           n;
    int              fn;

    /* too small to even open the libraries */
    conf.memory_limit = 1024;
    CHECK(forest_lua_create(&conf, err, sizeof(err)) == NULL);
    CHECK(has(err, "Lua state"));

    conf.memory_limit = 0;
    conf.budget = 3000000000u;
    CHECK(forest_lua_create(&conf, err, sizeof(err)) == NULL);

    /* package_path reaches require() */
    conf.budget = 0;
    snprintf(err, sizeof(err), "%s/?.lua;;", dir);
    conf.package_path = err;
    fl = forest_lua_create(&conf, err, sizeof(err));
    CHECK(fl != NULL);
    if (fl == NULL) {
        return;
    }
    script("mymaps.lua", "return { red = 0, green = 1 }\n");
    fn = load(fl, "req.lua",
              "local maps = require 'mymaps'\n"
              "return function(req)\n"
              "  return { { 1, maps[req.body.c], 0, 0 } }\n"
              "end\n");
    CHECK(pre(fl, fn, "{\"c\": \"green\"}", &model, &rows, &n) == 0
          && rows[1] == 1);
    forest_lua_destroy(fl);
}

int
main(void)
{
    forest_lua_conf  conf = { 4 * 1024 * 1024, 200000, NULL };
    forest_lua      *fl;

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }

    fl = forest_lua_create(&conf, err, sizeof(err));
    CHECK(fl != NULL);
    if (fl == NULL) {
        fprintf(stderr, "%s\n", err);
        return check_summary();
    }

    test_loading(fl);
    test_rows(fl);
    test_body(fl);
    test_errors(fl);
    test_post(fl);
    test_numbers(fl);
    forest_lua_destroy(fl);

    test_create();

    snprintf(err, sizeof(err), "rm -rf '%s'", dir);
    if (system(err) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }

    return check_summary();
}
