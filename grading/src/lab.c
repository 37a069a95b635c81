#define _GNU_SOURCE
#include "lab.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crit.h"
#include "leftover.h"
#include "run.h"
#include "strbuf.h"
#include "text.h"
#include "tmpdir.h"

#define OUTPUT_CAP 4096       /* bytes of a test's output kept for the report */
#define LIST_CAP   (1u << 20) /* a --list of thousands of tests still fits */

static const char *sig_name(int sig) {
    static char buf[32];
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(buf, sizeof buf, "SIG%s", abbrev);
    else
        snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}

/* What the death of the test binary means, for messages: "killed by SIGSEGV (Segmentation
 * fault)", plus the limit that explains the usual suspects. */
static char *death_reason(int sig, const struct limits *lim) {
    const char *why = "";
    char extra[96] = "";
    if (sig == SIGXCPU) {
        snprintf(extra, sizeof extra, ": the CPU time limit of %lu s was exceeded", lim->cpu);
        why = extra;
    } else if (sig == SIGXFSZ) {
        snprintf(extra, sizeof extra, ": a file grew past the %llu MiB limit", lim->fsize >> 20);
        why = extra;
    }
    return xasprintf("%s (%s)%s", sig_name(sig), strsignal(sig), why);
}

/* Captured output minus Criterion's closing synthesis line, cleaned, with a truncation note. */
static char *clean_output(const struct run_result *rr) {
    struct strbuf sb = {0};
    const char *p = sb_str(&rr->out);
    while (*p) {
        size_t len = strcspn(p, "\n");
        if (!(len >= 6 && strncmp(p, "[====]", 6) == 0)) sb_append(&sb, p, len + (p[len] == '\n'));
        p += len + (p[len] == '\n');
    }
    char *clean = text_clean(sb_str(&sb), sb.len);
    sb_free(&sb);
    if (rr->out_total > rr->out.len) {
        char *t = xasprintf("%s\n... (truncated)", clean);
        free(clean);
        clean = t;
    }
    if (!*clean) {
        free(clean);
        return NULL;
    }
    return clean;
}

static void set_result(struct test_result *tr, enum status st, double seconds, char *message,
                       char *output) {
    tr->status = st;
    tr->score = st == ST_PASS ? tr->max_score : 0;
    tr->seconds = seconds;
    free(tr->message);
    tr->message = message;
    free(tr->output);
    tr->output = output;
}

/* The sandbox could not even start the binary: the grader's message, not the test's. */
static char *setup_failure(const struct run_result *rr, const char *bin, const struct sandbox *sb) {
    if (rr->setup.stage == SBS_EXEC && rr->setup.err == EACCES && sb->mode == SB_DROP_UID)
        return xasprintf("cannot execute %s as uid %u: %s (the build tree must be readable by "
                         "everyone: build with umask 022)",
                         bin, (unsigned)sb->uid, strerror(rr->setup.err));
    if (rr->setup.stage == SBS_EXEC)
        return xasprintf("cannot execute %s: %s", bin, strerror(rr->setup.err));
    if (rr->setup.stage == SBS_SOCKET)
        return xasprintf("another user's stale Criterion sockets (/tmp/criterion_<pid>.sock) held "
                         "the path of every pid this test was tried under: have their owner or "
                         "root remove /tmp/criterion_*.sock, or allow unprivileged user "
                         "namespaces, which give each test a /tmp of its own");
    return xasprintf("the grader failed %s for %s: %s", sb_stage_name(rr->setup.stage), bin,
                     strerror(rr->setup.err));
}

/* The completion record's file: base/done-N, written by the test's own uid. */
static char *done_file_create(const struct lab_env *env, unsigned n, bool chown_to) {
    char *path = xasprintf("%s/done-%u", env->tmp_base, n);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || (chown_to && fchown(fd, env->sb->uid, env->sb->gid))) {
        fprintf(stderr, "vlab-grade: cannot prepare %s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd), unlink(path);
        free(path);
        return NULL;
    }
    close(fd);
    return path;
}

static char *read_small_file(const char *path, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    struct strbuf sb = {0};
    char buf[4096];
    ssize_t n;
    while (fd >= 0 && sb.len < cap && (n = read(fd, buf, sizeof buf)) > 0)
        sb_append(&sb, buf, (size_t)n);
    if (fd >= 0) close(fd);
    return sb_steal(&sb);
}

