/*
 * Request/response codec tests (ngx_module/forest_codec_*.c), built and run
 * by tests/suite_codec.sh.  Every request is parsed whole and again fed in
 * pieces of 1, 2, 3, 7 and 64 bytes, and whole by yajl alone (no JSON fast
 * path): each way must give the same outcome.
 * With a directory argument it also checks the bodies tritonclient wrote
 * there (gen_triton.py) and writes responses for it to decode.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "codec_feed.h"
#include "forest_codec_internal.h"
#include "forest_json_number.h"

#define NO_LEN ((size_t) -1)

/* ---- allocator: an arena freed at exit, optionally failing ------------- */

static feed_arena the_arena = { NULL, 0, SIZE_MAX, -1 };

static fcodec_alloc A = { feed_alloc, &the_arena };

/* ---- models -------------------------------------------------------------- */

static char *names4[] = { "f0", "f1", "f2", "f3" };
static const fcodec_model fraud = { "fraud", 4, names4, 8, 1, NULL, NULL, 1, 0 };
static const fcodec_model plain = { "plain", 4, NULL, 8, 0, NULL, NULL, 0, 0 };
static const fcodec_model one = { "one", 1, NULL, 8, 0, NULL, NULL, 0, 0 };
static const fcodec_model wide = { "wide", 4, NULL, 1000, 0, NULL, NULL, 0, 0 };

/* f1 names red/blue, an unseen one refused (XGBoost); f2 names S/L, an
 * unseen one missing (LightGBM); f0 and f3 have none */
static fcodec_cat_lookup
test_category(const void *ctx, uint32_t f, const char *s, size_t len,
    float *code)
{
    static const char *const names[2][2] = { { "red", "blue" }, { "S", "L" } };

    (void) ctx;
    if (f != 1 && f != 2) {
        return FCODEC_CAT_NO_LIST;
    }
    for (int i = 0; i < 2; i++) {
        if (strlen(names[f - 1][i]) == len
            && memcmp(names[f - 1][i], s, len) == 0)
        {
            *code = (float) i;
            return FCODEC_CAT_FOUND;
        }
    }
    *code = NAN;
    return f == 1 ? FCODEC_CAT_REFUSED : FCODEC_CAT_FOUND;
}

static const fcodec_model named_cats = { "cats", 4, names4, 8, 0,
                                         test_category, NULL, 0, 0 };

/* ---- parsing helpers ----------------------------------------------------- */

static fcodec_request
parse_chunked(fcodec_api api, const fcodec_model *m, const void *body,
    size_t len, size_t json_len, size_t chunk)
{
    return feed_parse(api, m, body, len, json_len, chunk, &A);
}

static int
same_rows(const fcodec_request *a, const fcodec_request *b, uint32_t f)
{
    return a->n_rows == b->n_rows
           && (a->n_rows == 0
               || memcmp(a->rows, b->rows, a->n_rows * f * sizeof(float)) == 0);
}

static int
same_request(const fcodec_request *a, const fcodec_request *b, uint32_t f)
{
    return a->status == b->status && strcmp(a->error, b->error) == 0
           && same_rows(a, b, f)
           && (a->id == NULL) == (b->id == NULL)
           && (a->id == NULL || strcmp(a->id, b->id) == 0)
           && a->binary_output == b->binary_output
           && a->class_count == b->class_count
           && a->outputs_listed == b->outputs_listed
           && a->want_output == b->want_output;
}

/* Parses whole and in pieces, and whole by yajl alone (without the JSON
 * fast path); checks they agree; returns the whole one. */
static fcodec_request
parse_bin(fcodec_api api, const fcodec_model *m, const void *body, size_t len,
    size_t json_len)
{
    static const size_t chunks[] = { 1, 2, 3, 7, 64, 0 };
    fcodec_request      whole = parse_chunked(api, m, body, len, json_len, 0);
    size_t              i;

    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        fcodec_request part;

        fcodec_json_fast = chunks[i] != 0;
        part = parse_chunked(api, m, body, len, json_len, chunks[i]);
        fcodec_json_fast = 1;
        if (!same_request(&whole, &part, m->n_features)) {
            fprintf(stderr, "chunk %zu%s differs: %d \"%s\" vs %d \"%s\" "
                    "for %.*s\n", chunks[i], chunks[i] ? "" : " (yajl alone)",
                    whole.status, whole.error, part.status, part.error,
                    (int) (len < 200 ? len : 200), (const char *) body);
            CHECK(0);
        }
    }
    return whole;
}

static fcodec_request
parse(fcodec_api api, const fcodec_model *m, const char *json)
{
    return parse_bin(api, m, json, strlen(json), NO_LEN);
}

static int
rows_are(const fcodec_request *r, const float *want, size_t n)
{
    size_t i;

    if (r->status != 0 || r->rows == NULL) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (isnan(want[i]) ? !isnan(r->rows[i]) : r->rows[i] != want[i]) {
            fprintf(stderr, "value %zu: %g, want %g\n", i, r->rows[i], want[i]);
            return 0;
        }
    }
    return 1;
}

/* Expects the request to fail with status and a message containing text. */
#define FAILS(req, st, text) do { \
    fcodec_request r_ = (req); \
    CHECK(r_.status == (st)); \
    CHECK(strstr(r_.error, (text)) != NULL); \
    if (r_.status != (st) || strstr(r_.error, (text)) == NULL) \
        fprintf(stderr, "  got %d \"%s\", want %d \"%s\"\n", r_.status, \
                r_.error, (st), (text)); \
} while (0)

#define KS(json)  parse(FCODEC_KSERVE, &fraud, json)
#define SI(json)  parse(FCODEC_SIMPLE, &fraud, json)

#define INPUT(shape, dt, data) \
    "{\"inputs\":[{\"name\":\"input__0\",\"shape\":" shape ",\"datatype\":\"" \
    dt "\",\"data\":" data "}]}"

