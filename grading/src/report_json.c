#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "outfile.h"
#include "report.h"
#include "strbuf.h"

char *test_details(const struct test_result *tr) {
    struct strbuf sb = {0};
    sb_puts(&sb, status_word(tr->status));
    if (tr->message) {
        sb_puts(&sb, ": ");
        sb_puts(&sb, tr->message);
    }
    if (tr->output) {
        sb_puts(&sb, "\n\n--- test output ---\n");
        sb_puts(&sb, tr->output);
    }
    return sb_steal(&sb);
}

static char *summary_text(const struct grade *g) {
    struct strbuf sb = {0};
    struct tally all = tally_grade(g);
    sb_printf(&sb, "vlab grade (%s): %g/%g\n", g->sol, all.score, all.max_score);
    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        struct tally t = tally_lab(lab);
        sb_printf(&sb, "%s (%s): %g/%g, %zu passed, %zu failed", lab->name, lab->title, t.score,
                  t.max_score, t.passed, t.failed);
        if (t.skipped) sb_printf(&sb, ", %zu skipped", t.skipped);
        sb_puts(&sb, "\n");
        if (lab->note) sb_printf(&sb, "%s\n", lab->note);
        for (size_t k = 0; k < lab->nextra; k++)
            sb_printf(&sb, "  warning: %s is in the test binary but not in the rubric\n",
                      lab->extra[k]);
    }
    return sb_steal(&sb);
}

/* Seconds as a JSON number with millisecond precision (no binary noise in the file). */
static double ms(double s) {
    return round_to(s, 1000);
}

int write_results_json(const char *dir, const struct grade *g) {
    struct tally all = tally_grade(g);
    cJSON *root = cJSON_CreateObject();
    cJSON *tests = cJSON_CreateArray();
    char *summary = summary_text(g);

    cJSON_AddNumberToObject(root, "score", all.score);
    cJSON_AddNumberToObject(root, "max_score", all.max_score);
    cJSON_AddNumberToObject(root, "execution_time", ms(g->seconds));
    cJSON_AddStringToObject(root, "output", summary);
    cJSON_AddStringToObject(root, "visibility", "visible");
    cJSON_AddStringToObject(root, "stdout_visibility", "visible");
    free(summary);
    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        for (size_t k = 0; k < lab->ntests; k++) {
            const struct test_result *tr = &lab->tests[k];
            cJSON *t = cJSON_CreateObject();
            char *name = xasprintf("%s/%s", lab->name, tr->name);
            char *number = xasprintf("%zu.%zu", i + 1, k + 1);
            char *details = test_details(tr);
            cJSON_AddStringToObject(t, "name", name);
            cJSON_AddStringToObject(t, "number", number);
            cJSON_AddNumberToObject(t, "score", round_score(tr->score));
            cJSON_AddNumberToObject(t, "max_score", round_score(tr->max_score));
            cJSON_AddStringToObject(t, "status", tr->status == ST_PASS ? "passed" : "failed");
            cJSON_AddStringToObject(t, "output", details);
            cJSON_AddStringToObject(t, "visibility", tr->visibility);
            cJSON_AddItemToArray(tests, t);
            free(name);
            free(number);
            free(details);
        }
    }
    cJSON_AddItemToObject(root, "tests", tests);
    /* when and what was graded: a report never passes for a later or an earlier run's */
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "graded_at", g->graded_at);
    cJSON_AddStringToObject(extra, "solution", g->sol);
    if (g->commit) cJSON_AddStringToObject(extra, "commit", g->commit);
    cJSON_AddItemToObject(root, "extra_data", extra);
    return write_json(dir, "results.json", root);
}

int write_json(const char *dir, const char *name, cJSON *root) {
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "vlab-grade: cannot build %s (out of memory)\n", name);
        return -1;
    }
    struct outfile of;
    FILE *f = outfile_open(&of, dir, name);
    if (!f) {
        cJSON_free(text);
        return -1;
    }
    fputs(text, f);
    fputc('\n', f);
    cJSON_free(text);
    return outfile_commit(&of);
}
