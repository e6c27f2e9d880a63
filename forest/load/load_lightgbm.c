/*
 * LightGBM text model (model_to_string / save_model, versions v2..v4).
 *
 * Layout: a header of key=value lines, "Tree=N" blocks, "end of trees",
 * then feature importances, parameters and the pandas_categorical trailer,
 * none of which affects prediction, so reading stops at "end of trees"
 * (category_formats.c reads the pandas_categorical line for its names).
 * Node rules: tests/reference/models/SEMANTICS.md.
 */
#include "category_formats.h"
#include "lightgbm_tree.h"
#include "loaders.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    lgb_trees     b;
    uint32_t      per_iteration;    /* num_tree_per_iteration */
    uint32_t      num_class;
    int           average_output;
} lgb_loader;

#define FAIL(L, ...) LGB_FAIL(&(L)->b, __VA_ARGS__)

/* Reads "Tree=t" blocks from *line on; leaves *line at "end of trees". */
static int
read_trees(lgb_loader *L, text_reader *r, text_span *line, int *have_line)
{
    forest_model *m = L->b.m;
    uint32_t      t = 0;
    long long     id;
    text_span     key, value;

    while (*have_line && forest_text_starts_with(*line, "Tree=")) {
        lgb_tree_text tx;

        value.p = line->p + 5;
        value.len = line->len - 5;
        if (forest_text_to_ll(value, &id) != 0 || id != (long long) t) {
            return FAIL(L, "line %zu: expected Tree=%u", r->line_no, t);
        }
        if (t >= FOREST_MAX_TREES) {
            return FAIL(L, "more than %u trees", FOREST_MAX_TREES);
        }
        memset(&tx, 0, sizeof(tx));
        while ((*have_line = forest_text_next_line(r, line))
               && !forest_text_starts_with(*line, "Tree=")
               && !forest_text_eq(*line, "end of trees"))
        {
            if (forest_text_split_kv(*line, &key, &value)) {
                forest_lgb_tree_line(&tx, key, value);
            } else if (forest_text_count_tokens(*line) != 0) {
                return FAIL(L, "line %zu: not a key=value line", r->line_no);
            }
        }
        if (forest_lgb_build_tree(&L->b, t, &tx) != 0) {
            return -1;
        }
        t++;
    }
    if (!*have_line || !forest_text_eq(*line, "end of trees")) {
        return FAIL(L, "truncated: no \"end of trees\" after %u trees", t);
    }
    if (t == 0 || t % L->per_iteration != 0) {
        return FAIL(L, "%u trees is not a whole number of iterations of %u "
            "trees", t, L->per_iteration);
    }
    m->n_trees = t;
    m->tree_group = malloc(t * sizeof(int32_t));
    if (m->tree_group == NULL) {
        return FAIL(L, "out of memory");
    }
    for (uint32_t i = 0; i < t; i++) {
        m->tree_group[i] = (int32_t) (i % L->per_iteration);
    }
    return 0;
}

