/* One bench's results file (schema vlab-bench/1, harness/lib/benchjson.h): checked and loaded. */
#ifndef VLAB_REPORT_BENCHDOC_H
#define VLAB_REPORT_BENCHDOC_H

#include <stdbool.h>
#include <stddef.h>

#define BENCH_MAX_MEASURES 512

struct bench_measure {
    char id[96], unit[24], on[40], why[160];
    double value; /* NaN when the bench could not measure it (why says so) */
    unsigned runs;
};

struct bench_doc {
    bool loaded;
    char err[256]; /* why not loaded */
    char lab[32], solution[64], when[32];
    char arch[32], kernel[96], cpu[128];
    int cpus;
    bool root, kvm;
    unsigned n;
    struct bench_measure m[BENCH_MAX_MEASURES];
};

/* Reads and checks PATH against the schema; d->loaded, or d->err says what is wrong. */
void bench_load(struct bench_doc *d, const char *path);

/* The measure's value, or NaN (when not measured or absent: *why, if given, says which). */
double bench_get(const struct bench_doc *d, const char *id, const char **why);

#endif
