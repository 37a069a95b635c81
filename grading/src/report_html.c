#include <stdio.h>
#include <stdlib.h>

#include "escape.h"
#include "outfile.h"
#include "report.h"
#include "term.h"
#include "text.h"

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{border-bottom:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".st{font-weight:bold;font-family:monospace}"
    ".PASS{color:#1a7f37}.FAIL{color:#cf222e}.CRASH,.TIMEOUT{color:#fff;background:#cf222e}"
    ".SKIP{color:#9a6700}"
    "pre{background:#f6f8fa;padding:.6em;overflow-x:auto;white-space:pre-wrap;margin:.3em 0}"
    ".warn{color:#9a6700}.first{font-weight:bold}table.tasks{width:auto;margin:.5em 0 1em}";

static void text(FILE *f, const char *s) {
    put_xml(f, s, false);
}

static void lab_table(FILE *f, const struct lab_result *lab) {
    struct tally t = tally_lab(lab);
    fputs("<h2>", f);
    text(f, lab->name);
    fputs(": ", f);
    text(f, lab->title);
    fprintf(f, " — %g/%g</h2>\n<p class=\"where\">", t.score, t.max_score);
    char *where = lab_where(lab);
    text(f, where);
    free(where);
    fputs("</p>\n", f);
    if (lab->note) {
        fputs("<pre class=\"warn\">", f);
        text(f, lab->note);
        fputs("</pre>\n", f);
    }
    for (size_t k = 0; k < lab->nextra; k++) {
        fputs("<p class=\"warn\">warning: ", f);
        text(f, lab->extra[k]);
        fputs(" is in the test binary but not in the rubric</p>\n", f);
    }
    size_t ntasks;
    struct task_tally *tasks = tally_tasks(lab, &ntasks);
    if (ntasks) fputs("<table class=\"tasks\">\n<tr><th>Task</th><th>Points</th></tr>\n", f);
    for (size_t k = 0; k < ntasks; k++) {
        char got[32], max[32];
        format_points(got, sizeof got, tasks[k].t.score);
        format_points(max, sizeof max, tasks[k].t.max_score);
        fputs("<tr><td>", f);
        text(f, tasks[k].name ? tasks[k].name : "other tests");
        fprintf(f, "</td><td class=\"num\">%s/%s</td></tr>\n", got, max);
    }
    if (ntasks) fputs("</table>\n", f);
    free(tasks);
    fputs("<table>\n<tr><th>Status</th><th>Test</th><th>Points</th><th>Time</th>"
          "<th>Details</th></tr>\n",
          f);
    for (size_t k = 0; k < lab->ntests; k++) {
        const struct test_result *tr = &lab->tests[k];
        char got[32], max[32];
        format_points(got, sizeof got, tr->score);
        format_points(max, sizeof max, tr->max_score);
        fputs("<tr id=\"", f);
        text(f, lab->name);
        fputs("-", f);
        text(f, tr->name);
        fprintf(f, "\"><td class=\"st %s\">%s</td><td>", status_word(tr->status),
                status_word(tr->status));
        text(f, tr->name);
        fprintf(f, "</td><td class=\"num\">%s/%s</td><td class=\"num\">%.2fs</td><td>", got, max,
                tr->seconds);
        if (tr->message) {
            fputs("<pre>", f);
            text(f, tr->message);
            fputs("</pre>", f);
        }
        if (tr->output) {
            fputs("<details><summary>output</summary><pre>", f);
            text(f, tr->output);
            fputs("</pre></details>", f);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

/* The first test that did not pass (a SKIP is not a failure), named and linked at the top:
 * the one to fix first. */
static void first_failure(FILE *f, const struct grade *g) {
    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        for (size_t k = 0; k < lab->ntests; k++) {
            const struct test_result *tr = &lab->tests[k];
            if (tr->status == ST_PASS || tr->status == ST_SKIP) continue;
            fputs("<p class=\"first\">First failure: <a href=\"#", f);
            text(f, lab->name);
            fputs("-", f);
            text(f, tr->name);
            fputs("\">", f);
            text(f, lab->name);
            fputs("/", f);
            text(f, tr->name);
            fprintf(f, "</a> (%s)", status_word(tr->status));
            if (tr->message) {
                char *first = text_first_line(tr->message);
                fputs(": ", f);
                text(f, first);
                free(first);
            }
            fputs("</p>\n", f);
            return;
        }
    }
}

int write_report_html(const char *dir, const struct grade *g) {
    struct outfile of;
    FILE *f = outfile_open(&of, dir, "report.html");
    struct tally all = tally_grade(g);

    if (!f) return -1;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>vlab "
          "grade: ",
          f);
    text(f, g->sol);
    fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>vlab grade: ", style);
    text(f, g->sol);
    fprintf(f, " — %g/%g</h1>\n<p>%zu passed, %zu failed", all.score, all.max_score, all.passed,
            all.failed);
    if (all.skipped) fprintf(f, ", %zu skipped", all.skipped);
    fprintf(f, " (%.1fs)</p>\n<p>Graded %s", g->seconds, g->graded_at);
    if (g->commit) {
        fputs(", ", f);
        text(f, g->commit);
    }
    char *host = host_text(&g->host);
    fputs("</p>\n<p class=\"where\">Graded on ", f);
    text(f, host);
    fputs("</p>\n", f);
    free(host);
    first_failure(f, g);
    if (g->about) {
        fputs("<pre>", f);
        text(f, g->about);
        fputs("</pre>\n", f);
    }
    for (size_t i = 0; i < g->nlabs; i++)
        lab_table(f, &g->labs[i]);
    fputs("</body>\n</html>\n", f);
    return outfile_commit(&of);
}
