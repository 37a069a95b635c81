/* Lab sandbox, Task 3: control groups, v1 and v2, nested under the caller's own group.
 * Read labs/sandbox/README.md §4 first; the interface is harness/sandbox/sandbox.h. */
#define _GNU_SOURCE
#include "sandbox.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The v1 controllers a container uses; cpuacct only for the CPU-time report. */
static const char *const v1_ctrls[] = {"memory", "pids", "cpu", "cpuacct"};
#define NV1 (sizeof v1_ctrls / sizeof v1_ctrls[0])

/* Whether the comma-separated list has the word w. */
static bool has_word(const char *list, const char *w) {
    size_t n = strlen(w);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, w, n)) return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* Whether the space-separated list (cgroup.subtree_control) has the word w: "cpuset" is not
 * "cpu". */
static bool has_token(const char *list, const char *w) {
    size_t n = strlen(w);
    for (const char *p = strstr(list, w); p; p = strstr(p + 1, w))
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || !p[n])) return true;
    return false;
}

/* The mount point of the hierarchy of type fstype ("cgroup" or "cgroup2") whose super options
 * name ctrl (ignored for cgroup2), and those options, from /proc/self/mountinfo. */
static bool find_mount(const char *fstype, const char *ctrl, char *mnt, size_t mlen, char *opts,
                       size_t olen) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        /* id parent maj:min root mountpoint options [optional...] - fstype source superopts */
        char *sep = strstr(line, " - ");
        if (!sep) continue;
        char mp[256], type[64], src[256], sopts[512];
        if (sscanf(line, "%*s %*s %*s %*s %255s", mp) != 1) continue;
        if (sscanf(sep + 3, "%63s %255s %511s", type, src, sopts) != 3) continue;
        if (strcmp(type, fstype)) continue;
        if (ctrl && !has_word(sopts, ctrl)) continue;
        snprintf(mnt, mlen, "%s", mp);
        if (opts) snprintf(opts, olen, "%s", sopts);
        found = true;
    }
    fclose(f);
    return found;
}

/* The caller's path in the hierarchy whose /proc/self/cgroup controller field is exactly
 * `field` (v1: "cpu" or "cpu,cpuacct"; v2: ""). */
static bool own_path(const char *field, char *path, size_t len) {
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f) return false;
    char line[1024];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        if (strcmp(c1 + 1, field)) continue;
        snprintf(path, len, "%s", c2 + 1);
        found = true;
    }
    fclose(f);
    return found;
}

