#include <stdio.h>
#include <stdlib.h>

#include "escape.h"
#include "outfile.h"
#include "report.h"
#include "strbuf.h"
#include "text.h"

static void attr(FILE *f, const char *name, const char *value) {
    fprintf(f, " %s=\"", name);
    put_xml(f, value, true);
    fputc('"', f);
}

static void property(FILE *f, const char *name, const char *value) {
    fputs("      <property", f);
    attr(f, "name", name);
    attr(f, "value", value);
    fputs("/>\n", f);
}

/* JUnit has properties per suite only: each lab's carry the machine's facts and its own. */
static void properties(FILE *f, const struct grade *g, const struct lab_result *lab) {
    fputs("    <properties>\n", f);
    property(f, "arch", g->host.arch);
    property(f, "kernel", g->host.kernel);
    property(f, "root", g->host.root ? "true" : "false");
    property(f, "cgroup", g->host.cgroup);
    property(f, "kvm", g->host.kvm ? "true" : "false");
    property(f, "runs_as", lab->runs_as);
    if (lab->backend) property(f, "backend", lab->backend);
    fputs("    </properties>\n", f);
}

static void testcase(FILE *f, const char *lab, const struct test_result *tr) {
    fputs("    <testcase", f);
    attr(f, "classname", lab);
    attr(f, "name", tr->name);
    fprintf(f, " time=\"%.3f\"", tr->seconds);
    if (tr->status == ST_PASS && !tr->output) {
        fputs("/>\n", f);
        return;
    }
    fputs(">\n", f);
    const char *msg = tr->message ? tr->message : status_word(tr->status);
    char *first = text_first_line(msg);
    const char *elem = NULL;
    switch (tr->status) {
    case ST_PASS: break;
    case ST_FAIL: elem = "failure"; break;
    case ST_CRASH:
    case ST_TIMEOUT: elem = "error"; break;
    case ST_SKIP: elem = "skipped"; break;
    }
    if (elem) {
        fprintf(f, "      <%s", elem);
        attr(f, "message", first);
        if (tr->status != ST_SKIP) attr(f, "type", status_word(tr->status));
        fputs(">", f);
        put_xml(f, msg, false);
        fprintf(f, "</%s>\n", elem);
    }
    if (tr->output) {
        fputs("      <system-out>", f);
        put_xml(f, tr->output, false);
        fputs("</system-out>\n", f);
    }
    fputs("    </testcase>\n", f);
    free(first);
}

int write_junit_xml(const char *dir, const struct grade *g) {
    struct outfile of;
    FILE *f = outfile_open(&of, dir, "junit.xml");
    struct tally all = tally_grade(g);
    size_t total = all.passed + all.failed + all.skipped;

    if (!f) return -1;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", f);
    char *name = xasprintf("vlab (%s)", g->sol);
    attr(f, "name", name);
    free(name);
    fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
            total, all.failed - all.errors, all.errors, all.skipped, g->seconds);
    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        struct tally t = tally_lab(lab);
        fputs("  <testsuite", f);
        attr(f, "name", lab->name);
        fprintf(f,
                " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
                "time=\"%.3f\">\n",
                lab->ntests, t.failed - t.errors, t.errors, t.skipped, lab->seconds);
        properties(f, g, lab);
        for (size_t k = 0; k < lab->ntests; k++)
            testcase(f, lab->name, &lab->tests[k]);
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
    return outfile_commit(&of);
}
