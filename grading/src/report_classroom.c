/* classroom.json: the result format of GitHub Classroom's autograding runners
 * ({version, status, max_score, tests[{name, status, score, message, line_no}]}), which
 * autograding-grading-reporter reads (base64, from <RUNNER>_RESULTS): it records the sum of the
 * tests' scores out of the runners' max_score as Classroom's "Points X/Y", prints "line
 * <line_no>" unless line_no is 0, and fails the check when a runner's status is "fail" or
 * "error". Each test also carries its max_score, so the workflow can hand every test over as a
 * runner of its own (grading/classroom/classroom.yml): the reporter's console table weighs a
 * runner's tests equally, which is exact only for one test per runner. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "report.h"
#include "strbuf.h"
#include "text.h"

/* A SKIP worth nothing (a test that needs what the runner lacks) is not a result: left out, so
 * it neither shows as a pass nor fails the check. A SKIP worth points lost them: a "fail". */
static bool left_out(const struct test_result *tr) {
    return tr->status == ST_SKIP && round_score(tr->max_score) == 0;
}

static const char *runner_status(enum status st) {
    switch (st) {
    case ST_PASS: return "pass";
    case ST_FAIL:
    case ST_SKIP: return "fail";
    case ST_CRASH:
    case ST_TIMEOUT: return "error";
    }
    return "error";
}

int write_classroom_json(const char *dir, const struct grade *g) {
    cJSON *root = cJSON_CreateObject();
    cJSON *tests = cJSON_CreateArray();
    double max_score = 0;
    bool failed = false;

    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        for (size_t k = 0; k < lab->ntests; k++) {
            const struct test_result *tr = &lab->tests[k];
            if (left_out(tr)) continue;
            cJSON *t = cJSON_CreateObject();
            char *name = xasprintf("%s/%s", lab->name, tr->name);
            /* the reporter prints the message of an "error" alone, without the test's name */
            char *first = tr->message ? text_first_line(tr->message) : xstrdup("");
            char *message = tr->status == ST_PASS
                                ? xstrdup("")
                                : xasprintf("%s: %s: %s", name, status_word(tr->status), first);
            cJSON_AddStringToObject(t, "name", name);
            cJSON_AddStringToObject(t, "status", runner_status(tr->status));
            cJSON_AddNumberToObject(t, "score", round_score(tr->score));
            cJSON_AddNumberToObject(t, "max_score", round_score(tr->max_score));
            cJSON_AddStringToObject(t, "message", message);
            cJSON_AddNumberToObject(t, "line_no", 0); /* no source line: "line 0" is not shown */
            cJSON_AddItemToArray(tests, t);
            max_score += tr->max_score;
            failed |= tr->status != ST_PASS;
            free(name);
            free(first);
            free(message);
        }
    }
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "status", failed ? "fail" : "pass");
    cJSON_AddNumberToObject(root, "max_score", round_score(max_score));
    cJSON_AddItemToObject(root, "tests", tests);
    /* not read by the reporter: for whoever compares this grade with another machine's */
    add_where(root, g);
    return write_json(dir, "classroom.json", root);
}
