/*
 * LightGBM text model (model_to_string / save_model, versions v2..v4).
 *
 * Layout: a header of key=value lines, "Tree=N" blocks, "end of trees",
 * then feature importances, parameters and the pandas_categorical trailer,
 * none of which affects prediction, so reading stops at "end of trees".
 * Node rules: ../shared/models/SEMANTICS.md.
 */
#include "forest_internal.h"
#include "text_scan.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* decision_type bits */
#define LGB_CATEGORICAL   1
#define LGB_DEFAULT_LEFT  2
#define LGB_MISSING_SHIFT 2
/* kZeroThreshold: a float, compared after promotion to double */
#define LGB_ZERO          1e-35f
enum { LGB_MISSING_NONE, LGB_MISSING_ZERO, LGB_MISSING_NAN };

/* the lines of one Tree=N block the loader needs (spans into the file) */
typedef struct {
    text_span num_leaves, num_cat, split_feature, threshold, decision_type,
              left_child, right_child, leaf_value, cat_boundaries,
              cat_threshold, is_linear;
} lgb_tree_text;

typedef struct {
    forest_model *m;
    const char   *name;
    char         *err;
    size_t        errlen;
    uint32_t      per_iteration;    /* num_tree_per_iteration */
    uint32_t      num_class;
    int           average_output;
    size_t        cap_nodes, cap_leaves, cap_cat, cap_trees;
    /* per-tree scratch, sized for the largest tree so far */
    size_t        cap_scratch;
    int32_t      *feature, *dtype, *child[2], *queue;
    double       *threshold, *leaf;
    uint32_t     *cat_bounds;
    uint8_t      *seen;             /* internal nodes, then leaves */
} lgb_loader;

#define FAIL(L, ...) \
    (forest_errf((L)->err, (L)->errlen, (L)->name, __VA_ARGS__), -1)

static int
grow(lgb_loader *L, void **p, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 16;
    void  *q;

    if (need <= *cap) {
        return 0;
    }
    while (n < need) {
        n *= 2;
    }
    q = realloc(*p, n * elem);
    if (q == NULL) {
        return FAIL(L, "out of memory (%zu entries)", n);
    }
    *p = q;
    *cap = n;
    return 0;
}

/* Parses exactly n integers in [lo, hi] from the value of a "key=" line. */
static int
ints(lgb_loader *L, uint32_t t, const char *key, text_span v, size_t n,
    long long lo, long long hi, void *out, int unsigned32)
{
    text_span tok;
    long long x;
    size_t    i = 0;

    if (v.p == NULL) {
        return FAIL(L, "tree %u: %s missing", t, key);
    }
    if (text_count_tokens(v) != n) {
        return FAIL(L, "tree %u: %s has %zu values, expected %zu", t, key,
            text_count_tokens(v), n);
    }
    while (text_next_token(&v, &tok)) {
        if (text_to_ll(tok, &x) != 0 || x < lo || x > hi) {
            return FAIL(L, "tree %u: %s[%zu] = '%.*s' is not an integer in "
                "[%lld, %lld]", t, key, i, (int) (tok.len > 40 ? 40 : tok.len),
                tok.p, lo, hi);
        }
        if (unsigned32) {
            ((uint32_t *) out)[i++] = (uint32_t) x;
        } else {
            ((int32_t *) out)[i++] = (int32_t) x;
        }
    }
    return 0;
}

static int
doubles(lgb_loader *L, uint32_t t, const char *key, text_span v, size_t n,
    double *out)
{
    text_span tok;
    size_t    i = 0;

    if (v.p == NULL) {
        return FAIL(L, "tree %u: %s missing", t, key);
    }
    if (text_count_tokens(v) != n) {
        return FAIL(L, "tree %u: %s has %zu values, expected %zu", t, key,
            text_count_tokens(v), n);
    }
    while (text_next_token(&v, &tok)) {
        if (text_to_double(tok, &out[i]) != 0) {
            return FAIL(L, "tree %u: %s[%zu] = '%.*s' is not a number", t,
                key, i, (int) (tok.len > 40 ? 40 : tok.len), tok.p);
        }
        i++;
    }
    return 0;
}

static int
one_int(lgb_loader *L, const char *what, text_span v, long long lo,
    long long hi, long long *out)
{
    if (text_to_ll(v, out) != 0 || *out < lo || *out > hi) {
        return FAIL(L, "%s = '%.*s' is not an integer in [%lld, %lld]", what,
            (int) (v.len > 40 ? 40 : v.len), v.p, lo, hi);
    }
    return 0;
}

