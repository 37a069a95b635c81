/* The lecture's claims, each as a section: the claim in one sentence, the student's numbers
 * beside the reference's, a chart, and a verdict computed from the numbers. A lab the student
 * has not done yet (its bench produced no numbers for the claim) shows the reference alone. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "report.h"

const char *const lab_name[NLABS] = {"pagewalk", "dbt", "vmm", "shadow", "sandbox"};

/* How much slower than the reference a timed measure may be before the verdict says so: the
 * two builds are timed in different runs on a shared machine. */
#define SLOWER 1.5

static const char *const who_name[2] = {"your build", "the reference"};

/* The value of the measure named by FMT in side S's results for lab L; NaN when absent. */
static double val(const struct report *r, enum side s, enum lab l, const char *fmt, ...) {
    char id[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(id, sizeof id, fmt, ap);
    va_end(ap);
    return bench_get(&r->doc[s][l], id, NULL);
}

/* Why side S has no value for the measure ID of lab L. */
static const char *why(const struct report *r, enum side s, enum lab l, const char *id) {
    const char *w;
    bench_get(&r->doc[s][l], id, &w);
    return w && *w ? w : "not measured";
}

/* A number for prose; a few rotating buffers so that one printf may use several. */
static const char *num(double v) {
    static char buf[16][48];
    static unsigned next;
    char *b = buf[next++ % 16];
    svg_number(b, sizeof buf[0], v);
    return b;
}

static void out(const struct report *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->f, fmt, ap);
    va_end(ap);
}

static void esc(const struct report *r, const char *text) {
    svg_escape(r->f, text);
}

/* Opens a claim's section. DONE: the student's build has every number the claim needs; if not,
 * the section says so and shows the reference alone. Returns the side whose numbers it shows. */
static enum side begin(const struct report *r, const char *id, const char *title, const char *claim,
                       enum lab l, bool done, const char *missing) {
    out(r, "<section id=\"%s\">\n<h2>", id);
    esc(r, title);
    out(r, "</h2>\n<p class=\"claim\">");
    esc(r, claim);
    if (r->same)
        out(r, "</p>\n<p class=\"lab\">Lab: %s. Numbers: build/bench/reference/%s.json.</p>\n",
            lab_name[l], lab_name[l]);
    else
        out(r, "</p>\n<p class=\"lab\">Lab: %s. Numbers: build/bench/{%s,reference}/%s.json.</p>\n",
            lab_name[l], r->student, lab_name[l]);
    if (done) return STUDENT;
    out(r,
        "<p class=\"marked\">Reference only: the %s lab of your build (SOL=%s) is not done yet "
        "(",
        lab_name[l], r->student);
    esc(r, missing);
    out(r, ").</p>\n");
    return REFERENCE;
}

static void end(const struct report *r) {
    out(r, "</section>\n");
}

enum holds { HOLDS, FAILS, UNKNOWN };

/* The verdict line: whether the claim holds on the numbers shown, then why, in prose. */
static void verdict(const struct report *r, enum holds h, const char *fmt, ...) {
    static const char *const word[] = {"the claim holds", "the claim does not hold", "cannot tell"};
    out(r, "<p class=\"verdict %s\"><strong>Verdict: %s.</strong> ",
        h == HOLDS   ? "holds"
        : h == FAILS ? "fails"
                     : "unknown",
        word[h]);
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    esc(r, text);
    out(r, "</p>\n");
}

/* A table row: a measure of lab L, shown for both builds. */
struct row {
    const char *label;
    enum lab lab;
    char id[96];
    const char *unit;
};

static void cell(const struct report *r, enum side s, const struct row *w) {
    double v = val(r, s, w->lab, "%s", w->id);
    if (isfinite(v)) {
        out(r, "<td class=\"n\">%s</td>", num(v));
        return;
    }
    out(r, "<td class=\"na\">");
    esc(r, why(r, s, w->lab, w->id));
    out(r, "</td>");
}

