/* Task 1 (§2): translating blocks of safe instructions and direct branches, compared with the
 * oracle on guests that compute, recurse and branch indirectly. */
#include "dbt_test.h"

static void diff_guest(const char *name, const char *sec) {
    struct dbt_vm_config cfg = {.guest = name};
    struct dbt_pair p;
    dbt_t_pair(&p, &cfg, sec);
    dbt_t_close(&p);
}

Test(dbt, translate_compute, .timeout = DBT_TIMEOUT) {
    diff_guest("compute", SEC_TRANSLATE);
}

Test(dbt, translate_recursion, .timeout = DBT_TIMEOUT) {
    diff_guest("recursion", SEC_EXITS);
}

/* indirect: jump tables, calls through registers and memory, ret $n, loop, jecxz. branchedge:
 * the edges students miss (handout §4): a call to guest address 0, calls through ESP-relative
 * memory, loope/loopne/jcxz leaving the block, jcc rel32, every flag across the lookup routine,
 * more hot indirect targets than the lookup table has slots, call/jmp through each register and
 * through (%reg). */
Test(dbt, translate_indirect, .timeout = DBT_TIMEOUT) {
    diff_guest("indirect", SEC_EXITS);
    diff_guest("branchedge", SEC_EXITS);
}
