/* The rubric: which tests a lab has, what each is worth, and the limits its processes run
 * under. Format documented in grading/README.md. */
#ifndef VLAB_GRADE_RUBRIC_H
#define VLAB_GRADE_RUBRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "grade.h"

struct rubric_test {
    char *name;
    double points;
    char *visibility;
    const char *hint;   /* the first `hint` line matching it, or NULL (points into hints) */
    char *twin_base;    /* `twin NAME BASE`: BASE as written, else NULL */
    long twin_of;       /* index of BASE in tests, or -1 */
    double twin_points; /* what the twin is worth where it runs: half of BASE's points */
    int twin_line;
    const char *task; /* the task heading above it, or NULL (points into tasks) */
};

/* `hint GLOB TEXT`: what a CRASH or TIMEOUT of the matching tests most likely means. */
struct rubric_hint {
    char *glob;
    char *text;
    int line;
};

struct rubric {
    char *lab;
    char *title;
    struct limits lim;
    struct rubric_test *tests;
    size_t ntests;
    struct rubric_hint *hints;
    size_t nhints;
    const char *only; /* set by rubric_keep: the binary's tests outside it are ignored */
    /* Task headings: comment lines `# TITLE — N points` (the handout's tasks), in order. */
    char **tasks;
    size_t ntasks;
};

/* Parses path as lab's rubric. On a malformed file prints "path:line: reason" lines to stderr
 * (every error, not just the first) and returns -1. */
int rubric_load(const char *path, const char *lab, struct rubric *r);
/* The same from an open stream; path only names it in messages. */
int rubric_read(FILE *f, const char *path, const char *lab, struct rubric *r);
void rubric_free(struct rubric *r);
/* only: space-separated fnmatch patterns. Whether name matches one of them (true for NULL). */
bool rubric_selects(const char *only, const char *name);
/* Keeps only the tests rubric_selects (and remembers only, so the binary's other tests are not
 * reported as missing from the rubric); returns how many remain. */
size_t rubric_keep(struct rubric *r, const char *only);

/* Lab and test names end up in paths, Criterion filters and report markup: only [A-Za-z0-9_-],
 * not starting with '-'. */
int valid_name(const char *s);

#endif
