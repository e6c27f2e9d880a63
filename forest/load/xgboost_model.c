/*
 * Builds a forest_model from decoded XGBoost trees (see xgboost_model.h).
 *
 * XGBoost semantics carried over:
 *   - numeric node: left iff x < split_condition (float32), NaN -> default_left;
 *   - categorical node (split_type 1): category in the set goes RIGHT;
 *   - base_score is stored in output space and mapped to margin space by the
 *     objective (logit for logistic, log for the exp-link objectives);
 *   - dart trees carry a weight that scales their leaves.
 * Nodes are renumbered in depth-first order from the root, so children always
 * follow their parent, and nodes the root cannot reach (pruned) are dropped.
 */
#include "xgboost_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* category codes XGBoost can represent exactly in a float32 input */
#define XGB_MAX_CATEGORY     (1 << 24)
/* cap on all category bitsets of a model together (64 MiB) */
#define XGB_MAX_CAT_WORDS    (1u << 24)

typedef enum { BASE_AS_IS, BASE_LOGIT, BASE_LOG } base_link;

typedef struct {
    const char           *name;
    forest_postprocessor  post;
    base_link             base;
    int                   classifier;
} objective_info;

static const objective_info objectives[] = {
    { "binary:logistic",       FOREST_POST_SIGMOID,   BASE_LOGIT, 1 },
    { "binary:logitraw",       FOREST_POST_IDENTITY,  BASE_AS_IS, 1 },
    { "binary:hinge",          FOREST_POST_HINGE,     BASE_AS_IS, 1 },
    { "reg:logistic",          FOREST_POST_SIGMOID,   BASE_LOGIT, 0 },
    { "reg:squarederror",      FOREST_POST_IDENTITY,  BASE_AS_IS, 0 },
    { "reg:linear",            FOREST_POST_IDENTITY,  BASE_AS_IS, 0 },
    { "reg:squaredlogerror",   FOREST_POST_IDENTITY,  BASE_AS_IS, 0 },
    { "reg:pseudohubererror",  FOREST_POST_IDENTITY,  BASE_AS_IS, 0 },
    { "reg:absoluteerror",     FOREST_POST_IDENTITY,  BASE_AS_IS, 0 },
    { "reg:quantileerror",     FOREST_POST_IDENTITY,  BASE_AS_IS, 0 },
    { "count:poisson",         FOREST_POST_EXP,       BASE_LOG,   0 },
    { "reg:gamma",             FOREST_POST_EXP,       BASE_LOG,   0 },
    { "reg:tweedie",           FOREST_POST_EXP,       BASE_LOG,   0 },
    { "survival:cox",          FOREST_POST_EXP,       BASE_LOG,   0 },
    { "survival:aft",          FOREST_POST_EXP,       BASE_LOG,   0 },
    { "multi:softprob",        FOREST_POST_SOFTMAX,   BASE_AS_IS, 1 },
    { "multi:softmax",         FOREST_POST_MAX_INDEX, BASE_AS_IS, 1 },
    { "rank:pairwise",         FOREST_POST_IDENTITY,  BASE_AS_IS, 0 },
    { "rank:ndcg",             FOREST_POST_IDENTITY,  BASE_AS_IS, 0 },
    { "rank:map",              FOREST_POST_IDENTITY,  BASE_AS_IS, 0 },
};

struct xgb_builder {
    forest_model          *m;
    const objective_info  *obj;
    const char            *name;
    uint32_t               expect_trees;
    uint32_t               parallel;       /* num_parallel_tree */
    size_t                 cap_nodes, cap_leaves, cap_cats, cap_info;
    /* per-tree scratch, sized for the largest tree so far */
    int32_t               *new_index;
    uint32_t              *order;
    uint32_t              *stack;
    uint32_t               cap_scratch;
};

void
forest_xgb_builder_free(xgb_builder *b)
{
    if (b == NULL) {
        return;
    }
    forest_free(b->m);
    free(b->new_index);
    free(b->order);
    free(b->stack);
    free(b);
}

