/* The shared test machinery (sb_test.h). */
#define _GNU_SOURCE
#include "sb_test.h"

#include "sb_groups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned count_lines(const char *path) {
    FILE *f = fopen(path, "re");
    if (!f) return 0;
    unsigned n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static bool cgroups_usable(char *why, size_t len);
static void sweep(bool own);

/* Whether this process may make a user namespace without root: the kernel's settings
 * (user.max_user_namespaces, Debian's kernel.unprivileged_userns_clone, Ubuntu's AppArmor
 * restriction) decide; why not in why. */
static bool userns_usable(char *why, size_t len) {
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) ? errno : 0);
    int st = 0;
    if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st)) {
        snprintf(why, len, "harness: cannot fork to probe user namespaces");
        return false;
    }
    if (WEXITSTATUS(st)) {
        snprintf(why, len, "unshare(CLONE_NEWUSER) as uid %d: %s", (int)geteuid(),
                 strerror(WEXITSTATUS(st)));
        return false;
    }
    return true;
}

void sbt_init(struct sbt *t) {
    memset(t, 0, sizeof *t);
    char why[600];
    if (geteuid() != 0) {
        /* the container in a user namespace of the caller's own uid, as bubblewrap and
         * rootless podman run (§2.8); the test's mount namespace stays the caller's, which a
         * container's mount cannot reach from its less privileged one */
        if (!userns_usable(why, sizeof why))
            cr_skip_test("needs root, or unprivileged user namespaces, which this machine "
                         "refuses (%s): run `sudo make grade LAB=sandbox`, or in the test VM "
                         "(handout §1.5)",
                         why);
        t->rootless = true;
    } else if (unshare(CLONE_NEWNS)) {
        /* A mount namespace of the test's own, shared within itself only (private first, to
         * cut it from the host's peer groups): a container mount that is not private then
         * propagates here and shows in the cleanup check, and dies with the test either way. */
        cr_skip_test("this machine refuses new mount namespaces even to root (%s): an "
                     "unprivileged container? (handout §1.5)",
                     strerror(errno));
    }
    /* what earlier runs that died on an assertion left behind, and groups named for this pid
     * when an earlier process had it (pids wrap) */
    sweep(false);
    t->groups = cgroups_usable(t->no_groups, sizeof t->no_groups);
    if (!t->groups && !t->rootless) cr_skip_test("%s (handout §1.5, §4.2)", t->no_groups);
    if (!t->rootless) {
        cr_assert(!mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL),
                  "harness: making / private: %s", strerror(errno));
        cr_assert(!mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL), "harness: making / shared: %s",
                  strerror(errno));
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(t->tmp, sizeof t->tmp, "%s", tmp && *tmp ? tmp : "/tmp");
    if (sb_find_prober(t->prober, sizeof t->prober)) cr_assert_fail("harness: %s", t->prober);
    snprintf(t->image, sizeof t->image, "%s/sbimg-%d", t->tmp, (int)getpid());
    sb_tree_remove(t->image);
    int rc = sb_image_build(t->image, t->prober);
    cr_assert(rc == 0, "harness: building the image in %s: %s", t->image, strerror(-rc));
    t->mounts = count_lines("/proc/self/mountinfo");
    t->cfg = (struct sb_config){
        .rootfs = t->image,
        .caps = SB_CAPS_DEFAULT,
        .timeout = 5,
        .stdin_fd = -1,
    };
}

void sbt_need_root(struct sbt *t, const char *why) {
    if (!t->rootless) return;
    sb_tree_remove(t->image);
    cr_skip_test("without root: %s (handout §1.5)", why);
}

void sbt_need_groups(struct sbt *t) {
    if (t->groups) return;
    sb_tree_remove(t->image);
    cr_skip_test("limits need control groups, and without root a delegated cgroup v2 "
                 "subtree: %s (handout §1.5, §4.2)",
                 t->no_groups);
}

/* Children of this process still alive or unreaped, from /proc. */
static unsigned children(char *buf, size_t len) {
    unsigned n = 0;
    size_t used = 0;
    buf[0] = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300], st[512];
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        if (sb_read_file(p, st, sizeof st) <= 0) continue;
        char *rp = strrchr(st, ')');
        int ppid = 0;
        if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1 || ppid != getpid()) continue;
        n++;
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, " %s", e->d_name);
    }
    if (d) closedir(d);
    return n;
}

