/*
 * The format table: every format a caller may ask for by name, how each is
 * recognised from its bytes and which loader reads it.  The loader
 * (forest_load_buffer), the module's format= key and the CLI's --format all
 * read it, names and messages included; a new format is a row here and a
 * file with its detector and loader.
 */
#include "loaders.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    forest_format_info  info;
    forest_format       format;
    /* formats with a loader: which other name (besides auto) picks this
     * one by the bytes; AUTO when none */
    forest_format       family;
    /* formats without one: what a file of none of theirs is not */
    const char         *mismatch;
    forest_detect_fn   *detect;
    forest_load_fn     *load;
} format_def;

/* Listing order; the detectors exclude each other, so order does not
 * change what a file is detected as. */
static const format_def formats[] = {
    { { "auto", NULL, "any format below, from the bytes (default)" },
      FOREST_FORMAT_AUTO, FOREST_FORMAT_AUTO, "unrecognised model format",
      NULL, NULL },
    /* Triton FIL's "xgboost" is the legacy binary alone; here the bytes pick
     * among the encodings, so one name serves every XGBoost file */
    { { "xgboost", NULL, "any XGBoost encoding, from the bytes" },
      FOREST_FORMAT_XGBOOST, FOREST_FORMAT_AUTO, "not an XGBoost model",
      NULL, NULL },
    { { "xgboost_json", NULL, "XGBoost JSON" },
      FOREST_FORMAT_XGBOOST_JSON, FOREST_FORMAT_XGBOOST, NULL,
      forest_detect_xgboost_json, forest_load_xgboost_json },
    { { "xgboost_ubj", NULL, "XGBoost UBJSON" },
      FOREST_FORMAT_XGBOOST_UBJ, FOREST_FORMAT_XGBOOST, NULL,
      forest_detect_xgboost_ubj, forest_load_xgboost_ubj },
    { { "xgboost_binary", NULL, "XGBoost legacy binary" },
      FOREST_FORMAT_XGBOOST_BINARY, FOREST_FORMAT_XGBOOST, NULL,
      forest_detect_xgboost_binary, forest_load_xgboost_binary },
    { { "lightgbm", NULL, "LightGBM text" },
      FOREST_FORMAT_LIGHTGBM, FOREST_FORMAT_AUTO, NULL,
      forest_detect_lightgbm, forest_load_lightgbm },
    { { "treelite_checkpoint", "treelite", "Treelite checkpoint" },
      FOREST_FORMAT_TREELITE, FOREST_FORMAT_AUTO, NULL,
      forest_detect_treelite, forest_load_treelite },
};

#define N_FORMATS (sizeof(formats) / sizeof(formats[0]))

static const format_def *
find(forest_format f)
{
    for (size_t i = 0; i < N_FORMATS; i++) {
        if (formats[i].format == f) {
            return &formats[i];
        }
    }
    return NULL;
}

/* Whether asking for `asked` (a format without a loader) may give d. */
static int
picks(forest_format asked, const format_def *d)
{
    return asked == FOREST_FORMAT_AUTO || d->family == asked;
}

static const format_def *
detect(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < N_FORMATS; i++) {
        if (formats[i].detect != NULL && formats[i].detect(data, len)) {
            return &formats[i];
        }
    }
    return NULL;
}

const forest_format_info *
forest_format_at(size_t i)
{
    return i < N_FORMATS ? &formats[i].info : NULL;
}

/* Appends s to buf (of len bytes, holding a string), cut to fit. */
static void
append(char *buf, size_t len, const char *s)
{
    size_t used = strlen(buf);

    snprintf(buf + used, len - used, "%s", s);
}

void
forest_format_list(char *buf, size_t len)
{
    if (len == 0) {
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < N_FORMATS; i++) {
        append(buf, len, i ? ", " : "");
        append(buf, len, formats[i].info.name);
        if (formats[i].info.alias != NULL) {
            append(buf, len, " (or ");
            append(buf, len, formats[i].info.alias);
            append(buf, len, ")");
        }
    }
}

/* "A, B or C": the descriptions of the formats `asked` picks. */
static void
list_picked(char *buf, size_t len, forest_format asked)
{
    size_t n = 0, total = 0;

    for (size_t i = 0; i < N_FORMATS; i++) {
        total += formats[i].load != NULL && picks(asked, &formats[i]);
    }
    buf[0] = '\0';
    for (size_t i = 0; i < N_FORMATS; i++) {
        if (formats[i].load == NULL || !picks(asked, &formats[i])) {
            continue;
        }
        append(buf, len, n == 0 ? "" : n + 1 < total ? ", " : " or ");
        append(buf, len, formats[i].info.description);
        n++;
    }
}

const char *
forest_format_name(forest_format f)
{
    const format_def *d = find(f);

    return d != NULL ? d->info.name : "unknown";
}

int
forest_format_parse(const char *name, forest_format *out)
{
    for (size_t i = 0; i < N_FORMATS; i++) {
        const forest_format_info *in = &formats[i].info;

        if (strcmp(name, in->name) == 0
            || (in->alias != NULL && strcmp(name, in->alias) == 0))
        {
            *out = formats[i].format;
            return 0;
        }
    }
    return -1;
}

forest_format
forest_detect_format(const void *data, size_t len)
{
    const format_def *d = detect(data, len);

    return d != NULL ? d->format : FOREST_FORMAT_AUTO;
}

forest_model *
forest_load_buffer(const void *data, size_t len, forest_format format,
    const char *name, char *err, size_t errlen)
{
    const format_def *d = find(format), *seen;
    char              expected[256];

    if (d == NULL) {
        forest_errf(err, errlen, name, "unknown format %d", (int) format);
        return NULL;
    }
    /* a format named outright is read as such: its loader says what is
     * wrong with the bytes, and old unmarked XGBoost binaries load */
    if (d->load != NULL) {
        return d->load(data, len, name, err, errlen);
    }
    seen = detect(data, len);
    if (seen != NULL && picks(format, seen)) {
        return seen->load(data, len, name, err, errlen);
    }
    if (seen != NULL) {
        forest_errf(err, errlen, name, "%s (looks like %s)", d->mismatch,
            seen->info.name);
        return NULL;
    }
    list_picked(expected, sizeof(expected), format);
    forest_errf(err, errlen, name, "%s (expected %s)", d->mismatch, expected);
    return NULL;
}
