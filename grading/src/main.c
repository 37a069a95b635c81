/* vlab-grade: runs each lab's Criterion binary test by test, fenced in (time, memory, process
 * and file-size limits, no write access to the grade output, nothing left running), and
 * assembles the grade in this process. See grading/README.md. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "grade.h"
#include "host.h"
#include "lab.h"
#include "outfile.h"
#include "reap.h"
#include "report.h"
#include "rubric.h"
#include "run.h"
#include "sandbox.h"
#include "strbuf.h"
#include "term.h"
#include "text.h"
#include "tmpdir.h"

#define DEFAULT_UID 64999

enum expect { EXPECT_NONE, EXPECT_FULL, EXPECT_ZERO };

struct options {
    const char *build, *rubric, *out, *sol, *kills, *only, *commit, *about;
    enum expect expect;
    bool quiet;
    char **labs;
    size_t nlabs;
};

static void usage(FILE *f) {
    fputs("usage: vlab-grade --build DIR [--rubric DIR] [--out DIR] [--sol NAME]\n"
          "                  [--expect full|zero] [--kills \"TEST ...\"] [--only GLOB] [--quiet]\n"
          "                  [--commit TEXT] [--about FILE]\n"
          "                  [LAB ...]\n"
          "Grades each LAB (default: every rubric in the rubric dir) by running\n"
          "DIR/LAB/test-LAB one test at a time under the limits of grading/rubric/LAB.\n"
          "  --rubric DIR   rubric directory (default grading/rubric)\n"
          "  --out DIR      where results.json, junit.xml, summary.md, report.html go\n"
          "                 (default build/grade/SOL)\n"
          "  --sol NAME     label for the graded solution (default labs)\n"
          "  --expect full  exit 1 unless every test passed (skips allowed) and every\n"
          "                 binary has exactly its rubric's tests\n"
          "  --expect zero  exit 1 unless the total score is 0\n"
          "  --kills LIST   exit 1 unless every listed test (NAME or LAB/NAME) exists and\n"
          "                 did not pass: proves a mutant is killed\n"
          "  --only GLOBS   grade only the rubric tests whose names match one of the\n"
          "                 space-separated fnmatch patterns; the binary's other tests\n"
          "                 are neither run nor reported\n"
          "  --quiet        print only per-lab totals and the final score\n"
          "  --commit TEXT  what is graded (a commit, a hash of the files), kept in the reports\n"
          "  --about FILE   the submission in words (which files were taken, which not),\n"
          "                 put at the top of results.json's output and summary.md\n"
          "Exit status: 0 graded, 1 expectation not met, 2 usage or grader error.\n",
          f);
}

static void push(char ***v, size_t *n, char *s) {
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = s;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int parse_args(int argc, char **argv, struct options *o) {
    static const struct option longopts[] = {
        {"build", required_argument, NULL, 'b'},  {"rubric", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},    {"sol", required_argument, NULL, 's'},
        {"expect", required_argument, NULL, 'e'}, {"kills", required_argument, NULL, 'k'},
        {"only", required_argument, NULL, 'O'},   {"quiet", no_argument, NULL, 'q'},
        {"commit", required_argument, NULL, 'c'}, {"about", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;

    *o = (struct options){.rubric = "grading/rubric", .sol = "labs"};
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': o->build = optarg; break;
        case 'r': o->rubric = optarg; break;
        case 'o': o->out = optarg; break;
        case 's': o->sol = optarg; break;
        case 'k': o->kills = optarg; break;
        case 'O': o->only = optarg; break;
        case 'q': o->quiet = true; break;
        case 'c': o->commit = optarg; break;
        case 'a': o->about = optarg; break;
        case 'e':
            if (strcmp(optarg, "full") == 0)
                o->expect = EXPECT_FULL;
            else if (strcmp(optarg, "zero") == 0)
                o->expect = EXPECT_ZERO;
            else {
                fprintf(stderr, "vlab-grade: --expect takes full or zero, not '%s'\n", optarg);
                return -1;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (!o->build) {
        fputs("vlab-grade: --build DIR is required\n", stderr);
        usage(stderr);
        return -1;
    }
    if (!valid_name(o->sol)) {
        fprintf(stderr, "vlab-grade: --sol '%s' is not a plain name\n", o->sol);
        return -1;
    }
    if (o->kills && o->expect != EXPECT_NONE) {
        fputs("vlab-grade: --kills and --expect are separate checks: use one\n", stderr);
        return -1;
    }
    if (o->kills && strspn(o->kills, " \t\n") == strlen(o->kills)) {
        fputs("vlab-grade: --kills needs at least one test name\n", stderr);
        return -1;
    }
    for (int i = optind; i < argc; i++) {
        if (!valid_name(argv[i])) {
            fprintf(stderr, "vlab-grade: '%s' is not a lab name\n", argv[i]);
            return -1;
        }
        for (size_t k = 0; k < o->nlabs; k++) {
            if (strcmp(o->labs[k], argv[i]) == 0) {
                fprintf(stderr, "vlab-grade: lab '%s' given twice\n", argv[i]);
                return -1;
            }
        }
        push(&o->labs, &o->nlabs, xstrdup(argv[i]));
    }
    return 0;
}

/* Every file in the rubric dir whose name could be a lab, sorted; other files (README.md,
 * editor backups) are not rubrics. */