/* Fills one internal node from LightGBM node i of tree t. */
static int
split_node(lgb_loader *L, uint32_t t, uint32_t i, uint32_t num_cat,
    size_t cat_base, forest_node *nd)
{
    int32_t dt = L->dtype[i];
    int     missing = (dt >> LGB_MISSING_SHIFT) & 3;
    double  th = L->threshold[i];

    nd->feature = L->feature[i];
    if (dt & LGB_CATEGORICAL) {
        uint32_t k;

        if (!(th >= 0.0 && th < (double) num_cat)) {
            return FAIL(L, "tree %u node %u: category set %g out of range "
                "(num_cat=%u)", t, i, th, num_cat);
        }
        k = (uint32_t) th;
        nd->kind = FOREST_NODE_CATEGORICAL;
        nd->cat_in_set_left = 1;
        nd->default_left = 0;                /* NaN goes right */
        nd->cat_word = (uint32_t) (cat_base + L->cat_bounds[k]);
        nd->cat_nbits = 32 * (L->cat_bounds[k + 1] - L->cat_bounds[k]);
        return 0;
    }
    nd->kind = FOREST_NODE_NUMERIC;
    /*
     * LightGBM stores inputs with |x| <= kZeroThreshold as 0.0, so such
     * values all follow "0.0 <= threshold"; only a threshold inside that
     * band (e.g. the +-1.0000000180025095e-35 it writes for zero splits)
     * needs moving to the band's edge for the rule to hold.
     */
    if (th >= -(double) LGB_ZERO && th < (double) LGB_ZERO) {
        nd->threshold = th < 0.0 ? forest_threshold_lt(-(double) LGB_ZERO)
                                 : forest_threshold_le((double) LGB_ZERO);
    } else {
        nd->threshold = forest_threshold_le(th);
    }
    switch (missing) {
    case LGB_MISSING_NONE:
        /* NaN is compared as 0.0 */
        nd->default_left = 0.0 <= th;
        return 0;
    case LGB_MISSING_ZERO:
        nd->zero_is_missing = 1;
        /* fall through */
    case LGB_MISSING_NAN:
        nd->default_left = (dt & LGB_DEFAULT_LEFT) != 0;
        return 0;
    default:
        return FAIL(L, "tree %u node %u: unknown missing type in "
            "decision_type %d", t, i, dt);
    }
}

/*
 * Lays the tree out breadth first from its root so that every child comes
 * after its parent; a child referenced twice or never is an error.
 */
static int
layout_tree(lgb_loader *L, uint32_t t, uint32_t nl, uint32_t num_cat,
    size_t cat_base)
{
    forest_model *m = L->m;
    size_t        base = m->n_nodes, count = 1, total = 2 * (size_t) nl - 1;
    uint8_t      *seen_leaf = L->seen + (nl - 1);

    memset(L->seen, 0, total);
    L->queue[0] = nl > 1 ? 0 : -1;
    L->seen[0] = 1;
    for (size_t q = 0; q < count; q++) {
        int32_t      ref = L->queue[q];
        forest_node *nd = &m->nodes[base + q];

        memset(nd, 0, sizeof(*nd));
        nd->left = nd->right = -1;
        if (ref < 0) {
            nd->kind = FOREST_NODE_LEAF;
            nd->leaf = (uint32_t) m->n_leaf_values;
            m->leaf_values[m->n_leaf_values++] = L->leaf[~ref];
            continue;
        }
        for (int side = 0; side < 2; side++) {
            int32_t c = L->child[side][ref];
            uint8_t *mark = c >= 0 ? &L->seen[c] : &seen_leaf[~c];

            if ((c >= 0 && (uint32_t) c >= nl - 1)
                || (c < 0 && (uint32_t) ~c >= nl) || *mark)
            {
                return FAIL(L, "tree %u node %d: bad %s child %d", t, ref,
                    side ? "right" : "left", c);
            }
            *mark = 1;
            L->queue[count] = c;
            *(side ? &nd->right : &nd->left) = (int32_t) count++;
        }
        if (split_node(L, t, (uint32_t) ref, num_cat, cat_base, nd) != 0) {
            return -1;
        }
    }
    if (count != total) {
        return FAIL(L, "tree %u: %zu of its %zu nodes unreachable from the "
            "root", t, total - count, total);
    }
    m->n_nodes += total;
    return 0;
}