static const float r8[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

/* ---- KServe JSON --------------------------------------------------------- */

static void
test_kserve_valid(void)
{
    fcodec_request r;
    float          with_nan[8] = { 1, NAN, 3, 4, 5, 6, 7, NAN };

    r = KS(INPUT("[2,4]", "FP32", "[1,2,3,4,5,6,7,8]"));
    CHECK(r.n_rows == 2 && rows_are(&r, r8, 8));
    CHECK(r.want_output == 1 && r.binary_output == 0 && r.id == NULL);
    CHECK(r.outputs_listed == 0 && r.class_count == 0);
    CHECK(r.input_name != NULL && strcmp(r.input_name, "input__0") == 0);

    r = KS(INPUT("[2,4]", "FP32", "[[1,null,3,4],[5,6,7,null]]"));
    CHECK(r.n_rows == 2 && rows_are(&r, with_nan, 8));

    /* members in any order, unknown members skipped whatever they hold */
    r = KS("{\"x\":{\"a\":[1,{\"b\":[null,\"s\"]}]},\"inputs\":[{\"data\":"
           "[1,2,3,4,5,6,7,8],\"junk\":[[[]]],\"datatype\":\"FP32\",\"shape\":"
           "[2,4],\"name\":\"input__0\"}],\"parameters\":{\"sequence_id\":3,"
           "\"priority\":{\"a\":1}}}");
    CHECK(r.n_rows == 2 && rows_are(&r, r8, 8));

    r = KS("{\"id\":\"req \\\"7\\\"\",\"inputs\":[{\"name\":\"input__0\","
           "\"shape\":[1,4],\"datatype\":\"FP32\",\"data\":[1,2,3,4]}],"
           "\"outputs\":[{\"name\":\"output__0\",\"parameters\":{"
           "\"binary_data\":true,\"classification\":2}}]}");
    CHECK(r.status == 0 && r.id != NULL && strcmp(r.id, "req \"7\"") == 0);
    CHECK(r.outputs_listed && r.want_output && r.binary_output == 1);
    CHECK(r.class_count == 2);

    /* tritonclient without outputs asks binary output for all */
    r = KS("{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],\"datatype\":"
           "\"FP32\",\"data\":[1,2,3,4]}],\"parameters\":{"
           "\"binary_data_output\":true}}");
    CHECK(r.status == 0 && r.binary_output == 1 && !r.outputs_listed);
    /* a listed output without binary_data takes the request's default... */
    r = KS("{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],\"datatype\":"
           "\"FP32\",\"data\":[1,2,3,4]}],\"parameters\":{"
           "\"binary_data_output\":true},\"outputs\":[{\"name\":\"output__0\"}]}");
    CHECK(r.status == 0 && r.binary_output == 1 && r.outputs_listed);
    /* ...and its own binary_data overrides it */
    r = KS("{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],\"datatype\":"
           "\"FP32\",\"data\":[1,2,3,4]}],\"parameters\":{"
           "\"binary_data_output\":true},\"outputs\":[{\"parameters\":{"
           "\"binary_data\":false},\"name\":\"output__0\"}]}");
    CHECK(r.status == 0 && r.binary_output == 0);
    /* an empty outputs list is the same as none */
    r = KS("{\"outputs\":[],\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],"
           "\"datatype\":\"FP32\",\"data\":[1,2,3,4]}]}");
    CHECK(r.status == 0 && !r.outputs_listed && r.want_output);
}

static void
test_kserve_datatypes(void)
{
    fcodec_request r;
    float          big[4] = { 9.0071993e15f, -9.2233720e18f, 0, 1 };
    float          bools[4] = { 1, 0, 0, 1 };
    float          fp64[4] = { 0.1f, INFINITY, -INFINITY, 1e-50 };

    r = KS(INPUT("[1,4]", "FP64", "[1,2,3,4]"));
    CHECK(rows_are(&r, r8, 4));
    r = KS(INPUT("[1,4]", "INT32", "[1,2,3,4]"));
    CHECK(rows_are(&r, r8, 4));
    r = KS(INPUT("[1,4]", "UINT8", "[1,2,3,4.0]"));
    CHECK(rows_are(&r, r8, 4));
    r = KS(INPUT("[1,4]", "INT64",
                 "[9007199254740993,-9223372036854775808,0,1]"));
    CHECK(rows_are(&r, big, 4));
    r = KS(INPUT("[1,4]", "BOOL", "[true,false,false,true]"));
    CHECK(rows_are(&r, bools, 4));
    /* FP64 values past float32's range become infinities, not UB */
    r = KS(INPUT("[1,4]", "FP64", "[0.1,1e300,-1e300,1e-50]"));
    fp64[3] = 0;
    CHECK(rows_are(&r, fp64, 4));
    /* numbers longer than a long long are still numbers */
    r = KS(INPUT("[1,4]", "FP32", "[123456789012345678901234567890,1,2,3]"));
    CHECK(r.status == 0 && r.rows[0] == 1.2345679e29f);
    /* yajl takes a number only once it ends; whole and piecewise agree */
    r = KS(INPUT("[1,4]", "FP32", "[1.5e-3,-0,2E+2,0.000001]"));
    CHECK(r.status == 0 && r.rows[0] == 1.5e-3f && r.rows[2] == 200.0f);

    /* 64-bit bounds are compared as integers: past 2^53 a double holds
     * both 9223372036854775807 and 9223372036854775808 as 2^63 */
    r = KS(INPUT("[1,4]", "INT64",
                 "[9223372036854775807,-9223372036854775808,"
                 "92233720368547758.07e2,-0]"));
    CHECK(r.status == 0 && r.rows[0] == 0x1p63f && r.rows[1] == -0x1p63f);
    FAILS(KS(INPUT("[1,4]", "INT64", "[9223372036854775808,0,0,1]")), 400,
          "input__0 is INT64 but its data holds 9223372036854775808, outside "
          "the type's range");
    FAILS(KS(INPUT("[1,4]", "INT64", "[0,-9223372036854775809,0,1]")), 400,
          "input__0 is INT64 but its data holds -9223372036854775809, "
          "outside");
    FAILS(KS(INPUT("[1,4]", "INT64", "[0,9223372036854775807.5,0,1]")), 400,
          "holds 9223372036854775807.5, outside");
    r = KS(INPUT("[1,4]", "UINT64",
                 "[18446744073709551615,9223372036854775808,"
                 "1.8446744073709551615E19,0]"));
    CHECK(r.status == 0 && r.rows[0] == 0x1p64f && r.rows[1] == 0x1p63f);
    FAILS(KS(INPUT("[1,4]", "UINT64", "[18446744073709551616,0,0,1]")), 400,
          "input__0 is UINT64 but its data holds 18446744073709551616, "
          "outside the type's range");
    FAILS(KS(INPUT("[1,4]", "UINT64", "[0,1.8446744073709551616e19,0,1]")),
          400, "holds 1.8446744073709551616e19, outside");
    FAILS(KS(INPUT("[1,4]", "UINT64", "[0,-1,0,1]")), 400,
          "holds -1, outside");

    FAILS(KS(INPUT("[1,4]", "INT32", "[1,2.5,3,4]")), 400,
          "input__0 is INT32 but its data holds 2.5");
    FAILS(KS(INPUT("[1,4]", "UINT8", "[1,2,300,4]")), 400,
          "input__0 is UINT8 but its data holds 300, outside");
    FAILS(KS(INPUT("[1,4]", "UINT32", "[1,-2,3,4]")), 400,
          "holds -2, outside");
    FAILS(KS(INPUT("[1,4]", "FP32", "[1,1e39,3,4]")), 400,
          "input__0 is FP32 but its data holds 1e+39, outside");
    FAILS(KS(INPUT("[1,4]", "FP64", "[1,1e999,3,4]")), 400, "outside");
    FAILS(KS(INPUT("[1,4]", "FP32", "[1,3.4028236e38,3,4]")), 400, "outside");
    r = KS(INPUT("[1,4]", "FP32", "[3.4028235e38,-3.4028235e38,0,0]"));
    CHECK(r.status == 0 && r.rows[0] == FLT_MAX && r.rows[1] == -FLT_MAX);
    FAILS(KS(INPUT("[1,4]", "BOOL", "[true,1,0,false]")), 400,
          "input__0 is BOOL but its data holds numbers");
    FAILS(KS(INPUT("[1,4]", "FP32", "[true,1,0,2]")), 400,
          "input__0 is FP32 but its data holds true or false");
    FAILS(KS(INPUT("[1,4]", "BYTES", "[1,2,3,4]")), 400,
          "input__0 datatype \"BYTES\" is not supported");
    FAILS(KS(INPUT("[1,4]", "FP8", "[1,2,3,4]")), 400,
          "input__0 datatype \"FP8\" is not supported");
    FAILS(KS(INPUT("[1,4]", "fp32", "[1,2,3,4]")), 400, "not supported");
}

static void
test_kserve_errors(void)
{
    char deep[512];
    int  i, at = 0;

    FAILS(KS(""), 400, "the request body is empty");
    FAILS(KS("hello"), 400, "invalid JSON: lexical error: invalid char");
    FAILS(KS("{\"inputs\":[{\"name\":\"input__0\""), 400, "premature EOF");
    FAILS(KS("{\"inputs\":[]} x"), 400, "invalid JSON");
    FAILS(KS("{\"inputs\":[]} {}"), 400, "invalid JSON");
    FAILS(KS("/* c */ {}"), 400, "invalid JSON");
    FAILS(KS("{\"id\":\"\xff\"}"), 400, "invalid JSON");
    FAILS(KS(INPUT("[1,4]", "FP32", "[NaN,1,2,3]")), 400,
          "(NaN and Infinity are not JSON: send null for a missing value)");
    FAILS(KS(INPUT("[1,4]", "FP32", "[1,Infinity,2,3]")), 400,
          "NaN and Infinity are not JSON");
    FAILS(KS(INPUT("[1,4]", "FP32", "[1,2,-Infinity,3]")), 400,
          "NaN and Infinity are not JSON");
    FAILS(KS("[1,2]"), 400, "the request is an array; it must be a JSON "
          "object");
    FAILS(KS("{}"), 400, "the request has no inputs; model fraud takes "
          "input__0");
    FAILS(KS("{\"inputs\":{}}"), 400, "\"inputs\" is an object; it must be "
          "an array");
    FAILS(KS("{\"inputs\":[1]}"), 400, "an entry of \"inputs\" is a number");
    FAILS(KS("{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],"
             "\"datatype\":\"FP32\",\"data\":[1,2,3,4]},"
             "{\"name\":\"base_margin\"},{}]}"),
          400, "model fraud has the inputs input__0 and base_margin; the "
          "request has more");
    FAILS(KS("{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],"
             "\"datatype\":\"FP32\",\"data\":[1,2,3,4]},{\"name\":\"input__1\"}]}"),
          400, "unknown input \"input__1\": model fraud has the inputs "
          "input__0 and base_margin");
    FAILS(KS(INPUT("[1,4]", "FP32", "[1,2,3,4]") "x"), 400, "invalid JSON");
    FAILS(KS("{\"inputs\":[{\"name\":\"features\"}]}"), 400,
          "unknown input \"features\": model fraud has the inputs input__0 "
          "and base_margin");
    FAILS(KS("{\"inputs\":[{\"name\":7}]}"), 400, "\"name\" is a number");
    FAILS(KS("{\"inputs\":[{\"shape\":[1,4],\"datatype\":\"FP32\","
             "\"data\":[1,2,3,4]}]}"), 400, "the input has no \"name\"");
    FAILS(KS("{\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\","
             "\"data\":[1,2,3,4]}]}"), 400, "input__0 has no \"shape\"");
    FAILS(KS("{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],"
             "\"data\":[1,2,3,4]}]}"), 400, "input__0 has no \"datatype\"");
    FAILS(KS("{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],"
             "\"datatype\":\"FP32\"}]}"), 400,
          "input__0 needs either \"data\" or parameters.binary_data_size "
          "(it has neither)");
    FAILS(KS("{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],"
             "\"datatype\":\"FP32\",\"data\":[1,2,3,4],\"data\":[1]}]}"),
          400, "input__0 gives \"data\" twice");

    /* shape */
    FAILS(KS(INPUT("[4]", "FP32", "[1,2,3,4]")), 400,
          "input__0 shape [4] must have two dimensions: [rows, 4]");
    FAILS(KS(INPUT("[1,1,4]", "FP32", "[1,2,3,4]")), 400,
          "input__0 shape [1,1,4] must have two dimensions");
    FAILS(KS(INPUT("[1,2,3,4,5,6]", "FP32", "[1]")), 400,
          "shape [1,2,3,4,...] must have two dimensions");
    FAILS(KS(INPUT("[1,5]", "FP32", "[1,2,3,4,5]")), 400,
          "input__0 shape [1,5]: model fraud expects 4 features");
    FAILS(KS(INPUT("[0,4]", "FP32", "[]")), 400,
          "input__0 shape [0,4] holds no rows");
    FAILS(KS(INPUT("[1.5,4]", "FP32", "[]")), 400,
          "each dimension of input__0 \"shape\" must be an integer");
    FAILS(KS(INPUT("[-1,4]", "FP32", "[]")), 400, "must be an integer");
    FAILS(KS(INPUT("\"1,4\"", "FP32", "[]")), 400, "\"shape\" is a string");
    FAILS(KS(INPUT("[2,4]", "FP32", "[1,2,3,4,5,6,7]")), 400,
          "input__0 shape [2,4] has 8 values, got 7");
    FAILS(KS(INPUT("[2,4]", "FP32", "[[1,2,3,4]]")), 400,
          "input__0 shape [2,4] has 8 values, got 4");
    FAILS(KS(INPUT("[2,4]", "FP32", "[[1,2,3,4],[5,6,7]]")), 400,
          "row 1 has 3 features, model fraud expects 4");
    FAILS(KS(INPUT("[2,4]", "FP32", "[[1,2,3,4],[5,6,7,8,9]]")), 400,
          "row 1 has 5 features, model fraud expects 4");
    FAILS(KS(INPUT("[1,4]", "FP32", "[[[1,2,3,4]]]")), 400,
          "input__0 data is nested deeper than its shape [rows, 4]");
    FAILS(KS(INPUT("[2,4]", "FP32", "[[1,2,3,4],5,6,7,8]")), 400,
          "input__0 data mixes rows (arrays) and single values");
    FAILS(KS(INPUT("[2,4]", "FP32", "[1,2,3,4,[5,6,7,8]]")), 400,
          "input__0 data mixes rows");
    FAILS(KS(INPUT("[1,4]", "FP32", "[1,\"2\",3,4]")), 400,
          "input__0 data value 1 is a string; values must be numbers (null "
          "marks a missing value)");
    FAILS(KS(INPUT("[1,4]", "FP32", "[1,2,{},4]")), 400,
          "input__0 data value 2 is an object");
    FAILS(KS(INPUT("[1,4]", "FP32", "{\"a\":1}")), 400,
          "input__0 \"data\" is an object; it must be an array");

    /* too many rows: from the shape, or from the data before any shape */
    FAILS(KS(INPUT("[9,4]", "FP32", "[]")), 413,
          "input__0 has 9 rows; model fraud takes at most 8 per request");
    FAILS(KS("{\"inputs\":[{\"data\":[" "1,2,3,4,5,6,7,8,1,2,3,4,5,6,7,8,"
             "1,2,3,4,5,6,7,8,1,2,3,4,5,6,7,8,9]}]}"), 413,
          "the request has more than 8 rows; model fraud takes at most 8");
    FAILS(KS("{\"inputs\":[{\"data\":[[1,2,3,4],[1,2,3,4],[1,2,3,4],"
             "[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1]]}]}"),
          413, "more than 8 rows");

    /* members the parser ignores may nest as deep as they like; an
     * unclosed one is still invalid JSON */
    at += sprintf(deep + at, "{\"x\":");
    for (i = 0; i < 40; i++) {
        deep[at++] = '[';
    }
    strcpy(deep + at, "]");
    FAILS(KS(deep), 400, "invalid JSON: parse error: premature EOF");

    /* outputs */
    FAILS(KS("{\"outputs\":[{\"name\":\"output__1\"}]}"), 400,
          "unknown output \"output__1\": model fraud answers output__0, "
          "treeshap_output, leaf_index, treeshap_interactions");
    {
        /* interactions of more values than FCODEC_INTERACTIONS_MAX: 413 */
        static const fcodec_model ix = { "ix", 4, names4, 8, 1, NULL, NULL,
                                         1, FCODEC_INTERACTIONS_MAX / 2 };
        fcodec_request ok;

        FAILS(parse(FCODEC_KSERVE, &ix, "{\"inputs\":[{\"name\":"
                    "\"input__0\",\"shape\":[3,4],\"datatype\":\"FP32\","
                    "\"data\":[1,2,3,4,5,6,7,8,9,10,11,12]}],\"outputs\":"
                    "[{\"name\":\"treeshap_interactions\"}]}"), 413,
              "treeshap_interactions of model ix take 2097152 values a row; "
              "a request may ask for at most 4194304 values (2 rows), this "
              "one sent 3 rows");
        FAILS(parse(FCODEC_SIMPLE, &ix, "{\"instances\":[[1,2,3,4],[5,6,7,8],"
                    "[9,10,11,12]],\"interactions\":true}"), 413,
              "this one sent 3 rows");
        ok = parse(FCODEC_SIMPLE, &ix, "{\"instances\":[[1,2,3,4],[5,6,7,8]],"
                   "\"interactions\":true}");
        CHECK(ok.status == 0 && ok.n_rows == 2);
        ok = parse(FCODEC_SIMPLE, &ix, "{\"instances\":[[1,2,3,4],[5,6,7,8],"
                   "[9,10,11,12]]}");
        CHECK(ok.status == 0 && ok.n_rows == 3);
    }
    FAILS(KS("{\"outputs\":[{\"parameters\":{}}]}"), 400,
          "an entry of \"outputs\" has no \"name\"");
    FAILS(KS("{\"outputs\":[{\"name\":\"output__0\",\"parameters\":{"
             "\"classification\":-1}}]}"), 400,
          "output__0 parameters.classification must be an integer from 0 to "
          "4294967295");
    FAILS(KS("{\"outputs\":[{\"name\":\"output__0\",\"parameters\":{"
             "\"classification\":1.5}}]}"), 400, "classification must be");
    FAILS(KS("{\"outputs\":[{\"name\":\"output__0\",\"parameters\":{"
             "\"binary_data\":1}}]}"), 400,
          "output__0 parameters.binary_data is a number; it must be true or "
          "false");
    FAILS(KS("{\"outputs\":[{\"name\":\"output__0\",\"parameters\":{"
             "\"shared_memory_region\":\"r\"}}]}"), 400,
          "shared memory tensors are not supported");
    FAILS(KS("{\"outputs\":{}}"), 400, "\"outputs\" is an object");
    FAILS(KS("{\"parameters\":{\"binary_data_output\":\"yes\"}}"), 400,
          "parameters.binary_data_output is a string");
    FAILS(KS("{\"parameters\":[]}"), 400, "\"parameters\" is an array");
    FAILS(KS("{\"id\":5}"), 400, "\"id\" must be a string");
    FAILS(KS("{\"id\":\"a\\u0000b\"}"), 400, "\"id\" must be a string "
          "(without NUL)");
    FAILS(KS("{\"inputs\":[{\"name\":\"input__0\",\"parameters\":{"
             "\"shared_memory_region\":\"r\"}}]}"), 400, "shared memory");
}

/* ---- KServe binary tensor extension ------------------------------------- */

typedef struct {
    uint8_t  body[1024];
    size_t   len, json_len;
} binreq;

static void
binreq_make(binreq *b, const char *shape, const char *dt, long declared,
    const void *tensor, size_t tensor_len)
{
    b->json_len = (size_t) snprintf((char *) b->body, sizeof(b->body),
        "{\"inputs\":[{\"name\":\"input__0\",\"shape\":%s,\"datatype\":\"%s\","
        "\"parameters\":{\"binary_data_size\":%ld}}],\"outputs\":[{\"name\":"
        "\"output__0\",\"parameters\":{\"binary_data\":true}}]}",
        shape, dt, declared);
    memcpy(b->body + b->json_len, tensor, tensor_len);
    b->len = b->json_len + tensor_len;
}

static fcodec_request
parse_binreq(const binreq *b)
{
    return parse_bin(FCODEC_KSERVE, &fraud, b->body, b->len, b->json_len);
}

/* Members the parser ignores are skipped whole, however deep they nest,
 * with their keys and values unread. */
/* base_margin: a second KServe input, a simple API member (iris: 3) */
#define BM_ROWS "[[1,2,3,4],[5,6,7,8]]"
#define BM_INPUT0 "{\"name\":\"input__0\",\"shape\":[2,4],\"datatype\":" \
    "\"FP32\",\"data\":" BM_ROWS "}"
#define KS_BM(bm) "{\"inputs\":[" BM_INPUT0 ",{\"name\":\"base_margin\"," bm "}]}"
#define BM(model, api, json) parse(api, &(model), json)

static void
test_base_margin(void)
{
    static const fcodec_model iris = { "iris", 4, NULL, 16, 0, NULL, NULL, 3, 0 };
    static const float        want1[2] = { 0.5f, -1 };
    static const float        want3[6] = { 1, 2, 3, 4, 5, 6 };
    fcodec_request            r;

    /* KServe: [N] for one output, [N, C] flat or per row; either order of
     * the inputs */
    r = KS(KS_BM("\"shape\":[2],\"datatype\":\"FP64\",\"data\":[0.5,-1]"));
    CHECK(r.status == 0 && r.base_margin != NULL
          && memcmp(r.base_margin, want1, sizeof(want1)) == 0);
    r = KS("{\"inputs\":[{\"name\":\"base_margin\",\"data\":[[0.5],[-1]],"
           "\"datatype\":\"FP32\",\"shape\":[2,1]}," BM_INPUT0 "]}");
    CHECK(r.status == 0 && r.base_margin != NULL
          && memcmp(r.base_margin, want1, sizeof(want1)) == 0);
    r = BM(iris, FCODEC_KSERVE, KS_BM("\"shape\":[2,3],\"datatype\":\"FP32\","
                                     "\"data\":[[1,2,3],[4,5,6]]"));
    CHECK(r.status == 0 && r.base_margin != NULL
          && memcmp(r.base_margin, want3, sizeof(want3)) == 0);
    r = BM(iris, FCODEC_KSERVE, KS_BM("\"shape\":[2,3],\"datatype\":\"FP32\","
                                     "\"data\":[1,2,3,4,5,6]"));
    CHECK(r.status == 0 && r.base_margin != NULL
          && memcmp(r.base_margin, want3, sizeof(want3)) == 0);
    r = KS(INPUT("[1,4]", "FP32", "[1,2,3,4]"));
    CHECK(r.status == 0 && r.base_margin == NULL);

    /* wrong count, shape or type */
    FAILS(KS(KS_BM("\"shape\":[3],\"datatype\":\"FP32\",\"data\":[1,2,3]")),
          400, "base_margin shape has 3 rows; input__0 has 2");
    FAILS(KS(KS_BM("\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1]")),
          400, "base_margin holds 1 values; 2 rows of 1 margins take 2");
    FAILS(BM(iris, FCODEC_KSERVE, KS_BM("\"shape\":[2],\"datatype\":\"FP32\","
                                        "\"data\":[1,2]")),
          400, "base_margin shape must be [2, 3]: model iris has 3 outputs");
    FAILS(BM(iris, FCODEC_KSERVE, KS_BM("\"shape\":[2,3],\"datatype\":"
                                        "\"FP32\",\"data\":[[1,2],[3,4]]")),
          400, "base_margin row 0 holds 2 values; model iris takes 3");
    FAILS(KS(KS_BM("\"shape\":[2],\"datatype\":\"INT32\",\"data\":[1,2]")),
          400, "base_margin datatype must be FP32 or FP64");
    FAILS(KS(KS_BM("\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1,null]")),
          400, "base_margin value 1 is null; it must be a number");
    FAILS(KS(KS_BM("\"shape\":[2],\"datatype\":\"FP32\"")), 400,
          "base_margin needs either \"data\" or parameters.binary_data_size "
          "(it has neither)");
    FAILS(KS(KS_BM("\"shape\":[2],\"datatype\":\"FP32\",\"parameters\":"
                   "{\"binary_data_size\":8}")),
          400, "base_margin has binary_data_size but the request has no "
          "Inference-Header-Content-Length");
    FAILS(KS("{\"inputs\":[" BM_INPUT0 ",{\"shape\":[2],\"name\":"
             "\"base_margin\"}]}"),
          400, "an input after input__0 must give its \"name\" before its "
          "other members");
    FAILS(KS("{\"inputs\":[{\"datatype\":\"FP32\",\"name\":\"base_margin\"},"
             BM_INPUT0 "]}"),
          400, "input base_margin must give its \"name\" before its other "
          "members");
    FAILS(KS("{\"inputs\":[" BM_INPUT0 "," BM_INPUT0 "]}"), 400,
          "the request gives input__0 twice");
    FAILS(KS("{\"inputs\":[" BM_INPUT0 ",{}]}"), 400,
          "an input has no \"name\"");
    FAILS(BM(plain, FCODEC_KSERVE, KS_BM("\"shape\":[2],\"data\":[1,2]")),
          400, "model plain takes no base_margin");

    /* simple API */
    r = SI("{\"instances\":" BM_ROWS ",\"base_margin\":[0.5,-1]}");
    CHECK(r.status == 0 && r.base_margin != NULL
          && memcmp(r.base_margin, want1, sizeof(want1)) == 0);
    r = BM(iris, FCODEC_SIMPLE, "{\"base_margin\":[[1,2,3],[4,5,6]],"
                                "\"instances\":" BM_ROWS "}");
    CHECK(r.status == 0 && r.base_margin != NULL
          && memcmp(r.base_margin, want3, sizeof(want3)) == 0);
    FAILS(SI("{\"instances\":" BM_ROWS ",\"base_margin\":[0.5]}"), 400,
          "base_margin holds 1 values; 2 rows of 1 margins take 2");
    FAILS(SI("{\"instances\":" BM_ROWS ",\"base_margin\":0.5}"), 400,
          "\"base_margin\" is a number; it must be an array");
    FAILS(SI("{\"instances\":" BM_ROWS ",\"base_margin\":[[[1]]]}"), 400,
          "nested deeper");
    FAILS(SI("{\"instances\":" BM_ROWS ",\"base_margin\":[1,[2]]}"), 400,
          "base_margin mixes rows (arrays) and single values");
}

static void
test_ignored_members(void)
{
    static char    body[16 * 20000 + 256];
    fcodec_request r;
    int            i, at;

    at = sprintf(body, "{\"parameters\":{\"deep\":");
    for (i = 0; i < 20000; i++) {
        at += sprintf(body + at, "{\"inputs\":[");
    }
    for (i = 0; i < 20000; i++) {
        at += sprintf(body + at, "%s]}", i ? "" : "1e999999,\"x\"");
    }
    sprintf(body + at, "},%s", INPUT("[1,4]", "FP32", "[1,2,3,4]") + 1);
    r = KS(body);
    CHECK(r.status == 0 && rows_are(&r, r8, 4));

    at = sprintf(body, "{\"instances\":[[1,2,3,4]],\"meta\":");
    for (i = 0; i < 20000; i++) {
        body[at++] = '[';
    }
    for (i = 0; i < 20000; i++) {
        body[at++] = ']';
    }
    strcpy(body + at, "}");
    r = parse(FCODEC_SIMPLE, &plain, body);
    CHECK(r.status == 0 && rows_are(&r, r8, 4));
}

/* Exact comparison of a number's text with an integer bound. */
static void
test_number_cmp(void)
{
    static const struct {
        const char *num, *bound;
        int         sign;
    } cases[] = {
        { "0", "1", -1 }, { "-0.0e5", "0", 0 }, { "100e-2", "1", 0 },
        { "0.000001e6", "1", 0 }, { "12.5", "12", 1 }, { "12.5", "13", -1 },
        { "1e-400", "1", -1 }, { "1e400", "18446744073709551615", 1 },
        { "-9223372036854775808", "9223372036854775808", 0 },
        { "9223372036854775807.0000", "9223372036854775807", 0 },
        { "9223372036854775807.0001", "9223372036854775807", 1 },
        { "922337203685477580.8e1", "9223372036854775807", 1 },
        { "0.9223372036854775807e19", "9223372036854775807", 0 },
        { "00018446744073709551615", "18446744073709551615", 0 },
        { "18446744073709551614", "18446744073709551615", -1 },
        { "1.8446744073709551616e19", "18446744073709551615", 1 },
    };
    size_t i;
    int    got;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got = fcodec_number_cmp(cases[i].num, strlen(cases[i].num),
                                cases[i].bound);
        got = (got > 0) - (got < 0);
        CHECK(got == cases[i].sign);
        if (got != cases[i].sign) {
            fprintf(stderr, "  %s against %s: %d, want %d\n", cases[i].num,
                    cases[i].bound, got, cases[i].sign);
        }
    }
}

