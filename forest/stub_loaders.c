#include "forest_internal.h"
#define STUB(fn) forest_model *fn(const uint8_t *d, size_t l, const char *n, char *e, size_t el) { (void) d; (void) l; forest_errf(e, el, n, "not implemented"); return NULL; }
STUB(forest_load_xgboost_json)
STUB(forest_load_xgboost_ubj)
STUB(forest_load_xgboost_binary)
STUB(forest_load_lightgbm)
STUB(forest_load_treelite)
