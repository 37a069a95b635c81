#include "grade.h"

#include <stdlib.h>

#include "strbuf.h"

const char *status_word(enum status st) {
    switch (st) {
    case ST_PASS: return "PASS";
    case ST_FAIL: return "FAIL";
    case ST_CRASH: return "CRASH";
    case ST_TIMEOUT: return "TIMEOUT";
    case ST_SKIP: return "SKIP";
    }
    return "?";
}

/* Not round() from libm: the grader links nothing but libc and cJSON. Values are scores and
 * seconds, far below where the long long conversion could overflow. */
double round_to(double x, double scale) {
    double s = x * scale;
    return (double)(long long)(s < 0 ? s - 0.5 : s + 0.5) / scale;
}

double round_score(double x) {
    return round_to(x, 1e6);
}

struct tally tally_lab(const struct lab_result *lab) {
    struct tally t = {0};
    for (size_t i = 0; i < lab->ntests; i++) {
        const struct test_result *tr = &lab->tests[i];
        t.score += tr->score;
        t.max_score += tr->max_score;
        switch (tr->status) {
        case ST_PASS: t.passed++; break;
        case ST_SKIP: t.skipped++; break;
        case ST_FAIL: t.failed++; break;
        case ST_CRASH:
        case ST_TIMEOUT:
            t.errors++;
            t.failed++;
            break;
        }
    }
    t.score = round_score(t.score);
    t.max_score = round_score(t.max_score);
    return t;
}

static void count(struct tally *t, const struct test_result *tr) {
    t->score += tr->score;
    t->max_score += tr->max_score;
    if (tr->status == ST_PASS)
        t->passed++;
    else if (tr->status == ST_SKIP)
        t->skipped++;
    else
        t->failed++;
}

struct task_tally *tally_tasks(const struct lab_result *lab, size_t *n) {
    struct task_tally *tasks = NULL;
    bool any = false;
    *n = 0;
    for (size_t i = 0; i < lab->ntests; i++)
        any |= lab->tests[i].task != NULL;
    if (!any) return NULL;
    for (size_t i = 0; i < lab->ntests; i++) {
        /* a heading's tests need not be consecutive: a `twin` counts in its base's task */
        const char *name = lab->tests[i].task;
        size_t k = 0;
        while (k < *n && tasks[k].name != name)
            k++;
        if (k == *n) {
            tasks = xrealloc(tasks, (*n + 1) * sizeof *tasks);
            tasks[(*n)++] = (struct task_tally){.name = name};
        }
        count(&tasks[k].t, &lab->tests[i]);
    }
    for (size_t k = 0; k < *n; k++) {
        tasks[k].t.score = round_score(tasks[k].t.score);
        tasks[k].t.max_score = round_score(tasks[k].t.max_score);
    }
    return tasks;
}

struct tally tally_grade(const struct grade *g) {
    struct tally t = {0};
    for (size_t i = 0; i < g->nlabs; i++) {
        struct tally l = tally_lab(&g->labs[i]);
        t.score += l.score;
        t.max_score += l.max_score;
        t.passed += l.passed;
        t.failed += l.failed;
        t.skipped += l.skipped;
        t.errors += l.errors;
    }
    t.score = round_score(t.score);
    t.max_score = round_score(t.max_score);
    return t;
}

void lab_result_free(struct lab_result *lab) {
    for (size_t i = 0; i < lab->ntests; i++) {
        free(lab->tests[i].name);
        free(lab->tests[i].visibility);
        free(lab->tests[i].message);
        free(lab->tests[i].output);
    }
    free(lab->tests);
    for (size_t i = 0; i < lab->nextra; i++)
        free(lab->extra[i]);
    free(lab->extra);
    free(lab->note);
    free(lab->runs_as);
    free(lab->name);
    free(lab->title);
}