static void
test_binary(void)
{
    binreq         b;
    fcodec_request r;
    float          f32[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    double         f64[4] = { 1, 2, 3, 4 };
    int32_t        i32[4] = { 1, 2, 3, 4 };
    int64_t        i64[4] = { 1, 2, 3, -4 };
    uint8_t        u8[4] = { 1, 2, 3, 4 }, bools[4] = { 1, 0, 7, 0 };
    /* 1, -2, 65504, NaN in FP16; 1, -2, 3.5, 0 in BF16 */
    uint16_t       f16[4] = { 0x3c00, 0xc000, 0x7bff, 0x7e00 };
    uint16_t       bf16[4] = { 0x3f80, 0xc000, 0x4060, 0x0000 };
    float          nan_row[4] = { 1, NAN, 3, 4 };

    binreq_make(&b, "[2,4]", "FP32", 32, f32, 32);
    r = parse_binreq(&b);
    CHECK(r.n_rows == 2 && rows_are(&r, r8, 8) && r.binary_output == 1);

    binreq_make(&b, "[1,4]", "FP32", 16, nan_row, 16);
    r = parse_binreq(&b);
    CHECK(r.n_rows == 1 && rows_are(&r, nan_row, 4));

    binreq_make(&b, "[1,4]", "FP64", 32, f64, 32);
    CHECK(rows_are((r = parse_binreq(&b), &r), r8, 4));
    binreq_make(&b, "[1,4]", "INT32", 16, i32, 16);
    CHECK(rows_are((r = parse_binreq(&b), &r), r8, 4));
    binreq_make(&b, "[1,4]", "UINT8", 4, u8, 4);
    CHECK(rows_are((r = parse_binreq(&b), &r), r8, 4));
    binreq_make(&b, "[1,4]", "INT64", 32, i64, 32);
    r = parse_binreq(&b);
    CHECK(r.status == 0 && r.rows[0] == 1 && r.rows[3] == -4);
    binreq_make(&b, "[1,4]", "BOOL", 4, bools, 4);
    r = parse_binreq(&b);
    CHECK(r.status == 0 && r.rows[0] == 1 && r.rows[1] == 0
          && r.rows[2] == 1);
    binreq_make(&b, "[1,4]", "FP16", 8, f16, 8);
    r = parse_binreq(&b);
    CHECK(r.status == 0 && r.rows[0] == 1 && r.rows[1] == -2
          && r.rows[2] == 65504 && isnan(r.rows[3]));
    binreq_make(&b, "[1,4]", "BF16", 8, bf16, 8);
    r = parse_binreq(&b);
    CHECK(r.status == 0 && r.rows[0] == 1 && r.rows[1] == -2
          && r.rows[2] == 3.5f && r.rows[3] == 0);

    /* sizes that lie */
    binreq_make(&b, "[2,4]", "FP32", 30, f32, 30);
    FAILS(parse_binreq(&b), 400, "input__0 binary_data_size is 30 but shape "
          "[2,4] of FP32 takes 32 bytes");
    binreq_make(&b, "[2,4]", "FP32", 32, f32, 28);
    FAILS(parse_binreq(&b), 400, "input__0: binary_data_size is 32 but the "
          "body holds 28 bytes after the JSON header");
    binreq_make(&b, "[2,4]", "FP32", 32, f32, 32);
    memcpy(b.body + b.len, "xyzw", 4);
    b.len += 4;
    FAILS(parse_binreq(&b), 400, "input__0: the body holds more than its "
          "binary_data_size (32 bytes) after the JSON header");
    binreq_make(&b, "[2,4]", "FP64", 32, f32, 32);
    FAILS(parse_binreq(&b), 400, "shape [2,4] of FP64 takes 64 bytes");

    /* header length that lies, or is missing: the binary part is no
     * trailing garbage but the sign of the missing header */
    binreq_make(&b, "[2,4]", "FP32", 32, f32, 32);
    FAILS(parse_bin(FCODEC_KSERVE, &fraud, b.body, b.len, NO_LEN), 400,
          "input__0 has binary_data_size but the request has no "
          "Inference-Header-Content-Length");
    FAILS(parse_bin(FCODEC_KSERVE, &fraud, b.body, b.len, b.len + 10), 400,
          "trailing garbage");
    FAILS(parse_bin(FCODEC_KSERVE, &fraud, b.body, b.len, b.json_len - 3),
          400, "invalid JSON");
    FAILS(parse_bin(FCODEC_KSERVE, &fraud, b.body, b.len, 0), 400,
          "Inference-Header-Content-Length is 0");
    b.json_len = (size_t) sprintf((char *) b.body,
        INPUT("[1,4]", "FP32", "[1,2,3,4]"));
    r = parse_bin(FCODEC_KSERVE, &fraud, b.body, b.json_len, b.json_len);
    CHECK(r.status == 0 && rows_are(&r, r8, 4));
    FAILS(parse_bin(FCODEC_KSERVE, &fraud, b.body, b.json_len,
                    b.json_len + 10), 400,
          "the body ends after 81 bytes, inside the 91-byte JSON header "
          "(Inference-Header-Content-Length)");
    memcpy(b.body + b.json_len, "abcd", 4);
    FAILS(parse_bin(FCODEC_KSERVE, &fraud, b.body, b.json_len + 4,
                    b.json_len), 400,
          "the body goes on after the 81-byte JSON header, but no input has "
          "binary_data_size");
    b.json_len = (size_t) sprintf((char *) b.body,
        "{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],\"datatype\":"
        "\"FP32\",\"parameters\":{\"binary_data_size\":16}}]}");
    FAILS(parse(FCODEC_KSERVE, &fraud, (char *) b.body), 400,
          "input__0 has binary_data_size but the request has no "
          "Inference-Header-Content-Length");
    b.json_len = (size_t) sprintf((char *) b.body,
        "{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],\"datatype\":"
        "\"FP32\",\"data\":[1,2,3,4],\"parameters\":{\"binary_data_size\":16}}]}");
    FAILS(parse(FCODEC_KSERVE, &fraud, (char *) b.body), 400,
          "(it has both)");
    b.json_len = (size_t) sprintf((char *) b.body,
        "{\"inputs\":[{\"name\":\"input__0\",\"shape\":[1,4],\"datatype\":"
        "\"FP32\",\"parameters\":{\"binary_data_size\":-16}}]}");
    FAILS(parse(FCODEC_KSERVE, &fraud, (char *) b.body), 400,
          "input__0 parameters.binary_data_size must be an integer");
    /* the simple API ignores a header length: its body is JSON */
    r = parse_bin(FCODEC_SIMPLE, &fraud, "[1,2,3,4]", 9, 3);
    CHECK(r.status == 0 && rows_are(&r, r8, 4));
}

/* Binary data for base_margin and BYTES: a JSON header of the inputs,
 * then their tensors one after another in the inputs' order. */
static fcodec_request
parse_sections(const fcodec_model *m, const char *json, const void *bin,
    size_t bin_len)
{
    static uint8_t body[1024];
    size_t         json_len = strlen(json);

    memcpy(body, json, json_len);
    memcpy(body + json_len, bin, bin_len);
    return parse_bin(FCODEC_KSERVE, m, body, json_len + bin_len, json_len);
}

#define BIN_IN0(shape, dt, size) "{\"name\":\"input__0\",\"shape\":" shape \
    ",\"datatype\":\"" dt "\",\"parameters\":{\"binary_data_size\":" size "}}"
#define BIN_BM(shape, dt, size) "{\"name\":\"base_margin\",\"shape\":" shape \
    ",\"datatype\":\"" dt "\",\"parameters\":{\"binary_data_size\":" size "}}"

/* Triton's BYTES serialisation of n strings into out; its length */
static size_t
bytes_tensor(uint8_t *out, const char *const *s, size_t n)
{
    size_t at = 0, i, len;

    for (i = 0; i < n; i++) {
        len = strlen(s[i]);
        out[at] = (uint8_t) len;
        out[at + 1] = (uint8_t) (len >> 8);
        out[at + 2] = (uint8_t) (len >> 16);
        out[at + 3] = (uint8_t) (len >> 24);
        memcpy(out + at + 4, s[i], len);
        at += 4 + len;
    }
    return at;
}

static void
test_binary_sections(void)
{
    static const fcodec_model iris = { "iris", 4, NULL, 16, 0, NULL, NULL, 3, 0 };
    static const fcodec_model cats3 = { "cats", 4, names4, 8, 0,
                                        test_category, NULL, 1, 0 };
    /* "" is a missing value, "XL" unseen on f2 (missing) */
    static const char *const cells[8] = { "1.5", "blue", "L", "-2",
                                          "", "red", "XL", "4e1" };
    static const float  want_cells[8] = { 1.5f, 1, 1, -2, NAN, 0, NAN, 40 };
    static const float  want1[2] = { 0.5f, -1 };
    static const float  want3[6] = { 1, 2, 3, 4, 5, 6 };
    float               f32[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    double              m64[6] = { 1, 2, 3, 4, 5, 6 };
    float               m32[2] = { 0.5f, -1 };
    uint8_t             bin[512], bad[32];
    size_t              n;
    fcodec_request      r;

    /* base_margin as binary data, after input__0 or before it */
    memcpy(bin, f32, 32);
    memcpy(bin + 32, m32, 8);
    r = parse_sections(&fraud, "{\"inputs\":[" BIN_IN0("[2,4]", "FP32", "32")
                       "," BIN_BM("[2]", "FP32", "8") "]}", bin, 40);
    CHECK(rows_are(&r, r8, 8) && r.base_margin != NULL
          && memcmp(r.base_margin, want1, sizeof(want1)) == 0);
    memcpy(bin, m32, 8);
    memcpy(bin + 8, f32, 32);
    r = parse_sections(&fraud, "{\"inputs\":[" BIN_BM("[2,1]", "FP32", "8")
                       "," BIN_IN0("[2,4]", "FP32", "32") "]}", bin, 40);
    CHECK(rows_are(&r, r8, 8) && r.base_margin != NULL
          && memcmp(r.base_margin, want1, sizeof(want1)) == 0);
    /* FP64 [N, C] beside JSON rows */
    r = parse_sections(&iris, "{\"inputs\":[" BM_INPUT0 ","
                       BIN_BM("[2,3]", "FP64", "48") "]}", m64, 48);
    CHECK(rows_are(&r, r8, 8) && r.base_margin != NULL
          && memcmp(r.base_margin, want3, sizeof(want3)) == 0);
    FAILS(parse_sections(&iris, "{\"inputs\":[" BM_INPUT0 ","
                         BIN_BM("[2,3]", "FP64", "24") "]}", m64, 24),
          400, "base_margin binary_data_size is 24 but 2 rows of 3 margins "
          "of FP64 take 48 bytes");
    FAILS(parse_sections(&iris, "{\"inputs\":[" BM_INPUT0 ","
                         BIN_BM("[2,3]", "FP64", "48") "]}", m64, 40),
          400, "base_margin: binary_data_size is 48 but the body holds 40 "
          "bytes after the JSON header");
    FAILS(parse_sections(&iris, "{\"inputs\":[" BM_INPUT0 ","
                         BIN_BM("[2]", "FP64", "16") "]}", m64, 16),
          400, "base_margin shape must be [2, 3]");
    FAILS(parse_sections(&iris, "{\"inputs\":[" BM_INPUT0 ","
                         BIN_BM("[2,3]", "INT32", "24") "]}", m64, 24),
          400, "base_margin datatype must be FP32 or FP64");
    memcpy(bin, f32, 32);
    memcpy(bin + 32, m32, 8);
    FAILS(parse_sections(&fraud, "{\"inputs\":[" BIN_IN0("[2,4]", "FP32",
                         "32") "," BIN_BM("[2]", "FP32", "8") "]}", bin, 36),
          400, "input__0 and base_margin: their binary_data_size add up to "
          "40 but the body holds 36 bytes");
    memset(bin + 40, 0, 4);
    FAILS(parse_sections(&fraud, "{\"inputs\":[" BIN_IN0("[2,4]", "FP32",
                         "32") "," BIN_BM("[2]", "FP32", "8") "]}", bin, 44),
          400, "the body holds more than the binary_data_size of input__0 "
          "and base_margin (40 bytes)");
    FAILS(parse_sections(&fraud, "{\"inputs\":[" BM_INPUT0 ","
                         "{\"name\":\"base_margin\",\"shape\":[2],"
                         "\"datatype\":\"FP32\",\"data\":[1,2],"
                         "\"parameters\":{\"binary_data_size\":8}}]}",
                         m32, 8),
          400, "base_margin needs either \"data\" or "
          "parameters.binary_data_size (it has both)");

    /* BYTES as binary data: names and numbers as text, beside a margin */
    n = bytes_tensor(bin, cells, 8);
    memcpy(bin + n, m32, 4);
    memcpy(bin + n + 4, m32 + 1, 4);
    {
        char json[512];

        snprintf(json, sizeof(json), "{\"inputs\":[{\"name\":\"input__0\","
                 "\"shape\":[2,4],\"datatype\":\"BYTES\",\"parameters\":"
                 "{\"binary_data_size\":%zu}}," BIN_BM("[2]", "FP32", "8")
                 "]}", n);
        r = parse_sections(&cats3, json, bin, n + 8);
        CHECK(rows_are(&r, want_cells, 8) && r.base_margin != NULL
              && memcmp(r.base_margin, want1, sizeof(want1)) == 0);
        /* one string fewer than the shape */
        snprintf(json, sizeof(json), "{\"inputs\":[" BIN_IN0("[2,4]",
                 "BYTES", "%zu") "]}", n - 7);
        FAILS(parse_sections(&cats3, json, bin, n - 7), 400,
              "input__0 BYTES data holds 7 strings; shape [2,4] takes 8");
        /* one more */
        memcpy(bad, "\1\0\0\0" "5", 5);
        memcpy(bin + n, bad, 5);
        snprintf(json, sizeof(json), "{\"inputs\":[" BIN_IN0("[2,4]",
                 "BYTES", "%zu") "]}", n + 5);
        FAILS(parse_sections(&cats3, json, bin, n + 5), 400,
              "input__0 BYTES data holds more than the 8 strings of its "
              "shape [2,4]");
        /* a length past the end, and a length cut short */
        snprintf(json, sizeof(json), "{\"inputs\":[" BIN_IN0("[2,4]",
                 "BYTES", "%zu") "]}", n - 1);
        FAILS(parse_sections(&cats3, json, bin, n - 1), 400,
              "input__0 BYTES data: string 7 is 3 bytes long, past the end "
              "of binary_data_size");
        memcpy(bin + n, "\7\0", 2);
        snprintf(json, sizeof(json), "{\"inputs\":[" BIN_IN0("[2,4]",
                 "BYTES", "%zu") "]}", n + 2);
        FAILS(parse_sections(&cats3, json, bin, n + 2), 400,
              "input__0 BYTES data: string 8 has no room for its 4-byte "
              "length in binary_data_size");
    }
    FAILS(parse_sections(&cats3, "{\"inputs\":[" BIN_IN0("[2,4]", "BYTES",
                         "20") "]}", bin, 20), 400,
          "shape [2,4] of BYTES takes at least 32 bytes");
    n = bytes_tensor(bin, (const char *const[]) { "1", "purple", "S", "2" },
                     4);
    FAILS(parse_sections(&cats3, "{\"inputs\":[" BIN_IN0("[1,4]", "BYTES",
                         "26") "]}", bin, n), 400,
          "row 0, feature \"f1\": \"purple\" is not one of the model's "
          "categories");
    n = bytes_tensor(bin, (const char *const[]) { "x", "red", "S", "2" }, 4);
    FAILS(parse_sections(&cats3, "{\"inputs\":[" BIN_IN0("[1,4]", "BYTES",
                         "21") "]}", bin, n), 400,
          "row 0, feature \"f0\": \"x\" is a string, but the feature has no "
          "category names and the string is not a number");
    FAILS(parse_sections(&fraud, "{\"inputs\":[" BIN_IN0("[1,4]", "BYTES",
                         "21") "]}", bin, n), 400,
          "datatype \"BYTES\" is not supported");
}

/* ---- numbers: the fast path gives strtod's double exactly ---------------- */

/* 1 when the fast path takes s and gives strtod's double (bit for bit, so
 * -0 stays -0), 0 when it leaves s to strtod, -1 when it is wrong. */
static int
fast_agrees(const char *s)
{
    double  fast, slow = strtod(s, NULL);

    if (!forest_json_number_fast(s, strlen(s), &fast)) {
        return 0;
    }
    if (memcmp(&fast, &slow, sizeof(double)) != 0) {
        fprintf(stderr, "  %s: fast path %.17g, strtod %.17g\n", s, fast,
                slow);
        return -1;
    }
    return 1;
}

/* A number as clients write it (shortest float32 and float64 texts, fixed
 * precisions), near the edges of the fast path's reach; i picks the form. */
static void
number_text(unsigned *seed, size_t i, char *text, size_t size)
{
    double x;

    *seed = *seed * 1103515245 + 12345;
    x = ((double) (*seed >> 4) / 4099.0 - 130000.0)
        * pow(10.0, (int) ((*seed >> 7) % 81) - 40);
    switch (i % 4) {
    case 0:
        snprintf(text, size, "%.9g", (float) x);
        break;
    case 1:
        snprintf(text, size, "%.17g", x);
        break;
    case 2:
        snprintf(text, size, "%.*e", 1 + (int) (*seed % 18), x);
        break;
    default:
        snprintf(text, size, "%.*f", (int) (*seed % 20), fmod(x, 1e6));
    }
}

/*
 * The JSON fast path reads each number's value as it finds its end
 * (forest_codec_json.c): rows of such numbers, spaced or not and where a
 * body ends, hold strtod's value as float32, as yajl and strtod give them.
 */
static void
test_numbers_in_rows(void)
{
    static const char *sep[] = { ",", ", ", " ,", ",\n  " };
    feed_arena         ar = { NULL, 0, SIZE_MAX, -1 };
    fcodec_alloc       a = { feed_alloc, &ar };
    fcodec_request     fast, slow;
    char               text[4][64], body[512];
    float              want[4];
    size_t             i, len;
    unsigned           seed = 77;
    int                bad = 0, j, in_range;

    for (i = 0; i < 20000; i++) {
        in_range = 1;
        for (j = 0; j < 4; j++) {
            number_text(&seed, i + (size_t) j, text[j], sizeof(text[j]));
            want[j] = fcodec_to_float(strtod(text[j], NULL));
            in_range &= isfinite(want[j]) != 0;
        }
        len = (size_t) snprintf(body, sizeof(body), "[[%s%s%s%s%s%s%s]]",
                                text[0], sep[seed % 4], text[1],
                                sep[(seed >> 2) % 4], text[2],
                                sep[(seed >> 4) % 4], text[3]);
        fast = feed_parse(FCODEC_SIMPLE, &plain, body, len, NO_LEN, 0, &a);
        fcodec_json_fast = 0;
        slow = feed_parse(FCODEC_SIMPLE, &plain, body, len, NO_LEN, 0, &a);
        fcodec_json_fast = 1;
        if (fast.status != slow.status || (fast.status != 0) == in_range
            || (in_range && (memcmp(fast.rows, want, sizeof(want)) != 0
                             || memcmp(slow.rows, want, sizeof(want)) != 0)))
        {
            if (bad++ < 5) {
                fprintf(stderr, "  %s: status %d (yajl %d), rows %.9g "
                        "%.9g %.9g %.9g\n", body, fast.status, slow.status,
                        fast.rows ? fast.rows[0] : 0, fast.rows ? fast.rows[1]
                        : 0, fast.rows ? fast.rows[2] : 0, fast.rows
                        ? fast.rows[3] : 0);
            }
        }
        feed_arena_free(&ar);
    }
    CHECK(bad == 0);
}

static void
test_numbers(void)
{
    /* taken by the fast path: at most 19 digits making at most 2^53, and
     * exponents within reach */
    static const char *fast[] = {
        "0", "-0", "0.0", "-0.0e10", "-0e-400", "1", "-1", "0.1", "-2.5e-3",
        "1e22", "1e-22", "-0.74938905", "0.0056128683", "9007199254740992",
        "-9007199254740992", "900719925474099e7", "1e23", "1e37",
        "123456789012345e-22", "0.0000000000000000000001", "9.5367431640625e-7",
        "1E+2", "7.0e-10", "900719925474100e8", "0.9007199254740991",
        /* groups of eight digits (forest_json_digits) */
        "-0.12345678", "0.1234567812345678", "12.00000000", "0.0000000012345678",
        "0.00000000000000001", "3.99999999e-5",
        /* a tail of 1-7 digits read from the token's last eight bytes
         * (forest_json_digits), before an exponent or not */
        "0.9017985", "-0.9017985", "1234567.5", "-123.4567", "0.000001",
        "9.0000000", "0.1234567e-3", "1.25e+07", "0.12345678901", "12.3456e1"
    };
    /* left to strtod: past 2^53 or 19 digits, or an exponent out of reach
     * (denormals, float32's largest) */
    static const char *slow[] = {
        "9007199254740993", "12345678901234567890", "1e-23",
        "5e-324", "2.2250738585072011e-308", "1.7976931348623157e308",
        "0.30000000000000004", "1e400", "-1e-400", "1e999999",
        "900719925474100e23", "3.4028235e38", "0.00000000000000000000001",
        "4.9406564584124654e-310", "2.4703282292062328e-324",
        "1.00000000000000000001", "1.2345678901234567890e5",
        "0.12345678123456781234", "0.00000001000000010000000100",
        /* 2^64: a 64-bit accumulator would wrap to 0 */
        "18446744073709551616", "-0.18446744073709551616e-3"
    };
    char      text[64];
    size_t    i;
    int       bad = 0, took = 0, n = 0, rc;
    unsigned  seed = 2024;
    float     want[4];
    fcodec_request r;

    for (i = 0; i < sizeof(fast) / sizeof(fast[0]); i++) {
        rc = fast_agrees(fast[i]);
        CHECK(rc == 1);
        if (rc != 1) {
            fprintf(stderr, "  %s: not taken by the fast path\n", fast[i]);
        }
    }
    for (i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
        rc = fast_agrees(slow[i]);
        CHECK(rc == 0);
        if (rc != 0) {
            fprintf(stderr, "  %s: taken by the fast path\n", slow[i]);
        }
    }

    /* numbers as clients write them (shortest float32 and float64 texts,
     * fixed precisions) and near the edges of the fast path's reach */
    for (i = 0; i < 200000; i++) {
        number_text(&seed, i, text, sizeof(text));
        rc = fast_agrees(text);
        bad += rc < 0;
        took += rc > 0;
        n++;
    }
    CHECK(bad == 0);
    /* the fast path has to carry the common case to be worth having */
    CHECK(took > n / 3);

    /* through the parser: rows hold strtod's value, rounded to float32 */
    r = parse(FCODEC_SIMPLE, &fraud,
              "[[-0,1.00000000000000000001,4.9406564584124654e-310,"
              "0.30000000000000004]]");
    want[0] = -0.0f;
    want[1] = (float) strtod("1.00000000000000000001", NULL);
    want[2] = 0.0f;
    want[3] = (float) 0.30000000000000004;
    CHECK(rows_are(&r, want, 4) && signbit(r.rows[0]));
    r = parse(FCODEC_SIMPLE, &fraud,
              "[[-0.74938905,0.9017985,1.2e-3,0.0056128683]]");
    want[0] = -0.74938905f;
    want[1] = 0.9017985f;
    want[2] = 1.2e-3f;
    want[3] = 0.0056128683f;
    CHECK(rows_are(&r, want, 4));
}

/* ---- simple API ---------------------------------------------------------- */

static void
test_simple(void)
{
    fcodec_request r;
    float          named[8] = { 1, NAN, NAN, 2, NAN, 5, NAN, NAN };
    float          one_row[4] = { 1, 2, NAN, 4 };

    r = SI("{\"instances\":[[1,2,3,4],[5,6,7,8]]}");
    CHECK(r.n_rows == 2 && rows_are(&r, r8, 8));
    r = SI("{\"inputs\":[[1,2,3,4],[5,6,7,8]]}");
    CHECK(r.n_rows == 2 && rows_are(&r, r8, 8));
    r = SI("{\"instances\":[[1,2,3,4],[5,6,7,8]],\"signature_name\":{\"a\":[]}}");
    CHECK(r.n_rows == 2 && rows_are(&r, r8, 8));
    r = SI("[[1,2,3,4],[5,6,7,8]]");
    CHECK(r.n_rows == 2 && rows_are(&r, r8, 8));
    r = SI("[1,2,null,4]");
    CHECK(r.n_rows == 1 && rows_are(&r, one_row, 4));
    r = SI("{\"f0\":1,\"f3\":2}");
    CHECK(r.n_rows == 1 && rows_are(&r, named, 4));
    r = SI("{\"instances\":[{\"f0\":1,\"f3\":2},{\"f1\":5,\"f2\":null}]}");
    CHECK(r.n_rows == 2 && rows_are(&r, named, 8));
    r = SI("[{\"f3\":4,\"f2\":3,\"f1\":2,\"f0\":1},[5,6,7,8]]");
    CHECK(r.n_rows == 2 && rows_are(&r, r8, 8));
    r = parse(FCODEC_SIMPLE, &one, "{\"instances\":[1,2,null]}");
    CHECK(r.n_rows == 3 && r.rows[1] == 2 && isnan(r.rows[2]));
    r = parse(FCODEC_SIMPLE, &one, "[[1],[2]]");
    CHECK(r.n_rows == 2 && r.rows[1] == 2);

    FAILS(SI("{\"instances\":[{\"f0\":1,\"age\":2}]}"), 400,
          "row 0: model fraud has no feature named \"age\"");
    FAILS(SI("{\"f0\":1,\"f0\":2}"), 400, "row 0: feature \"f0\" is given "
          "twice");
    FAILS(SI("{\"f\\u0000\":1}"), 400, "no feature named");
    FAILS(SI("{\"signature_name\":\"x\",\"instances\":[[1,2,3,4]]}"), 400,
          "model fraud has no feature named \"signature_name\"");
    FAILS(parse(FCODEC_SIMPLE, &plain, "{\"instances\":[{\"f0\":1}]}"), 400,
          "model plain has no feature names: send each row as an array of 4 "
          "values");
    FAILS(SI("{\"instances\":[[1,2,3,4],[5,\"6\",7,8]]}"), 400,
          "row 1, feature 1: a string is not a number (null marks a missing "
          "value)");
    FAILS(SI("[1,true,3,4]"), 400, "row 0, feature 1: a boolean is not a "
          "number");
    FAILS(SI("{\"instances\":[{\"f2\":\"x\"}]}"), 400,
          "row 0, feature \"f2\": a string is not a number");
    FAILS(SI("{\"instances\":[{\"f2\":[1]}]}"), 400,
          "row 0, feature \"f2\": an array is not a number");
    FAILS(SI("{\"instances\":[[1,2,[3],4]]}"), 400,
          "row 0, feature 2: an array is not a number");
    FAILS(SI("[[1,1e400,3,4]]"), 400,
          "row 0, feature 1: 1e400 is outside float32's range");
    FAILS(SI("{\"instances\":[{\"f2\":-3.5e38}]}"), 400,
          "row 0, feature \"f2\": -3.5e38 is outside float32's range");
    r = SI("[[3.4028235e38,-3.4028235e38,0,0]]");
    CHECK(r.status == 0 && r.rows[0] == FLT_MAX && r.rows[1] == -FLT_MAX);
    FAILS(SI("{\"instances\":[[1,2,3,4],[5,6,7]]}"), 400,
          "row 1 has 3 features, model fraud expects 4");
    FAILS(SI("[1,2,3]"), 400, "row 0 has 3 features, model fraud expects 4");
    FAILS(SI("[[1,2,3,4],[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,"
             "21,22,23,24,25,26,27,28,29,30,31,32]]"), 400,
          "row 1 has more than 4 features, model fraud expects 4");
    FAILS(SI("{\"instances\":[1,2,3,4]}"), 400,
          "instance 0 is a number; each instance is a row: an array of 4 "
          "values or an object keyed by feature name");
    FAILS(SI("[[1,2,3,4],\"x\"]"), 400, "instance 1 is a string");
    FAILS(SI("{}"), 400, "the request is an empty object");
    FAILS(SI("[]"), 400, "the request holds no rows");
    FAILS(SI("{\"instances\":[]}"), 400, "the request holds no rows");
    FAILS(SI("7"), 400, "the request is a number; send {\"instances\":");
    FAILS(SI("{\"instances\":{\"f0\":1}}"), 400,
          "\"instances\" is an object; it must be an array of rows");
    FAILS(SI("{\"instances\":[[1,2,3,4]],\"inputs\":[[1,2,3,4]]}"), 400,
          "the request gives its rows twice");
    FAILS(SI("{\"instances\":[[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],"
             "[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}"), 413,
          "the request has more than 8 rows; model fraud takes at most 8 per "
          "request");
    FAILS(SI("{\"instances\":[{},{},{},{},{},{},{},{},{}]}"), 413,
          "more than 8 rows");
    FAILS(SI("[1,2,NaN,4]"), 400, "NaN and Infinity are not JSON");
    FAILS(SI("[1,2,3,4"), 400, "premature EOF");
    FAILS(SI("[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]"), 400,
          "row 0, feature 0: an array is not a number");
    FAILS(SI("{\"x\":1}{"), 400, "no feature named \"x\"");
}

/* ---- shaping ------------------------------------------------------------- */

static void
test_shape(void)
{
    fcodec_shape reg = { 1, 0, 0, 0, 0, 0.5f };
    fcodec_shape bin = { 1, 2, 1, 0, 0, 0.5f };
    fcodec_shape bin_proba = { 1, 2, 1, 1, 0, 0.5f };
    fcodec_shape bin2 = { 2, 2, 1, 0, 0, 0.5f };
    fcodec_shape multi = { 3, 3, 1, 0, 0, 0.5f };
    fcodec_shape multi_proba = { 3, 3, 1, 1, 0, 0.5f };
    fcodec_shape softmax = { 1, 3, 1, 0, 0, 0.5f };
    fcodec_shape margin = { 3, 3, 1, 1, 1, 0.5f };
    fcodec_shape multi_target = { 2, 0, 0, 0, 0, 0.5f };
    float        in[3], out[3];

    CHECK(fcodec_output_columns(&reg) == 1);
    CHECK(fcodec_output_columns(&bin) == 1);
    CHECK(fcodec_output_columns(&bin_proba) == 2);
    CHECK(fcodec_output_columns(&bin2) == 1);
    CHECK(fcodec_output_columns(&multi) == 1);
    CHECK(fcodec_output_columns(&multi_proba) == 3);
    CHECK(fcodec_output_columns(&softmax) == 1);
    CHECK(fcodec_output_columns(&margin) == 3);
    CHECK(fcodec_output_columns(&multi_target) == 2);

    in[0] = 0.7f;
    fcodec_shape_row(&bin, in, out);
    CHECK(out[0] == 1);
    in[0] = 0.5f;                                /* strictly above */
    fcodec_shape_row(&bin, in, out);
    CHECK(out[0] == 0);
    bin.threshold = 0.8f;
    in[0] = 0.75f;
    fcodec_shape_row(&bin, in, out);
    CHECK(out[0] == 0);
    in[0] = 0.25f;
    fcodec_shape_row(&bin_proba, in, out);
    CHECK(out[0] == 0.75f && out[1] == 0.25f);
    in[0] = 0.4f, in[1] = 0.6f;
    fcodec_shape_row(&bin2, in, out);
    CHECK(out[0] == 1);
    in[0] = 0.2f, in[1] = 0.5f, in[2] = 0.3f;
    fcodec_shape_row(&multi, in, out);
    CHECK(out[0] == 1);
    in[0] = 0.4f, in[1] = 0.2f, in[2] = 0.4f;   /* tie: lower index */
    fcodec_shape_row(&multi, in, out);
    CHECK(out[0] == 0);
    in[0] = NAN, in[1] = 0.2f, in[2] = 0.1f;    /* NaN never wins */
    fcodec_shape_row(&multi, in, out);
    CHECK(out[0] == 1);
    in[0] = 0.2f, in[1] = 0.5f, in[2] = 0.3f;
    fcodec_shape_row(&multi_proba, in, out);
    CHECK(out[0] == 0.2f && out[1] == 0.5f && out[2] == 0.3f);
    in[0] = 2;
    fcodec_shape_row(&softmax, in, out);
    CHECK(out[0] == 2);
    in[0] = -1.5f, in[1] = 3, in[2] = 0;
    fcodec_shape_row(&margin, in, out);
    CHECK(out[0] == -1.5f && out[1] == 3 && out[2] == 0);
    in[0] = 12.5f;
    fcodec_shape_row(&reg, in, out);
    CHECK(out[0] == 12.5f);
}

/* ---- encoding ------------------------------------------------------------ */

static fcodec_request
request_of(size_t n_rows)
{
    fcodec_request r;

    memset(&r, 0, sizeof(r));
    r.n_rows = n_rows;
    r.want_output = 1;
    return r;
}

static int
body_is(const fcodec_response *resp, const char *want)
{
    int ok = resp->len == strlen(want) && memcmp(resp->body, want,
                                                 resp->len) == 0;
    if (!ok) {
        fprintf(stderr, "body  %.*s\nwant  %s\n", (int) resp->len,
                (const char *) resp->body, want);
    }
    return ok;
}

static void
test_encode_kserve(void)
{
    fcodec_request  req = request_of(2);
    fcodec_shape    reg = { 1, 0, 0, 0, 0, 0.5f };
    fcodec_shape    proba = { 3, 3, 1, 1, 0, 0.5f };
    fcodec_shape    bin_proba = { 1, 2, 1, 1, 0, 0.5f };
    float           vals[6] = { 0.5f, 1.25f, 0.1f, 0.7f, 0.2f, NAN };
    fcodec_response resp;
    float           got[4];
    const char     *tail;

    CHECK(fcodec_encode(FCODEC_KSERVE, &req, &reg, "fraud", "1", vals, &A,
                        &resp) == 0);
    CHECK(body_is(&resp, "{\"model_name\":\"fraud\",\"model_version\":\"1\","
                  "\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\","
                  "\"shape\":[2,1],\"data\":[0.5,1.25]}]}"));
    CHECK(resp.json_len == NO_LEN);
    CHECK(strcmp(resp.content_type, "application/json") == 0);

    req.id = "a\"b\\c\n\x01\xc3\xa9";
    CHECK(fcodec_encode(FCODEC_KSERVE, &req, &bin_proba, "m", "2", vals + 4,
                        &A, &resp) == 0);
    CHECK(body_is(&resp, "{\"model_name\":\"m\",\"model_version\":\"2\","
                  "\"id\":\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\",\"outputs\":"
                  "[{\"name\":\"output__0\",\"datatype\":\"FP32\","
                  "\"shape\":[2,2],\"data\":[0.8,0.2,null,null]}]}"));

    req.id = NULL;
    req.binary_output = 1;
    CHECK(fcodec_encode(FCODEC_KSERVE, &req, &bin_proba, "m", "2", vals,
                        &A, &resp) == 0);
    CHECK(resp.json_len != NO_LEN && resp.len == resp.json_len + 16);
    CHECK(strcmp(resp.content_type, "application/octet-stream") == 0);
    CHECK(resp.json_len == strlen(
        "{\"model_name\":\"m\",\"model_version\":\"2\",\"outputs\":[{\"name\":"
        "\"output__0\",\"datatype\":\"FP32\",\"shape\":[2,2],\"parameters\":"
        "{\"binary_data_size\":16}}]}"));
    CHECK(memcmp(resp.body, "{\"model_name\":\"m\",\"model_version\":\"2\","
                 "\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\","
                 "\"shape\":[2,2],\"parameters\":{\"binary_data_size\":16}}]}",
                 resp.json_len) == 0);
    memcpy(got, resp.body + resp.json_len, 16);
    CHECK(got[0] == 0.5f && got[1] == 0.5f && got[2] == 1 - 1.25f
          && got[3] == 1.25f);

    /* classification: top k of each row's probabilities */
    req = request_of(2);
    req.class_count = 2;
    vals[3] = 0.3f, vals[4] = 0.3f, vals[5] = 0.4f;
    CHECK(fcodec_encode(FCODEC_KSERVE, &req, &proba, "iris", "1", vals, &A,
                        &resp) == 0);
    CHECK(body_is(&resp, "{\"model_name\":\"iris\",\"model_version\":\"1\","
                  "\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"BYTES\","
                  "\"shape\":[2,2],\"data\":[\"1.250000:1\",\"0.500000:0\","
                  "\"0.400000:2\",\"0.300000:0\"]}]}"));
    req.class_count = 9;                        /* more than there are */
    req.binary_output = 1;
    CHECK(fcodec_encode(FCODEC_KSERVE, &req, &proba, "iris", "1", vals, &A,
                        &resp) == 0);
    tail = "\"shape\":[2,3],\"parameters\":{\"binary_data_size\":84}}]}";
    CHECK(memcmp(resp.body + resp.json_len - strlen(tail), tail,
                 strlen(tail)) == 0);
    CHECK(resp.len == resp.json_len + 84);
    CHECK(memcmp(resp.body + resp.json_len, "\x0a\0\0\0" "1.250000:1", 14)
          == 0);
    CHECK(memcmp(resp.body + resp.len - 14, "\x0a\0\0\0" "0.300000:1", 14)
          == 0);
}

static void
test_encode_simple(void)
{
    fcodec_request  req = request_of(2);
    fcodec_shape    bin = { 1, 2, 1, 0, 0, 0.5f };
    fcodec_shape    bin_proba = { 1, 2, 1, 1, 0, 0.5f };
    float           p[2] = { 0.75f, 0.25f };
    fcodec_response resp;

    CHECK(fcodec_encode(FCODEC_SIMPLE, &req, &bin, "m", "1", p, &A, &resp)
          == 0);
    CHECK(body_is(&resp, "{\"predictions\":[1,0]}"));
    CHECK(resp.json_len == NO_LEN);
    CHECK(fcodec_encode(FCODEC_SIMPLE, &req, &bin_proba, "m", "1", p, &A,
                        &resp) == 0);
    CHECK(body_is(&resp, "{\"predictions\":[[0.25,0.75],[0.75,0.25]]}"));
}

/* Every float32 printed by the encoder must read back as itself: encode
 * awkward values as predictions, rename the member, and parse them back. */
static void
test_round_trip(void)
{
    enum { N = 64 };
    float           vals[N * 4];
    fcodec_request  req = request_of(N), back;
    fcodec_shape    raw = { 4, 0, 0, 0, 0, 0.5f };
    fcodec_response resp;
    char           *text;
    size_t          i;
    uint32_t        bits = 12345;
    int             same = 1;

    vals[0] = 0.1f, vals[1] = FLT_MAX, vals[2] = -FLT_MIN, vals[3] = 1e-45f;
    vals[4] = 16777217.0f, vals[5] = -0.0f, vals[6] = NAN, vals[7] = INFINITY;
    for (i = 8; i < N * 4; i++) {
        do {                                    /* random finite bit patterns */
            bits = bits * 1664525u + 1013904223u;
            memcpy(&vals[i], &bits, 4);
        } while (!isfinite(vals[i]));
    }
    CHECK(fcodec_encode(FCODEC_SIMPLE, &req, &raw, "m", "1", vals, &A, &resp)
          == 0);
    text = (char *) resp.body;
    CHECK(memcmp(text, "{\"predictions\":[[0.1,3.4028235e+38,-1.1754944e-38,"
                 "1.4013e-45],[16777216,-0,null,null]", 70) == 0);
    memcpy(text + 2, "instances\"  ", 12);     /* as long as predictions" */
    back = parse_bin(FCODEC_SIMPLE, &wide, text, resp.len, NO_LEN);
    CHECK(back.status == 0 && back.n_rows == N);
    for (i = 0; back.status == 0 && i < N * 4; i++) {
        if (!isfinite(vals[i]) ? !isnan(back.rows[i])
                               : memcmp(&vals[i], &back.rows[i], 4) != 0) {
            fprintf(stderr, "value %zu: %.9g read back as %.9g\n", i,
                    vals[i], back.rows[i]);
            same = 0;
        }
    }
    CHECK(same);
}

/* 1 if fcodec_float_text(v) prints what printf would (finite v) */
static int
float_text_agrees(float v)
{
    char   got[FCODEC_FLOAT_TEXT_MAX], want[FCODEC_FLOAT_TEXT_MAX];
    size_t ng = fcodec_float_text(v, got);
    size_t nw = fcodec_float_text_printf(v, want);

    if (ng == nw && memcmp(got, want, ng) == 0) {
        return 1;
    }
    fprintf(stderr, "float %.9g: printed %.*s, printf gives %.*s\n", v,
            (int) ng, got, (int) nw, want);
    return 0;
}

/* The fast float text against printf's.  The fast path (1e-9 <= |v| < 1e6,
 * forest_codec_float.c) is what can be wrong, so every 997th float32 bit
 * pattern from 1e-9f to 1e6f, each with both signs; outside it the text is
 * printf's own, so only every 65521st pattern of the whole range (denormals,
 * huge values, both signs).  Then values where rounding carries into a new
 * digit (9.9999996e-05, 999999.94), ties, powers of two and the bounds.
 * tests/codec/float_text_sweep.c checks every positive pattern from 2^-30
 * to 2^20 (all of the fast range and past both ends; negatives differ only
 * in the sign): minutes, so it is run by hand, not by `make test`. */
static void
test_float_text(void)
{
    static const float edge[] = {
        1e-9f, 9.99999972e-10f, 1e6f, 999999.94f, 9.9999996e-05f, 1e-4f,
        0.5f, 0.125f, 1.0f, 2.0f, 16777216.0f, 8388608.5f, 0.1f, 0.3f,
        123456.5f, 99999.9922f, 3.4028235e+38f, 1.4e-45f, 1.17549435e-38f,
        0.000123456791f, 4.76837158e-07f, 5.96046448e-08f, 0.0f
    };
    const float fast_lo = 1e-9f, fast_hi = 1e6f;
    uint32_t    lo, hi;
    size_t      differ = 0;

    memcpy(&lo, &fast_lo, sizeof(lo));
    memcpy(&hi, &fast_hi, sizeof(hi));
    for (uint32_t bits = lo; bits < hi && differ < 5; bits += 997) {
        float v;

        memcpy(&v, &bits, sizeof(v));
        differ += !float_text_agrees(v) + !float_text_agrees(-v);
    }
    for (uint64_t b = 0; b < (uint64_t) 1 << 32 && differ < 5; b += 65521) {
        uint32_t bits = (uint32_t) b;
        float    v;

        memcpy(&v, &bits, sizeof(v));
        differ += isfinite(v) && !float_text_agrees(v);
    }
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        differ += !float_text_agrees(edge[i]) + !float_text_agrees(-edge[i]);
    }
    CHECK(differ == 0);
}

static void
test_error_body(void)
{
    size_t   len;
    uint8_t *b = fcodec_error_body("row 3 has \"x\"\t\xff\xc3", &A, &len);

    CHECK(b != NULL && len == strlen("{\"error\":\"row 3 has \\\"x\\\"\\u0009"
                                     "\\ufffd\\ufffd\"}"));
    CHECK(b != NULL && memcmp(b, "{\"error\":\"row 3 has \\\"x\\\"\\u0009"
                              "\\ufffd\\ufffd\"}", len) == 0);

    /* the same escaping for any string the module writes into JSON */
    CHECK(strcmp(fcodec_json_string("regression \"a\\b\"\n\xff", &A),
                 "\"regression \\\"a\\\\b\\\"\\u000a\\ufffd\"") == 0);
    CHECK(strcmp(fcodec_json_string("", &A), "\"\"") == 0);
}

/* ---- out of memory at every allocation ---------------------------------- */

static void
test_out_of_memory(void)
{
    const char     *body = "{\"id\":\"x\",\"inputs\":[{\"name\":\"input__0\","
                           "\"shape\":[2,4],\"datatype\":\"FP32\",\"data\":"
                           "[[1,2,3,4],[5,6,7,8]]}]}";
    const char     *named = "{\"instances\":[{\"f0\":1},{\"f1\":2}]}";
    fcodec_shape    proba = { 1, 2, 1, 1, 0, 0.5f };
    float           out[2] = { 0.5f, 0.25f };
    fcodec_request  req;
    fcodec_response resp;
    long            n;
    int             clean = 1, done = 0;

    for (n = 0; n < 64 && !done; n++) {
        the_arena.fail_after = n;
        req = parse_chunked(FCODEC_KSERVE, &fraud, body, strlen(body), NO_LEN,
                            5);
        if (req.status == 0) {
            req.class_count = 1;
            done = fcodec_encode(FCODEC_KSERVE, &req, &proba, "m", "1", out,
                                 &A, &resp) == 0;
        } else if (req.status != 500 && req.status != -1) {
            clean = 0;
        }
    }
    CHECK(done && clean);
    for (n = 0, done = 0; n < 64 && !done; n++) {
        the_arena.fail_after = n;
        req = parse_chunked(FCODEC_SIMPLE, &fraud, named, strlen(named),
                            NO_LEN, 0);
        done = req.status == 0;
        clean &= req.status == 0 || req.status == 500 || req.status == -1;
    }
    the_arena.fail_after = -1;
    CHECK(done && clean);
}

/* ---- bodies written by tritonclient (see gen_triton.py) ---------------- */

static uint8_t *
read_file(const char *dir, const char *name, size_t *len)
{
    char     path[512];
    FILE    *f;
    uint8_t *buf;
    long     n;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = feed_alloc(&the_arena, (size_t) n + 1);
    *len = fread(buf, 1, (size_t) n, f);
    fclose(f);
    return buf;
}

static void
write_file(const char *dir, const char *name, const fcodec_response *resp)
{
    char  path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f != NULL) {
        fprintf(f, "%ld\n", resp->json_len == NO_LEN ? -1L
                                                     : (long) resp->json_len);
        fwrite(resp->body, 1, resp->len, f);
        fclose(f);
    }
}

