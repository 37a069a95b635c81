#include "budget.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void vlab_budget_init(struct vlab_budget *b, const char *counter) {
    memset(b, 0, sizeof *b);
    b->counter = counter ? counter : "counter";
}

bool vlab_budget_add(struct vlab_budget *b, uint64_t measured, uint64_t bound) {
    uint64_t sample = b->samples++;
    b->total += measured;
    b->bound_total += bound;
    if (measured > b->max_measured) b->max_measured = measured;
    if (measured <= bound) return false;
    bool worst = b->over == 0 || measured - bound > b->worst_measured - b->worst_bound;
    b->over++;
    if (worst) {
        b->worst_sample = sample;
        b->worst_measured = measured;
        b->worst_bound = bound;
    }
    return worst;
}

const char *vlab_budget_str(const struct vlab_budget *b, char *buf, size_t len) {
    int n = snprintf(buf, len,
                     "%s: %" PRIu64 " in total (bound %" PRIu64 ") over %" PRIu64
                     " samples, max %" PRIu64 " in one sample",
                     b->counter, b->total, b->bound_total, b->samples, b->max_measured);
    if (b->over && n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n,
                 "; %" PRIu64 " samples over their bound, worst: sample %" PRIu64
                 " measured %" PRIu64 " > bound %" PRIu64,
                 b->over, b->worst_sample, b->worst_measured, b->worst_bound);
    return buf;
}

bool vlab_budget_check(const char *counter, uint64_t measured, uint64_t bound, char *msg,
                       size_t len) {
    bool ok = measured <= bound;
    snprintf(msg, len, "%s: measured %" PRIu64 " %s bound %" PRIu64, counter, measured,
             ok ? "<=" : ">", bound);
    return ok;
}
