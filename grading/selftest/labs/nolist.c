/* Dies before Criterion's main runs, so it cannot even list its tests. */
#include <criterion/criterion.h>
#include <stdlib.h>

__attribute__((constructor)) static void die_early(void) {
    abort();
}

Test(nolist, never_runs) {
    cr_assert(1);
}
Test(nolist, never_runs_either) {
    cr_assert(1);
}