static void table(const struct report *r, const struct row *rows, size_t n) {
    out(r,
        "<table>\n<thead><tr><th>measure</th><th>your build (%s)</th><th>reference</th>"
        "<th>unit</th></tr></thead>\n<tbody>\n",
        r->student);
    for (size_t i = 0; i < n; i++) {
        out(r, "<tr><td>");
        esc(r, rows[i].label);
        out(r, "</td>");
        cell(r, STUDENT, &rows[i]);
        cell(r, REFERENCE, &rows[i]);
        out(r, "<td>");
        esc(r, rows[i].unit);
        out(r, "</td></tr>\n");
    }
    out(r, "</tbody>\n</table>\n");
}

/* Chart bars with their labels kept here, so a claim can build them in a loop. */
struct chart {
    const char *const *legend; /* NULL: the colours are the builds */
    struct svg_bar bar[64];
    char label[64][96];
    size_t n;
};

static void bar(struct chart *c, double v, enum svg_series s, const char *fmt, ...) {
    if (c->n == 64) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->label[c->n], sizeof c->label[0], fmt, ap);
    va_end(ap);
    c->bar[c->n] = (struct svg_bar){c->label[c->n], v, s};
    c->n++;
}

static void draw(const struct report *r, const struct chart *c, const char *title,
                 const char *unit) {
    out(r, "<figure>\n");
    svg_bars(r->f, title, unit, c->legend, c->bar, c->n);
    out(r, "</figure>\n");
}

/* Both sides' bars for one measure: the student's (when done) and the reference's. */
static void pair(const struct report *r, struct chart *c, enum side shown, enum lab l,
                 const char *label, const char *id) {
    if (shown == STUDENT) bar(c, val(r, STUDENT, l, "%s", id), SVG_STUDENT, "%s, yours", label);
    bar(c, val(r, REFERENCE, l, "%s", id), SVG_REFERENCE, "%s, reference", label);
}

/* A sentence setting the student's number against the reference's: "slower" past SLOWER, else
 * "within"; empty when there is nothing to compare (not done, or SOL=reference). */
static void against_reference(const struct report *r, char *buf, size_t len, enum side shown,
                              double yours, double ref, const char *what, bool lower_is_better) {
    if (r->same || shown != STUDENT || !isfinite(yours) || !isfinite(ref) || ref <= 0 ||
        yours <= 0) {
        snprintf(buf, len, "%s", "");
        return;
    }
    double ratio = lower_is_better ? yours / ref : ref / yours;
    if (ratio > SLOWER)
        snprintf(buf, len, " Your %s is %sx slower than the reference's (%s against %s).", what,
                 num(ratio), num(yours), num(ref));
    else
        snprintf(buf, len, " Your %s is within %sx of the reference's (%s against %s).", what,
                 num(SLOWER), num(yours), num(ref));
}

/* ---------------------------------------------------------------- the claims */

static void popf(const struct report *r) {
    double fe = val(r, STUDENT, DBT, "popf.translated.flag_exits");
    enum side s = begin(r, "popf", "1. x86 is not classically virtualizable: popf",
                        "Pure trap-and-emulate cannot see popf: at CPL 3 it neither traps nor "
                        "changes IF, so the VMM never learns what the guest did; a binary "
                        "translator rewrites it and sees every one.",
                        DBT, isfinite(fe), why(r, STUDENT, DBT, "popf.translated.flag_exits"));
    /* The demo runs no solution code: take it from whichever run has it. */
    enum side d =
        isfinite(val(r, STUDENT, DBT, "popf.trap_and_emulate.traps")) ? STUDENT : REFERENCE;
    double sens = val(r, d, DBT, "popf.trap_and_emulate.sensitive");
    double traps = val(r, d, DBT, "popf.trap_and_emulate.traps");
    double ifv = val(r, d, DBT, "popf.trap_and_emulate.if_after_popf0");
    double fx = val(r, s, DBT, "popf.translated.flag_exits");
    struct row rows[] = {
        {"sensitive instructions run at CPL 3 (cli, popf, popf)", DBT,
         "popf.trap_and_emulate.sensitive", "instructions"},
        {"traps the trap-and-emulate VMM saw", DBT, "popf.trap_and_emulate.traps", "traps"},
        {"IF after popf of an image with IF = 0 (1: ignored)", DBT,
         "popf.trap_and_emulate.if_after_popf0", "IF"},
        {"translator: VM exits on cli/sti/pushf/popf (pushf guest)", DBT,
         "popf.translated.flag_exits", "exits"}};
    table(r, rows, 4);
    struct chart c = {0};
    bar(&c, sens, SVG_OTHER, "sensitive instructions");
    bar(&c, traps, SVG_OTHER, "trapped (trap-and-emulate)");
    pair(r, &c, s, DBT, "translator exits", "popf.translated.flag_exits");
    draw(r, &c, "Sensitive instructions seen by a trap vs by translation", "");
    if (!isfinite(sens) || !isfinite(traps) || !isfinite(fx))
        verdict(r, UNKNOWN,
                "The popf demo (build/<sol>/dbt/part0) or the translator's counts "
                "are missing.");
    else
        verdict(r, traps < sens ? HOLDS : FAILS,
                "Trap-and-emulate saw %s trap%s for %s sensitive instructions%s; %s's translator "
                "ran the pushf/popf guest with %s exits on cli/sti/pushf/popf%s.",
                num(traps), traps == 1 ? "" : "s", num(sens),
                ifv == 1 ? " (popf left IF unchanged, silently)" : "", who_name[s], num(fx),
                fx == 0 ? ": it sees every popf because it rewrites it"
                        : ": it sees them, but by exiting, at trap-and-emulate's price");
    end(r);
}

