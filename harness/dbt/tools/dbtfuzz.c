/* dbtfuzz: random guests (harness/dbt/dbt_gen.c) through the translator against the oracle.
 *   build/<sol>/dbt/dbtfuzz [SEEDS [FIRST [ITEMS]]]     defaults: 10000 1 120
 * Each seed runs with the default TC, every fourth also with a 1 KiB TC. On the first
 * difference it prints the seed, the difference, and the guest minimized to the fewest items
 * that still differ, and exits 1. Not graded (the tests run their own seeds); `make bench
 * LAB=dbt` does not run it either: it takes minutes. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dbt_gen.h"
#include "vlab/stats.h"

int main(int argc, char **argv) {
    unsigned long long seeds = argc > 1 ? strtoull(argv[1], NULL, 0) : 10000;
    unsigned long long first = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    unsigned items = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 0) : 120;
    static struct dbt_gen g;
    char why[4096];
    uint64_t t0 = vlab_now_ns(), runs = 0;
    for (unsigned long long s = first; s < first + seeds; s++) {
        dbt_gen_random(&g, s, items);
        for (int small = 0; small <= (s % 4 == 0); small++) {
            uint32_t tc = small ? 1024 : 0;
            int rc = dbt_gen_check(&g, tc, why, sizeof why);
            runs++;
            if (rc == 0) continue;
            printf("seed %llu (TC %s): %s\n", s, small ? "1 KiB" : "default", why);
            if (rc < 0) return 2;
            unsigned left = dbt_gen_minimize(&g, tc, 0);
            dbt_gen_check(&g, tc, why, sizeof why);
            printf("minimized to %u items: %s\n", left, why);
            dbt_gen_print(&g, stdout);
            return 1;
        }
        if ((s - first + 1) % 1000 == 0) {
            printf("%llu seeds, %llu runs, 0 differences, %.1f s\n", s - first + 1,
                   (unsigned long long)runs, (double)(vlab_now_ns() - t0) / 1e9);
            fflush(stdout);
        }
    }
    printf("%llu seeds (%llu .. %llu), %llu runs, 0 differences, %.1f s\n", seeds, first,
           first + seeds - 1, (unsigned long long)runs, (double)(vlab_now_ns() - t0) / 1e9);
    return 0;
}
