/* Task 5: how a container ends: exit status or signal, the timeout, daemons it leaves, and
 * cleanup when setting up fails. The cleanup check at the end of each test does the rest. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb_test.h"

Test(sandbox, life_exit_status, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, SB_SEC_LIFE, "exit", "7", NULL);
    cr_expect(t.res.exited && t.res.status == 7 && !t.res.timed_out,
              "prober exit 7: expected exited with status 7, got exited=%d status=%d signal=%d %s",
              t.res.exited, t.res.status, t.res.signal, SB_SEC_LIFE);
    sbt_run_ok(&t, SB_SEC_LIFE, "crash", NULL);
    cr_expect(!t.res.exited && t.res.signal == SIGSEGV,
              "prober crash: expected death by SIGSEGV, got exited=%d status=%d signal=%d %s",
              t.res.exited, t.res.status, t.res.signal, SB_SEC_LIFE);
    sbt_fini(&t);
}

/* Host processes whose name (comm) is tag. */
static unsigned named(const char *tag) {
    unsigned n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300], comm[64];
        snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
        if (sb_read_file(p, comm, sizeof comm) <= 0) continue;
        comm[strcspn(comm, "\n")] = 0;
        n += !strcmp(comm, tag);
    }
    if (d) closedir(d);
    return n;
}

Test(sandbox, life_daemons_killed, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char tag[16];
    snprintf(tag, sizeof tag, "sbd%d", (int)getpid() % 100000);
    sbt_run_ok(&t, SB_SEC_LIFE, "daemons", "3", tag, NULL);
    cr_expect(t.res.exited && t.res.status == 0, "prober daemons: expected exit 0, got %d/%d %s",
              t.res.status, t.res.signal, SB_SEC_LIFE);
    unsigned n = named(tag);
    cr_expect(n == 0,
              "the program left 3 daemons (setsid, double fork) and exited; %u are still "
              "running after sb_run returned %s",
              n, SB_SEC_CLEAN);
    sbt_fini(&t);
}

Test(sandbox, life_timeout_kills_all, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char tag[16];
    snprintf(tag, sizeof tag, "sbt%d", (int)getpid() % 100000);
    t.cfg.timeout = 0.3;
    sbt_run_ok(&t, SB_SEC_LIFE, "daemons", "3", tag, "sleep", NULL);
    cr_expect(t.res.timed_out && !t.res.exited && t.res.signal == SIGKILL,
              "a program that sleeps past a 0.3 s timeout: expected timed_out with SIGKILL, got "
              "timed_out=%d exited=%d signal=%d %s",
              t.res.timed_out, t.res.exited, t.res.signal, SB_SEC_LIFE);
    unsigned n = named(tag);
    cr_expect(n == 0, "after the timeout, %u of the program's 3 daemons are still running %s", n,
              SB_SEC_LIFE);
    sbt_fini(&t);
}

/* A caller near RLIMIT_NOFILE: sb_run fails somewhere while setting up (its signalfd, the
 * group's files, its pipes and sockets, the image's fd), or runs. Either way it closes what it
 * opened and only that (the caller's fds 0-3 stay open), and leaves no group. From a child of
 * the test, whose fds are 0-2 and the report pipe as 3, with the limit at 4, 5, ... 12. */