static int find_labs(struct options *o) {
    DIR *d = opendir(o->rubric);
    struct dirent *e;
    if (!d) {
        fprintf(stderr, "vlab-grade: cannot read the rubric dir %s: %s\n", o->rubric,
                strerror(errno));
        return -1;
    }
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !valid_name(e->d_name)) continue;
        if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN && e->d_type != DT_LNK) continue;
        push(&o->labs, &o->nlabs, xstrdup(e->d_name));
    }
    closedir(d);
    if (o->nlabs == 0) {
        fprintf(stderr, "vlab-grade: no rubric files in %s\n", o->rubric);
        return -1;
    }
    qsort(o->labs, o->nlabs, sizeof *o->labs, cmp_str);
    return 0;
}

/* Two root graders sharing the test uid would kill each other's tests (leftovers are killed by
 * uid), so they take turns. The lock lives in a root-only directory where the test uid cannot
 * create or hold it. The descriptor stays open (and locked) until the grader exits. */
static void lock_test_uid(uid_t uid) {
    static const char *const dirs[] = {"/run/lock", "/run", "/var/lock", "/tmp"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        struct stat st;
        if (stat(dirs[i], &st) || !S_ISDIR(st.st_mode) || st.st_uid != 0) continue;
        char *path = xasprintf("%s/vlab-grade-uid-%u.lock", dirs[i], (unsigned)uid);
        int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
            free(path);
            continue;
        }
        if (flock(fd, LOCK_EX | LOCK_NB)) {
            fprintf(stderr, "vlab-grade: waiting for another vlab-grade that uses uid %u\n",
                    (unsigned)uid);
            while (flock(fd, LOCK_EX) && errno == EINTR)
                ;
        }
        free(path);
        return;
    }
    fprintf(stderr, "vlab-grade: warning: no lock for uid %u: graders must not run at once\n",
            (unsigned)uid);
}

/* VLAB_GRADE_NS=0: grade as on a kernel without namespaces (the self-tests' fallback runs). */
static bool namespaces_off(void) {
    const char *ns = getenv("VLAB_GRADE_NS");
    return ns && strcmp(ns, "0") == 0;
}

static int pick_sandbox(struct sandbox *sb, const char *out_abs) {
    if (geteuid() == 0) {
        const char *env = getenv("VLAB_GRADE_UID");
        unsigned long uid = DEFAULT_UID;
        if (env) {
            char *end;
            errno = 0;
            uid = strtoul(env, &end, 10);
            if (errno || *end || !*env || uid == 0 || uid >= 4294967295UL) {
                fprintf(stderr, "vlab-grade: VLAB_GRADE_UID='%s' is not a non-zero uid\n", env);
                return -1;
            }
        }
        *sb = (struct sandbox){.mode = SB_DROP_UID, .uid = (uid_t)uid, .gid = (gid_t)uid};
        lock_test_uid(sb->uid);
        if (count_user_tasks(sb->uid)) {
            fprintf(stderr,
                    "vlab-grade: uid %lu already has running processes, so it is not free "
                    "for tests (whose leftovers are killed by uid): kill them or set "
                    "VLAB_GRADE_UID to an unused uid\n",
                    uid);
            return -1;
        }
        return 0;
    }
    char why[256] = "";
    if (namespaces_off()) {
        *sb = (struct sandbox){.mode = SB_NONE};
        fprintf(stderr, "vlab-grade: warning: the grade output is not write-protected from tests "
                        "(VLAB_GRADE_NS=0)\n");
    } else if (sandbox_probe_userns(out_abs, why, sizeof why) == 0) {
        *sb = (struct sandbox){.mode = SB_USERNS, .protect_dir = out_abs};
    } else {
        fprintf(stderr,
                "vlab-grade: warning: the grade output is not write-protected from tests "
                "(no user namespace with a read-only bind mount: %s)\n",
                why);
        *sb = (struct sandbox){.mode = SB_NONE};
    }
    return 0;
}

/* A grader killed half way must not leave the last run's reports looking current: they go
 * before anything runs, and come back only when this run completes. */
