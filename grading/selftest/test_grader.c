/* Self-tests of vlab-grade: run the built grader as a subprocess over the hostile labs in
 * grading/selftest/labs (built into build/selftest) and check that each hostile test cost only
 * its own points, that the control lab is graded exactly, that every report is well-formed, and
 * that nothing the tests started is still alive. Run from the repository top.
 *
 * Every grader run in here is serialized by one lock, because a root grader kills leftovers by
 * uid and the "nothing survives" checks look at that uid: parallel runs would see each other. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RUN_TIMEOUT  60.0 /* seconds: the full hostile run takes well under 30 */
#define HOSTILE_LABS "segv", "hang", "forkbomb", "memhog", "limits", "writer", "escape", "nolist"

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Paths are relative to the repository top; $BUILD (as `make test` exports it) moves the build
 * tree, and VLAB_GRADE_BIN / VLAB_SELFTEST_BUILD override single paths. */
static const char *build_path(char *buf, size_t len, const char *override, const char *rel) {
    const char *v = getenv(override);
    if (v && *v) return v;
    snprintf(buf, len, "%s/%s", env_or("BUILD", "build"), rel);
    return buf;
}

static const char *grader_bin(void) {
    static char buf[4096];
    return build_path(buf, sizeof buf, "VLAB_GRADE_BIN", "grading/vlab-grade");
}

static const char *selftest_build(void) {
    static char buf[4096];
    return build_path(buf, sizeof buf, "VLAB_SELFTEST_BUILD", "selftest");
}

static const char *selftest_rubric(void) {
    return env_or("VLAB_SELFTEST_RUBRIC", "grading/selftest/rubric");
}

/* The self-test's graders run tests under a uid of their own, so that a grader someone else
 * runs on the same machine (uid 64999 by default) neither delays them nor shows up in the
 * "nothing of the test uid survives" check. */
static const char *test_uid_text(void) {
    return env_or("VLAB_SELFTEST_UID", "64998");
}
static uid_t test_uid(void) {
    return (uid_t)strtoul(test_uid_text(), NULL, 10);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *xasprintf(const char *fmt, ...) {
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0, "out of memory");
    return s;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

static void spit(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* Scratch space shared by the tests of one Criterion run (workers are forked from the runner,
 * so the runner's pid names it). */
static char *run_dir(void) {
    char *dir = xasprintf("/tmp/vlab-grade-selftest.%d", (int)getppid());
    if (mkdir(dir, 0755) && errno != EEXIST)
        cr_assert_fail("cannot create %s: %s", dir, strerror(errno));
    chmod(dir, 0755); /* the test uid must reach the spy FIFO inside */
    return dir;
}

static int lock_runs(void) {
    char *dir = run_dir();
    char *path = xasprintf("%s/lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    cr_assert(fd >= 0, "cannot open %s: %s", path, strerror(errno));
    while (flock(fd, LOCK_EX) && errno == EINTR)
        ;
    free(path);
    free(dir);
    return fd;
}

static void unlock_runs(int fd) {
    close(fd);
}

static char *new_tmp_dir(void) {
    char *dir = run_dir();
    char *t = xasprintf("%s/case.XXXXXX", dir);
    cr_assert_not_null(mkdtemp(t), "mkdtemp: %s", strerror(errno));
    chmod(t, 0755);
    free(dir);
    return t;
}

struct grader_run {
    int exit_code; /* -1 if killed */
    bool timed_out;
    double seconds;
    char *out, *err;
};

static void grader_run_free(struct grader_run *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* A run whose captured output is freed when it goes out of scope, and before each rerun into it
 * (`make test-sanitize` counts leaks in the self-tests too). */
#define SCOPED_RUN __attribute__((cleanup(grader_run_free))) struct grader_run

/* Stale /tmp/criterion_<pid>.sock files of another uid where the grader's processes will get
 * those pids. A pid namespace of its own makes the pids certain (the grader is pid 2, what it
 * starts 3, 4, ...) whatever else the machine runs, and a /tmp of its own keeps the files from
 * every other Criterion run on it (a concurrent self-test plants the same paths). */
struct planted {
    long span;
    uid_t owner;
};

static void write_err(const char *what) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "self-test: %s: %s\n", what, strerror(errno));
    if (n > 0) (void)!write(2, buf, (size_t)n);
}

static int mkdir_p(char *path) {
    for (char *q = path + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        int bad = mkdir(path, 0755) && errno != EEXIST;
        *q = '/';
        if (bad) return -1;
    }
    return mkdir(path, 0755) && errno != EEXIST ? -1 : 0;
}

/* In the child about to exec the grader: returns in pid 2 of a new pid and mount namespace whose
 * /tmp is a fresh tmpfs holding the planted files and, bound at their own paths, whatever of the
 * run dir, the project, the build and the grader lies under /tmp (a clean clone may). Pid 1
 * reaps and exits with the grader's status; it dies with our parent (the timeout's SIGKILL). */
static void enter_planted_namespace(const struct planted *pl, const char *keep) {
    enum { NKEEP = 5 };
    char bin_dir[4096];
    snprintf(bin_dir, sizeof bin_dir, "%s", grader_bin());
    char *slash = strrchr(bin_dir, '/');
    if (slash) *slash = 0;
    const char *want[NKEEP] = {keep, ".", selftest_build(), selftest_rubric(),
                               slash ? bin_dir : "."};
    char *kept[NKEEP] = {0};
    size_t nkept = 0;
    for (size_t i = 0; i < NKEEP; i++) {
        char *r = realpath(want[i], NULL);
        if (r && strncmp(r, "/tmp/", 5) == 0)
            kept[nkept++] = r;
        else
            free(r);
    }
    /* parents first, so a path inside one already bound is skipped */
    for (size_t i = 0; i < nkept; i++)
        for (size_t j = i + 1; j < nkept; j++)
            if (strlen(kept[j]) < strlen(kept[i])) {
                char *t = kept[i];
                kept[i] = kept[j];
                kept[j] = t;
            }
    if (unshare(CLONE_NEWPID | CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
        write_err("cannot make a pid and mount namespace");
        _exit(125);
    }
    pid_t init = fork();
    if (init < 0) _exit(125);
    if (init > 0) {
        int st = 0;
        while (waitpid(init, &st, 0) < 0 && errno == EINTR)
            ;
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 125);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* opened in the new mount namespace: a bind from a mount of another one is refused */
    int fds[NKEEP];
    for (size_t i = 0; i < nkept; i++)
        if ((fds[i] = open(kept[i], O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
            write_err(kept[i]);
            _exit(125);
        }
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m") ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
        write_err("cannot mount the namespace's /tmp and /proc");
        _exit(125);
    }
    for (size_t i = 0; i < nkept; i++) {
        bool inside = false;
        for (size_t j = 0; j < i; j++) {
            size_t n = strlen(kept[j]);
            inside |= strncmp(kept[i], kept[j], n) == 0 && (kept[i][n] == '/' || !kept[i][n]);
        }
        char fdpath[64];
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fds[i]);
        if (!inside && (mkdir_p(kept[i]) || mount(fdpath, kept[i], NULL, MS_BIND, NULL))) {
            write_err(kept[i]);
            _exit(125);
        }
        close(fds[i]);
    }
    for (long pid = 2; pid < 2 + pl->span; pid++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/criterion_%ld.sock", pid);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || fchown(fd, pl->owner, pl->owner)) {
            write_err(path);
            _exit(125);
        }
        close(fd);
    }
    pid_t grader = fork();
    if (grader < 0) _exit(125);
    if (grader == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        return;
    }
    int st = 0;
    for (;;) {
        pid_t w = wait(&st);
        if (w == grader) break;
        if (w < 0 && errno != EINTR) _exit(125);
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 125);
}

/* Runs the grader with args (NULL-terminated) and extra environment ("K=V" strings, NULL-
 * terminated, may be NULL), waiting at most RUN_TIMEOUT, among planted sockets if pl. Caller
 * holds the run lock. */
static void run_grader_planted(struct grader_run *r, const char *const *env,
                               const char *const *args, const struct planted *pl) {
    const char *bin = grader_bin();
    cr_assert(access(bin, X_OK) == 0,
              "the grader %s is not built (%s): build it first (make), and run the self-test "
              "from the repository top",
              bin, strerror(errno));
    const char *argv[64] = {bin};
    size_t n = 1;
    for (; args[n - 1]; n++) {
        cr_assert(n < 63);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;

    FILE *out = tmpfile(), *err = tmpfile();
    cr_assert(out && err, "tmpfile: %s", strerror(errno));
    /* the hostile labs talk to us through FIFOs and dirs in here, under /tmp: tests get a /tmp
     * of their own, so the grader must bind this one back in */
    char *keep = run_dir();
    fflush(NULL);
    double t0 = now_s();
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fileno(out), 1);
        dup2(fileno(err), 2);
        if (pl) enter_planted_namespace(pl, keep);
        /* we run inside a Criterion worker: its BoxFort handle would make the test binaries
         * the grader starts believe they are workers too (and abort) */
        unsetenv("BXFI_MAP");
        setenv("VLAB_GRADE_UID", test_uid_text(), 1);
        setenv("VLAB_GRADE_KEEP", keep, 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        /* "AS_UID=N" in env: the grader runs as that (non-root) user, as a student's would */
        /* "GRADER_NOFILE=N": the grader's descriptors are limited to N, as a user's often are
         * (1024) */
        const char *nofile = getenv("GRADER_NOFILE");
        if (nofile) {
            rlim_t n = (rlim_t)strtoul(nofile, NULL, 10);
            if (setrlimit(RLIMIT_NOFILE, &(struct rlimit){n, n})) _exit(126);
            unsetenv("GRADER_NOFILE");
        }
        const char *as = getenv("AS_UID");
        if (as) {
            uid_t u = (uid_t)strtoul(as, NULL, 10);
            if (setgroups(0, NULL) || setgid(u) || setuid(u)) _exit(126);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    grader_run_free(r);
    *r = (struct grader_run){.exit_code = -1};
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (now_s() - t0 > RUN_TIMEOUT) {
            r->timed_out = true;
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        usleep(10000);
    }
    r->seconds = now_s() - t0;
    free(keep);
    if (WIFEXITED(status)) r->exit_code = WEXITSTATUS(status);

    char *bufs[2] = {NULL, NULL};
    FILE *fs[2] = {out, err};
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        FILE *m = open_memstream(&bufs[i], &len);
        char chunk[65536];
        size_t k;
        rewind(fs[i]);
        while ((k = fread(chunk, 1, sizeof chunk, fs[i])) > 0)
            fwrite(chunk, 1, k, m);
        fclose(m);
        fclose(fs[i]);
    }
    r->out = bufs[0];
    r->err = bufs[1];
}

static void run_grader_locked(struct grader_run *r, const char *const *env,
                              const char *const *args) {
    run_grader_planted(r, env, args, NULL);
}

#define GRADER(r, env, ...)                                                                        \
    do {                                                                                           \
        int lk_ = lock_runs();                                                                     \
        run_grader_locked((r), (env), (const char *const[]){__VA_ARGS__, NULL});                   \
        unlock_runs(lk_);                                                                          \
    } while (0)

/* ---- the full hostile run, done once and shared ------------------------------------------ */

struct full {
    char *dir, *out_dir;
    struct grader_run run;
    cJSON *results;
    char *junit, *summary, *html, *keep;
    bool marker_exists;
    char *spy;    /* what the escape daemon wrote into the FIFO */
    int spy_eof;  /* 1: every writer of the FIFO is gone */
    int escaped;  /* processes re-parented to us after the grader exited */
    int uid_left; /* processes of the test uid still running (root only), -1 when not root */
};

static int count_uid_processes(uid_t uid) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64];
        struct stat st;
        snprintf(path, sizeof path, "/proc/%ld", pid);
        if (stat(path, &st) == 0 && st.st_uid == uid) n++;
    }
    if (d) closedir(d);
    return n;
}

/* Kills and counts whatever was re-parented to this (subreaper) process. */
static int sweep_children(void) {
    int found = 0;
    for (int round = 0; round < 100; round++) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        int live = 0;
        while (d && (e = readdir(d))) {
            char *end;
            long pid = strtol(e->d_name, &end, 10);
            if (*end || pid <= 0) continue;
            char path[64], buf[512];
            snprintf(path, sizeof path, "/proc/%ld/stat", pid);
            FILE *f = fopen(path, "r");
            if (!f) continue;
            size_t k = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[k] = '\0';
            char *cp = strrchr(buf, ')');
            int ppid = 0;
            if (cp && sscanf(cp + 1, " %*c %d", &ppid) == 1 && ppid == getpid()) {
                kill((pid_t)pid, SIGKILL);
                live++;
            }
        }
        if (d) closedir(d);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        found += live;
        if (!live) break;
        usleep(10000);
    }
    return found;
}

/* ---- litter: what the litter lab leaves in the machine's shared places ---------------------- */

/* The tag names the litter lab's files and is its SysV IPC key: unique to this runner. */
static int litter_tag(void) {
    return 0x7a000000 | ((int)getppid() & 0xffffff);
}

