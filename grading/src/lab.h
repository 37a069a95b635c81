/* Grading one lab: list the binary's tests, run each rubric test in its own contained run, and
 * turn what happened into statuses, scores and messages. */
#ifndef VLAB_GRADE_LAB_H
#define VLAB_GRADE_LAB_H

#include "grade.h"
#include "rubric.h"
#include "sandbox.h"
#include "term.h"

struct lab_env {
    const char *build_dir;
    const char *tmp_base; /* per-run private dirs are made in here */
    const struct sandbox *sb;
    const struct host *host;
    const struct term *term;
    unsigned *run_counter;
};

/* Fills lab from the rubric and the binary's behaviour, printing each test as it finishes.
 * Returns -1 only on a grader failure (cannot fork, interrupted). */
int grade_lab(const struct lab_env *env, const struct rubric *rb, struct lab_result *lab);

#endif