static void out_of_fds(struct sbt *t) {
    int rp[2];
    cr_assert(!pipe(rp), "harness: pipe failed");
    fflush(NULL);
    pid_t c = fork();
    if (c == 0) {
        if (dup2(rp[1], 3) != 3 || syscall(SYS_close_range, 4u, ~0u, 0u)) _exit(2);
        char *argv[] = {"/bin/prober", "exit", "0", NULL};
        struct sb_config cfg = t->cfg;
        cfg.argv = argv;
        cfg.stdout_fd = cfg.stderr_fd = -1;
        struct rlimit old;
        getrlimit(RLIMIT_NOFILE, &old);
        for (unsigned lim = 4; lim <= 12; lim++) {
            struct sb_result r;
            struct rlimit l = {lim, old.rlim_max};
            setrlimit(RLIMIT_NOFILE, &l);
            int rc = sb_run(&cfg, &r);
            setrlimit(RLIMIT_NOFILE, &old);
            int shut = -1, extra = -1;
            for (int fd = 0; fd < 4 && shut < 0; fd++)
                if (fcntl(fd, F_GETFD) < 0) shut = fd;
            for (int fd = 4; fd < 64 && extra < 0; fd++)
                if (fcntl(fd, F_GETFD) >= 0) extra = fd;
            char prefix[64], groups[1024];
            snprintf(prefix, sizeof prefix, "vlab-sb-%d-", (int)getpid());
            unsigned g = sbt_find_groups(prefix, groups, sizeof groups);
            if ((rc != VLAB_OK && rc != VLAB_EIO) || shut >= 0 || extra >= 0 || g) {
                dprintf(3, "%u %d %d %d %u%.200s", lim, rc, shut, extra, g, groups);
                sbt_remove_groups(prefix);
                _exit(0);
            }
        }
        dprintf(3, "ok");
        _exit(0);
    }
    close(rp[1]);
    char got[400];
    sbt_child_report(c, rp[0], got, sizeof got);
    unsigned lim = 0, g = 0;
    int rc = 0, shut = -1, extra = -1,
        k = sscanf(got, "%u %d %d %d %u", &lim, &rc, &shut, &extra, &g);
    cr_assert(k == 5 || !strcmp(got, "ok"), "harness: the test's child reported nothing");
    if (k != 5) return;
    cr_expect(rc == VLAB_OK || rc == VLAB_EIO,
              "sb_run with RLIMIT_NOFILE %u (the caller has fds 0-3 open): expected VLAB_OK or "
              "VLAB_EIO, got %d (%s) %s",
              lim, rc, vlab_strerror(rc), SB_SEC_CLEAN);
    cr_expect(shut < 0,
              "sb_run with RLIMIT_NOFILE %u (it returned %s) closed the caller's fd %d: on a "
              "failed setup close only the fds sb_run opened (an fd variable still -1 is not "
              "one) %s",
              lim, vlab_strerror(rc), shut, SB_SEC_CLEAN);
    cr_expect(extra < 0,
              "sb_run with RLIMIT_NOFILE %u (it returned %s) left fd %d open in the caller %s", lim,
              vlab_strerror(rc), extra, SB_SEC_CLEAN);
    cr_expect(g == 0, "sb_run with RLIMIT_NOFILE %u (it returned %s) left %u group(s) behind:%s %s",
              lim, vlab_strerror(rc), g, strchr(got, '/') ? strchr(got, '/') : "", SB_SEC_CLEAN);
}

/* A step the kernel refuses inside the child: with cfg->userns, a new proc is allowed only
 * while the mount namespace has a fully visible one (§3.3), and this caller has a file mounted
 * over /proc/version. The mount of /proc fails, and sb_run must say so (VLAB_EIO), not go on
 * to run the program without a /proc; and leave no group behind. */