static char *litter_env(void) {
    return xasprintf("LITTER_TAG=%d", litter_tag());
}

/* Plants /tmp/vlab-planted-TAG, which a test with a private /tmp must not see. */
static void plant_marker(void) {
    char *p = xasprintf("/tmp/vlab-planted-%d", litter_tag());
    spit(p, "planted\n");
    free(p);
}

/* Counts what the litter lab left (and removes it, and the marker, for the next run). */
static int count_litter(void) {
    int n = 0, tag = litter_tag();
    const char *dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};
    for (size_t i = 0; i < 3; i++) {
        char *p = xasprintf("%s/vlab-litter-%d", dirs[i], tag);
        if (unlink(p) == 0) n++;
        free(p);
    }
    char *p = xasprintf("/dev/shm/vlab-litter-posix-%d", tag);
    if (unlink(p) == 0) n++;
    free(p);
    int id;
    if ((id = shmget((key_t)tag, 0, 0)) >= 0) n++, shmctl(id, IPC_RMID, NULL);
    if ((id = semget((key_t)tag, 0, 0)) >= 0) n++, semctl(id, 0, IPC_RMID);
    if ((id = msgget((key_t)tag, 0)) >= 0) n++, msgctl(id, IPC_RMID, NULL);
    p = xasprintf("/tmp/vlab-planted-%d", tag);
    unlink(p);
    free(p);
    return n;
}

static bool dir_is_empty(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    bool empty = d != NULL;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
    if (d) closedir(d);
    return empty;
}

static void do_full_run(const char *dir) {
    char *out = xasprintf("%s/out", dir);
    char *spy = xasprintf("%s/spy", dir);
    char *keep = xasprintf("%s/keep.txt", out);
    cr_assert(mkdir(out, 0755) == 0, "mkdir %s: %s", out, strerror(errno));
    spit(keep, "keep\n");
    cr_assert(mkfifo(spy, 0666) == 0, "mkfifo %s: %s", spy, strerror(errno));
    chmod(spy, 0666);
    int spyfd = open(spy, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    cr_assert(spyfd >= 0, "open %s: %s", spy, strerror(errno));
    cr_assert(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));

    char *env_out = xasprintf("HOSTILE_OUT=%s", out);
    char *env_spy = xasprintf("HOSTILE_SPY=%s", spy);
    char *flaky = xasprintf("%s/flaky", dir);
    cr_assert(mkdir(flaky, 0777) == 0 && chmod(flaky, 01777) == 0, "mkdir %s: %s", flaky,
              strerror(errno));
    char *env_flaky = xasprintf("FLAKY_STATE=%s", flaky);
    const char *env[] = {env_out, env_spy, env_flaky, NULL};
    SCOPED_RUN r = {0};
    run_grader_locked(&r, env,
                      (const char *const[]){"--build", selftest_build(), "--rubric",
                                            selftest_rubric(), "--out", out, "--sol", "selftest",
                                            "--commit", "selftest-commit <&>", HOSTILE_LABS, "good",
                                            "clean", "flaky", NULL});

    /* the daemon's pid, then EOF only if no writer is left */
    char spybuf[256] = "";
    size_t spylen = 0;
    int eof = 0;
    for (;;) {
        ssize_t k = read(spyfd, spybuf + spylen, sizeof spybuf - 1 - spylen);
        if (k > 0) {
            spylen += (size_t)k;
            continue;
        }
        eof = k == 0;
        break;
    }
    spybuf[spylen] = '\0';
    close(spyfd);
    int escaped = sweep_children();
    int uid_left = geteuid() == 0 ? count_uid_processes(test_uid()) : -1;

    char *p = xasprintf("%s/stdout", dir);
    spit(p, r.out);
    free(p);
    p = xasprintf("%s/stderr", dir);
    spit(p, r.err);
    free(p);
    char *facts = xasprintf("%d %d %f %d %d %d\n%s", r.exit_code, (int)r.timed_out, r.seconds, eof,
                            escaped, uid_left, spybuf);
    p = xasprintf("%s/facts", dir);
    spit(p, facts);
    free(p);
    free(facts);
    free(env_out);
    free(env_spy);
    free(env_flaky);
    free(flaky);
    free(out);
    free(spy);
    free(keep);
}

static const struct full *full_run(void) {
    static struct full f;
    static bool loaded;
    if (loaded) return &f;

    f.dir = run_dir();
    char *facts_path = xasprintf("%s/facts", f.dir);
    int lk = lock_runs();
    if (access(facts_path, F_OK)) do_full_run(f.dir);
    unlock_runs(lk);

    char *facts = slurp(facts_path);
    cr_assert_not_null(facts, "the full run left no facts in %s", facts_path);
    int timed_out = 0, n = 0;
    cr_assert_eq(sscanf(facts, "%d %d %lf %d %d %d\n%n", &f.run.exit_code, &timed_out,
                        &f.run.seconds, &f.spy_eof, &f.escaped, &f.uid_left, &n),
                 6, "bad facts file %s", facts_path);
    f.run.timed_out = timed_out;
    f.spy = strdup(facts + n);
    free(facts);
    free(facts_path);

    f.out_dir = xasprintf("%s/out", f.dir);
    char *p = xasprintf("%s/stdout", f.dir);
    f.run.out = slurp(p);
    free(p);
    p = xasprintf("%s/stderr", f.dir);
    f.run.err = slurp(p);
    free(p);
    p = xasprintf("%s/results.json", f.out_dir);
    char *json = slurp(p);
    free(p);
    f.results = json ? cJSON_Parse(json) : NULL;
    free(json);
    p = xasprintf("%s/junit.xml", f.out_dir);
    f.junit = slurp(p);
    free(p);
    p = xasprintf("%s/summary.md", f.out_dir);
    f.summary = slurp(p);
    free(p);
    p = xasprintf("%s/report.html", f.out_dir);
    f.html = slurp(p);
    free(p);
    p = xasprintf("%s/keep.txt", f.out_dir);
    f.keep = slurp(p);
    free(p);
    p = xasprintf("%s/pwned", f.out_dir);
    f.marker_exists = access(p, F_OK) == 0;
    free(p);
    loaded = true;
    return &f;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_run_dir(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/vlab-grade-selftest.%d", (int)getpid());
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The runner starts from an empty scratch dir: one left by a killed run whose pid has come
 * round again would otherwise hand this run its cached results. */
ReportHook(PRE_ALL)(struct criterion_test_set *set) {
    (void)set;
    remove_run_dir();
}

/* The runner removes the shared scratch dir once every test is done. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats) {
    (void)stats;
    remove_run_dir();
}

/* ---- reading results.json ------------------------------------------------------------------ */

static cJSON *test_entry(const struct full *f, const char *name) {
    cr_assert_not_null(f->results, "results.json is missing or does not parse\nstderr:\n%s",
                       f->run.err ? f->run.err : "");
    cJSON *tests = cJSON_GetObjectItemCaseSensitive(f->results, "tests");
    cJSON *t;
    cJSON_ArrayForEach(t, tests) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) return t;
    }
    cr_assert_fail("results.json has no test %s", name);
    return NULL;
}

static const char *str_field(cJSON *o, const char *key) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsString(v), "field '%s' is not a string", key);
    return v->valuestring;
}

static double num_field(cJSON *o, const char *key) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    cr_assert(cJSON_IsNumber(v), "field '%s' is not a number", key);
    return v->valuedouble;
}

/* The status word the grader put in front of a test's output ("CRASH: ..."). */
static void status_of(cJSON *t, char *buf, size_t len) {
    const char *out = str_field(t, "output");
    size_t n = strcspn(out, ":\n");
    snprintf(buf, len, "%.*s", (int)n, out);
}

/* name got status (one of the '|'-separated alternatives), zero points unless passing, and
 * a message containing want (if given). */
static void expect_test(const struct full *f, const char *name, const char *statuses, double score,
                        const char *want) {
    cJSON *t = test_entry(f, name);
    char st[32];
    status_of(t, st, sizeof st);
    char *alts = xasprintf("|%s|", statuses), *me = xasprintf("|%s|", st);
    cr_expect(strstr(alts, me) != NULL, "%s: expected status %s, got %s\n%s", name, statuses, st,
              str_field(t, "output"));
    cr_expect(fabs(num_field(t, "score") - score) < 1e-9, "%s: expected %g points, got %g", name,
              score, num_field(t, "score"));
    if (strcmp(st, "SKIP") == 0)
        cr_expect_null(cJSON_GetObjectItemCaseSensitive(t, "status"),
                       "%s: a SKIP is shown as passed or failed", name);
    else
        cr_expect_str_eq(str_field(t, "status"), strcmp(st, "PASS") == 0 ? "passed" : "failed",
                         "%s: Gradescope status does not match %s", name, st);
    if (want)
        cr_expect(strstr(str_field(t, "output"), want) != NULL,
                  "%s: expected the message to mention \"%s\", got:\n%s", name, want,
                  str_field(t, "output"));
    if (strcmp(st, "PASS") != 0)
        cr_expect(strlen(str_field(t, "output")) > strlen(st) + 2,
                  "%s: a %s needs a message saying why", name, st);
    free(alts);
    free(me);
}

/* ---- the full run -------------------------------------------------------------------------- */

Test(grader, full_run_completes) {
    const struct full *f = full_run();
    cr_assert(!f->run.timed_out, "the grader was still running after %g s", RUN_TIMEOUT);
    cr_assert_eq(f->run.exit_code, 0, "the grader exited with %d\nstdout:\n%s\nstderr:\n%s",
                 f->run.exit_code, f->run.out, f->run.err);
    cr_expect(f->run.seconds < 30, "the hostile run took %.1f s; budget is 30 s", f->run.seconds);
}

Test(grader, crashes_cost_only_their_points) {
    const struct full *f = full_run();
    expect_test(f, "segv/null_deref", "CRASH", 0, "crashed");
    expect_test(f, "segv/null_deref", "CRASH", 0,
                "hint: a crash here means the code followed a NULL pointer (self-test hint)");
    expect_test(f, "segv/aborts", "CRASH", 0, "hint: a crash here means something else");
    expect_test(f, "segv/kills_runner", "CRASH", 0, "SIGSEGV");
    expect_test(f, "segv/passes", "PASS", 1, NULL);
    cr_expect(!strstr(str_field(test_entry(f, "segv/passes"), "output"), "hint:"),
              "a passing test shows a hint");
    expect_test(f, "nolist/never_runs", "CRASH", 0, "SIGABRT");
    expect_test(f, "nolist/never_runs_either", "CRASH", 0, "before listing its tests");
}

Test(grader, runner_spawn_failure_is_retried) {
    const struct full *f = full_run();
    expect_test(f, "flaky/passes_after_a_runner_flake", "PASS", 1, NULL);
    cr_expect(f->run.out && strstr(f->run.out, "running it again"),
              "the grader did not say it retried the test after Criterion's spawn failure");
}

Test(grader, hangs_are_cut_off) {
    const struct full *f = full_run();
    expect_test(f, "hang/spin", "TIMEOUT", 0, "timed out");
    expect_test(f, "hang/spin", "TIMEOUT", 0, "hint: a hang here means a loop that never ends");
    expect_test(f, "hang/sleeps", "TIMEOUT", 0, "timed out");
    expect_test(f, "hang/spin_again", "TIMEOUT", 0, "lab time limit reached");
    expect_test(f, "hang/not_started", "TIMEOUT", 0, "not started");
    expect_test(f, "forkbomb/bomb", "TIMEOUT", 0, "timed out");
}

Test(grader, memory_hog_is_stopped) {
    const struct full *f = full_run();
    expect_test(f, "memhog/touch_4g", "CRASH|FAIL", 0, NULL);
    expect_test(f, "memhog/malloc_4g", "CRASH|FAIL", 0, NULL);
}

Test(grader, limits_are_enforced) {
    const struct full *f = full_run();
    expect_test(f, "limits/floods_output", "PASS", 1, "... (truncated)");
    expect_test(f, "limits/big_file", "CRASH", 0, "16 MiB per file");
    expect_test(f, "limits/burns_cpu", "CRASH", 0, "1 s of CPU time");
    cJSON *t = test_entry(f, "limits/floods_output");
    cr_expect(strlen(str_field(t, "output")) < 8192, "the flood was not cut to a few KiB");
}

Test(grader, escaped_daemon_still_passes) {
    const struct full *f = full_run();
    expect_test(f, "escape/daemon", "PASS", 1, NULL);
}

