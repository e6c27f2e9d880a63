/*
 * What each format's file gives the format table (formats.c): a detector and
 * a loader.  Private to forest/load/.
 */
#ifndef FOREST_LOADERS_H
#define FOREST_LOADERS_H

#include "forest_internal.h"

/* 1 when the first bytes are this format's (magic number, first tokens);
 * the detectors of different formats never both say 1. */
typedef int forest_detect_fn(const uint8_t *data, size_t len);

/* Bytes in, model out (or NULL with "name: reason" in err). */
typedef forest_model *forest_load_fn(const uint8_t *data, size_t len,
    const char *name, char *err, size_t errlen);

forest_detect_fn forest_detect_xgboost_json;
forest_detect_fn forest_detect_xgboost_ubj;
forest_detect_fn forest_detect_xgboost_binary;
forest_detect_fn forest_detect_lightgbm;
forest_detect_fn forest_detect_treelite;

forest_load_fn forest_load_xgboost_json;
forest_load_fn forest_load_xgboost_ubj;
forest_load_fn forest_load_xgboost_binary;
forest_load_fn forest_load_lightgbm;
forest_load_fn forest_load_treelite;

#endif /* FOREST_LOADERS_H */