static void chaining(const struct report *r) {
    static const char *const guests[] = {"compute", "recursion", "indirect", "smc"};
    double yc = val(r, STUDENT, DBT, "dispatches_per_1k.chained.compute");
    enum side s = begin(
        r, "chaining", "2. Binary translation: chaining, indirect branches, self-modifying code",
        "Binary translation turns frequent traps into inline code, and chaining its fragments "
        "keeps it out of the dispatcher; it still pays on indirect branches and on "
        "self-modifying code.",
        DBT, isfinite(yc), why(r, STUDENT, DBT, "dispatches_per_1k.chained.compute"));
    struct row rows[8];
    struct chart c = {0};
    for (int g = 0; g < 4; g++) {
        rows[2 * g] = (struct row){guests[g], DBT, "", "dispatches per 1k insns, chained"};
        snprintf(rows[2 * g].id, sizeof rows[0].id, "dispatches_per_1k.chained.%s", guests[g]);
        rows[2 * g + 1] = (struct row){guests[g], DBT, "", "dispatches per 1k insns, unchained"};
        snprintf(rows[2 * g + 1].id, sizeof rows[0].id, "dispatches_per_1k.unchained.%s",
                 guests[g]);
        char label[64];
        snprintf(label, sizeof label, "%s chained", guests[g]);
        pair(r, &c, s, DBT, label, rows[2 * g].id);
        snprintf(label, sizeof label, "%s unchained", guests[g]);
        pair(r, &c, s, DBT, label, rows[2 * g + 1].id);
    }
    table(r, rows, 8);
    draw(r, &c, "Dispatcher entries per 1,000 guest instructions", "/1k");
    double ch = val(r, s, DBT, "dispatches_per_1k.chained.compute");
    double un = val(r, s, DBT, "dispatches_per_1k.unchained.compute");
    double ind = val(r, s, DBT, "dispatches_per_1k.chained.indirect");
    double smc = val(r, s, DBT, "dispatches_per_1k.chained.smc");
    char cmp[256];
    against_reference(r, cmp, sizeof cmp, s, ch, val(r, REFERENCE, DBT, "%s", rows[0].id),
                      "chained dispatch rate on compute", true);
    if (!isfinite(ch) || !isfinite(un) || !isfinite(ind) || !isfinite(smc))
        verdict(r, UNKNOWN, "The translator's dispatch counts are missing.");
    else
        verdict(r, ch * 10 < un && ind > ch && smc > ch ? HOLDS : FAILS,
                "%s translator: %s dispatches per 1,000 instructions when chained, %s unchained "
                "— %s; indirect branches still cost %s and self-modifying code %s per 1,000 "
                "chained.%s",
                s == STUDENT ? "Your" : "The reference's", num(ch), num(un),
                ch * 10 < un ? "chaining is what makes BT fast" : "chaining is not saving much",
                num(ind), num(smc), cmp);
    end(r);
}