Test(grader, control_lab_graded_exactly) {
    const struct full *f = full_run();
    expect_test(f, "good/pass_one", "PASS", 1, NULL);
    expect_test(f, "good/pass_two", "PASS", 2, NULL);
    expect_test(f, "good/pass_three", "PASS", 0.5, NULL);
    expect_test(f, "good/fails", "FAIL", 0, "expected 42, got 41 <b>&\"quoted\"</b> C:\\temp");
    expect_test(f, "good/fails", "FAIL", 0, "second line of the message");
    expect_test(f, "good/fails", "FAIL", 0, "output of the failing test");
    expect_test(f, "good/skipped", "SKIP", 0, "not ready: see section 2");
    cr_expect_str_eq(str_field(test_entry(f, "good/pass_one"), "visibility"), "visible");
    cr_expect_str_eq(str_field(test_entry(f, "good/pass_two"), "visibility"), "hidden");
    cr_expect_str_eq(str_field(test_entry(f, "good/pass_three"), "visibility"), "after_due_date");
    cr_expect_str_eq(str_field(test_entry(f, "good/skipped"), "visibility"), "after_published");
    expect_test(f, "clean/first", "PASS", 1, NULL);
    expect_test(f, "clean/later", "SKIP", 0, "needs a later lab");
}

Test(grader, results_json_schema) {
    const struct full *f = full_run();
    cJSON *r = f->results;
    cr_assert_not_null(r, "results.json is missing or invalid JSON");
    double score = num_field(r, "score"), max = num_field(r, "max_score");
    cr_expect(num_field(r, "execution_time") >= 0);
    cr_expect(strstr(str_field(r, "output"), "selftest") != NULL);
    cr_expect_str_eq(str_field(r, "visibility"), "visible");
    cr_expect_str_eq(str_field(r, "stdout_visibility"), "hidden");
    cJSON *extra = cJSON_GetObjectItemCaseSensitive(r, "extra_data");
    cr_assert(cJSON_IsObject(extra), "results.json has no extra_data (when and what was graded)");
    const char *at = str_field(extra, "graded_at");
    int y, mo, d, h, mi, sec;
    cr_expect(sscanf(at, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &sec) == 6 && y >= 2026,
              "graded_at '%s' is not an ISO 8601 UTC time", at);
    cr_expect_str_eq(str_field(extra, "commit"), "selftest-commit <&>");
    cr_expect_str_eq(str_field(extra, "solution"), "selftest");
    cr_expect(f->html && strstr(f->html, "selftest-commit &lt;&amp;&gt;"), "report.html");
    cr_expect(f->summary && strstr(f->summary, "Graded "), "summary.md says not when it graded");
    cJSON *tests = cJSON_GetObjectItemCaseSensitive(r, "tests");
    cr_assert(cJSON_IsArray(tests), "'tests' is not an array");

    double sum = 0, sum_max = 0;
    int count = 0;
    cJSON *t;
    cJSON_ArrayForEach(t, tests) {
        const char *name = str_field(t, "name");
        const char *number = str_field(t, "number");
        unsigned a, b;
        char tail;
        cr_expect(sscanf(number, "%u.%u%c", &a, &b, &tail) == 2 && a >= 1 && b >= 1,
                  "%s: number '%s' is not LAB.TEST", name, number);
        double s = num_field(t, "score"), m = num_field(t, "max_score");
        cr_expect(s >= 0 && s <= m, "%s: score %g outside 0..%g", name, s, m);
        cJSON *status = cJSON_GetObjectItemCaseSensitive(t, "status");
        cr_expect(!status ||
                      (cJSON_IsString(status) && (strcmp(status->valuestring, "passed") == 0 ||
                                                  strcmp(status->valuestring, "failed") == 0)),
                  "%s: status is not passed or failed", name);
        str_field(t, "output");
        str_field(t, "visibility");
        sum += s;
        sum_max += m;
        count++;
    }
    cr_expect_eq(count, 4 + 4 + 1 + 2 + 3 + 6 + 1 + 2 + 5 + 3 + 1, "unexpected number of tests: %d",
                 count);
    cr_expect(fabs(sum - score) < 1e-9, "score %g is not the sum of the tests' %g", score, sum);
    cr_expect(fabs(sum_max - max) < 1e-9, "max_score %g is not the sum %g", max, sum_max);
    /* segv 1 + limits 1 + escape 1 + writer 1 + good 3.5 + clean 2 */
    cr_expect(fabs(score - 10.5) < 1e-9, "expected a total of 10.5, got %g", score);
}

/* Minimal well-formedness check: a single root, balanced tags, quoted attributes, only known
 * entities, no characters XML 1.0 forbids. Returns NULL or what is wrong. */
static const char *xml_problem(const char *s) {
    const char *stack[64];
    size_t depth = 0, roots = 0;
    static char why[160];

    if (strncmp(s, "<?xml", 5) == 0) {
        s = strstr(s, "?>");
        if (!s) return "unterminated prolog";
        s += 2;
    }
    while (*s) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') return "control character";
        if (c == '&') {
            size_t n = strspn(s + 1, "#xabcdefABCDEF0123456789ltgampquos");
            if (s[1 + n] != ';' || n == 0) return "bare '&'";
            s += n + 2;
            continue;
        }
        if (c == '>') return "bare '>' in text"; /* legal, but our escaper never emits it */
        if (c != '<') {
            s++;
            continue;
        }
        if (strncmp(s, "<!--", 4) == 0) {
            s = strstr(s, "-->");
            if (!s) return "unterminated comment";
            s += 3;
            continue;
        }
        bool closing = s[1] == '/';
        const char *name = s + 1 + closing;
        size_t nl = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_:.");
        if (nl == 0) return "bad tag name";
        const char *p = name + nl;
        while (!closing && *p && *p != '>' && *p != '/') {
            p += strspn(p, " \n\t");
            size_t an = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_:");
            if (an == 0) break;
            if (p[an] != '=' || p[an + 1] != '"') return "unquoted attribute";
            p += an + 2;
            while (*p && *p != '"') {
                if (*p == '<' || (unsigned char)*p < 0x20)
                    return "'<' or control character in an attribute";
                p++;
            }
            if (!*p) return "unterminated attribute";
            p++;
        }
        p += strspn(p, " \n\t");
        bool self = *p == '/';
        if (self) p++;
        if (*p != '>') return "malformed tag";
        if (closing) {
            if (depth == 0 || strncmp(stack[depth - 1], name, nl) != 0)
                return snprintf(why, sizeof why, "unbalanced </%.*s>", (int)nl, name), why;
            depth--;
        } else if (!self) {
            if (depth == 0) roots++;
            if (depth == 64) return "too deep";
            stack[depth++] = name;
        } else if (depth == 0) {
            roots++;
        }
        s = p + 1;
    }
    if (depth) return "unclosed element";
    if (roots != 1) return "not exactly one root element";
    return NULL;
}

static size_t count_of(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

Test(grader, junit_is_well_formed) {
    const struct full *f = full_run();
    cr_assert_not_null(f->junit, "junit.xml was not written");
    const char *problem = xml_problem(f->junit);
    cr_assert_null(problem, "junit.xml is malformed: %s", problem);
    cr_expect_eq(count_of(f->junit, "<testsuite "), 11);
    cr_expect_eq(count_of(f->junit, "<testcase "), 32);
    /* FAIL: writer 5 + good 1 + memhog (0..2); CRASH/TIMEOUT as errors; 2 skips */
    cr_expect_eq(count_of(f->junit, "<skipped "), 2);
    cr_expect(strstr(f->junit, "<testsuite name=\"good\" tests=\"5\" failures=\"1\" errors=\"0\" "
                               "skipped=\"1\"") != NULL,
              "the good suite's counts are wrong");
    cr_expect(strstr(f->junit, "<testsuite name=\"hang\" tests=\"4\" failures=\"0\" errors=\"4\" "
                               "skipped=\"0\"") != NULL,
              "the hang suite's counts are wrong");
    cr_expect(strstr(f->junit, "&lt;b&gt;&amp;&quot;quoted&quot;&lt;/b&gt;") != NULL,
              "the failure message is not escaped as expected");
    cr_expect(strstr(f->junit, "\x01") == NULL, "a control character reached junit.xml");
}

Test(grader, other_reports_exist) {
    const struct full *f = full_run();
    cr_assert_not_null(f->summary, "summary.md was not written");
    cr_expect(strstr(f->summary, "| Status | Test | Points | Time |") != NULL);
    cr_expect(strstr(f->summary, "**Total: 10.5/32.25**") != NULL, "summary.md total:\n%s",
              f->summary);
    cr_assert_not_null(f->html, "report.html was not written");
    cr_expect(strncmp(f->html, "<!DOCTYPE html>", 15) == 0);
    cr_expect(strstr(f->html, "</html>") != NULL);
    cr_expect(strstr(f->html, "&lt;b&gt;&amp;&quot;quoted&quot;&lt;/b&gt;") != NULL,
              "the failure message is not HTML-escaped");
    cr_expect(strstr(f->html, "<b>&") == NULL, "raw test text reached the HTML");
}

/* GitHub Classroom's reporter adds up the tests' scores: they must be the grade's. */
Test(grader, classroom_json_matches_the_grade) {
    const struct full *f = full_run();
    char *path = xasprintf("%s/classroom.json", f->out_dir);
    char *text = slurp(path);
    cr_assert_not_null(text, "%s was not written", path);
    cJSON *c = cJSON_Parse(text);
    cr_assert_not_null(c, "classroom.json does not parse:\n%s", text);
    cr_expect_eq(num_field(c, "version"), 1);
    cr_expect_str_eq(str_field(c, "status"), "fail", "the hostile run has failures");
    cr_expect(fabs(num_field(c, "max_score") - 32.25) < 1e-9, "max_score %g, expected 32.25",
              num_field(c, "max_score"));
    double sum = 0;
    int n = 0, errors = 0;
    cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(c, "tests")) {
        sum += num_field(t, "score");
        n++;
        const char *st = str_field(t, "status");
        cr_expect(strcmp(st, "pass") == 0 || strcmp(st, "fail") == 0 || strcmp(st, "error") == 0,
                  "status '%s' is not a runner status", st);
        if (strcmp(str_field(t, "name"), "segv/null_deref") == 0)
            cr_expect_str_eq(st, "error", "a crash is an error for Classroom");
        errors += strcmp(st, "error") == 0;
        cr_expect_eq(num_field(t, "line_no"), 0,
                     "%s: no line_no 0 (the reporter prints \"line "
                     "undefined\" without one)",
                     str_field(t, "name"));
        if (strcmp(st, "error") == 0)
            cr_expect(strstr(str_field(t, "message"), str_field(t, "name")) != NULL,
                      "the reporter prints an error's message alone: it must name the test");
    }
    cr_expect_eq(n, 32, "classroom.json lists %d tests, the grade has 32", n);
    cr_expect(fabs(sum - 10.5) < 1e-9, "the tests' scores add up to %g, the grade is 10.5", sum);
    cr_expect(errors > 0, "no crash or timeout was reported as an error");
    cJSON_Delete(c);
    free(text);
    free(path);
}

/* The two well-behaved labs (good, clean: 5.5 of 8.25 points) graded among planted sockets. */
static void grade_controls_planted(struct grader_run *r, const char *const *env, const char *out,
                                   const struct planted *pl) {
    int lk = lock_runs();
    run_grader_planted(r, env,
                       (const char *const[]){"--build", selftest_build(), "--rubric",
                                             selftest_rubric(), "--out", out, "good", "clean",
                                             NULL},
                       pl);
    unlock_runs(lk);
}

/* Criterion's runner binds /tmp/criterion_<pid>.sock. Where tests share the machine's /tmp
 * (VLAB_GRADE_NS=0), a runner that gets a pid whose path holds another uid's stale file must still
 * run (a root grader clears the path before exec), not abort with "Address already in use". */
Test(grader, stale_criterion_sockets_do_not_crash_tests) {
    if (geteuid() != 0) cr_skip_test("needs root to plant another user's sockets");
    /* test_uid() - 1: nobody runs as it, not the tests' uid, not ours */
    const struct planted pl = {.span = 3000, .owner = test_uid() - 1};
    SCOPED_RUN r = {0};
    char *rd = new_tmp_dir();
    char *out = xasprintf("%s/out", rd);
    const char *env[] = {"VLAB_GRADE_NS=0", NULL};
    grade_controls_planted(&r, env, out, &pl);
    cr_expect_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cr_expect(strstr(r.out, "CRASH") == NULL && strstr(r.out, "Address already in use") == NULL,
              "a stale /tmp/criterion_<pid>.sock crashed a test:\n%s", r.out);
    cr_expect(strstr(r.out, "score: 5.5/8.25\n") != NULL, "stdout:\n%s", r.out);
    free(out);
    free(rd);
}

