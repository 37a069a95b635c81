#include "vlab/stats.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vlab/err.h"

void vlab_stats_init(struct vlab_stats *s) {
    if (s) memset(s, 0, sizeof *s);
}

static struct vlab_stat *find(const struct vlab_stats *s, const char *name) {
    unsigned n = s->n < VLAB_STATS_MAX ? s->n : VLAB_STATS_MAX;
    for (unsigned i = 0; i < n; i++)
        if (s->v[i].name && strcmp(s->v[i].name, name) == 0) return (struct vlab_stat *)&s->v[i];
    return NULL;
}

uint64_t *vlab_stats_counter(struct vlab_stats *s, const char *name) {
    if (!s || !name) return NULL;
    struct vlab_stat *st = find(s, name);
    if (st) return &st->value;
    if (s->n >= VLAB_STATS_MAX) return NULL;
    st = &s->v[s->n++];
    st->name = name;
    st->value = 0;
    return &st->value;
}

int vlab_stats_add(struct vlab_stats *s, const char *name, uint64_t delta) {
    if (!s || !name) return VLAB_EINVAL;
    uint64_t *c = vlab_stats_counter(s, name);
    if (!c) return VLAB_ENOMEM;
    *c += delta;
    return VLAB_OK;
}

uint64_t vlab_stats_get(const struct vlab_stats *s, const char *name) {
    if (!s || !name) return 0;
    const struct vlab_stat *st = find(s, name);
    return st ? st->value : 0;
}

void vlab_stats_reset(struct vlab_stats *s) {
    if (!s) return;
    for (unsigned i = 0; i < s->n && i < VLAB_STATS_MAX; i++)
        s->v[i].value = 0;
}

void vlab_stats_print(const struct vlab_stats *s, FILE *out) {
    if (!s || !out) return;
    for (unsigned i = 0; i < s->n && i < VLAB_STATS_MAX; i++)
        fprintf(out, "%s %llu\n", s->v[i].name, (unsigned long long)s->v[i].value);
}

uint64_t vlab_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* NaNs sort last so the comparator stays a total order (qsort's requirement). */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    int xn = x != x, yn = y != y;
    if (xn || yn) return xn - yn;
    return (x > y) - (x < y);
}

uint64_t vlab_median_u64(const uint64_t *v, size_t n) {
    if (!v || n == 0 || n > SIZE_MAX / sizeof(uint64_t)) return 0;
    uint64_t *c = malloc(n * sizeof *c);
    if (!c) return 0;
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_u64);
    uint64_t r;
    if (n % 2) {
        r = c[n / 2];
    } else {
        uint64_t a = c[n / 2 - 1], b = c[n / 2];
        r = a / 2 + b / 2 + (a & b & 1); /* (a + b) / 2 without overflow */
    }
    free(c);
    return r;
}

double vlab_median_double(const double *v, size_t n) {
    if (!v || n == 0 || n > SIZE_MAX / sizeof(double)) return 0;
    double *c = malloc(n * sizeof *c);
    if (!c) return 0;
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    double r = n % 2 ? c[n / 2] : c[n / 2 - 1] / 2 + c[n / 2] / 2;
    free(c);
    return r;
}