static int
base_to_margin(const xgb_builder *b, double p, double *out, char *err,
    size_t errlen)
{
    switch (b->obj->base) {
    case BASE_LOGIT:
        if (!(p > 0.0 && p < 1.0)) {
            forest_errf(err, errlen, b->name, "base_score %g must lie in "
                "(0, 1) for %s", p, b->obj->name);
            return -1;
        }
        *out = -log(1.0 / p - 1.0);
        return 0;
    case BASE_LOG:
        if (!(p > 0.0)) {
            forest_errf(err, errlen, b->name, "base_score %g must be "
                "positive for %s", p, b->obj->name);
            return -1;
        }
        *out = log(p);
        return 0;
    default:
        *out = p;
        return 0;
    }
}

xgb_builder *
forest_xgb_builder_new(const xgb_learner *l, const char *name, char *err,
    size_t errlen)
{
    xgb_builder  *b;
    forest_model *m;
    uint32_t      n_out;

    b = calloc(1, sizeof(*b));
    if (b == NULL || (b->m = calloc(1, sizeof(forest_model))) == NULL) {
        free(b);
        forest_errf(err, errlen, name, "out of memory");
        return NULL;
    }
    m = b->m;
    b->name = name;
    for (size_t i = 0; i < sizeof(objectives) / sizeof(objectives[0]); i++) {
        if (strcmp(l->objective, objectives[i].name) == 0) {
            b->obj = &objectives[i];
        }
    }
    if (b->obj == NULL) {
        forest_errf(err, errlen, name, "unsupported objective \"%s\"",
            l->objective);
        goto fail;
    }
    if (l->n_features == 0 || l->n_features > FOREST_MAX_FEATURES) {
        forest_errf(err, errlen, name, "num_feature %u out of range (1..%u)",
            l->n_features, FOREST_MAX_FEATURES);
        goto fail;
    }
    if (l->n_trees == 0 || l->n_trees > FOREST_MAX_TREES) {
        forest_errf(err, errlen, name, "number of trees %u out of range "
            "(1..%u)", l->n_trees, FOREST_MAX_TREES);
        goto fail;
    }
    if (l->num_class > 1 && l->num_target > 1) {
        forest_errf(err, errlen, name, "num_class %u with num_target %u is "
            "not supported", l->num_class, l->num_target);
        goto fail;
    }
    n_out = l->num_class > 1 ? l->num_class
            : (l->num_target > 1 ? l->num_target : 1);
    if (n_out > FOREST_MAX_OUTPUTS) {
        forest_errf(err, errlen, name, "%u outputs (limit %u)", n_out,
            FOREST_MAX_OUTPUTS);
        goto fail;
    }
    if (strncmp(l->objective, "multi:", 6) == 0 && l->num_class < 2) {
        forest_errf(err, errlen, name, "%s needs num_class >= 2",
            l->objective);
        goto fail;
    }
    if (l->n_base_score != 1 && l->n_base_score != n_out) {
        forest_errf(err, errlen, name, "base_score has %u values for %u "
            "outputs", l->n_base_score, n_out);
        goto fail;
    }
    m->n_outputs = n_out;
    m->n_features = l->n_features;
    m->leaf_width = 1;
    m->post = b->obj->post;
    m->n_classes = !b->obj->classifier ? 0 : (l->num_class > 1 ? l->num_class
                                                                 : 2);
    snprintf(m->objective, sizeof(m->objective), "%s", l->objective);
    if (l->version_parts == 3) {
        snprintf(m->source, sizeof(m->source), "xgboost %u.%u.%u",
            l->version[0], l->version[1], l->version[2]);
    } else if (l->version_parts == 2) {
        snprintf(m->source, sizeof(m->source), "xgboost %u.%u",
            l->version[0], l->version[1]);
    } else {
        snprintf(m->source, sizeof(m->source), "xgboost");
    }
    m->base_score = malloc(n_out * sizeof(double));
    m->tree_begin = calloc((size_t) l->n_trees + 1, sizeof(uint32_t));
    m->tree_group = calloc(l->n_trees, sizeof(int32_t));
    if (m->base_score == NULL || m->tree_begin == NULL
        || m->tree_group == NULL)
    {
        forest_errf(err, errlen, name, "out of memory");
        goto fail;
    }
    for (uint32_t k = 0; k < n_out; k++) {
        double p = l->base_score[l->n_base_score == 1 ? 0 : k];

        if (base_to_margin(b, p, &m->base_score[k], err, errlen) != 0) {
            goto fail;
        }
    }
    b->expect_trees = l->n_trees;
    b->parallel = l->num_parallel_tree ? l->num_parallel_tree : 1;
    return b;
fail:
    forest_xgb_builder_free(b);
    return NULL;
}