/* A grader killed half way leaves no report of an earlier run that looks current. */
Test(grader, killed_run_leaves_no_old_reports) {
    char *rd = new_tmp_dir();
    char *out = xasprintf("%s/out", rd);
    cr_assert(mkdir(out, 0755) == 0);
    const char *names[] = {"results.json", "junit.xml", "summary.md", "report.html",
                           "classroom.json"};
    for (size_t i = 0; i < 5; i++) {
        char *p = xasprintf("%s/%s", out, names[i]);
        spit(p, "{\"score\": 100, \"from\": \"an earlier run\"}\n");
        free(p);
    }
    int lk = lock_runs();
    fflush(NULL);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    char *said = xasprintf("%s/stdout", rd);
    if (pid == 0) {
        unsetenv("BXFI_MAP");
        setenv("VLAB_GRADE_UID", test_uid_text(), 1);
        int fd = open(said, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0) _exit(126);
        execl(grader_bin(), grader_bin(), "--build", selftest_build(), "--rubric",
              selftest_rubric(), "--out", out, "hang", (char *)NULL);
        _exit(127);
    }
    /* well into the first hanging test: the lab's header is printed once grading has begun,
     * however slow the machine, the sanitized grader or a wait for another grader's uid */
    for (int i = 0; i < 3000; i++) {
        char *text = slurp(said);
        bool begun = text && strstr(text, "== hang");
        free(text);
        if (begun) break;
        usleep(20000);
    }
    usleep(300 * 1000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    /* a SIGKILLed grader cannot sweep: what its test left running goes now, or the next grader
     * would refuse the uid */
    for (int round = 0; round < 100 && geteuid() == 0 && count_uid_processes(test_uid()); round++) {
        pid_t k = fork();
        if (k == 0) {
            if (setgid(test_uid()) == 0 && setuid(test_uid()) == 0) kill(-1, SIGKILL);
            _exit(0);
        }
        waitpid(k, NULL, 0);
        usleep(20000);
    }
    sweep_children();
    unlock_runs(lk);
    for (size_t i = 0; i < 5; i++) {
        char *p = xasprintf("%s/%s", out, names[i]);
        cr_expect(access(p, F_OK) != 0, "%s of an earlier run is still there after a killed run",
                  p);
        free(p);
    }
    free(said);
    free(out);
    free(rd);
}

/* Every way student code can end the test's process early: none may pass, and the message says
 * how the test ended. A child that exits on its own is no reason to fail. */
/* One lab graded on its own (env: extra "K=V" strings, may be NULL); the results are read like
 * the full run's. The caller holds the run lock. */
static const struct full *lab_run_locked(const char *lab, const char *const *env) {
    struct full *f = calloc(1, sizeof *f);
    cr_assert_not_null(f);
    f->dir = new_tmp_dir();
    f->out_dir = xasprintf("%s/out", f->dir);
    run_grader_locked(&f->run, env,
                      (const char *const[]){"--build", selftest_build(), "--rubric",
                                            selftest_rubric(), "--out", f->out_dir, lab, NULL});
    char *p = xasprintf("%s/results.json", f->out_dir);
    char *json = slurp(p);
    f->results = json ? cJSON_Parse(json) : NULL;
    free(json);
    free(p);
    return f;
}

static void full_free(const struct full **fp) {
    struct full *f = (struct full *)*fp;
    if (!f) return;
    grader_run_free(&f->run);
    cJSON_Delete(f->results);
    free(f->out_dir);
    free(f->dir);
    free(f);
}
/* A one-lab run's results, freed at the end of the test. */
#define SCOPED_FULL __attribute__((cleanup(full_free))) const struct full

static const struct full *lab_run(const char *lab, const char *const *env) {
    int lk = lock_runs();
    const struct full *f = lab_run_locked(lab, env);
    unlock_runs(lk);
    return f;
}

Test(grader, early_exits_never_pass) {
    SCOPED_FULL *f = lab_run("earlyexit", NULL);
    const char *early = "the test ended before its last check";
    expect_test(f, "earlyexit/calls_exit", "FAIL", 0, "called exit(0)");
    expect_test(f, "earlyexit/calls_underscore_exit", "FAIL", 0, early);
    expect_test(f, "earlyexit/exit_group_syscall", "FAIL", 0, early);
    expect_test(f, "earlyexit/exit_group_raw_instruction", "FAIL", 0, early);
    expect_test(f, "earlyexit/thread_exits_process", "FAIL", 0, "called exit(0)");
    /* Criterion's runner hangs on the child's messages: a timeout is fine, a pass is not */
    expect_test(f, "earlyexit/forked_child_finishes_instead", "FAIL|CRASH|TIMEOUT", 0, NULL);
    expect_test(f, "earlyexit/fails_then_exits_1", "FAIL|CRASH", 0, NULL);
    expect_test(f, "earlyexit/child_exit_is_fine", "PASS", 1, NULL);
    expect_test(f, "earlyexit/forges_the_record", "FAIL", 0, "called exit(0)");
}

/* Files in /tmp, /var/tmp and /dev/shm, POSIX and SysV shared memory, semaphores and message
 * queues, a 5,000-deep tree in TMPDIR: nothing outlives the run; and the run had a /tmp of its
 * own and a cap on open files. */
Test(grader, litter_is_gone) {
    char *env_litter = litter_env();
    const char *env[] = {env_litter, NULL};
    int lk = lock_runs(); /* the marker and the litter are shared with the other litter test */
    plant_marker();
    SCOPED_FULL *f = lab_run_locked("litter", env);
    int litter = count_litter();
    unlock_runs(lk);
    free(env_litter);
    expect_test(f, "litter/files_and_ipc", "PASS", 1, NULL);
    expect_test(f, "litter/deep_tree", "PASS", 1, NULL);
    expect_test(f, "litter/tmp_is_private", "PASS", 1, NULL);
    expect_test(f, "litter/open_files_are_limited", "PASS", 1, NULL);
    cr_expect_eq(litter, 0, "%d things the litter lab made outlived the grader", litter);
    cr_expect(f->run.err && !strstr(f->run.err, "could not remove"), "stderr:\n%s", f->run.err);
}

/* Where no mount namespace can be had, the grader still removes what a test left in the shared
 * places, and the deep tree in its own scratch dir. */
Test(grader, litter_is_swept_without_namespaces) {
    char *rd = new_tmp_dir();
    char *out = xasprintf("%s/out", rd), *tmp = xasprintf("%s/gtmp", rd);
    cr_assert(mkdir(tmp, 0755) == 0);
    char *env_tmp = xasprintf("TMPDIR=%s", tmp), *env_litter = litter_env();
    const char *env[] = {"VLAB_GRADE_NS=0", env_tmp, env_litter, NULL};
    SCOPED_RUN r = {0};
    int lk = lock_runs(); /* the marker and the litter are shared with the other litter test */
    plant_marker();
    run_grader_locked(&r, env,
                      (const char *const[]){"--build", selftest_build(), "--rubric",
                                            selftest_rubric(), "--out", out, "litter", NULL});
    int left = count_litter();
    unlock_runs(lk);
    cr_expect_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cr_expect(strstr(r.err, "tests share the machine's /tmp") != NULL,
              "the grader did not say tests share /tmp:\n%s", r.err);
    cr_expect(strstr(r.out, "score: 3/4\n") != NULL, "only tmp_is_private may fail:\n%s", r.out);
    cr_expect_eq(left, 0, "%d things the litter lab made outlived the grader", left);
    cr_expect(dir_is_empty(tmp), "the grader's scratch dir %s is not empty", tmp);
    free(env_tmp);
    free(env_litter);
    free(tmp);
    free(out);
    free(rd);
}

/* A grader that is not root and has no namespaces, with the 1024 descriptors a user's shell
 * usually gives. It removes a test's 5000-deep tree of read-only directories: it cannot recurse
 * that deep, so it moves the directories past a depth up to the top, which needs each one
 * writable first (root may move them anyway: only a student's grader shows it). And what the
 * student had in /dev/shm before the tests ran is theirs: the sweep of the shared places leaves
 * it (it removes only what appeared during a test). */
Test(grader, read_only_deep_tree_removed_without_root) {
    uid_t student = test_uid() - 2;
    bool root = geteuid() == 0;
    char *rd = new_tmp_dir();
    char *out = xasprintf("%s/out", rd), *tmp = xasprintf("%s/gtmp", rd);
    char *own = xasprintf("/dev/shm/vlab-own-%d", litter_tag());
    cr_assert(mkdir(out, 0755) == 0 && mkdir(tmp, 0755) == 0);
    spit(own, "the student's\n");
    if (root)
        cr_assert(chown(out, student, student) == 0 && chown(tmp, student, student) == 0 &&
                  chown(own, student, student) == 0);
    char *as = xasprintf("AS_UID=%u", (unsigned)student);
    char *env_tmp = xasprintf("TMPDIR=%s", tmp), *env_litter = litter_env();
    const char *env[] = {"GRADER_NOFILE=1024", "VLAB_GRADE_NS=0", env_tmp,
                         env_litter,           root ? as : NULL,  NULL};
    SCOPED_RUN r = {0};
    GRADER(&r, env, "--build", selftest_build(), "--rubric", selftest_rubric(), "--out", out,
           "--only", "deep_tree", "litter");
    bool own_kept = access(own, F_OK) == 0;
    unlink(own);
    cr_expect_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cr_expect(strstr(r.out, "score: 1/1\n") != NULL, "stdout:\n%s", r.out);
    cr_expect(strstr(r.err, "could not remove") == NULL, "stderr:\n%s", r.err);
    cr_expect(dir_is_empty(tmp), "the grader's scratch dir %s is not empty", tmp);
    cr_expect(own_kept, "the student's own %s, there before the tests, was removed", own);
    free(own);
    free(as);
    free(env_tmp);
    free(env_litter);
    free(tmp);
    free(out);
    free(rd);
}

/* A student's grader (not root) on a machine where another user left Criterion sockets at the
 * paths of the next pids: full marks, with a /tmp of its own per test, and also where there are
 * no namespaces (the pids are skipped, and the terminal says why). */
static void stale_sockets_as_student(bool namespaces) {
    if (geteuid() != 0) cr_skip_test("needs root to plant another user's sockets");
    const struct planted pl = {.span = 400, .owner = test_uid() - 1};
    uid_t student = test_uid() - 2;
    char *rd = new_tmp_dir();
    char *out = xasprintf("%s/out", rd);
    cr_assert(mkdir(out, 0755) == 0 && chown(out, student, student) == 0);
    char *as = xasprintf("AS_UID=%u", (unsigned)student);
    const char *env[] = {as, namespaces ? "VLAB_GRADE_NS=1" : "VLAB_GRADE_NS=0", NULL};
    SCOPED_RUN r = {0};
    grade_controls_planted(&r, env, out, &pl);
    cr_expect_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cr_expect(strstr(r.out, "CRASH") == NULL, "a stale socket crashed a test:\n%s", r.out);
    cr_expect(strstr(r.out, "score: 5.5/8.25\n") != NULL, "stdout:\n%s", r.out);
    if (!namespaces)
        cr_expect(strstr(r.out, "belongs to another user") != NULL,
                  "the terminal does not say why pids were skipped (planted at pids 2..%ld):\n%s",
                  1 + pl.span, r.out);
    free(as);
    free(out);
    free(rd);
}

Test(grader, stale_sockets_of_another_user_private_tmp) {
    stale_sockets_as_student(true);
}

Test(grader, stale_sockets_of_another_user_without_namespaces) {
    stale_sockets_as_student(false);
}

Test(grader, writer_cannot_touch_the_output) {
    const struct full *f = full_run();
    expect_test(f, "writer/create_marker", "FAIL", 0, NULL);
    expect_test(f, "writer/overwrite_keep", "FAIL", 0, NULL);
    expect_test(f, "writer/delete_keep", "FAIL", 0, NULL);
    expect_test(f, "writer/plant_results", "FAIL", 0, NULL);
    expect_test(f, "writer/via_proc_root", "FAIL", 0, NULL);
    expect_test(f, "writer/tmpdir_writable", "PASS", 1, NULL);
    cr_expect(!f->marker_exists, "the writer created its marker in the grade output");
    cr_expect(f->keep && strcmp(f->keep, "keep\n") == 0, "keep.txt was changed or deleted");
    cr_expect(f->results && cJSON_GetObjectItemCaseSensitive(f->results, "tests"),
              "results.json is not the grader's");
}

Test(grader, nothing_survives) {
    const struct full *f = full_run();
    cr_expect(f->spy && atoi(f->spy) > 0,
              "the escape daemon never reported its pid, so this check proves nothing");
    cr_expect_eq(f->spy_eof, 1, "the escape daemon (pid %s) still holds its FIFO open: it survived",
                 f->spy);
    cr_expect_eq(f->escaped, 0, "%d processes outlived the grader and were re-parented to us",
                 f->escaped);
    if (f->uid_left >= 0)
        cr_expect_eq(f->uid_left, 0, "%d processes of the test uid %u are still running",
                     f->uid_left, (unsigned)test_uid());
}

/* The last two lines, exactly as CI reads them. */
Test(grader, closing_lines) {
    const struct full *f = full_run();
    const char *out = f->run.out ? f->run.out : "";
    size_t len = strlen(out);
    cr_assert(len > 0 && out[len - 1] == '\n', "stdout does not end with a newline");
    const char *last = out + len - 1, *prev;
    while (last > out && last[-1] != '\n')
        last--;
    prev = last - 1;
    while (prev > out && prev[-1] != '\n')
        prev--;
    cr_expect(strncmp(prev, "score: 10.5/32.25\n", 18) == 0, "next-to-last line: %.*s",
              (int)(last - prev), prev);
    cr_expect_str_eq(last, "10 passed, 20 failed, 2 skipped\n");
}

/* ---- command line, rubric errors, expectations -------------------------------------------- */

/* A rubric dir with one file lab (named after an existing self-test binary) holding text. */
static char *rubric_dir(const char *lab, const char *text) {
    char *dir = new_tmp_dir();
    char *path = xasprintf("%s/%s", dir, lab);
    spit(path, text);
    free(path);
    return dir;
}

static void grade_one(struct grader_run *r, const char *lab, const char *rubric_text,
                      const char *extra1, const char *extra2) {
    char *rd = rubric_dir(lab, rubric_text);
    char *out = xasprintf("%s/out", rd);
    const char *args[12];
    size_t n = 0;
    args[n++] = "--build";
    args[n++] = selftest_build();
    args[n++] = "--rubric";
    args[n++] = rd;
    args[n++] = "--out";
    args[n++] = out;
    if (extra1) args[n++] = extra1;
    if (extra2) args[n++] = extra2;
    args[n++] = lab;
    args[n] = NULL;
    int lk = lock_runs();
    run_grader_locked(r, NULL, args);
    unlock_runs(lk);
    free(out);
    free(rd);
}

static void grade_kept(struct grader_run *r, const char *lab, const char *rubric_text,
                       const char *about, char **out_dir);
static cJSON *report_json(const char *dir, const char *name);

static const char good_rubric[] = "test pass_one 1\ntest pass_two 2\ntest pass_three 0.5\n"
                                  "test fails 1.5\ntest skipped 1\n";
static const char clean_rubric[] = "test first 1\ntest second 1\ntest later 1\n";

/* Report entries a test wrote ahead of the runner's (grading/selftest/labs/oddreport.c): a
 * status of one letter is still a status, which no Criterion writes, so a crash that names it;
 * an empty one is none, so the test reported no result. Neither passes. */
Test(grader, report_entries_with_odd_statuses) {
    SCOPED_RUN r = {0};
    grade_one(&r, "oddreport", "set timeout 5\ntest one_letter_status 1\ntest empty_status 1\n",
              NULL, NULL);
    cr_expect(strstr(r.out, "Criterion reported X with no message") != NULL,
              "a one-letter status was not read as one:\n%s", r.out);
    cr_expect(strstr(r.out, "without reporting a result for oddreport/empty_status") != NULL,
              "an empty status was read as a status:\n%s", r.out);
    cr_expect(strstr(r.out, "score: 0/2\n") != NULL, "stdout:\n%s\nstderr:\n%s", r.out, r.err);
}

Test(grader, malformed_rubric_line_is_located) {
    SCOPED_RUN r = {0};
    grade_one(&r, "clean", "# comment\nset timeout 2\ntest first\ntest second 1\n", NULL, NULL);
    cr_expect_eq(r.exit_code, 2, "expected exit 2, got %d", r.exit_code);
    cr_expect(strstr(r.err, "/clean:3: ") != NULL, "no file:line in:\n%s", r.err);
}

Test(grader, unknown_setting_is_an_error) {
    SCOPED_RUN r = {0};
    grade_one(&r, "clean", "set colour blue\ntest first 1\n", NULL, NULL);
    cr_expect_eq(r.exit_code, 2);
    cr_expect(strstr(r.err, "/clean:1: unknown setting 'colour'") != NULL, "stderr:\n%s", r.err);
}

Test(grader, bad_values_are_errors) {
    static const char *const bad[] = {
        "test first one\n",
        "test first 1 secret\n",
        "test first 1\ntest first 2\n",
        "set timeout 0\ntest a 1\n",
        "set memory 12Q\ntest a 1\n",
        "set privileged maybe\ntest a 1\n",
        "bogus line\n",
        "set timeout 1\n",
        "test first -1\n",
        "set timeout 2\nset timeout 3\ntest a 1\n",
        "test first 1\nhint firts a typo matches no test\n",
        "test first 1\nhint first\n",
        "test first 1\ntwin second ghost\n",
        "test first 1\ntwin second first\ntwin later second\n",
        "test first 0\ntwin second first\n",
        "test first 1\ntwin second first\ntwin later first\n",
        "twin first\n",
        "set device /etc/passwd\ntest first 1\n",
        "set device /dev/../etc/passwd\ntest first 1\n",
        "set device /dev/kvm /dev/null\ntest first 1\n",
        "set cpu 0\ntest first 1\n",
        "set cpu 1.5\ntest first 1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        SCOPED_RUN r = {0};
        grade_one(&r, "clean", bad[i], NULL, NULL);
        cr_expect_eq(r.exit_code, 2, "rubric %zu (%s) was accepted", i, bad[i]);
        cr_expect(strstr(r.err, "/clean:") != NULL, "rubric %zu: no location in:\n%s", i, r.err);
    }
}

Test(grader, comments_titles_and_decimals_parse) {
    SCOPED_RUN r = {0};
    grade_one(&r, "clean",
              "# header\n\nset title  Lab #1:  the  title   # trailing comment\n"
              "set timeout 2.5   # seconds\nset memory 512M\nset fsize 1G\nset procs 16\n"
              "set cpu 9\nset lab_timeout 60\nset privileged no\n"
              "test first 0.25 visible\ntest second 1.75 hidden # why\ntest later 1\n",
              NULL, NULL);
    cr_expect_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cr_expect(strstr(r.out, "== clean: Lab #1:  the  title (3 tests, 3 points)") != NULL,
              "stdout:\n%s", r.out);
    cr_expect(strstr(r.out, "score: 2/3\n") != NULL, "stdout:\n%s", r.out);
}

Test(grader, expect_full) {
    SCOPED_RUN r = {0};
    grade_one(&r, "clean", clean_rubric, "--expect", "full");
    cr_expect_eq(r.exit_code, 0, "a fully passing lab (one skip) failed --expect full:\n%s", r.out);
    cr_expect(strstr(r.out, "clean/later was skipped") != NULL, "the skip was not reported");

    grade_one(&r, "good", good_rubric, "--expect", "full");
    cr_expect_eq(r.exit_code, 1, "a failing test passed --expect full");
    cr_expect(strstr(r.out, "expect full: good/fails: FAIL") != NULL, "stdout:\n%s", r.out);

    grade_one(&r, "clean", "test first 1\ntest later 1\n", "--expect", "full");
    cr_expect_eq(r.exit_code, 1, "a test missing from the rubric passed --expect full");
    cr_expect(strstr(r.out, "clean/second is in the test binary but not in the rubric") != NULL,
              "stdout:\n%s", r.out);
    cr_expect(strstr(r.out, "  warning: clean/second is in the test binary but not in the rubric "
                            "(0 points)\n") != NULL,
              "the terminal does not warn, under the lab, of the test left out:\n%s", r.out);

    /* every report warns of it too */
    char *out;
    grade_kept(&r, "clean", "test first 1\ntest later 1\n", NULL, &out);
    static const char warning[] = "clean/second is in the test binary but not in the rubric";
    cJSON *res = report_json(out, "results.json");
    cr_expect(strstr(str_field(res, "output"), warning) != NULL, "results.json's output:\n%s",
              str_field(res, "output"));
    cJSON_Delete(res);
    const char *files[][2] = {{"summary.md", "> warning: "},
                              {"report.html", "<p class=\"warn\">warning: "}};
    for (size_t i = 0; i < 2; i++) {
        char *p = xasprintf("%s/%s", out, files[i][0]);
        char *text = slurp(p);
        char *want = xasprintf("%s%s", files[i][1], warning);
        cr_expect(text && strstr(text, want), "%s has no \"%s\":\n%s", files[i][0], want,
                  text ? text : "");
        free(want);
        free(text);
        free(p);
    }
    free(out);
}

Test(grader, only_grades_matching_tests) {
    SCOPED_RUN r = {0};
    grade_one(&r, "good", good_rubric, "--only", "pass_*");
    cr_expect_eq(r.exit_code, 0, "stdout:\n%s", r.out);
    cr_expect(strstr(r.out, "score: 3.5/3.5\n") != NULL && strstr(r.out, "3 passed, 0 failed\n"),
              "--only pass_* should grade exactly the three pass_ tests:\n%s", r.out);
    cr_expect(strstr(r.out, "good/fails") == NULL && strstr(r.out, "not in the rubric") == NULL,
              "tests left out by --only must be neither run nor reported:\n%s", r.out);
    grade_one(&r, "good", good_rubric, "--only", "pass_one  fails");
    cr_expect(strstr(r.out, "score: 1/2.5\n") != NULL && strstr(r.out, "1 passed, 1 failed\n"),
              "--only with two patterns should grade pass_one and fails:\n%s", r.out);
    grade_one(&r, "good", good_rubric, "--only", "nothing*");
    cr_expect_eq(r.exit_code, 2, "a pattern matching no test must be an error:\n%s", r.out);
}

/* `twin`: a twin that runs takes half its base's points; one that skips is left out of the
 * total and its base keeps them all. */
Test(grader, twins_share_or_leave_points) {
    static const char twins[] = "test pass_one 2\ntwin pass_two pass_one\ntest pass_three 2\n"
                                "twin skipped pass_three\ntest fails 2\n";
    SCOPED_RUN r = {0};
    grade_one(&r, "good", twins, NULL, NULL);
    cr_expect_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cr_expect(strstr(r.out, "(5 tests, 6 points)") != NULL, "stdout:\n%s", r.out);
    cr_expect(strstr(r.out, "score: 4/6\n") != NULL, "stdout:\n%s", r.out);
    cr_expect(strstr(r.out, "PASS       1.0/1.0") != NULL, "pass_one and its twin: 1 each:\n%s",
              r.out);
    cr_expect(strstr(r.out, "PASS       2.0/2.0") != NULL, "pass_three keeps 2:\n%s", r.out);
    cr_expect(strstr(r.out, "SKIP       0.0/0.0") != NULL, "the skipped twin is out:\n%s", r.out);
    cr_expect(strstr(r.out, "left out of the total") != NULL, "stdout:\n%s", r.out);
    /* the twin alone (its base left out by --only): worth its half */
    grade_one(&r, "good", twins, "--only", "pass_two");
    cr_expect(strstr(r.out, "score: 1/1\n") != NULL, "stdout:\n%s", r.out);
}

/* `set device`: the run gets a node of the device that its uid may open, the host's node stays
 * as it was. Only a root grader drops tests to another uid; /dev/kvm must exist and be closed
 * to that uid for the check to mean anything. */
Test(grader, device_node_given_to_the_run) {
    struct stat before, after;
    if (geteuid() != 0 || stat("/dev/kvm", &before) || (before.st_mode & 0077))
        cr_skip_test("needs a root grader and a root-only /dev/kvm");
    SCOPED_RUN r = {0};
    grade_one(&r, "device", "set timeout 5\ntest opens_kvm 1\n", NULL, NULL);
    cr_expect(strstr(r.out, "SKIP") != NULL,
              "without `set device` the test uid opened /dev/kvm:\n%s", r.out);
    grade_one(&r, "device", "set timeout 5\nset device /dev/kvm\ntest opens_kvm 1\n", NULL, NULL);
    cr_expect(strstr(r.out, "score: 1/1\n") != NULL, "the run got no usable /dev/kvm:\n%s", r.out);
    cr_assert_eq(stat("/dev/kvm", &after), 0);
    cr_expect(after.st_mode == before.st_mode && after.st_uid == before.st_uid &&
                  after.st_gid == before.st_gid,
              "the host's /dev/kvm changed");
}

Test(grader, test_missing_from_binary) {
    SCOPED_RUN r = {0};
    grade_one(&r, "clean", "test first 1\ntest second 1\ntest later 1\ntest ghost 3\n", NULL, NULL);
    cr_expect_eq(r.exit_code, 0);
    cr_expect(strstr(r.out, "FAIL       0.0/3.0") != NULL, "stdout:\n%s", r.out);
    cr_expect(strstr(r.out, "test missing from binary") != NULL, "stdout:\n%s", r.out);
    grade_one(&r, "clean", "test first 1\ntest second 1\ntest later 1\ntest ghost 3\n", "--expect",
              "full");
    cr_expect_eq(r.exit_code, 1);
}

Test(grader, expect_zero) {
    SCOPED_RUN r = {0};
    grade_one(&r, "nolist", "set timeout 2\ntest never_runs 1\n", "--expect", "zero");
    cr_expect_eq(r.exit_code, 0, "a lab scoring 0 failed --expect zero:\n%s", r.out);
    grade_one(&r, "clean", clean_rubric, "--expect", "zero");
    cr_expect_eq(r.exit_code, 1, "a passing lab passed --expect zero");
}

Test(grader, kills) {
    SCOPED_RUN r = {0};
    grade_one(&r, "good", good_rubric, "--kills", "fails");
    cr_expect_eq(r.exit_code, 0, "a failing test did not count as killed:\n%s", r.out);
    grade_one(&r, "good", good_rubric, "--kills", "good/fails skipped");
    cr_expect_eq(r.exit_code, 0, "failing and skipped tests did not count as killed:\n%s", r.out);
    grade_one(&r, "good", good_rubric, "--kills", "fails pass_two");
    cr_expect_eq(r.exit_code, 1, "a passing test counted as killed");
    cr_expect(strstr(r.out, "good/pass_two passed") != NULL, "stdout:\n%s", r.out);
    grade_one(&r, "good", good_rubric, "--kills", "no_such_test");
    cr_expect_eq(r.exit_code, 1, "an unknown test counted as killed");
    cr_expect(strstr(r.out, "no test no_such_test") != NULL, "stdout:\n%s", r.out);
}

Test(grader, missing_binary_scores_zero) {
    char *rd = rubric_dir("clean", clean_rubric);
    char *build = xasprintf("%s/empty-build", rd);
    char *out = xasprintf("%s/out", rd);
    char *lab_dir = xasprintf("%s/clean", build);
    char *log = xasprintf("%s/build.log", lab_dir);
    mkdir(build, 0755);
    mkdir(lab_dir, 0755);
    spit(log,
         "cc -c clean.c\nclean.c:3:1: error: expected ';' before '}' token\nmake: *** Error 1\n");
    SCOPED_RUN r = {0};
    GRADER(&r, NULL, "--build", build, "--rubric", rd, "--out", out, "--quiet");
    cr_expect_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cr_expect(strstr(r.out, "score: 0/3\n0 passed, 3 failed\n") != NULL, "stdout:\n%s", r.out);
    char *path = xasprintf("%s/results.json", out);
    char *json = slurp(path);
    cr_assert_not_null(json);
    cr_expect(strstr(json, "does not compile: ") != NULL, "results.json:\n%s", json);
    cr_expect(strstr(json, "clean.c:3:1: error: expected ';'") != NULL,
              "the compiler's words from build.log are not in results.json:\n%s", json);
    char *where = xasprintf("... (full log: %s)", log);
    cr_expect(strstr(json, where) != NULL, "results.json does not say where the log is (%s):\n%s",
              where, json);
    free(where);
    free(json);
    free(lab_dir);
    free(log);
    free(path);
    free(build);
    free(out);
    free(rd);
}

/* Gradescope shows results.json's top-level output to students: tests not yet visible are
 * counted there, never named or added into the visible totals, and the grader's stdout, which
 * names them all, is for instructors only. */
Test(grader, gradescope_hides_what_is_hidden) {
    const struct full *f = full_run();
    cr_assert_not_null(f->results);
    cr_expect_str_eq(str_field(f->results, "stdout_visibility"), "hidden");
    const char *out = str_field(f->results, "output");
    /* good: pass_one 1/1 and fails 0/1.5 are visible; pass_two (hidden), pass_three
     * (after_due_date) and skipped (after_published) are not */
    cr_expect(strstr(out, "1/2.5 on the visible tests, 1 passed, 1 failed\n") != NULL,
              "the visible totals are not good's visible tests alone:\n%s", out);
    cr_expect(strstr(out, "and 3 more tests worth 3.5 points, not shown here") != NULL,
              "the tests not yet visible are not counted:\n%s", out);
    cr_expect(strstr(out, "pass_two") == NULL, "a hidden test is named:\n%s", out);
}

/* The rubric's task headings (`# TITLE — N points`) give subtotals in the terminal, summary.md
 * and report.html; report.html names and links the first failure at its top. */
Test(grader, task_subtotals) {
    const struct full *f = full_run();
    const char *out = f->run.out ? f->run.out : "";
    cr_expect(
        strstr(out, "\n       3.5/3.5  Part A: the passes\n       0.0/2.5  Part B: the rest\n") !=
            NULL,
        "the terminal has no subtotals of good's two parts:\n%s", out);
    cr_assert_not_null(f->summary);
    cr_expect(strstr(f->summary, "| Part A: the passes | 3.5/3.5 | 3/3 |") &&
                  strstr(f->summary, "| Part B: the rest | 0.0/2.5 | 0/2 |"),
              "summary.md has no task table:\n%s", f->summary);
    cr_assert_not_null(f->html);
    cr_expect(strstr(f->html, "<td>Part B: the rest</td><td class=\"num\">0.0/2.5</td>") != NULL,
              "report.html has no task table");
    const char *first = strstr(f->html, "First failure: <a href=\"#segv-null_deref\">");
    cr_expect(first != NULL, "report.html does not open with the first failure (segv/null_deref)");
    cr_expect(first && first < strstr(f->html, "<h2>"), "the first failure is not at the top");
    cr_expect(strstr(f->html, "<tr id=\"segv-null_deref\">") != NULL, "the link has no target");
}

/* A grade run of one self-test lab with its own rubric text, reports kept in *out_dir. */
static void grade_kept(struct grader_run *r, const char *lab, const char *rubric_text,
                       const char *about, char **out_dir) {
    char *rd = rubric_dir(lab, rubric_text);
    char *out = xasprintf("%s/out", rd);
    char *about_path = xasprintf("%s/about.txt", rd);
    if (about) spit(about_path, about);
    if (about)
        GRADER(r, NULL, "--build", selftest_build(), "--rubric", rd, "--out", out, "--about",
               about_path, lab);
    else
        GRADER(r, NULL, "--build", selftest_build(), "--rubric", rd, "--out", out, lab);
    free(about_path);
    free(rd);
    *out_dir = out;
}

static cJSON *report_json(const char *dir, const char *name) {
    char *p = xasprintf("%s/%s", dir, name);
    char *text = slurp(p);
    cr_assert_not_null(text, "%s was not written", p);
    cJSON *j = cJSON_Parse(text);
    cr_assert_not_null(j, "%s does not parse:\n%s", p, text);
    free(text);
    free(p);
    return j;
}

static bool lists_test(cJSON *report, const char *name) {
    cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(report, "tests")) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(t, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0) return true;
    }
    return false;
}

