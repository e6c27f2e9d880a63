/*
 * Category names (forest/category.h) as the loaders read them: XGBoost 3.x
 * JSON and UBJSON (cats.enc), LightGBM (pandas_categorical), and the
 * Treelite attribute of scikit-learn conversions; lookups by name, unseen
 * names per library, and the lists a loader must refuse.
 */
#include "category.h"
#include "check.h"
#include "forest_internal.h"
#include "reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void
check_strcat(const char *path, forest_unseen_policy unseen)
{
    static const char *const colors[] = { "red", "green", "blue", "cyan",
                                          "magenta" };
    char                        err[FOREST_ERR_LEN] = "";
    forest_model               *m = forest_load(path, FOREST_FORMAT_AUTO, err,
                                                sizeof(err));
    const forest_category_list *l;
    float                       code = 0;

    CHECK(m != NULL);
    if (m == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK(forest_has_categories(m));
    CHECK(forest_category_list_of(m, 0) == NULL);     /* x0: numeric */
    l = forest_category_list_of(m, 1);                /* color */
    CHECK(l != NULL && l->n == 5);
    for (uint32_t i = 0; l != NULL && i < l->n && i < 5; i++) {
        CHECK(strcmp(l->labels[i], colors[i]) == 0);
        CHECK(forest_category_code(m, 1, colors[i], strlen(colors[i]), &code)
              == FOREST_CAT_FOUND && code == (float) i);
    }
    l = forest_category_list_of(m, 3);                /* size */
    CHECK(l != NULL && l->n == 4);
    CHECK(forest_category_code(m, 3, "XL", 2, &code) == FOREST_CAT_FOUND
          && code == 3.0f);
    /* names compare as bytes: no case folding, no prefixes */
    CHECK(forest_category_code(m, 1, "Red", 3, &code) == FOREST_CAT_UNSEEN
          && isnan(code));
    CHECK(forest_category_code(m, 1, "re", 2, &code) == FOREST_CAT_UNSEEN);
    CHECK(forest_category_code(m, 1, "redd", 4, &code) == FOREST_CAT_UNSEEN);
    CHECK(forest_category_code(m, 1, "", 0, &code) == FOREST_CAT_UNSEEN);
    CHECK(forest_category_code(m, 0, "red", 3, &code) == FOREST_CAT_NO_LIST);
    CHECK(forest_category_code(m, 99, "red", 3, &code) == FOREST_CAT_NO_LIST);
    CHECK(forest_category_unseen(m) == unseen);
    printf("ok %s\n", path);
    forest_free(m);
}

/* a LightGBM model text with its pandas_categorical line replaced */
static void
check_lgb_trailer(const char *trailer, const char *refused)
{
    char          err[FOREST_ERR_LEN] = "";
    size_t        len;
    char         *text = ref_read_file("tests/models/lgb4_strcat.txt", &len);
    char         *at, *buf;
    forest_model *m;

    CHECK(text != NULL);
    if (text == NULL) {
        return;
    }
    at = strstr(text, "\npandas_categorical:");
    CHECK(at != NULL);
    if (at == NULL) {
        free(text);
        return;
    }
    at[1] = '\0';
    buf = malloc(len + strlen(trailer) + 2);
    sprintf(buf, "%s%s\n", text, trailer);
    m = forest_load_buffer(buf, strlen(buf), FOREST_FORMAT_LIGHTGBM, "lgb",
                           err, sizeof(err));
    if (refused != NULL) {
        CHECK(m == NULL && strstr(err, refused) != NULL);
        if (m != NULL || strstr(err, refused) == NULL) {
            fprintf(stderr, "%s: got '%s', want '%s'\n", trailer, err,
                    refused);
        }
    } else {
        CHECK(m != NULL);
    }
    if (m != NULL) {
        CHECK(!forest_has_categories(m));
    }
    forest_free(m);
    free(buf);
    free(text);
}

int
main(void)
{
    char          err[FOREST_ERR_LEN];
    forest_model *m;

    check_strcat("tests/models/xgb3_strcat.json", FOREST_UNSEEN_REFUSED);
    check_strcat("tests/models/xgb3_strcat.ubj", FOREST_UNSEEN_REFUSED);
    check_strcat("tests/models/lgb4_strcat.txt", FOREST_UNSEEN_MISSING);

    /* no names: pandas without categoricals, numeric categories */
    check_lgb_trailer("pandas_categorical:null", NULL);
    check_lgb_trailer("pandas_categorical:[[1, 2, 3], [4, 5]]", NULL);
    check_lgb_trailer("pandas_categorical:[[\"a\", \"a\"], [\"S\"]]",
                      "listed twice");
    check_lgb_trailer("pandas_categorical:[[\"a\"], [\"b\"], [\"c\"]]",
                      "fewer categorical features");
    check_lgb_trailer("pandas_categorical:[[\"a\"", "lgb");

    /* a model without lists */
    m = forest_load("tests/models/xgb3_cat.json", FOREST_FORMAT_AUTO, err,
                    sizeof(err));
    CHECK(m != NULL && !forest_has_categories(m));
    forest_free(m);

    /* scikit-learn conversions: fractions are missing on f0 and f3 */
    m = forest_load("tests/models/skl19_hgb_cat_bin.treelite",
                    FOREST_FORMAT_AUTO, err, sizeof(err));
    CHECK(m != NULL && m->category_whole_only != NULL);
    if (m != NULL && m->category_whole_only != NULL) {
        CHECK(m->category_whole_only[0] && !m->category_whole_only[1]
              && !m->category_whole_only[2] && m->category_whole_only[3]);
    }
    forest_free(m);
    m = forest_load("tests/models/tl_skl_hgb_bin_cat_nan.treelite",
                    FOREST_FORMAT_AUTO, err, sizeof(err));
    CHECK(m != NULL && m->category_whole_only == NULL);
    forest_free(m);
    return check_summary();
}
