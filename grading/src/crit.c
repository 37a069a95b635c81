#define _GNU_SOURCE
#include "crit.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"

static void push(char ***v, size_t *n, char *s) {
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = s;
}

/* "suite: 3 tests" / "suite: 1 test" -> suite name length, or 0. */
static size_t suite_header(const char *line, size_t len) {
    const char *colon = NULL;
    for (size_t i = 0; i + 1 < len; i++)
        if (line[i] == ':' && line[i + 1] == ' ') colon = line + i;
    if (!colon || colon == line) return 0;
    const char *p = colon + 2, *end = line + len;
    if (p >= end || !isdigit((unsigned char)*p)) return 0;
    while (p < end && isdigit((unsigned char)*p))
        p++;
    size_t rest = (size_t)(end - p);
    if ((rest == 6 && memcmp(p, " tests", 6) == 0) || (rest == 5 && memcmp(p, " test", 5) == 0))
        return (size_t)(colon - line);
    return 0;
}

/* Tree branches as Criterion draws them in UTF-8 and in ASCII locales. */
static const char *const branches[] = {"├── ", "└── ", "|-- ", "`-- "};

int crit_parse_list(const char *out, const char *suite, struct crit_list *l) {
    char *cur = NULL;
    bool any = false;

    *l = (struct crit_list){0};
    for (const char *p = out; *p;) {
        size_t len = strcspn(p, "\n");
        size_t slen = suite_header(p, len);
        if (slen) {
            free(cur);
            cur = strndup(p, slen);
            any = true;
        } else if (cur) {
            for (size_t b = 0; b < sizeof branches / sizeof *branches; b++) {
                size_t bl = strlen(branches[b]);
                if (len > bl && memcmp(p, branches[b], bl) == 0) {
                    size_t nl = len - bl;
                    /* disabled tests are listed as "name (skipped)" */
                    if (nl > 10 && memcmp(p + len - 10, " (skipped)", 10) == 0) nl -= 10;
                    char *name = strndup(p + bl, nl);
                    if (!name) break;
                    if (strcmp(cur, suite) == 0) {
                        push(&l->tests, &l->ntests, name);
                    } else {
                        push(&l->other, &l->nother, xasprintf("%s/%s", cur, name));
                        free(name);
                    }
                    break;
                }
            }
        }
        p += len + (p[len] == '\n');
    }
    free(cur);
    return any ? 0 : -1;
}

void crit_list_free(struct crit_list *l) {
    for (size_t i = 0; i < l->ntests; i++)
        free(l->tests[i]);
    for (size_t i = 0; i < l->nother; i++)
        free(l->other[i]);
    free(l->tests);
    free(l->other);
    *l = (struct crit_list){0};
}

bool crit_list_has(const struct crit_list *l, const char *test) {
    for (size_t i = 0; i < l->ntests; i++)
        if (strcmp(l->tests[i], test) == 0) return true;
    return false;
}

/* Lines of a multi-line "messages" block: each is `            "TEXT"` or `...",`; a line whose
 * TEXT starts with two spaces continues the previous message. Criterion keeps the failed
 * assertions newest first; they are put back in the order they failed. */
static char *messages_block(const char *p, const char *end) {
    struct group {
        size_t start, len;
    } *g = NULL;
    size_t ng = 0;
    struct strbuf all = {0};

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *s = p;
        while (s < le && *s == ' ')
            s++;
        if (s < le && *s == '"') s++;
        const char *e = le;
        if (e > s && e[-1] == ',') e--;
        if (e > s && e[-1] == '"') e--;
        bool cont = e - s >= 2 && s[0] == ' ' && s[1] == ' ' && ng > 0;
        if (!cont) {
            g = xrealloc(g, (ng + 1) * sizeof *g);
            g[ng++] = (struct group){.start = all.len, .len = 0};
        } else {
            sb_puts(&all, "\n");
            s += 2;
        }
        sb_append(&all, s, (size_t)(e - s));
        g[ng - 1].len = all.len - g[ng - 1].start;
        p = le + 1;
    }
    struct strbuf msg = {0};
    for (size_t i = ng; i-- > 0;) {
        if (msg.len) sb_puts(&msg, "\n");
        sb_append(&msg, sb_str(&all) + g[i].start, g[i].len);
    }
    free(g);
    sb_free(&all);
    if (!msg.len) { /* only empty messages: appending nothing may still have allocated */
        sb_free(&msg);
        return NULL;
    }
    return sb_steal(&msg);
}

bool crit_find_test(const char *report, const char *suite, const char *test, struct crit_entry *e) {
    static const char entry_end[] = "\n        }";
    char *suite_key = xasprintf("\n      \"name\": \"%s\",\n", suite);
    char *test_key = xasprintf("\n          \"name\": \"%s\",\n          \"assertions\": ", test);
    const char *p = strstr(report, suite_key);
    bool found = false;

    *e = (struct crit_entry){0};
    if (p) p = strstr(p, test_key);
    if (!p) goto out;
    p = strstr(p + strlen(test_key), "\n          \"status\": \"");
    if (!p) goto out;
    p += strlen("\n          \"status\": \"");
    size_t sl = strcspn(p, "\"\n");
    if (sl == 0 || sl >= sizeof e->status || p[sl] != '"') goto out;
    memcpy(e->status, p, sl);
    e->status[sl] = '\0';
    found = true;
    p += sl + 1;

    static const char one_line[] = ",\n          \"messages\": [\"";
    static const char multi_line[] = ",\n          \"messages\": [\n";
    if (strncmp(p, one_line, strlen(one_line)) == 0) {
        /* skip reasons and crash notes: one string that may itself span lines */
        p += strlen(one_line);
        const char *end = strstr(p, "\"]\n        }");
        if (end) e->message = strndup(p, (size_t)(end - p));
    } else if (strncmp(p, multi_line, strlen(multi_line)) == 0) {
        p += strlen(multi_line);
        const char *end = strstr(p, "\n          ]");
        const char *stop = strstr(p, entry_end);
        if (end && (!stop || end < stop)) e->message = messages_block(p, end);
    }
out:
    free(suite_key);
    free(test_key);
    return found;
}

/* Where Criterion's runner of that pid binds its message server. */
static void socket_path(pid_t pid, char *path, size_t len) {
    snprintf(path, len, "/tmp/criterion_%llu.sock", (unsigned long long)pid);
}

void crit_remove_socket(pid_t pid) {
    char path[64];
    socket_path(pid, path, sizeof path);
    unlink(path); /* usually absent: nothing to report */
}

bool crit_socket_blocked(pid_t pid) {
    char path[64];
    struct stat st;
    socket_path(pid, path, sizeof path);
    if (lstat(path, &st)) return false;
    return unlink(path) != 0 && errno != ENOENT;
}

unsigned long crit_skip_blocked_pids(unsigned long max) {
    unsigned long skipped = 0;
    while (skipped < max) {
        FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "re");
        long last = -1;
        if (!f) break;
        if (fscanf(f, "%ld", &last) != 1) last = -1;
        fclose(f);
        if (last < 0 || !crit_socket_blocked((pid_t)(last + 1))) break;
        pid_t pid = fork(); /* uses up that pid */
        if (pid < 0) break;
        if (pid == 0) _exit(0);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        skipped++;
    }
    return skipped;
}
