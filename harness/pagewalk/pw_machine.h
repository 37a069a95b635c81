/* The harness side of struct pw_machine: guest memory plus the counters and the trace of entry
 * references that the tests and the benchmark read after a student walk. Student code sees
 * only the opaque type and the two accessors in pagewalk.h. */
#ifndef VLAB_PW_MACHINE_H
#define VLAB_PW_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagewalk.h"
#include "vlab/gpmem.h"

/* Enough for any correct walk (4 reads + 4 writes) and a few mistakes to show in a message. */
#define PW_TRACE_MAX 16

struct pw_ref {
    uint64_t gpa;
    uint64_t val; /* read: the value returned; write: the value written */
    int rc;       /* what the accessor returned */
    bool write;
};

struct pw_machine {
    struct vlab_gpmem *mem;
    /* since the last pw_machine_reset(): successful references only (a failed access touches
     * no memory, so it costs nothing) */
    uint64_t reads, writes;
    uint64_t failed; /* accesses that returned an error */
    unsigned nrefs;  /* references made, including failed ones and those past the trace */
    struct pw_ref ref[PW_TRACE_MAX];
};

void pw_machine_init(struct pw_machine *m, struct vlab_gpmem *mem);
/* Clears the counters and the trace; the tests call it before every walk. */
void pw_machine_reset(struct pw_machine *m);
/* Whether every write since the reset is in the trace (false: more than PW_TRACE_MAX refs). */
bool pw_machine_trace_complete(const struct pw_machine *m);
/* "R 0x101008 -> 0x102027, W 0x101008 <- 0x102067" (or "no memory references"). Returns buf. */
const char *pw_machine_trace_str(const struct pw_machine *m, char *buf, size_t len);

#endif