static void proc_refused(struct sbt *t) {
    int rp[2];
    cr_assert(!pipe(rp), "harness: pipe failed");
    fflush(NULL);
    pid_t c = fork();
    if (c == 0) {
        close(rp[0]);
        if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
            mount("/dev/null", "/proc/version", NULL, MS_BIND, NULL))
            _exit(2);
        char *argv[] = {"/bin/prober", "exit", "0", NULL};
        struct sb_config cfg = t->cfg;
        cfg.argv = argv;
        cfg.userns = true;
        cfg.stdout_fd = cfg.stderr_fd = -1;
        struct sb_result r;
        int rc = sb_run(&cfg, &r);
        char prefix[64], groups[1024];
        snprintf(prefix, sizeof prefix, "vlab-sb-%d-", (int)getpid());
        unsigned g = sbt_find_groups(prefix, groups, sizeof groups);
        if (g) sbt_remove_groups(prefix);
        dprintf(rp[1], "%d %u%.200s", rc, g, groups);
        _exit(0);
    }
    close(rp[1]);
    char got[400];
    sbt_child_report(c, rp[0], got, sizeof got);
    int rc = 0;
    unsigned g = 0;
    cr_assert(sscanf(got, "%d %u", &rc, &g) == 2,
              "harness: the test's child could not mount over /proc/version");
    cr_expect(rc == VLAB_EIO,
              "sb_run with cfg->userns, the caller having a file mounted over /proc/version: "
              "the kernel refuses the container's /proc (not fully visible), so expected "
              "VLAB_EIO, got %d (%s): check every mount's result %s",
              rc, vlab_strerror(rc), SB_SEC_DEV);
    cr_expect(g == 0, "the failed sb_run left %u group(s) behind:%s %s", g,
              strchr(got, '/') ? strchr(got, '/') : "", SB_SEC_CLEAN);
}

/* A group sb_run cannot remove: while the container runs, a helper process of the test makes a
 * group inside the container's (in the pids hierarchy, or v2's), then kills the container. The
 * rmdir then fails however long it is retried. sb_run may remove the inner group too, or fail:
 * it must not say VLAB_OK with its group still there. */
static void group_kept(struct sbt *t) {
    char own[512], prefix[64];
    if (!sbt_own_group("pids", own, sizeof own) && !sbt_own_group(NULL, own, sizeof own)) return;
    snprintf(prefix, sizeof prefix, "vlab-sb-%d-", (int)getpid());
    fflush(NULL);
    pid_t h = fork();
    if (h == 0) {
        for (int i = 0; i < 10000; i++, usleep(1000)) {
            DIR *d = opendir(own);
            char name[256] = "";
            for (struct dirent *e; d && (e = readdir(d));)
                if (!strncmp(e->d_name, prefix, strlen(prefix)))
                    snprintf(name, sizeof name, "%s", e->d_name);
            if (d) closedir(d);
            if (!*name) continue;
            char p[1024], procs[4096];
            snprintf(p, sizeof p, "%s/%s/vlab-sb-inner", own, name);
            mkdir(p, 0755);
            snprintf(p, sizeof p, "%s/%s/cgroup.procs", own, name);
            if (sb_read_file(p, procs, sizeof procs) <= 0) continue;
            for (char *q = strtok(procs, "\n"); q; q = strtok(NULL, "\n"))
                kill((pid_t)atoi(q), SIGKILL);
            _exit(0);
        }
        _exit(1);
    }
    char *argv[] = {"/bin/prober", "sleep", NULL};
    struct sb_config c = t->cfg;
    c.argv = argv;
    c.timeout = 5;
    c.stdout_fd = c.stderr_fd = -1;
    struct sb_result r;
    int rc = sb_run(&c, &r);
    int st = 0;
    if (h > 0) waitpid(h, &st, 0);
    char left[1024] = "", inner[sizeof left + 32];
    DIR *d = opendir(own);
    for (struct dirent *e; d && (e = readdir(d));)
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(left, sizeof left, "%s/%s", own, e->d_name);
            snprintf(inner, sizeof inner, "%s/vlab-sb-inner", left);
            rmdir(inner);
        }
    if (d) closedir(d);
    sbt_remove_groups(prefix);
    cr_assert(h > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "harness: the helper never found the container's group in %s", own);
    cr_expect(!(*left && rc == VLAB_OK),
              "sb_run returned VLAB_OK, yet its group %s is still there (the test made a group "
              "inside it while the container ran, so rmdir kept failing): when "
              "sb_cgroup_destroy fails, sb_run fails %s",
              left, SB_SEC_CLEAN);
}