static void syscalls(const struct report *r) {
    double yt = val(r, STUDENT, DBT, "syscall.round_trip.translated");
    enum side s = begin(r, "syscall", "3. System calls under trap-and-emulate and translation",
                        "Under trap-and-emulate a guest system call traps on entry and on exit "
                        "(int and iret), which makes it many times dearer than a native one; "
                        "binary translation does not make that cost go away.",
                        DBT, isfinite(yt), why(r, STUDENT, DBT, "syscall.round_trip.translated"));
    struct row rows[] = {
        {"native system call on the host (getppid)", DBT, "syscall.round_trip.native", "ns"},
        {"trap-and-emulate round trip (the oracle)", DBT, "syscall.round_trip.trap_and_emulate",
         "ns"},
        {"binary translation round trip", DBT, "syscall.round_trip.translated", "ns"},
        {"trap-and-emulate: VMM exits", DBT, "syscall.exits.trap_and_emulate", "per round trip"},
        {"binary translation: VMM exits", DBT, "syscall.exits.translated", "per round trip"}};
    table(r, rows, 5);
    enum side d = isfinite(val(r, STUDENT, DBT, "syscall.round_trip.native")) ? STUDENT : REFERENCE;
    double nat = val(r, d, DBT, "syscall.round_trip.native");
    double tae = val(r, s, DBT, "syscall.round_trip.trap_and_emulate");
    double bt = val(r, s, DBT, "syscall.round_trip.translated");
    double ex = val(r, s, DBT, "syscall.exits.trap_and_emulate");
    double bx = val(r, s, DBT, "syscall.exits.translated");
    struct chart c = {0};
    bar(&c, nat, SVG_OTHER, "native (host)");
    bar(&c, tae, SVG_OTHER, "trap-and-emulate");
    pair(r, &c, s, DBT, "translated", "syscall.round_trip.translated");
    draw(r, &c, "One system call round trip (int $0x80 + iret)", "ns");
    char cmp[256];
    against_reference(r, cmp, sizeof cmp, s, bt, val(r, REFERENCE, DBT, "%s", rows[2].id),
                      "translated round trip", true);
    if (!isfinite(nat) || !isfinite(tae) || !isfinite(bt) || !isfinite(ex) || !isfinite(bx))
        verdict(r, UNKNOWN, "A round trip time or exit count is missing.");
    else
        verdict(r, ex >= 2 && tae > nat ? HOLDS : FAILS,
                "A round trip costs %s VMM exits under trap-and-emulate (entry and exit) and %s "
                "under %s translator: %s ns trap-and-emulate and %s ns translated, against %s "
                "ns native (%sx and %sx).%s",
                num(ex), num(bx), s == STUDENT ? "your" : "the reference's", num(tae), num(bt),
                num(nat), num(tae / nat), num(bt / nat), cmp);
    end(r);
}

static const char *const backends[] = {"unicorn", "kvm"};