/* Each case: the body tritonclient built (.body), its header length (.hlen)
 * and the float32 rows it encoded (.expect); the answer of a 3-class
 * probability model goes back for the client to decode (.response). */
static void
test_triton_bodies(const char *dir)
{
    static const char *cases[] = { "json", "binary", "fp64_binary",
                                   "int32_json", "classify" };
    static const fcodec_model iris = { "iris", 4, NULL, 16, 0, NULL, NULL, 3, 0 };
    fcodec_shape       proba = { 3, 3, 1, 1, 0, 0.5f };
    char               name[64];
    size_t             i, len, hlen, elen;
    uint8_t           *body, *head, *expect;
    fcodec_request     req;
    fcodec_response    resp;
    float              out[9] = { 0.1f, 0.7f, 0.2f, 0.6f, 0.3f, 0.1f,
                                  0.25f, 0.25f, 0.5f };
    long               json_len;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(name, sizeof(name), "%s.body", cases[i]);
        body = read_file(dir, name, &len);
        snprintf(name, sizeof(name), "%s.hlen", cases[i]);
        head = read_file(dir, name, &hlen);
        snprintf(name, sizeof(name), "%s.expect", cases[i]);
        expect = read_file(dir, name, &elen);
        CHECK(body != NULL && head != NULL && expect != NULL);
        if (body == NULL || head == NULL || expect == NULL) {
            continue;
        }
        head[hlen] = '\0';
        json_len = atol((char *) head);
        req = parse_bin(FCODEC_KSERVE, &iris, body, len,
                        json_len < 0 ? NO_LEN : (size_t) json_len);
        CHECK(req.status == 0 && req.n_rows * 4 * sizeof(float) == elen);
        if (req.status != 0 || req.n_rows * 4 * sizeof(float) != elen) {
            fprintf(stderr, "%s: %d %s\n", cases[i], req.status, req.error);
            continue;
        }
        CHECK(rows_are(&req, (const float *) expect, req.n_rows * 4));
        CHECK(fcodec_encode(FCODEC_KSERVE, &req, &proba, "iris", "1", out, &A,
                            &resp) == 0);
        snprintf(name, sizeof(name), "%s.response", cases[i]);
        write_file(dir, name, &resp);
    }
}