void sbt_fini(struct sbt *t) {
    char buf[2048];
    char prefix[64];
    snprintf(prefix, sizeof prefix, "vlab-sb-%d-", (int)getpid());
    unsigned g = sbt_find_groups(prefix, buf, sizeof buf);
    cr_expect(g == 0, "cleanup: expected no control group left behind, found %u:%s %s", g, buf,
              SB_SEC_CLEAN);
    if (g) sweep(true); /* the check failed; the machine still gets its groups back */
    unsigned m = count_lines("/proc/self/mountinfo");
    cr_expect(m == t->mounts,
              "cleanup: expected %u mounts in the caller's mount namespace as before the run, "
              "found %u: a mount leaked out of the container (not private?) or was left "
              "behind %s",
              t->mounts, m, SB_SEC_MNT);
    unsigned c = children(buf, sizeof buf);
    cr_expect(c == 0, "cleanup: expected no process of the container left, found %u:%s %s", c, buf,
              SB_SEC_CLEAN);
    DIR *d = opendir(t->tmp);
    struct dirent *e;
    unsigned left = 0;
    size_t used = 0;
    buf[0] = 0;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, "vlab-sb-", 8)) continue;
        left++;
        used += (size_t)snprintf(buf + used, used < sizeof buf ? sizeof buf - used : 0, " %s",
                                 e->d_name);
    }
    if (d) closedir(d);
    cr_expect(left == 0,
              "cleanup: expected no vlab-sb-* temporary directory left in %s, found:%s %s", t->tmp,
              buf, SB_SEC_CLEAN);
    /* a leaked mount would keep the image busy: detach whatever is under it first */
    sb_tree_remove(t->image);
}

static void slurp(int fd, char *buf, size_t len) {
    lseek(fd, 0, SEEK_SET);
    size_t got = 0;
    ssize_t n;
    while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = 0;
}

pid_t sbt_wait_until(pid_t who, int *st, const struct timespec *deadline) {
    for (;;) {
        pid_t w = waitpid(who, st, __WALL | WNOHANG);
        if (w) return w;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > deadline->tv_sec ||
            (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec))
            return 0;
        nanosleep(&(struct timespec){0, 50000}, NULL);
    }
}

pid_t sbt_trace_caller(const struct sb_config *cfg, int *result, const struct timespec *deadline,
                       bool *refused, char *why, size_t len) {
    int rp[2] = {-1, -1};
    *refused = false;
    if (result && pipe2(rp, O_CLOEXEC)) {
        snprintf(why, len, "harness: pipe: %s", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        if (rp[0] >= 0) close(rp[0]);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        if (ptrace(PTRACE_TRACEME, 0, 0, 0)) _exit(3);
        raise(SIGSTOP);
        struct sb_result r;
        int rc = sb_run(cfg, &r);
        _exit(rp[1] < 0 || write(rp[1], &rc, sizeof rc) == sizeof rc ? 0 : 4);
    }
    if (rp[1] >= 0) close(rp[1]);
    int st = 0;
    pid_t w = p > 0 ? sbt_wait_until(p, &st, deadline) : -1;
    if (w == p && WIFSTOPPED(st) &&
        !ptrace(PTRACE_SETOPTIONS, p, 0,
                PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
                    PTRACE_O_TRACEVFORK)) {
        if (result) *result = rp[0];
        return p;
    }
    *refused = w == p && WIFEXITED(st) && WEXITSTATUS(st) == 3;
    snprintf(why, len, "%s",
             *refused ? "ptrace is refused here" : "harness: tracing sb_run's caller failed");
    if (p > 0 && w != p) kill(p, SIGKILL), waitpid(p, NULL, 0);
    if (rp[0] >= 0) close(rp[0]);
    return -1;
}

void sbt_trace_abandon(pid_t caller, pid_t child, struct timespec *deadline) {
    kill(caller, SIGKILL);
    if (child > 0) kill(child, SIGKILL);
    deadline->tv_sec += 2;
    while (sbt_wait_until(-1, NULL, deadline) > 0) {
    }
    sbt_remove_groups_of(caller);
}

char **sbt_guarded_argv(char *const *argv) {
    long page = sysconf(_SC_PAGESIZE);
    size_t n = 0;
    while (argv[n])
        n++;
    cr_assert((n + 1) * sizeof *argv <= (size_t)page, "harness: %zu arguments", n);
    char *m =
        mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(m != MAP_FAILED && !mprotect(m, (size_t)page, PROT_NONE),
              "harness: mapping an argv behind a guard page: %s", strerror(errno));
    char **g = (char **)(m + page);
    memcpy(g, argv, (n + 1) * sizeof *argv);
    return g;
}

static int vrun(struct sbt *t, va_list ap) {
    char *list[16];
    int n = 0;
    list[n++] = "/bin/prober";
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 15)
        list[n++] = (char *)a;
    list[n] = NULL;
    char **argv = sbt_guarded_argv(list);
    int out = memfd_create("sbt-out", MFD_CLOEXEC), err = memfd_create("sbt-err", MFD_CLOEXEC);
    cr_assert(out >= 0 && err >= 0, "harness: memfd_create: %s", strerror(errno));
    struct sb_config cfg = t->cfg;
    cfg.argv = argv;
    cfg.stdout_fd = out;
    cfg.stderr_fd = err;
    memset(&t->res, 0, sizeof t->res);
    fflush(NULL);
    t->rc = sb_run(&cfg, &t->res);
    munmap((char *)argv - sysconf(_SC_PAGESIZE), 2 * (size_t)sysconf(_SC_PAGESIZE));
    slurp(out, t->out, sizeof t->out);
    slurp(err, t->err, sizeof t->err);
    close(out);
    close(err);
    return t->rc;
}

