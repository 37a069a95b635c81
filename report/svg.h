/* A small SVG bar-chart writer for `make report`: horizontal bars, grouped, two series (the
 * student's build and the reference), numbers printed at the bar ends. The same bars give the
 * same bytes (fixed layout, fixed number formats, no dates, no ids), so its output is testable. */
#ifndef VLAB_REPORT_SVG_H
#define VLAB_REPORT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum svg_series { SVG_STUDENT, SVG_REFERENCE, SVG_OTHER };

struct svg_bar {
    const char *label;      /* left of the bar */
    double value;           /* NaN: not measured; drawn as a note, not a bar */
    enum svg_series series; /* the bar's colour */
};

/* One chart, inline (no XML declaration: it is embedded in the page). TITLE heads it; UNIT is
 * printed after every number; LEGEND names the three colours (NULL: your build, reference, no
 * solution code). Bars are drawn in the order given on one linear scale from 0. */
void svg_bars(FILE *f, const char *title, const char *unit, const char *const *legend,
              const struct svg_bar *bars, size_t n);

/* TEXT with & < > " escaped, for SVG and HTML alike. */
void svg_escape(FILE *f, const char *text);

/* V in at most 4 significant digits, thousands separated ("0.0471", "90.67", "15,034"). */
void svg_number(char *out, size_t len, double v);

#endif
