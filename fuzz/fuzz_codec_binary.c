/* libFuzzer target: the request codec on KServe requests with Triton's
 * binary tensor extension (the header length comes from the input), then
 * the answer encoder. */
// FUZZ_LIBS: -lyajl
#include "fuzz_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_codec(FCODEC_KSERVE, data, size, 1);
    return 0;
}
