/* Task 6: vlab-sandbox, the command-line tool built from the harness and your sb_run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sb_groups.h"
#include "sb_test.h"

static void tool_path(char *path, size_t len) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert(n > 0, "harness: readlink /proc/self/exe");
    self[n] = 0;
    *strrchr(self, '/') = 0;
    snprintf(path, len, "%s/vlab-sandbox", self);
    cr_assert(!access(path, X_OK), "harness: no %s (built by make)", path);
}

/* Runs vlab-sandbox (next to this test binary) with args; its exit status, stdout, stderr. */
static int tool(char *out, size_t olen, char *err, size_t elen, char *const args[]) {
    char path[PATH_MAX + 32];
    tool_path(path, sizeof path);
    int o = memfd_create("cli-out", 0), e = memfd_create("cli-err", 0);
    char *argv[24] = {path};
    for (int i = 0; args[i] && i < 22; i++)
        argv[i + 1] = args[i];
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        dup2(o, 1);
        dup2(e, 2);
        execv(path, argv);
        _exit(127);
    }
    int st = 0;
    waitpid(p, &st, 0);
    for (int i = 0; i < 2; i++) {
        int fd = i ? e : o;
        char *buf = i ? err : out;
        size_t len = i ? elen : olen;
        lseek(fd, 0, SEEK_SET);
        ssize_t r = read(fd, buf, len - 1);
        buf[r > 0 ? r : 0] = 0;
        close(fd);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(sandbox, cli_run_report, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char out[16384], err[4096];
    char *a1[] = {"run", "--rootfs", t.image,       "--memory",   "64M",    "--pids",
                  "16",  "--cpu",    "0.5",         "--hostname", "clibox", "--timeout",
                  "5",   "--",       "/bin/prober", "info",       NULL};
    /* without root and a delegated group there are no limits to give */
    char *a1_nolimits[] = {"run", "--rootfs", t.image,       "--hostname", "clibox", "--timeout",
                           "5",   "--",       "/bin/prober", "info",       NULL};
    int st = tool(out, sizeof out, err, sizeof err, t.groups ? a1 : a1_nolimits);
    cr_expect(st == 0,
              "vlab-sandbox run ... -- /bin/prober info: expected exit 0, got %d; "
              "stderr: %.300s %s",
              st, err, SB_SEC_CLI);
    cr_expect(strstr(out, "hostname=clibox\n") && strstr(out, "pid=1\n"),
              "the program's output should come through (hostname=clibox, pid=1): %.200s %s", out,
              SB_SEC_CLI);
    const char *keys[] = {"ended: exit status 0",
                          "cpu time:", "memory peak:", "oom kills:", "pids limit hits:"};
    for (int i = 0; i < 5; i++)
        cr_expect(strstr(err, keys[i]), "the report on stderr should have \"%s\": %.400s %s",
                  keys[i], err, SB_SEC_CLI);
    char *a2[] = {"run", "--rootfs", t.image, "--", "/bin/prober", "exit", "3", NULL};
    st = tool(out, sizeof out, err, sizeof err, a2);
    cr_expect(st == 3, "vlab-sandbox should exit with the program's status 3, got %d %s", st,
              SB_SEC_CLI);
    char *a3[] = {"run", "--rootfs", t.image, "--memory", "lots", "--", "/bin/true", NULL};
    st = tool(out, sizeof out, err, sizeof err, a3);
    cr_expect(st == 125 && strstr(err, "memory"),
              "--memory lots: expected exit 125 and a message about the size, got %d: %.200s %s",
              st, err, SB_SEC_CLI);
    sbt_fini(&t);
}

/* The container's pid 1 once it runs the prober: a child of pid named "prober". */
static pid_t prober_of(pid_t tool_pid) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    while (!found && d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300], st[512];
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        if (sb_read_file(p, st, sizeof st) <= 0) continue;
        char *rp = strrchr(st, ')');
        int ppid = 0;
        if (!rp || sscanf(rp + 2, "%*c %d", &ppid) != 1 || ppid != tool_pid) continue;
        if (strstr(st, "(prober)")) found = (pid_t)atoi(e->d_name);
    }
    if (d) closedir(d);
    return found;
}

struct running {
    pid_t tool;   /* vlab-sandbox */
    pid_t prober; /* the container's pid 1 */
    char prefix[64];
    int err; /* the tool's stderr (a memfd) */
};