static int
set_objective(lgb_loader *L, text_span value)
{
    static const struct {
        const char *name;
        forest_postprocessor post;
        int classes;    /* n_classes: 0, 2 (binary) or -1 (num_class) */
    } objectives[] = {
        { "binary", FOREST_POST_SIGMOID, 2 },
        { "multiclass", FOREST_POST_SOFTMAX, -1 },
        { "multiclassova", FOREST_POST_SIGMOID, -1 },
        { "cross_entropy", FOREST_POST_SIGMOID, 2 },
        { "cross_entropy_lambda", FOREST_POST_LOG1P_EXP, 0 },
        { "regression", FOREST_POST_IDENTITY, 0 },
        { "regression_l1", FOREST_POST_IDENTITY, 0 },
        { "huber", FOREST_POST_IDENTITY, 0 },
        { "fair", FOREST_POST_IDENTITY, 0 },
        { "quantile", FOREST_POST_IDENTITY, 0 },
        { "mape", FOREST_POST_IDENTITY, 0 },
        { "poisson", FOREST_POST_EXP, 0 },
        { "gamma", FOREST_POST_EXP, 0 },
        { "tweedie", FOREST_POST_EXP, 0 },
        { "lambdarank", FOREST_POST_IDENTITY, 0 },
        { "rank_xendcg", FOREST_POST_IDENTITY, 0 },
    };
    forest_model *m = L->b.m;
    text_span     name, tok, arg;
    size_t        i, n = sizeof(objectives) / sizeof(objectives[0]);
    double        alpha = 1.0;
    int           sqrt_out = 0;

    snprintf(m->objective, sizeof(m->objective), "%.*s",
        (int) (value.len < sizeof(m->objective) ? value.len
               : sizeof(m->objective) - 1), value.p);
    if (!forest_text_next_token(&value, &name)) {
        return FAIL(L, "empty objective");
    }
    for (i = 0; i < n && !forest_text_eq(name, objectives[i].name); i++) {
    }
    if (i == n) {
        return FAIL(L, "unsupported objective '%.*s'",
            (int) (name.len > 40 ? 40 : name.len), name.p);
    }
    while (forest_text_next_token(&value, &tok)) {
        if (forest_text_starts_with(tok, "sigmoid:")) {
            arg.p = tok.p + 8;
            arg.len = tok.len - 8;
            if (forest_text_to_double(arg, &alpha) != 0 || !(alpha > 0.0)
                || isinf(alpha))
            {
                return FAIL(L, "objective: bad sigmoid '%.*s'",
                    (int) (arg.len > 40 ? 40 : arg.len), arg.p);
            }
        } else if (forest_text_eq(tok, "sqrt")) {
            sqrt_out = 1;
        }
    }
    m->post = objectives[i].post;
    m->sigmoid_alpha = alpha;
    if (sqrt_out && m->post == FOREST_POST_IDENTITY) {
        /* reg_sqrt: trained on sqrt(label), predictions squared back */
        m->post = FOREST_POST_SIGNED_SQUARE;
    }
    if (objectives[i].classes == -1) {
        if (L->num_class != L->per_iteration || L->num_class < 2) {
            return FAIL(L, "objective %s with num_class=%u and "
                "num_tree_per_iteration=%u", objectives[i].name, L->num_class,
                L->per_iteration);
        }
        m->n_classes = L->num_class;
    } else if (L->per_iteration != 1) {
        return FAIL(L, "objective %s with num_tree_per_iteration=%u",
            objectives[i].name, L->per_iteration);
    } else {
        m->n_classes = (uint32_t) objectives[i].classes;
    }
    return 0;
}

/* feature_names / feature_infos: one token per feature */
static int
set_features(lgb_loader *L, text_span names, text_span infos)
{
    forest_model *m = L->b.m;
    text_span     tok;
    uint32_t      f;

    if (names.p && forest_text_count_tokens(names) != m->n_features) {
        return FAIL(L, "feature_names has %zu names for %u features",
            forest_text_count_tokens(names), m->n_features);
    }
    if (infos.p && forest_text_count_tokens(infos) != m->n_features) {
        return FAIL(L, "feature_infos has %zu entries for %u features",
            forest_text_count_tokens(infos), m->n_features);
    }
    if (names.p) {
        m->feature_names = calloc(m->n_features, sizeof(char *));
        for (f = 0;
             m->feature_names && forest_text_next_token(&names, &tok);
             f++)
        {
            m->feature_names[f] = strndup(tok.p, tok.len);
            if (m->feature_names[f] == NULL) {
                return FAIL(L, "out of memory");
            }
        }
        if (m->feature_names == NULL) {
            return FAIL(L, "out of memory");
        }
    }
    if (infos.p) {
        m->feature_is_categorical = calloc(m->n_features, 1);
        if (m->feature_is_categorical == NULL) {
            return FAIL(L, "out of memory");
        }
        /* numeric: "[min:max]"; unused: "none"; categorical: "c1:c2:..." */
        for (f = 0; forest_text_next_token(&infos, &tok); f++) {
            m->feature_is_categorical[f] = tok.p[0] != '['
                                           && !forest_text_eq(tok, "none");
        }
    }
    return 0;
}

