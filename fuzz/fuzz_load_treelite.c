/* libFuzzer target: forest_load_buffer with FOREST_FORMAT_TREELITE. */
#include "fuzz_load.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_load(data, size, FOREST_FORMAT_TREELITE);
}