/* Starts vlab-sandbox run --rootfs IMAGE ARGS... -- /bin/prober sleep, and waits until the
 * prober runs in its container. */
static void start(struct sbt *t, struct running *r, char *const args[]) {
    char path[PATH_MAX + 32];
    tool_path(path, sizeof path);
    char *argv[24] = {path, "run", "--rootfs", t->image};
    int n = 4;
    for (int i = 0; args[i] && n < 20; i++)
        argv[n++] = args[i];
    argv[n++] = "--";
    argv[n++] = "/bin/prober";
    argv[n++] = "sleep";
    argv[n] = NULL;
    r->err = memfd_create("cli-err", 0);
    fflush(NULL);
    r->tool = fork();
    cr_assert(r->tool >= 0, "harness: fork");
    if (r->tool == 0) {
        /* a shell's child: default dispositions, nothing blocked, whatever the runner had */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < 32; sig++)
            if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(r->err, 2);
        execv(path, argv);
        _exit(127);
    }
    snprintf(r->prefix, sizeof r->prefix, "vlab-sb-%d-", (int)r->tool);
    r->prober = 0;
    for (int i = 0; i < 2500 && !r->prober; i++) {
        int st;
        if (waitpid(r->tool, &st, WNOHANG) == r->tool) {
            char err[1024] = "";
            lseek(r->err, 0, SEEK_SET);
            ssize_t k = read(r->err, err, sizeof err - 1);
            err[k > 0 ? k : 0] = 0;
            cr_assert_fail("vlab-sandbox ... -- /bin/prober sleep ended (status 0x%x) before the "
                           "prober ran: %s %s",
                           st, err, SB_SEC_CLI);
        }
        r->prober = prober_of(r->tool);
        if (!r->prober) usleep(2000);
    }
    if (!r->prober) {
        kill(r->tool, SIGKILL);
        waitpid(r->tool, NULL, 0);
        sbt_remove_groups(r->prefix);
        cr_assert_fail("harness: the prober did not start within 5 s");
    }
}

/* Sends sig to the tool: its exit status, 256+N when signal N killed it, -1 if it hung. */
static int interrupt(struct running *r, int sig) {
    kill(r->tool, sig);
    int st = 0;
    for (int i = 0; i < 2500; i++) {
        if (waitpid(r->tool, &st, WNOHANG) == r->tool)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 256 + WTERMSIG(st);
        usleep(2000);
    }
    kill(r->tool, SIGKILL);
    waitpid(r->tool, &st, 0);
    return -1;
}

/* A limit value of the group prefix+"0" in the hierarchy of ctrl (v1) or the unified one. */
static bool group_value(const char *prefix, const char *ctrl, const char *v1file,
                        const char *v2file, unsigned long long *v) {
    char dir[512], g[700];
    bool v1 = sbt_own_group(ctrl, dir, sizeof dir);
    if (!v1 && !sbt_own_group(NULL, dir, sizeof dir)) return false;
    snprintf(g, sizeof g, "%s/%s0", dir, prefix);
    return sbt_read_num(g, v1 ? v1file : v2file, v);
}

/* The tool without limits on its command line (so its defaults, SB_TOOL_* in vlab-sandbox.c,
 * are in the group), sent sig while the container runs. */
