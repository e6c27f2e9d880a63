/*
 * `forest tune MODEL ...`: runs the tuning script (scripts/forest_tune.py,
 * installed as /usr/lib/ngx-forest/forest_tune.py), which starts nginx with
 * the module, drives it with wrk and writes the report.  The sweep is
 * process management and plotting, Python's ground; this command only finds
 * the script and tells it which `forest` binary it was started from, so the
 * script reads the model with the same loaders (forest info).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Where the script may be, relative to the directory of this binary: the
 * package's library directory (/usr/bin -> /usr/lib/ngx-forest), and the
 * source tree for a build in BUILD/bin or build/NAME/bin.
 */
static const char *const script_places[] = {
    "../lib/ngx-forest/forest_tune.py",
    "../../scripts/forest_tune.py",
    "../../../scripts/forest_tune.py",
};

static int
find_script(const char *exe, char *path, size_t size)
{
    const char *env = getenv("FOREST_TUNE_SCRIPT");
    const char *slash = strrchr(exe, '/');
    int         dir_len = slash ? (int) (slash - exe) : 0;

    if (env != NULL && *env != '\0') {
        snprintf(path, size, "%s", env);
        return access(path, R_OK) == 0 ? 0 : -1;
    }
    for (size_t i = 0; i < sizeof(script_places) / sizeof(script_places[0]);
         i++)
    {
        if (snprintf(path, size, "%.*s/%s", dir_len, exe, script_places[i])
                < (int) size
            && access(path, R_OK) == 0)
        {
            return 0;
        }
    }
    return -1;
}

int
cmd_tune(int argc, char **argv)
{
    char        exe[PATH_MAX], script[PATH_MAX + 64];
    const char *python = getenv("FOREST_PYTHON");
    char      **args;
    ssize_t     n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n <= 0) {
        return cli_fail("tune: cannot find this program's path");
    }
    exe[n] = '\0';
    if (find_script(exe, script, sizeof(script)) != 0) {
        return cli_fail("tune: no forest_tune.py (looked in FOREST_TUNE_SCRIPT "
            "and beside %s)", exe);
    }
    if (python == NULL || *python == '\0') {
        python = "python3";
    }
    args = calloc((size_t) argc + 1, sizeof(char *));
    if (args == NULL) {
        return cli_fail("out of memory");
    }
    args[0] = (char *) python;
    args[1] = script;
    for (int i = 2; i < argc; i++) {
        args[i] = argv[i];
    }
    if (setenv("FOREST_BIN", exe, 1) != 0) {
        free(args);
        return cli_fail("tune: cannot set FOREST_BIN");
    }
    execvp(python, args);
    cli_fail("tune: cannot run %s: %s", python, strerror(errno));
    free(args);
    return CLI_EXIT_FAIL;
}
