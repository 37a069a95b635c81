/* The parent side of one test-binary run: fork into the sandbox, watch the wall clock, capture
 * output and Criterion's report, and leave nothing running afterwards. */
#ifndef VLAB_GRADE_RUN_H
#define VLAB_GRADE_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "grade.h"
#include "sandbox.h"
#include "strbuf.h"

/* Set by the grader's SIGINT/SIGTERM/SIGHUP handler: the current run is killed and the grader
 * stops. */
extern volatile sig_atomic_t run_stop;

struct run_spec {
    char *const *argv;
    const struct sandbox *sb;
    const struct limits *lim;
    const char *cwd;                    /* private temp dir for the run */
    double deadline;                    /* absolute, mono_now() clock */
    size_t out_cap;                     /* bytes of stdout+stderr to keep */
    bool want_report;                   /* give the child a pipe on fd 3 */
    const char *done_path, *done_token; /* the completion record (NULL: none) */
};

struct run_result {
    bool timed_out;         /* killed by our wall-clock deadline */
    bool stopped;           /* killed because the grader was interrupted */
    int wstatus;            /* waitpid status of the test binary */
    struct sb_report setup; /* stage != 0: the sandbox could not start the test */
    double seconds;
    struct strbuf out; /* first out_cap bytes of stdout+stderr */
    size_t out_total;
    struct strbuf report; /* everything written to fd 3 (capped) */
    bool report_truncated;
    bool leftovers; /* reaper could not clear every process */
    pid_t pid;      /* of the test binary */
};

double mono_now(void);

/* Runs one process as described. Returns -1 (with a message on stderr) only when the grader
 * itself cannot work (no pipes, no fork); anything the test does ends up in rr. */
int run_process(const struct run_spec *rs, struct run_result *rr);
void run_result_free(struct run_result *rr);

#endif