static void remove_old_reports(const char *out) {
    static const char *const names[] = {"results.json", "junit.xml", "summary.md", "report.html",
                                        "classroom.json"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *p = xasprintf("%s/%s", out, names[i]);
        if (unlink(p) && errno != ENOENT)
            fprintf(stderr, "vlab-grade: warning: cannot remove the old %s: %s\n", p,
                    strerror(errno));
        free(p);
    }
}

/* What tests must still see under a private /tmp: the grader's run dirs, the project (the
 * grader's cwd), the build tree and whatever VLAB_GRADE_KEEP lists (colon-separated). */
static char **keep_paths(const char *build, const char *tmp_base) {
    char **v = xmalloc(4 * sizeof *v);
    size_t n = 0, cap = 4;
    const char *env = getenv("VLAB_GRADE_KEEP");
    char *extra = xstrdup(env ? env : ""), *save = NULL;
    const char *fixed[] = {tmp_base, ".", build};
    for (size_t i = 0;; i++) {
        const char *p = i < 3 ? fixed[i] : strtok_r(i == 3 ? extra : NULL, ":", &save);
        if (!p) break;
        char *r = realpath(p, NULL);
        if (!r) continue;
        if (n + 2 > cap) v = xrealloc(v, (cap *= 2) * sizeof *v);
        v[n++] = r;
    }
    v[n] = NULL;
    free(extra);
    return v;
}

/* Each run's own /tmp, /var/tmp, /dev/shm and SysV IPC, where the kernel lets us. */
static void pick_private_tmp(struct sandbox *sb) {
    char why[256] = "";
    sb->tmp_size = 64ULL << 20;
    sb->private_tmp = true;
    if (namespaces_off())
        snprintf(why, sizeof why, "VLAB_GRADE_NS=0");
    else if (sandbox_probe_private_tmp(sb, why, sizeof why) == 0)
        return;
    sb->private_tmp = false;
    fprintf(stderr,
            "vlab-grade: warning: tests share the machine's /tmp, /var/tmp and /dev/shm (no "
            "mount namespace: %s); what a test leaves there is removed after it%s\n",
            why,
            sb->mode == SB_DROP_UID ? ""
                                    : ", and another user's stale Criterion socket is "
                                      "worked around by running the test again");
}

static void on_signal(int sig) {
    (void)sig;
    run_stop = 1;
}

static void install_signals(void) {
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll() must wake up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill us before the cleanup */
}