/* Depth-first renumbering from the root; refuses bad or shared children. */
static int
renumber(xgb_builder *b, const xgb_tree *t, uint32_t tree_no, char *err,
    size_t errlen)
{
    uint32_t  n = t->n_nodes, top = 0, next = 0;
    uint32_t *stack;

    if (n > b->cap_scratch) {
        free(b->new_index);
        free(b->order);
        free(b->stack);
        b->new_index = malloc(n * sizeof(int32_t));
        b->order = malloc(n * sizeof(uint32_t));
        b->stack = malloc(n * sizeof(uint32_t));
        if (b->new_index == NULL || b->order == NULL || b->stack == NULL) {
            b->cap_scratch = 0;
            forest_errf(err, errlen, b->name, "out of memory");
            return -1;
        }
        b->cap_scratch = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        b->new_index[i] = -1;
    }
    /* each node is pushed at most once, so n entries suffice */
    stack = b->stack;
    stack[top++] = 0;
    b->new_index[0] = 0;
    while (top > 0) {
        uint32_t i = stack[--top];
        int32_t  kids[2];

        b->order[next] = i;
        b->new_index[i] = (int32_t) next++;
        if (t->left[i] == -1) {
            continue;
        }
        kids[0] = t->right[i];
        kids[1] = t->left[i];
        for (int c = 0; c < 2; c++) {
            if (kids[c] < 0 || (uint32_t) kids[c] >= n) {
                forest_errf(err, errlen, b->name, "tree %u node %u: child "
                    "index %d out of range (%u nodes)", tree_no, i, kids[c],
                    n);
                return -1;
            }
            if (b->new_index[kids[c]] != -1) {
                forest_errf(err, errlen, b->name, "tree %u node %u: node %d "
                    "reached twice (cycle or shared child)", tree_no, i,
                    kids[c]);
                return -1;
            }
            b->new_index[kids[c]] = -2;
            stack[top++] = (uint32_t) kids[c];
        }
    }
    return (int) next;
}

static int
add_categories(xgb_builder *b, const xgb_tree *t, uint32_t i,
    forest_node *nd, uint32_t tree_no, char *err, size_t errlen)
{
    forest_model *m = b->m;
    uint32_t      begin = t->cat_begin ? t->cat_begin[i] : 0;
    uint32_t      count = t->cat_count ? t->cat_count[i] : 0;
    int64_t       max_cat = -1;
    uint32_t      words;

    if (begin > t->n_cats || count > t->n_cats - begin) {
        forest_errf(err, errlen, b->name, "tree %u node %u: category list "
            "out of range", tree_no, i);
        return -1;
    }
    for (uint32_t k = 0; k < count; k++) {
        int64_t c = t->cats[begin + k];

        if (c < 0 || c >= XGB_MAX_CATEGORY) {
            forest_errf(err, errlen, b->name, "tree %u node %u: category "
                "%lld out of range", tree_no, i, (long long) c);
            return -1;
        }
        max_cat = c > max_cat ? c : max_cat;
    }
    nd->kind = FOREST_NODE_CATEGORICAL;
    nd->cat_in_set_left = 0;
    nd->cat_word = (uint32_t) m->n_cat_words;
    nd->cat_nbits = (uint32_t) (max_cat + 1);
    words = (nd->cat_nbits + 31) / 32;
    if (words == 0) {
        /* an empty set: every category goes left */
        return 0;
    }
    if (m->n_cat_words + words > XGB_MAX_CAT_WORDS) {
        forest_errf(err, errlen, b->name, "category sets too large");
        return -1;
    }
    if (forest_grow((void **) &m->cat_bits, &b->cap_cats,
                    m->n_cat_words + words, sizeof(uint32_t), 256) != 0)
    {
        forest_errf(err, errlen, b->name, "out of memory");
        return -1;
    }
    memset(m->cat_bits + m->n_cat_words, 0, words * sizeof(uint32_t));
    for (uint32_t k = 0; k < count; k++) {
        uint32_t c = (uint32_t) t->cats[begin + k];

        m->cat_bits[m->n_cat_words + c / 32] |= 1u << (c % 32);
    }
    m->n_cat_words += words;
    return 0;
}

