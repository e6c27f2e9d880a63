/*
 * XGBoost model document (the schema save_model() writes as JSON or UBJSON,
 * xgboost 1.x to 3.x) -> xgb_learner + xgb_tree views -> xgb_builder.
 */
#include "category_formats.h"
#include "doc.h"
#include "xgboost_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* per-tree arrays converted from the document's doubles */
typedef struct {
    uint32_t  cap;
    int32_t  *left, *right;
    int64_t  *feature, *leaf_index;
    float    *cond;
    double   *cover;
    uint8_t  *default_left, *is_cat;
    uint32_t *cat_begin, *cat_count;
    size_t    cap_cats, cap_vec;
    int64_t  *cats;
    float    *leaf_vec;
} tree_scratch;

typedef struct {
    const char *name;
    char       *err;
    size_t      errlen;
    uint32_t    tree_no;
} ctx;

static void
scratch_free(tree_scratch *s)
{
    free(s->left);
    free(s->right);
    free(s->feature);
    free(s->leaf_index);
    free(s->cond);
    free(s->cover);
    free(s->default_left);
    free(s->is_cat);
    free(s->cat_begin);
    free(s->cat_count);
    free(s->cats);
    free(s->leaf_vec);
}

static int
scratch_reserve(tree_scratch *s, uint32_t n)
{
    if (n <= s->cap) {
        return 0;
    }
    scratch_free(s);
    memset(s, 0, sizeof(*s));
    s->left = malloc(n * sizeof(int32_t));
    s->right = malloc(n * sizeof(int32_t));
    s->feature = malloc(n * sizeof(int64_t));
    s->leaf_index = malloc(n * sizeof(int64_t));
    s->cond = malloc(n * sizeof(float));
    s->cover = malloc(n * sizeof(double));
    s->default_left = malloc(n);
    s->is_cat = malloc(n);
    s->cat_begin = malloc(n * sizeof(uint32_t));
    s->cat_count = malloc(n * sizeof(uint32_t));
    if (!s->left || !s->right || !s->feature || !s->leaf_index || !s->cond
        || !s->cover || !s->default_left || !s->is_cat || !s->cat_begin || !s->cat_count)
    {
        return -1;
    }
    s->cap = n;
    return 0;
}

/* A parameter XGBoost writes as a decimal string (or a plain number). */
static int
param_number(const doc_value *v, double *out)
{
    char *end;

    if (v == NULL) {
        return -1;
    }
    if (v->type == DOC_NUMBER || v->type == DOC_BOOL) {
        *out = v->u.num;
        return 0;
    }
    if (v->type != DOC_STRING || v->n == 0) {
        return -1;
    }
    *out = strtod(v->u.str, &end);
    return end == v->u.str + v->n ? 0 : -1;
}

static int
param_uint(const ctx *c, const doc_value *obj, const char *key,
    uint32_t dflt, uint32_t *out)
{
    const doc_value *v = forest_doc_get(obj, key);
    double           x;

    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    if (param_number(v, &x) != 0 || !(x >= 0 && x <= 4294967295.0)
        || x != floor(x))
    {
        forest_errf(c->err, c->errlen, c->name, "%s: not a valid count", key);
        return -1;
    }
    *out = (uint32_t) x;
    return 0;
}

/* "5E-1", "[5E-1]" or "[a,b,c]" (xgboost 3.x writes a vector). */
static int
parse_base_score(const ctx *c, const doc_value *v, double **out, uint32_t *n)
{
    const char *s, *p;
    char       *end;
    uint32_t    cap = 1, k = 0;

    if (v == NULL) {
        *out = malloc(sizeof(double));
        if (*out == NULL) {
            goto oom;
        }
        (*out)[0] = 0.5;
        *n = 1;
        return 0;
    }
    if (v->type == DOC_NUMBER) {
        *out = malloc(sizeof(double));
        if (*out == NULL) {
            goto oom;
        }
        (*out)[0] = v->u.num;
        *n = 1;
        return 0;
    }
    if (v->type != DOC_STRING) {
        goto bad;
    }
    s = v->u.str;
    for (p = s; *p; p++) {
        cap += *p == ',';
    }
    *out = malloc(cap * sizeof(double));
    if (*out == NULL) {
        goto oom;
    }
    p = s;
    if (*p == '[') {
        p++;
    }
    for ( ;; ) {
        if (k == cap) {
            goto bad;
        }
        (*out)[k++] = strtod(p, &end);
        if (end == p) {
            goto bad;
        }
        p = end;
        while (*p == ' ') {
            p++;
        }
        if (*p != ',') {
            break;
        }
        p++;
    }
    if (*s == '[' ? (p[0] != ']' || p[1] != '\0') : *p != '\0') {
        goto bad;
    }
    *n = k;
    return 0;
bad:
    forest_errf(c->err, c->errlen, c->name, "learner_model_param.base_score: "
        "malformed value");
    return -1;
oom:
    forest_errf(c->err, c->errlen, c->name, "out of memory");
    return -1;
}

