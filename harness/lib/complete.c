/* The completion record: proof for the grader that a test ran to its end.
 *
 * Criterion reports a worker that exits with status 0 before its test returns as PASSED, so a
 * student function that calls exit(0) would pass every test that calls it. Every graded test
 * binary is linked with --wrap for Criterion's per-test setup and teardown entry points (the
 * trampoline its Test() macro expands to calls both), so this file runs around every test body
 * without any per-test code:
 *   - setup remembers which process started the test and arms an on_exit handler;
 *   - teardown, reached only when the body and its .fini returned (a failed assertion returns
 *     there too), appends "done SUITE/TEST TOKEN";
 *   - the on_exit handler, if the test's own process calls exit() before that, appends
 *     "exit STATUS SUITE/TEST TOKEN" so the grader can say how the test ended.
 * The record goes to the file named by VLAB_DONE (BoxFort closes inherited descriptors in the
 * workers), opened when the test starts, with the token from VLAB_DONE_TOKEN; the grader
 * creates both per run. Both leave the environment as the test starts. _exit,
 * exit_group and signals leave no line at all, which the grader reports as such.
 * Without VLAB_DONE (a test binary run by hand) nothing is written. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void __real_criterion_internal_test_setup(void);
void __real_criterion_internal_test_teardown(void);
void __wrap_criterion_internal_test_setup(void);
void __wrap_criterion_internal_test_teardown(void);

static pid_t test_pid;
static bool test_done;
static int record_fd = -1; /* opened before the test: it may use up every descriptor */
static char token[64] = "-";

/* Takes NAME out of the environment, and its value out of the memory /proc/self/environ shows,
 * so neither the code under test nor the processes it starts find it there. */
static void scrub(const char *name) {
    char *v = getenv(name);
    if (v) memset(v, 0, strlen(v));
    unsetenv(name);
}

static void record(const char *what) {
    if (record_fd < 0 || !criterion_current_test || !criterion_current_suite) return;
    char line[512];
    int n = snprintf(line, sizeof line, "%s %s/%s %s\n", what, criterion_current_suite->name,
                     criterion_current_test->name, token);
    if (n <= 0 || (size_t)n >= sizeof line) return;
    ssize_t w = write(record_fd, line, (size_t)n); /* one write: O_APPEND keeps lines whole */
    (void)w;
}

static void on_early_exit(int status, void *arg) {
    (void)arg;
    /* a child the code under test forked and that exits is not the test ending */
    if (test_done || getpid() != test_pid) return;
    char what[32];
    snprintf(what, sizeof what, "exit %d", status & 0xff);
    record(what);
}

void __wrap_criterion_internal_test_setup(void) {
    static bool armed;
    const char *path = getenv("VLAB_DONE");
    test_pid = getpid();
    test_done = false;
    const char *tok = getenv("VLAB_DONE_TOKEN");
    if (record_fd < 0 && path && *path)
        record_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (tok && *tok) snprintf(token, sizeof token, "%s", tok);
    scrub("VLAB_DONE");
    scrub("VLAB_DONE_TOKEN");
    if (!armed) armed = on_exit(on_early_exit, NULL) == 0;
    __real_criterion_internal_test_setup();
}

void __wrap_criterion_internal_test_teardown(void) {
    __real_criterion_internal_test_teardown();
    /* a forked child of the code under test that returned into the test body ends here too:
     * only the process that started the test may say it finished */
    if (getpid() != test_pid) return;
    test_done = true;
    record("done");
}
