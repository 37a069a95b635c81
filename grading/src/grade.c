#include "grade.h"

#include <stdlib.h>

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
    free(lab->name);
    free(lab->title);
}
