/*
 * XGBoost legacy binary model: save_model("x.model") before 2.0 with the
 * "binf" magic, save_raw("deprecated"), and the older files that start
 * straight with the learner parameters.  Little-endian fixed-layout structs:
 *
 *   LearnerModelParam (136 bytes): float base_score; u32 num_feature;
 *       i32 num_class, contain_extra_attrs, contain_eval_metrics;
 *       u32 major, minor, num_target; ...reserved
 *   string objective, string booster       (u64 length + bytes)
 *   GBTreeModelParam (160 bytes): i32 num_trees; ...
 *   per tree: TreeParam (148 bytes: i32 num_roots, num_nodes, num_deleted,
 *       max_depth, num_feature, size_leaf_vector, ...),
 *       nodes (20 bytes: i32 parent, left, right; u32 sindex (bit 31 =
 *       default left); f32 split condition or leaf value), stats (16 bytes)
 *   i32 tree_info[num_trees]
 *   dart: vector<f32> weight_drop
 *   if contain_extra_attrs: vector<pair<string, string>>
 *   if contain_eval_metrics: vector<string>
 */
#include "bytes.h"
#include "loaders.h"
#include "xgboost_model.h"

#include <stdlib.h>
#include <string.h>

#define LEARNER_PARAM_SIZE 136
#define GBTREE_PARAM_SIZE  160
#define TREE_PARAM_SIZE    148
#define NODE_SIZE          20
#define NODE_STAT_SIZE     16

static int
need(forest_reader *r, size_t n, const char *what)
{
    if (r->len - r->pos < n) {
        forest_errf(r->err, r->errlen, r->name, "truncated legacy binary "
            "model: %s needs %zu bytes at offset %zu, %zu left", what, n,
            r->pos, r->len - r->pos);
        return -1;
    }
    return 0;
}

static int
read_u64(forest_reader *r, uint64_t *out, const char *what)
{
    if (need(r, 8, what) != 0) {
        return -1;
    }
    *out = forest_le_u64(r->p + r->pos);
    r->pos += 8;
    return 0;
}

/* u64 length + bytes; the string is not copied */
static int
read_string(forest_reader *r, const uint8_t **s, size_t *n, const char *what)
{
    uint64_t len;

    if (read_u64(r, &len, what) != 0) {
        return -1;
    }
    if (len > r->len - r->pos) {
        return need(r, r->len - r->pos + 1, what);
    }
    *s = r->p + r->pos;
    *n = (size_t) len;
    r->pos += (size_t) len;
    return 0;
}

/* u64 count of elements of at least min_size bytes each */
static int
read_count(forest_reader *r, uint64_t *n, size_t min_size, const char *what)
{
    if (read_u64(r, n, what) != 0) {
        return -1;
    }
    if (*n > (r->len - r->pos) / min_size) {
        forest_errf(r->err, r->errlen, r->name, "%s: count %llu larger than "
            "the data left", what, (unsigned long long) *n);
        return -1;
    }
    return 0;
}

/* "best_iteration" value: a whole number below UINT32_MAX, else ignored */
static uint32_t
attr_uint(const uint8_t *s, size_t n)
{
    uint64_t x = 0;

    if (n == 0 || n > 9) {
        return UINT32_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return UINT32_MAX;
        }
        x = x * 10 + (uint64_t) (s[i] - '0');
    }
    return (uint32_t) x;
}

/* the dmlc tail after the trees: attributes (*best: best_iteration, or
 * UINT32_MAX) and metric names */
static int
read_tail(forest_reader *r, int attrs, int metrics, uint32_t *best)
{
    const uint8_t *s, *k;
    size_t         n, kn;
    uint64_t       count;

    *best = UINT32_MAX;
    if (attrs) {
        if (read_count(r, &count, 16, "attributes") != 0) {
            return -1;
        }
        for (uint64_t i = 0; i < count; i++) {
            if (read_string(r, &k, &kn, "attribute") != 0
                || read_string(r, &s, &n, "attribute") != 0)
            {
                return -1;
            }
            if (kn == 14 && memcmp(k, "best_iteration", 14) == 0) {
                *best = attr_uint(s, n);
            }
        }
    }
    if (metrics) {
        if (read_count(r, &count, 8, "eval metrics") != 0) {
            return -1;
        }
        for (uint64_t i = 0; i < count; i++) {
            if (read_string(r, &s, &n, "eval metric") != 0) {
                return -1;
            }
        }
    }
    if (r->pos != r->len) {
        forest_errf(r->err, r->errlen, r->name, "%zu unexpected bytes after "
            "the model", r->len - r->pos);
        return -1;
    }
    return 0;
}

typedef struct {
    uint32_t  cap;
    int32_t  *left, *right;
    int64_t  *feature;
    float    *cond;
    uint8_t  *default_left;
    double   *cover;
} node_arrays;

