#include "text.h"

#include <string.h>

#include "strbuf.h"

size_t utf8_next(const unsigned char *p, size_t n, uint32_t *cp) {
    unsigned char c = p[0];
    size_t len;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = UTF8_REPLACEMENT;
        return 1;
    }
    if (len > n) goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) goto bad;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) goto bad;
    *cp = v;
    return len;
bad:
    *cp = UTF8_REPLACEMENT;
    return 1;
}

size_t utf8_put(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *text_clean(const char *p, size_t n) {
    struct strbuf sb = {0};
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;

    while (i < n) {
        uint32_t cp;
        size_t len = utf8_next(u + i, n - i, &cp);
        if (cp == '\r' && i + 1 < n && u[i + 1] == '\n') {
            i++;
            continue;
        }
        if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
            i += len;
            continue;
        }
        if (cp == 0xFFFE || cp == 0xFFFF) cp = UTF8_REPLACEMENT;
        char enc[4];
        if (cp == UTF8_REPLACEMENT || len == 1) {
            size_t k = utf8_put(cp, enc);
            sb_append(&sb, enc, k);
        } else {
            sb_append(&sb, p + i, len);
        }
        i += len;
    }
    while (sb.len && (sb.s[sb.len - 1] == '\n' || sb.s[sb.len - 1] == ' '))
        sb.s[--sb.len] = '\0';
    return sb_steal(&sb);
}

char *text_head_lines(const char *s, int max_lines) {
    struct strbuf sb = {0};
    int lines = 0, dropped = 0;
    const char *p = s;

    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (lines < max_lines) {
            if (lines) sb_puts(&sb, "\n");
            sb_append(&sb, p, len);
            lines++;
        } else {
            dropped++;
        }
        p += len + (nl ? 1 : 0);
    }
    if (dropped)
        sb_printf(&sb, "\n... (%d more line%s in the report)", dropped, dropped == 1 ? "" : "s");
    return sb_steal(&sb);
}

char *text_first_line(const char *s) {
    size_t len = strcspn(s, "\n");
    struct strbuf sb = {0};
    sb_append(&sb, s, len);
    return sb_steal(&sb);
}