/* Whether fd of process pid is a pipe or a socket (what a go signal is sent through). */
static bool pipe_or_socket(pid_t pid, unsigned long fd) {
    char p[64], link[64] = "";
    snprintf(p, sizeof p, "/proc/%d/fd/%lu", (int)pid, fd);
    ssize_t n = readlink(p, link, sizeof link - 1);
    if (n > 0) link[n] = 0;
    return !strncmp(link, "pipe:", 5) || !strncmp(link, "socket:", 7);
}

/* The child dies before it is told to go: the test traces a child P that calls sb_run, stops P
 * at its first write to a pipe or socket after the clone (the go signal: its stdout and stderr
 * are /dev/null), kills the container's first process C there, and lets P go on. The send
 * fails (EPIPE), and sb_run must say setup failed, not report a program killed by SIGKILL that
 * never ran. The result of sb_run, or a note in *why when no verdict can be had here. */
static int child_dies_before_go(struct sbt *t, char *why, size_t len) {
    char *argv[] = {"/bin/prober", "exit", "0", NULL};
    struct sb_config cfg = t->cfg;
    cfg.argv = argv;
    cfg.stdout_fd = cfg.stderr_fd = -1;
    *why = 0;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 4;
    int res = -1;
    bool refused;
    pid_t p = sbt_trace_caller(&cfg, &res, &deadline, &refused, why, len);
    if (p < 0) return VLAB_OK;
    int st = 0;
    pid_t c = -1, w = -1;
    bool at = false;
    if (ptrace(PTRACE_SYSCALL, p, 0, 0)) {
        snprintf(why, len, "ptrace is refused here");
        goto out;
    }
    while (!at && (w = sbt_wait_until(-1, &st, &deadline)) > 0) {
        if (w == p && !WIFSTOPPED(st)) break; /* sb_run's caller ended */
        if (!WIFSTOPPED(st)) continue;
        int sig = WSTOPSIG(st), pass = 0;
        if (w != p) { /* a child of P's (the container): untraced from here */
            ptrace(PTRACE_DETACH, w, 0, 0);
            continue;
        }
        unsigned long msg = 0;
        if (st >> 16 && !ptrace(PTRACE_GETEVENTMSG, p, 0, &msg)) {
            c = (pid_t)msg; /* the newest child: the container's first process */
        } else if (sig == (SIGTRAP | 0x80) && c > 0) {
            struct __ptrace_syscall_info si;
            if (ptrace(PTRACE_GET_SYSCALL_INFO, p, sizeof si, &si) > 0 &&
                si.op == PTRACE_SYSCALL_INFO_ENTRY &&
                (si.entry.nr == SYS_sendmsg || si.entry.nr == SYS_sendto ||
                 si.entry.nr == SYS_write || si.entry.nr == SYS_writev) &&
                pipe_or_socket(p, (unsigned long)si.entry.args[0]))
                at = true;
        } else if (!(st >> 16) && sig != SIGTRAP && sig != (SIGTRAP | 0x80) && sig != SIGSTOP) {
            pass = sig;
        }
        if (!at) ptrace(PTRACE_SYSCALL, p, 0, pass);
    }
    if (!at) {
        snprintf(why, len, "%s",
                 w ? "sb_run's caller never sent its child a go signal"
                   : "the moment did not come within 4 s (a busy machine?)");
        goto out;
    }
    /* C dies, and its ends of P's pipes and sockets close; if it is still traced (its first
     * stop not seen yet), its end is reported here first, or P could never reap it */
    kill(c, SIGKILL);
    int cst;
    sbt_wait_until(c, &cst, &deadline);
    for (int i = 0; i < 1000 && !sbt_dead(c); i++)
        usleep(1000);
    ptrace(PTRACE_DETACH, p, 0, 0);
    deadline.tv_sec += 4;
    int rc = VLAB_OK;
    if (sbt_wait_until(p, &st, &deadline) != p) {
        snprintf(why, len,
                 "sb_run still had not returned 4 s after its child died before the go signal");
        kill(p, SIGKILL);
        waitpid(p, NULL, 0);
        sbt_remove_groups_of(p);
        close(res);
        return -1;
    }
    sbt_remove_groups_of(p);
    if (WIFSIGNALED(st)) {
        snprintf(why, len,
                 "sb_run's caller was killed by signal %d (%s) when its child died "
                 "before the go signal (a write to a pipe without reader raises SIGPIPE: use "
                 "MSG_NOSIGNAL or ignore it)",
                 WTERMSIG(st), strsignal(WTERMSIG(st)));
        rc = -1;
    } else if (read(res, &rc, sizeof rc) != sizeof rc) {
        snprintf(why, len, "harness: sb_run's caller ended (status 0x%x) without its result", st);
    }
    close(res);
    return rc;
out:
    sbt_trace_abandon(p, c, &deadline);
    close(res);
    return VLAB_OK;
}