/* How a test's process ended, by its completion record (harness/lib/complete.c). */
struct completion {
    const char *test; /* "lab/name": the test the record must be for */
    bool done;        /* the test returned from its body and teardown */
    bool exited;      /* exit() was called before that, with status */
    int status;
};

/* Lines "done LAB/TEST TOKEN" and "exit STATUS LAB/TEST TOKEN"; others (or another token) are
 * not the harness's and count for nothing. */
static void parse_record(const char *text, const char *token, struct completion *c) {
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        char *line = strndup(p, len);
        char what[8], test[256], tok[40];
        int status;
        if (line && sscanf(line, "done %255s %39s", test, tok) == 2 && strcmp(test, c->test) == 0 &&
            strcmp(tok, token) == 0)
            c->done = true;
        else if (line && sscanf(line, "%7s %d %255s %39s", what, &status, test, tok) == 4 &&
                 strcmp(what, "exit") == 0 && strcmp(test, c->test) == 0 && strcmp(tok, token) == 0)
            c->exited = true, c->status = status;
        free(line);
        p += len + (p[len] == '\n');
    }
}

/* Runs argv under the lab's limits in a fresh private dir; with comp, also reads the test's
 * completion record into it. */
static int run_in_private_dir(const struct lab_env *env, const struct limits *lim,
                              char *const *argv, double deadline, size_t cap, bool report,
                              struct run_result *rr, struct completion *comp) {
    /* a root grader's tests run as a uid of their own, which owns nothing else */
    bool own_uid = env->sb->mode == SB_DROP_UID && !lim->privileged;
    unsigned n = ++*env->run_counter;
    char *dir = tmpdir_run_create(env->tmp_base, n, own_uid, env->sb->uid, env->sb->gid);
    if (!dir) return -1;
    char token[33] = "";
    char *done = NULL;
    if (comp) {
        unsigned char raw[16];
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
            fprintf(stderr, "vlab-grade: getrandom: %s\n", strerror(errno));
            rmtree(dir);
            free(dir);
            return -1;
        }
        for (size_t i = 0; i < sizeof raw; i++)
            snprintf(token + 2 * i, 3, "%02x", raw[i]);
        if (!(done = done_file_create(env, n, own_uid))) {
            rmtree(dir);
            free(dir);
            return -1;
        }
    }
    struct run_spec rs = {
        .argv = argv,
        .sb = env->sb,
        .lim = lim,
        .cwd = dir,
        .deadline = deadline,
        .out_cap = cap,
        .want_report = report,
        .done_path = done,
        .done_token = token,
    };
    /* Without a private /tmp, what the run leaves in the shared scratch places is found by
     * owner: a root grader's test uid owns nothing else; the student's own uid does. */
    bool by_diff = !own_uid && !env->sb->private_tmp && getuid() != 0;
    struct leftover_snap before = {0};
    if (by_diff) leftover_snapshot(&before, getuid());

    int rc;
    for (int attempt = 1;; attempt++) {
        unsigned long skipped =
            env->sb->private_tmp || getuid() == 0 ? 0 : crit_skip_blocked_pids(100000);
        if (skipped)
            term_warn(env->term,
                      "skipped %lu pids whose /tmp/criterion_<pid>.sock belongs to another user "
                      "(Criterion's runner would abort on them). To avoid it, have their owner or "
                      "root remove /tmp/criterion_*.sock, or allow unprivileged user namespaces "
                      "(then every test gets a /tmp of its own)",
                      skipped);
        rc = run_process(&rs, rr);
        if (rc || rr->setup.stage != SBS_SOCKET || attempt == 8 || mono_now() >= deadline) break;
        term_warn(env->term,
                  "another user's stale /tmp/criterion_%d.sock holds the path Criterion's runner "
                  "needs for pid %d: running again under a new pid. To avoid it, have its owner "
                  "or root remove /tmp/criterion_*.sock, or allow unprivileged user namespaces "
                  "(then every test gets a /tmp of its own)",
                  (int)rr->pid, (int)rr->pid);
        run_result_free(rr);
    }
    if (rc == 0 && rr->leftovers)
        fprintf(stderr, "vlab-grade: warning: processes of a test run survived SIGKILL\n");
    if (own_uid) leftover_sweep(NULL, env->sb->uid, env->tmp_base);
    if (by_diff) {
        leftover_sweep(&before, getuid(), env->tmp_base);
        leftover_snap_free(&before);
    }
    if (rmtree(dir)) fprintf(stderr, "vlab-grade: warning: could not remove all of %s\n", dir);
    free(dir);
    if (done) {
        char *text = read_small_file(done, 65536);
        parse_record(text, token, comp);
        free(text);
        unlink(done);
        free(done);
    }
    if (rc == 0 && rr->stopped) return -1;
    return rc;
}

