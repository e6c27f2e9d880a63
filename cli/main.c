/*
 * `forest`: inspect a model, predict from a CSV or float32 file, time
 * prediction, and tune a served model's configuration.  Each subcommand lives in its own cmd_*.c.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "info") == 0) {
        return cmd_info(argc, argv);
    }
    if (strcmp(argv[1], "predict") == 0) {
        return cmd_predict(argc, argv);
    }
    if (strcmp(argv[1], "bench") == 0) {
        return cmd_bench(argc, argv);
    }
    if (strcmp(argv[1], "tune") == 0) {
        return cmd_tune(argc, argv);
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0
        || strcmp(argv[1], "help") == 0)
    {
        cli_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("forest " FOREST_VERSION);
        return 0;
    }
    fprintf(stderr, "forest: unknown command '%s'\n", argv[1]);
    cli_usage(stderr);
    return CLI_EXIT_USAGE;
}
