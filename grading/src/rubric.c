#include "rubric.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define MAX_TOKENS 64 /* a title is many words; nothing else needs more than 4 */

struct parser {
    const char *path;
    int line;
    int errors;
    bool seen[16]; /* which `set` keys appeared, to reject duplicates */
    bool cpu_set;
};

static void perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void perr(struct parser *ps, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s:%d: ", ps->path, ps->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    ps->errors++;
}

int valid_name(const char *s) {
    if (!*s || *s == '-' || strlen(s) > 128) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return 0;
    return 1;
}

/* A plain decimal (digits, optional fraction): strtod alone would also take "inf", "nan",
 * hex floats and exponents, none of which belong in a rubric. */
static bool parse_decimal(const char *s, double *out) {
    const char *p = s;
    if (!isdigit((unsigned char)*p)) return false;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p) return false;
    *out = strtod(s, NULL);
    return *out < 1e12; /* also keeps inf out */
}

static bool parse_uint(const char *s, unsigned long long *out) {
    if (!isdigit((unsigned char)*s)) return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

/* 123, 64K, 64M, 1G (binary multiples). */
static bool parse_size(const char *s, unsigned long long *out) {
    size_t n = strlen(s);
    unsigned long long mult = 1;
    char num[32];

    if (n == 0 || n >= sizeof num) return false;
    switch (toupper((unsigned char)s[n - 1])) {
    case 'K': mult = 1ULL << 10, n--; break;
    case 'M': mult = 1ULL << 20, n--; break;
    case 'G': mult = 1ULL << 30, n--; break;
    case 'T': mult = 1ULL << 40, n--; break;
    }
    memcpy(num, s, n);
    num[n] = '\0';
    unsigned long long v;
    if (!parse_uint(num, &v) || v == 0 || v > (~0ULL) / mult) return false;
    *out = v * mult;
    return true;
}

/* A line whose first word starts with '#' is a comment; elsewhere a comment is a '#' standing
 * alone as a word ("x 1  # note"), so a title can still say "Lab #1". */
static void strip_comment(char *line) {
    char *q = line + strspn(line, " \t");
    if (*q == '#') {
        *q = '\0';
        return;
    }
    for (; *q; q++) {
        if (*q == '#' && isspace((unsigned char)q[-1]) &&
            (q[1] == '\0' || isspace((unsigned char)q[1]))) {
            *q = '\0';
            return;
        }
    }
}

/* Splits line in place into whitespace-separated tokens; returns the count (MAX_TOKENS + 1 when
 * there are too many). *third is the offset of the third token, where a title starts. */
static int tokenize(char *line, char **tok, size_t *third) {
    int n = 0;
    char *p = line;

    *third = 0;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p) break;
        if (n == MAX_TOKENS) return n + 1;
        if (n == 2) *third = (size_t)(p - line);
        tok[n++] = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (*p) *p++ = '\0';
    }
    return n;
}

enum key {
    K_TITLE,
    K_TIMEOUT,
    K_LAB_TIMEOUT,
    K_MEMORY,
    K_PROCS,
    K_FSIZE,
    K_CPU,
    K_PRIV,
    K_FILES,
    K_DEVICE,
    K_NKEYS
};
static const char *const key_names[K_NKEYS] = {
    "title", "timeout", "lab_timeout", "memory", "procs",
    "fsize", "cpu",     "privileged",  "files",  "device",
};