/* The compiler's words for a lab that did not build: `make grade` leaves them in
 * BUILD/LAB/build.log. The error lines (else the first lines), enough to see what broke. */
static char *build_log_excerpt(const char *build_dir, const char *lab) {
    char *path = xasprintf("%s/%s/build.log", build_dir, lab);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    char buf[65536];
    ssize_t n = -1;

    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) n = read(fd, buf, sizeof buf);
    if (fd >= 0) close(fd);
    if (n <= 0) {
        free(path);
        return NULL;
    }
    char *text = text_clean(buf, (size_t)n);
    struct strbuf pick = {0};
    int lines = 0;
    for (int pass = 0; pass < 2 && lines == 0; pass++) {
        for (const char *p = text; *p && lines < 20;) {
            size_t len = strcspn(p, "\n");
            char *line = strndup(p, len);
            if (line && (pass == 1 || strcasestr(line, "error"))) {
                sb_printf(&pick, "%s\n", line);
                lines++;
            }
            free(line);
            p += len + (p[len] == '\n');
        }
    }
    sb_printf(&pick, "... (full log: %s)", path);
    free(text);
    free(path);
    return sb_steal(&pick);
}

static double min_d(double a, double b) {
    return a < b ? a : b;
}

/* Every rubric test gets the same fate (binary missing or unable to list its tests). */
static void fail_all(const struct lab_env *env, struct lab_result *lab, enum status st,
                     const char *msg, const char *output) {
    for (size_t i = 0; i < lab->ntests; i++) {
        set_result(&lab->tests[i], st, 0, xstrdup(msg), output ? xstrdup(output) : NULL);
        if (!lab->note) term_test(env->term, lab->name, &lab->tests[i]);
    }
    if (lab->note) term_warn(env->term, "%s: none of its %zu tests graded", lab->name, lab->ntests);
}

/* Lists the binary's tests into list and sets *ok. When the binary cannot list them, every test
 * gets the reason and *ok stays false. Returns -1 only on a grader failure. */
static int list_tests(const struct lab_env *env, const struct rubric *rb, const char *bin,
                      double lab_deadline, struct lab_result *lab, struct crit_list *list,
                      bool *ok) {
    char *argv[] = {(char *)bin, "--list", NULL};
    struct run_result rr;
    const struct limits *lim = &rb->lim;
    double deadline = min_d(mono_now() + lim->timeout, lab_deadline);

    *ok = false;
    if (run_in_private_dir(env, lim, argv, deadline, LIST_CAP, false, &rr, NULL)) return -1;
    char *out = text_clean(sb_str(&rr.out), rr.out.len);
    char *msg = NULL;
    int ws = rr.wstatus;

    if (rr.setup.stage)
        msg = setup_failure(&rr, bin, env->sb);
    else if (rr.timed_out)
        msg =
            xasprintf("test binary hung while listing its tests (killed after %g s)", lim->timeout);
    else if (WIFSIGNALED(ws)) {
        char *d = death_reason(WTERMSIG(ws), lim);
        msg = xasprintf("test binary died with %s before listing its tests", d);
        free(d);
    } else if (WEXITSTATUS(ws) != 0)
        msg = xasprintf("test binary exited with status %d before listing its tests",
                        WEXITSTATUS(ws));
    else if (crit_parse_list(sb_str(&rr.out), rb->lab, list))
        msg = xasprintf("test binary printed no Criterion test list for --list (is it a "
                        "Criterion binary with suite '%s'?)",
                        rb->lab);

    if (msg) {
        char *head = *out ? text_head_lines(out, 20) : NULL;
        fail_all(env, lab, ST_CRASH, msg, head);
        free(head);
        free(msg);
    } else {
        *ok = true;
    }
    free(out);
    run_result_free(&rr);
    return 0;
}

/* Criterion 2.4's runner occasionally fails to spawn its worker ("Could not spawn test
 * instance: Protocol error", seen once in hundreds of runs here): no report, the test never
 * started. Such a run is retried once rather than charged to the student. */
static bool runner_flaked(const struct run_result *rr) {
    return !rr->timed_out && !rr->stopped && !rr->setup.stage && rr->report.len == 0 &&
           strstr(sb_str(&rr->out), "Could not spawn test instance") != NULL;
}

