/* Lab sandbox: a container runtime from namespaces, cgroups and a copy-on-write root.
 *
 * This is the whole interface between your code (labs/sandbox/sandbox.c and
 * labs/sandbox/cgroup.c) and the tests. You implement sb_run() (Tasks 1, 2, 4, 5) and the
 * sb_cgroup_*() functions (Task 3); the harness builds the image, runs a prober program inside
 * your container and attacks it. The handout is labs/sandbox/README.md; section numbers (§)
 * below refer to it. Everything here needs root (the tests skip with a reason otherwise). */
#ifndef VLAB_SANDBOX_H
#define VLAB_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "vlab/err.h"

/* ---------------------------------------------------------------- Task 3: cgroups (§4) */

/* What a group may use; 0 means "no limit" for each field. */
struct sb_limits {
    uint64_t memory; /* bytes of RAM, swap off: RAM + swap is limited to the same value */
    unsigned pids;   /* tasks (processes and threads) in the group at once */
    double cpus;     /* CPU bandwidth in CPUs: 0.5 = half of one CPU per period */
};

/* What a group used, read just before it is removed. */
struct sb_usage {
    uint64_t mem_peak;  /* bytes: the highest RAM use seen (v1 max_usage, v2 memory.peak) */
    uint64_t oom_kills; /* processes the OOM killer killed in the group */
    uint64_t pids_max;  /* fork/clone calls refused by the pids limit (pids.events "max") */
    uint64_t cpu_ns;    /* CPU time used by the group's tasks, nanoseconds */
};

#define SB_CG_MAX_DIRS 8
#define SB_PATH_MAX    512

/* One control group. Under cgroup v2 it is one directory of the unified hierarchy; under v1 it
 * is one directory per hierarchy you use (memory, pids, cpu and cpuacct may be mounted
 * separately or together). You fill it in sb_cgroup_create(); the harness reads only
 * `version`. */
struct sb_cgroup {
    int version; /* 1 or 2 */
    unsigned n;  /* directories created */
    char dir[SB_CG_MAX_DIRS][SB_PATH_MAX];
    char ctrl[SB_CG_MAX_DIRS][64]; /* the controllers of each directory's hierarchy, yours */
};

/* Creates the group `name` directly under the caller's own group (as /proc/self/cgroup says) in
 * every hierarchy it needs, with the limits in *lim written. Detects v1 or v2 at run time.
 * Returns VLAB_OK, VLAB_EIO when a directory or a limit cannot be written (nothing is left
 * behind then), VLAB_EINVAL for a bad name (empty, with '/', or "." / ".."). */
int sb_cgroup_create(struct sb_cgroup *cg, const char *name, const struct sb_limits *lim);
/* Moves process pid into the group in every hierarchy. VLAB_OK or VLAB_EIO. */
int sb_cgroup_attach(struct sb_cgroup *cg, pid_t pid);
/* Reads what the group has used so far. VLAB_OK or VLAB_EIO. */
int sb_cgroup_usage(struct sb_cgroup *cg, struct sb_usage *u);
/* Kills every process still in the group, waits until it is empty, and removes its
 * directories. VLAB_OK or VLAB_EIO; it tries every directory even after a failure. */
int sb_cgroup_destroy(struct sb_cgroup *cg);

/* ---------------------------------------------------------------- the container (§2-§6) */

/* Capability numbers (linux/capability.h) as a mask: SB_CAP(CAP_KILL). */
#define SB_CAP(c) (UINT64_C(1) << (c))
/* The default set: what a root program usually needs inside and nothing that reaches the host
 * (no SYS_ADMIN, SYS_MODULE, SYS_PTRACE, SYS_RESOURCE, NET_ADMIN, MKNOD, SYS_CHROOT, ...). */
