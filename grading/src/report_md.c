#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "outfile.h"
#include "report.h"
#include "term.h"
#include "text.h"

static const char *icon(enum status st) {
    switch (st) {
    case ST_PASS: return "✅";
    case ST_FAIL: return "❌";
    case ST_CRASH: return "💥";
    case ST_TIMEOUT: return "⏱️";
    case ST_SKIP: return "⏭️";
    }
    return "";
}

/* Text as a fenced block, with no backtick that could close the fence early. */
static void put_md_block(FILE *f, const char *s) {
    char *clean = text_clean(s, strlen(s));
    for (char *q = clean; *q; q++)
        if (*q == '`') *q = '\'';
    fprintf(f, "\n```\n%s\n```\n\n", clean);
    free(clean);
}

int write_summary_md(const char *dir, const struct grade *g) {
    struct outfile of;
    FILE *f = outfile_open(&of, dir, "summary.md");
    struct tally all = tally_grade(g);

    if (!f) return -1;
    fputs("# vlab grade: ", f);
    put_md_cell(f, g->sol);
    fprintf(f, " — %g/%g\n\n", all.score, all.max_score);
    fprintf(f, "%zu passed, %zu failed", all.passed, all.failed);
    if (all.skipped) fprintf(f, ", %zu skipped", all.skipped);
    char *host = host_text(&g->host);
    fputs("\n\nGraded on ", f);
    put_md_cell(f, host);
    fputs("\n", f);
    free(host);
    if (g->about) put_md_block(f, g->about);

    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        struct tally t = tally_lab(lab);
        fputs("\n## ", f);
        put_md_cell(f, lab->name);
        fputs(": ", f);
        put_md_cell(f, lab->title);
        fprintf(f, " — %g/%g\n\n", t.score, t.max_score);
        char *where = lab_where(lab);
        put_md_cell(f, where);
        fputs("\n\n", f);
        free(where);
        if (lab->note) put_md_block(f, lab->note);
        for (size_t k = 0; k < lab->nextra; k++) {
            fputs("> warning: ", f);
            put_md_cell(f, lab->extra[k]);
            fputs(" is in the test binary but not in the rubric\n\n", f);
        }
        size_t ntasks;
        struct task_tally *tasks = tally_tasks(lab, &ntasks);
        if (ntasks) fputs("| Task | Points | Passed |\n|---|--:|--:|\n", f);
        for (size_t k = 0; k < ntasks; k++) {
            char got[32], max[32];
            format_points(got, sizeof got, tasks[k].t.score);
            format_points(max, sizeof max, tasks[k].t.max_score);
            fputs("| ", f);
            put_md_cell(f, tasks[k].name ? tasks[k].name : "other tests");
            fprintf(f, " | %s/%s | %zu/%zu |\n", got, max, tasks[k].t.passed,
                    tasks[k].t.passed + tasks[k].t.failed + tasks[k].t.skipped);
        }
        if (ntasks) fputs("\n", f);
        free(tasks);
        fputs("| Status | Test | Points | Time | Note |\n|---|---|--:|--:|---|\n", f);
        for (size_t k = 0; k < lab->ntests; k++) {
            const struct test_result *tr = &lab->tests[k];
            char got[32], max[32];
            format_points(got, sizeof got, tr->score);
            format_points(max, sizeof max, tr->max_score);
            fprintf(f, "| %s %s | ", icon(tr->status), status_word(tr->status));
            put_md_cell(f, tr->name);
            fprintf(f, " | %s/%s | %.2fs | ", got, max, tr->seconds);
            if (tr->status != ST_PASS && tr->message) {
                char *first = text_first_line(tr->message);
                put_md_cell(f, first);
                free(first);
            }
            fputs(" |\n", f);
        }
    }
    fprintf(f, "\n**Total: %g/%g**\n\nGraded %s", all.score, all.max_score, g->graded_at);
    if (g->commit) {
        fputs(", ", f);
        put_md_cell(f, g->commit);
    }
    fputs("\n", f);
    return outfile_commit(&of);
}
