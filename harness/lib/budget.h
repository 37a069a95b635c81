/* Performance budgets as deterministic counters: a measured count (memory references, hidden
 * faults, VM exits) against a bound, never wall-clock time. The messages name the counter, the
 * bound and the measured value, so a failing budget says what work was extra. */
#ifndef VLAB_HARNESS_BUDGET_H
#define VLAB_HARNESS_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A budget over many samples (walks, instructions, runs), each with its own bound, e.g. "the
 * student's reads for this walk <= the oracle's reads for the same walk". */
struct vlab_budget {
    const char *counter; /* e.g. "entry reads per walk"; not copied */
    uint64_t samples;
    uint64_t total;       /* sum of measured values */
    uint64_t bound_total; /* sum of bounds */
    uint64_t max_measured;
    uint64_t over; /* samples whose measured value exceeded their bound */
    /* the sample with the largest excess over its bound (valid when over > 0) */
    uint64_t worst_sample, worst_measured, worst_bound;
};

void vlab_budget_init(struct vlab_budget *b, const char *counter);
/* Records the next sample. Returns true when it is over its bound by more than any earlier
 * sample: the caller then keeps whatever describes it (seed, step, input) for the message. */
bool vlab_budget_add(struct vlab_budget *b, uint64_t measured, uint64_t bound);
static inline bool vlab_budget_ok(const struct vlab_budget *b) {
    return b->over == 0;
}
/* "entry reads per walk: 80312 in total (bound 80000) over 20000 samples, max 4; 12 samples
 * over their bound, worst: sample 1234 measured 8 > bound 4". Returns buf. */
const char *vlab_budget_str(const struct vlab_budget *b, char *buf, size_t len);

/* A single measurement: true if measured <= bound; otherwise *msg says
 * "<counter>: measured M > bound B". */
bool vlab_budget_check(const char *counter, uint64_t measured, uint64_t bound, char *msg,
                       size_t len);

/* Criterion assertions (include <criterion/criterion.h> first). why: what the student should
 * read, e.g. "(handout §6 Memory references)". */
#define vlab_assert_budget(counter, measured, bound, why)                                          \
    do {                                                                                           \
        char vlab_budget_msg_[256];                                                                \
        bool vlab_budget_ok_ = vlab_budget_check((counter), (measured), (bound), vlab_budget_msg_, \
                                                 sizeof vlab_budget_msg_);                         \
        cr_assert(vlab_budget_ok_, "budget exceeded: %s %s", vlab_budget_msg_, (why));             \
    } while (0)
#define vlab_assert_budget_ok(b, why)                                                              \
    do {                                                                                           \
        char vlab_budget_msg_[512];                                                                \
        cr_assert(vlab_budget_ok(b), "budget exceeded: %s %s",                                     \
                  vlab_budget_str((b), vlab_budget_msg_, sizeof vlab_budget_msg_), (why));         \
    } while (0)

#endif
