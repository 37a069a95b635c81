/* Escapers for the report formats. They accept arbitrary bytes (not only text that went through
 * text_clean) because a malformed report is worse than a mangled character: invalid UTF-8
 * becomes U+FFFD and control characters that XML 1.0 forbids are dropped. */
#ifndef VLAB_GRADE_ESCAPE_H
#define VLAB_GRADE_ESCAPE_H

#include <stdbool.h>
#include <stdio.h>

/* XML/HTML character data, or an attribute value when attr is set (newlines and tabs are then
 * written as character references so attribute-value normalisation cannot eat them). */
void put_xml(FILE *f, const char *s, bool attr);

/* One GitHub-flavoured Markdown table cell: Markdown punctuation backslash-escaped, '|' kept
 * out of the column structure, line breaks folded to spaces. */
void put_md_cell(FILE *f, const char *s);

#endif