static int
read_categories(lgb_loader *L, uint32_t t, const lgb_tree_text *tx,
    uint32_t num_cat, size_t *cat_base)
{
    forest_model *m = L->m;
    size_t        words = tx->cat_threshold.p
                          ? text_count_tokens(tx->cat_threshold) : 0;

    if (ints(L, t, "cat_boundaries", tx->cat_boundaries, num_cat + 1, 0,
            (long long) words, L->cat_bounds, 1) != 0)
    {
        return -1;
    }
    for (uint32_t k = 0; k < num_cat; k++) {
        if (L->cat_bounds[k + 1] < L->cat_bounds[k]) {
            return FAIL(L, "tree %u: cat_boundaries not increasing", t);
        }
    }
    if (words > UINT32_MAX / 32) {
        return FAIL(L, "tree %u: category bitsets too large", t);
    }
    if (L->cat_bounds[0] != 0 || L->cat_bounds[num_cat] != words) {
        return FAIL(L, "tree %u: cat_boundaries do not cover the %zu "
            "cat_threshold words", t, words);
    }
    if (m->n_cat_words + words > UINT32_MAX
        || grow(L, (void **) &m->cat_bits, &L->cap_cat, m->n_cat_words + words,
                sizeof(uint32_t)) != 0)
    {
        return m->n_cat_words + words > UINT32_MAX
               ? FAIL(L, "too many category words") : -1;
    }
    if (ints(L, t, "cat_threshold", tx->cat_threshold, words, 0, UINT32_MAX,
            m->cat_bits + m->n_cat_words, 1) != 0)
    {
        return -1;
    }
    *cat_base = m->n_cat_words;
    m->n_cat_words += words;
    return 0;
}

static int
build_tree(lgb_loader *L, uint32_t t, const lgb_tree_text *tx)
{
    forest_model *m = L->m;
    long long     nl, num_cat = 0, linear = 0;
    size_t        total, cat_base = 0;
    uint32_t      ni;

    if (tx->num_leaves.p == NULL) {
        return FAIL(L, "tree %u: num_leaves missing", t);
    }
    if (one_int(L, "num_leaves", tx->num_leaves, 1, FOREST_MAX_NODES / 2,
            &nl) != 0
        || (tx->is_linear.p
            && one_int(L, "is_linear", tx->is_linear, 0, 1, &linear) != 0)
        || (tx->num_cat.p
            && one_int(L, "num_cat", tx->num_cat, 0, nl - 1, &num_cat) != 0))
    {
        return -1;
    }
    if (linear) {
        return FAIL(L, "tree %u: linear trees (linear_tree=true) are not "
            "supported", t);
    }
    ni = (uint32_t) nl - 1;
    total = 2 * (size_t) nl - 1;
    /* the token count bounds every allocation by the file's own size */
    if (tx->leaf_value.p == NULL
        || text_count_tokens(tx->leaf_value) != (size_t) nl)
    {
        return FAIL(L, "tree %u: leaf_value missing or not %lld values", t,
            nl);
    }
    if (m->n_nodes + total > FOREST_MAX_NODES) {
        return FAIL(L, "more than %u nodes", FOREST_MAX_NODES);
    }
    if (total > L->cap_scratch) {
        size_t c = L->cap_scratch, n = total + 1;
        void **arrays[] = { (void **) &L->feature, (void **) &L->dtype,
            (void **) &L->child[0], (void **) &L->child[1],
            (void **) &L->queue, (void **) &L->threshold, (void **) &L->leaf,
            (void **) &L->cat_bounds, (void **) &L->seen };
        size_t sizes[] = { 4, 4, 4, 4, 4, 8, 8, 4, 1 };

        for (size_t a = 0; a < sizeof(sizes) / sizeof(sizes[0]); a++) {
            c = L->cap_scratch;
            if (grow(L, arrays[a], &c, n, sizes[a]) != 0) {
                return -1;
            }
        }
        L->cap_scratch = c;
    }
    if (doubles(L, t, "leaf_value", tx->leaf_value, (size_t) nl, L->leaf) != 0
        || (ni > 0
            && (ints(L, t, "split_feature", tx->split_feature, ni, 0,
                    (long long) m->n_features - 1, L->feature, 0) != 0
                || doubles(L, t, "threshold", tx->threshold, ni,
                    L->threshold) != 0
                || ints(L, t, "decision_type", tx->decision_type, ni, 0, 15,
                    L->dtype, 0) != 0
                || ints(L, t, "left_child", tx->left_child, ni, -nl, ni - 1,
                    L->child[0], 0) != 0
                || ints(L, t, "right_child", tx->right_child, ni, -nl, ni - 1,
                    L->child[1], 0) != 0))
        || (num_cat > 0
            && read_categories(L, t, tx, (uint32_t) num_cat, &cat_base) != 0))
    {
        return -1;
    }
    if (grow(L, (void **) &m->nodes, &L->cap_nodes, m->n_nodes + total,
            sizeof(forest_node)) != 0
        || grow(L, (void **) &m->leaf_values, &L->cap_leaves,
            m->n_leaf_values + (size_t) nl, sizeof(double)) != 0
        || grow(L, (void **) &m->tree_begin, &L->cap_trees, (size_t) t + 2,
            sizeof(uint32_t)) != 0)
    {
        return -1;
    }
    m->tree_begin[t] = (uint32_t) m->n_nodes;
    if (layout_tree(L, t, (uint32_t) nl, (uint32_t) num_cat, cat_base) != 0) {
        return -1;
    }
    m->tree_begin[t + 1] = (uint32_t) m->n_nodes;
    return 0;
}