static int
add_leaf(xgb_builder *b, const xgb_tree *t, uint32_t i, double weight,
    forest_node *nd, uint32_t tree_no, char *err, size_t errlen)
{
    forest_model *m = b->m;
    uint32_t      w = t->leaf_width > 1 ? t->leaf_width : 1;
    int64_t       idx = t->leaf_index ? t->leaf_index[i] : (int64_t) i;

    if (forest_grow((void **) &m->leaf_values, &b->cap_leaves,
                    m->n_leaf_values + w, sizeof(double), 256) != 0)
    {
        forest_errf(err, errlen, b->name, "out of memory");
        return -1;
    }
    nd->kind = FOREST_NODE_LEAF;
    nd->left = nd->right = -1;
    nd->leaf = (uint32_t) m->n_leaf_values;
    if (w == 1) {
        m->leaf_values[m->n_leaf_values++] = (double) t->cond[i] * weight;
        return 0;
    }
    if (idx < 0 || (uint64_t) idx >= t->n_leaf_vec / w) {
        forest_errf(err, errlen, b->name, "tree %u node %u: leaf vector %lld "
            "out of range", tree_no, i, (long long) idx);
        return -1;
    }
    for (uint32_t k = 0; k < w; k++) {
        m->leaf_values[m->n_leaf_values++] =
            (double) t->leaf_vec[(size_t) idx * w + k] * weight;
    }
    return 0;
}

