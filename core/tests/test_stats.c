#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vlab/err.h"
#include "vlab/stats.h"

Test(core, stats_counter_find_or_create) {
    struct vlab_stats s;
    memset(&s, 0xab, sizeof s);
    vlab_stats_init(&s);
    cr_assert_eq(s.n, 0, "expected no counters after init, got %u", s.n);
    uint64_t *a = vlab_stats_counter(&s, "exits");
    cr_assert_not_null(a, "expected a counter");
    cr_assert_eq(*a, 0, "expected a new counter at 0, got %llu", (unsigned long long)*a);
    *a += 3;
    static char copy[] = "exits"; /* same name, different pointer */
    cr_assert_eq(vlab_stats_counter(&s, copy), a, "expected the same counter for an equal name");
    cr_assert_eq(s.n, 1, "expected 1 counter, got %u", s.n);
    cr_assert_eq(vlab_stats_get(&s, "exits"), 3, "expected 3, got %llu",
                 (unsigned long long)vlab_stats_get(&s, "exits"));
    cr_assert_eq(vlab_stats_get(&s, "never"), 0, "expected 0 for an unknown counter");
    cr_assert_eq(s.n, 1, "expected get not to create counters, got %u", s.n);
    cr_assert_null(vlab_stats_counter(NULL, "x"), "expected NULL for NULL stats");
    cr_assert_null(vlab_stats_counter(&s, NULL), "expected NULL for a NULL name");
}

Test(core, stats_add_and_reset) {
    struct vlab_stats s;
    vlab_stats_init(&s);
    cr_assert_eq(vlab_stats_add(&s, "faults", 2), VLAB_OK, "expected add OK");
    cr_assert_eq(vlab_stats_add(&s, "walks", 10), VLAB_OK, "expected add OK");
    cr_assert_eq(vlab_stats_add(&s, "faults", 5), VLAB_OK, "expected add OK");
    cr_assert_eq(vlab_stats_get(&s, "faults"), 7, "expected 7, got %llu",
                 (unsigned long long)vlab_stats_get(&s, "faults"));
    vlab_stats_reset(&s);
    cr_assert_eq(s.n, 2, "expected names kept after reset, got %u", s.n);
    cr_assert_eq(vlab_stats_get(&s, "walks"), 0, "expected 0 after reset");
    cr_assert_str_eq(s.v[0].name, "faults", "expected creation order kept, got %s", s.v[0].name);
    cr_assert_eq(vlab_stats_add(NULL, "x", 1), VLAB_EINVAL, "expected EINVAL for NULL stats");
}

Test(core, stats_full_table) {
    static char names[VLAB_STATS_MAX + 1]
                     [16]; /* room for any int: the sanitizer build sees the whole range */
    struct vlab_stats s;
    vlab_stats_init(&s);
    for (int i = 0; i < VLAB_STATS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "c%d", i);
        cr_assert_eq(vlab_stats_add(&s, names[i], (uint64_t)i), VLAB_OK, "counter %d: expected OK",
                     i);
    }
    snprintf(names[VLAB_STATS_MAX], sizeof names[0], "extra");
    cr_assert_null(vlab_stats_counter(&s, names[VLAB_STATS_MAX]), "expected NULL when full");
    int rc = vlab_stats_add(&s, names[VLAB_STATS_MAX], 1);
    cr_assert_eq(rc, VLAB_ENOMEM, "expected ENOMEM when full, got %d", rc);
    rc = vlab_stats_add(&s, "c63", 1);
    cr_assert_eq(rc, VLAB_OK, "expected an existing counter still usable, got %d", rc);
    cr_assert_eq(vlab_stats_get(&s, "c63"), 64, "expected 64, got %llu",
                 (unsigned long long)vlab_stats_get(&s, "c63"));
    cr_assert_eq(s.n, VLAB_STATS_MAX, "expected %d counters, got %u", VLAB_STATS_MAX, s.n);
}

Test(core, stats_print) {
    struct vlab_stats s;
    vlab_stats_init(&s);
    vlab_stats_add(&s, "b", 2);
    vlab_stats_add(&s, "a", 18446744073709551615ull);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f, "expected a memstream");
    vlab_stats_print(&s, f);
    fclose(f);
    cr_assert_str_eq(buf, "b 2\na 18446744073709551615\n", "expected creation order, got \"%s\"",
                     buf);
    free(buf);
    vlab_stats_print(&s, NULL); /* must not crash */
}

Test(core, stats_median_u64) {
    uint64_t odd[] = {9, 1, 5, 3, 7};
    cr_assert_eq(vlab_median_u64(odd, 5), 5, "expected 5, got %llu",
                 (unsigned long long)vlab_median_u64(odd, 5));
    cr_assert_eq(odd[0], 9, "expected the input left unsorted, got odd[0]=%llu",
                 (unsigned long long)odd[0]);
    uint64_t even[] = {10, 2, 40, 4};
    cr_assert_eq(vlab_median_u64(even, 4), 7, "expected (4+10)/2 = 7, got %llu",
                 (unsigned long long)vlab_median_u64(even, 4));
    uint64_t big[] = {UINT64_MAX, UINT64_MAX - 2};
    cr_assert_eq(vlab_median_u64(big, 2), UINT64_MAX - 1, "expected no overflow, got %llu",
                 (unsigned long long)vlab_median_u64(big, 2));
    uint64_t one = 42;
    cr_assert_eq(vlab_median_u64(&one, 1), 42, "expected 42 for one value");
    cr_assert_eq(vlab_median_u64(odd, 0), 0, "expected 0 for n == 0");
    cr_assert_eq(vlab_median_u64(NULL, 3), 0, "expected 0 for NULL");
}

Test(core, stats_median_double) {
    double odd[] = {3.5, -1.0, 2.0};
    cr_assert_float_eq(vlab_median_double(odd, 3), 2.0, 1e-12, "expected 2.0, got %g",
                       vlab_median_double(odd, 3));
    double even[] = {1.0, 4.0, 2.0, 3.0};
    cr_assert_float_eq(vlab_median_double(even, 4), 2.5, 1e-12, "expected 2.5, got %g",
                       vlab_median_double(even, 4));
    cr_assert_float_eq(even[1], 4.0, 1e-12, "expected the input left unsorted");
    cr_assert_float_eq(vlab_median_double(even, 0), 0.0, 0, "expected 0 for n == 0");
}

Test(core, stats_now_ns_monotonic) {
    uint64_t t0 = vlab_now_ns();
    struct timespec d = {0, 2000000};
    nanosleep(&d, NULL);
    uint64_t t1 = vlab_now_ns();
    cr_assert_geq(t1 - t0, 2000000, "expected at least 2 ms to pass, got %llu ns",
                  (unsigned long long)(t1 - t0));
    cr_assert_lt(t1 - t0, 10000000000ull, "expected well under 10 s, got %llu ns",
                 (unsigned long long)(t1 - t0));
}
