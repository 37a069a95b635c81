/* Where a grade was made: the machine's facts and, per lab, the backend and the user its tests
 * ran as, so that a score from a laptop and one from Gradescope can be told apart. Every report
 * carries them. */
#ifndef VLAB_GRADE_HOST_H
#define VLAB_GRADE_HOST_H

#include <stdbool.h>

struct host {
    char arch[65];      /* uname -m */
    char kernel[65];    /* uname -r */
    bool root;          /* the grader ran as root */
    const char *cgroup; /* "v2", "hybrid" (v1 controllers beside a v2 mount), "v1" or "none" */
    bool kvm;           /* an x86-64 host whose /dev/kvm the grader could open */
};

void host_probe(struct host *h);

/* Why the kvm backend cannot run here ("no /dev/kvm", "not an x86-64 host"), or NULL. */
const char *host_no_kvm(void);

/* The facts in words: "x86_64, Linux 6.8.0, as root, cgroup v2, /dev/kvm usable". Owned by
 * the caller. */
char *host_text(const struct host *h);

#endif
