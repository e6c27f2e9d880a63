/* libFuzzer target: the CSV and raw float32 input readers, and arranging
 * the parsed columns for a model that names its features. */
#include "input.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char  *names[3] = { "a", "b", "c" };
    forest_model  model;
    forest_matrix mat;
    char          err[FOREST_ERR_LEN];

    if (forest_csv_parse(data, size, "fuzz", &mat, err, sizeof(err)) == 0) {
        memset(&model, 0, sizeof(model));
        model.n_features = 3;
        model.feature_names = names;
        forest_matrix_for_model(&mat, &model, "fuzz", err, sizeof(err));
        forest_matrix_free(&mat);
    }
    if (size > 0
        && forest_f32_parse(data + 1, size - 1, data[0] % 8 + 1, "fuzz", &mat,
               err, sizeof(err)) == 0)
    {
        forest_matrix_free(&mat);
    }
    return 0;
}