/* --kills: every named test exists and did not pass. */
static bool check_kills(const char *list, const struct grade *g) {
    char *copy = xstrdup(list), *save = NULL;
    bool ok = true;
    for (char *tok = strtok_r(copy, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        const char *slash = strchr(tok, '/');
        size_t found = 0;
        for (size_t i = 0; i < g->nlabs; i++) {
            const struct lab_result *lab = &g->labs[i];
            if (slash && (strlen(lab->name) != (size_t)(slash - tok) ||
                          strncmp(lab->name, tok, (size_t)(slash - tok))))
                continue;
            const char *name = slash ? slash + 1 : tok;
            for (size_t k = 0; k < lab->ntests; k++) {
                if (strcmp(lab->tests[k].name, name)) continue;
                found++;
                if (lab->tests[k].status == ST_PASS) {
                    printf("kills: %s/%s passed: the mutant survived it\n", lab->name, name);
                    ok = false;
                }
            }
        }
        if (!found) {
            printf("kills: no test %s in the graded labs\n", tok);
            ok = false;
        }
    }
    free(copy);
    return ok;
}

static bool check_full(const struct grade *g) {
    bool ok = true;
    for (size_t i = 0; i < g->nlabs; i++) {
        const struct lab_result *lab = &g->labs[i];
        for (size_t k = 0; k < lab->ntests; k++) {
            const struct test_result *tr = &lab->tests[k];
            if (tr->status == ST_PASS) continue;
            if (tr->status == ST_SKIP) {
                printf("expect full: note: %s/%s was skipped (%s)\n", lab->name, tr->name,
                       tr->message ? tr->message : "no reason given");
                continue;
            }
            printf("expect full: %s/%s: %s\n", lab->name, tr->name, status_word(tr->status));
            ok = false;
        }
        for (size_t k = 0; k < lab->nextra; k++) {
            printf("expect full: %s is in the test binary but not in the rubric\n", lab->extra[k]);
            ok = false;
        }
    }
    return ok;
}

static void free_options(struct options *o) {
    for (size_t i = 0; i < o->nlabs; i++)
        free(o->labs[i]);
    free(o->labs);
}

/* The --about file as clean text, at most ABOUT_MAX bytes of it (it is the caller's, but it
 * may quote the submission's file names). NULL with a message when it cannot be read. */
#define ABOUT_MAX 16384
static char *read_about(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "vlab-grade: --about %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = xmalloc(ABOUT_MAX);
    size_t n = fread(buf, 1, ABOUT_MAX, f);
    fclose(f);
    while (n && buf[n - 1] == '\n')
        n--;
    char *text = text_clean(buf, n);
    free(buf);
    return text;
}

/* Grades every lab and writes the reports; returns the exit status. */
static int grade_all(const struct options *o, struct rubric *rubrics, const char *out, double t0) {
    struct sandbox sb;
    struct term term;
    char *out_abs = realpath(out, NULL);
    char *tmp_base = NULL;
    char **keep = NULL;
    struct grade g = {
        .sol = o->sol, .commit = o->commit, .labs = xmalloc(o->nlabs * sizeof *g.labs)};
    time_t now = time(NULL);
    strftime(g.graded_at, sizeof g.graded_at, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    host_probe(&g.host);
    int status = 2;
    char *about = NULL;

    if (o->about && !(about = read_about(o->about))) goto out;
    g.about = about;
    if (!out_abs) {
        fprintf(stderr, "vlab-grade: %s: %s\n", out, strerror(errno));
        goto out;
    }
    /* before pick_sandbox, which may wait for another grader's uid: meanwhile no earlier report
     * may look current */
    remove_old_reports(out);
    if (pick_sandbox(&sb, out_abs)) goto out;
    if (reaper_init()) {
        fprintf(stderr, "vlab-grade: cannot become a child subreaper: %s\n", strerror(errno));
        goto out;
    }
    install_signals();
    if (!(tmp_base = tmpdir_base_create())) goto out;
    keep = keep_paths(o->build, tmp_base);
    sb.keep = (const char *const *)keep;
    pick_private_tmp(&sb);

    term_init(&term, o->quiet);
    char *report = xasprintf("%s/report.html", out);
    term.report = report;
    unsigned runs = 0;
    term_host(&term, &g.host);
    struct lab_env env = {
        .build_dir = o->build,
        .tmp_base = tmp_base,
        .sb = &sb,
        .host = &g.host,
        .term = &term,
        .run_counter = &runs,
    };
    status = 0;
    for (size_t i = 0; i < o->nlabs && status == 0; i++) {
        if (grade_lab(&env, &rubrics[i], &g.labs[i])) status = run_stop ? 130 : 2;
        g.nlabs = i + 1;
    }
    rmtree(tmp_base);
    term.report = NULL;
    free(report);
    if (status) {
        fprintf(stderr, "vlab-grade: %s; no reports written\n",
                status == 130 ? "interrupted" : "grading stopped by a grader error");
        goto out;
    }

    g.seconds = mono_now() - t0;
    if (write_results_json(out, &g) || write_junit_xml(out, &g) || write_summary_md(out, &g) ||
        write_report_html(out, &g) || write_classroom_json(out, &g)) {
        status = 2;
        goto out;
    }

    bool met = true;
    if (o->kills)
        met = check_kills(o->kills, &g);
    else if (o->expect == EXPECT_FULL)
        met = check_full(&g);
    else if (o->expect == EXPECT_ZERO && tally_grade(&g).score != 0) {
        printf("expect zero: the score is %g, not 0\n", tally_grade(&g).score);
        met = false;
    }
    term_final(&term, &g);
    status = met ? 0 : 1;
out:
    free(about);
    for (size_t i = 0; i < g.nlabs; i++)
        lab_result_free(&g.labs[i]);
    free(g.labs);
    free(tmp_base);
    for (size_t i = 0; keep && keep[i]; i++)
        free(keep[i]);
    free(keep);
    free(out_abs);
    return status;
}

int main(int argc, char **argv) {
    struct options o;
    double t0 = mono_now();
    int status = 2;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv, &o) || (o.nlabs == 0 && find_labs(&o))) {
        free_options(&o);
        return 2;
    }

    /* every rubric is checked before anything runs: a typo must not cost a long run */
    struct rubric *rubrics = xmalloc(o.nlabs * sizeof *rubrics);
    int bad = 0;
    for (size_t i = 0; i < o.nlabs; i++) {
        char *path = xasprintf("%s/%s", o.rubric, o.labs[i]);
        if (rubric_load(path, o.labs[i], &rubrics[i]))
            bad++;
        else if (o.only && rubric_keep(&rubrics[i], o.only) == 0) {
            fprintf(stderr, "vlab-grade: --only '%s': no test of %s matches\n", o.only, path);
            bad++;
        }
        free(path);
    }
    char *out = o.out ? xstrdup(o.out) : xasprintf("build/grade/%s", o.sol);
    if (!bad && ensure_out_dir(out) == 0) status = grade_all(&o, rubrics, out, t0);

    for (size_t i = 0; i < o.nlabs; i++)
        rubric_free(&rubrics[i]);
    free(rubrics);
    free(out);
    free_options(&o);
    return status;
}