static const double no_numbers[1];

/* A numeric array member of want elements (SIZE_MAX: any); NULL when it is
 * optional and absent; BAD_ARRAY after writing the error. */
static const double *
numbers(const ctx *c, const doc_value *tree, const char *key, size_t want,
    int optional)
{
    const doc_value *v = forest_doc_get(tree, key);

    if (v == NULL && optional) {
        return NULL;
    }
    if (v == NULL || v->type != DOC_NUMBERS
        || (want != SIZE_MAX && v->n != want))
    {
        forest_errf(c->err, c->errlen, c->name, "tree %u: \"%s\" %s",
            c->tree_no, key, v == NULL ? "missing"
            : (v->type != DOC_NUMBERS ? "is not a numeric array"
                                      : "has the wrong length"));
        return (const double *) -1;
    }
    return v->n ? v->u.nums : no_numbers;
}

#define BAD_ARRAY(p) ((p) == (const double *) -1)

static int
to_int(const ctx *c, const char *what, double x, int64_t lo, int64_t hi,
    int64_t *out)
{
    if (!(x >= (double) lo && x <= (double) hi) || x != floor(x)) {
        forest_errf(c->err, c->errlen, c->name, "tree %u: %s value %g is not "
            "a valid index", c->tree_no, what, x);
        return -1;
    }
    *out = (int64_t) x;
    return 0;
}

/* categories_nodes / _segments / _sizes -> per-node ranges into cats */
static int
load_categories(const ctx *c, const doc_value *tree, uint32_t n,
    tree_scratch *s, xgb_tree *t)
{
    const doc_value *cats = forest_doc_get(tree, "categories");
    const double    *nodes, *seg, *sizes, *vals;
    size_t           n_nodes, n_cats;
    int64_t          node, b, k;

    memset(s->cat_begin, 0, n * sizeof(uint32_t));
    memset(s->cat_count, 0, n * sizeof(uint32_t));
    t->cat_begin = s->cat_begin;
    t->cat_count = s->cat_count;
    if (cats == NULL) {
        return 0;
    }
    n_cats = forest_doc_len(cats);
    n_nodes = forest_doc_len(forest_doc_get(tree, "categories_nodes"));
    vals = numbers(c, tree, "categories", SIZE_MAX, 0);
    nodes = numbers(c, tree, "categories_nodes", SIZE_MAX, 0);
    seg = numbers(c, tree, "categories_segments", n_nodes, 0);
    sizes = numbers(c, tree, "categories_sizes", n_nodes, 0);
    if (BAD_ARRAY(vals) || BAD_ARRAY(nodes) || BAD_ARRAY(seg)
        || BAD_ARRAY(sizes))
    {
        return -1;
    }
    if (n_cats > s->cap_cats) {
        free(s->cats);
        s->cats = malloc(n_cats * sizeof(int64_t));
        s->cap_cats = s->cats ? n_cats : 0;
        if (s->cats == NULL) {
            forest_errf(c->err, c->errlen, c->name, "out of memory");
            return -1;
        }
    }
    for (size_t i = 0; i < n_cats; i++) {
        if (to_int(c, "categories", vals[i], -(1LL << 31), 1LL << 31,
                   &s->cats[i]) != 0)
        {
            return -1;
        }
    }
    for (size_t i = 0; i < n_nodes; i++) {
        if (to_int(c, "categories_nodes", nodes[i], 0, n - 1, &node) != 0
            || to_int(c, "categories_segments", seg[i], 0, (int64_t) n_cats,
                      &b) != 0
            || to_int(c, "categories_sizes", sizes[i], 0,
                      (int64_t) n_cats - b, &k) != 0)
        {
            return -1;
        }
        s->cat_begin[node] = (uint32_t) b;
        s->cat_count[node] = (uint32_t) k;
    }
    t->cats = s->cats;
    t->n_cats = n_cats;
    return 0;
}