static void device_io(const struct report *r) {
    double y = val(r, STUDENT, VMM, "uart.exits_per_byte.unicorn");
    enum side s = begin(r, "device-io", "4. Device I/O: an emulated UART against a hypercall",
                        "Device emulation costs a VM exit per register access, a para-virtual "
                        "interface one per request: the same 16 lines through the UART and "
                        "through one hypercall per line.",
                        VMM, isfinite(y), why(r, STUDENT, VMM, "uart.exits_per_byte.unicorn"));
    struct row rows[8];
    struct chart c = {0};
    for (int b = 0; b < 2; b++) {
        rows[4 * b] = (struct row){"UART", VMM, "", ""};
        rows[4 * b + 1] = (struct row){"hypercall", VMM, "", ""};
        rows[4 * b + 2] = (struct row){"UART exits", VMM, "", ""};
        rows[4 * b + 3] = (struct row){"hypercall exits", VMM, "", ""};
        for (int k = 0; k < 4; k++) {
            snprintf(rows[4 * b + k].id, sizeof rows[0].id, "%s.%s.%s",
                     k % 2 ? "hypercall" : "uart", k < 2 ? "exits_per_byte" : "exits", backends[b]);
            rows[4 * b + k].unit = k < 2 ? "exits per byte" : "exits";
        }
        static char labels[8][64];
        for (int k = 0; k < 4; k++) {
            snprintf(labels[4 * b + k], sizeof labels[0], "%s: %s", backends[b],
                     rows[4 * b + k].label);
            rows[4 * b + k].label = labels[4 * b + k];
        }
        pair(r, &c, s, VMM, labels[4 * b], rows[4 * b].id);
        pair(r, &c, s, VMM, labels[4 * b + 1], rows[4 * b + 1].id);
    }
    table(r, rows, 8);
    draw(r, &c, "VM exits per byte printed", "exits/byte");
    char text[1024] = "";
    size_t n = 0;
    enum holds h = UNKNOWN;
    for (int b = 0; b < 2; b++) {
        double u = val(r, s, VMM, "uart.exits_per_byte.%s", backends[b]);
        double hc = val(r, s, VMM, "hypercall.exits_per_byte.%s", backends[b]);
        char id[64];
        snprintf(id, sizeof id, "uart.exits_per_byte.%s", backends[b]);
        if (!isfinite(u) || !isfinite(hc)) {
            n += (size_t)snprintf(text + n, sizeof text - n, "%s: not measured (%s). ", backends[b],
                                  why(r, s, VMM, id));
            continue;
        }
        if (h != FAILS) h = u > hc ? HOLDS : FAILS;
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "%s: UART %s exits per byte, hypercall %s: %sx fewer exits. ",
                              backends[b], num(u), num(hc), num(hc > 0 ? u / hc : INFINITY));
        double ru = val(r, REFERENCE, VMM, "uart.exits_per_byte.%s", backends[b]);
        if (s == STUDENT && !r->same && isfinite(ru) && u > ru * 1.01)
            n +=
                (size_t)snprintf(text + n, sizeof text - n,
                                 "Your UART takes more exits than the reference's (%s). ", num(ru));
    }
    if (n && text[n - 1] == ' ') text[n - 1] = 0;
    verdict(r, h, "%s", text);
    end(r);
}

static void pagewalk(const struct report *r) {
    double y = val(r, STUDENT, PAGEWALK, "refs_per_walk.solution");
    enum side s = begin(r, "pagewalk", "5. A native TLB miss: the page walk",
                        "Without virtualization a TLB miss costs one memory reference per "
                        "page-table level: at most 4 on x86-64's four levels (fewer for 2 MiB "
                        "and 1 GiB pages).",
                        PAGEWALK, isfinite(y), why(r, STUDENT, PAGEWALK, "refs_per_walk.solution"));
    struct row rows[] = {
        {"your walker: entry reads per walk", PAGEWALK, "refs_per_walk.solution", "refs"},
        {"the oracle (vlab_pt_walk): entry reads per walk", PAGEWALK, "refs_per_walk.oracle",
         "refs"},
        {"walks disagreeing with the oracle", PAGEWALK, "disagreements", "walks"},
        {"your walker: speed", PAGEWALK, "walks_per_s.solution", "M walks/s"},
        {"the oracle: speed", PAGEWALK, "walks_per_s.oracle", "M walks/s"}};
    table(r, rows, 5);
    struct chart c = {0};
    pair(r, &c, s, PAGEWALK, "walker", "refs_per_walk.solution");
    bar(&c, val(r, s, PAGEWALK, "refs_per_walk.oracle"), SVG_OTHER, "oracle");
    bar(&c, 4, SVG_OTHER, "4 levels, 4 KiB page");
    draw(r, &c, "Page-table entries read per walk", "refs");
    double w = val(r, s, PAGEWALK, "refs_per_walk.solution");
    double o = val(r, s, PAGEWALK, "refs_per_walk.oracle");
    double dis = val(r, s, PAGEWALK, "disagreements");
    char cmp[256];
    against_reference(r, cmp, sizeof cmp, s, val(r, STUDENT, PAGEWALK, "walks_per_s.solution"),
                      val(r, REFERENCE, PAGEWALK, "walks_per_s.solution"), "walker", false);
    if (!isfinite(w) || !isfinite(o) || !isfinite(dis))
        verdict(r, UNKNOWN, "The walk counts are missing.");
    else
        verdict(r, w <= 4 && fabs(w - o) < 0.001 && dis == 0 ? HOLDS : FAILS,
                "%s walker reads %s entries per walk (the oracle %s, at most 4), with %s "
                "disagreements.%s",
                s == STUDENT ? "Your" : "The reference's", num(w), num(o), num(dis), cmp);
    end(r);
}