/* No view of a view: the debugging view's own run prints nothing more. */
static bool in_view;

/* VLAB_SB_VIEW=1: every run of a test is followed by what its container saw, on stderr. */
static void maybe_print_view(struct sbt *t) {
    const char *v = getenv("VLAB_SB_VIEW");
    if (in_view || !v || strcmp(v, "1")) return;
    static char buf[8192];
    sbt_view(t, buf, sizeof buf);
    fprintf(stderr, "%s\n", buf);
}

int sbt_run(struct sbt *t, ...) {
    va_list ap;
    va_start(ap, t);
    int rc = vrun(t, ap);
    va_end(ap);
    maybe_print_view(t);
    return rc;
}

/* Appends to buf what a "view" line shows; the namespace line marks those the container shares
 * with the caller (the test process). */
static size_t view_line(char *buf, size_t len, const char *line, size_t l) {
    if (l < 8 || strncmp(line, "view ns:", 8))
        return (size_t)snprintf(buf, len, "\n    %.*s", (int)(l - 5), line + 5);
    size_t n = (size_t)snprintf(buf, len, "\n    namespaces:");
    const char *p = line + 8, *end = line + l;
    while (p < end) {
        p += strspn(p, " ");
        size_t w = strcspn(p, " \n");
        if (!w) break;
        char mine[128] = "", path[64], name[32];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(p, ":"), p);
        snprintf(path, sizeof path, "/proc/self/ns/%s", name);
        ssize_t m = readlink(path, mine, sizeof mine - 1);
        mine[m > 0 ? m : 0] = 0;
        bool same = m > 0 && strlen(mine) == w && !strncmp(mine, p, w);
        n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, " %.*s%s", (int)w,
                              p, same ? " (the caller's own: not a new one)" : "");
        p += w;
    }
    return n;
}

size_t sbt_view(struct sbt *t, char *buf, size_t len) {
    /* the last run stays the test's: saved, the view run, restored */
    char *out = strdup(t->out), *err = strdup(t->err);
    struct sb_result res = t->res;
    int rc = t->rc;
    in_view = true;
    int vrc = sbt_run(t, "view", NULL);
    in_view = false;
    size_t n = (size_t)snprintf(buf, len,
                                "\n  what the container saw (`prober view` in a container made "
                                "again with the same config; VLAB_SB_VIEW=1 shows it after every "
                                "run, handout §8):");
#define ADD(...)                                                                                   \
    n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, __VA_ARGS__)
    if (vrc != VLAB_OK) ADD("\n    no view: sb_run returned %d (%s)", vrc, vlab_strerror(vrc));
    for (const char *p = t->out; vrc == VLAB_OK && p && *p;) {
        size_t l = strcspn(p, "\n");
        if (!strncmp(p, "view ", 5))
            n += view_line(buf + (n < len ? n : len), n < len ? len - n : 0, p, l);
        p += l + (p[l] == '\n');
    }
    const struct sb_limits *lim = &t->cfg.limits;
    ADD("\n    limits asked: memory %llu, pids %u, cpus %.2f (0: none); the test's last run: "
        "sb_run "
        "%d, %s %d, timed out %d, interrupted %d; usage reported: memory peak %llu, pids.max hits "
        "%llu, cpu %llu ns",
        (unsigned long long)lim->memory, lim->pids, lim->cpus, rc,
        res.exited ? "exit status" : "killed by signal", res.exited ? res.status : res.signal,
        res.timed_out, res.interrupted, (unsigned long long)res.use.mem_peak,
        (unsigned long long)res.use.pids_max, (unsigned long long)res.use.cpu_ns);