static int put(const char *dir, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int put(const char *dir, const char *file, const char *fmt, ...) {
    char path[SB_PATH_MAX + 64], val[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int rc = sb_write_file(path, val);
    if (rc) fprintf(stderr, "sandbox: writing %s to %s: %s\n", val, path, strerror(-rc));
    return rc;
}

/* The number after `key` in a "key value" file, or 0. */
static uint64_t get_key(const char *dir, const char *file, const char *key) {
    char path[SB_PATH_MAX + 64], buf[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (sb_read_file(path, buf, sizeof buf) < 0) return 0;
    size_t n = strlen(key);
    for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, n) && p[n] == ' ') return strtoull(p + n + 1, NULL, 10);
    return 0;
}

static uint64_t get_num(const char *dir, const char *file, bool *ok) {
    char path[SB_PATH_MAX + 64], buf[64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (sb_read_file(path, buf, sizeof buf) < 0) {
        if (ok) *ok = false;
        return 0;
    }
    if (ok) *ok = true;
    return strtoull(buf, NULL, 10);
}

static bool valid_name(const char *name) {
    return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

static int add_dir(struct sb_cgroup *cg, const char *mnt, const char *own, const char *name,
                   const char *ctrl) {
    char *d = cg->dir[cg->n];
    int len = snprintf(d, SB_PATH_MAX, "%s%s/%s", mnt, strcmp(own, "/") ? own : "", name);
    if (len >= SB_PATH_MAX) return VLAB_EINVAL;
    if (mkdir(d, 0755)) {
        fprintf(stderr, "sandbox: mkdir %s: %s\n", d, strerror(errno));
        return VLAB_EIO;
    }
    snprintf(cg->ctrl[cg->n], sizeof cg->ctrl[0], "%s", ctrl);
    cg->n++;
    return VLAB_OK;
}

static const char *dir_with(struct sb_cgroup *cg, const char *ctrl) {
    for (unsigned i = 0; i < cg->n; i++)
        if (cg->version == 2 || has_word(cg->ctrl[i], ctrl)) return cg->dir[i];
    return NULL;
}

/* §4.1 v1: one directory per hierarchy; the memory limit first, then memory+swap (the kernel
 * refuses memsw below the plain limit). */
static int create_v1(struct sb_cgroup *cg, const char *name, const struct sb_limits *lim) {
    for (size_t i = 0; i < NV1; i++) {
        char mnt[256], opts[512], own[256];
        if (!find_mount("cgroup", v1_ctrls[i], mnt, sizeof mnt, opts, sizeof opts)) continue;
        if (dir_with(cg, v1_ctrls[i])) continue; /* co-mounted with one already made */
        /* /proc/self/cgroup names the hierarchy by its controllers, in the mount's order */
        char field[256] = "";
        for (char *tok = strtok(opts, ","); tok; tok = strtok(NULL, ",")) {
            bool ctl = false;
            for (size_t j = 0; j < NV1 && !ctl; j++)
                ctl = !strcmp(tok, v1_ctrls[j]);
            if (!ctl && strcmp(tok, "cpuset") && strcmp(tok, "blkio") && strcmp(tok, "devices") &&
                strcmp(tok, "freezer") && strcmp(tok, "net_cls") && strcmp(tok, "net_prio") &&
                strcmp(tok, "perf_event") && strcmp(tok, "hugetlb") && strcmp(tok, "rdma") &&
                strcmp(tok, "misc"))
                continue;
            if (*field) strcat(field, ",");
            strncat(field, tok, sizeof field - strlen(field) - 1);
        }
        if (!own_path(field, own, sizeof own)) continue;
        int rc = add_dir(cg, mnt, own, name, field);
        if (rc) return rc;
    }
    const char *d;
    if (lim->memory) {
        if (!(d = dir_with(cg, "memory"))) return VLAB_EIO;
        if (put(d, "memory.limit_in_bytes", "%" PRIu64, lim->memory) ||
            put(d, "memory.memsw.limit_in_bytes", "%" PRIu64, lim->memory))
            return VLAB_EIO;
    }
    if (lim->pids) {
        if (!(d = dir_with(cg, "pids"))) return VLAB_EIO;
        if (put(d, "pids.max", "%u", lim->pids)) return VLAB_EIO;
    }
    if (lim->cpus > 0) {
        if (!(d = dir_with(cg, "cpu"))) return VLAB_EIO;
        if (put(d, "cpu.cfs_period_us", "100000") ||
            put(d, "cpu.cfs_quota_us", "%.0f", lim->cpus * 100000))
            return VLAB_EIO;
    }
    return VLAB_OK;
}

/* §4.2 v2: one directory; the parent must hand the controllers down (subtree_control). */
static int create_v2(struct sb_cgroup *cg, const char *name, const struct sb_limits *lim) {
    char mnt[256], own[256], parent[SB_PATH_MAX], path[SB_PATH_MAX + 32], have[256];
    if (!find_mount("cgroup2", NULL, mnt, sizeof mnt, NULL, 0) || !own_path("", own, sizeof own))
        return VLAB_EIO;
    snprintf(parent, sizeof parent, "%s%s", mnt, strcmp(own, "/") ? own : "");
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", parent);
    if (sb_read_file(path, have, sizeof have) < 0) return VLAB_EIO;
    const char *need[] = {"memory", "pids", "cpu"};
    for (size_t i = 0; i < 3; i++) {
        char want[32];
        if (has_token(have, need[i])) continue;
        snprintf(want, sizeof want, "+%s", need[i]);
        int rc = sb_write_file(path, want);
        if (rc) {
            fprintf(stderr, "sandbox: cannot enable %s in %s: %s (%s; see handout §4.2)\n", need[i],
                    path, strerror(-rc),
                    rc == -EBUSY ? "a v2 group with processes in it cannot hand controllers "
                                   "down: run from a delegated group"
                                 : "the controller is not available in this hierarchy");
            return VLAB_EIO;
        }
    }
    int rc = add_dir(cg, mnt, own, name, "memory,pids,cpu");
    if (rc) return rc;
    const char *d = cg->dir[0];
    if (lim->memory &&
        (put(d, "memory.max", "%" PRIu64, lim->memory) || put(d, "memory.swap.max", "0")))
        return VLAB_EIO;
    if (lim->pids && put(d, "pids.max", "%u", lim->pids)) return VLAB_EIO;
    if (lim->cpus > 0 && put(d, "cpu.max", "%.0f 100000", lim->cpus * 100000)) return VLAB_EIO;
    return VLAB_OK;
}

int sb_cgroup_create(struct sb_cgroup *cg, const char *name, const struct sb_limits *lim) {
    memset(cg, 0, sizeof *cg);
    if (!valid_name(name) || !lim) return VLAB_EINVAL;
    char mnt[256];
    /* v1 wherever a v1 memory hierarchy exists (hybrid hosts keep controllers there) */
    cg->version = find_mount("cgroup", "memory", mnt, sizeof mnt, NULL, 0) ? 1 : 2;
    int rc = cg->version == 1 ? create_v1(cg, name, lim) : create_v2(cg, name, lim);
    if (rc == VLAB_OK && cg->n == 0) rc = VLAB_EIO;
    if (rc) {
        sb_cgroup_destroy(cg);
        memset(cg, 0, sizeof *cg);
    }
    return rc;
}

int sb_cgroup_attach(struct sb_cgroup *cg, pid_t pid) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d", (int)pid);
    for (unsigned i = 0; i < cg->n; i++)
        if (put(cg->dir[i], "cgroup.procs", "%s", buf)) return VLAB_EIO;
    return VLAB_OK;
}

int sb_cgroup_usage(struct sb_cgroup *cg, struct sb_usage *u) {
    memset(u, 0, sizeof *u);
    const char *d;
    bool ok = true;
    if (cg->version == 2) {
        d = cg->dir[0];
        bool have_peak;
        u->mem_peak = get_num(d, "memory.peak", &have_peak); /* Linux 5.19+ */
        if (!have_peak) u->mem_peak = get_num(d, "memory.current", &ok);
        u->oom_kills = get_key(d, "memory.events", "oom_kill");
        u->pids_max = get_key(d, "pids.events", "max");
        u->cpu_ns = get_key(d, "cpu.stat", "usage_usec") * 1000;
        return ok ? VLAB_OK : VLAB_EIO;
    }
    if ((d = dir_with(cg, "memory"))) {
        u->mem_peak = get_num(d, "memory.max_usage_in_bytes", &ok);
        u->oom_kills = get_key(d, "memory.oom_control", "oom_kill");
    }
    if ((d = dir_with(cg, "pids"))) u->pids_max = get_key(d, "pids.events", "max");
    if ((d = dir_with(cg, "cpuacct"))) u->cpu_ns = get_num(d, "cpuacct.usage", NULL);
    return ok ? VLAB_OK : VLAB_EIO;
}

/* SIGKILLs every process listed in dir/cgroup.procs; returns how many were listed. */
static int kill_listed(const char *dir) {
    char path[SB_PATH_MAX + 32], buf[8192];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    if (sb_read_file(path, buf, sizeof buf) <= 0) return 0;
    int n = 0;
    for (char *p = strtok(buf, "\n"); p; p = strtok(NULL, "\n"), n++)
        kill((pid_t)atoi(p), SIGKILL);
    return n;
}

int sb_cgroup_destroy(struct sb_cgroup *cg) {
    int rc = VLAB_OK;
    for (unsigned i = cg->n; i-- > 0;) {
        const char *d = cg->dir[i];
        /* a fork racing the kill lands in the group: go round until nobody is left, and let
         * the rmdir retry while the killed tasks finish exiting */
        for (int tries = 0; tries < 2000; tries++) {
            kill_listed(d);
            if (!rmdir(d) || errno == ENOENT) break;
            if (errno != EBUSY) {
                fprintf(stderr, "sandbox: rmdir %s: %s\n", d, strerror(errno));
                rc = VLAB_EIO;
                break;
            }
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
        struct stat st;
        if (!stat(d, &st)) {
            fprintf(stderr, "sandbox: %s is still there\n", d);
            rc = VLAB_EIO;
        }
    }
    cg->n = 0;
    return rc;
}
