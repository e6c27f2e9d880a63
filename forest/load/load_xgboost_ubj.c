/* XGBoost model saved as UBJSON (.ubj): decode, then build (xgboost_doc.c). */
#include "doc.h"
#include "loaders.h"
#include "xgboost_model.h"

#include <string.h>

/* An object whose first key starts with a length-type marker (or whose
 * count or type marker follows the brace); no whitespace in UBJSON. */
int
forest_detect_xgboost_ubj(const uint8_t *data, size_t len)
{
    return len >= 2 && data[0] == '{' && data[1] != '\0'
           && strchr("iUIlL$#", data[1]) != NULL;
}

forest_model *
forest_load_xgboost_ubj(const uint8_t *data, size_t len, const char *name,
    char *err, size_t errlen)
{
    doc          *d;
    forest_model *m;

    d = forest_doc_parse_ubjson(data, len, name, err, errlen);
    if (d == NULL) {
        return NULL;
    }
    m = forest_xgb_model_from_doc(d, FOREST_FORMAT_XGBOOST_UBJ, name, err,
                                  errlen);
    forest_doc_free(d);
    return m;
}