#undef ADD
    snprintf(t->out, sizeof t->out, "%s", out ? out : "");
    snprintf(t->err, sizeof t->err, "%s", err ? err : "");
    free(out);
    free(err);
    t->res = res;
    t->rc = rc;
    return n < len ? n : len - 1;
}

void sbt_run_ok(struct sbt *t, const char *sec, ...) {
    va_list ap;
    va_start(ap, sec);
    int rc = vrun(t, ap);
    va_end(ap);
    maybe_print_view(t);
    if (rc == VLAB_ENOTIMPL) cr_assert_fail("sb_run: not implemented (labs/sandbox/sandbox.c)");
    cr_assert(rc == VLAB_OK,
              "sb_run: expected VLAB_OK (the prober ran), got %d (%s); its stderr: %.600s %s", rc,
              vlab_strerror(rc), t->err, sec);
}

const char *sbt_get(struct sbt *t, const char *key, char *buf, size_t len) {
    size_t n = strlen(key);
    for (const char *p = t->out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, key, n) || p[n] != '=') continue;
        const char *v = p + n + 1;
        size_t l = strcspn(v, "\n");
        if (l >= len) l = len - 1;
        memcpy(buf, v, l);
        buf[l] = 0;
        return buf;
    }
    return NULL;
}

void sbt_expect_all_blocked(struct sbt *t, const char *sec, const char *what) {
    unsigned tries = 0;
    static char view[8192];
    bool shown = false;
    for (const char *p = t->out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "try ", 4)) continue;
        tries++;
        const char *eq = strstr(p, " = ");
        const char *nl = strchr(p, '\n');
        if (!eq || (nl && eq > nl)) continue;
        int len = (int)(eq - p - 4);
        bool ok = !strncmp(eq + 3, "ok", 2) && (eq[5] == '\n' || eq[5] == 0);
        /* the first escape that worked says, too, what the container looked like */
        if (ok && !shown) sbt_view(t, view, sizeof view);
        cr_expect(!ok,
                  "%s: expected the attempt `%.*s` to fail inside the container, it succeeded "
                  "%s%s",
                  what, len, p + 4, sec, ok && !shown ? view : "");
        shown = shown || ok;
    }
    cr_assert(tries > 0, "%s: the prober reported no attempt (exit %d, signal %d); stderr: %.400s",
              what, t->res.status, t->res.signal, t->err);
}

bool sbt_list_has(const char *list, const char *w) {
    size_t n = strlen(w);
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, w, n)) return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

unsigned sbt_list_len(const char *list) {
    if (!list || !*list) return 0;
    unsigned n = 1;
    for (; *list; list++)
        n += *list == ',';
    return n;
}

struct listing {
    char *buf;
    size_t len, used;
};

static bool has_prefix(const char *name, const void *prefix) {
    return strncmp(name, prefix, strlen(prefix)) == 0;
}

static void list_one(const char *path, void *ctx) {
    struct listing *l = ctx;
    l->used +=
        (size_t)snprintf(l->buf + l->used, l->used < l->len ? l->len - l->used : 0, " %s", path);
}

unsigned sbt_find_groups(const char *prefix, char *buf, size_t len) {
    struct listing l = {buf, len, 0};
    buf[0] = 0;
    return sb_groups_each(has_prefix, prefix, list_one, &l);
}

bool sbt_own_group(const char *ctrl, char *path, size_t len) {
    struct sb_hier h[16];
    unsigned nh = sb_hierarchies(h, 16);
    for (unsigned i = 0; i < nh; i++) {
        if (h[i].v2 != (ctrl == NULL)) continue;
        if (ctrl && !sbt_list_has(h[i].opts, ctrl)) continue;
        if (sb_hier_path(&h[i], path, len)) return true;
    }
    return false;
}

void sbt_child_report(pid_t c, int rd, char *got, size_t len) {
    ssize_t n = c > 0 ? read(rd, got, len - 1) : -1;
    got[n > 0 ? n : 0] = 0;
    close(rd);
    if (c > 0) waitpid(c, NULL, 0);
}

