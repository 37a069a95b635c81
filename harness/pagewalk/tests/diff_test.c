/* Differential tests: seeded random page tables, damaged at random, walked 20,000 times per
 * test by your pw_translate and by the oracle on identical copies of guest memory. After every
 * walk the result, error code, fault level and the page tables themselves must be equal. */
#include "pw_test.h"

#define WALKS 20000

/* The profiles are in harness/pagewalk/pw_world.c; each test has its own fixed seed. */
Test(pagewalk, diff_walk, .timeout = PW_TIMEOUT) {
    struct pw_diff_stats st;
    pw_diff_run("diff_walk", &pw_profile_walk, 1, WALKS, &st);
    cr_assert_gt(st.ok, WALKS / 2, "test setup: only %lu successful walks", (unsigned long)st.ok);
}

Test(pagewalk, diff_not_present, .timeout = PW_TIMEOUT) {
    struct pw_diff_stats st;
    pw_diff_run("diff_not_present", &pw_profile_not_present, 2, WALKS, &st);
    cr_assert_gt(st.pf, WALKS / 10, "test setup: only %lu faults", (unsigned long)st.pf);
}

Test(pagewalk, diff_reserved, .timeout = PW_TIMEOUT) {
    struct pw_diff_stats st;
    pw_diff_run("diff_reserved", &pw_profile_reserved, 3, WALKS, &st);
    cr_assert_gt(st.pf, WALKS / 10, "test setup: only %lu faults", (unsigned long)st.pf);
}

Test(pagewalk, diff_permissions, .timeout = PW_TIMEOUT) {
    struct pw_diff_stats st;
    pw_diff_run("diff_permissions", &pw_profile_permissions, 4, WALKS, &st);
    cr_assert_gt(st.pf, WALKS / 10, "test setup: only %lu faults", (unsigned long)st.pf);
}

Test(pagewalk, diff_everything, .timeout = PW_TIMEOUT) {
    struct pw_diff_stats st;
    pw_diff_run("diff_everything", &pw_profile_everything, 5, WALKS, &st);
    cr_assert_gt(st.erange, 0, "test setup: no walk left guest memory");
}
