/* Task 3: the sb_cgroup_* functions on their own: the group is where it should be, with the
 * limits written, processes go into it, its usage is read, and it goes away with everything
 * in it. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sb_groups.h"
#include "sb_test.h"

/* Which version the machine offers the tests' way: v1 wherever a v1 memory hierarchy is. */
static int machine_version(void) {
    char p[512];
    return sbt_own_group("memory", p, sizeof p) ? 1 : 2;
}

static void group_dir(const char *ctrl, const char *name, char *dir, size_t len) {
    char own[512] = "";
    int v = machine_version();
    cr_assert(sbt_own_group(v == 1 ? ctrl : NULL, own, sizeof own),
              "harness: no cgroup hierarchy for %s found", ctrl ? ctrl : "v2");
    snprintf(dir, len, "%s/%s", own, name);
}

static bool is_dir(const char *p) {
    struct stat st;
    return !stat(p, &st) && S_ISDIR(st.st_mode);
}

static void cg_name(char *buf, size_t len, const char *what) {
    snprintf(buf, len, "vlab-sb-%d-%s", (int)getpid(), what);
}

static void expect_num(const char *dir, const char *file, unsigned long long want,
                       const char *sec) {
    unsigned long long v = 0;
    bool ok = sbt_read_num(dir, file, &v);
    cr_expect(ok && v == want, "%s/%s: expected %llu, %s %llu %s", dir, file, want,
              ok ? "got" : "cannot read it, got", v, sec);
}

/* The caller's open file descriptors (the listing's own counted in every call alike). */
static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void create_ok(struct sb_cgroup *cg, const char *name, const struct sb_limits *lim) {
    int rc = sb_cgroup_create(cg, name, lim);
    if (rc == VLAB_ENOTIMPL)
        cr_assert_fail("sb_cgroup_create: not implemented (labs/sandbox/cgroup.c)");
    cr_assert(rc == VLAB_OK, "sb_cgroup_create(\"%s\"): expected VLAB_OK, got %d (%s) %s", name, rc,
              vlab_strerror(rc), SB_SEC_CG1);
}

Test(sandbox, cg_create_limits, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_need_groups(&t);
    char name[64];
    cg_name(name, sizeof name, "limits");
    struct sb_cgroup cg;
    struct sb_limits lim = {.memory = 32u << 20, .pids = 16, .cpus = 0.5};
    int fds = open_fds();
    create_ok(&cg, name, &lim);
    int v = machine_version();
    cr_expect(cg.version == v, "cgroup version: expected %d on this machine, got %d %s", v,
              cg.version, SB_SEC_CG1);
    char mem[600], pids[600], cpu[600];
    group_dir("memory", name, mem, sizeof mem);
    group_dir("pids", name, pids, sizeof pids);
    group_dir("cpu", name, cpu, sizeof cpu);
    cr_expect(is_dir(mem) && is_dir(pids) && is_dir(cpu),
              "the group should be a directory under the caller's own group in each hierarchy: "
              "memory %s, pids %s, cpu %s %s",
              is_dir(mem) ? "yes" : "missing", is_dir(pids) ? "yes" : "missing",
              is_dir(cpu) ? "yes" : "missing", v == 1 ? SB_SEC_CG1 : SB_SEC_CG2);
    if (v == 1) {
        expect_num(mem, "memory.limit_in_bytes", lim.memory, SB_SEC_CG1);
        expect_num(mem, "memory.memsw.limit_in_bytes", lim.memory,
                   "(RAM + swap limited to the memory limit: swap off) " SB_SEC_CG1);
        expect_num(pids, "pids.max", lim.pids, SB_SEC_CG1);
        unsigned long long q = 0, per = 0;
        sbt_read_num(cpu, "cpu.cfs_quota_us", &q);
        sbt_read_num(cpu, "cpu.cfs_period_us", &per);
        cr_expect(per && q * 2 == per,
                  "cpu.cfs_quota_us / cpu.cfs_period_us should be 0.5 for cpus = 0.5, got %llu / "
                  "%llu %s",
                  q, per, SB_SEC_CG1);
    } else {
        expect_num(mem, "memory.max", lim.memory, SB_SEC_CG2);
        expect_num(mem, "memory.swap.max", 0, "(swap off) " SB_SEC_CG2);
        expect_num(pids, "pids.max", lim.pids, SB_SEC_CG2);
        char p[700], buf[64] = "";
        snprintf(p, sizeof p, "%s/cpu.max", cpu);
        sb_read_file(p, buf, sizeof buf);
        unsigned long long q = 0, per = 0;
        cr_expect(sscanf(buf, "%llu %llu", &q, &per) == 2 && per && q * 2 == per,
                  "cpu.max should say half a CPU (\"50000 100000\"), got \"%s\" %s", buf,
                  SB_SEC_CG2);
    }
    int rc = sb_cgroup_destroy(&cg);
    cr_expect(rc == VLAB_OK, "sb_cgroup_destroy: expected VLAB_OK, got %d (%s) %s", rc,
              vlab_strerror(rc), SB_SEC_CLEAN);
    cr_expect(!is_dir(mem) && !is_dir(pids) && !is_dir(cpu),
              "after sb_cgroup_destroy the group's directories should be gone %s", SB_SEC_CLEAN);
    /* sb_run creates a group per container: a file left open each time runs a long-lived
     * caller out of descriptors */
    int now = open_fds();
    cr_expect(now == fds,
              "sb_cgroup_create and _destroy should close every file they open: %d descriptors "
              "open before, %d after %s",
              fds, now, SB_SEC_CG1);
    sbt_fini(&t);
}