static int
load_vector_leaves(const ctx *c, const doc_value *tree, uint32_t n,
    uint32_t width, tree_scratch *s, xgb_tree *t)
{
    const doc_value *lw = forest_doc_get(tree, "leaf_weights");
    const double    *vec;
    size_t           len;

    /* 3.x: leaf_weights, indexed by right_children of the leaf; earlier:
     * base_weights holds width values for every node */
    if (lw != NULL) {
        vec = numbers(c, tree, "leaf_weights", SIZE_MAX, 0);
        len = forest_doc_len(lw);
    } else {
        if ((size_t) n > SIZE_MAX / width) {
            return -1;
        }
        len = (size_t) n * width;
        vec = numbers(c, tree, "base_weights", len, 0);
    }
    if (BAD_ARRAY(vec)) {
        return -1;
    }
    if (len > s->cap_vec) {
        free(s->leaf_vec);
        s->leaf_vec = malloc(len * sizeof(float));
        s->cap_vec = s->leaf_vec ? len : 0;
        if (s->leaf_vec == NULL) {
            forest_errf(c->err, c->errlen, c->name, "out of memory");
            return -1;
        }
    }
    for (size_t i = 0; i < len; i++) {
        s->leaf_vec[i] = (float) vec[i];
    }
    for (uint32_t i = 0; i < n; i++) {
        s->leaf_index[i] = lw != NULL ? s->right[i] : (int64_t) i;
    }
    t->leaf_width = width;
    t->leaf_vec = s->leaf_vec;
    t->n_leaf_vec = len;
    t->leaf_index = s->leaf_index;
    return 0;
}

static int
load_tree(const ctx *c, const doc_value *tree, tree_scratch *s, xgb_tree *t)
{
    const doc_value *tp = forest_doc_get(tree, "tree_param");
    const double    *left, *right, *feat, *cond, *dl, *st, *hess;
    uint32_t         n, width;
    int64_t          x;

    memset(t, 0, sizeof(*t));
    if (tree == NULL || tree->type != DOC_OBJECT) {
        forest_errf(c->err, c->errlen, c->name, "tree %u: not an object",
            c->tree_no);
        return -1;
    }
    if (param_uint(c, tp, "num_nodes", 0, &n) != 0
        || param_uint(c, tp, "size_leaf_vector", 0, &width) != 0)
    {
        return -1;
    }
    if (n == 0 || n > FOREST_MAX_NODES) {
        forest_errf(c->err, c->errlen, c->name, "tree %u: bad num_nodes %u",
            c->tree_no, n);
        return -1;
    }
    left = numbers(c, tree, "left_children", n, 0);
    right = numbers(c, tree, "right_children", n, 0);
    feat = numbers(c, tree, "split_indices", n, 0);
    cond = numbers(c, tree, "split_conditions", n, 0);
    dl = numbers(c, tree, "default_left", n, 0);
    st = numbers(c, tree, "split_type", n, 1);
    hess = numbers(c, tree, "sum_hessian", n, 1);
    if (BAD_ARRAY(left) || BAD_ARRAY(right) || BAD_ARRAY(feat)
        || BAD_ARRAY(cond) || BAD_ARRAY(dl) || BAD_ARRAY(st)
        || BAD_ARRAY(hess))
    {
        return -1;
    }
    if (scratch_reserve(s, n) != 0) {
        forest_errf(c->err, c->errlen, c->name, "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (to_int(c, "left_children", left[i], -1, INT32_MAX, &x) != 0) {
            return -1;
        }
        s->left[i] = (int32_t) x;
        if (to_int(c, "right_children", right[i], INT32_MIN, INT32_MAX, &x)
            != 0)
        {
            return -1;
        }
        s->right[i] = (int32_t) x;
        if (to_int(c, "split_indices", feat[i], INT32_MIN, INT32_MAX,
                   &s->feature[i]) != 0)
        {
            return -1;
        }
        s->cond[i] = (float) cond[i];
        s->cover[i] = hess != NULL ? hess[i] : NAN;
        s->default_left[i] = dl[i] != 0.0;
        s->is_cat[i] = 0;
        if (st != NULL) {
            if (st[i] != 0.0 && st[i] != 1.0) {
                forest_errf(c->err, c->errlen, c->name, "tree %u node %u: "
                    "unknown split_type %g", c->tree_no, i, st[i]);
                return -1;
            }
            s->is_cat[i] = st[i] == 1.0;
        }
    }
    t->n_nodes = n;
    t->left = s->left;
    t->right = s->right;
    t->feature = s->feature;
    t->cond = s->cond;
    t->default_left = s->default_left;
    t->cover = s->cover;
    t->is_categorical = s->is_cat;
    if (load_categories(c, tree, n, s, t) != 0) {
        return -1;
    }
    if (width > 1) {
        return load_vector_leaves(c, tree, n, width, s, t);
    }
    return 0;
}