/* A SKIP worth no points (a kvm_* test without /dev/kvm) is neither a pass nor a failure for
 * Gradescope or Classroom: left out of both, said once in the summary; full marks stay a pass.
 * The --about text (what hosted-grade.sh took from the submission) heads the output. */
Test(grader, worthless_skips_left_out) {
    SCOPED_RUN r = {0};
    char *out;
    grade_kept(&r, "clean", "test first 1\ntest second 1\ntest later 0\n",
               "labs/clean/clean.c: taken from the submission", &out);
    cr_assert_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cJSON *res = report_json(out, "results.json");
    cr_expect(!lists_test(res, "clean/later"), "results.json lists the 0-point skip");
    cr_expect(lists_test(res, "clean/first"), "results.json lost a graded test");
    const char *o = str_field(res, "output");
    cr_expect(strncmp(o, "labs/clean/clean.c: taken from the submission\n", 46) == 0,
              "the --about text does not head the output:\n%s", o);
    cr_expect(strstr(o, "1 test worth no points skipped here (later: needs a later lab)") != NULL,
              "the output does not say what was left out:\n%s", o);
    cJSON *cls = report_json(out, "classroom.json");
    cr_expect(!lists_test(cls, "clean/later"), "classroom.json lists the 0-point skip");
    cr_expect_str_eq(str_field(cls, "status"), "pass", "full marks are a failed check");
    cr_expect(fabs(num_field(cls, "max_score") - 2) < 1e-9);
    char *p = xasprintf("%s/summary.md", out);
    char *md = slurp(p);
    cr_expect(md && strstr(md, "labs/clean/clean.c: taken from the submission"),
              "summary.md has no --about text:\n%s", md ? md : "");
    free(md);
    free(p);
    cJSON_Delete(res);
    cJSON_Delete(cls);

    /* a skip worth points lost them: it stays, as Classroom's "fail" */
    free(out);
    grade_kept(&r, "clean", "test first 1\ntest second 1\ntest later 1\n", NULL, &out);
    cls = report_json(out, "classroom.json");
    cr_expect(lists_test(cls, "clean/later"), "a skip worth points is left out");
    cr_expect_str_eq(str_field(cls, "status"), "fail", "a lost point is a passed check");
    cJSON_Delete(cls);
    free(out);
}

