/* XGBoost model saved as JSON text: decode, then build (xgboost_doc.c). */
#include "doc.h"
#include "loaders.h"
#include "xgboost_model.h"

static int
is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* An object whose first member name (or end) follows the brace. */
int
forest_detect_xgboost_json(const uint8_t *data, size_t len)
{
    size_t i = 0;

    while (i < len && is_space(data[i])) {
        i++;
    }
    if (i == len || data[i++] != '{') {
        return 0;
    }
    while (i < len && is_space(data[i])) {
        i++;
    }
    return i < len && (data[i] == '"' || data[i] == '}');
}

forest_model *
forest_load_xgboost_json(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen)
{
    doc          *d;
    forest_model *m;

    d = forest_doc_parse_json(data, len, name, err, errlen);
    if (d == NULL) {
        return NULL;
    }
    m = forest_xgb_model_from_doc(d, FOREST_FORMAT_XGBOOST_JSON, name, err,
                                  errlen);
    forest_doc_free(d);
    return m;
}
