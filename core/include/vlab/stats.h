/* Deterministic counters (the currency of every performance budget) and the small amount of
 * statistics benchmarks need: medians, never means, and a monotonic clock. */
#ifndef VLAB_STATS_H
#define VLAB_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VLAB_STATS_MAX 64

struct vlab_stat {
    const char *name; /* not copied: pass string literals */
    uint64_t value;
};

struct vlab_stats {
    struct vlab_stat v[VLAB_STATS_MAX];
    unsigned n;
};

void vlab_stats_init(struct vlab_stats *s);
/* Finds or creates the counter; NULL when VLAB_STATS_MAX counters already exist. */
uint64_t *vlab_stats_counter(struct vlab_stats *s, const char *name);
/* Returns VLAB_OK or VLAB_ENOMEM (table full). */
int vlab_stats_add(struct vlab_stats *s, const char *name, uint64_t delta);
/* 0 for a counter never touched. */
uint64_t vlab_stats_get(const struct vlab_stats *s, const char *name);
void vlab_stats_reset(struct vlab_stats *s); /* zero every value, keep names */
/* "name value" lines, in creation order. */
void vlab_stats_print(const struct vlab_stats *s, FILE *out);

uint64_t vlab_now_ns(void); /* CLOCK_MONOTONIC */
/* Median of n values (sorts a copy; the average of the middle two when n is even); 0 if n == 0. */
uint64_t vlab_median_u64(const uint64_t *v, size_t n);
double vlab_median_double(const double *v, size_t n);

#endif
