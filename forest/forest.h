/*
 * ngx_forest: the forest library.  Plain C11, no NGINX types.
 *
 * Every loader (one file per format) produces the same in-memory forest_model.
 * Prediction never reads this structure directly on the hot path: an executor
 * (forest_exec.h) compiles it into its own layout first.
 */
#ifndef FOREST_H
#define FOREST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FOREST_ERR_LEN 512

/* Features per row that any model or input may have. */
#define FOREST_MAX_FEATURES (1u << 24)

/*
 * AUTO and XGBOOST are only asked for: they pick one of the others (every
 * one, or the XGBoost encodings) by the bytes.  A model's format is always
 * one of the others.
 */
typedef enum {
    FOREST_FORMAT_AUTO = 0,
    FOREST_FORMAT_XGBOOST_JSON,
    FOREST_FORMAT_XGBOOST_UBJ,
    FOREST_FORMAT_XGBOOST_BINARY,     /* legacy "binf" / save_raw("deprecated") */
    FOREST_FORMAT_LIGHTGBM,
    FOREST_FORMAT_TREELITE,           /* Treelite 4.x (and 3.x) serialize() checkpoint */
    FOREST_FORMAT_XGBOOST
} forest_format;

typedef enum {
    FOREST_NODE_LEAF = 0,
    FOREST_NODE_NUMERIC,
    FOREST_NODE_CATEGORICAL
} forest_node_kind;

/*
 * One node.  Numeric tests are normalised at load time to
 *     go left iff x < threshold        (x and threshold float32)
 * which is exact for every source rule because inputs are float32:
 * "x <= t" (t float64) becomes "x < nextafterf(round_down_f32(t), +inf)",
 * "x > t" / "x >= t" swap the children.  NaN never takes the comparison:
 * it goes to the default child.
 */
typedef struct {
    int32_t   left;            /* child indices inside the tree; -1 on leaves */
    int32_t   right;
    int32_t   feature;
    float     threshold;
    uint8_t   kind;            /* forest_node_kind */
    uint8_t   default_left;    /* NaN (missing) goes left */
    /* LightGBM missing_type=Zero: |x| <= 1e-35 is missing as well as NaN */
    uint8_t   zero_is_missing;
    /* categorical: a category in the set goes left (LightGBM) or right (XGBoost) */
    uint8_t   cat_in_set_left;
    uint32_t  cat_word;        /* categorical: first 32-bit word in model->cat_bits */
    uint32_t  cat_nbits;       /* categorical: bits in the set; codes >= this are "not in set" */
    uint32_t  leaf;            /* leaf: index of its first value in model->leaf_values */
} forest_node;

/*
 * Categorical rule: NaN, or x not a whole number on a feature marked
 * category_whole_only -> default child; otherwise c = (int) trunc(x);
 * c >= cat_nbits or bit c clear -> "not in set"; below the lowest category
 * (forest_cat_truncates) -> "not in set" too.  The formats differ only there:
 * XGBoost and Treelite refuse x < 0, while LightGBM truncates first, so a
 * code in (-1, 0) is category 0 there.
 */

typedef enum {
    FOREST_POST_IDENTITY = 0,
    FOREST_POST_SIGMOID,             /* 1 / (1 + exp(-alpha * x)) per output */
    FOREST_POST_SOFTMAX,             /* over the outputs of a row */
    FOREST_POST_EXP,                 /* poisson, gamma, tweedie, survival:cox */
    FOREST_POST_HINGE,               /* x > 0 ? 1 : 0 */
    FOREST_POST_SIGNED_SQUARE,       /* sign(x) * x * x */
    FOREST_POST_LOG1P_EXP,           /* log(1 + exp(x)): LightGBM cross_entropy_lambda */
    FOREST_POST_EXP_STANDARD_RATIO,  /* 2^(-x / ratio_c): isolation forest */
    FOREST_POST_MAX_INDEX,           /* multi:softmax: index of the largest margin, one column */
    FOREST_POST_COUNT
} forest_postprocessor;

typedef struct forest_model {
    /* trees: tree t has nodes[tree_begin[t] .. tree_begin[t+1]), root first */
    forest_node  *nodes;
    uint32_t     *tree_begin;      /* n_trees + 1 entries */
    /* output column a scalar-leaf tree adds to; -1: the tree's leaves are
     * vectors of leaf_width values added to columns 0..leaf_width-1 */
    int32_t      *tree_group;
    double       *leaf_values;
    uint32_t     *cat_bits;
    size_t        n_nodes, n_leaf_values, n_cat_words;
    uint32_t      n_trees;
    uint32_t      n_features;
    uint32_t      n_outputs;       /* margin columns: classes (>2), targets, or 1 */
    uint32_t      leaf_width;      /* 1 for scalar leaves, n_outputs for vector leaves */

    /* margin[k] = sum / average_divisor[k] + base_score[k] (divisor 1 unless averaging) */
    double       *base_score;      /* n_outputs, in margin space */
    double       *average_divisor; /* n_outputs */

    forest_postprocessor post;
    double        sigmoid_alpha;   /* FOREST_POST_SIGMOID (1 unless LightGBM sigmoid:a) */
    double        ratio_c;         /* FOREST_POST_EXP_STANDARD_RATIO */

    uint32_t      n_classes;       /* 0 for regressors/rankers; 2 for binary (1 output) */
    forest_format format;
    char          objective[64];   /* as the source names it, e.g. "binary:logistic" */
    char          source[64];      /* e.g. "xgboost 1.7.4", "lightgbm v4" */
    char        **feature_names;   /* n_features entries or NULL; entries may be NULL */
    /* per feature: 1 when the source marks it categorical, or NULL */
    uint8_t      *feature_is_categorical;
    /* per feature: 1 when a value that is not a whole number is missing at
     * the feature's categorical nodes (they take the default child), or
     * NULL.  scikit-learn's HistGradientBoosting (>= 1.4) treats every value
     * it was not trained on as missing; scripts/convert_sklearn.py moves the
     * unseen whole numbers into the sets and names these features in the
     * checkpoint's attributes ("category_fraction_is_missing"). */
    uint8_t      *category_whole_only;
    /* per feature: the names of its categories (category.h), or NULL */
    struct forest_category_list *categories;

    /* per node (n_nodes): its training cover, the weight TreeSHAP splits
     * on (XGBoost sum_hessian, LightGBM internal_count/leaf_count,
     * Treelite sum_hess else data_count); NULL when the file lacks it */
    double       *node_cover;
    /* per node: the number its library gives it, what leaf_index answers
     * (XGBoost and Treelite node id, LightGBM leaf index); NULL: the
     * node's position in its tree */
    int32_t      *node_source_id;

    /* boosting rounds of trees_per_round trees each, in tree order (XGBoost:
     * num_parallel_tree x output groups); 0 when rounds are unknown */
    uint32_t      trees_per_round;
    /* early stopping: the stored best_iteration + 1, 0 when the file has
     * none (XGBoost learner attribute best_iteration) */
    uint32_t      best_rounds;
} forest_model;

