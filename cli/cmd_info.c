/*
 * `forest info MODEL`: what was loaded, as "key: value" lines.
 */
#include "category.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    uint32_t min_depth, max_depth;
    double   mean_depth;
    size_t   n_leaves;
} tree_stats;

/*
 * Depth of every tree (longest root-to-leaf path).  Validated trees number
 * children after their parent, so one forward pass sees each parent's depth
 * before its children.
 */
static int
compute_stats(const forest_model *m, tree_stats *s)
{
    uint32_t *depth, max_nodes = 0;
    double    sum = 0;

    for (uint32_t t = 0; t < m->n_trees; t++) {
        uint32_t n = m->tree_begin[t + 1] - m->tree_begin[t];

        max_nodes = n > max_nodes ? n : max_nodes;
    }
    depth = malloc(max_nodes * sizeof(uint32_t));
    if (depth == NULL) {
        return -1;
    }
    s->min_depth = UINT32_MAX;
    s->max_depth = 0;
    s->n_leaves = 0;
    for (uint32_t t = 0; t < m->n_trees; t++) {
        const forest_node *tree = m->nodes + m->tree_begin[t];
        uint32_t           n = m->tree_begin[t + 1] - m->tree_begin[t], d = 0;

        depth[0] = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (tree[i].kind == FOREST_NODE_LEAF) {
                s->n_leaves++;
                d = depth[i] > d ? depth[i] : d;
                continue;
            }
            depth[tree[i].left] = depth[tree[i].right] = depth[i] + 1;
        }
        s->min_depth = d < s->min_depth ? d : s->min_depth;
        s->max_depth = d > s->max_depth ? d : s->max_depth;
        sum += d;
    }
    s->mean_depth = sum / m->n_trees;
    free(depth);
    return 0;
}

static void
print_feature(const forest_model *m, uint32_t j)
{
    if (m->feature_names != NULL && m->feature_names[j] != NULL) {
        fputs(m->feature_names[j], stdout);
    } else {
        printf("%u", j);
    }
}

static void
print_features(const forest_model *m)
{
    uint32_t n_cat = 0;

    fputs("feature_names: ", stdout);
    if (m->feature_names == NULL) {
        fputs("(none)", stdout);
    }
    for (uint32_t j = 0; m->feature_names != NULL && j < m->n_features; j++) {
        fputs(j ? "," : "", stdout);
        print_feature(m, j);
    }
    fputs("\ncategorical_features: ", stdout);
    for (uint32_t j = 0; m->feature_is_categorical && j < m->n_features; j++) {
        if (m->feature_is_categorical[j]) {
            fputs(n_cat++ ? "," : "", stdout);
            print_feature(m, j);
        }
    }
    puts(n_cat ? "" : "(none)");
}

/* "categories[NAME]: a,b,c" per feature with a category list (the code of
 * a name is its position), then how unseen names and fractional codes go */
static void
print_categories(const forest_model *m)
{
    int whole = 0;

    for (uint32_t j = 0; j < m->n_features; j++) {
        const forest_category_list *l = forest_category_list_of(m, j);

        if (l != NULL) {
            fputs("categories[", stdout);
            print_feature(m, j);
            fputs("]: ", stdout);
            for (uint32_t i = 0; i < l->n; i++) {
                printf("%s%s", i ? "," : "", l->labels[i]);
            }
            putchar('\n');
        }
    }
    if (forest_has_categories(m)) {
        printf("unseen_category: %s\n",
            forest_category_unseen(m) == FOREST_UNSEEN_MISSING
                ? "missing" : "refused");
    }
    for (uint32_t j = 0; m->category_whole_only && j < m->n_features; j++) {
        if (m->category_whole_only[j]) {
            fputs(whole++ ? "," : "category_fraction_is_missing: ", stdout);
            print_feature(m, j);
        }
    }
    if (whole) {
        putchar('\n');
    }
}

static void
print_postprocessor(const forest_model *m)
{
    printf("postprocessor: %s", forest_postprocessor_name(m->post));
    if (m->post == FOREST_POST_SIGMOID && m->sigmoid_alpha != 1.0) {
        printf(" (alpha %.9g)", m->sigmoid_alpha);
    }
    if (m->post == FOREST_POST_EXP_STANDARD_RATIO) {
        printf(" (ratio_c %.9g)", m->ratio_c);
    }
    putchar('\n');
}