/* The terminal shows five lines of a message and names the file that has the rest. */
Test(grader, terminal_names_the_report) {
    SCOPED_RUN r = {0};
    char *out;
    grade_kept(&r, "longmsg", "set timeout 5\ntest seven_lines 1\n", NULL, &out);
    cr_assert_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    char *want = xasprintf("... (2 more lines in %s/report.html)\n", out);
    cr_expect(strstr(r.out, "line 5\n") != NULL && strstr(r.out, "line 6") == NULL,
              "the terminal does not show exactly five lines:\n%s", r.out);
    cr_expect(strstr(r.out, want) != NULL, "no \"%s\" in:\n%s", want, r.out);
    free(want);
    free(out);
}

Test(grader, quiet_prints_totals_only) {
    SCOPED_RUN r = {0};
    grade_one(&r, "good", good_rubric, "--quiet", NULL);
    cr_expect_eq(r.exit_code, 0);
    static const char first[] = "-- good: 3.5/6 (3 passed, 1 failed, 1 skipped) in ";
    const char *rest = strchr(r.out, '\n');
    cr_expect(strncmp(r.out, first, strlen(first)) == 0, "stdout:\n%s", r.out);
    cr_expect(rest && strcmp(rest, "\nscore: 3.5/6\n3 passed, 1 failed, 1 skipped\n") == 0,
              "stdout:\n%s", r.out);
}

Test(grader, usage_and_infrastructure_errors) {
    SCOPED_RUN r = {0};
    GRADER(&r, NULL, "--rubric", selftest_rubric(), "good");
    cr_expect_eq(r.exit_code, 2, "no --build was accepted");
    GRADER(&r, NULL, "--build", selftest_build(), "--expect", "most", "good");
    cr_expect_eq(r.exit_code, 2, "--expect most was accepted");
    GRADER(&r, NULL, "--build", selftest_build(), "--rubric", selftest_rubric(), "no_such_lab");
    cr_expect_eq(r.exit_code, 2, "a lab without a rubric was accepted");
    GRADER(&r, NULL, "--build", selftest_build(), "--rubric", selftest_rubric(), "--out",
           "/proc/vlab-grade-cannot-write-here", "good");
    cr_expect_eq(r.exit_code, 2, "an unwritable output dir was accepted");
    cr_expect(strstr(r.err, "/proc/vlab-grade-cannot-write-here") != NULL, "stderr:\n%s", r.err);
    /* a lab name is a name, not a path: ../clean must not reach the rubric dir's parent */
    char *rd = rubric_dir("clean", clean_rubric);
    char *sub = xasprintf("%s/sub", rd);
    cr_assert(mkdir(sub, 0755) == 0);
    GRADER(&r, NULL, "--build", selftest_build(), "--rubric", sub, "../clean");
    cr_expect_eq(r.exit_code, 2, "the lab '../clean' was accepted:\n%s", r.out);
    cr_expect(strstr(r.err, "'../clean' is not a lab name") != NULL, "stderr:\n%s", r.err);
    free(sub);
    free(rd);
}

/* ---- where a grade was made ---------------------------------------------------------------- */

/* The machine as this process sees it, found independently of the grader's own probe: the
 * cgroup layout from the mount table (the grader asks statfs), /dev/kvm by opening it. */
struct where {
    char arch[65], kernel[65];
    bool root, kvm;
    const char *cgroup;
    char host[512]; /* the grader's words for all of it */
};

static const char *cgroup_from_mounts(void) {
    FILE *f = fopen("/proc/self/mounts", "r");
    cr_assert_not_null(f, "/proc/self/mounts: %s", strerror(errno));
    char dir[1024], type[128];
    bool v1 = false, v2 = false, v2_root = false;
    while (fscanf(f, "%*s %1023s %127s %*[^\n]", dir, type) == 2) {
        if (strcmp(type, "cgroup2") == 0) {
            v2 = true;
            v2_root |= strcmp(dir, "/sys/fs/cgroup") == 0;
        } else if (strcmp(type, "cgroup") == 0) {
            v1 = true;
        }
    }
    fclose(f);
    return v2_root ? "v2" : v1 && v2 ? "hybrid" : v1 ? "v1" : "none";
}

/* What a grader running as uid (0: root) reports about this machine. */
static void where_for(struct where *w, uid_t uid) {
    struct utsname u;
    cr_assert_eq(uname(&u), 0);
    snprintf(w->arch, sizeof w->arch, "%s", u.machine);
    snprintf(w->kernel, sizeof w->kernel, "%s", u.release);
    w->root = uid == 0;
    w->cgroup = cgroup_from_mounts();
    struct stat st;
    /* a user other than root opens it only if the node lets others (not this machine's) */
    w->kvm = strcmp(u.machine, "x86_64") == 0 && stat("/dev/kvm", &st) == 0 &&
             (uid == 0 || (st.st_mode & 0006) == 0006);
    char who[64];
    if (w->root)
        snprintf(who, sizeof who, "as root");
    else
        snprintf(who, sizeof who, "as uid %u (not root)", (unsigned)uid);
    const char *cg = strcmp(w->cgroup, "none") == 0     ? ", no cgroup file system"
                     : strcmp(w->cgroup, "hybrid") == 0 ? ", cgroup v1 and v2 (hybrid)"
                     : strcmp(w->cgroup, "v2") == 0     ? ", cgroup v2"
                                                        : ", cgroup v1";
    snprintf(w->host, sizeof w->host, "%s, Linux %s, %s%s, %s", w->arch, w->kernel, who, cg,
             w->kvm ? "/dev/kvm usable" : "no usable /dev/kvm");
}

