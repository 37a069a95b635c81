/* The rubric: which tests a lab has, what each is worth, and the limits its processes run
 * under. Format documented in grading/README.md. */
#ifndef VLAB_GRADE_RUBRIC_H
#define VLAB_GRADE_RUBRIC_H

#include <stddef.h>

#include "grade.h"

struct rubric_test {
    char *name;
    double points;
    char *visibility;
};

struct rubric {
    char *lab;
    char *title;
    struct limits lim;
    struct rubric_test *tests;
    size_t ntests;
};

/* Parses path as lab's rubric. On a malformed file prints "path:line: reason" lines to stderr
 * (every error, not just the first) and returns -1. */
int rubric_load(const char *path, const char *lab, struct rubric *r);
void rubric_free(struct rubric *r);

/* Lab and test names end up in paths, Criterion filters and report markup: only [A-Za-z0-9_-],
 * not starting with '-'. */
int valid_name(const char *s);

#endif