static void
arrays_free(node_arrays *a)
{
    free(a->left);
    free(a->right);
    free(a->feature);
    free(a->cond);
    free(a->default_left);
    free(a->cover);
}

static int
arrays_reserve(node_arrays *a, uint32_t n)
{
    if (n <= a->cap) {
        return 0;
    }
    arrays_free(a);
    a->left = malloc(n * sizeof(int32_t));
    a->right = malloc(n * sizeof(int32_t));
    a->feature = malloc(n * sizeof(int64_t));
    a->cond = malloc(n * sizeof(float));
    a->default_left = malloc(n);
    a->cover = malloc(n * sizeof(double));
    a->cap = n;
    if (!a->left || !a->right || !a->feature || !a->cond
        || !a->default_left || !a->cover)
    {
        a->cap = 0;
        return -1;
    }
    return 0;
}

/* One tree's nodes, unpacked into the arrays t points at. */
static int
read_tree(forest_reader *r, uint32_t tree_no, node_arrays *a, xgb_tree *t)
{
    const uint8_t *tp, *nd;
    int32_t        n;

    if (need(r, TREE_PARAM_SIZE, "tree parameters") != 0) {
        return -1;
    }
    tp = r->p + r->pos;
    r->pos += TREE_PARAM_SIZE;
    n = (int32_t) forest_le_u32(tp + 4);
    if (n <= 0 || (uint32_t) n > FOREST_MAX_NODES) {
        forest_errf(r->err, r->errlen, r->name, "tree %u: bad num_nodes %d",
            tree_no, n);
        return -1;
    }
    if (forest_le_u32(tp + 20) != 0) {
        forest_errf(r->err, r->errlen, r->name, "tree %u: leaf vectors are "
            "not supported in the legacy binary format", tree_no);
        return -1;
    }
    if ((size_t) n > (r->len - r->pos) / (NODE_SIZE + NODE_STAT_SIZE)) {
        return need(r, (size_t) n * (NODE_SIZE + NODE_STAT_SIZE), "nodes");
    }
    if (arrays_reserve(a, (uint32_t) n) != 0) {
        forest_errf(r->err, r->errlen, r->name, "out of memory");
        return -1;
    }
    nd = r->p + r->pos;
    for (int32_t i = 0; i < n; i++, nd += NODE_SIZE) {
        uint32_t sindex = forest_le_u32(nd + 12);

        a->left[i] = (int32_t) forest_le_u32(nd + 4);
        a->right[i] = (int32_t) forest_le_u32(nd + 8);
        a->feature[i] = sindex & 0x7fffffffu;
        a->default_left[i] = sindex >> 31;
        a->cond[i] = forest_le_f32(nd + 16);
    }
    /* RTreeNodeStat: f32 loss_chg, sum_hess, base_weight; i32 leaf count */
    for (int32_t i = 0; i < n; i++, nd += NODE_STAT_SIZE) {
        a->cover[i] = forest_le_f32(nd + 4);
    }
    r->pos += (size_t) n * (NODE_SIZE + NODE_STAT_SIZE);
    memset(t, 0, sizeof(*t));
    t->n_nodes = (uint32_t) n;
    t->left = a->left;
    t->right = a->right;
    t->feature = a->feature;
    t->cond = a->cond;
    t->default_left = a->default_left;
    t->cover = a->cover;
    return 0;
}