/* The formats whose categories truncate x toward zero before the c < 0 test. */
static inline int
forest_cat_truncates(const forest_model *m)
{
    return m->format == FOREST_FORMAT_LIGHTGBM;
}

/*
 * Load a model file.  On failure returns NULL and writes into err a message
 * naming the file and the reason (never a partial model).
 */
forest_model *forest_load(const char *path, forest_format format,
    char *err, size_t errlen);

/* Same from bytes already in memory; name is used in error messages. */
forest_model *forest_load_buffer(const void *data, size_t len,
    forest_format format, const char *name, char *err, size_t errlen);

/* Format detection from the bytes (magic numbers, first tokens); AUTO when
 * no format matches. */
forest_format forest_detect_format(const void *data, size_t len);

void forest_free(forest_model *m);

/* Which trees predict (forest_model key trees=, the CLI's --trees): all,
 * the rounds up to best_iteration as XGBoost's scikit-learn wrappers
 * predict, or the first N boosting rounds. */
#define FOREST_TREES_ALL   0u
#define FOREST_TREES_BEST  UINT32_MAX
/* "all", "best" or a round count >= 1 into *rounds; -1 when none. */
int forest_trees_parse(const char *s, size_t len, uint32_t *rounds);
/* Keeps the trees of the chosen rounds (drops the rest), so every executor
 * sees the same model.  0, or -1 + "name: reason" (no best_iteration, more
 * rounds than the model has, rounds unknown). */
int forest_select_rounds(forest_model *m, uint32_t rounds, const char *name,
    char *err, size_t errlen);

/* One format a caller may ask for by name. */
typedef struct {
    const char *name;          /* as forest_format_name() gives it */
    const char *alias;         /* another name for it, or NULL */
    const char *description;
} forest_format_info;

/* The formats in the order to list them (i from 0), NULL past the last. */
const forest_format_info *forest_format_at(size_t i);
/* "auto, xgboost, ..., treelite_checkpoint (or treelite)" into buf, cut to
 * fit; for "expected one of ..." messages. */
void forest_format_list(char *buf, size_t len);

const char *forest_format_name(forest_format f);
/* A name or alias of forest_format_at's list; -1 when none. */
int forest_format_parse(const char *name, forest_format *out);
const char *forest_postprocessor_name(forest_postprocessor p);

/* Columns written per row by forest_predict: n_outputs, or 1 for MAX_INDEX
 * when not asking for margins. */
uint32_t forest_output_columns(const forest_model *m, int margin);

/* Checks the invariants every loader must establish (child indices in range,
 * no cycles, features < n_features, leaf and bitset ranges).  0 or -1 + err. */
int forest_validate(const forest_model *m, char *err, size_t errlen);

/*
 * Reference predictor: one row at a time straight from forest_node, no
 * threads, no SIMD.  The executors are tested against it.
 */
void forest_predict_row_reference(const forest_model *m, const float *row,
    int margin, float *out);

/* Applies the model's postprocessor in place to one row of n_outputs margins
 * (out gets forest_output_columns(m, 0) values). */
void forest_postprocess_row(const forest_model *m, const double *margin,
    float *out);

/*
 * base_margin (XGBoost's): each row's margins start from its own values
 * (n_outputs per row) instead of base_score.  margins: n_rows rows of
 * n_outputs as forest_predict gives them with margin=1; out gets
 * forest_output_columns(m, margin) per row (out may be margins when margin).
 * Models with more outputs than FOREST_REBASE_MAX_OUTPUTS take no
 * base_margin (the codec refuses it).
 */
#define FOREST_REBASE_MAX_OUTPUTS 4096
void forest_rebase_margins(const forest_model *m, const float *base_margin,
    size_t n_rows, const float *margins, int margin, float *out);
/* The bias (last value of each output) of TreeSHAP contributions laid out
 * [n_rows][n_outputs][n_features + 1] moved the same way. */
void forest_rebase_contribs(const forest_model *m, const float *base_margin,
    size_t n_rows, float *contribs);

#ifdef __cplusplus
}
#endif

#endif /* FOREST_H */
