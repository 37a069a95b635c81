/* The terminal report: a line per test as it finishes, a total per lab, and the two closing
 * lines that CI reads (`score: X/Y`, `N passed, N failed[, N skipped]`). */
#ifndef VLAB_GRADE_TERM_H
#define VLAB_GRADE_TERM_H

#include <stdbool.h>

#include "grade.h"
#include "host.h"

struct term {
    bool color;
    bool quiet;         /* only per-lab totals and the closing lines */
    const char *report; /* the file that has what a test line leaves out, or NULL */
};

void term_init(struct term *t, bool quiet);
/* "vlab-grade on x86_64, Linux ...": where the grade is made, before the first lab. */
void term_host(const struct term *t, const struct host *h);
void term_lab_header(const struct term *t, const struct lab_result *lab);
void term_test(const struct term *t, const char *lab, const struct test_result *tr);
/* The lab's note (why none of its tests ran), once, under its header. */
void term_lab_note(const struct term *t, const struct lab_result *lab);
void term_warn(const struct term *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void term_lab_total(const struct term *t, const struct lab_result *lab);
void term_final(const struct term *t, const struct grade *g);

/* Points as the report shows them: one decimal, two when the rubric uses quarters. */
void format_points(char *buf, size_t len, double x);

#endif
