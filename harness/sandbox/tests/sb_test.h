/* What the sandbox tests share: an environment per test (root check, a private mount
 * namespace with shared propagation so that a leaked mount shows, a fresh busybox image with
 * the prober), running the prober in the student's container with its output captured, and
 * the cleanup check every test ends with (no group, mount, process or temp dir left). */
#ifndef VLAB_SB_TEST_H
#define VLAB_SB_TEST_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "sandbox.h"
#include "sb_image.h"

/* Far above the grader's per-test limit: only stops a hung direct run of the binary. */
#define SB_TIMEOUT 30.0

#define SB_SEC_PID      "(handout §2.1 The pid namespace)"
#define SB_SEC_MNT      "(handout §2.2 The mount namespace)"
#define SB_SEC_UTS      "(handout §2.3 uts and ipc)"
#define SB_SEC_NET      "(handout §2.4 The network namespace)"
#define SB_SEC_USER     "(handout §2.6 The user namespace)"
#define SB_SEC_CGNS     "(handout §2.7 The cgroup namespace)"
#define SB_SEC_ROOTLESS "(handout §2.8 Without root)"
#define SB_SEC_ROOT     "(handout §3.1 An overlay root)"
#define SB_SEC_PIVOT    "(handout §3.2 pivot_root)"
#define SB_SEC_DEV      "(handout §3.3 /proc, /dev and /tmp)"
#define SB_SEC_MASK     "(handout §3.4 Masked and read-only paths)"
#define SB_SEC_CG1      "(handout §4.1 cgroup v1)"
#define SB_SEC_CG2      "(handout §4.2 cgroup v2)"
#define SB_SEC_CGUSE    "(handout §4.3 Limits and usage)"
#define SB_SEC_CAPS     "(handout §5.3 Capabilities)"
#define SB_SEC_NNP      "(handout §5.4 no_new_privs)"
#define SB_SEC_SECCOMP  "(handout §5.5 seccomp)"
#define SB_SEC_RLIMIT   "(handout §5.2 rlimits)"
#define SB_SEC_FDS      "(handout §5.1 File descriptors)"
#define SB_SEC_TTY      "(handout §5.6 A session of its own)"
#define SB_SEC_LIFE     "(handout §6 Lifecycle)"
#define SB_SEC_CLEAN    "(handout §6.2 Cleanup)"
#define SB_SEC_SIG      "(handout §6.3 Interrupted)"
#define SB_SEC_CLI      "(handout §7 vlab-sandbox)"

struct sbt {
    char image[512];      /* the image directory (rootfs) */
    char prober[512];     /* the prober on the host */
    char tmp[256];        /* $TMPDIR or /tmp */
    unsigned mounts;      /* lines of /proc/self/mountinfo at the start */
    bool rootless;        /* not root: sb_run uses a user namespace of the caller's uid (§2.8) */
    bool groups;          /* limits can be set: root, or a delegated cgroup v2 group */
    char no_groups[600];  /* why not */
    struct sb_config cfg; /* the next run's config: defaults, change fields before sbt_run */
    /* the last run */
    int rc;
    struct sb_result res;
    char out[32768];
    char err[8192];
};

/* Skips the test (with the reason) unless root; sets up everything else or fails. */
void sbt_init(struct sbt *t);
/* Skips the test, with why, when it runs without root (handout §1.5). */
void sbt_need_root(struct sbt *t, const char *why);
/* Skips the test unless limits can be set (t->groups). */
void sbt_need_groups(struct sbt *t);
/* The cleanup check (§6.2), then removes the image. */
void sbt_fini(struct sbt *t);
/* waitpid(who, st, __WALL) that gives up at deadline (CLOCK_MONOTONIC) and returns 0 then:
 * for the tests that trace sb_run's caller, so that no student code (or busy machine) can hold
 * a test past its time (a ptrace wait without a bound once hung a CI run). */
pid_t sbt_wait_until(pid_t who, int *st, const struct timespec *deadline);
/* A child of the test that calls sb_run(cfg) under the test's ptrace, for the tests that kill
 * something at one exact moment of sb_run: returned stopped before sb_run, with its trace
 * options set (system-call stops marked, its clones and forks followed), its stdout and stderr
 * /dev/null. With result, sb_run's return value comes through *result, a pipe's read end the
 * caller closes. Its pid; or -1 and why, with *refused when this machine refuses ptrace (Yama's
 * ptrace_scope 3, a seccomp profile): no verdict then. */
pid_t sbt_trace_caller(const struct sb_config *cfg, int *result, const struct timespec *deadline,
                       bool *refused, char *why, size_t len);
/* Gives up on a traced caller: kills it and its child (if > 0), reaps what ends within 2 s
 * more of *deadline, and removes the caller's groups. */
void sbt_trace_abandon(pid_t caller, pid_t child, struct timespec *deadline);
/* A copy of the NULL-terminated argv (the array, not the strings) that starts right after an
 * inaccessible page, so that reading argv[-1] faults instead of finding whatever lay on the
 * stack: every run of sbt_run passes one (and unmaps it after); others last as long as the test. */
char **sbt_guarded_argv(char *const *argv);
/* Runs /bin/prober ARGS... (NULL-terminated) in the student's container with t->cfg. */
int sbt_run(struct sbt *t, ...) __attribute__((sentinel));
/* Like sbt_run, failing the test unless sb_run returned VLAB_OK. */
void sbt_run_ok(struct sbt *t, const char *sec, ...) __attribute__((sentinel));
/* The debugging view: what a container made with t->cfg sees (namespaces, ids, cgroup, mounts,
 * privileges, rlimits, fds: `prober view` run again), the limits asked and the last run's
 * result, as indented lines in buf; the last run (out, err, res, rc) is left as it was.
 * Escape failures carry it; VLAB_SB_VIEW=1 prints it to stderr after every run. */
size_t sbt_view(struct sbt *t, char *buf, size_t len);
/* The value of the first "key=value" line of the last output, or NULL. */
const char *sbt_get(struct sbt *t, const char *key, char *buf, size_t len);
/* Fails unless every "try NAME = RESULT" line of the last output has a RESULT other than
 * "ok", and there was at least one. */
void sbt_expect_all_blocked(struct sbt *t, const char *sec, const char *what);
/* Whether the comma-separated list holds the word w. */
bool sbt_list_has(const char *list, const char *w);
/* Number of words in a comma-separated list. */
unsigned sbt_list_len(const char *list);
/* Directories named prefix* under this process's group in every mounted hierarchy, as a
 * human-readable list in buf (empty: none). */
unsigned sbt_find_groups(const char *prefix, char *buf, size_t len);
/* Kills what is in the groups named prefix* under this process's groups and removes them (what
 * a broken solution left); how many there were. */
unsigned sbt_remove_groups(const char *prefix);
/* sbt_remove_groups of the groups named for process pid (vlab-sb-PID-*). */
unsigned sbt_remove_groups_of(pid_t pid);
/* Whether pid is gone or dead (a zombie its parent has yet to reap). */
bool sbt_dead(pid_t pid);
/* Where the caller's group of the hierarchy holding ctrl is ("" for v2's unified one):
 * directory path, or false. */
bool sbt_own_group(const char *ctrl, char *path, size_t len);
/* Reads a number from dir/file; false if unreadable or not a number (v2's "max"). */
bool sbt_read_num(const char *dir, const char *file, unsigned long long *v);
/* What child c of the test wrote into the pipe it shares with us: read from rd into got (len
 * bytes, NUL-terminated, empty if c < 0 or nothing came), then rd closed and c reaped. */
void sbt_child_report(pid_t c, int rd, char *got, size_t len);

#endif