static const char *const workloads[] = {"sequential", "random", "working-set",
                                        "fork-cow",   "clock",  "pingpong"};
static const char *const modes[] = {"shadow", "shadow_oos", "nested"};
static const char *const mode_label[] = {"shadow", "shadow+OOS", "nested"};

static void shadow(const struct report *r) {
    bool done = true;
    for (int w = 0; w < 6; w++)
        for (int m = 0; m < 3; m++)
            done &= isfinite(val(r, STUDENT, SHADOW, "exits.%s.%s", workloads[w], modes[m]));
    enum side s = begin(r, "shadow", "6. Shadow page tables against nested paging (EPT/NPT)",
                        "Shadow page tables cost VM exits (and hidden faults) to keep two tables "
                        "consistent; nested paging removes those exits and pays instead with up "
                        "to 24 memory references per TLB miss.",
                        SHADOW, done, why(r, STUDENT, SHADOW, "exits.sequential.shadow"));
    struct row rows[6 * 3 * 3];
    static char labels[6 * 3][64];
    size_t n = 0;
    /* Here the colours are the modes, not the builds. */
    static const char *const by_mode[] = {"nested", "shadow", "shadow+OOS"};
    struct chart ex = {.legend = by_mode}, refs = {.legend = by_mode};
    double sum[3] = {0}, maxref[3] = {0};
    int differ = 0, rowsets = 0;
    for (int w = 0; w < 6; w++)
        for (int m = 0; m < 3; m++) {
            char *lb = labels[w * 3 + m];
            snprintf(lb, sizeof labels[0], "%s, %s", workloads[w], mode_label[m]);
            static const char *const what[] = {"exits", "hidden_faults", "refs_per_miss"};
            static const char *const unit[] = {"VM exits", "hidden faults", "refs per TLB miss"};
            for (int k = 0; k < 3; k++) {
                rows[n] = (struct row){lb, SHADOW, "", unit[k]};
                snprintf(rows[n].id, sizeof rows[0].id, "%s.%s.%s", what[k], workloads[w],
                         modes[m]);
                n++;
            }
            double e = val(r, s, SHADOW, "exits.%s.%s", workloads[w], modes[m]);
            double q = val(r, s, SHADOW, "refs_per_miss.%s.%s", workloads[w], modes[m]);
            sum[m] += e;
            if (q > maxref[m]) maxref[m] = q;
            bar(&ex, e, m == 2 ? SVG_STUDENT : m == 1 ? SVG_OTHER : SVG_REFERENCE, "%s", lb);
            bar(&refs, q, m == 2 ? SVG_STUDENT : m == 1 ? SVG_OTHER : SVG_REFERENCE, "%s", lb);
            if (s == STUDENT) {
                double re = val(r, REFERENCE, SHADOW, "exits.%s.%s", workloads[w], modes[m]);
                rowsets++;
                differ += isfinite(re) && fabs(e - re) > 0.05 * re + 1;
            }
        }
    table(r, rows, n);
    out(r, "<p class=\"note\">Charts: %s numbers, coloured by mode.</p>\n",
        s == STUDENT ? "your build's" : "the reference's");
    draw(r, &ex, "VM exits per workload (100,000 operations)", "exits");
    draw(r, &refs, "Memory references per TLB miss", "refs");
    char cmp[256] = "";
    if (s == STUDENT && rowsets && !r->same)
        snprintf(cmp, sizeof cmp,
                 differ ? " Your exit counts differ from the reference's by more than 5%% on %d "
                          "of %d rows."
                        : " Your exit counts match the reference's within 5%% (%d of %d rows "
                          "differ).",
                 differ, rowsets);
    if (!isfinite(sum[0] + sum[1] + sum[2]))
        verdict(r, UNKNOWN, "Some workload's counts are missing.");
    else
        verdict(r, sum[2] < sum[1] && sum[1] <= sum[0] && maxref[2] > maxref[0] ? HOLDS : FAILS,
                "Across the 6 workloads: shadow %s VM exits, shadow+OOS %s, nested %s; but "
                "nested paging reads up to %s entries per TLB miss against %s for shadow "
                "paging: EPT/NPT trades exits for longer walks.%s",
                num(sum[0]), num(sum[1]), num(sum[2]), num(maxref[2]), num(maxref[0]), cmp);
    end(r);
}