static void signal_test(int sig) {
    struct sbt t;
    sbt_init(&t);
    struct running r;
    char *none[] = {NULL};
    start(&t, &r, none);
    unsigned long long pids = 0, mem = 0;
    bool have_pids = group_value(r.prefix, "pids", "pids.max", "pids.max", &pids);
    bool have_mem = group_value(r.prefix, "memory", "memory.limit_in_bytes", "memory.max", &mem);
    int how = interrupt(&r, sig);
    char left[2048];
    unsigned g = sbt_find_groups(r.prefix, left, sizeof left);
    if (g) sbt_remove_groups(r.prefix); /* the machine gets them back either way */
    bool alive = !kill(r.prober, 0);
    char self[64];
    snprintf(self, sizeof self, "/proc/%d/comm", (int)r.prober);
    char comm[64] = "";
    if (alive && sb_read_file(self, comm, sizeof comm) > 0 && strncmp(comm, "prober", 6))
        alive = false; /* the pid was reused */
    if (alive) kill(r.prober, SIGKILL);
    close(r.err);
    cr_expect(how == 128 + sig,
              "vlab-sandbox sent %s while the container ran: expected exit status %d (128+%d) "
              "after cleaning up, got %s %d %s",
              strsignal(sig), 128 + sig, sig, how > 255 ? "killed by signal" : "exit status",
              how > 255 ? how - 256 : how, SB_SEC_SIG);
    cr_expect(g == 0, "vlab-sandbox sent %s: expected no control group left, found %u:%s %s",
              strsignal(sig), g, left, SB_SEC_SIG);
    cr_expect(!alive, "vlab-sandbox sent %s: the container's pid 1 (%d) still runs %s",
              strsignal(sig), (int)r.prober, SB_SEC_SIG);
    if (t.rootless) { /* the tool sets no default limits without root */
        sbt_fini(&t);
        return;
    }
    cr_expect(have_pids && pids == 256,
              "vlab-sandbox run without --pids: expected the default pids.max 256 in its group, "
              "got %s%llu %s",
              have_pids ? "" : "no readable pids.max, ", pids, SB_SEC_CLI);
    cr_expect(have_mem && mem == 512ull << 20,
              "vlab-sandbox run without --memory: expected the default limit 512 MiB in its "
              "group, got %s%llu bytes %s",
              have_mem ? "" : "no readable memory limit, ", mem, SB_SEC_CLI);
    sbt_fini(&t);
}

Test(sandbox, cli_sigint, .timeout = SB_TIMEOUT) {
    signal_test(SIGINT);
}

Test(sandbox, cli_sigterm, .timeout = SB_TIMEOUT) {
    signal_test(SIGTERM);
}

Test(sandbox, cli_sighup, .timeout = SB_TIMEOUT) {
    signal_test(SIGHUP);
}

/* The worst moment for the caller to die, with cfg->userns: the child has become the mapped
 * root (set*uid, which clears the parent-death signal) and not yet set the signal again. Made
 * exact with ptrace: the test traces a child P that calls sb_run, follows P's clone into the
 * container's first process C, stops C at the first system call after a set*uid that worked,
 * kills P there and lets C go on. C must notice that its parent is gone (the signal set again
 * arrives for no parent that dies later) and end, not run the program. Whether C died within
 * a second; *why says what went wrong before the moment came, and *skip is set when this
 * machine refuses ptrace itself (Yama's ptrace_scope 3, a seccomp profile). */
static bool dies_with_caller_at_worst_moment(struct sbt *t, char *why, size_t len, bool *skip) {
    char *argv[] = {"/bin/prober", "sleep", NULL};
    struct sb_config cfg = t->cfg;
    cfg.argv = argv;
    cfg.userns = true;
    cfg.stdout_fd = cfg.stderr_fd = -1;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 4;
    pid_t p = sbt_trace_caller(&cfg, NULL, &deadline, skip, why, len);
    if (p < 0) return true;
    if (ptrace(PTRACE_CONT, p, 0, 0)) {
        snprintf(why, len, "harness: tracing sb_run's caller failed");
        kill(p, SIGKILL), waitpid(p, NULL, 0);
        return true;
    }
    int st = 0;
    pid_t c = -1, w;
    bool armed = false, at = false;
    unsigned long nr = 0;
    while (!at && (w = sbt_wait_until(-1, &st, &deadline)) > 0) {
        if (w == p && !WIFSTOPPED(st)) break; /* the caller ended: sb_run failed? */
        if (!WIFSTOPPED(st)) continue;
        int sig = WSTOPSIG(st), pass = 0;
        if (w == p) {
            unsigned long msg = 0;
            if (st >> 16 && c < 0 && !ptrace(PTRACE_GETEVENTMSG, p, 0, &msg)) c = (pid_t)msg;
            if (!(st >> 16) && sig != SIGSTOP && sig != SIGTRAP) pass = sig;
            ptrace(PTRACE_CONT, p, 0, pass);
            continue;
        }
        if (w != c) { /* another fork of the caller's: not followed */
            ptrace(PTRACE_DETACH, w, 0, 0);
            continue;
        }
        if (sig == (SIGTRAP | 0x80)) {
            struct __ptrace_syscall_info si;
            if (ptrace(PTRACE_GET_SYSCALL_INFO, c, sizeof si, &si) > 0) {
                if (si.op == PTRACE_SYSCALL_INFO_ENTRY) {
                    if (armed) {
                        at = true;
                        break;
                    }
                    nr = si.entry.nr;
                } else if (si.op == PTRACE_SYSCALL_INFO_EXIT) {
                    armed = (nr == SYS_setuid || nr == SYS_setreuid || nr == SYS_setresuid) &&
                            si.exit.rval == 0;
                }
            }
        } else if (sig != SIGSTOP && sig != SIGTRAP) {
            pass = sig;
        }
        ptrace(PTRACE_SYSCALL, c, 0, pass);
    }
    if (!at) {
        if (w)
            snprintf(why, len,
                     "sb_run with cfg->userns: the container's first process never became the "
                     "mapped root (no setuid, setreuid or setresuid that worked) before sb_run "
                     "returned %s",
                     SB_SEC_USER);
        else { /* out of time before the moment came: no verdict either way */
            snprintf(why, len, "the moment did not come within 4 s (a busy machine?)");
            *skip = true;
        }
        sbt_trace_abandon(p, c, &deadline);
        return true;
    }
    kill(p, SIGKILL);
    deadline.tv_sec += 2;
    while (sbt_wait_until(p, &st, &deadline) == p && !WIFEXITED(st) && !WIFSIGNALED(st)) {
    }
    ptrace(PTRACE_DETACH, c, 0, 0);
    bool gone = false;
    for (int i = 0; i < 500 && !(gone = sbt_dead(c)); i++)
        usleep(2000);
    if (!gone) kill(c, SIGKILL);
    sbt_remove_groups_of(p);
    why[0] = 0;
    return gone;
}