#define SB_CAPS_DEFAULT                                                                            \
    (SB_CAP(0) /* CHOWN */ | SB_CAP(1) /* DAC_OVERRIDE */ | SB_CAP(3) /* FOWNER */ |               \
     SB_CAP(4) /* FSETID */ | SB_CAP(5) /* KILL */ | SB_CAP(6) /* SETGID */ |                      \
     SB_CAP(7) /* SETUID */ | SB_CAP(10) /* NET_BIND_SERVICE */)

struct sb_config {
    const char *rootfs;      /* the image: a directory, never modified (§3) */
    char *const *argv;       /* the program, a path inside the image, and its arguments */
    char *const *envp;       /* its environment; NULL: PATH=/bin:/sbin:/usr/bin, HOME=/ */
    const char *hostname;    /* NULL: "sandbox" */
    struct sb_limits limits; /* §4 */
    bool userns;             /* §2.6: root inside is SB_USERNS_BASE outside (without root:
                                always, and root inside is the caller, §2.8) */
    double timeout;          /* seconds; 0: none. The whole container is killed then (§6) */
    uint64_t caps;           /* capabilities kept (§5.1); SB_CAPS_DEFAULT for most uses */
    int stdin_fd;            /* these become fds 0, 1, 2 in the container; -1: /dev/null */
    int stdout_fd;           /* -1: the caller's stdout */
    int stderr_fd;           /* -1: the caller's stderr */
};

/* A user namespace maps container uids/gids 0..SB_USERNS_COUNT-1 to these host ids. A caller
 * without root may map only its own uid and gid (§2.8): "0 <euid> 1", "0 <egid> 1". */
#define SB_USERNS_BASE  100000u
#define SB_USERNS_COUNT 65536u

/* The rlimits every container gets (§5.4): its program cannot raise them. */
#define SB_RLIMIT_NOFILE 256u

/* How the container ended and what it used. */
struct sb_result {
    bool exited;         /* it exited: `status` is its exit code */
    int status;          /* the exit code (0..255) */
    int signal;          /* else the signal that ended it */
    bool timed_out;      /* the timeout killed it */
    int interrupted;     /* SIGINT, SIGTERM or SIGHUP reached the caller during sb_run: the
                            container was killed and cleaned up, and the signal consumed (§6.3) */
    struct sb_usage use; /* §4.3: read from its group before the group went away */
    double wall;         /* seconds from clone to the last wait */
};

/* Runs cfg->argv in a new container and waits for it (§2-§6): new pid, mount, uts, ipc, net
 * and cgroup namespaces (+ user with cfg->userns, or whenever the caller is not root: §2.8;
 * without root the group is made only when cfg->limits asks for a limit); an overlay root over
 * cfg->rootfs; a group named "vlab-sb-<caller pid>-<n>" with cfg->limits; reduced capabilities,
 * no_new_privs, a seccomp filter, rlimits, only fds 0-2. Whatever happens, every group, mount,
 * process and temporary directory it made is gone when it returns. SIGINT, SIGTERM and SIGHUP sent
 * to the caller while it runs do not kill the caller: they end the container, and sb_run returns
 * VLAB_OK with res->interrupted set to the signal (§6.3).
 * Returns VLAB_OK when the program ran (whatever its status; *res filled), VLAB_EINVAL for a
 * bad config, VLAB_ENOENT when the rootfs is not a directory, VLAB_EIO when setting up failed
 * (a message on stderr says which step). */
int sb_run(const struct sb_config *cfg, struct sb_result *res);

/* ---------------------------------------------------------------- helpers (harness) */

/* Writes the string s to an existing file (a cgroup or /proc file) in one write().
 * 0 or -errno. */
int sb_write_file(const char *path, const char *s);
/* Reads up to len-1 bytes of a file into buf, NUL-terminated. Bytes read or -errno. */
ssize_t sb_read_file(const char *path, char *buf, size_t len);
/* Prints a result the way vlab-sandbox does (one "key: value" line each). */
void sb_result_print(FILE *f, const struct sb_result *r);

#endif
