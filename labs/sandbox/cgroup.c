/* Lab sandbox, Task 3: control groups, v1 and v2, nested under the caller's own group.
 * Read labs/sandbox/README.md (the handout) first; "§n" below refers to its sections, and the
 * interface you implement is harness/sandbox/sandbox.h. `make grade LAB=sandbox` grades it. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Suggested helpers: rename, change or delete them as you like (`static inline` keeps an
 * unused one from tripping -Werror). */

/* §4.1: where the hierarchy holding controller ctrl is mounted (/proc/self/mountinfo: the
 * fstype "cgroup" lines, whose super options name their controllers), and where this process
 * sits in it (/proc/self/cgroup: "ID:CONTROLLERS:PATH"). For v2: fstype "cgroup2" and the
 * line "0::PATH". */
static inline int own_group_dir(const char *ctrl, char *dir, size_t len) {
    (void)ctrl;
    (void)dir;
    (void)len;
    return VLAB_ENOTIMPL; /* TODO */
}

/* Create the group `name` under the caller's own group in each hierarchy you need, then write
 * the limits (§4.1 v1: memory.limit_in_bytes before memory.memsw.limit_in_bytes, pids.max,
 * cpu.cfs_period_us and cpu.cfs_quota_us; §4.2 v2: +memory +pids +cpu in the parent's
 * cgroup.subtree_control, then memory.max, memory.swap.max, pids.max, cpu.max). On any failure
 * remove what you made. sb_write_file() writes one value. */
int sb_cgroup_create(struct sb_cgroup *cg, const char *name, const struct sb_limits *lim) {
    (void)cg;
    (void)name;
    (void)lim;
    (void)own_group_dir;  /* "used", until your code calls it */
    return VLAB_ENOTIMPL; /* TODO: delete this line and write it */
}

/* Write pid to cgroup.procs in every directory of the group. */
int sb_cgroup_attach(struct sb_cgroup *cg, pid_t pid) {
    (void)cg;
    (void)pid;
    return VLAB_ENOTIMPL; /* TODO */
}

/* §4.3: v1 memory.max_usage_in_bytes, memory.oom_control "oom_kill", pids.events "max",
 * cpuacct.usage; v2 memory.peak, memory.events "oom_kill", pids.events "max", cpu.stat
 * "usage_usec". */
int sb_cgroup_usage(struct sb_cgroup *cg, struct sb_usage *u) {
    (void)cg;
    (void)u;
    return VLAB_ENOTIMPL; /* TODO */
}

/* §6.2: kill whatever is left in cgroup.procs (go round: a fork may race the kill), then
 * rmdir each directory (EBUSY until the killed tasks are gone: retry briefly). */
int sb_cgroup_destroy(struct sb_cgroup *cg) {
    (void)cg;
    return VLAB_ENOTIMPL; /* TODO */
}
