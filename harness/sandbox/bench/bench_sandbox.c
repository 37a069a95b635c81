/* make bench: container launch latency. For each launcher, the median over 50 runs of
 * clone -> exec (until the prober, a static program, reads CLOCK_MONOTONIC first thing in
 * main) and clone -> exit (until the launcher has waited for it and cleaned up), interleaved
 * so that drift in machine speed hits every launcher alike:
 *   sb_run                 the solution: 5 namespaces + cgroup ns, overlay root, cgroups,
 *                          caps, seccomp, and the group and mounts removed at the end
 *   sb_run --userns        the same in a user namespace
 *   bubblewrap             bwrap with the same namespaces, a read-only bind of the image
 *                          (bubblewrap 0.8 has no overlay), /proc, /dev, /tmp
 *   fork+exec              the prober on the host, no isolation: the floor
 * Then the escape battery side by side: each prober attack of the tests, run once in sb_run and
 * once in bubblewrap with the configuration above plus --new-session, and which attempts worked
 * in each (bubblewrap loads no seccomp filter of its own: its callers pass one).
 * Writes a Markdown table to build/bench/sandbox.md and prints it. Reports only. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchjson.h"
#include "sandbox.h"
#include "sb_image.h"
#include "tool.h"
#include "vlab/stats.h"

#define RUNS 50

enum { L_SB, L_SB_USERNS, L_BWRAP, L_FORK, NL };
static const char *const lname[NL] = {"sb_run", "sb_run, user namespace", "bubblewrap (bwrap)",
                                      "fork+exec, no isolation"};

static char image[512], prober_in_image[600];

/* The prober's "t=NS" from fd, or 0. */
static uint64_t stamp(int fd) {
    char buf[128] = "";
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    if (ftruncate(fd, 0)) return 0;
    lseek(fd, 0, SEEK_SET);
    return strncmp(buf, "t=", 2) ? 0 : strtoull(buf + 2, NULL, 10);
}

