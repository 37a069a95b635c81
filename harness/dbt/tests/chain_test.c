/* Task 5 (§7): chaining. Once both ends of a direct branch are translated, the CCFs jump to
 * each other without the dispatcher: in a loop-heavy guest the dispatcher is entered for a
 * tiny fraction of the guest's instructions. Deterministic counters, no time. */
#include "dbt_test.h"

Test(dbt, chain_dispatch_budget, .timeout = DBT_TIMEOUT) {
    struct dbt_vm_config cfg = {.guest = "compute", .no_ram_hash = true};
    struct dbt_vm *o = dbt_t_oracle(&cfg);
    struct dbt_vm *d = dbt_t_translated(&cfg, SEC_CHAIN);
    /* The compute guest's blocks are 5 to 15 instructions: one entry per 1,000 instructions is
     * under 1.5 % of the blocks it runs. */
    vlab_assert_budget("dispatcher entries (bound: guest instructions / 1000)", d->st.dispatches,
                       o->st.guest_insns / 1000, SEC_CHAIN);
    dbt_vm_close(o);
    dbt_vm_close(d);
}

Test(dbt, chain_vs_unchained, .timeout = DBT_TIMEOUT) {
    const char *guests[] = {"compute", "recursion"};
    for (size_t i = 0; i < sizeof guests / sizeof guests[0]; i++) {
        struct dbt_vm_config cfg = {.guest = guests[i], .no_ram_hash = true};
        struct dbt_vm *d = dbt_t_translated(&cfg, SEC_CHAIN);
        cfg.no_chain = true;
        struct dbt_vm *u = dbt_t_translated(&cfg, SEC_CHAIN);
        cr_assert_gt(d->st.chain_requests, 0,
                     "guest %s: expected chainable exits (exit_stub "
                     "set) to reach the dispatcher, none did %s",
                     guests[i], SEC_CHAIN);
        char what[128];
        snprintf(what, sizeof what,
                 "guest %s: dispatcher entries with chaining (bound: half "
                 "of the %llu without)",
                 guests[i], (unsigned long long)u->st.dispatches);
        vlab_assert_budget(what, d->st.dispatches, u->st.dispatches / 2, SEC_CHAIN);
        dbt_vm_close(d);
        dbt_vm_close(u);
    }
}

/* Returns and indirect jumps/calls cannot be chained (the target changes), but the lookup
 * table in the TC (§4.3) finds most of them without the dispatcher. */
Test(dbt, chain_indirect_budget, .timeout = DBT_TIMEOUT) {
    const char *guests[] = {"recursion", "indirect"};
    for (size_t i = 0; i < sizeof guests / sizeof guests[0]; i++) {
        struct dbt_vm_config cfg = {.guest = guests[i], .no_ram_hash = true};
        struct dbt_vm *o = dbt_t_oracle(&cfg);
        struct dbt_vm *d = dbt_t_translated(&cfg, SEC_EXITS);
        char what[128];
        snprintf(what, sizeof what,
                 "guest %s: dispatcher entries (bound: guest instructions / "
                 "50 = %llu)",
                 guests[i], (unsigned long long)(o->st.guest_insns / 50));
        vlab_assert_budget(what, d->st.dispatches, o->st.guest_insns / 50,
                           "(handout §4.3 Indirect branches: the lookup table)");
        dbt_vm_close(o);
        dbt_vm_close(d);
    }
}
