/*
 * A Triton model configuration (config.pbtxt) for the FIL backend, read
 * from the protobuf text tree (pbtxt.h) and checked the way Triton checks
 * it: unknown fields, a field given twice, wrong types and bad values are
 * errors naming the file and line.  What FIL honours is kept here; FIL's own
 * kernel and memory tuning keys are accepted and reported through the note
 * callback as having no effect.
 */
#ifndef FOREST_REPO_MODEL_CONFIG_H
#define FOREST_REPO_MODEL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "forest.h"

#define FOREST_MC_NAME_MAX      64
#define FOREST_MC_MAX_DIMS      8
#define FOREST_MC_MAX_VERSIONS  64
#define FOREST_MC_MAX_GPUS      64
#define FOREST_MC_FILE_MAX      256

typedef enum {
    FOREST_MC_KIND_AUTO = 0,
    FOREST_MC_KIND_GPU,
    FOREST_MC_KIND_CPU
} forest_mc_kind;

typedef enum {
    FOREST_MC_LATEST = 0,
    FOREST_MC_ALL,
    FOREST_MC_SPECIFIC
} forest_mc_policy;

typedef struct {
    int64_t   dims[FOREST_MC_MAX_DIMS];
    int       n_dims;
    unsigned  line;                   /* where its dims are */
} forest_mc_tensor;

typedef struct {
    char              name[FOREST_MC_NAME_MAX];
    unsigned          name_line;           /* 0: no name given */
    char              backend[FOREST_MC_NAME_MAX];  /* "" when not given */
    int64_t           max_batch_size;
    forest_mc_tensor  input, output;

    forest_mc_kind    kind;
    int64_t           gpus[FOREST_MC_MAX_GPUS];
    int               n_gpus;
    unsigned          instance_count;      /* 0: not given */

    int               dynamic_batching;
    uint64_t          max_queue_delay_us;
    int64_t           preferred_batch_size[16];
    int               n_preferred;

    forest_mc_policy  policy;
    unsigned          num_versions;        /* latest */
    int64_t           versions[FOREST_MC_MAX_VERSIONS];  /* specific */
    int               n_versions;

    /* parameters; -1: not given */
    forest_format     format;
    char              model_file[FOREST_MC_FILE_MAX]; /* in a version folder */
    int               output_class;
    int               predict_proba;
    int               has_threshold;
    float             threshold;
    int64_t           transfer_threshold;
    int64_t           cpu_nthread;         /* -1 given or not: every CPU */
    int               has_cpu_nthread;
} forest_model_config;

/* Told once per config for what has no effect here; msg names file:line. */
typedef void (*forest_mc_note)(void *data, const char *msg);

/*
 * Reads config.pbtxt text; `file` is the path shown in messages.  0, or -1
 * with "file:line: reason" in err.
 */
int forest_model_config_read(const char *text, size_t len, const char *file,
    forest_model_config *mc, forest_mc_note note, void *note_data,
    char *err, size_t errlen);

/*
 * A FIL model_type ("xgboost", "xgboost_json", "xgboost_ubj", "lightgbm",
 * "treelite_checkpoint"): the format and FIL's default file name in a
 * version folder.  -1 when it is none of them.
 */
int forest_fil_model_type(const char *name, forest_format *format,
    const char **default_file);

/* "xgboost, xgboost_json, ..." for messages */
const char *forest_fil_model_types(void);

#endif
