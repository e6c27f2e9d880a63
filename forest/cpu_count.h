/*
 * How many CPUs this process may use: what `threads=0` means.  A container
 * sees every CPU of its host in sysconf(), while its CFS quota and cpuset
 * let it run on fewer; one thread per host CPU would then only queue.
 */
#ifndef FOREST_CPU_COUNT_H
#define FOREST_CPU_COUNT_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The smaller of the CPUs in this thread's affinity mask and the CPU quota
 * of its cgroup (rounded up); at least 1.
 */
unsigned forest_cpu_count(void);

/*
 * The CPU quota of this process's cgroup and its ancestors, rounded up to
 * whole CPUs, or 0 when none is set or none can be read.  Reads
 * ROOT/proc/self/cgroup and the files under ROOT/sys/fs/cgroup: cgroup v2's
 * cpu.max, or cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us when the
 * cpu controller is on v1.  root is "" for the real system (tests point it
 * at a directory of their own).
 */
unsigned forest_cgroup_cpu_limit(const char *root);

#ifdef __cplusplus
}
#endif

#endif