/* SIGKILL cannot be handled: the container must die with the tool (PR_SET_PDEATHSIG), and
 * `vlab-sandbox cleanup` removes the groups it left. */
/* What a run killed mid-test leaves: the group of a dead process with a group made inside it (as
 * life_test's group_kept makes one); with top, a plain one at the top of a hierarchy whose top
 * is not this process's group, where a solution that gets its own group wrong makes them.
 * `vlab-sandbox cleanup` must remove both: a group with children cannot be removed, and a cleanup
 * that retried it for its whole budget once pushed this test past its time. The group's path in
 * *dir ("" when there is no group to make). */
static void plant_stale(char *dir, size_t len, bool top) {
    char own[400] = "";
    *dir = 0;
    if (top) { /* a hierarchy whose top is not this process's group (systemd's slices) */
        struct sb_hier h[16];
        unsigned nh = sb_hierarchies(h, 16);
        for (unsigned i = 0; i < nh && !*own; i++) {
            char dirs[2][512];
            if (sb_hier_dirs(&h[i], dirs) == 2) snprintf(own, sizeof own, "%.399s", dirs[1]);
        }
        if (!*own) return;
    } else if (!sbt_own_group("pids", own, sizeof own) && !sbt_own_group(NULL, own, sizeof own)) {
        return;
    }
    fflush(NULL);
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    if (gone < 0 || waitpid(gone, NULL, 0) != gone) return;
    char inner[700];
    if ((size_t)snprintf(dir, len, "%s/vlab-sb-%d-0", own, (int)gone) >= len) {
        *dir = 0;
        return;
    }
    snprintf(inner, sizeof inner, "%s/vlab-sb-inner", dir);
    if (mkdir(dir, 0755) || (!top && mkdir(inner, 0755))) {
        rmdir(dir);
        *dir = 0;
    }
}

/* A leftover named for the tool's own pid (an earlier process had the pid: pids wrap). The
 * tool's group would have that name, and mkdir fails on it: `run` must clear it first. Exit
 * status of `vlab-sandbox run ... -- /bin/prober exit 0` started with one planted, and whether
 * the planted group is gone after (*gone); -1 if none could be planted. */