Test(sandbox, life_cleanup_on_error, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    struct sb_result r;
    char *argv[] = {"/bin/prober", "info", NULL};
    struct sb_config c = t.cfg;
    c.argv = argv;
    c.rootfs = "/nonexistent/vlab-image";
    int rc = sb_run(&c, &r);
    cr_expect(rc == VLAB_ENOENT,
              "sb_run with a missing rootfs: expected VLAB_ENOENT, got %d (%s) %s", rc,
              vlab_strerror(rc), SB_SEC_LIFE);
    c = t.cfg;
    c.argv = NULL;
    rc = sb_run(&c, &r);
    cr_expect(rc == VLAB_EINVAL, "sb_run with argv NULL: expected VLAB_EINVAL, got %d (%s) %s", rc,
              vlab_strerror(rc), SB_SEC_LIFE);
    /* failures half-way: a program missing from the image, a hostname the kernel refuses */
    char *missing[] = {"/bin/no-such-program", NULL};
    c = t.cfg;
    c.argv = sbt_guarded_argv(missing); /* an error message built from argv[-1] faults */
    rc = sb_run(&c, &r);
    cr_expect(rc == VLAB_ENOENT,
              "sb_run of a program missing from the image: expected VLAB_ENOENT, got %d (%s) %s",
              rc, vlab_strerror(rc), SB_SEC_LIFE);
    c = t.cfg;
    c.argv = argv;
    if (t.groups) c.limits.pids = 8;
    c.hostname = "a-hostname-longer-than-the-sixty-four-bytes-the-kernel-allows-for-one";
    rc = sb_run(&c, &r);
    cr_expect(rc == VLAB_EIO || rc == VLAB_EINVAL,
              "sb_run with a 69-byte hostname: expected VLAB_EIO (sethostname failed) or "
              "VLAB_EINVAL, got %d (%s) %s",
              rc, vlab_strerror(rc), SB_SEC_LIFE);
    /* then a good run still works */
    sbt_run_ok(&t, SB_SEC_LIFE, "exit", "0", NULL);
    if (!t.rootless) {
        out_of_fds(&t);
        proc_refused(&t);
        group_kept(&t);
        char why[300];
        rc = child_dies_before_go(&t, why, sizeof why);
        if (rc == -1)
            cr_expect_fail("%s %s", why, SB_SEC_LIFE);
        else if (*why)
            fprintf(stderr,
                    "life_cleanup_on_error: the child dying before it is told to go is "
                    "not tried: %s\n",
                    why);
        else
            cr_expect(rc != VLAB_OK,
                      "sb_run whose child was killed before the parent sent it the go signal (the "
                      "send failed with EPIPE): expected a setup failure (VLAB_EIO), got VLAB_OK, "
                      "as if the program had run and been killed: check what sending returns "
                      "%s",
                      SB_SEC_LIFE);
    }
    sbt_fini(&t);
}