bool sbt_read_num(const char *dir, const char *file, unsigned long long *v) {
    char p[1024], buf[128];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    if (sb_read_file(p, buf, sizeof buf) <= 0) return false;
    /* v2 says "max" for no limit: strtoull would read that as 0, which is a limit */
    char *end;
    errno = 0;
    *v = strtoull(buf, &end, 10);
    while (*end == ' ' || *end == '\n')
        end++;
    return buf[0] >= '0' && buf[0] <= '9' && !errno && !*end;
}

/* Whether this machine lets the caller make groups under its own: an environment check, not
 * the student's: v1, a scratch directory in each hierarchy a container uses; v2, the
 * controllers handed down to the caller's group (enabled here if they can be). */
static bool cgroups_usable(char *why, size_t len) {
    char dir[512], probe[600];
    if (sbt_own_group("memory", dir, sizeof dir)) {
        const char *ctrls[] = {"memory", "pids", "cpu", "cpuacct"};
        for (int i = 0; i < 4; i++) {
            if (!sbt_own_group(ctrls[i], dir, sizeof dir)) {
                snprintf(why, len, "cgroup v1: no %s hierarchy mounted", ctrls[i]);
                return false;
            }
            snprintf(probe, sizeof probe, "%s/vlab-sbprobe-%d", dir, (int)getpid());
            if (mkdir(probe, 0755) && errno != EEXIST) {
                snprintf(why, len, "cgroup v1: cannot create groups in %.300s: %s", dir,
                         strerror(errno));
                return false;
            }
            rmdir(probe);
        }
        return true;
    }
    if (!sbt_own_group(NULL, dir, sizeof dir)) {
        snprintf(why, len, "no cgroup v1 memory hierarchy and no cgroup v2 mount");
        return false;
    }
    char path[600], have[256] = "";
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
    if (sb_read_file(path, have, sizeof have) < 0) {
        snprintf(why, len, "cgroup v2: cannot read %.300s", path);
        return false;
    }
    const char *need[] = {"memory", "pids", "cpu"};
    for (int i = 0; i < 3; i++) {
        char word[16];
        snprintf(word, sizeof word, "+%s", need[i]);
        bool on = false;
        for (char *p = strstr(have, need[i]); p && !on; p = strstr(p + 1, need[i]))
            on = (p == have || p[-1] == ' ') &&
                 (p[strlen(need[i])] == ' ' || p[strlen(need[i])] == '\n' || !p[strlen(need[i])]);
        int rc = on ? 0 : sb_write_file(path, word);
        if (rc) {
            snprintf(why, len,
                     "cgroup v2: the %s controller is not delegated to %.300s and cannot be (%s): "
                     "run from a delegated group",
                     need[i], dir, strerror(-rc));
            return false;
        }
    }
    snprintf(probe, sizeof probe, "%s/vlab-sbprobe-%d", dir, (int)getpid());
    if (mkdir(probe, 0755) && errno != EEXIST) {
        snprintf(why, len, "cgroup v2: cannot create groups in %.300s: %s", dir, strerror(errno));
        return false;
    }
    rmdir(probe);
    return true;
}

unsigned sbt_remove_groups(const char *prefix) {
    return sb_groups_remove_if(has_prefix, prefix);
}

unsigned sbt_remove_groups_of(pid_t pid) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "vlab-sb-%d-", (int)pid);
    return sbt_remove_groups(prefix);
}

bool sbt_dead(pid_t pid) {
    char p[64], st[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    if (sb_read_file(p, st, sizeof st) <= 0) return true;
    char *rp = strrchr(st, ')');
    return !rp || rp[2] == 'Z' || rp[2] == 'X';
}

/* The harness's own cleanup, so that a broken solution (or a test that stopped at a failed
 * assertion, before its cleanup check) leaves nothing on the machine: vlab-sb-PID-* groups
 * under this process's groups and sbimg-PID images in $TMPDIR, of this process (own) or of
 * processes that no longer exist (!own). */
static void sweep(bool own) {
    if (own) {
        sbt_remove_groups_of(getpid());
        return;
    }
    sb_groups_sweep_stale();
    const char *tmp = getenv("TMPDIR");
    char t[256];
    snprintf(t, sizeof t, "%s", tmp && *tmp ? tmp : "/tmp");
    DIR *d = opendir(t);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int pid;
        if (sscanf(e->d_name, "sbimg-%d", &pid) != 1 || pid == getpid()) continue;
        if (kill(pid, 0) == 0 || errno != ESRCH) continue;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", t, e->d_name);
        sb_tree_remove(p);
    }
    if (d) closedir(d);
}
