/* libFuzzer target: the protobuf text format reader and the Triton model
 * configuration reader on top of it (config.pbtxt is operator-supplied). */
#include "repo/model_config.h"
#include "repo/pbtxt.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_note(void *data, const char *msg)
{
    (void) data;
    (void) msg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    forest_model_config  mc;
    forest_pbtxt        *doc;
    char                 err[FOREST_ERR_LEN];

    doc = forest_pbtxt_parse((const char *) data, size, "fuzz", err,
                             sizeof(err));
    forest_pbtxt_free(doc);
    if (forest_model_config_read((const char *) data, size, "fuzz", &mc,
                                 fuzz_note, NULL, err, sizeof(err)) != 0
        && strncmp(err, "fuzz:", 5) != 0)
    {
        /* every refusal names the file and line */
        __builtin_trap();
    }
    return 0;
}
