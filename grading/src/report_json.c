#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outfile.h"
#include "report.h"
#include "strbuf.h"
#include "text.h"

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

char *lab_where(const struct lab_result *lab) {
    if (lab->backend)
        return xasprintf("tests ran as %s, on the %s backend", lab->runs_as, lab->backend);
    return xasprintf("tests ran as %s", lab->runs_as);
}

void add_where(cJSON *obj, const struct grade *g) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "arch", g->host.arch);
    cJSON_AddStringToObject(m, "kernel", g->host.kernel);
    cJSON_AddBoolToObject(m, "root", g->host.root);
    cJSON_AddStringToObject(m, "cgroup", g->host.cgroup);
    cJSON_AddBoolToObject(m, "kvm", g->host.kvm);
    cJSON_AddItemToObject(obj, "machine", m);
    cJSON *labs = cJSON_CreateObject();
    for (size_t i = 0; i < g->nlabs; i++) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "runs_as", g->labs[i].runs_as);
        if (g->labs[i].backend) cJSON_AddStringToObject(l, "backend", g->labs[i].backend);
        cJSON_AddItemToObject(labs, g->labs[i].name, l);
    }
    cJSON_AddItemToObject(obj, "labs", labs);
}

/* Whether students see a test (and its line in the summary) before grades are out. */
static bool shown(const struct test_result *tr) {
    return strcmp(tr->visibility, "visible") == 0;
}

/* A SKIP worth nothing (a test that needs what this machine lacks, such as /dev/kvm) is not a
 * result at all: Gradescope would show it as a passed or a failed test. It is left out and
 * counted in the summary instead. */
static bool left_out(const struct test_result *tr) {
    return tr->status == ST_SKIP && round_score(tr->max_score) == 0;
}

/* The submission-level output students see: what was graded, then per lab the visible tests'
 * totals. A lab with tests not yet visible says only how many there are and their points, so
 * the totals give away nothing the hidden tests' own visibility keeps back. */
static char *summary_text(const struct grade *g) {
    struct strbuf sb = {0};
    if (g->about) sb_printf(&sb, "%s\n\n", g->about);
    sb_printf(&sb, "vlab grade (%s)", g->sol);
    if (g->commit) sb_printf(&sb, ", %s", g->commit);
    char *host = host_text(&g->host);
    sb_printf(&sb, "\ngraded on %s\n", host);
    free(host);
    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        struct tally v = {0};
        size_t later = 0, unrated = 0;
        double later_points = 0;
        const struct test_result *why = NULL;
        for (size_t k = 0; k < lab->ntests; k++) {
            const struct test_result *tr = &lab->tests[k];
            if (!shown(tr)) {
                later++;
                later_points += tr->max_score;
                continue;
            }
            if (left_out(tr)) {
                unrated++;
                if (!why) why = tr;
                continue;
            }
            v.score += tr->score;
            v.max_score += tr->max_score;
            if (tr->status == ST_PASS)
                v.passed++;
            else if (tr->status == ST_SKIP)
                v.skipped++;
            else
                v.failed++;
        }
        sb_printf(&sb, "%s (%s): %g/%g", lab->name, lab->title, round_score(v.score),
                  round_score(v.max_score));
        if (later) sb_puts(&sb, " on the visible tests");
        sb_printf(&sb, ", %zu passed, %zu failed", v.passed, v.failed);
        if (v.skipped) sb_printf(&sb, ", %zu skipped", v.skipped);
        sb_puts(&sb, "\n");
        if (later)
            sb_printf(&sb, "  and %zu more test%s worth %g point%s, not shown here\n", later,
                      later == 1 ? "" : "s", round_score(later_points),
                      round_score(later_points) == 1 ? "" : "s");
        if (unrated) {
            char *first = why->message ? text_first_line(why->message) : xstrdup("skipped");
            sb_printf(&sb, "  %zu test%s worth no points skipped here (%s: %s)\n", unrated,
                      unrated == 1 ? "" : "s", why->name, first);
            free(first);
        }
        char *where = lab_where(lab);
        sb_printf(&sb, "  %s\n", where);
        free(where);
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
    /* the grader's stdout names every test, the hidden ones too: instructors only */
    cJSON_AddStringToObject(root, "stdout_visibility", "hidden");
    free(summary);
    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        for (size_t k = 0; k < lab->ntests; k++) {
            const struct test_result *tr = &lab->tests[k];
            if (left_out(tr)) continue;
            cJSON *t = cJSON_CreateObject();
            char *name = xasprintf("%s/%s", lab->name, tr->name);
            char *number = xasprintf("%zu.%zu", i + 1, k + 1);
            char *details = test_details(tr);
            cJSON_AddStringToObject(t, "name", name);
            cJSON_AddStringToObject(t, "number", number);
            cJSON_AddNumberToObject(t, "score", round_score(tr->score));
            cJSON_AddNumberToObject(t, "max_score", round_score(tr->max_score));
            /* a SKIP has no status of its own: Gradescope goes by its score (0 of its points) */
            if (tr->status != ST_SKIP)
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
    add_where(extra, g);
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
