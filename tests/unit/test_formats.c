/*
 * The format table (forest/load/formats.c): every listed name and alias
 * parses back to its format, the "expected one of" list names them all,
 * auto detects every format from the bytes, and format=xgboost loads the
 * three XGBoost encodings but refuses other models and unknown bytes with
 * a message naming the file and what it looks like.
 *
 * Paths are relative to the repo root, the working directory of `make test`.
 */
#include "check.h"
#include "forest.h"

#include <string.h>

#define MODELS "tests/reference/models/"

static const struct {
    const char   *path;
    forest_format format;
} samples[] = {
    { MODELS "xgb_binary.json", FOREST_FORMAT_XGBOOST_JSON },
    { MODELS "xgb_binary.ubj", FOREST_FORMAT_XGBOOST_UBJ },
    { MODELS "xgb_binary.model", FOREST_FORMAT_XGBOOST_BINARY },
    { MODELS "lgb_binary.txt", FOREST_FORMAT_LIGHTGBM },
    { MODELS "tl_xgb_binary.treelite", FOREST_FORMAT_TREELITE },
    { MODELS "tl_lgb_binary.treelite", FOREST_FORMAT_TREELITE },
};

#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

static void
test_names(void)
{
    const forest_format_info *fi;
    forest_format             f, g;
    char                      list[512];
    size_t                    i;

    forest_format_list(list, sizeof(list));
    for (i = 0; (fi = forest_format_at(i)) != NULL; i++) {
        CHECK(forest_format_parse(fi->name, &f) == 0);
        CHECK(strcmp(forest_format_name(f), fi->name) == 0);
        CHECK(strstr(list, fi->name) != NULL);
        CHECK(fi->description != NULL && fi->description[0] != '\0');
        if (fi->alias != NULL) {
            CHECK(forest_format_parse(fi->alias, &g) == 0 && g == f);
            CHECK(strstr(list, fi->alias) != NULL);
        }
    }
    CHECK(i >= 7);
    CHECK(forest_format_parse("auto", &f) == 0 && f == FOREST_FORMAT_AUTO);
    CHECK(forest_format_parse("xgboost", &f) == 0
          && f == FOREST_FORMAT_XGBOOST);
    CHECK(forest_format_parse("treelite", &f) == 0
          && f == FOREST_FORMAT_TREELITE);
    CHECK(forest_format_parse("onnx", &f) == -1);
    CHECK(forest_format_parse("", &f) == -1);
    CHECK(forest_format_parse("XGBOOST", &f) == -1);
    CHECK(strcmp(forest_format_name((forest_format) 99), "unknown") == 0);

    /* a short buffer gets a cut, terminated list */
    forest_format_list(list, 8);
    CHECK(strcmp(list, "auto, x") == 0);
    printf("ok names\n");
}

static void
test_detect(void)
{
    static const char *junk[] = { "", "{", "{ x", "tree", "bin",
                                  "not a model\n" };
    char err[FOREST_ERR_LEN];

    for (size_t i = 0; i < N_SAMPLES; i++) {
        forest_model *m = forest_load(samples[i].path, FOREST_FORMAT_AUTO,
                                      err, sizeof(err));

        CHECK(m != NULL);
        if (m == NULL) {
            fprintf(stderr, "%s\n", err);
            continue;
        }
        CHECK(m->format == samples[i].format);
        forest_free(m);
    }
    CHECK(forest_detect_format(" \n{\"learner\":{}}", 16)
          == FOREST_FORMAT_XGBOOST_JSON);
    CHECK(forest_detect_format("{}", 2) == FOREST_FORMAT_XGBOOST_JSON);
    CHECK(forest_detect_format("{L\0\0", 4) == FOREST_FORMAT_XGBOOST_UBJ);
    CHECK(forest_detect_format("\ntree\r\nversion=v4", 17)
          == FOREST_FORMAT_LIGHTGBM);
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        CHECK(forest_detect_format(junk[i], strlen(junk[i]))
              == FOREST_FORMAT_AUTO);
    }
    CHECK(forest_load_buffer("not a model\n", 12, FOREST_FORMAT_AUTO, "j",
                             err, sizeof(err)) == NULL);
    CHECK(strcmp(err, "j: unrecognised model format (expected XGBoost JSON, "
                 "XGBoost UBJSON, XGBoost legacy binary, LightGBM text or "
                 "Treelite checkpoint)") == 0);
    printf("ok detect\n");
}

static void
test_xgboost_only(void)
{
    char err[FOREST_ERR_LEN], want[FOREST_ERR_LEN];

    for (size_t i = 0; i < N_SAMPLES; i++) {
        forest_model *m = forest_load(samples[i].path, FOREST_FORMAT_XGBOOST,
                                      err, sizeof(err));
        int           xgb = samples[i].format == FOREST_FORMAT_XGBOOST_JSON
                            || samples[i].format == FOREST_FORMAT_XGBOOST_UBJ
                            || samples[i].format
                               == FOREST_FORMAT_XGBOOST_BINARY;

        CHECK((m != NULL) == xgb);
        if (m != NULL) {
            CHECK(m->format == samples[i].format);
            forest_free(m);
            continue;
        }
        snprintf(want, sizeof(want), "%s: not an XGBoost model (looks like "
                 "%s)", samples[i].path,
                 forest_format_name(samples[i].format));
        CHECK(strcmp(err, want) == 0);
        if (strcmp(err, want) != 0) {
            fprintf(stderr, "got '%s'\nwant '%s'\n", err, want);
        }
    }
    CHECK(forest_load_buffer("tree", 4, FOREST_FORMAT_XGBOOST, "t", err,
                             sizeof(err)) == NULL);
    CHECK(strcmp(err, "t: not an XGBoost model (expected XGBoost JSON, "
                 "XGBoost UBJSON or XGBoost legacy binary)") == 0);
    printf("ok format=xgboost\n");
}

int
main(void)
{
    test_names();
    test_detect();
    test_xgboost_only();
    return check_summary();
}