/* feature_names / feature_types: a list of n strings, or absent/empty */
static int
string_list(const ctx *c, const doc_value *v, const char *key, uint32_t n,
    const char ***out)
{
    *out = NULL;
    if (v == NULL || forest_doc_len(v) == 0) {
        return 0;
    }
    if (v->type != DOC_ARRAY || v->n != n) {
        forest_errf(c->err, c->errlen, c->name, "%s: expected %u strings",
            key, n);
        return -1;
    }
    *out = calloc(n, sizeof(char *));
    if (*out == NULL) {
        forest_errf(c->err, c->errlen, c->name, "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (v->u.items[i].type != DOC_STRING) {
            forest_errf(c->err, c->errlen, c->name, "%s[%u]: not a string",
                key, i);
            free(*out);
            *out = NULL;
            return -1;
        }
        (*out)[i] = v->u.items[i].u.str;
    }
    return 0;
}

static int
read_learner(const ctx *c, const doc_value *root, const doc_value *learner,
    xgb_learner *l, double **base)
{
    const doc_value *mp = forest_doc_get(learner, "learner_model_param");
    const doc_value *obj = forest_doc_get(forest_doc_get(learner, "objective"),
                                          "name");
    const doc_value *ver = forest_doc_get(root, "version");

    memset(l, 0, sizeof(*l));
    if (mp == NULL || mp->type != DOC_OBJECT) {
        forest_errf(c->err, c->errlen, c->name, "learner_model_param "
            "missing");
        return -1;
    }
    if (obj == NULL || obj->type != DOC_STRING) {
        forest_errf(c->err, c->errlen, c->name, "objective name missing");
        return -1;
    }
    if (obj->n >= sizeof(l->objective)) {
        forest_errf(c->err, c->errlen, c->name, "objective name too long");
        return -1;
    }
    memcpy(l->objective, obj->u.str, obj->n + 1);
    if (ver != NULL && ver->type == DOC_NUMBERS && ver->n == 3) {
        for (int i = 0; i < 3; i++) {
            double x = ver->u.nums[i];

            l->version[i] = (x >= 0 && x < 1e6) ? (uint32_t) x : 0;
        }
        l->version_parts = 3;
    }
    if (param_uint(c, mp, "num_feature", 0, &l->n_features) != 0
        || param_uint(c, mp, "num_class", 0, &l->num_class) != 0
        || param_uint(c, mp, "num_target", 1, &l->num_target) != 0
        || parse_base_score(c, forest_doc_get(mp, "base_score"), base,
                            &l->n_base_score) != 0)
    {
        return -1;
    }
    l->base_score = *base;
    return 0;
}

/* gbtree: gradient_booster.model; dart: gradient_booster.gbtree.model plus
 * weight_drop */
static const doc_value *
booster_model(const ctx *c, const doc_value *gb, const double **weights)
{
    const doc_value *name = forest_doc_get(gb, "name");
    const doc_value *model = NULL, *w;

    *weights = NULL;
    if (name == NULL || name->type != DOC_STRING) {
        forest_errf(c->err, c->errlen, c->name, "gradient_booster.name "
            "missing");
        return NULL;
    }
    if (strcmp(name->u.str, "gbtree") == 0) {
        model = forest_doc_get(gb, "model");
    } else if (strcmp(name->u.str, "dart") == 0) {
        model = forest_doc_get(forest_doc_get(gb, "gbtree"), "model");
        w = forest_doc_get(gb, "weight_drop");
        if (w == NULL || w->type != DOC_NUMBERS) {
            forest_errf(c->err, c->errlen, c->name, "dart: weight_drop "
                "missing");
            return NULL;
        }
        *weights = w->n ? w->u.nums : NULL;
        if (forest_doc_len(forest_doc_get(model, "trees")) != w->n) {
            forest_errf(c->err, c->errlen, c->name, "dart: %zu tree weights "
                "for %zu trees", w->n,
                forest_doc_len(forest_doc_get(model, "trees")));
            return NULL;
        }
    } else {
        forest_errf(c->err, c->errlen, c->name, "booster \"%s\" is not "
            "supported (only gbtree and dart tree ensembles)", name->u.str);
        return NULL;
    }
    if (model == NULL || model->type != DOC_OBJECT) {
        forest_errf(c->err, c->errlen, c->name, "gradient_booster model "
            "missing");
        return NULL;
    }
    return model;
}

