/* Task 6 (§8): self-modifying code. The guest patches an immediate in a function it keeps
 * calling, and JIT-writes different instructions into the same buffer between calls; every
 * stale CCF (and every chain into one) must be gone before the new code runs. */
#include "dbt_test.h"

static void smc_pair(uint32_t tc_size) {
    struct dbt_vm_config cfg = {.guest = "smc", .tc_size = tc_size};
    struct dbt_pair p;
    dbt_t_pair(&p, &cfg, SEC_SMC);
    /* sum of 100..119: the patched immediate, one more each call */
    cr_assert_eq(dbt_t_word(p.dbt, 0x8000), 2190,
                 "expected the patched function to return "
                 "100, 101, ... 119 (sum 2190), the guest summed %u %s",
                 dbt_t_word(p.dbt, 0x8000), SEC_SMC);
    cr_assert_gt(p.dbt->st.invalidations, 0,
                 "expected writes to translated code to call "
                 "dbt_invalidate: watch the pages your CCFs come from with dbt_watch_page %s",
                 SEC_SMC);
    dbt_t_close(&p);
}

Test(dbt, smc_patch_and_jit, .timeout = DBT_TIMEOUT) {
    smc_pair(0);
}

Test(dbt, smc_small_tc, .timeout = DBT_TIMEOUT) {
    smc_pair(1024);
}