static int
read_header(forest_reader *r, xgb_learner *l, double *base, int *attrs,
    int *metrics, int *dart)
{
    const uint8_t *lp, *s;
    size_t         n;

    if (forest_detect_xgboost_binary(r->p, r->len)) {
        r->pos = 4;
    }
    if (need(r, LEARNER_PARAM_SIZE, "learner parameters") != 0) {
        return -1;
    }
    lp = r->p + r->pos;
    r->pos += LEARNER_PARAM_SIZE;
    memset(l, 0, sizeof(*l));
    *base = (double) forest_le_f32(lp);
    l->base_score = base;
    l->n_base_score = 1;
    l->n_features = forest_le_u32(lp + 4);
    l->num_class = (int32_t) forest_le_u32(lp + 8) > 0 ? forest_le_u32(lp + 8)
                                                        : 0;
    *attrs = forest_le_u32(lp + 12) != 0;
    *metrics = forest_le_u32(lp + 16) != 0;
    l->version[0] = forest_le_u32(lp + 20);
    l->version[1] = forest_le_u32(lp + 24);
    /* the patch level is not stored; files before 1.0 store no version */
    l->version_parts = l->version[0] || l->version[1] ? 2 : 0;
    l->num_target = forest_le_u32(lp + 28);
    if (read_string(r, &s, &n, "objective name") != 0) {
        return -1;
    }
    if (n == 0 || n >= sizeof(l->objective)) {
        forest_errf(r->err, r->errlen, r->name, "bad objective name length "
            "%zu (not an XGBoost legacy binary model?)", n);
        return -1;
    }
    memcpy(l->objective, s, n);
    l->objective[n] = '\0';
    if (read_string(r, &s, &n, "booster name") != 0) {
        return -1;
    }
    *dart = n == 4 && memcmp(s, "dart", 4) == 0;
    if (!*dart && !(n == 6 && memcmp(s, "gbtree", 6) == 0)) {
        forest_errf(r->err, r->errlen, r->name, "booster \"%.*s\" is not "
            "supported (only gbtree and dart tree ensembles)",
            (int) (n < 32 ? n : 32), (const char *) s);
        return -1;
    }
    if (need(r, GBTREE_PARAM_SIZE, "gbtree parameters") != 0) {
        return -1;
    }
    l->n_trees = forest_le_u32(r->p + r->pos);
    /* files before 1.0 keep num_roots (1) there */
    l->num_parallel_tree = forest_le_u32(r->p + r->pos + 4);
    if (l->num_parallel_tree > FOREST_MAX_TREES) {
        l->num_parallel_tree = 1;
    }
    r->pos += GBTREE_PARAM_SIZE;
    if (l->n_trees == 0 || l->n_trees > FOREST_MAX_TREES
        || l->n_trees > r->len / TREE_PARAM_SIZE)
    {
        forest_errf(r->err, r->errlen, r->name, "bad number of trees %d",
            (int32_t) l->n_trees);
        return -1;
    }
    return 0;
}

/* Only files with the "binf" magic: the older ones start with a float. */
int
forest_detect_xgboost_binary(const uint8_t *data, size_t len)
{
    return len >= 4 && memcmp(data, "binf", 4) == 0;
}

forest_model *
forest_load_xgboost_binary(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen)
{
    forest_reader r = { data, len, 0, name, err, errlen };
    xgb_learner   l;
    xgb_builder  *b = NULL;
    xgb_tree     *trees = NULL;
    node_arrays  *arrays = NULL;
    double        base;
    uint64_t      n_weights = 0;
    uint32_t      best;
    size_t        info_pos, weight_pos = 0;
    int           attrs, metrics, dart;
    forest_model *m = NULL;

    if (read_header(&r, &l, &base, &attrs, &metrics, &dart) != 0) {
        return NULL;
    }
    b = forest_xgb_builder_new(&l, name, err, errlen);
    trees = calloc(l.n_trees, sizeof(xgb_tree));
    arrays = calloc(l.n_trees, sizeof(node_arrays));
    if (b == NULL || trees == NULL || arrays == NULL) {
        if (b != NULL) {
            forest_errf(err, errlen, name, "out of memory");
        }
        goto done;
    }
    /* tree_info and the dart weights follow all trees: read the trees
     * first, then add them */
    for (uint32_t i = 0; i < l.n_trees; i++) {
        if (read_tree(&r, i, &arrays[i], &trees[i]) != 0) {
            goto done;
        }
    }
    if (need(&r, (size_t) l.n_trees * 4, "tree_info") != 0) {
        goto done;
    }
    info_pos = r.pos;
    r.pos += (size_t) l.n_trees * 4;
    if (dart) {
        if (read_count(&r, &n_weights, 4, "dart weight_drop") != 0) {
            goto done;
        }
        if (n_weights != l.n_trees) {
            forest_errf(err, errlen, name, "dart: %llu tree weights for %u "
                "trees", (unsigned long long) n_weights, l.n_trees);
            goto done;
        }
        weight_pos = r.pos;
        r.pos += (size_t) n_weights * 4;
    }
    if (read_tail(&r, attrs, metrics, &best) != 0) {
        goto done;
    }
    if (best != UINT32_MAX) {
        forest_xgb_builder_set_best(b, best);
    }
    for (uint32_t i = 0; i < l.n_trees; i++) {
        size_t  at = 4 * (size_t) i;
        int32_t group = (int32_t) forest_le_u32(data + info_pos + at);
        double  w = dart ? (double) forest_le_f32(data + weight_pos + at) : 1.0;

        if (forest_xgb_builder_add_tree(b, &trees[i], group, w, err, errlen)
            != 0)
        {
            goto done;
        }
    }
    m = forest_xgb_builder_finish(b, FOREST_FORMAT_XGBOOST_BINARY, err, errlen);
    b = NULL;
done:
    forest_xgb_builder_free(b);
    if (arrays != NULL) {
        for (uint32_t i = 0; i < l.n_trees; i++) {
            arrays_free(&arrays[i]);
        }
    }
    free(arrays);
    free(trees);
    return m;
}
