/* vlab-report: `make report`. Reads the benches' results (build/bench/<sol>/<lab>.json, schema
 * vlab-bench/1) of the student's build and of the reference, and writes one HTML page that
 * stands alone: no scripts, no network, charts as inline SVG, print CSS. The page depends on
 * the input files only (no clock, no host look-ups), so the same files give the same bytes.
 *
 *   vlab-report --student DIR --name SOL --reference DIR --out FILE
 *   vlab-report --check FILE...      checks results files against the schema */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

static const char *const css =
    "body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;color:#111}"
    "h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.9em}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}td.n{text-align:right}"
    "td.na{color:#777;font-style:italic}.claim{font-style:italic}.lab,.note{color:#555;"
    "font-size:.85em}.marked{background:#fff3cd;border-left:4px solid #d08a1a;padding:4px}"
    ".verdict{border-left:4px solid #1f5fa8;padding:4px;background:#eef4fb}"
    ".verdict.fails{border-color:#b00;background:#fbeeee}"
    ".verdict.unknown{border-color:#777;background:#f4f4f4}"
    "figure{margin:.5em 0}svg{max-width:100%;height:auto}"
    "@media print{nav{display:none}body{max-width:none;margin:0}"
    "section{break-inside:avoid;page-break-inside:avoid}"
    "a{color:inherit;text-decoration:none}}"
    "@page{size:A4;margin:15mm}";

static void esc(FILE *f, const char *s) {
    svg_escape(f, s);
}

/* Where it ran: from the results files (the report itself looks nothing up). */
static void machine(struct report *r) {
    const struct bench_doc *m = NULL;
    for (int s = 0; s < 2 && !m; s++)
        for (int l = 0; l < NLABS && !m; l++)
            if (r->doc[s][l].loaded) m = &r->doc[s][l];
    fputs("<h2>Where it ran</h2>\n", r->f);
    if (!m) {
        fputs("<p class=\"marked\">No bench results at all: run make bench.</p>\n", r->f);
        return;
    }
    fputs("<table>\n<tbody>\n<tr><th>architecture</th><td>", r->f);
    esc(r->f, m->arch);
    fputs("</td></tr>\n<tr><th>kernel</th><td>", r->f);
    esc(r->f, m->kernel);
    fputs("</td></tr>\n<tr><th>CPU</th><td>", r->f);
    esc(r->f, m->cpu);
    fprintf(r->f, " (%d online)</td></tr>\n<tr><th>root</th><td>%s</td></tr>\n", m->cpus,
            m->root ? "yes" : "no (the sandbox lab needs root; its numbers are missing)");
    fprintf(r->f, "<tr><th>backends</th><td>unicorn (software)%s</td></tr>\n",
            m->kvm ? ", kvm (/dev/kvm)" : "; no /dev/kvm: kvm not measured");
    fputs("</tbody>\n</table>\n<table>\n<thead><tr><th>lab</th><th>your build (", r->f);
    esc(r->f, r->student);
    fputs(")</th><th>reference</th></tr></thead>\n<tbody>\n", r->f);
    for (int l = 0; l < NLABS; l++) {
        fprintf(r->f, "<tr><td>%s</td>", lab_name[l]);
        for (int s = 0; s < 2; s++) {
            const struct bench_doc *d = &r->doc[s][l];
            fputs(d->loaded ? "<td>benched " : "<td class=\"na\">", r->f);
            esc(r->f, d->loaded ? d->when : d->err);
            fputs("</td>", r->f);
        }
        fputs("</tr>\n", r->f);
    }
    fputs("</tbody>\n</table>\n", r->f);
}

static void page(struct report *r) {
    FILE *f = r->f;
    fputs("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
          "<meta charset=\"utf-8\"/>\n<title>vlab: the lecture's claims, measured</title>\n"
          "<style>",
          f);
    fputs(css, f);
    fputs("</style>\n</head>\n<body>\n<h1>vlab: the lecture's claims, measured</h1>\n<p>Each "
          "section states a claim of the lecture, sets the numbers of your build (SOL=",
          f);
    esc(f, r->student);
    fputs(") beside the reference's (from ", f);
    esc(f, r->refdir);
    fputs("), and computes a verdict from them.", f);
    if (r->same) fputs(" Here your build <em>is</em> the reference: both columns agree.", f);
    fputs(" Times are medians (see each bench's runs); counters are deterministic. Timed "
          "numbers from two runs on a shared machine differ by load; the verdicts allow "
          "1.5x.</p>\n<nav><ol>\n",
          f);
    static const char *const toc[][2] = {{"popf", "popf and trap-and-emulate"},
                                         {"chaining", "binary translation"},
                                         {"syscall", "system calls"},
                                         {"device-io", "device I/O"},
                                         {"pagewalk", "the page walk"},
                                         {"shadow", "shadow vs nested paging"},
                                         {"launch", "launch times"}};
    for (size_t i = 0; i < sizeof toc / sizeof toc[0]; i++)
        fprintf(f, "<li><a href=\"#%s\">%s</a></li>\n", toc[i][0], toc[i][1]);
    fputs("</ol></nav>\n", f);
    machine(r);
    claims_write(r);
    fputs("<footer><p class=\"note\">Written by vlab-report (make report) from the benches' "
          "results files; make bench refreshes them.</p></footer>\n</body>\n</html>\n",
          f);
}

static int check(int argc, char **argv) {
    int bad = 0;
    static struct bench_doc d;
    for (int i = 0; i < argc; i++) {
        bench_load(&d, argv[i]);
        if (d.loaded)
            printf("ok    %s (%s, %s, %u measures)\n", argv[i], d.lab, d.solution, d.n);
        else {
            printf("BAD   %s\n", d.err);
            bad = 1;
        }
    }
    return bad;
}

static void usage(void) {
    fprintf(stderr, "usage: vlab-report --student DIR --name SOL --reference DIR --out FILE\n"
                    "       vlab-report --check FILE...\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--check")) return check(argc - 2, argv + 2);
    const char *dir[2] = {NULL, NULL}, *outp = NULL, *name = "labs";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--student"))
            dir[STUDENT] = argv[i + 1];
        else if (!strcmp(argv[i], "--reference"))
            dir[REFERENCE] = argv[i + 1];
        else if (!strcmp(argv[i], "--name"))
            name = argv[i + 1];
        else if (!strcmp(argv[i], "--out"))
            outp = argv[i + 1];
        else
            usage();
    }
    if (!dir[STUDENT] || !dir[REFERENCE] || !outp || argc % 2 == 0) usage();
    static struct report r;
    r.student = name;
    r.refdir = dir[REFERENCE];
    r.same = !strcmp(dir[STUDENT], dir[REFERENCE]);
    for (int s = 0; s < 2; s++)
        for (int l = 0; l < NLABS; l++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.json", dir[s], lab_name[l]);
            bench_load(&r.doc[s][l], path);
            /* a file that is there but wrong is worth a word; a missing one is "not done" */
            if (!r.doc[s][l].loaded && !strstr(r.doc[s][l].err, "No such file"))
                fprintf(stderr, "vlab-report: %s\n", r.doc[s][l].err);
        }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", outp);
    r.f = fopen(tmp, "w");
    if (!r.f) {
        perror(tmp);
        return 1;
    }
    page(&r);
    if (fclose(r.f) || rename(tmp, outp)) {
        perror(outp);
        return 1;
    }
    return 0;
}
