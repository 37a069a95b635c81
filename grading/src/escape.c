#include "escape.h"

#include <stdint.h>
#include <string.h>

#include "text.h"

void put_xml(FILE *f, const char *s, bool attr) {
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;

    while (i < n) {
        uint32_t cp;
        size_t len = utf8_next(u + i, n - i, &cp);
        switch (cp) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        case '\n': fputs(attr ? "&#10;" : "\n", f); break;
        case '\t': fputs(attr ? "&#9;" : "\t", f); break;
        default:
            if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
                break; /* not allowed (or not wanted) in XML 1.0 */
            if (cp == 0xFFFE || cp == 0xFFFF) cp = UTF8_REPLACEMENT;
            if (cp == UTF8_REPLACEMENT || len == 1) {
                char enc[4];
                fwrite(enc, 1, utf8_put(cp, enc), f);
            } else {
                fwrite(s + i, 1, len, f);
            }
        }
        i += len;
    }
}

void put_md_cell(FILE *f, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;

    while (i < n) {
        uint32_t cp;
        size_t len = utf8_next(u + i, n - i, &cp);
        if (cp == '\n' || cp == '\t') {
            fputc(' ', f);
        } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
            /* dropped: nothing a summary table should show */
        } else if (cp < 0x80 && strchr("\\`*_[]<>|~&#!", (int)cp)) {
            fputc('\\', f);
            fputc((int)cp, f);
        } else if (cp == UTF8_REPLACEMENT || len == 1) {
            char enc[4];
            fwrite(enc, 1, utf8_put(cp, enc), f);
        } else {
            fwrite(s + i, 1, len, f);
        }
        i += len;
    }
}
