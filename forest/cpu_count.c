/*
 * CPUs this process may use (cpu_count.h).  The cgroup file system is taken
 * to be mounted where systemd, Docker, containerd and Kubernetes put it:
 * cgroup v2 at /sys/fs/cgroup, cgroup v1's cpu controller at
 * /sys/fs/cgroup/cpu (a directory, or systemd's link to cpu,cpuacct).
 */
#include "cpu_count.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* affinity masks are tried up to this many CPUs wide */
#define MAX_CPUS  (1u << 16)

static unsigned
affinity_count(void)
{
    long online;

    /* the kernel refuses (EINVAL) a mask narrower than its own */
    for (unsigned n = CPU_SETSIZE; n <= MAX_CPUS; n *= 2) {
        cpu_set_t *set = CPU_ALLOC(n);
        size_t     size = CPU_ALLOC_SIZE(n);
        int        count;

        if (set == NULL) {
            break;
        }
        if (sched_getaffinity(0, size, set) == 0) {
            count = CPU_COUNT_S(size, set);
            CPU_FREE(set);
            return count > 0 ? (unsigned) count : 1;
        }
        CPU_FREE(set);
        if (errno != EINVAL) {
            break;
        }
    }
    online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (unsigned) online : 1;
}

/* The first line of the small file DIR/NAME into buf; 0 or -1. */
static int
read_line(const char *dir, const char *name, char *buf, size_t len)
{
    char  path[PATH_MAX];
    FILE *f;
    int   ok;

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name)
        >= sizeof(path))
    {
        return -1;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        return -1;
    }
    ok = fgets(buf, (int) len, f) != NULL;
    fclose(f);
    return ok ? 0 : -1;
}

/* quota/period in whole CPUs, rounded up so that 1.5 CPUs keep 2 busy */
static unsigned
whole_cpus(long long quota, long long period)
{
    long long n;

    if (quota <= 0 || period <= 0) {
        return 0;
    }
    n = quota / period + (quota % period != 0);
    return n < MAX_CPUS ? (unsigned) n : MAX_CPUS;
}

/* cgroup v2: cpu.max holds "QUOTA PERIOD", QUOTA being "max" when unset */
static unsigned
limit_v2(const char *dir)
{
    char      line[64];
    long long quota, period;

    if (read_line(dir, "cpu.max", line, sizeof(line)) != 0
        || sscanf(line, "%lld %lld", &quota, &period) != 2)
    {
        return 0;
    }
    return whole_cpus(quota, period);
}

/* cgroup v1: cpu.cfs_quota_us is -1 when unset */
static unsigned
limit_v1(const char *dir)
{
    char      line[64];
    long long quota, period;

    if (read_line(dir, "cpu.cfs_quota_us", line, sizeof(line)) != 0
        || sscanf(line, "%lld", &quota) != 1
        || read_line(dir, "cpu.cfs_period_us", line, sizeof(line)) != 0
        || sscanf(line, "%lld", &period) != 1)
    {
        return 0;
    }
    return whole_cpus(quota, period);
}

/*
 * The smallest quota from the process's cgroup up to the mount point: a
 * quota on a parent (a pod's, a systemd slice's) binds the children too.
 * Directories that do not exist are passed over, as where a container sees
 * its own cgroup mounted as the root while /proc/self/cgroup names the
 * host's path for it.  A path outside this cgroup namespace ("/../x") has
 * no directory under the mount: only the mount itself is read then.
 */
static unsigned
limit_along(const char *mount, const char *cgroup, int v1)
{
    char     dir[PATH_MAX];
    size_t   base = strlen(mount);
    unsigned best = 0, n;
    char    *slash;

    if (strcmp(cgroup, "/") == 0 || strncmp(cgroup, "/..", 3) == 0) {
        cgroup = "";
    }
    if ((size_t) snprintf(dir, sizeof(dir), "%s%s", mount, cgroup)
        >= sizeof(dir))
    {
        return 0;
    }
    for ( ;; ) {
        n = v1 ? limit_v1(dir) : limit_v2(dir);
        if (n != 0 && (best == 0 || n < best)) {
            best = n;
        }
        slash = strrchr(dir + base, '/');
        if (slash == NULL) {
            return best;
        }
        *slash = '\0';
    }
}

/* whether the comma-separated list [s, end) holds the name "cpu" */
static int
lists_cpu(const char *s, const char *end)
{
    while (s < end) {
        const char *comma = memchr(s, ',', (size_t) (end - s));
        const char *stop = comma != NULL ? comma : end;

        if (stop - s == 3 && memcmp(s, "cpu", 3) == 0) {
            return 1;
        }
        s = stop + 1;
    }
    return 0;
}

unsigned
forest_cgroup_cpu_limit(const char *root)
{
    char     path[PATH_MAX], mount[PATH_MAX];
    char    *line = NULL, *v1 = NULL, *v2 = NULL, *c1, *c2;
    size_t   cap = 0;
    ssize_t  len;
    unsigned n = 0;
    FILE    *f;

    if ((size_t) snprintf(path, sizeof(path), "%s/proc/self/cgroup", root)
        >= sizeof(path))
    {
        return 0;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        return 0;
    }
    /* lines are "ID:CONTROLLERS:PATH"; cgroup v2's is "0::PATH" */
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        c1 = strchr(line, ':');
        c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL || c2[1] != '/') {
            continue;
        }
        if (v1 == NULL && lists_cpu(c1 + 1, c2)) {
            v1 = strdup(c2 + 1);
        } else if (v2 == NULL && c2 == c1 + 1 && strncmp(line, "0:", 2) == 0) {
            v2 = strdup(c2 + 1);
        }
    }
    free(line);
    fclose(f);

    /* on a hybrid system the cpu controller is v1's; v2 then has none */
    if (v1 != NULL) {
        if ((size_t) snprintf(mount, sizeof(mount), "%s/sys/fs/cgroup/cpu",
                              root) < sizeof(mount))
        {
            n = limit_along(mount, v1, 1);
        }
    } else if (v2 != NULL) {
        if ((size_t) snprintf(mount, sizeof(mount), "%s/sys/fs/cgroup", root)
            < sizeof(mount))
        {
            n = limit_along(mount, v2, 0);
        }
    }
    free(v1);
    free(v2);
    return n;
}

unsigned
forest_cpu_count(void)
{
    unsigned cpus = affinity_count();
    unsigned quota = forest_cgroup_cpu_limit("");

    return quota != 0 && quota < cpus ? quota : cpus;
}
