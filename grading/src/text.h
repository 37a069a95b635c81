/* Text hygiene: everything a test binary prints is untrusted bytes, but every report format we
 * write (JSON for Gradescope, XML, HTML, Markdown) needs valid UTF-8 without stray control
 * characters, so captured text is cleaned once, here, before anyone stores it. */
#ifndef VLAB_GRADE_TEXT_H
#define VLAB_GRADE_TEXT_H

#include <stddef.h>
#include <stdint.h>

#define UTF8_REPLACEMENT 0xFFFDu

/* Decodes one code point from p[0..n) (n >= 1). Malformed, overlong, surrogate and
 * out-of-range sequences decode as UTF8_REPLACEMENT covering one byte, so scanning always
 * advances. Returns the number of bytes consumed. */
size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp);

/* Encodes cp (a valid scalar value) into out (4 bytes); returns the length. */
size_t utf8_put(uint32_t cp, char out[4]);

/* A clean copy of p[0..n): valid UTF-8, "\r\n" folded to "\n", other control characters
 * except '\n' and '\t' removed, trailing blank lines trimmed. */
char *text_clean(const char *p, size_t n);

/* A copy of s with at most max_lines lines; when lines were cut, a last line says how many. */
char *text_head_lines(const char *s, int max_lines);

/* The first line of s (up to the first '\n'), copied. */
char *text_first_line(const char *s);

#endif