int
forest_xgb_builder_add_tree(xgb_builder *b, const xgb_tree *t, int64_t group,
    double weight, char *err, size_t errlen)
{
    forest_model *m = b->m;
    uint32_t      tree_no = m->n_trees, base = (uint32_t) m->n_nodes;
    int           n;

    if (tree_no >= b->expect_trees) {
        forest_errf(err, errlen, b->name, "more trees than declared (%u)",
            b->expect_trees);
        return -1;
    }
    if (t->n_nodes == 0 || t->n_nodes > FOREST_MAX_NODES - m->n_nodes) {
        forest_errf(err, errlen, b->name, "tree %u: bad node count %u",
            tree_no, t->n_nodes);
        return -1;
    }
    if (t->leaf_width > 1) {
        if (t->leaf_width != m->n_outputs) {
            forest_errf(err, errlen, b->name, "tree %u: leaf vectors of %u "
                "values for %u outputs", tree_no, t->leaf_width,
                m->n_outputs);
            return -1;
        }
        m->leaf_width = m->n_outputs;
        m->tree_group[tree_no] = -1;
    } else {
        if (group < 0 || group >= m->n_outputs) {
            forest_errf(err, errlen, b->name, "tree %u: output group %lld "
                "out of range (%u outputs)", tree_no, (long long) group,
                m->n_outputs);
            return -1;
        }
        m->tree_group[tree_no] = (int32_t) group;
    }
    n = renumber(b, t, tree_no, err, errlen);
    if (n < 0) {
        return -1;
    }
    if (forest_grow((void **) &m->nodes, &b->cap_nodes,
                    m->n_nodes + (size_t) n, sizeof(forest_node), 256) != 0
        || forest_node_info_grow(m, &b->cap_info, m->n_nodes + (size_t) n)
           != 0)
    {
        forest_errf(err, errlen, b->name, "out of memory");
        return -1;
    }
    for (int k = 0; k < n; k++) {
        uint32_t     i = b->order[k];
        forest_node *nd = &m->nodes[base + k];

        memset(nd, 0, sizeof(*nd));
        m->node_cover[base + k] = t->cover ? t->cover[i] : NAN;
        m->node_source_id[base + k] = (int32_t) i;
        if (t->left[i] == -1) {
            if (add_leaf(b, t, i, weight, nd, tree_no, err, errlen) != 0) {
                return -1;
            }
            continue;
        }
        if (t->feature[i] < 0 || t->feature[i] >= m->n_features) {
            forest_errf(err, errlen, b->name, "tree %u node %u: feature "
                "%lld out of range (%u features)", tree_no, i,
                (long long) t->feature[i], m->n_features);
            return -1;
        }
        nd->feature = (int32_t) t->feature[i];
        nd->left = b->new_index[t->left[i]];
        nd->right = b->new_index[t->right[i]];
        nd->default_left = t->default_left[i] != 0;
        if (t->is_categorical != NULL && t->is_categorical[i]) {
            if (add_categories(b, t, i, nd, tree_no, err, errlen) != 0) {
                return -1;
            }
        } else {
            nd->kind = FOREST_NODE_NUMERIC;
            nd->threshold = forest_threshold_lt((double) t->cond[i]);
        }
    }
    m->n_nodes += (size_t) n;
    m->n_trees++;
    m->tree_begin[m->n_trees] = (uint32_t) m->n_nodes;
    return 0;
}

int
forest_xgb_builder_set_features(xgb_builder *b, const char *const *names,
    const char *const *types, char *err, size_t errlen)
{
    forest_model *m = b->m;

    if (names != NULL) {
        m->feature_names = calloc(m->n_features, sizeof(char *));
        if (m->feature_names == NULL) {
            goto oom;
        }
        for (uint32_t i = 0; i < m->n_features; i++) {
            if (names[i] != NULL
                && (m->feature_names[i] = strdup(names[i])) == NULL)
            {
                goto oom;
            }
        }
    }
    if (types != NULL) {
        m->feature_is_categorical = calloc(m->n_features, 1);
        if (m->feature_is_categorical == NULL) {
            goto oom;
        }
        for (uint32_t i = 0; i < m->n_features; i++) {
            m->feature_is_categorical[i] = types[i] != NULL
                                           && strcmp(types[i], "c") == 0;
        }
    }
    return 0;
oom:
    forest_errf(err, errlen, b->name, "out of memory");
    return -1;
}

void
forest_xgb_builder_set_best(xgb_builder *b, uint32_t best_iteration)
{
    b->m->best_rounds = best_iteration + 1;
}

forest_model *
forest_xgb_builder_finish(xgb_builder *b, forest_format format, char *err,
    size_t errlen)
{
    forest_model *m = b->m;
    uint64_t      per_round;

    if (m->n_trees != b->expect_trees) {
        forest_errf(err, errlen, b->name, "%u trees declared, %u found",
            b->expect_trees, m->n_trees);
        forest_xgb_builder_free(b);
        return NULL;
    }
    m->format = format;
    /* a round adds num_parallel_tree trees per output group, or per round
     * for vector leaves (XGBoost's num_boosted_rounds) */
    per_round = (uint64_t) b->parallel
                * (m->leaf_width > 1 ? 1 : m->n_outputs);
    if (per_round <= m->n_trees && m->n_trees % per_round == 0) {
        m->trees_per_round = (uint32_t) per_round;
    }
    if (forest_model_finish(m, b->name, err, errlen) != 0) {
        forest_xgb_builder_free(b);
        return NULL;
    }
    b->m = NULL;
    forest_xgb_builder_free(b);
    return m;
}