/* A group whose path is SB_PATH_MAX characters does not fit struct sb_cgroup's dir (its NUL has
 * no room): refused, with nothing made (snprintf would have cut the name by one character, and
 * mkdir made a group of another name); one character shorter fits. cgroup v1 only: the caller
 * moves itself into a deep group in each hierarchy to make the paths that long, and under v2 a
 * group with a process in it cannot hand controllers down. From a child of the test, which
 * reports "RC LEFT RC": the 512-character create's result, the directories it left, the
 * 511-character one's result. */
#define DEEP_MAX 8

/* prefix, then c up to total characters */
static void fill(char *buf, const char *prefix, char c, size_t total) {
    size_t l = strlen(prefix);
    memcpy(buf, prefix, l);
    memset(buf + l, c, total - l);
    buf[total] = 0;
}
struct deep {
    char levels[DEEP_MAX][SB_PATH_MAX];
    unsigned n;
};

static void path_limit(const char *prefix, char *got, size_t len) {
    struct sb_hier h[16];
    unsigned nh = sb_hierarchies(h, 16), nd = 0;
    static struct deep d[16];
    char name[256];
    /* a long name (250 characters; name[249] = 0 makes it 249), so that the caller's own path
     * stays short (its line in /proc/self/cgroup fits a 256-byte buffer) */
    fill(name, prefix, 'l', 250);
    for (unsigned i = 0; i < nh; i++) {
        if (h[i].v2 || !(sbt_list_has(h[i].opts, "memory") || sbt_list_has(h[i].opts, "pids") ||
                         sbt_list_has(h[i].opts, "cpu") || sbt_list_has(h[i].opts, "cpuacct")))
            continue;
        char own[SB_PATH_MAX];
        if (!sb_hier_path(&h[i], own, sizeof own)) continue;
        struct deep *dp = &d[nd++];
        dp->n = 0;
        size_t want = SB_PATH_MAX - 1 - strlen(name), at = strlen(own);
        char path[SB_PATH_MAX];
        snprintf(path, sizeof path, "%s", own);
        for (unsigned k = 0; at < want && k < DEEP_MAX; k++) {
            size_t left = want - at, take = left > 201 ? 200 : left - 1;
            if (left > 201 && left - 201 < 2) take = 150; /* never leave just "/" */
            char comp[256];
            /* the top one named for the sweep of groups a dead test left (sb_test.h) */
            fill(comp, k == 0 && take > strlen(prefix) ? prefix : "", 'd', take);
            size_t l = strlen(path);
            snprintf(path + l, sizeof path - l, "/%s", comp);
            at = strlen(path);
            mkdir(path, 0755);
            snprintf(dp->levels[dp->n++], SB_PATH_MAX, "%s", path);
        }
    }
    fflush(NULL);
    int rp[2];
    cr_assert(!pipe(rp), "harness: pipe failed");
    pid_t c = fork();
    if (c == 0) {
        char pid[32];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        for (unsigned i = 0; i < nd; i++) {
            char procs[SB_PATH_MAX + 32];
            snprintf(procs, sizeof procs, "%s/cgroup.procs", d[i].levels[d[i].n - 1]);
            if (d[i].n == 0 || strlen(d[i].levels[d[i].n - 1]) + 1 + strlen(name) != SB_PATH_MAX ||
                sb_write_file(procs, pid))
                _exit(2);
        }
        struct sb_limits lim = {.pids = 8};
        struct sb_cgroup cg;
        int rc1 = sb_cgroup_create(&cg, name, &lim);
        if (rc1 == VLAB_OK) sb_cgroup_destroy(&cg);
        unsigned left = 0;
        for (unsigned i = 0; i < nd; i++) {
            DIR *dir = opendir(d[i].levels[d[i].n - 1]);
            for (struct dirent *e; dir && (e = readdir(dir));)
                left += e->d_type == DT_DIR && e->d_name[0] != '.';
            if (dir) closedir(dir);
        }
        name[249] = 0;
        int rc2 = sb_cgroup_create(&cg, name, &lim);
        if (rc2 == VLAB_OK) sb_cgroup_destroy(&cg);
        dprintf(rp[1], "%d %u %d", rc1, left, rc2);
        _exit(0);
    }
    close(rp[1]);
    sbt_child_report(c, rp[0], got, len);
    /* the child is gone: its deep groups are empty; whatever a broken create left goes first */
    for (unsigned i = 0; i < nd; i++)
        for (unsigned k = d[i].n; k-- > 0;) {
            DIR *dir = opendir(d[i].levels[k]);
            for (struct dirent *e; dir && (e = readdir(dir));)
                if (e->d_type == DT_DIR && e->d_name[0] != '.') {
                    char sub[SB_PATH_MAX + 300];
                    snprintf(sub, sizeof sub, "%s/%s", d[i].levels[k], e->d_name);
                    if (strlen(sub) >= SB_PATH_MAX - 1 || k == d[i].n - 1) sb_group_remove(sub);
                }
            if (dir) closedir(dir);
            rmdir(d[i].levels[k]);
        }
}