/* Why a test Criterion called passed is not one: it never reached its end. */
static char *early_end(const struct completion *comp) {
    if (comp->exited)
        return xasprintf("the test ended before its last check: the process called exit(%d) "
                         "inside the test (the code under test must return to its caller, "
                         "never end the process)",
                         comp->status);
    return xstrdup("the test ended before its last check: its process ended without returning "
                   "from the test and without calling exit() (_exit, a raw exit_group system "
                   "call, or another thread ended it)");
}

/* Decides one test's status from its run. */
static void judge(const struct lab_env *env, const struct rubric *rb, const char *bin, bool lab_cut,
                  struct run_result *rr, const struct completion *comp, struct test_result *tr) {
    const struct limits *lim = &rb->lim;
    struct crit_entry e;
    char *output = clean_output(rr);
    int ws = rr->wstatus;
    bool have = !rr->setup.stage && !rr->report_truncated &&
                crit_find_test(sb_str(&rr->report), rb->lab, tr->name, &e);

    if (rr->setup.stage) {
        set_result(tr, ST_CRASH, rr->seconds, setup_failure(rr, bin, env->sb), output);
    } else if (rr->timed_out) {
        char *m =
            lab_cut ? xasprintf("lab time limit reached (%g s for the whole lab)", lim->lab_timeout)
                    : xasprintf("timed out: still running after %g s (wall clock)", lim->timeout);
        set_result(tr, ST_TIMEOUT, rr->seconds, m, output);
    } else if (have) {
        enum status st = ST_CRASH;
        char *m = e.message;
        if (strcmp(e.status, "PASSED") == 0)
            st = ST_PASS;
        else if (strcmp(e.status, "FAILED") == 0)
            st = ST_FAIL;
        else if (strcmp(e.status, "SKIPPED") == 0)
            st = ST_SKIP;
        else if (m && strstr(m, "timed out"))
            st = ST_TIMEOUT;
        if (st == ST_CRASH && m && strcmp(m, "The test crashed.") == 0) {
            /* Criterion does not say which signal: name the usual causes, limits included */
            free(m);
            m = xasprintf("The test crashed: a signal killed it (bad memory access, abort(), or "
                          "a limit: %llu MiB of memory, %lu s of CPU time, %llu MiB per file)",
                          lim->memory >> 20, lim->cpu, lim->fsize >> 20);
        }
        if (st == ST_PASS && !(WIFEXITED(ws) && WEXITSTATUS(ws) == 0)) {
            /* the report says passed but the runner then failed: do not award points */
            free(m);
            if (WIFSIGNALED(ws)) {
                char *d = death_reason(WTERMSIG(ws), lim);
                m = xasprintf("the test passed, but the test binary then died with %s", d);
                free(d);
                st = ST_CRASH;
            } else {
                m = xasprintf("the test passed, but the test binary then exited with status %d",
                              WEXITSTATUS(ws));
                st = ST_FAIL;
            }
        }
        if (st == ST_PASS && !comp->done) {
            /* Criterion counts a worker that exits with status 0 as a pass: only the record
             * says whether the test reached its end */
            free(m);
            m = early_end(comp);
            st = ST_FAIL;
        } else if ((st == ST_FAIL || st == ST_CRASH) && comp->exited && m) {
            char *t =
                xasprintf("%s (the process called exit(%d) during the test)", m, comp->status);
            free(m);
            m = t;
        }
        if (st == ST_PASS) {
            free(m);
            m = NULL;
        } else if (!m) {
            m = xasprintf("Criterion reported %s with no message", e.status);
        } else {
            char *c = text_clean(m, strlen(m));
            free(m);
            m = c;
        }
        set_result(tr, st, rr->seconds, m, output);
    } else if (WIFSIGNALED(ws)) {
        char *d = death_reason(WTERMSIG(ws), lim);
        set_result(tr, ST_CRASH, rr->seconds,
                   xasprintf("test binary killed by %s before it reported a result", d), output);
        free(d);
    } else {
        set_result(tr, ST_CRASH, rr->seconds,
                   xasprintf("test binary exited with status %d without reporting a result "
                             "for %s/%s%s",
                             WEXITSTATUS(ws), rb->lab, tr->name,
                             rr->report_truncated ? " (its report was too large)" : ""),
                   output);
    }
}

static void note_extra(struct lab_result *lab, const char *name) {
    lab->extra = xrealloc(lab->extra, (lab->nextra + 1) * sizeof *lab->extra);
    lab->extra[lab->nextra++] = xstrdup(name);
}