static int run_over_own_leftover(struct sbt *t, bool *gone) {
    char own[400], dir[512], path[PATH_MAX + 32];
    *gone = true;
    if (!sbt_own_group("pids", own, sizeof own) && !sbt_own_group(NULL, own, sizeof own)) return -1;
    tool_path(path, sizeof path);
    int go[2];
    if (pipe(go)) return -1;
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 1) _exit(126);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0), dup2(null, 1), dup2(null, 2);
        char *argv[] = {path, "run", "--rootfs", t->image, "--", "/bin/prober", "exit", "0", NULL};
        execv(path, argv);
        _exit(127);
    }
    close(go[0]);
    snprintf(dir, sizeof dir, "%s/vlab-sb-%d-0", own, (int)p);
    bool planted = p > 0 && !mkdir(dir, 0755);
    if (p > 0 && write(go[1], "g", 1) != 1) kill(p, SIGKILL);
    close(go[1]);
    int st = 0;
    if (p > 0) waitpid(p, &st, 0);
    struct stat sst;
    *gone = stat(dir, &sst) != 0;
    if (!*gone) rmdir(dir);
    if (!planted) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(sandbox, cli_sigkill_cleanup, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char stale[2][512] = {"", ""};
    if (!t.rootless) {
        plant_stale(stale[0], sizeof stale[0], false);
        plant_stale(stale[1], sizeof stale[1], true);
    }
    for (int userns = 0; userns < 2; userns++) {
        const char *how = userns ? "with --userns" : "as real root";
        struct running r;
        char *plain[] = {NULL}, *user[] = {"--userns", NULL};
        start(&t, &r, userns ? user : plain);
        kill(r.tool, SIGKILL);
        waitpid(r.tool, NULL, 0);
        close(r.err);
        bool gone = false;
        for (int i = 0; i < 500 && !(gone = sbt_dead(r.prober)); i++)
            usleep(2000);
        char out[1024], err[1024];
        char *a[] = {"cleanup", NULL};
        int st = tool(out, sizeof out, err, sizeof err, a);
        char left[2048];
        unsigned g = sbt_find_groups(r.prefix, left, sizeof left);
        if (g) sbt_remove_groups(r.prefix);
        if (!gone) kill(r.prober, SIGKILL);
        cr_expect(gone,
                  "vlab-sandbox (%s) killed by SIGKILL: its container's pid 1 (%d) still runs 1 s "
                  "later (PR_SET_PDEATHSIG in the child, and mind what clears it) %s",
                  how, (int)r.prober, SB_SEC_SIG);
        cr_expect(st == 0 && g == 0,
                  "vlab-sandbox cleanup after a SIGKILLed run (%s): expected exit 0 and no group "
                  "left, got %d and %u:%s (stderr: %.200s) %s",
                  how, st, g, left, err, SB_SEC_SIG);
        for (int k = 0; k < 2; k++) {
            char *stale_k = stale[k];
            if (!*stale_k) continue;
            struct stat sst;
            int owner = 0;
            bool kept = !stat(stale_k, &sst);
            /* its pid taken again since (32768 pids wrap): cleanup rightly kept the group */
            const char *name = strrchr(stale_k, '/');
            if (kept && sscanf(name, "/vlab-sb-%d-", &owner) == 1 && !kill(owner, 0)) kept = false;
            if (kept) {
                char inner[1100];
                snprintf(inner, sizeof inner, "%s/vlab-sb-inner", stale_k);
                rmdir(inner);
                rmdir(stale_k);
            }
            cr_assert(!kept,
                      "harness: vlab-sandbox cleanup left %s, the group of a dead process %s "
                      "(harness/sandbox/sb_groups.c)",
                      stale_k, k ? "at the top of its hierarchy" : "with a group inside it");
            *stale_k = 0;
        }
    }
    if (!t.rootless) {
        bool gone;
        int st = run_over_own_leftover(&t, &gone);
        cr_assert(st < 0 || (st == 0 && gone),
                  "harness: vlab-sandbox run started where a group named for its own pid was "
                  "left (pids wrap): expected exit 0 and that group cleared, got %d and %s "
                  "(harness/sandbox/sb_groups.c)",
                  st, gone ? "gone" : "kept");
    }
    if (!t.rootless) {
        char why[256];
        bool skip, gone = dies_with_caller_at_worst_moment(&t, why, sizeof why, &skip);
        if (skip)
            fprintf(stderr,
                    "cli_sigkill_cleanup: the caller killed at the worst moment is not "
                    "tried: %s\n",
                    why);
        else
            cr_assert(!why[0], "%s", why);
        cr_expect(gone,
                  "sb_run with cfg->userns, its caller killed by SIGKILL right after the "
                  "container's first process became the mapped root: that process still runs "
                  "1 s later (a change of uid clears PR_SET_PDEATHSIG; set it again, then check "
                  "that the parent did not die before that) %s",
                  SB_SEC_SIG);
    }
    sbt_fini(&t);
}
