/* XGBoost model saved as JSON text: decode, then build (xgboost_doc.c). */
#include "doc.h"
#include "xgboost_model.h"

forest_model *
forest_load_xgboost_json(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen)
{
    doc          *d;
    forest_model *m;

    d = doc_parse_json(data, len, name, err, errlen);
    if (d == NULL) {
        return NULL;
    }
    m = xgb_model_from_doc(d, FOREST_FORMAT_XGBOOST_JSON, name, err, errlen);
    doc_free(d);
    return m;
}
