/* `make report`: the lecture's claims as one HTML page, from the benches' results files. */
#ifndef VLAB_REPORT_REPORT_H
#define VLAB_REPORT_REPORT_H

#include <stdio.h>

#include "benchdoc.h"
#include "svg.h"

enum side { STUDENT, REFERENCE };
enum lab { PAGEWALK, DBT, VMM, SHADOW, SANDBOX, NLABS };
extern const char *const lab_name[NLABS];

struct report {
    FILE *f;
    const char *student; /* the student's solution tree's name (SOL), e.g. "labs" */
    const char *refdir;  /* where the reference's results come from */
    int same;            /* the student's build is the reference (SOL=reference) */
    struct bench_doc doc[2][NLABS];
};

/* Writes one <section> per claim, in the lecture's order. */
void claims_write(struct report *r);

#endif