Test(sandbox, cg_bad_name, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_need_groups(&t);
    struct sb_limits lim = {.pids = 8};
    const char *bad[] = {"", "a/b", ".", ".."};
    for (int i = 0; i < 4; i++) {
        struct sb_cgroup cg;
        int rc = sb_cgroup_create(&cg, bad[i], &lim);
        cr_expect(rc == VLAB_EINVAL,
                  "sb_cgroup_create(\"%s\"): expected VLAB_EINVAL, got %d (%s) %s", bad[i], rc,
                  vlab_strerror(rc), SB_SEC_CG1);
        if (rc == VLAB_OK) sb_cgroup_destroy(&cg);
    }
    /* a limit the kernel refuses (a CPU quota under its 1 ms minimum), written after the
     * directories were made: the error, and none of them left behind */
    char name[64], dir[600];
    cg_name(name, sizeof name, "refused");
    struct sb_limits tiny = {.memory = 32u << 20, .pids = 8, .cpus = 0.001};
    struct sb_cgroup cg;
    int rc = sb_cgroup_create(&cg, name, &tiny);
    cr_expect(rc != VLAB_OK,
              "sb_cgroup_create with cpus = 0.001 (a quota of 100 us, under the kernel's 1 ms "
              "minimum): expected an error, got VLAB_OK %s",
              SB_SEC_CG1);
    if (rc == VLAB_OK) sb_cgroup_destroy(&cg);
    static const char *const ctrl[] = {"memory", "pids", "cpu"};
    for (int i = 0; i < 3; i++) {
        group_dir(ctrl[i], name, dir, sizeof dir);
        cr_expect(!is_dir(dir),
                  "sb_cgroup_create failed (the kernel refused the CPU quota) but left %s behind: "
                  "on an error, remove every directory it made %s",
                  dir, SB_SEC_CG1);
    }
    if (machine_version() == 1 && !t.rootless) {
        char prefix[64], got[128] = "";
        snprintf(prefix, sizeof prefix, "vlab-sb-%d-", (int)getpid());
        path_limit(prefix, got, sizeof got);
        int rc1 = 0, rc2 = 0;
        unsigned left = 0;
        cr_assert(sscanf(got, "%d %u %d", &rc1, &left, &rc2) == 3,
                  "harness: could not move a child of the test into groups deep enough");
        cr_expect(rc1 == VLAB_EINVAL || rc1 == VLAB_EIO,
                  "sb_cgroup_create of a group whose path is %d characters (it does not fit "
                  "SB_PATH_MAX with its NUL): expected VLAB_EINVAL or VLAB_EIO, got %d (%s): "
                  "check snprintf's result %s",
                  SB_PATH_MAX, rc1, vlab_strerror(rc1), SB_SEC_CG1);
        cr_expect(left == 0,
                  "sb_cgroup_create of a group whose path is %d characters left %u "
                  "director%s behind (a name cut short by snprintf?) %s",
                  SB_PATH_MAX, left, left == 1 ? "y" : "ies", SB_SEC_CG1);
        cr_expect(rc2 == VLAB_OK,
                  "sb_cgroup_create of a group whose path is %d characters (it fits): expected "
                  "VLAB_OK, got %d (%s) %s",
                  SB_PATH_MAX - 1, rc2, vlab_strerror(rc2), SB_SEC_CG1);
    }
    sbt_fini(&t);
}

