/*
 * Walking a Triton model repository: its model folders and version folders
 * in order, and a fingerprint of everything a reload would read there
 * (names, sizes and modification times), for polling.
 */
#ifndef FOREST_REPO_SCAN_H
#define FOREST_REPO_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* The sub-folders of dir, sorted, without hidden ones ("." first). */
typedef struct {
    char   **names;
    size_t   n;
} forest_repo_dirs;

/* 0, or -1 with the reason in err */
int forest_repo_list(const char *dir, forest_repo_dirs *out, char *err,
    size_t errlen);
void forest_repo_dirs_free(forest_repo_dirs *d);

/* A version folder name: decimal digits without a sign, 1 or more. */
int forest_repo_version(const char *name, uint64_t *version);

/* Hash of dir's tree down to files in version folders; never fails (an
 * unreadable entry hashes as such). */
uint64_t forest_repo_fingerprint(const char *dir);

#endif