static void
print_per_output(const char *key, const double *v, uint32_t n)
{
    printf("%s: ", key);
    for (uint32_t k = 0; k < n; k++) {
        /* + 0.0 prints a negative zero as 0 */
        printf("%s%.9g", k ? "," : "", v[k] + 0.0);
    }
    putchar('\n');
}

typedef struct {
    uint32_t feature;
    float    threshold;
} split_point;

static int
compare_split(const void *a, const void *b)
{
    const split_point *x = a, *y = b;

    if (x->feature != y->feature) {
        return (x->feature > y->feature) - (x->feature < y->feature);
    }
    return (x->threshold > y->threshold) - (x->threshold < y->threshold);
}

/*
 * --thresholds: every feature's distinct numeric split values, ascending,
 * as "thresholds[F]: v,v,..", and for categorical splits the number of
 * category codes the sets name, as "category_codes[F]: N" (F is the
 * feature's index, where categories[NAME] above lists labels): enough for a
 * load generator (forest tune) to make rows that reach every branch.
 */
static int
print_thresholds(const forest_model *m)
{
    split_point *sp = malloc((m->n_nodes + 1) * sizeof(split_point));
    uint32_t    *cats = calloc(m->n_features + 1, sizeof(uint32_t));
    size_t       n = 0;

    if (sp == NULL || cats == NULL) {
        free(sp);
        free(cats);
        return -1;
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        const forest_node *nd = &m->nodes[i];

        if (nd->kind == FOREST_NODE_NUMERIC) {
            sp[n].feature = (uint32_t) nd->feature;
            sp[n++].threshold = nd->threshold;
        } else if (nd->kind == FOREST_NODE_CATEGORICAL
                   && nd->cat_nbits > cats[nd->feature])
        {
            cats[nd->feature] = nd->cat_nbits;
        }
    }
    qsort(sp, n, sizeof(split_point), compare_split);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || sp[i].feature != sp[i - 1].feature) {
            printf("%sthresholds[%u]: ", i ? "\n" : "", sp[i].feature);
        } else if (sp[i].threshold == sp[i - 1].threshold) {
            continue;
        } else {
            putchar(',');
        }
        printf("%.9g", (double) sp[i].threshold + 0.0);
    }
    if (n != 0) {
        putchar('\n');
    }
    for (uint32_t j = 0; j < m->n_features; j++) {
        if (cats[j] != 0) {
            printf("category_codes[%u]: %u\n", j, cats[j]);
        }
    }
    free(sp);
    free(cats);
    return 0;
}

int
cmd_info(int argc, char **argv)
{
    cli_args      a = { 0 };
    forest_model *m;
    tree_stats    s;

    if (cli_parse_args(argc, argv, 2, "info", CLI_OPT_FORMAT
            | CLI_OPT_THRESHOLDS | CLI_OPT_TREES, 1, &a) != 0)
    {
        return CLI_EXIT_USAGE;
    }
    m = cli_load_model(a.pos[0], a.format, a.trees);
    if (m == NULL) {
        return CLI_EXIT_FAIL;
    }
    if (compute_stats(m, &s) != 0) {
        forest_free(m);
        return cli_fail("out of memory");
    }
    printf("file: %s\n", a.pos[0]);
    printf("format: %s\n", forest_format_name(m->format));
    printf("source: %s\n", m->source[0] ? m->source : "(unknown)");
    printf("objective: %s\n", m->objective[0] ? m->objective : "(unknown)");
    print_postprocessor(m);
    printf("trees: %u\n", m->n_trees);
    if (m->trees_per_round != 0) {
        printf("rounds: %u (%u trees each)\n",
               m->n_trees / m->trees_per_round, m->trees_per_round);
    }
    if (m->best_rounds != 0) {
        printf("best_iteration: %u\n", m->best_rounds - 1);
    }
    printf("features: %u\n", m->n_features);
    print_features(m);
    print_categories(m);
    printf("classes: %u\n", m->n_classes);
    printf("outputs: %u\n", m->n_outputs);
    printf("leaf_width: %u\n", m->leaf_width);
    printf("nodes: %zu\n", m->n_nodes);
    printf("leaves: %zu\n", s.n_leaves);
    printf("depth: min %u mean %.2f max %u\n", s.min_depth, s.mean_depth,
        s.max_depth);
    print_per_output("base_score", m->base_score, m->n_outputs);
    print_per_output("average_divisor", m->average_divisor, m->n_outputs);
    if (a.thresholds && print_thresholds(m) != 0) {
        forest_free(m);
        return cli_fail("out of memory");
    }
    forest_free(m);
    return fflush(stdout) == 0 ? 0 : cli_fail("cannot write the output");
}
