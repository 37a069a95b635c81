/* The harness's view of control groups (sb_groups.c): the mounted hierarchies, the caller's
 * group in each, and the removal of container groups a dead process left behind. */
#ifndef VLAB_SB_GROUPS_H
#define VLAB_SB_GROUPS_H

#include <stdbool.h>
#include <stddef.h>

/* A cgroup or cgroup2 mount, with its super options (the v1 controllers). */
struct sb_hier {
    char mnt[256];
    char opts[256];
    bool v2;
};

/* The cgroup and cgroup2 mounts of this mount namespace, at most max. */
unsigned sb_hierarchies(struct sb_hier *h, unsigned max);
/* This process's group in hierarchy h, as a directory path; false if it has none there. */
bool sb_hier_path(const struct sb_hier *h, char *path, size_t len);
/* Kills what is left in the group at dir and in the groups under it, and removes them all,
 * deepest first (retrying while the kernel finishes the killed tasks). */
void sb_group_remove(const char *dir);
/* Where container groups are looked for in hierarchy h: this process's group, and the
 * hierarchy's top (where a solution that gets its own group wrong makes them, and no later run
 * would look); the number of directories in dirs. */
unsigned sb_hier_dirs(const struct sb_hier *h, char dirs[2][512]);
/* Calls each(path, ctx) for every group under this process's groups, or at the top of their
 * hierarchies, whose name match accepts; how many there were. */
unsigned sb_groups_each(bool (*match)(const char *name, const void *arg), const void *arg,
                        void (*each)(const char *path, void *ctx), void *ctx);
/* Removes every group sb_groups_each finds with match; the number of directories removed. */
unsigned sb_groups_remove_if(bool (*match)(const char *name, const void *arg), const void *arg);
/* Removes every vlab-sb-PID-* group under this process's groups whose PID no longer exists
 * (a vlab-sandbox or test killed by SIGKILL); the number of directories removed. */
unsigned sb_groups_sweep_dead(void);
/* sb_groups_sweep_dead, and the groups named for this process's own pid: for a process that
 * has made none yet, they are an earlier process's that had the pid (pids wrap, at 32768 on
 * many machines), and sb_run would fail to make a group of that name. */
unsigned sb_groups_sweep_stale(void);

#endif