forest_model *
forest_xgb_model_from_doc(const doc *d, forest_format format, const char *name,
    char *err, size_t errlen)
{
    const doc_value *root = forest_doc_root(d), *learner, *model, *trees, *info;
    const double    *weights, *groups = NULL;
    const char     **names = NULL, **types = NULL;
    double          *base = NULL;
    xgb_learner      l;
    xgb_builder     *b = NULL;
    uint32_t         best;
    tree_scratch     s;
    ctx              c = { name, err, errlen, 0 };
    forest_model    *m = NULL;

    memset(&s, 0, sizeof(s));
    learner = forest_doc_get(root, "learner");
    if (learner == NULL || learner->type != DOC_OBJECT) {
        forest_errf(err, errlen, name, "not an XGBoost model (no \"learner\" "
            "object)");
        return NULL;
    }
    model = booster_model(&c, forest_doc_get(learner, "gradient_booster"),
        &weights);
    if (model == NULL || read_learner(&c, root, learner, &l, &base) != 0) {
        goto done;
    }
    trees = forest_doc_get(model, "trees");
    info = forest_doc_get(model, "tree_info");
    if (trees == NULL || forest_doc_len(trees) == 0
        || trees->type != DOC_ARRAY)
    {
        forest_errf(err, errlen, name, "model has no trees");
        goto done;
    }
    if (trees->n > FOREST_MAX_TREES) {
        forest_errf(err, errlen, name, "too many trees (%zu)", trees->n);
        goto done;
    }
    l.n_trees = (uint32_t) trees->n;
    if (info == NULL || info->type != DOC_NUMBERS || info->n != trees->n) {
        forest_errf(err, errlen, name, "tree_info must give one group per "
            "tree (%zu trees)", trees->n);
        goto done;
    }
    groups = info->u.nums;
    if (param_uint(&c, forest_doc_get(model, "gbtree_model_param"),
                   "num_parallel_tree", 1, &l.num_parallel_tree) != 0
        || param_uint(&c, forest_doc_get(learner, "attributes"),
                      "best_iteration", UINT32_MAX, &best) != 0)
    {
        goto done;
    }
    if (string_list(&c, forest_doc_get(learner, "feature_names"),
                    "feature_names", l.n_features, &names) != 0
        || string_list(&c, forest_doc_get(learner, "feature_types"),
                       "feature_types", l.n_features, &types) != 0)
    {
        goto done;
    }
    b = forest_xgb_builder_new(&l, name, err, errlen);
    if (b == NULL
        || forest_xgb_builder_set_features(b, names, types, err, errlen) != 0)
    {
        goto done;
    }
    if (best != UINT32_MAX) {
        forest_xgb_builder_set_best(b, best);
    }
    for (uint32_t i = 0; i < l.n_trees; i++) {
        xgb_tree t;
        int64_t  g;

        c.tree_no = i;
        if (load_tree(&c, &trees->u.items[i], &s, &t) != 0
            || to_int(&c, "tree_info", groups[i], -1, INT32_MAX, &g) != 0
            || forest_xgb_builder_add_tree(b, &t, g, weights ? weights[i] : 1.0,
                                    err, errlen) != 0)
        {
            goto done;
        }
    }
    m = forest_xgb_builder_finish(b, format, err, errlen);
    b = NULL;
    if (m != NULL && forest_xgb_categories(m, forest_doc_get(model, "cats"),
                                           name, err, errlen) != 0)
    {
        forest_free(m);
        m = NULL;
    }
done:
    forest_xgb_builder_free(b);
    scratch_free(&s);
    free(names);
    free(types);
    free(base);
    return m;
}