/* Runs one test of the rubric and records its result in tr (not printed). -1 only when the
 * grader itself cannot go on. */
static int run_test(const struct lab_env *env, const struct rubric *rb, char *abs_bin,
                    double lab_deadline, const struct crit_list *list, struct test_result *tr) {
    double now = mono_now();
    if (!crit_list_has(list, tr->name)) {
        set_result(tr, ST_FAIL, 0, xstrdup("test missing from binary"), NULL);
        return 0;
    }
    if (now >= lab_deadline) {
        set_result(tr, ST_TIMEOUT, 0,
                   xasprintf("lab time limit reached (%g s for the whole lab): not started",
                             rb->lim.lab_timeout),
                   NULL);
        return 0;
    }
    char *filter = xasprintf("--filter=%s/%s", rb->lab, tr->name);
    char *argv[] = {abs_bin, filter, "-j1", "--json=/dev/fd/3", NULL};
    double test_deadline = now + rb->lim.timeout;
    double deadline = min_d(test_deadline, lab_deadline);
    struct run_result rr;
    char *id = xasprintf("%s/%s", rb->lab, tr->name);
    struct completion comp = {.test = id};
    int r = run_in_private_dir(env, &rb->lim, argv, deadline, OUTPUT_CAP, true, &rr, &comp);
    if (!r && runner_flaked(&rr) && mono_now() < deadline) {
        /* the runner's own spawn failed before the test ran: not the student's doing */
        term_warn(env->term, "%s/%s: Criterion could not start the test; running it again", rb->lab,
                  tr->name);
        run_result_free(&rr);
        comp = (struct completion){.test = id};
        r = run_in_private_dir(env, &rb->lim, argv, deadline, OUTPUT_CAP, true, &rr, &comp);
    }
    free(filter);
    if (r) {
        free(id);
        return -1;
    }
    judge(env, rb, abs_bin, lab_deadline < test_deadline, &rr, &comp, tr);
    if ((tr->status == ST_CRASH || tr->status == ST_TIMEOUT) && tr->hint) {
        /* Criterion cannot say why a test crashed or hung; the rubric's author can */
        char *m = xasprintf("%s\nhint: %s", tr->message ? tr->message : "", tr->hint);
        free(tr->message);
        tr->message = m;
    }
    free(id);
    run_result_free(&rr);
    return 0;
}

/* A twin that ran takes half of its base's points; one that skipped (its backend is missing
 * here) is left out of the total and its base keeps them all, so the lab totals the same on
 * every machine. Said once for the lab, and in each skipped twin's message. */
static void share_twin_points(const struct lab_env *env, const struct rubric *rb,
                              struct lab_result *lab) {
    size_t left_out = 0;
    const char *why = NULL;
    for (size_t i = 0; i < lab->ntests; i++) {
        struct test_result *tw = &lab->tests[i];
        const struct rubric_test *rt = &rb->tests[i];
        if (!rt->twin_base) continue;
        if (tw->status == ST_SKIP) {
            tw->max_score = 0;
            char *m = xasprintf("%s\nleft out of the total: %s carries all its points",
                                tw->message ? tw->message : "skipped", rt->twin_base);
            free(tw->message);
            tw->message = m;
            if (!why) why = tw->message;
            left_out++;
        } else {
            if (rt->twin_of >= 0) lab->tests[rt->twin_of].max_score -= tw->max_score;
        }
        tw->score = tw->status == ST_PASS ? tw->max_score : 0;
    }
    if (left_out)
        term_warn(env->term,
                  "%s: %zu of its tests skipped here and are left out of the total (the first "
                  "said: %.*s); the tests they twin keep all the points",
                  lab->name, left_out, why ? (int)strcspn(why, "\n") : 0, why ? why : "");
}

/* Who the lab's tests run as: a root grader drops all but privileged labs to the test uid;
 * anyone else's tests run as themselves, which a privileged lab would need to be root. */
static char *runs_as(const struct lab_env *env, bool privileged) {
    if (env->sb->mode == SB_DROP_UID)
        return privileged ? xstrdup("root") : xasprintf("uid %u", (unsigned)env->sb->uid);
    return xasprintf(privileged ? "uid %u (not root, which the lab needs)" : "uid %u",
                     (unsigned)geteuid());
}