static void parse_set(struct parser *ps, struct rubric *r, char **tok, int n, char *title) {
    int k;
    for (k = 0; k < K_NKEYS; k++)
        if (strcmp(tok[1], key_names[k]) == 0) break;
    if (k == K_NKEYS) {
        perr(ps,
             "unknown setting '%s' (known: title timeout lab_timeout memory procs fsize "
             "cpu privileged files device)",
             tok[1]);
        return;
    }
    if (ps->seen[k]) {
        perr(ps, "'%s' is set twice", tok[1]);
        return;
    }
    ps->seen[k] = true;
    if (k == K_TITLE) {
        if (!title) {
            perr(ps, "'set title' needs a title");
            return;
        }
        free(r->title);
        r->title = xstrdup(title);
        return;
    }
    if (n != 3) {
        perr(ps, "'set %s' takes exactly one value", tok[1]);
        return;
    }
    const char *v = tok[2];
    double d;
    unsigned long long u;
    switch (k) {
    case K_TIMEOUT:
    case K_LAB_TIMEOUT:
        if (!parse_decimal(v, &d) || d <= 0 || d > 86400) {
            perr(ps, "'%s' must be a number of seconds above 0, not '%s'", tok[1], v);
            return;
        }
        if (k == K_TIMEOUT)
            r->lim.timeout = d;
        else
            r->lim.lab_timeout = d;
        break;
    case K_MEMORY:
    case K_FSIZE:
        if (!parse_size(v, &u)) {
            perr(ps, "'%s' must be a size such as 512M or 1G, not '%s'", tok[1], v);
            return;
        }
        if (k == K_MEMORY)
            r->lim.memory = u;
        else
            r->lim.fsize = u;
        break;
    case K_PROCS:
        if (!parse_uint(v, &u) || u < 1 || u > 100000) {
            perr(ps, "'procs' must be a whole number from 1 to 100000, not '%s'", v);
            return;
        }
        r->lim.procs = (unsigned long)u;
        break;
    case K_FILES:
        if (!parse_uint(v, &u) || u < 16 || u > 1048576) {
            perr(ps, "'files' must be a whole number from 16 to 1048576, not '%s'", v);
            return;
        }
        r->lim.files = (unsigned long)u;
        break;
    case K_CPU:
        if (!parse_uint(v, &u) || u < 1 || u > 86400) {
            perr(ps, "'cpu' must be whole seconds from 1 to 86400, not '%s'", v);
            return;
        }
        r->lim.cpu = (unsigned long)u;
        ps->cpu_set = true;
        break;
    case K_DEVICE:
        /* a character device under /dev the tests may open (the grader gives them their own
         * node of it): a plain path, nothing that could climb out of /dev */
        if (strncmp(v, "/dev/", 5) || strstr(v, "/..") || strchr(v + 5, '/') ||
            !valid_name(v + 5)) {
            perr(ps,
                 "'device' must be a device file directly under /dev such as /dev/kvm, not '%s'",
                 v);
            return;
        }
        r->lim.device = xstrdup(v);
        break;
    case K_PRIV:
        if (strcmp(v, "yes") == 0)
            r->lim.privileged = true;
        else if (strcmp(v, "no") == 0)
            r->lim.privileged = false;
        else
            perr(ps, "'privileged' must be yes or no, not '%s'", v);
        break;
    }
}

/* A comment line `# TITLE — N points` (or `-- N points`) heads a task: the tests below it, up
 * to the next heading, are its tests, and the reports give its subtotal. */
static void task_heading(struct rubric *r, const char *line) {
    if (line[0] != '#') return;
    const char *p = line + 1 + strspn(line + 1, " \t");
    const char *dash = strstr(p, " \xe2\x80\x94 "); /* an em dash */
    size_t dl = 5;
    if (!dash) dash = strstr(p, " -- "), dl = 4;
    if (!dash || dash == p) return;
    char *end;
    strtod(dash + dl, &end);
    if (end == dash + dl || strncmp(end, " point", 6) != 0) return;
    r->tasks = xrealloc(r->tasks, (r->ntasks + 1) * sizeof *r->tasks);
    r->tasks[r->ntasks++] = strndup(p, (size_t)(dash - p));
}

static void parse_test(struct parser *ps, struct rubric *r, char **tok, int n) {
    static const char *const vis[] = {"visible", "hidden", "after_due_date", "after_published"};
    const char *visibility = "visible";
    double points;

    if (n < 3 || n > 4) {
        perr(ps, "expected 'test NAME POINTS [visible|hidden|after_due_date|after_published]'");
        return;
    }
    if (!valid_name(tok[1])) {
        perr(ps, "'%s' is not a test name (letters, digits, '_' and '-' only)", tok[1]);
        return;
    }
    if (!parse_decimal(tok[2], &points)) {
        perr(ps, "points must be a number such as 2 or 0.5, not '%s'", tok[2]);
        return;
    }
    if (n == 4) {
        visibility = NULL;
        for (size_t i = 0; i < sizeof vis / sizeof *vis; i++)
            if (strcmp(tok[3], vis[i]) == 0) visibility = vis[i];
        if (!visibility) {
            perr(ps,
                 "visibility must be visible, hidden, after_due_date or after_published, "
                 "not '%s'",
                 tok[3]);
            return;
        }
    }
    for (size_t i = 0; i < r->ntests; i++) {
        if (strcmp(r->tests[i].name, tok[1]) == 0) {
            perr(ps, "test '%s' is listed twice", tok[1]);
            return;
        }
    }
    r->tests = xrealloc(r->tests, (r->ntests + 1) * sizeof *r->tests);
    r->tests[r->ntests++] = (struct rubric_test){
        .name = xstrdup(tok[1]),
        .points = points,
        .visibility = xstrdup(visibility),
        .task = r->ntasks ? r->tasks[r->ntasks - 1] : NULL,
    };
}

