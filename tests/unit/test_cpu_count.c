/*
 * forest_cgroup_cpu_limit against cgroup trees laid out in a temporary
 * directory the way v2, v1 and hybrid hosts and containers lay them out,
 * and forest_cpu_count against this process's own affinity mask.
 */
#include "check.h"
#include "cpu_count.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

/* writes TEXT to ROOT/REL, making the directories above it */
static void
put(const char *rel, const char *text)
{
    char  path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL;
         p++)
    {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
}

static void
drop(void)
{
    char cmd[128];

    if (root[0] != '\0') {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        CHECK(system(cmd) == 0);
    }
}

/* a fresh, empty root for each case */
static void
fresh(void)
{
    drop();
    strcpy(root, "/tmp/test_cpu_count.XXXXXX");
    CHECK(mkdtemp(root) != NULL);
}

static void
test_v2(void)
{
    /* a Kubernetes container with cgroup namespaces: its cgroup is "/" */
    fresh();
    put("proc/self/cgroup", "0::/\n");
    put("sys/fs/cgroup/cpu.max", "150000 100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 2);

    put("sys/fs/cgroup/cpu.max", "max 100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 0);

    put("sys/fs/cgroup/cpu.max", "50000 100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 1);

    put("sys/fs/cgroup/cpu.max", "400000 100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 4);

    /* a host path: the pod's limit binds the container below it */
    fresh();
    put("proc/self/cgroup", "0::/kubepods.slice/pod1/ctr\n");
    put("sys/fs/cgroup/kubepods.slice/pod1/ctr/cpu.max", "max 100000\n");
    put("sys/fs/cgroup/kubepods.slice/pod1/cpu.max", "300000 100000\n");
    put("sys/fs/cgroup/kubepods.slice/cpu.max", "max 100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 3);

    /* the smallest quota on the way up wins */
    put("sys/fs/cgroup/kubepods.slice/pod1/ctr/cpu.max", "800000 100000\n");
    put("sys/fs/cgroup/kubepods.slice/cpu.max", "200000 100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 2);

    /* the host path is not visible: the container's cgroup is the mount */
    fresh();
    put("proc/self/cgroup", "0::/system.slice/docker-1.scope\n");
    put("sys/fs/cgroup/cpu.max", "250000 100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 3);

    /* a cgroup outside this namespace: nothing but the mount is read */
    put("proc/self/cgroup", "0::/../../outside\n");
    put("sys/outside/cpu.max", "100000 100000\n");   /* mount/../../outside */
    CHECK(forest_cgroup_cpu_limit(root) == 3);
}

static void
test_v1(void)
{
    fresh();
    put("proc/self/cgroup", "12:memory:/docker/abc\n"
        "4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n");
    put("sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us", "200000\n");
    put("sys/fs/cgroup/cpu/docker/abc/cpu.cfs_period_us", "100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 2);

    put("sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us", "-1\n");
    CHECK(forest_cgroup_cpu_limit(root) == 0);

    /* "cpuacct" alone is not the cpu controller */
    fresh();
    put("proc/self/cgroup", "3:cpuacct:/x\n");
    put("sys/fs/cgroup/cpu/x/cpu.cfs_quota_us", "100000\n");
    put("sys/fs/cgroup/cpu/x/cpu.cfs_period_us", "100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 0);

    /* hybrid: cpu on v1, v2 mounted beside it without the controller */
    fresh();
    put("proc/self/cgroup", "1:cpu:/\n0::/\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "100000\n");
    put("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
    put("sys/fs/cgroup/cpu.max", "900000 100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 1);
}

static void
test_unreadable(void)
{
    fresh();
    CHECK(forest_cgroup_cpu_limit(root) == 0);              /* no /proc */

    put("proc/self/cgroup", "0::/\n");
    CHECK(forest_cgroup_cpu_limit(root) == 0);              /* no cpu.max */

    put("sys/fs/cgroup/cpu.max", "lots\n");
    CHECK(forest_cgroup_cpu_limit(root) == 0);

    put("sys/fs/cgroup/cpu.max", "100000 0\n");
    CHECK(forest_cgroup_cpu_limit(root) == 0);

    put("proc/self/cgroup", "garbage\n");
    put("sys/fs/cgroup/cpu.max", "100000 100000\n");
    CHECK(forest_cgroup_cpu_limit(root) == 0);
}

static void
test_affinity(void)
{
    long      online = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned  n = forest_cpu_count();
    cpu_set_t all, one;

    CHECK(n >= 1 && (long) n <= online);
    CHECK(sched_getaffinity(0, sizeof(all), &all) == 0);
    CPU_ZERO(&one);
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (CPU_ISSET(i, &all)) {
            CPU_SET(i, &one);
            break;
        }
    }
    CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
    CHECK(forest_cpu_count() == 1);
    CHECK(sched_setaffinity(0, sizeof(all), &all) == 0);
    CHECK(forest_cpu_count() == n);
}

int
main(void)
{
    test_v2();
    test_v1();
    test_unreadable();
    test_affinity();
    drop();
    return check_summary();
}