int grade_lab(const struct lab_env *env, const struct rubric *rb, struct lab_result *lab) {
    double t0 = mono_now();
    double lab_deadline = t0 + rb->lim.lab_timeout;
    char *bin = xasprintf("%s/%s/test-%s", env->build_dir, rb->lab, rb->lab);
    char *abs_bin = realpath(bin, NULL);
    struct crit_list list = {0};
    int rc = 0;

    *lab = (struct lab_result){
        .name = xstrdup(rb->lab),
        .title = xstrdup(rb->title),
        .privileged = rb->lim.privileged,
        /* a lab given /dev/kvm runs its kvm tests where it opens, else on Unicorn alone */
        .backend = rb->lim.device && strcmp(rb->lim.device, "/dev/kvm") == 0
                       ? (env->host->kvm ? "kvm" : "unicorn")
                       : NULL,
        .runs_as = runs_as(env, rb->lim.privileged),
        .tests = xmalloc(rb->ntests * sizeof *lab->tests),
        .ntests = rb->ntests,
    };
    for (size_t i = 0; i < rb->ntests; i++) {
        lab->tests[i] = (struct test_result){
            .name = xstrdup(rb->tests[i].name),
            .visibility = xstrdup(rb->tests[i].visibility),
            .max_score = rb->tests[i].points,
            .hint = rb->tests[i].hint,
            .task = rb->tests[i].task,
        };
    }
    term_lab_header(env->term, lab);

    if (!abs_bin || access(abs_bin, X_OK)) {
        char *log = build_log_excerpt(env->build_dir, rb->lab);
        char *msg;
        if (log && strstr(log, "[vlab-policy]"))
            msg = xasprintf("refused by the lab's rules (harness/%s/policy): the code uses what "
                            "the lab does not allow, as the lines below say; the lab scores 0 "
                            "until it keeps to them",
                            rb->lab);
        else if (log)
            msg = xasprintf("does not compile: the lab scores 0 until it builds (%s/%s/build.log)",
                            env->build_dir, rb->lab);
        else
            msg = xasprintf("not built: %s", bin);
        /* said once for the lab; each test only points there */
        lab->note = log ? xasprintf("%s\n%s", msg, log) : xstrdup(msg);
        term_lab_note(env->term, lab);
        char *short_msg =
            xasprintf("not graded: %s (the reason is at the top of %s)",
                      log && strstr(log, "[vlab-policy]") ? "the lab's code breaks its rules"
                      : log                               ? "the lab does not compile"
                                                          : "the lab is not built",
                      rb->lab);
        fail_all(env, lab, ST_FAIL, short_msg, NULL);
        free(short_msg);
        free(msg);
        free(log);
        goto done;
    }

    bool listed;
    if (list_tests(env, rb, abs_bin, lab_deadline, lab, &list, &listed)) {
        rc = -1;
        goto done;
    }
    if (!listed) goto done;

    for (size_t i = 0; i < list.ntests; i++) {
        bool known = !rubric_selects(rb->only, list.tests[i]); /* left out by --only */
        for (size_t j = 0; j < rb->ntests && !known; j++)
            known = strcmp(list.tests[i], rb->tests[j].name) == 0;
        if (!known) {
            char *full = xasprintf("%s/%s", rb->lab, list.tests[i]);
            note_extra(lab, full);
            free(full);
        }
    }
    for (size_t i = 0; i < list.nother; i++)
        note_extra(lab, list.other[i]);
    for (size_t i = 0; i < lab->nextra; i++)
        term_warn(env->term, "%s is in the test binary but not in the rubric (0 points)",
                  lab->extra[i]);

    /* Twins first: whether they ran decides what their bases are worth, and every line the
     * terminal prints must already show its final points. */
    for (size_t i = 0; i < lab->ntests; i++) {
        if (!rb->tests[i].twin_base) continue;
        lab->tests[i].max_score = rb->tests[i].twin_points;
        if (run_test(env, rb, abs_bin, lab_deadline, &list, &lab->tests[i])) {
            rc = -1;
            goto done;
        }
    }
    share_twin_points(env, rb, lab);
    for (size_t i = 0; i < lab->ntests; i++) {
        if (!rb->tests[i].twin_base &&
            run_test(env, rb, abs_bin, lab_deadline, &list, &lab->tests[i])) {
            rc = -1;
            goto done;
        }
        term_test(env->term, lab->name, &lab->tests[i]);
    }

done:
    lab->seconds = mono_now() - t0;
    if (rc == 0) term_lab_total(env->term, lab);
    crit_list_free(&list);
    free(abs_bin);
    free(bin);
    return rc;
}
