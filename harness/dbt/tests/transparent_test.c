/* Task 3 (§5): the guest never sees a translation-cache or VMM-page address: not in a register
 * at any I/O instruction or at the end, not in its memory at the end (where a return address a
 * translator pushed, or a stack slot it used, would stay). Checked before the full comparison,
 * so the message names the leak rather than just a difference. */
#include "dbt_test.h"

Test(dbt, transparent_no_vmm_address, .timeout = DBT_TIMEOUT) {
    const char *guests[] = {DBT_T_GUESTS};
    for (size_t i = 0; i < sizeof guests / sizeof guests[0]; i++) {
        struct dbt_vm_config cfg = {.guest = guests[i], .uart_input = DBT_T_UART_INPUT};
        struct dbt_vm *o = dbt_t_oracle(&cfg);
        struct dbt_vm *d = dbt_t_translated(&cfg, SEC_TRANSP);
        char buf[512];
        const char *leak = dbt_vm_leak(o, d, buf, sizeof buf);
        cr_assert_null(leak,
                       "guest %s: expected no TC or VMM-page address where the guest can "
                       "see it, but %s %s",
                       guests[i], leak, SEC_TRANSP);
        dbt_vm_close(o);
        dbt_vm_close(d);
    }
}
