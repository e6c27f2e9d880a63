/*
 * `forest info MODEL`: what was loaded, as "key: value" lines.
 */
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

int
cmd_info(int argc, char **argv)
{
    cli_args      a = { 0 };
    forest_model *m;
    tree_stats    s;

    if (cli_parse_args(argc, argv, 2, "info", CLI_OPT_FORMAT, 1, &a) != 0) {
        return CLI_EXIT_USAGE;
    }
    m = cli_load_model(a.pos[0], a.format);
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
    printf("features: %u\n", m->n_features);
    print_features(m);
    printf("classes: %u\n", m->n_classes);
    printf("outputs: %u\n", m->n_outputs);
    printf("leaf_width: %u\n", m->leaf_width);
    printf("nodes: %zu\n", m->n_nodes);
    printf("leaves: %zu\n", s.n_leaves);
    printf("depth: min %u mean %.2f max %u\n", s.min_depth, s.mean_depth,
        s.max_depth);
    print_per_output("base_score", m->base_score, m->n_outputs);
    print_per_output("average_divisor", m->average_divisor, m->n_outputs);
    forest_free(m);
    return fflush(stdout) == 0 ? 0 : cli_fail("cannot write the output");
}
