/* The grade as the parent assembles it: one lab_result per lab, one test_result per rubric test.
 * Only the parent process ever writes these, after the test processes are gone. */
#ifndef VLAB_GRADE_GRADE_H
#define VLAB_GRADE_GRADE_H

#include <stdbool.h>
#include <stddef.h>

#include "host.h"

enum status { ST_PASS, ST_FAIL, ST_CRASH, ST_TIMEOUT, ST_SKIP };

/* "PASS", "FAIL", "CRASH", "TIMEOUT", "SKIP" */
const char *status_word(enum status st);

/* Resource limits for every process of one lab (the rubric's `set` lines). */
struct limits {
    double timeout;            /* wall-clock seconds per test run */
    double lab_timeout;        /* wall-clock seconds for the whole lab */
    unsigned long long memory; /* RLIMIT_AS bytes */
    unsigned long long fsize;  /* RLIMIT_FSIZE bytes */
    unsigned long procs;       /* processes (tasks) the test may have at once */
    unsigned long cpu;         /* RLIMIT_CPU seconds */
    unsigned long files;       /* RLIMIT_NOFILE: open files per process */
    bool privileged;           /* needs real root: no uid drop */
    const char *device;        /* a /dev node the tests may open (`set device`), or NULL */
};

struct test_result {
    char *name;       /* test name inside the lab's suite */
    char *visibility; /* Gradescope visibility from the rubric */
    double max_score;
    double score;
    enum status status;
    double seconds;
    char *message;    /* why it did not pass (NULL when it passed) */
    char *output;     /* what the test printed, cleaned and capped (NULL when nothing) */
    const char *hint; /* the rubric's likely cause of a CRASH or TIMEOUT (not owned) */
    const char *task; /* the rubric's task heading above the test, or NULL (not owned) */
};

struct lab_result {
    char *name;
    char *title;
    bool privileged;
    const char *backend; /* "kvm" or "unicorn" for a lab graded on /dev/kvm where it is usable,
                            else NULL: the lab runs the same on every machine */
    char *runs_as;       /* the user its tests ran as: "root", "uid 64999", ... */
    struct test_result *tests;
    size_t ntests;
    char **extra; /* tests the binary has but the rubric does not list */
    size_t nextra;
    char *note; /* why no test of the lab ran (it does not build): said once, not per test */
    double seconds;
};

struct grade {
    const char *sol;
    const char *commit; /* what was graded, as the caller says (--commit), or NULL */
    const char *about;  /* the caller's words on the submission (--about FILE), or NULL */
    char graded_at[32]; /* UTC, ISO 8601: when grading started */
    struct host host;   /* where it was graded */
    struct lab_result *labs;
    size_t nlabs;
    double seconds;
};

struct tally {
    double score, max_score;
    size_t passed, failed, skipped, errors; /* errors: CRASH + TIMEOUT (also in failed) */
};

struct tally tally_lab(const struct lab_result *lab);

/* A task of the lab (the rubric's headings) and the tally of its tests. */
struct task_tally {
    const char *name; /* NULL: the tests above the first heading */
    struct tally t;
};
/* The lab's tasks in the order their headings come (a twin counts in its base's); *n is 0 and the
 * result NULL when the rubric has no headings. The caller frees the array. */
struct task_tally *tally_tasks(const struct lab_result *lab, size_t *n);
struct tally tally_grade(const struct grade *g);

/* Scores are sums of rubric decimals: round away binary noise before anyone prints them. */
double round_score(double x);
/* x rounded to the nearest 1/scale. */
double round_to(double x, double scale);

void lab_result_free(struct lab_result *lab);

#endif