static void launch(const struct report *r) {
    double y = val(r, STUDENT, SANDBOX, "launch_exit.sb_run");
    enum side s = begin(r, "launch", "7. Containers launch in milliseconds",
                        "A container is a process with namespaces, cgroups and a filter: it "
                        "launches in milliseconds, like bubblewrap, at a small multiple of a "
                        "bare fork+exec. (vlab's VMs start a guest of a few KiB, not an "
                        "operating system: their start is a VM's floor, not a Linux boot.)",
                        SANDBOX, isfinite(y), why(r, STUDENT, SANDBOX, "launch_exit.sb_run"));
    struct row rows[] = {{"sb_run: clone to exit", SANDBOX, "launch_exit.sb_run", "ms"},
                         {"sb_run in a user namespace", SANDBOX, "launch_exit.sb_run_userns", "ms"},
                         {"bubblewrap", SANDBOX, "launch_exit.bwrap", "ms"},
                         {"fork+exec, no isolation", SANDBOX, "launch_exit.fork_exec", "ms"},
                         {"VM start to first byte, unicorn", VMM, "vm_start.unicorn", "ms"},
                         {"VM start to first byte, kvm", VMM, "vm_start.kvm", "ms"}};
    table(r, rows, 6);
    /* The VM start comes from the vmm lab: the student's when that lab is done. */
    enum side v = isfinite(val(r, STUDENT, VMM, "vm_start.unicorn")) ? STUDENT : REFERENCE;
    struct chart c = {0};
    pair(r, &c, s, SANDBOX, "sb_run", "launch_exit.sb_run");
    bar(&c, val(r, s, SANDBOX, "launch_exit.bwrap"), SVG_OTHER, "bubblewrap");
    bar(&c, val(r, s, SANDBOX, "launch_exit.fork_exec"), SVG_OTHER, "fork+exec");
    pair(r, &c, v, VMM, "VM start, unicorn", "vm_start.unicorn");
    pair(r, &c, v, VMM, "VM start, kvm", "vm_start.kvm");
    draw(r, &c, "Launch to exit (containers) and to the first byte (VMs)", "ms");
    double sb = val(r, s, SANDBOX, "launch_exit.sb_run");
    double bw = val(r, s, SANDBOX, "launch_exit.bwrap");
    double fe = val(r, s, SANDBOX, "launch_exit.fork_exec");
    double vu = val(r, v, VMM, "vm_start.unicorn"), vk = val(r, v, VMM, "vm_start.kvm");
    char cmp[256], vms[256];
    against_reference(r, cmp, sizeof cmp, s, sb, val(r, REFERENCE, SANDBOX, "launch_exit.sb_run"),
                      "sb_run launch", true);
    snprintf(vms, sizeof vms, " A VM start to its first byte: %s ms on unicorn, %s on kvm.",
             isfinite(vu) ? num(vu) : "not measured", isfinite(vk) ? num(vk) : "not measured");
    if (!isfinite(sb) || !isfinite(fe))
        verdict(r, UNKNOWN, "The launch times are missing (%s).",
                why(r, s, SANDBOX, "launch_exit.sb_run"));
    else
        /* "milliseconds": under a second, where booting a Linux VM takes seconds */
        verdict(r, sb < 1000 ? HOLDS : FAILS,
                "%s sb_run launches and cleans up in %s ms: %s, %sx a bare fork+exec (%s ms).%s%s",
                s == STUDENT ? "Your" : "The reference's", num(sb),
                isfinite(bw) ? (sb <= bw ? "no slower than bubblewrap" : "slower than bubblewrap")
                             : "bubblewrap not measured",
                num(sb / fe), num(fe), vms, cmp);
    if (isfinite(bw)) out(r, "<p class=\"note\">bubblewrap: %s ms.</p>\n", num(bw));
    end(r);
}

void claims_write(struct report *r) {
    popf(r);
    chaining(r);
    syscalls(r);
    device_io(r);
    pagewalk(r);
    shadow(r);
    launch(r);
}
