#include "term.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MESSAGE_LINES 5

void term_init(struct term *t, bool quiet) {
    t->quiet = quiet;
    t->report = NULL;
    t->color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
}

static const char *color_of(enum status st) {
    switch (st) {
    case ST_PASS: return "\033[32m";
    case ST_SKIP: return "\033[33m";
    case ST_FAIL: return "\033[31m";
    case ST_CRASH:
    case ST_TIMEOUT: return "\033[1;31m";
    }
    return "";
}

void format_points(char *buf, size_t len, double x) {
    x = round_score(x);
    double tenths = x * 10 - round_to(x, 10) * 10;
    if (tenths < 1e-6 && tenths > -1e-6)
        snprintf(buf, len, "%.1f", x);
    else
        snprintf(buf, len, "%.2f", x);
}

/* Without a usable /dev/kvm (containers on macOS and Windows, Codespaces, arm64 hosts) a lab
 * given it (the vmm lab) skips its kvm tests and is graded on the Unicorn backend alone. */
static const char *backend_note(const struct lab_result *lab) {
    if (!lab->backend || strcmp(lab->backend, "unicorn")) return "";
    const char *why = host_no_kvm();
    if (why && strcmp(why, "not an x86-64 host") == 0)
        return " [not an x86-64 host: kvm tests skip, graded on the Unicorn backend]";
    return " [no /dev/kvm: kvm tests skip, graded on the Unicorn backend]";
}

void term_host(const struct term *t, const struct host *h) {
    if (t->quiet) return;
    char *text = host_text(h);
    printf("vlab-grade on %s\n", text);
    free(text);
}

void term_lab_header(const struct term *t, const struct lab_result *lab) {
    double points = 0;
    for (size_t i = 0; i < lab->ntests; i++)
        points += lab->tests[i].max_score;
    if (t->quiet) return;
    printf("%s== %s: %s (%zu test%s, %g point%s)%s%s%s\n", t->color ? "\033[1m" : "", lab->name,
           lab->title, lab->ntests, lab->ntests == 1 ? "" : "s", round_score(points),
           round_score(points) == 1 ? "" : "s",
           !lab->privileged ? ""
           : geteuid() == 0 ? " [privileged: tests run as root]"
                            : " [needs root: running unprivileged]",
           backend_note(lab), t->color ? "\033[0m" : "");
}

/* A message's first MESSAGE_LINES lines, and where the rest is: a student who sees "3 more
 * lines" must know which file has them. */
static void term_message(const struct term *t, const char *msg) {
    int shown = 0, dropped = 0;
    for (const char *p = msg; *p;) {
        size_t len = strcspn(p, "\n");
        if (shown < MESSAGE_LINES) {
            printf("             %.*s\n", (int)len, p);
            shown++;
        } else {
            dropped++;
        }
        p += len + (p[len] == '\n');
    }
    if (dropped)
        printf("             ... (%d more line%s in %s)\n", dropped, dropped == 1 ? "" : "s",
               t->report ? t->report : "the report");
}

void term_test(const struct term *t, const char *lab, const struct test_result *tr) {
    char got[32], max[32], pts[80];
    if (t->quiet) return;
    format_points(got, sizeof got, tr->score);
    format_points(max, sizeof max, tr->max_score);
    snprintf(pts, sizeof pts, "%s/%s", got, max);
    printf("  %s%-8s%s %9s %7.2fs  %s/%s\n", t->color ? color_of(tr->status) : "",
           status_word(tr->status), t->color ? "\033[0m" : "", pts, tr->seconds, lab, tr->name);
    if (tr->status != ST_PASS && tr->message) term_message(t, tr->message);
}

void term_lab_note(const struct term *t, const struct lab_result *lab) {
    if (t->quiet || !lab->note) return;
    for (const char *p = lab->note; *p;) {
        size_t len = strcspn(p, "\n");
        printf("  %s%.*s%s\n", t->color ? "\033[31m" : "", (int)len, p, t->color ? "\033[0m" : "");
        p += len + (p[len] == '\n');
    }
}

void term_warn(const struct term *t, const char *fmt, ...) {
    va_list ap;
    if (t->quiet) return;
    printf("  %swarning:%s ", t->color ? "\033[33m" : "", t->color ? "\033[0m" : "");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

void term_lab_total(const struct term *t, const struct lab_result *lab) {
    struct tally s = tally_lab(lab);
    printf("%s-- %s: %g/%g (%zu passed, %zu failed", t->color ? "\033[1m" : "", lab->name, s.score,
           s.max_score, s.passed, s.failed);
    if (s.skipped) printf(", %zu skipped", s.skipped);
    printf(") in %.1fs%s\n", lab->seconds, t->color ? "\033[0m" : "");
    if (t->quiet) return;
    size_t n;
    struct task_tally *tasks = tally_tasks(lab, &n);
    for (size_t k = 0; k < n; k++) {
        char got[32], max[32], pts[80];
        format_points(got, sizeof got, tasks[k].t.score);
        format_points(max, sizeof max, tasks[k].t.max_score);
        snprintf(pts, sizeof pts, "%s/%s", got, max);
        printf("   %11s  %s\n", pts, tasks[k].name ? tasks[k].name : "other tests");
    }
    free(tasks);
}

void term_final(const struct term *t, const struct grade *g) {
    struct tally s = tally_grade(g);
    (void)t;
    printf("score: %g/%g\n", s.score, s.max_score);
    printf("%zu passed, %zu failed", s.passed, s.failed);
    if (s.skipped) printf(", %zu skipped", s.skipped);
    putchar('\n');
    fflush(stdout);
}
