/* The machine-readable and shareable reports, all written by the parent once every test
 * process is gone. Each returns -1 (message on stderr) if its file could not be written. */
#ifndef VLAB_GRADE_REPORT_H
#define VLAB_GRADE_REPORT_H

#include "grade.h"

int write_results_json(const char *dir, const struct grade *g); /* Gradescope schema */
int write_junit_xml(const char *dir, const struct grade *g);
int write_summary_md(const char *dir, const struct grade *g); /* for $GITHUB_STEP_SUMMARY */
int write_report_html(const char *dir, const struct grade *g);

/* Status word, message and captured output as one text (Gradescope output, XML bodies). */
char *test_details(const struct test_result *tr);

#endif
