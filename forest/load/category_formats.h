/*
 * Category lists read from the formats that store them
 * (category_formats.c).  Each returns 0 (also when the model has none), or
 * -1 with err.
 */
#ifndef FOREST_CATEGORY_FORMATS_H
#define FOREST_CATEGORY_FORMATS_H

#include "forest_internal.h"

struct doc_value;

/* XGBoost: cats = gradient_booster's model.cats (NULL when absent). */
int forest_xgb_categories(forest_model *m, const struct doc_value *cats,
    const char *name, char *err, size_t errlen);

/* LightGBM: the pandas_categorical line of the model text. */
int forest_lgb_categories(forest_model *m, const uint8_t *data, size_t len,
    const char *name, char *err, size_t errlen);

#endif /* FOREST_CATEGORY_FORMATS_H */