/* Runs argv with stdout to fd and waits; 0 when it exited 0. */
static int spawn(char *const argv[], int fd) {
    pid_t p = fork();
    if (p == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(fd, 1);
        dup2(null, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (p < 0 || waitpid(p, &st, 0) != p) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void bwrap_argv(char **argv, const char *bwrap, char *const *args);

/* One launch: clone->exec and clone->exit in ns; false when it failed. */
static bool launch(int which, int fd, const char *bwrap, uint64_t *to_exec, uint64_t *to_exit) {
    char *pargv[] = {"/bin/prober", "now", NULL};
    uint64_t t0 = vlab_now_ns();
    int rc;
    if (which == L_SB || which == L_SB_USERNS) {
        struct sb_config cfg = {.rootfs = image,
                                .argv = pargv,
                                .caps = SB_CAPS_DEFAULT,
                                .userns = which == L_SB_USERNS,
                                .timeout = 10,
                                .stdin_fd = -1,
                                .stdout_fd = fd,
                                .stderr_fd = -1,
                                .limits = {.memory = 64u << 20, .pids = 32, .cpus = 1}};
        struct sb_result r;
        rc = sb_run(&cfg, &r);
        rc = rc == VLAB_OK && r.exited && r.status == 0 ? 0 : rc ? rc : -1;
    } else if (which == L_BWRAP) {
        char *argv[32], *args[] = {"now", NULL};
        bwrap_argv(argv, bwrap, args);
        rc = spawn(argv, fd);
    } else {
        char *argv[] = {prober_in_image, "now", NULL};
        rc = spawn(argv, fd);
    }
    uint64_t t1 = vlab_now_ns(), te = stamp(fd);
    if (rc || !te) return false;
    *to_exec = te - t0;
    *to_exit = t1 - t0;
    return true;
}

/* bubblewrap's argv for prober ARGS (at most 3), comparable to sb_run's container. */
static void bwrap_argv(char **argv, const char *bwrap, char *const *args) {
    static const char *const fixed[] = {"--unshare-pid",
                                        "--unshare-net",
                                        "--unshare-ipc",
                                        "--unshare-uts",
                                        "--unshare-cgroup",
                                        "--ro-bind",
                                        NULL,
                                        "/",
                                        "--proc",
                                        "/proc",
                                        "--dev",
                                        "/dev",
                                        "--tmpfs",
                                        "/tmp",
                                        "--hostname",
                                        "sandbox",
                                        "--die-with-parent",
                                        "--new-session",
                                        "--cap-drop",
                                        "ALL"};
    int n = 0;
    argv[n++] = (char *)bwrap;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[n++] = (char *)(fixed[i] ? fixed[i] : image);
    argv[n++] = "/bin/prober";
    for (int i = 0; args[i] && i < 3; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
}

/* The attempts that worked in the prober's output in fd: "stopped (N tried)" or "K of N: a, b". */
static void judge(int fd, char *out, size_t len) {
    char buf[16384] = "";
    lseek(fd, 0, SEEK_SET);
    ssize_t r = read(fd, buf, sizeof buf - 1);
    buf[r > 0 ? r : 0] = 0;
    if (ftruncate(fd, 0)) buf[0] = 0;
    lseek(fd, 0, SEEK_SET);
    unsigned tried = 0, worked = 0;
    char names[1024] = "";
    size_t used = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "try ", 4)) continue;
        tried++;
        char *eq = strstr(line, " = ");
        if (!eq || strcmp(eq + 3, "ok")) continue;
        worked++;
        *eq = 0;
        used += (size_t)snprintf(names + used, used < sizeof names ? sizeof names - used : 0,
                                 "%s`%s`", worked > 1 ? ", " : "", line + 4);
    }
    if (!tried)
        snprintf(out, len, "no attempt ran");
    else if (!worked)
        snprintf(out, len, "stopped (%u tried)", tried);
    else
        snprintf(out, len, "**%u of %u worked**: %s", worked, tried, names);
}

/* The escape battery in sb_run and in bubblewrap, as rows of the table. The terminal and
 * device-node attacks are left out: here they would reach the terminal running the bench and
 * the host's /dev (the tests run them on a pty of their own and judge the host's inodes). */
static int battery(char *table, size_t len, const char *bwrap) {
    static const char *const what[] = {"mount",    "hostname", "ns",       "ptrace",
                                       "module",   "cgroup",   "device",   "rlimit",
                                       "readonly", "masked",   "io_uring", "personality"};
    char host[32];
    snprintf(host, sizeof host, "%d", (int)getpid());
    int n =
        snprintf(table, len,
                 "\n## sandbox: the escape battery, sb_run beside bubblewrap\n\n"
                 "The prober's attacks (`prober escape WHAT`, as in the tests) as root "
                 "inside; bubblewrap with the configuration above plus `--new-session`. "
                 "Terminal injection and device-node metadata are tested on a pty and on "
                 "the host's inodes by the tests only. An attempt counts as the lab's tests count "
                 "it: some are not escapes in bubblewrap's own model (ptrace of its own "
                 "child, the extra nodes of its `--dev`), and bubblewrap leaves seccomp to "
                 "its caller (Flatpak passes one with `--seccomp`).\n\n"
                 "| attack | sb_run | bubblewrap |\n|---|---|---|\n");
    int fd = memfd_create("bench-battery", MFD_CLOEXEC);
    for (size_t i = 0; i < sizeof what / sizeof what[0]; i++) {
        char *args[] = {"escape", (char *)what[i], !strcmp(what[i], "ptrace") ? host : NULL, NULL};
        char sb[1200], bw[1200] = "not installed";
        char *pargv[] = {"/bin/prober", args[0], args[1], args[2], NULL};
        struct sb_config cfg = {.rootfs = image,
                                .argv = pargv,
                                .caps = SB_CAPS_DEFAULT,
                                .timeout = 10,
                                .stdin_fd = -1,
                                .stdout_fd = fd,
                                .stderr_fd = -1,
                                .limits = {.memory = 64u << 20, .pids = 32, .cpus = 1}};
        struct sb_result r;
        if (sb_run(&cfg, &r) == VLAB_OK)
            judge(fd, sb, sizeof sb);
        else
            snprintf(sb, sizeof sb, "sb_run failed");
        if (bwrap) {
            char *argv[32];
            bwrap_argv(argv, bwrap, args);
            spawn(argv, fd); /* the prober's status says nothing: judge its lines */
            judge(fd, bw, sizeof bw);
        }
        n += snprintf(table + n, len - (size_t)n, "| `%s` | %s | %s |\n", what[i], sb, bw);
        if ((size_t)n >= len) break;
    }
    close(fd);
    return n;
}

static void emit(const char *table) {
    hlib_bench_table("sandbox", table);
    hlib_bench_json("sandbox");
}

static const char *const lid[NL] = {"sb_run", "sb_run_userns", "bwrap", "fork_exec"};

static const char *label(const char *argv0) {
    if (strstr(argv0, "/reference/")) return " (reference/sandbox)";
    if (strstr(argv0, "/labs/")) return " (labs/sandbox)";
    return "";
}

int main(int argc, char **argv) {
    (void)argc;
    static char table[32768];
    int n = snprintf(table, sizeof table,
                     "## sandbox: container launch latency\n\n"
                     "Median of %d launches each, interleaved; the program is a static prober "
                     "that reads CLOCK_MONOTONIC first thing (clone -> exec) and exits "
                     "(clone -> exit: until the launcher has waited and cleaned up).\n\n",
                     RUNS);
    if (geteuid() != 0) {
        snprintf(table + n, sizeof table - (size_t)n,
                 "Not root: containers need root here, nothing measured.\n");
        for (int l = 0; l < NL; l++) {
            char id[64];
            snprintf(id, sizeof id, "launch_exit.%s", lid[l]);
            hlib_bench_missing(id, "ms", "host", "not root: containers need root here");
        }
        emit(table);
        return 0;
    }
    char prober[512];
    if (sb_find_prober(prober, sizeof prober)) {
        fprintf(stderr, "bench-sandbox: %s\n", prober);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(image, sizeof image, "%s/sbbench-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
    int rc = sb_image_build(image, prober);
    if (rc) {
        fprintf(stderr, "bench-sandbox: building the image: %s\n", strerror(-rc));
        return 1;
    }
    snprintf(prober_in_image, sizeof prober_in_image, "%s/bin/prober", image);
    const char *bwrap = access("/usr/bin/bwrap", X_OK) ? NULL : "/usr/bin/bwrap";
    int fd = memfd_create("bench-out", MFD_CLOEXEC);

    /* one untimed round: warm caches, and find out what works */
    bool ok[NL];
    const char *why[NL] = {0};
    for (int l = 0; l < NL; l++) {
        uint64_t a, b;
        ok[l] = (l != L_BWRAP || bwrap) && launch(l, fd, bwrap, &a, &b);
        if (!ok[l])
            why[l] = l == L_BWRAP && !bwrap ? "not installed (apt-get install bubblewrap)"
                                            : "failed (see stderr)";
    }
    if (!ok[L_SB]) {
        struct sb_config probe = {0};
        struct sb_result r;
        if (sb_run(&probe, &r) == VLAB_ENOTIMPL) why[L_SB] = why[L_SB_USERNS] = "not implemented";
    }
    static uint64_t exec_ns[NL][RUNS], exit_ns[NL][RUNS];
    unsigned got[NL] = {0};
    for (int i = 0; i < RUNS; i++)
        for (int l = 0; l < NL; l++)
            if (ok[l] && launch(l, fd, bwrap, &exec_ns[l][got[l]], &exit_ns[l][got[l]])) got[l]++;
    close(fd);
    static char extra[16384];
    if (ok[L_SB]) battery(extra, sizeof extra, ok[L_BWRAP] ? bwrap : NULL);
    sb_tree_remove(image);

    n += snprintf(table + n, sizeof table - (size_t)n,
                  "| launcher | clone -> exec (ms) | clone -> exit (ms) | min exit (ms) | "
                  "runs |\n|---|---:|---:|---:|---:|\n");
    double med_exit[NL] = {0};
    for (int l = 0; l < NL; l++) {
        const char *suffix = l <= L_SB_USERNS ? label(argv[0]) : "";
        char id[64], id2[64];
        snprintf(id, sizeof id, "launch_exit.%s", lid[l]);
        snprintf(id2, sizeof id2, "launch_exec.%s", lid[l]);
        if (!got[l]) {
            hlib_bench_missing(id, "ms", "host", why[l] ? why[l] : "failed");
            n += snprintf(table + n, sizeof table - (size_t)n, "| %s%s | - | - | - | %s |\n",
                          lname[l], suffix, why[l] ? why[l] : "failed");
            continue;
        }
        uint64_t mn = exit_ns[l][0];
        for (unsigned i = 1; i < got[l]; i++)
            if (exit_ns[l][i] < mn) mn = exit_ns[l][i];
        med_exit[l] = (double)vlab_median_u64(exit_ns[l], got[l]) / 1e6;
        hlib_bench_value(id, "ms", med_exit[l], got[l], "host");
        hlib_bench_value(id2, "ms", (double)vlab_median_u64(exec_ns[l], got[l]) / 1e6, got[l],
                         "host");
        n += snprintf(table + n, sizeof table - (size_t)n, "| %s%s | %.2f | %.2f | %.2f | %u |\n",
                      lname[l], suffix, (double)vlab_median_u64(exec_ns[l], got[l]) / 1e6,
                      med_exit[l], (double)mn / 1e6, got[l]);
    }
    if (med_exit[L_SB] > 0 && med_exit[L_BWRAP] > 0)
        n += snprintf(table + n, sizeof table - (size_t)n,
                      "\nsb_run / bubblewrap, clone -> exit: %.2fx (target: at most 1). "
                      "sb_run / fork+exec: %.2fx.\n",
                      med_exit[L_SB] / med_exit[L_BWRAP],
                      med_exit[L_FORK] > 0 ? med_exit[L_SB] / med_exit[L_FORK] : 0.0);
    snprintf(table + n, sizeof table - (size_t)n, "%s", extra);
    emit(table);
    return 0;
}