static void
tree_line(lgb_tree_text *tx, text_span key, text_span value)
{
    static const struct { const char *key; size_t off; } fields[] = {
#define F(k) { #k, offsetof(lgb_tree_text, k) }
        F(num_leaves), F(num_cat), F(split_feature), F(threshold),
        F(decision_type), F(left_child), F(right_child), F(leaf_value),
        F(cat_boundaries), F(cat_threshold), F(is_linear),
#undef F
    };

    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (text_eq(key, fields[i].key)) {
            *(text_span *) ((char *) tx + fields[i].off) = value;
            return;
        }
    }
}

/* Reads "Tree=t" blocks from *line on; leaves *line at "end of trees". */
static int
read_trees(lgb_loader *L, text_reader *r, text_span *line, int *have_line)
{
    forest_model *m = L->m;
    uint32_t      t = 0;
    long long     id;
    text_span     key, value;

    while (*have_line && text_starts_with(*line, "Tree=")) {
        lgb_tree_text tx;

        value.p = line->p + 5;
        value.len = line->len - 5;
        if (text_to_ll(value, &id) != 0 || id != (long long) t) {
            return FAIL(L, "line %zu: expected Tree=%u", r->line_no, t);
        }
        if (t >= FOREST_MAX_TREES) {
            return FAIL(L, "more than %u trees", FOREST_MAX_TREES);
        }
        memset(&tx, 0, sizeof(tx));
        while ((*have_line = text_next_line(r, line))
               && !text_starts_with(*line, "Tree=")
               && !text_eq(*line, "end of trees"))
        {
            if (text_split_kv(*line, &key, &value)) {
                tree_line(&tx, key, value);
            } else if (text_count_tokens(*line) != 0) {
                return FAIL(L, "line %zu: not a key=value line", r->line_no);
            }
        }
        if (build_tree(L, t, &tx) != 0) {
            return -1;
        }
        t++;
    }
    if (!*have_line || !text_eq(*line, "end of trees")) {
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
    forest_model *m = L->m;
    text_span     name, tok, arg;
    size_t        i, n = sizeof(objectives) / sizeof(objectives[0]);
    double        alpha = 1.0;
    int           sqrt_out = 0;

    snprintf(m->objective, sizeof(m->objective), "%.*s",
        (int) (value.len < sizeof(m->objective) ? value.len
               : sizeof(m->objective) - 1), value.p);
    if (!text_next_token(&value, &name)) {
        return FAIL(L, "empty objective");
    }
    for (i = 0; i < n && !text_eq(name, objectives[i].name); i++) {
    }
    if (i == n) {
        return FAIL(L, "unsupported objective '%.*s'",
            (int) (name.len > 40 ? 40 : name.len), name.p);
    }
    while (text_next_token(&value, &tok)) {
        if (text_starts_with(tok, "sigmoid:")) {
            arg.p = tok.p + 8;
            arg.len = tok.len - 8;
            if (text_to_double(arg, &alpha) != 0 || !(alpha > 0.0)
                || isinf(alpha))
            {
                return FAIL(L, "objective: bad sigmoid '%.*s'",
                    (int) (arg.len > 40 ? 40 : arg.len), arg.p);
            }
        } else if (text_eq(tok, "sqrt")) {
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
    forest_model *m = L->m;
    text_span     tok;
    uint32_t      f;

    if (names.p && text_count_tokens(names) != m->n_features) {
        return FAIL(L, "feature_names has %zu names for %u features",
            text_count_tokens(names), m->n_features);
    }
    if (infos.p && text_count_tokens(infos) != m->n_features) {
        return FAIL(L, "feature_infos has %zu entries for %u features",
            text_count_tokens(infos), m->n_features);
    }
    if (names.p) {
        m->feature_names = calloc(m->n_features, sizeof(char *));
        for (f = 0; m->feature_names && text_next_token(&names, &tok); f++) {
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
        for (f = 0; text_next_token(&infos, &tok); f++) {
            m->feature_is_categorical[f] = tok.p[0] != '['
                                           && !text_eq(tok, "none");
        }
    }
    return 0;
}

static int
read_header(lgb_loader *L, text_reader *r, text_span *line, int *have_line)
{
    forest_model *m = L->m;
    text_span     key, v, objective = { 0 }, names = { 0 }, infos = { 0 };
    text_span     version = { 0 };
    long long     x;
    int           have_features = 0;

    if (!text_next_line(r, line) || !text_eq(*line, "tree")) {
        return FAIL(L, "not a LightGBM text model (first line is not "
            "\"tree\")");
    }
    L->per_iteration = L->num_class = 1;
    while ((*have_line = text_next_line(r, line))
           && !text_starts_with(*line, "Tree=")
           && !text_eq(*line, "end of trees"))
    {
        if (text_eq(*line, "average_output")) {
            L->average_output = 1;
        }
        if (!text_split_kv(*line, &key, &v)) {
            continue;
        }
        if (text_eq(key, "version")) {
            version = v;
        } else if (text_eq(key, "num_class")) {
            if (one_int(L, "num_class", v, 1, FOREST_MAX_OUTPUTS, &x) != 0) {
                return -1;
            }
            L->num_class = (uint32_t) x;
        } else if (text_eq(key, "num_tree_per_iteration")) {
            if (one_int(L, "num_tree_per_iteration", v, 1, FOREST_MAX_OUTPUTS,
                    &x) != 0)
            {
                return -1;
            }
            L->per_iteration = (uint32_t) x;
        } else if (text_eq(key, "max_feature_idx")) {
            if (one_int(L, "max_feature_idx", v, 0, FOREST_MAX_FEATURES - 1,
                    &x) != 0)
            {
                return -1;
            }
            m->n_features = (uint32_t) x + 1;
            have_features = 1;
        } else if (text_eq(key, "objective")) {
            objective = v;
        } else if (text_eq(key, "feature_names")) {
            names = v;
        } else if (text_eq(key, "feature_infos")) {
            infos = v;
        }
    }
    if (!text_eq(version, "v2") && !text_eq(version, "v3")
        && !text_eq(version, "v4"))
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
    forest_model *m = L->m;

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

forest_model *
forest_load_lightgbm(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen)
{
    lgb_loader  L;
    text_reader r;
    text_span   line;
    int         have_line = 0, rc;

    memset(&L, 0, sizeof(L));
    L.name = name;
    L.err = err;
    L.errlen = errlen;
    L.m = calloc(1, sizeof(forest_model));
    if (L.m == NULL) {
        forest_errf(err, errlen, name, "out of memory");
        return NULL;
    }
    L.m->format = FOREST_FORMAT_LIGHTGBM;
    text_reader_init(&r, data, len);
    rc = read_header(&L, &r, &line, &have_line) == 0
         && read_trees(&L, &r, &line, &have_line) == 0
         && set_averaging(&L) == 0
         && forest_model_finish(L.m, name, err, errlen) == 0;
    free(L.feature);
    free(L.dtype);
    free(L.child[0]);
    free(L.child[1]);
    free(L.queue);
    free(L.threshold);
    free(L.leaf);
    free(L.cat_bounds);
    free(L.seen);
    if (!rc) {
        forest_free(L.m);
        return NULL;
    }
    return L.m;
}
