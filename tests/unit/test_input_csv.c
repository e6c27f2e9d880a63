/* CSV / float32 input reader: values, missing cells, dialect, and the
 * line/field named in every error. */
#include "check.h"
#include "input.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
parse(const char *text, forest_matrix *m, char *err)
{
    return forest_csv_parse(text, strlen(text), "in.csv", m, err,
        FOREST_ERR_LEN);
}

/* the parse fails and the message contains want */
static int
fails_with(const char *text, const char *want)
{
    forest_matrix m;
    char          err[FOREST_ERR_LEN] = "";
    int           ok = parse(text, &m, err) == -1 && strstr(err, want) != NULL
                       && m.values == NULL && m.names == NULL;

    if (!ok) {
        fprintf(stderr, "input %s: got error '%s', wanted '%s'\n", text, err,
            want);
    }
    return ok;
}

static void
test_values(void)
{
    forest_matrix m;
    char          err[FOREST_ERR_LEN];

    CHECK(parse("a,b,c\r\n1.5,,nan\r\n\r\n -2 , NaN,\"3e2\"\r\n", &m, err)
          == 0);
    CHECK(m.n_rows == 2 && m.n_cols == 3);
    CHECK(strcmp(m.names[0], "a") == 0 && strcmp(m.names[2], "c") == 0);
    CHECK(m.values[0] == 1.5f && isnan(m.values[1]) && isnan(m.values[2]));
    CHECK(m.values[3] == -2.0f && isnan(m.values[4]) && m.values[5] == 300.f);
    forest_matrix_free(&m);

    /* %.9g text goes to the float32 it came from, not via double */
    CHECK(parse("x\n0.100000001\n16777217\n", &m, err) == 0);
    CHECK(m.n_rows == 2 && m.values[0] == 0.1f && m.values[1] == 16777216.f);
    forest_matrix_free(&m);

    /* quoted names with commas and doubled quotes; no final newline */
    CHECK(parse("\"a,b\",\"say \"\"hi\"\"\"\n1,2", &m, err) == 0);
    CHECK(m.n_cols == 2 && strcmp(m.names[0], "a,b") == 0
          && strcmp(m.names[1], "say \"hi\"") == 0 && m.n_rows == 1);
    forest_matrix_free(&m);

    CHECK(parse("only,header\n", &m, err) == 0 && m.n_rows == 0);
    forest_matrix_free(&m);
}

static void
test_errors(void)
{
    CHECK(fails_with("", "empty input"));
    CHECK(fails_with("\n\n", "empty input"));
    CHECK(fails_with("1,2\n3,4\n", "line 1: the first line holds numbers"));
    CHECK(fails_with("a,b,c\n1,2,3\n4,5,6\n1,2,3\n1,2,3\n1,2,3\n1,abc,3\n",
        "in.csv: line 7: field 2: not a number 'abc'"));
    CHECK(fails_with("a,b\n1,2,3\n", "line 2: more than the 2 fields"));
    CHECK(fails_with("a,b\n1,2\n3\n", "line 3: 1 field, the header has 2"));
    CHECK(fails_with("a,b\n1,\"2\n", "line 2: field 2: unterminated quote"));
    CHECK(fails_with("a,b\n1,\"2\"x\n", "after a closing quote"));
    CHECK(fails_with("a\n1.5.5\n", "not a number '1.5.5'"));
}

static void
test_nul_byte(void)
{
    static const char text[] = "a\n1\0002\n";
    forest_matrix     m;
    char              err[FOREST_ERR_LEN];

    CHECK(forest_csv_parse(text, sizeof(text) - 1, "in.csv", &m, err,
        sizeof(err)) == -1 && strstr(err, "line 2: field 1: not a number '1?2'"));
}

static void
test_f32(void)
{
    float         v[6] = { 1, 2, NAN, 4, 5, 6 };
    forest_matrix m;
    char          err[FOREST_ERR_LEN];

    CHECK(forest_f32_parse(v, sizeof(v), 3, "in.f32", &m, err, sizeof(err))
          == 0);
    CHECK(m.n_rows == 2 && m.n_cols == 3 && isnan(m.values[2])
          && m.values[5] == 6.f);
    forest_matrix_free(&m);
    CHECK(forest_f32_parse(v, sizeof(v), 4, "in.f32", &m, err, sizeof(err))
          == -1 && strstr(err, "not a multiple of 4 features") != NULL);
    CHECK(forest_f32_parse(v, sizeof(v), 0, "in.f32", &m, err, sizeof(err))
          == -1);
}

static void
test_for_model(void)
{
    char          *names[3] = { "x", "y", "z" };
    forest_model   model;
    forest_matrix  m;
    char           err[FOREST_ERR_LEN];

    memset(&model, 0, sizeof(model));
    model.n_features = 3;
    model.feature_names = names;

    /* by name: reordered, extra column dropped */
    CHECK(parse("z,extra,x,y\n3,9,1,2\n", &m, err) == 0);
    CHECK(forest_matrix_for_model(&m, &model, "in", err, sizeof(err)) == 0);
    CHECK(m.n_cols == 3 && m.values[0] == 1 && m.values[1] == 2
          && m.values[2] == 3);
    forest_matrix_free(&m);

    /* names that do not match: by position */
    CHECK(parse("f0,f1,f2\n1,2,3\n", &m, err) == 0);
    CHECK(forest_matrix_for_model(&m, &model, "in", err, sizeof(err)) == 0);
    CHECK(m.values[0] == 1 && m.values[2] == 3);
    forest_matrix_free(&m);

    CHECK(parse("f0,f1\n1,2\n", &m, err) == 0);
    CHECK(forest_matrix_for_model(&m, &model, "in", err, sizeof(err)) == -1
          && strstr(err, "2 columns, but the model has 3 features") != NULL);
    forest_matrix_free(&m);
}

int
main(void)
{
    test_values();
    test_errors();
    test_nul_byte();
    test_f32();
    test_for_model();
    return check_summary();
}