/* `twin NAME BASE [VISIBILITY]`: NAME is BASE's test on another backend (the vmm lab's kvm_*
 * tests). It takes half of BASE's points where it runs, and where it skips (no usable /dev/kvm)
 * it is left out and BASE keeps them all: the same rubric totals the same either way. */
static void parse_twin(struct parser *ps, struct rubric *r, char **tok, int n) {
    if (n < 3 || n > 4) {
        perr(ps, "expected 'twin NAME BASE [visible|hidden|after_due_date|after_published]'");
        return;
    }
    char *as_test[4] = {"test", tok[1], "0", n == 4 ? tok[3] : "visible"};
    size_t before = r->ntests;
    parse_test(ps, r, as_test, 4);
    if (r->ntests == before) return;
    if (!valid_name(tok[2])) {
        perr(ps, "'%s' is not a test name", tok[2]);
        return;
    }
    r->tests[before].twin_base = xstrdup(tok[2]);
    r->tests[before].twin_line = ps->line;
}

/* Each twin's twin_of, by its base's name: after parsing, and again after tests moved (a base
 * left out by --only leaves its twin without one). */
static void relink_twins(struct rubric *r) {
    for (size_t i = 0; i < r->ntests; i++) {
        r->tests[i].twin_of = -1;
        for (size_t j = 0; r->tests[i].twin_base && j < r->ntests; j++)
            if (strcmp(r->tests[j].name, r->tests[i].twin_base) == 0) r->tests[i].twin_of = (long)j;
    }
}

/* Each twin's BASE is a scored `test` of the rubric with no other twin. */
static void resolve_twins(struct parser *ps, struct rubric *r) {
    relink_twins(r);
    for (size_t i = 0; i < r->ntests; i++) {
        struct rubric_test *t = &r->tests[i];
        if (!t->twin_base) continue;
        ps->line = t->twin_line;
        if (t->twin_of < 0) {
            perr(ps, "twin '%s': no test '%s' in the rubric", t->name, t->twin_base);
            continue;
        }
        const struct rubric_test *b = &r->tests[t->twin_of];
        if (b->twin_base) {
            perr(ps, "twin '%s': '%s' is itself a twin", t->name, b->name);
        } else if (b->points <= 0) {
            perr(ps, "twin '%s': '%s' scores no points to share", t->name, b->name);
        } else {
            t->twin_points = b->points / 2;
            t->task = b->task; /* the same work on another backend: the same task */
            for (size_t j = 0; j < i; j++)
                if (r->tests[j].twin_of == t->twin_of)
                    perr(ps, "twin '%s': '%s' already has the twin '%s'", t->name, b->name,
                         r->tests[j].name);
        }
    }
}

int rubric_load(const char *path, const char *lab, struct rubric *r) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: cannot read the rubric: %s\n", path, strerror(errno));
        *r = (struct rubric){0};
        return -1;
    }
    int rc = rubric_read(f, path, lab, r);
    fclose(f);
    return rc;
}

