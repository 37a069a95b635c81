/* The machine-readable and shareable reports, all written by the parent once every test
 * process is gone. Each returns -1 (message on stderr) if its file could not be written. */
#ifndef VLAB_GRADE_REPORT_H
#define VLAB_GRADE_REPORT_H

#include "grade.h"

int write_results_json(const char *dir, const struct grade *g); /* Gradescope schema */
int write_junit_xml(const char *dir, const struct grade *g);
int write_summary_md(const char *dir, const struct grade *g); /* for $GITHUB_STEP_SUMMARY */
int write_report_html(const char *dir, const struct grade *g);
/* GitHub Classroom's runner result (read by autograding-grading-reporter): per-test scores, so
 * Classroom gets partial credit rather than all-or-nothing per command. */
int write_classroom_json(const char *dir, const struct grade *g);

/* Writes root (consumed) as DIR/NAME via a temp file and rename. */
struct cJSON;
int write_json(const char *dir, const char *name, struct cJSON *root);

/* Where it was graded, as JSON: adds "machine" {arch, kernel, root, cgroup, kvm} and "labs"
 * {LAB: {runs_as, backend}} (backend only for a lab graded on /dev/kvm where usable) to obj. */
void add_where(struct cJSON *obj, const struct grade *g);
/* The same for one lab in words: "tests ran as uid 64999, on the kvm backend". */
char *lab_where(const struct lab_result *lab);

/* Status word, message and captured output as one text (Gradescope output, XML bodies). */
char *test_details(const struct test_result *tr);

#endif
