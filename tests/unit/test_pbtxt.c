/*
 * The protobuf text format reader (forest/repo/pbtxt.c) on the whole
 * grammar, and the Triton model configuration reader on FIL configurations
 * as the FIL backend's documentation writes them and on what Triton refuses
 * (each refusal names the file and line).
 */
#include "check.h"
#include "repo/model_config.h"
#include "repo/pbtxt.h"

#include <string.h>

static const forest_pb_field *
nth(const forest_pb_msg *m, const char *name, int n)
{
    const forest_pb_field *f;

    for (f = m->first; f != NULL; f = f->next) {
        if (strcmp(f->name, name) == 0 && n-- == 0) {
            return f;
        }
    }
    return NULL;
}

static void
test_grammar(void)
{
    static const char text[] =
        "# a comment\n"
        "name: \"m\\x41\\101\\u00e9\" 'x' # adjacent strings join\n"
        "dims: [ 1, -1, 0x10 ]\n"
        "input [ { name: \"a\" }, < name: 'b' > ];\n"
        "flag: true, e: KIND_GPU\n"
        "f: -1.5e-3\n"
        "empty: [ ]\n"
        "msg: { inner { deep: 1 } }\n";
    char                    err[256];
    forest_pbtxt           *doc;
    const forest_pb_msg    *root;
    const forest_pb_field  *f;

    doc = forest_pbtxt_parse(text, sizeof(text) - 1, "t.pbtxt", err,
                             sizeof(err));
    CHECK(doc != NULL);
    if (doc == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    root = forest_pbtxt_root(doc);
    f = nth(root, "name", 0);
    CHECK(f != NULL && f->quoted && strcmp(f->value, "mAA\xc3\xa9x") == 0
          && f->line == 2);
    CHECK(nth(root, "dims", 2) != NULL
          && strcmp(nth(root, "dims", 1)->value, "-1") == 0
          && strcmp(nth(root, "dims", 2)->value, "0x10") == 0
          && nth(root, "dims", 3) == NULL);
    f = nth(root, "input", 1);
    CHECK(f != NULL && f->msg != NULL
          && strcmp(nth(f->msg, "name", 0)->value, "b") == 0);
    CHECK(strcmp(nth(root, "e", 0)->value, "KIND_GPU") == 0
          && !nth(root, "e", 0)->quoted);
    CHECK(strcmp(nth(root, "f", 0)->value, "-1.5e-3") == 0);
    CHECK(nth(root, "empty", 0) == NULL);
    f = nth(root, "msg", 0);
    CHECK(f != NULL && f->line == 8 && f->msg != NULL
          && nth(nth(f->msg, "inner", 0)->msg, "deep", 0) != NULL);
    forest_pbtxt_free(doc);
}

/* text must fail with err containing want */
static void
bad(const char *text, const char *want)
{
    char                 err[512];
    forest_model_config  mc;
    int                  rc;

    err[0] = '\0';
    rc = forest_model_config_read(text, strlen(text), "m/config.pbtxt", &mc,
                                  NULL, NULL, err, sizeof(err));
    CHECK(rc != 0 && strstr(err, want) != NULL);
    if (rc == 0 || strstr(err, want) == NULL) {
        fprintf(stderr, "  for %s\n  got \"%s\", want \"%s\"\n", text, err,
                want);
    }
}

static int notes;

static void
count_note(void *data, const char *msg)
{
    (void) data;
    (void) msg;
    notes++;
}

static void
test_fil_config(void)
{
    /* the FIL backend's documented classifier */
    static const char text[] =
        "backend: \"fil\"\n"
        "max_batch_size: 32768\n"
        "input [\n"
        " {\n"
        "    name: \"input__0\"\n"
        "    data_type: TYPE_FP32\n"
        "    dims: [ 500 ]\n"
        "  }\n"
        "]\n"
        "output [\n"
        " {\n"
        "    name: \"output__0\"\n"
        "    data_type: TYPE_FP32\n"
        "    dims: [ 2 ]\n"
        "  }\n"
        "]\n"
        "instance_group [{ kind: KIND_GPU gpus: [0] }]\n"
        "parameters [\n"
        "  {\n"
        "    key: \"model_type\"\n"
        "    value: { string_value: \"xgboost_json\" }\n"
        "  },\n"
        "  {\n"
        "    key: \"predict_proba\"\n"
        "    value: { string_value: \"true\" }\n"
        "  },\n"
        "  {\n"
        "    key: \"output_class\"\n"
        "    value: { string_value: \"true\" }\n"
        "  },\n"
        "  {\n"
        "    key: \"threshold\"\n"
        "    value: { string_value: \"0.5\" }\n"
        "  },\n"
        "  {\n"
        "    key: \"storage_type\"\n"
        "    value: { string_value: \"AUTO\" }\n"
        "  }\n"
        "]\n"
        "dynamic_batching {\n"
        "  max_queue_delay_microseconds: 100\n"
        "  preferred_batch_size: [ 8, 16 ]\n"
        "}\n"
        "version_policy: { specific { versions: [1, 3] } }\n";
    char                 err[512];
    forest_model_config  mc;
    int                  rc;

    notes = 0;
    rc = forest_model_config_read(text, sizeof(text) - 1, "m/config.pbtxt",
                                  &mc, count_note, NULL, err, sizeof(err));
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK(strcmp(mc.backend, "fil") == 0 && mc.max_batch_size == 32768);
    CHECK(mc.input.n_dims == 1 && mc.input.dims[0] == 500
          && mc.input.line == 7);
    CHECK(mc.output.dims[0] == 2);
    CHECK(mc.kind == FOREST_MC_KIND_GPU && mc.n_gpus == 1);
    CHECK(mc.format == FOREST_FORMAT_XGBOOST_JSON
          && strcmp(mc.model_file, "xgboost.json") == 0);
    CHECK(mc.predict_proba == 1 && mc.output_class == 1
          && mc.has_threshold && mc.threshold == 0.5f);
    CHECK(mc.dynamic_batching && mc.max_queue_delay_us == 100
          && mc.n_preferred == 2);
    CHECK(mc.policy == FOREST_MC_SPECIFIC && mc.n_versions == 2
          && mc.versions[1] == 3);
    CHECK(notes == 2);                  /* storage_type; preferred sizes */
}

static void
test_defaults(void)
{
    static const char text[] =
        "backend: 'fil'\n"
        "default_model_filename: \"m.bin\"\n"
        "version_policy: { latest { num_versions: 2 } }\n"
        "parameters { key: \"model_type\" value { string_value: "
        "\"lightgbm\" } }\n";
    char                 err[512];
    forest_model_config  mc;

    CHECK(forest_model_config_read(text, sizeof(text) - 1, "c", &mc, NULL,
                                   NULL, err, sizeof(err)) == 0);
    CHECK(mc.format == FOREST_FORMAT_LIGHTGBM
          && strcmp(mc.model_file, "m.bin") == 0);
    CHECK(mc.policy == FOREST_MC_LATEST && mc.num_versions == 2);
    CHECK(mc.kind == FOREST_MC_KIND_AUTO && mc.output_class == 0
          && mc.input.n_dims == 0);

    CHECK(forest_model_config_read("", 0, "c", &mc, NULL, NULL, err,
                                   sizeof(err)) == 0);
    CHECK(mc.format == FOREST_FORMAT_XGBOOST
          && strcmp(mc.model_file, "xgboost.model") == 0);
}

static void
test_refusals(void)
{
    bad("backend: \"fil\"\nmax_batch: 3\n",
        "m/config.pbtxt:2: ModelConfig has no field named \"max_batch\"");
    bad("max_batch_size: 1\nmax_batch_size: 2\n",
        "m/config.pbtxt:2: ModelConfig.max_batch_size is given twice");
    bad("name: \"unterminated\n", "m/config.pbtxt:1: unterminated string");
    bad("input { dims: [ 1, 2 }\n", "m/config.pbtxt:1: expected ',' or ']'");
    bad("input {\n name: \"x\"\n", "m/config.pbtxt:3: expected '}', found "
        "end of file");
    bad("}", "m/config.pbtxt:1: unexpected '}'");
    bad("name \"x\"", "expected ':' or '{' after \"name\"");
    bad("max_batch_size: \"8\"", "takes a number, not a string");
    bad("max_batch_size: -1", "out of range");
    bad("max_batch_size: 8\ninput [{ data_type: TYPE_INT32 dims: [4] }]",
        "m/config.pbtxt:2: data_type: unknown value TYPE_INT32");
    bad("max_batch_size: 8\ninput [{ dims: [4, 2] }]",
        "m/config.pbtxt:2: input dims: FIL's input is one dimension");
    bad("max_batch_size: 8 input [{ dims: [4] }, { dims: [4] }]",
        "have one input");
    bad("instance_group [{ kind: KIND_TPU }]", "unknown value KIND_TPU");
    bad("version_policy { latest { num_versions: 1 } all { } }",
        "takes one of latest, all and specific");
    bad("dynamic_batching { }", "dynamic_batching needs max_batch_size > 0");
    bad("max_batch_size: 4\ndynamic_batching { preferred_batch_size: 8 }",
        "m/config.pbtxt:2: preferred_batch_size 8 is over max_batch_size 4");
    bad("parameters { key: \"model_type\" value { string_value: \"onnx\" } }",
        "model_type: unknown \"onnx\"");
    bad("parameters {\n key: \"output_class\"\n value { string_value: "
        "\"yes\" } }", "m/config.pbtxt:3: parameter output_class");
    bad("default_model_filename: \"../x\"", "is not a file name");
    bad("name: \"a\\q\"", "unknown escape");
    bad("name: 'a\\u12'", "needs 4 hex digits");
    bad("[ext.field]: 1", "extension and Any fields");
    bad("name: @", "expected a value for \"name\", found '@'");
}

static void
test_depth(void)
{
    char  text[512], err[256];
    int   i;

    for (i = 0; i < 300; i++) {
        text[i] = i % 2 ? '{' : 'a';
    }
    text[300] = '\0';
    CHECK(forest_pbtxt_parse(text, 300, "d", err, sizeof(err)) == NULL
          && strstr(err, "nested deeper") != NULL);
}

int
main(void)
{
    test_grammar();
    test_fil_config();
    test_defaults();
    test_refusals();
    test_depth();
    return check_summary();
}