int rubric_read(FILE *f, const char *path, const char *lab, struct rubric *r) {
    struct parser ps = {.path = path};
    char *line = NULL;
    size_t cap = 0;

    *r = (struct rubric){
        .lab = xstrdup(lab),
        .title = xstrdup(lab),
        .lim = {.timeout = 10,
                .lab_timeout = 600,
                .memory = 1ULL << 30,
                .fsize = 64ULL << 20,
                .procs = 64,
                .files = 1024},
    };
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        char *tok[MAX_TOKENS];
        size_t third;
        ps.line++;
        if ((size_t)len != strlen(line)) {
            perr(&ps, "NUL byte in the line");
            continue;
        }
        task_heading(r, line);
        strip_comment(line);
        /* the title is the rest of the line as written, inner spacing included */
        char *raw = xstrdup(line);
        int n = tokenize(line, tok, &third);
        if (n == 0) {
            /* blank or comment-only */
        } else if (strcmp(tok[0], "hint") == 0) {
            char *text = n >= 3 ? raw + third : NULL;
            if (text) {
                size_t tl = strlen(text);
                while (tl && isspace((unsigned char)text[tl - 1]))
                    text[--tl] = '\0';
            }
            if (!text || !*text) {
                perr(&ps, "expected 'hint TEST-GLOB TEXT'");
            } else {
                r->hints = xrealloc(r->hints, (r->nhints + 1) * sizeof *r->hints);
                r->hints[r->nhints++] = (struct rubric_hint){
                    .glob = xstrdup(tok[1]), .text = xstrdup(text), .line = ps.line};
            }
        } else if (n > MAX_TOKENS) {
            perr(&ps, "too many words on the line");
        } else if (strcmp(tok[0], "set") == 0 && n >= 2) {
            char *title = n >= 3 ? raw + third : NULL;
            if (title) {
                size_t tl = strlen(title);
                while (tl && isspace((unsigned char)title[tl - 1]))
                    title[--tl] = '\0';
            }
            parse_set(&ps, r, tok, n, title);
        } else if (strcmp(tok[0], "test") == 0) {
            parse_test(&ps, r, tok, n);
        } else if (strcmp(tok[0], "twin") == 0) {
            parse_twin(&ps, r, tok, n);
        } else {
            perr(&ps,
                 "expected 'set KEY VALUE', 'test NAME POINTS [VISIBILITY]', 'twin NAME BASE' or "
                 "'hint GLOB TEXT', not '%s'",
                 tok[0]);
        }
        free(raw);
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: read error: %s\n", path, strerror(errno));
        ps.errors++;
    }
    free(line);
    if (!ps.errors && r->ntests == 0) {
        fprintf(stderr, "%s: the rubric lists no tests\n", path);
        ps.errors++;
    }
    resolve_twins(&ps, r);
    /* VLAB_TIME_SCALE > 1 stretches the wall-clock and CPU limits where every instruction is
     * emulated (make test-arm64: qemu-user, tens of times slower); no score depends on time. */
    const char *scale_env = getenv("VLAB_TIME_SCALE");
    double scale = scale_env ? strtod(scale_env, NULL) : 1;
    if (scale > 1 && scale <= 1000) {
        r->lim.timeout *= scale;
        r->lim.lab_timeout *= scale;
        if (ps.cpu_set) r->lim.cpu = (unsigned long)((double)r->lim.cpu * scale);
        /* Under qemu-user, RLIMIT_AS also holds the emulator, whose address space grows with
         * every range the test maps and unmaps (measured, qemu 7.2: ~6 MB per Unicorn engine
         * opened and closed; dbt/smc_random_guests opens 250). Twice the rubric's bound. */
        if (r->lim.memory <= ULLONG_MAX / 2) r->lim.memory *= 2;
    }
    if (!ps.cpu_set)
        r->lim.cpu = (unsigned long)r->lim.timeout + 1 + 5; /* rounded up, plus slack */
    /* each test takes the first hint that matches it; a hint that matches nothing is a typo */
    for (size_t h = 0; h < r->nhints; h++) {
        bool used = false;
        for (size_t i = 0; i < r->ntests; i++) {
            if (fnmatch(r->hints[h].glob, r->tests[i].name, 0)) continue;
            used = true;
            if (!r->tests[i].hint) r->tests[i].hint = r->hints[h].text;
        }
        if (!used) {
            ps.line = r->hints[h].line;
            perr(&ps, "hint '%s' matches no test of the rubric", r->hints[h].glob);
        }
    }
    if (ps.errors) {
        rubric_free(r);
        return -1;
    }
    return 0;
}

void rubric_free(struct rubric *r) {
    for (size_t i = 0; i < r->ntests; i++) {
        free(r->tests[i].name);
        free(r->tests[i].visibility);
        free(r->tests[i].twin_base);
    }
    free(r->tests);
    for (size_t i = 0; i < r->nhints; i++) {
        free(r->hints[i].glob);
        free(r->hints[i].text);
    }
    free(r->hints);
    for (size_t i = 0; i < r->ntasks; i++)
        free(r->tasks[i]);
    free(r->tasks);
    free(r->lab);
    free(r->title);
    free((char *)r->lim.device);
    *r = (struct rubric){0};
}

bool rubric_selects(const char *only, const char *name) {
    if (!only) return true;
    /* Space-separated patterns: a name is selected when any of them matches. */
    for (const char *p = only; *p;) {
        size_t n = strcspn(p, " \t\n");
        if (n) {
            char *pat = strndup(p, n);
            bool hit = pat && fnmatch(pat, name, 0) == 0;
            free(pat);
            if (hit) return true;
        }
        p += n;
        p += strspn(p, " \t\n");
    }
    return false;
}

size_t rubric_keep(struct rubric *r, const char *only) {
    size_t kept = 0;
    for (size_t i = 0; i < r->ntests; i++) {
        if (rubric_selects(only, r->tests[i].name)) {
            r->tests[kept++] = r->tests[i];
        } else {
            free(r->tests[i].name);
            free(r->tests[i].visibility);
            free(r->tests[i].twin_base);
        }
    }
    r->ntests = kept;
    relink_twins(r);
    r->only = only;
    return kept;
}