/* The line of /proc/PID/cgroup for the hierarchy whose field has ctrl ("" for v2). */
static bool proc_group(pid_t pid, const char *ctrl, char *path, size_t len) {
    char p[64], buf[4096];
    snprintf(p, sizeof p, "/proc/%d/cgroup", (int)pid);
    if (sb_read_file(p, buf, sizeof buf) <= 0) return false;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        if (*ctrl ? !sbt_list_has(c1 + 1, ctrl) : c1[1] != 0) continue;
        snprintf(path, len, "%s", c2 + 1);
        return true;
    }
    return false;
}

Test(sandbox, cg_attach_nested, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_need_groups(&t);
    char name[64];
    cg_name(name, sizeof name, "attach");
    struct sb_cgroup cg;
    struct sb_limits lim = {.memory = 64u << 20, .pids = 8, .cpus = 1};
    create_ok(&cg, name, &lim);
    pid_t kid = fork();
    cr_assert(kid >= 0, "harness: fork failed");
    if (kid == 0) {
        for (;;)
            pause();
    }
    int rc = sb_cgroup_attach(&cg, kid);
    cr_expect(rc == VLAB_OK, "sb_cgroup_attach: expected VLAB_OK, got %d (%s) %s", rc,
              vlab_strerror(rc), SB_SEC_CG1);
    int v = machine_version();
    const char *ctrls[] = {"memory", "pids", "cpu"};
    for (int i = 0; i < (v == 1 ? 3 : 1); i++) {
        const char *c = v == 1 ? ctrls[i] : "";
        char mine[512] = "?", its[512] = "?", want[700];
        proc_group(getpid(), c, mine, sizeof mine);
        proc_group(kid, c, its, sizeof its);
        snprintf(want, sizeof want, "%s/%s", strcmp(mine, "/") ? mine : "", name);
        cr_expect_str_eq(its, want,
                         "the attached process's %s group: expected %s (nested under the "
                         "caller's own %s), got %s %s",
                         v == 1 ? c : "v2", want, mine, its, v == 1 ? SB_SEC_CG1 : SB_SEC_CG2);
    }
    /* destroy with a live process inside: it must be killed, then the group removed */
    rc = sb_cgroup_destroy(&cg);
    cr_expect(rc == VLAB_OK,
              "sb_cgroup_destroy with a process inside: expected VLAB_OK, got %d "
              "(%s) %s",
              rc, vlab_strerror(rc), SB_SEC_CLEAN);
    int st = 0;
    struct timespec ts = {0, 2000000};
    pid_t w = 0;
    for (int i = 0; i < 500 && !(w = waitpid(kid, &st, WNOHANG)); i++)
        nanosleep(&ts, NULL);
    if (w == 0) {
        kill(kid, SIGKILL);
        waitpid(kid, &st, 0);
    }
    cr_expect(w == kid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
              "sb_cgroup_destroy should SIGKILL the process left in the group; it %s %s",
              w == kid ? "ended otherwise" : "was still running", SB_SEC_CLEAN);
    sbt_fini(&t);
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

Test(sandbox, cg_usage, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_need_groups(&t);
    char name[64];
    cg_name(name, sizeof name, "usage");
    struct sb_cgroup cg;
    struct sb_limits lim = {.memory = 64u << 20, .pids = 8};
    create_ok(&cg, name, &lim);
    int go[2];
    cr_assert(!pipe(go), "harness: pipe");
    pid_t kid = fork();
    cr_assert(kid >= 0, "harness: fork failed");
    if (kid == 0) {
        char c;
        if (read(go[0], &c, 1) != 1) _exit(1);
        size_t n = 12u << 20;
        volatile char *p = malloc(n);
        for (size_t i = 0; p && i < n; i += 4096)
            p[i] = 1;
        double t0 = cpu_now();
        volatile unsigned long x = 0;
        while (cpu_now() - t0 < 0.1)
            x++;
        _exit(0);
    }
    int rc = sb_cgroup_attach(&cg, kid);
    cr_expect(rc == VLAB_OK, "sb_cgroup_attach: got %d (%s) %s", rc, vlab_strerror(rc), SB_SEC_CG1);
    cr_assert(write(go[1], "g", 1) == 1, "harness: write");
    int st;
    waitpid(kid, &st, 0);
    close(go[0]);
    close(go[1]);
    struct sb_usage u;
    memset(&u, 0xff, sizeof u);
    rc = sb_cgroup_usage(&cg, &u);
    cr_expect(rc == VLAB_OK, "sb_cgroup_usage: expected VLAB_OK, got %d (%s) %s", rc,
              vlab_strerror(rc), SB_SEC_CGUSE);
    cr_expect(u.mem_peak >= (12u << 20) && u.mem_peak <= lim.memory,
              "memory peak: the process touched 12 MiB under a 64 MiB limit, the group reports "
              "%.1f MiB %s",
              (double)u.mem_peak / (1 << 20), SB_SEC_CGUSE);
    cr_expect(u.cpu_ns >= 80000000ull && u.cpu_ns < 5000000000ull,
              "cpu time: the process burned 0.1 s of CPU, the group reports %.3f s %s",
              (double)u.cpu_ns * 1e-9, SB_SEC_CGUSE);
    cr_expect(u.oom_kills == 0 && u.pids_max == 0,
              "nothing hit a limit, yet the group reports %llu OOM kills and %llu pids-limit "
              "hits %s",
              (unsigned long long)u.oom_kills, (unsigned long long)u.pids_max, SB_SEC_CGUSE);
    /* the group removed behind its back (it is empty now): its files cannot be read, and
     * usage says so rather than report numbers it never read */
    struct sb_hier h[16];
    unsigned nh = sb_hierarchies(h, 16), gone = 0;
    for (unsigned i = 0; i < nh; i++) {
        char own[512], dir[700];
        if (!sb_hier_path(&h[i], own, sizeof own)) continue;
        snprintf(dir, sizeof dir, "%s/%s", own, name);
        gone += !rmdir(dir);
    }
    cr_assert(gone > 0, "harness: could not remove the group %s", name);
    memset(&u, 0, sizeof u);
    rc = sb_cgroup_usage(&cg, &u);
    cr_expect(rc == VLAB_EIO,
              "sb_cgroup_usage of a group whose directories are gone: expected VLAB_EIO (its "
              "files cannot be read), got %d (%s) %s",
              rc, vlab_strerror(rc), SB_SEC_CGUSE);
    sb_cgroup_destroy(&cg);
    sbt_fini(&t);
}
