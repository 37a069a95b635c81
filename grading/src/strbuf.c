#define _GNU_SOURCE
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void) {
    fputs("vlab-grade: out of memory\n", stderr);
    exit(2);
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom();
    return p;
}

void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) oom();
    return p;
}

char *xstrdup(const char *s) {
    char *d = strdup(s ? s : "");
    if (!d) oom();
    return d;
}

static char *xvasprintf(const char *fmt, va_list ap) {
    char *s;
    if (vasprintf(&s, fmt, ap) < 0) oom();
    return s;
}

char *xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

static void sb_reserve(struct strbuf *sb, size_t extra) {
    if (sb->len + extra + 1 <= sb->cap) return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1)
        cap *= 2;
    sb->s = xrealloc(sb->s, cap);
    sb->cap = cap;
}

void sb_append(struct strbuf *sb, const char *p, size_t n) {
    sb_reserve(sb, n);
    memcpy(sb->s + sb->len, p, n);
    sb->len += n;
    sb->s[sb->len] = '\0';
}

void sb_puts(struct strbuf *sb, const char *s) {
    sb_append(sb, s, strlen(s));
}

void sb_printf(struct strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = xvasprintf(fmt, ap);
    va_end(ap);
    sb_puts(sb, s);
    free(s);
}

const char *sb_str(const struct strbuf *sb) {
    return sb->s ? sb->s : "";
}

char *sb_steal(struct strbuf *sb) {
    char *s = sb->s ? sb->s : xstrdup("");
    *sb = (struct strbuf){0};
    return s;
}

void sb_free(struct strbuf *sb) {
    free(sb->s);
    *sb = (struct strbuf){0};
}