/* category names: simple rows and objects, KServe JSON, BYTES tensors */
static void
test_categories(void)
{
    fcodec_request r;
    float          want[8] = { 1, 1, 0, 4, 5, 0, NAN, 8 };

    r = parse(FCODEC_SIMPLE, &named_cats,
              "{\"instances\":[[1,\"blue\",\"S\",4],"
              "{\"f0\":5,\"f1\":\"red\",\"f2\":\"XXL\",\"f3\":8}]}");
    CHECK(r.n_rows == 2 && rows_are(&r, want, 8));
    r = parse(FCODEC_KSERVE, &named_cats, INPUT("[2,4]", "FP32",
              "[1,\"blue\",\"S\",4,5,\"red\",\"XXL\",8]"));
    CHECK(r.n_rows == 2 && rows_are(&r, want, 8));
    /* BYTES: numbers as text, whatever the members' order */
    r = parse(FCODEC_KSERVE, &named_cats,
              "{\"inputs\":[{\"data\":[\"1\",\"blue\",\"S\",\"4\","
              "\"5e0\",\"red\",\"XXL\",\"8\"],\"datatype\":\"BYTES\","
              "\"name\":\"input__0\",\"shape\":[2,4]}]}");
    CHECK(r.n_rows == 2 && rows_are(&r, want, 8));
    FAILS(parse(FCODEC_SIMPLE, &named_cats, "[[1,\"green\",\"S\",4]]"), 400,
          "row 0, feature \"f1\": \"green\" is not one of the model's "
          "categories");
    FAILS(parse(FCODEC_SIMPLE, &named_cats, "[[\"1\",\"red\",\"S\",4]]"),
          400, "row 0, feature \"f0\": \"1\" is a string, but the feature "
          "has no category names: send a number");
    FAILS(parse(FCODEC_KSERVE, &named_cats, INPUT("[1,4]", "FP32",
          "[\"1\",\"red\",\"S\",4]")), 400,
          "row 0, feature \"f0\": \"1\" is a string, but the feature has "
          "no category names: send a number");
    /* the datatype after the data: the strings are checked against it then */
    FAILS(parse(FCODEC_KSERVE, &named_cats,
          "{\"inputs\":[{\"data\":[\"1\",\"red\",\"S\",4],"
          "\"datatype\":\"FP32\",\"name\":\"input__0\",\"shape\":[1,4]}]}"),
          400, "input__0 is FP32 but its data holds numbers as strings");
    FAILS(parse(FCODEC_KSERVE, &named_cats, INPUT("[1,4]", "BYTES",
          "[\"1\",\"red\",\"S\",4]")), 400,
          "input__0 is BYTES but its data holds numbers");
    FAILS(parse(FCODEC_KSERVE, &named_cats, INPUT("[1,4]", "BYTES",
          "[\"1\",\"red\",\"S\",\"x\"]")), 400,
          "row 0, feature \"f3\": \"x\" is a string, but the feature has "
          "no category names and the string is not a number");
    FAILS(parse(FCODEC_KSERVE, &named_cats, INPUT("[1,4]", "BOOL",
          "[true,\"red\",\"S\",false]")), 400,
          "input__0 is BOOL but its data holds category names");
    FAILS(parse(FCODEC_KSERVE, &fraud, INPUT("[1,4]", "BYTES",
          "[\"1\",\"2\",\"3\",\"4\"]")), 400,
          "datatype \"BYTES\" is not supported");
}

int
main(int argc, char **argv)
{
    test_kserve_valid();
    test_kserve_datatypes();
    test_kserve_errors();
    test_base_margin();
    test_ignored_members();
    test_number_cmp();
    test_binary();
    test_binary_sections();
    test_simple();
    test_categories();
    test_numbers();
    test_numbers_in_rows();
    test_shape();
    test_encode_kserve();
    test_encode_simple();
    test_round_trip();
    test_float_text();
    test_error_body();
    test_out_of_memory();
    if (argc > 1) {
        test_triton_bodies(argv[1]);
    }
    feed_arena_free(&the_arena);
    return check_summary();
}