static int
read_header(lgb_loader *L, text_reader *r, text_span *line, int *have_line)
{
    forest_model *m = L->b.m;
    text_span     key, v, objective = { 0 }, names = { 0 }, infos = { 0 };
    text_span     version = { 0 };
    long long     x;
    int           have_features = 0;

    if (!forest_text_next_line(r, line) || !forest_text_eq(*line, "tree")) {
        return FAIL(L, "not a LightGBM text model (first line is not "
            "\"tree\")");
    }
    L->per_iteration = L->num_class = 1;
    while ((*have_line = forest_text_next_line(r, line))
           && !forest_text_starts_with(*line, "Tree=")
           && !forest_text_eq(*line, "end of trees"))
    {
        if (forest_text_eq(*line, "average_output")) {
            L->average_output = 1;
        }
        if (!forest_text_split_kv(*line, &key, &v)) {
            continue;
        }
        if (forest_text_eq(key, "version")) {
            version = v;
        } else if (forest_text_eq(key, "num_class")) {
            if (forest_lgb_one_int(&L->b, "num_class", v, 1,
                                   FOREST_MAX_OUTPUTS, &x) != 0)
            {
                return -1;
            }
            L->num_class = (uint32_t) x;
        } else if (forest_text_eq(key, "num_tree_per_iteration")) {
            if (forest_lgb_one_int(&L->b, "num_tree_per_iteration", v, 1,
                    FOREST_MAX_OUTPUTS, &x) != 0)
            {
                return -1;
            }
            L->per_iteration = (uint32_t) x;
        } else if (forest_text_eq(key, "max_feature_idx")) {
            if (forest_lgb_one_int(&L->b, "max_feature_idx", v, 0,
                    FOREST_MAX_FEATURES - 1, &x) != 0)
            {
                return -1;
            }
            m->n_features = (uint32_t) x + 1;
            have_features = 1;
        } else if (forest_text_eq(key, "objective")) {
            objective = v;
        } else if (forest_text_eq(key, "feature_names")) {
            names = v;
        } else if (forest_text_eq(key, "feature_infos")) {
            infos = v;
        }
    }
    if (!forest_text_eq(version, "v2") && !forest_text_eq(version, "v3")
        && !forest_text_eq(version, "v4"))
    {
        return FAIL(L, "unsupported model version '%.*s' (v2..v4 are "
            "supported)", (int) (version.len > 20 ? 20 : version.len),
            version.p ? version.p : "");
    }
    if (!have_features) {
        return FAIL(L, "max_feature_idx missing");
    }
    snprintf(m->source, sizeof(m->source), "lightgbm %.*s",
        (int) version.len, version.p);
    m->n_outputs = L->per_iteration;
    m->leaf_width = 1;
    if (objective.p == NULL) {
        /* a custom objective: LightGBM itself predicts the raw score */
        snprintf(m->objective, sizeof(m->objective), "custom");
        m->post = FOREST_POST_IDENTITY;
    } else if (set_objective(L, objective) != 0) {
        return -1;
    }
    return set_features(L, names, infos);
}

static int
set_averaging(lgb_loader *L)
{
    forest_model *m = L->b.m;

    if (!L->average_output) {
        return 0;
    }
    /* random forest mode: LightGBM divides by the number of iterations */
    m->average_divisor = malloc(m->n_outputs * sizeof(double));
    if (m->average_divisor == NULL) {
        return FAIL(L, "out of memory");
    }
    for (uint32_t k = 0; k < m->n_outputs; k++) {
        m->average_divisor[k] = (double) (m->n_trees / L->per_iteration);
    }
    return 0;
}

/* The first line that is not blank is "tree". */
int
forest_detect_lightgbm(const uint8_t *data, size_t len)
{
    size_t i = 0;

    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r'
                       || data[i] == '\n'))
    {
        i++;
    }
    return (len - i >= 5 && memcmp(data + i, "tree\n", 5) == 0)
           || (len - i >= 6 && memcmp(data + i, "tree\r\n", 6) == 0);
}

forest_model *
forest_load_lightgbm(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen)
{
    lgb_loader  L;
    text_reader r;
    text_span   line;
    int         have_line = 0, rc;

    memset(&L, 0, sizeof(L));
    L.b.name = name;
    L.b.err = err;
    L.b.errlen = errlen;
    L.b.m = calloc(1, sizeof(forest_model));
    if (L.b.m == NULL) {
        forest_errf(err, errlen, name, "out of memory");
        return NULL;
    }
    L.b.m->format = FOREST_FORMAT_LIGHTGBM;
    forest_text_reader_init(&r, data, len);
    rc = read_header(&L, &r, &line, &have_line) == 0
         && read_trees(&L, &r, &line, &have_line) == 0
         && set_averaging(&L) == 0
         && forest_lgb_categories(L.b.m, data, len, name, err, errlen) == 0
         && forest_model_finish(L.b.m, name, err, errlen) == 0;
    forest_lgb_trees_free(&L.b);
    if (!rc) {
        forest_free(L.b.m);
        return NULL;
    }
    return L.b.m;
}
