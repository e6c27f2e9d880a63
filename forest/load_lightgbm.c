/* Placeholder until this loader lands: refuses every file. */
#include "forest_internal.h"

forest_model *
forest_load_lightgbm(const uint8_t *data, size_t len, const char *name, char *err,
    size_t errlen)
{
    (void) data;
    (void) len;
    forest_errf(err, errlen, name, "loader not implemented yet");
    return NULL;
}
