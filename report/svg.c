#include "svg.h"

#include <math.h>
#include <string.h>

#define WIDTH  720
#define LABELW 250 /* the labels' column */
#define VALUEW 130 /* room after the longest bar for its number */
#define ROWH   20
#define TOP    44 /* title and legend */

static const char *const colour[] = {"#1f5fa8", "#a0a0a0", "#d08a1a"};

void svg_escape(FILE *f, const char *text) {
    for (; *text; text++)
        switch (*text) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*text, f);
        }
}

void svg_number(char *out, size_t len, double v) {
    if (!isfinite(v)) {
        snprintf(out, len, "-");
        return;
    }
    double a = fabs(v);
    if (a < 1e4 && v == floor(v)) { /* a count: no decimals to suggest a fraction */
        snprintf(out, len, "%.0f", v);
        return;
    }
    int decimals = a == 0 ? 0 : a < 0.01 ? 4 : a < 1 ? 3 : a < 10 ? 2 : a < 100 ? 1 : 0;
    if (a < 1e4) {
        snprintf(out, len, "%.*f", decimals, v);
        return;
    }
    /* thousands separators keep 15034 from reading as 1503.4 at a glance */
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", a);
    size_t nd = strlen(digits), o = 0;
    if (v < 0 && o + 1 < len) out[o++] = '-';
    for (size_t i = 0; i < nd && o + 2 < len; i++) {
        if (i && (nd - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
}

void svg_bars(FILE *f, const char *title, const char *unit, const char *const *legend,
              const struct svg_bar *bars, size_t n) {
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(bars[i].value) && bars[i].value > max) max = bars[i].value;
    int height = TOP + (int)n * ROWH + 10, span = WIDTH - LABELW - VALUEW;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\" font-family=\"sans-serif\" font-size=\"12\">\n",
            WIDTH, height, WIDTH, height);
    fputs("<title>", f);
    svg_escape(f, title);
    fputs("</title>\n<text x=\"0\" y=\"16\" font-weight=\"bold\">", f);
    svg_escape(f, title);
    fputs("</text>\n", f);
    /* the legend: only the series that appear */
    static const char *const builds[] = {"your build", "reference", "no solution code"};
    const char *const *name = legend ? legend : builds;
    bool seen[3] = {0};
    for (size_t i = 0; i < n; i++)
        seen[bars[i].series] = true;
    int x = 0;
    for (int s = 0; s < 3; s++) {
        if (!seen[s]) continue;
        fprintf(f,
                "<rect x=\"%d\" y=\"24\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                "<text x=\"%d\" y=\"34\">",
                x, colour[s], x + 16);
        svg_escape(f, name[s]);
        fputs("</text>\n", f);
        x += 130;
    }
    for (size_t i = 0; i < n; i++) {
        int y = TOP + (int)i * ROWH;
        char num[64];
        svg_number(num, sizeof num, bars[i].value);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABELW - 8, y + 14);
        svg_escape(f, bars[i].label);
        fputs("</text>\n", f);
        if (!isfinite(bars[i].value)) {
            fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#777\">not measured</text>\n", LABELW,
                    y + 14);
            continue;
        }
        int w = max > 0 ? (int)lround(span * bars[i].value / max) : 0;
        if (w < 1 && bars[i].value > 0) w = 1; /* a small value is still there */
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
                "<text x=\"%d\" y=\"%d\">%s ",
                LABELW, y + 3, w, ROWH - 6, colour[bars[i].series], LABELW + w + 4, y + 14, num);
        svg_escape(f, unit);
        fputs("</text>\n", f);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>\n</svg>\n", LABELW,
            TOP, LABELW, TOP + (int)n * ROWH);
}