/* results.json's extra_data and classroom.json: "machine" and "labs" (clean, device). */
static void expect_where_json(cJSON *o, const char *file, const struct where *w,
                              const char *runs_as, const char *backend) {
    cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "machine");
    cr_assert(cJSON_IsObject(m), "%s has no \"machine\"", file);
    cr_expect_str_eq(str_field(m, "arch"), w->arch, "%s: arch", file);
    cr_expect_str_eq(str_field(m, "kernel"), w->kernel, "%s: kernel", file);
    cr_expect_str_eq(str_field(m, "cgroup"), w->cgroup, "%s: cgroup", file);
    cr_expect(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(m, "root")) &&
                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "root")) == w->root,
              "%s: root is not %d", file, w->root);
    cr_expect(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(m, "kvm")) &&
                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "kvm")) == w->kvm,
              "%s: kvm is not %d", file, w->kvm);
    cJSON *labs = cJSON_GetObjectItemCaseSensitive(o, "labs");
    cJSON *clean = cJSON_GetObjectItemCaseSensitive(labs, "clean");
    cJSON *device = cJSON_GetObjectItemCaseSensitive(labs, "device");
    cr_assert(cJSON_IsObject(clean) && cJSON_IsObject(device), "%s: no labs.clean, labs.device",
              file);
    cr_expect_str_eq(str_field(clean, "runs_as"), runs_as, "%s: clean's runs_as", file);
    cr_expect_str_eq(str_field(device, "runs_as"), runs_as, "%s: device's runs_as", file);
    cr_expect_null(cJSON_GetObjectItemCaseSensitive(clean, "backend"),
                   "%s: a lab without /dev/kvm has a backend", file);
    cr_expect_str_eq(str_field(device, "backend"), backend, "%s: device's backend", file);
}

/* Backslash escapes (Markdown's) taken out, to find plain text in summary.md. */
static char *md_plain(const char *s) {
    char *p = strdup(s), *q = p;
    cr_assert_not_null(p);
    for (; *s; s++) {
        if (*s == '\\' && s[1]) s++;
        *q++ = *s;
    }
    *q = '\0';
    return p;
}

/* Every report of a run grading clean and device (`set device /dev/kvm`) names the machine
 * (arch, kernel, root, cgroup, /dev/kvm) and, per lab, whom its tests ran as and, for the lab
 * given /dev/kvm, its backend. */
static void expect_where(const char *out, const struct grader_run *r, const struct where *w,
                         const char *runs_as, const char *backend) {
    cJSON *res = report_json(out, "results.json");
    cJSON *extra = cJSON_GetObjectItemCaseSensitive(res, "extra_data");
    cr_assert(cJSON_IsObject(extra), "results.json has no extra_data");
    expect_where_json(extra, "results.json", w, runs_as, backend);
    char *graded_on = xasprintf("graded on %s\n", w->host);
    char *on_backend = xasprintf("tests ran as %s, on the %s backend", runs_as, backend);
    char *plain = xasprintf("tests ran as %s\n", runs_as);
    const char *o = str_field(res, "output");
    cr_expect(strstr(o, graded_on) != NULL, "results.json's output lacks \"%s\":\n%s", graded_on,
              o);
    cr_expect(strstr(o, on_backend) != NULL && strstr(o, plain) != NULL,
              "results.json's output does not say how each lab ran (%s):\n%s", on_backend, o);
    cJSON_Delete(res);
    cJSON *cls = report_json(out, "classroom.json");
    expect_where_json(cls, "classroom.json", w, runs_as, backend);
    cJSON_Delete(cls);

    char *p = xasprintf("%s/junit.xml", out);
    char *xml = slurp(p);
    cr_assert_not_null(xml, "%s was not written", p);
    cr_expect_null(xml_problem(xml), "junit.xml is malformed: %s", xml_problem(xml));
    const char *facts[][2] = {{"arch", w->arch},
                              {"kernel", w->kernel},
                              {"root", w->root ? "true" : "false"},
                              {"cgroup", w->cgroup},
                              {"kvm", w->kvm ? "true" : "false"},
                              {"runs_as", runs_as}};
    for (size_t i = 0; i < sizeof facts / sizeof *facts; i++) {
        char *prop = xasprintf("<property name=\"%s\" value=\"%s\"/>", facts[i][0], facts[i][1]);
        cr_expect_eq(count_of(xml, prop), 2, "junit.xml: not one %s per suite:\n%s", prop, xml);
        free(prop);
    }
    char *prop = xasprintf("<property name=\"backend\" value=\"%s\"/>", backend);
    const char *suite = strstr(xml, "<testsuite name=\"device\"");
    cr_expect(count_of(xml, prop) == 1 && suite && strstr(suite, prop) &&
                  strstr(suite, prop) < strstr(suite, "<testcase"),
              "junit.xml: no %s in the device suite's properties:\n%s", prop, xml);
    free(prop);
    free(xml);
    free(p);

    p = xasprintf("%s/summary.md", out);
    char *md = slurp(p);
    cr_assert_not_null(md, "%s was not written", p);
    char *text = md_plain(md);
    char *want = xasprintf("Graded on %s\n", w->host);
    cr_expect(strstr(text, want) != NULL, "summary.md lacks \"%s\":\n%s", want, md);
    cr_expect(strstr(text, on_backend) != NULL && strstr(text, plain) != NULL,
              "summary.md does not say how each lab ran (%s):\n%s", on_backend, md);
    free(want);
    free(text);
    free(md);
    free(p);

    p = xasprintf("%s/report.html", out);
    char *html = slurp(p);
    cr_assert_not_null(html, "%s was not written", p);
    want = xasprintf("<p class=\"where\">Graded on %s</p>", w->host);
    cr_expect(strstr(html, want) != NULL, "report.html lacks \"%s\"", want);
    free(want);
    want = xasprintf("<p class=\"where\">%s</p>", on_backend);
    cr_expect(strstr(html, want) != NULL, "report.html lacks \"%s\"", want);
    free(want);
    want = xasprintf("<p class=\"where\">tests ran as %s</p>", runs_as);
    cr_expect(strstr(html, want) != NULL, "report.html lacks \"%s\"", want);
    free(want);
    free(html);
    free(p);

    want = xasprintf("vlab-grade on %s\n", w->host);
    cr_expect(strstr(r->out, want) != NULL, "the terminal lacks \"%s\":\n%s", want, r->out);
    free(want);
    free(graded_on);
    free(on_backend);
    free(plain);
}

Test(grader, reports_say_where_they_ran) {
    char *rd = new_tmp_dir();
    char *p = xasprintf("%s/device", rd);
    spit(p, "set timeout 5\nset device /dev/kvm\ntest opens_kvm 1\n");
    free(p);
    p = xasprintf("%s/clean", rd);
    spit(p, clean_rubric);
    free(p);
    char *out = xasprintf("%s/out", rd);
    SCOPED_RUN r = {0};
    GRADER(&r, NULL, "--build", selftest_build(), "--rubric", rd, "--out", out, "clean", "device");
    cr_assert_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    struct where w;
    where_for(&w, geteuid());
    char *runs_as = geteuid() == 0 ? xasprintf("uid %s", test_uid_text())
                                   : xasprintf("uid %u", (unsigned)geteuid());
    expect_where(out, &r, &w, runs_as, w.kvm ? "kvm" : "unicorn");
    free(runs_as);

    /* a student's grader on a machine whose /dev/kvm is root's: not root, the Unicorn backend */
    struct stat st;
    if (geteuid() == 0 && stat("/dev/kvm", &st) == 0 && (st.st_mode & 0006) == 0) {
        uid_t student = test_uid() - 2;
        char *out2 = xasprintf("%s/out-student", rd);
        cr_assert(mkdir(out2, 0755) == 0 && chown(out2, student, student) == 0);
        char *as = xasprintf("AS_UID=%u", (unsigned)student);
        const char *env[] = {as, NULL};
        int lk = lock_runs();
        run_grader_locked(&r, env,
                          (const char *const[]){"--build", selftest_build(), "--rubric", rd,
                                                "--out", out2, "clean", "device", NULL});
        unlock_runs(lk);
        cr_assert_eq(r.exit_code, 0, "stderr:\n%s", r.err);
        where_for(&w, student);
        runs_as = xasprintf("uid %u", (unsigned)student);
        expect_where(out2, &r, &w, runs_as, "unicorn");
        cr_expect(strstr(r.out, "[no /dev/kvm: kvm tests skip, graded on the Unicorn backend]"),
                  "the device lab's header does not say it runs on Unicorn:\n%s", r.out);
        free(runs_as);
        free(as);
        free(out2);
    }
    free(out);
    free(rd);
}

/* ---- each status in each format ------------------------------------------------------------ */

/* The Markdown the summary shows for plain text: backslash before Markdown's punctuation. */
static char *md_escaped(const char *s) {
    char *out = calloc(2 * strlen(s) + 1, 1), *q = out;
    cr_assert_not_null(out);
    for (; *s; s++) {
        if (strchr("\\`*_[]<>|~&#!", *s)) *q++ = '\\';
        *q++ = *s;
    }
    return out;
}

/* A test's JUnit element: from its <testcase to the next one or the suite's end. */
static char *junit_case(const char *xml, const char *lab, const char *name) {
    char *start = xasprintf("<testcase classname=\"%s\" name=\"%s\"", lab, name);
    const char *p = strstr(xml, start);
    cr_assert_not_null(p, "junit.xml has no %s", start);
    const char *end = strstr(p + 1, "<testcase");
    const char *suite_end = strstr(p, "</testsuite>");
    if (!end || (suite_end && suite_end < end)) end = suite_end;
    cr_assert_not_null(end);
    free(start);
    return strndup(p, (size_t)(end - p));
}

/* Each status as every report shows it: Gradescope has no SKIP (the score says it), JUnit a
 * <failure>, <error> or <skipped> (no type) or nothing, the summary an icon of its own, the HTML
 * a class, Classroom pass, fail (a skip worth points lost them) or error. */
Test(grader, each_format_shows_each_status) {
    static const struct {
        const char *lab, *name, *word, *icon, *junit, *classroom;
    } cases[] = {
        {"good", "pass_one", "PASS", "✅", NULL, "pass"},
        {"good", "fails", "FAIL", "❌", "failure", "fail"},
        {"segv", "null_deref", "CRASH", "💥", "error", "error"},
        {"hang", "spin", "TIMEOUT", "⏱️", "error", "error"},
        {"good", "skipped", "SKIP", "⏭️", "skipped", "fail"},
    };
    const struct full *f = full_run();
    cr_assert(f->junit && f->summary && f->html, "a report is missing");
    char *path = xasprintf("%s/classroom.json", f->out_dir);
    char *text = slurp(path);
    cr_assert_not_null(text);
    cJSON *cls = cJSON_Parse(text);
    cr_assert_not_null(cls);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *lab = cases[i].lab, *name = cases[i].name, *word = cases[i].word;
        char *full = xasprintf("%s/%s", lab, name);
        expect_test(f, full, word, 0 + (strcmp(word, "PASS") == 0), NULL);

        char *jc = junit_case(f->junit, lab, name);
        if (!cases[i].junit) {
            cr_expect(strstr(jc, "<failure") == NULL && strstr(jc, "<error") == NULL &&
                          strstr(jc, "<skipped") == NULL,
                      "junit.xml: the %s %s has a result element:\n%s", word, full, jc);
        } else {
            char *elem = xasprintf("<%s message=\"", cases[i].junit);
            char *type = xasprintf("type=\"%s\"", word);
            cr_expect(strstr(jc, elem) != NULL, "junit.xml: the %s %s is no %s:\n%s", word, full,
                      elem, jc);
            if (strcmp(word, "SKIP") == 0)
                cr_expect(strstr(jc, "type=") == NULL, "junit.xml: a skip has a type:\n%s", jc);
            else
                cr_expect(strstr(jc, type) != NULL, "junit.xml: %s has no %s:\n%s", full, type, jc);
            free(elem);
            free(type);
        }
        free(jc);

        char *cell = md_escaped(name);
        char *row = xasprintf("| %s %s | %s | ", cases[i].icon, word, cell);
        cr_expect(strstr(f->summary, row) != NULL, "summary.md has no row \"%s\"", row);
        free(row);
        free(cell);

        row = xasprintf("<tr id=\"%s-%s\"><td class=\"st %s\">%s</td><td>%s</td>", lab, name, word,
                        word, name);
        cr_expect(strstr(f->html, row) != NULL, "report.html has no row \"%s\"", row);
        free(row);

        bool found = false;
        cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(cls, "tests")) {
            if (strcmp(str_field(t, "name"), full)) continue;
            found = true;
            cr_expect_str_eq(str_field(t, "status"), cases[i].classroom,
                             "classroom.json: the %s %s", word, full);
        }
        cr_expect(found, "classroom.json has no %s", full);
        free(full);
    }
    cJSON_Delete(cls);
    free(text);
    free(path);
}

