/*
 * Repository walking with scandir(3): sorted, so that models and versions
 * come in the same order on every reload and every poll.
 */
#include "repo_scan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FNV_OFFSET  1469598103934665603ULL
#define FNV_PRIME   1099511628211ULL
/* model folder, version folder, file */
#define SCAN_DEPTH  3

static int
scan_visible(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

static int
scan_sorted(const char *dir, struct dirent ***list)
{
    return scandir(dir, list, scan_visible, alphasort);
}

int
forest_repo_list(const char *dir, forest_repo_dirs *out, char *err,
    size_t errlen)
{
    struct dirent  **list;
    struct stat      st;
    char             path[4096];
    int              n, i;

    out->names = NULL;
    out->n = 0;

    n = scan_sorted(dir, &list);
    if (n < 0) {
        snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }

    out->names = calloc((size_t) n + 1, sizeof(char *));
    for (i = 0; i < n; i++) {
        if (out->names != NULL
            && (size_t) snprintf(path, sizeof(path), "%s/%s", dir,
                                 list[i]->d_name) < sizeof(path)
            && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        {
            out->names[out->n] = strdup(list[i]->d_name);
            if (out->names[out->n] != NULL) {
                out->n++;
            }
        }
        free(list[i]);
    }
    free(list);

    if (out->names == NULL) {
        snprintf(err, errlen, "cannot read %s: out of memory", dir);
        return -1;
    }
    return 0;
}

void
forest_repo_dirs_free(forest_repo_dirs *d)
{
    size_t i;

    for (i = 0; i < d->n; i++) {
        free(d->names[i]);
    }
    free(d->names);
    d->names = NULL;
    d->n = 0;
}

int
forest_repo_version(const char *name, uint64_t *version)
{
    uint64_t  v = 0;
    size_t    i;

    for (i = 0; name[i] != '\0'; i++) {
        if (name[i] < '0' || name[i] > '9' || i >= 18) {
            return -1;
        }
        v = v * 10 + (uint64_t) (name[i] - '0');
    }
    if (i == 0) {
        return -1;
    }
    *version = v;
    return 0;
}

static uint64_t
scan_hash(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t               i;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * FNV_PRIME;
    }
    return h;
}

static uint64_t
scan_tree(uint64_t h, const char *dir, int depth)
{
    struct dirent  **list;
    struct stat      st;
    char             path[4096];
    int64_t          facts[4];
    int              n, i;

    n = scan_sorted(dir, &list);
    if (n < 0) {
        return scan_hash(h, "?", 1);
    }
    for (i = 0; i < n; i++) {
        h = scan_hash(h, list[i]->d_name, strlen(list[i]->d_name) + 1);
        if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir,
                              list[i]->d_name) < sizeof(path)
            && stat(path, &st) == 0)
        {
            facts[0] = (int64_t) st.st_size;
            facts[1] = (int64_t) st.st_mtim.tv_sec;
            facts[2] = (int64_t) st.st_mtim.tv_nsec;
            facts[3] = (int64_t) st.st_ino;
            h = scan_hash(h, facts, sizeof(facts));
            if (S_ISDIR(st.st_mode) && depth < SCAN_DEPTH) {
                h = scan_tree(h, path, depth + 1);
            }
        }
        free(list[i]);
    }
    free(list);
    return h;
}

uint64_t
forest_repo_fingerprint(const char *dir)
{
    return scan_tree(FNV_OFFSET, dir, 1);
}
