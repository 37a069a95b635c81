/* classroom.json: the result format of GitHub Classroom's autograding runners
 * ({version, status, max_score, tests[{name, status, score, message}]}), which
 * autograding-grading-reporter sums into the "Points X/Y" Classroom records. The workflow hands
 * it over base64-encoded (grading/classroom/classroom.yml). */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "report.h"
#include "strbuf.h"

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
    struct tally all = tally_grade(g);
    cJSON *root = cJSON_CreateObject();
    cJSON *tests = cJSON_CreateArray();

    cJSON_AddNumberToObject(root, "version", 1);
    /* a skip earns nothing, so it does not make the run a pass either */
    cJSON_AddStringToObject(root, "status", all.failed || all.skipped ? "fail" : "pass");
    cJSON_AddNumberToObject(root, "max_score", all.max_score);
    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        for (size_t k = 0; k < lab->ntests; k++) {
            const struct test_result *tr = &lab->tests[k];
            cJSON *t = cJSON_CreateObject();
            char *name = xasprintf("%s/%s", lab->name, tr->name);
            cJSON_AddStringToObject(t, "name", name);
            cJSON_AddStringToObject(t, "status", runner_status(tr->status));
            cJSON_AddNumberToObject(t, "score", round_score(tr->score));
            cJSON_AddStringToObject(t, "message", tr->message ? tr->message : "");
            cJSON_AddItemToArray(tests, t);
            free(name);
        }
    }
    cJSON_AddItemToObject(root, "tests", tests);
    return write_json(dir, "classroom.json", root);
}
