/* A growable byte buffer; allocation failure ends the grader (exit 2) rather than being
 * threaded through every caller, because a grader that cannot allocate cannot grade. */
#ifndef VLAB_GRADE_STRBUF_H
#define VLAB_GRADE_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *s; /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
};

void sb_append(struct strbuf *sb, const char *p, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents as a string ("" when empty); the buffer stays usable. */
const char *sb_str(const struct strbuf *sb);
/* Hands the string over to the caller (never NULL) and empties the buffer. */
char *sb_steal(struct strbuf *sb);
void sb_free(struct strbuf *sb);

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