/* ---- points that binary fractions cannot hold ---------------------------------------------- */

/* 0.1 + 0.2 is 0.30000000000000004 in binary, and 0.3 + 0.6 is 0.8999999999999999: every
 * report must say 0.3 for the lab and 0.9 for the grade, exactly. */
Test(grader, inexact_points_are_reported_exactly) {
    SCOPED_RUN r = {0};
    char *rd = rubric_dir("clean", "test first 0.1\ntest second 0.2\ntest later 0.05\n");
    char *p = xasprintf("%s/good", rd);
    spit(p, "test pass_one 0.6\ntest pass_two 0\ntest pass_three 0\ntest fails 0\n"
            "test skipped 0\n");
    free(p);
    char *out = xasprintf("%s/out", rd);
    GRADER(&r, NULL, "--build", selftest_build(), "--rubric", rd, "--out", out, "clean", "good");
    free(rd);
    cr_assert_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cr_expect(strstr(r.out, "score: 0.9/0.95\n") != NULL, "stdout:\n%s", r.out);
    cr_expect(strstr(r.out, "-- clean: 0.3/0.35 (") != NULL, "stdout:\n%s", r.out);
    cr_expect(strstr(r.out, "SKIP      0.0/0.05") != NULL, "stdout:\n%s", r.out);
    cJSON *res = report_json(out, "results.json");
    cr_expect(num_field(res, "score") == 0.9, "results.json: score %.17g, not 0.9",
              num_field(res, "score"));
    cr_expect(num_field(res, "max_score") == 0.95, "results.json: max_score %.17g, not 0.95",
              num_field(res, "max_score"));
    cr_expect(strstr(str_field(res, "output"), "clean (clean): 0.3/0.35, 2 passed") != NULL,
              "results.json output:\n%s", str_field(res, "output"));
    cJSON_Delete(res);
    cJSON *cls = report_json(out, "classroom.json");
    cr_expect(num_field(cls, "max_score") == 0.95, "classroom.json: max_score %.17g, not 0.95",
              num_field(cls, "max_score"));
    cJSON_Delete(cls);
    p = xasprintf("%s/summary.md", out);
    char *md = slurp(p);
    cr_assert_not_null(md);
    cr_expect(strstr(md, "— 0.3/0.35\n") && strstr(md, "**Total: 0.9/0.95**") &&
                  strstr(md, "| 0.0/0.05 |"),
              "summary.md:\n%s", md);
    free(md);
    free(p);
    free(out);
}

/* ---- Markdown and text that is not ASCII --------------------------------------------------- */

/* Titles and messages reach the summary's tables escaped (a '|' would split a cell), and
 * characters beyond ASCII reach every report as they were. */
Test(grader, markdown_cells_are_escaped) {
    SCOPED_RUN r = {0};
    char *out;
    grade_kept(&r, "good",
               "set title  Lab | é_1 *x* €\n"
               "# Part | one_é — 3.5 points\n"
               "test pass_one 1\ntest pass_two 2\ntest pass_three 0.5\n"
               "# Part B — 2.5 points\n"
               "test fails 1.5\ntest skipped 1\n",
               NULL, &out);
    cr_assert_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    char *p = xasprintf("%s/summary.md", out);
    char *md = slurp(p);
    cr_assert_not_null(md);
    cr_expect(strstr(md, "## good: Lab \\| é\\_1 \\*x\\* € — 3.5/6\n") != NULL,
              "summary.md's heading:\n%s", md);
    cr_expect(strstr(md, "\n| Part \\| one\\_é | 3.5/3.5 | 3/3 |\n") != NULL,
              "summary.md's task table:\n%s", md);
    cr_expect(strstr(md, "| ❌ FAIL | fails | 0.0/1.5 | ") &&
                  strstr(md, ": expected 42, got 41 \\<b\\>\\&\"quoted\"\\</b\\> C:\\\\temp  "
                             "\\]\\]\\> |\n"),
              "summary.md's row of the failure:\n%s", md);
    free(md);
    free(p);
    p = xasprintf("%s/report.html", out);
    char *html = slurp(p);
    cr_assert_not_null(html);
    cr_expect(strstr(html, "<h2>good: Lab | é_1 *x* € — 3.5/6</h2>") != NULL, "report.html:\n%s",
              html);
    cr_expect(strstr(html, "<td>Part | one_é</td>") != NULL, "report.html:\n%s", html);
    free(html);
    free(p);
    cr_expect(strstr(r.out, "== good: Lab | é_1 *x* € (5 tests") != NULL, "stdout:\n%s", r.out);
    free(out);
}

/* ---- a binary whose listing goes wrong ----------------------------------------------------- */

static const char lister_rubric[] = "set timeout 1\ntest shown 1\ntest off 1\ntest z 1\n"
                                    "test prints 1\ntest own_session 1\n";

static void grade_lister(struct grader_run *r, const char *mode, char **out_dir) {
    char *rd = rubric_dir("lister", lister_rubric);
    char *out = xasprintf("%s/out", rd);
    char *env_mode = xasprintf("LISTER=%s", mode ? mode : "");
    const char *env[] = {mode ? env_mode : NULL, NULL};
    int lk = lock_runs();
    run_grader_locked(r, env,
                      (const char *const[]){"--build", selftest_build(), "--rubric", rd, "--out",
                                            out, "lister", NULL});
    unlock_runs(lk);
    free(env_mode);
    free(rd);
    *out_dir = out;
}

/* Every rubric test of a binary that hangs, fails or prints no list when asked for its tests
 * is a CRASH saying which, within the test time limit; one that lists them is graded, its
 * disabled tests (listed as "NAME (skipped)") as skips. */
Test(grader, listing_that_goes_wrong) {
    static const struct {
        const char *mode, *why;
    } cases[] = {
        {"hang", "test binary hung while listing its tests (killed after 1 s)"},
        {"exit", "test binary exited with status 3 before listing its tests"},
        {"noise", "test binary printed no Criterion test list for --list"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        SCOPED_RUN r = {0};
        char *out;
        grade_lister(&r, cases[i].mode, &out);
        cr_expect_eq(r.exit_code, 0, "LISTER=%s: stderr:\n%s", cases[i].mode, r.err);
        cr_expect(r.seconds < 15, "LISTER=%s: grading took %.1f s", cases[i].mode, r.seconds);
        cJSON *res = report_json(out, "results.json");
        struct full view = {.results = res, .run = r};
        const char *names[] = {"lister/shown", "lister/off", "lister/z", "lister/prints",
                               "lister/own_session"};
        for (size_t k = 0; k < 5; k++)
            expect_test(&view, names[k], "CRASH", 0, cases[i].why);
        cJSON_Delete(res);
        free(out);
    }

    SCOPED_RUN r = {0};
    char *out;
    grade_lister(&r, NULL, &out);
    cr_assert_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cJSON *res = report_json(out, "results.json");
    struct full view = {.results = res, .run = r};
    expect_test(&view, "lister/shown", "PASS", 1, NULL);
    expect_test(&view, "lister/off", "SKIP", 0, NULL);
    expect_test(&view, "lister/z", "SKIP", 0, NULL);
    /* CRLF as a newline, a byte that is not UTF-8 as U+FFFD (each byte of an encoded surrogate
     * too), U+FFFF as U+FFFD, an é and a no-break space as they were */
    expect_test(&view, "lister/prints", "PASS", 1,
                "é, \xEF\xBF\xBD, \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD, \xEF\xBF\xBD, "
                "a\xC2\xA0z and CRLF\nend");
    expect_test(&view, "lister/own_session", "PASS", 1, NULL);
    cr_expect(strstr(r.out, "not in the rubric") == NULL, "stdout:\n%s", r.out);
    cJSON_Delete(res);
    free(out);
}

/* A root grader refuses a test uid that already runs processes (it kills leftovers by uid, so
 * it would kill them too, and count them as the tests'). */
Test(grader, busy_test_uid_is_refused) {
    if (geteuid() != 0) cr_skip_test("only a root grader drops tests to a uid of their own");
    int lk = lock_runs();
    int ready[2];
    cr_assert(pipe(ready) == 0);
    pid_t squatter = fork();
    cr_assert(squatter >= 0);
    if (squatter == 0) {
        close(ready[0]);
        if (setgid(test_uid()) || setuid(test_uid())) _exit(1);
        close(ready[1]);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c;
    cr_assert(read(ready[0], &c, 1) == 0, "the squatter did not start");
    close(ready[0]);
    char *rd = rubric_dir("clean", clean_rubric);
    char *out = xasprintf("%s/out", rd);
    SCOPED_RUN r = {0};
    run_grader_locked(&r, NULL,
                      (const char *const[]){"--build", selftest_build(), "--rubric", rd, "--out",
                                            out, "clean", NULL});
    kill(squatter, SIGKILL);
    waitpid(squatter, NULL, 0);
    unlock_runs(lk);
    cr_expect_eq(r.exit_code, 2, "a busy test uid was used; stdout:\n%s", r.out);
    char *why = xasprintf("uid %s already has running processes", test_uid_text());
    cr_expect(strstr(r.err, why) != NULL, "stderr:\n%s", r.err);
    cr_expect(strstr(r.out, "clean/first") == NULL, "a test ran:\n%s", r.out);
    free(why);
    free(out);
    free(rd);
}

static void *parked(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

/* RLIMIT_NPROC counts every task of the user, threads included: a student's grader (no root,
 * no namespaces) adds what the user already runs to the lab's process limit. Here the student
 * runs a program of 150 threads: counted as one process, the limit (64 + a few) would be used up
 * before the tests' runner could fork its first worker. */
Test(grader, user_threads_count_in_the_process_limit) {
    if (geteuid() != 0) cr_skip_test("needs root to start another user's threads");
    uid_t student = test_uid() - 3;
    int lk = lock_runs();
    int ready[2];
    cr_assert(pipe(ready) == 0);
    fflush(NULL);
    pid_t many = fork();
    cr_assert(many >= 0);
    if (many == 0) {
        close(ready[0]);
        if (setgroups(0, NULL) || setgid(student) || setuid(student)) _exit(1);
        for (int i = 0; i < 150; i++) {
            pthread_t th;
            if (pthread_create(&th, NULL, parked, NULL)) _exit(1);
        }
        close(ready[1]);
        for (;;)
            pause();
    }
    close(ready[1]);
    char c;
    bool started = read(ready[0], &c, 1) == 0;
    close(ready[0]);
    char *rd = new_tmp_dir();
    char *out = xasprintf("%s/out", rd);
    cr_assert(mkdir(out, 0755) == 0 && chown(out, student, student) == 0);
    char *as = xasprintf("AS_UID=%u", (unsigned)student);
    const char *env[] = {as, "VLAB_GRADE_NS=0", NULL};
    SCOPED_RUN r = {0};
    if (started)
        run_grader_locked(&r, env,
                          (const char *const[]){"--build", selftest_build(), "--rubric",
                                                selftest_rubric(), "--out", out, "good", NULL});
    kill(many, SIGKILL);
    waitpid(many, NULL, 0);
    unlock_runs(lk);
    cr_assert(started, "harness: the student's 150 threads did not start");
    cr_expect_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    cr_expect(strstr(r.out, "score: 3.5/6\n") != NULL,
              "with the student's 150 threads running, the tests could not fork:\n%s", r.out);
    free(as);
    free(out);
    free(rd);
}

/* VLAB_TIME_SCALE (hosts where every instruction is emulated) stretches each wall-clock and CPU
 * limit by its factor and doubles the memory limit (qemu-user's own address space counts in it):
 * the messages say the limits the tests ran under. */
Test(grader, time_scale_stretches_limits) {
    SCOPED_RUN r = {0};
    char *rd = new_tmp_dir();
    char *out = xasprintf("%s/out", rd);
    const char *env[] = {"VLAB_TIME_SCALE=2", NULL};
    GRADER(&r, env, "--build", selftest_build(), "--rubric", selftest_rubric(), "--out", out,
           "--only", "burns_cpu sleeps touch_4g", "limits", "hang", "memhog");
    cr_expect_eq(r.exit_code, 0, "stderr:\n%s", r.err);
    /* limits: cpu 1, memory the 1G default; hang: timeout 1; memhog: memory 256M */
    const char *want[] = {"2 s of CPU time", "2048 MiB of memory", "still running after 2 s",
                          "512 MiB of memory"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_expect(strstr(r.out, want[i]) != NULL,
                  "with VLAB_TIME_SCALE=2 the terminal should say \"%s\":\n%s", want[i], r.out);
    free(out);
    free(rd);
}
