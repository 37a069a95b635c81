/* Task 2 (§3): sensitive instructions. cli/sti/pushf/popf inline on the virtual EFLAGS, the
 * others exit to the VMM; none of them may ever run natively. */
#include "dbt_test.h"

Test(dbt, sensitive_timer_cli_sti, .timeout = DBT_TIMEOUT) {
    struct dbt_vm_config cfg = {.guest = "timer"};
    struct dbt_pair p;
    dbt_t_pair(&p, &cfg, SEC_IRQ);
    uint32_t bad = dbt_t_word(p.dbt, 0x8008), ticks = dbt_t_word(p.dbt, 0x8004);
    cr_assert_eq(bad, 0,
                 "expected no timer interrupt inside a cli/sti critical section, the "
                 "guest counted %u %s",
                 bad, SEC_IRQ);
    cr_assert_gt(ticks, 100, "expected the guest to take its timer interrupts, it took %u %s",
                 ticks, SEC_IRQ);
    dbt_t_close(&p);
}

Test(dbt, sensitive_pushf_popf, .timeout = DBT_TIMEOUT) {
    struct dbt_vm_config cfg = {.guest = "pushf"};
    struct dbt_pair p;
    dbt_t_pair(&p, &cfg, SEC_SENSITIVE);
    cr_assert_eq(dbt_t_word(p.dbt, 0x8004), 0,
                 "expected pushf after cli to show IF = 0, the "
                 "guest saw it set (sum %#x) %s",
                 dbt_t_word(p.dbt, 0x8004), SEC_SENSITIVE);
    cr_assert_eq(dbt_t_word(p.dbt, 0x8014), 0x3000,
                 "expected pushf to show the IOPL popf set "
                 "(0x3000), got %#x %s",
                 dbt_t_word(p.dbt, 0x8014), SEC_SENSITIVE);
    dbt_t_close(&p);
}

Test(dbt, sensitive_uart_io, .timeout = DBT_TIMEOUT) {
    struct dbt_vm_config cfg = {.guest = "uart", .uart_input = DBT_T_UART_INPUT};
    struct dbt_pair p;
    dbt_t_pair(&p, &cfg, SEC_EXITS);
    cr_assert(strstr(p.dbt->uart.out, "TRANSLATE ME, PLEASE") != NULL,
              "expected the guest to echo its input in upper case, the UART got \"%s\" %s",
              p.dbt->uart.out, SEC_EXITS);
    dbt_t_close(&p);
}

Test(dbt, sensitive_sysregs, .timeout = DBT_TIMEOUT) {
    struct dbt_vm_config cfg = {.guest = "sysregs"};
    struct dbt_pair p;
    dbt_t_pair(&p, &cfg, SEC_SENSITIVE);
    cr_assert_eq(p.dbt->end.cr3, 0x456000,
                 "expected the virtual CR3 the guest loaded "
                 "(0x456000), got %#x %s",
                 p.dbt->end.cr3, SEC_SENSITIVE);
    dbt_t_close(&p);
}

Test(dbt, sensitive_syscall, .timeout = DBT_TIMEOUT) {
    struct dbt_vm_config cfg = {.guest = "syscall"};
    struct dbt_pair p;
    dbt_t_pair(&p, &cfg, SEC_EXITS);
    cr_assert_eq(dbt_t_word(p.dbt, 0x8000), 2000,
                 "expected 2000 system calls, the guest "
                 "counted %u %s",
                 dbt_t_word(p.dbt, 0x8000), SEC_EXITS);
    dbt_t_close(&p);
}

/* Adaptive translation: the four flag instructions never cost an exit. */
Test(dbt, sensitive_inline_flags, .timeout = DBT_TIMEOUT) {
    const char *guests[] = {"timer", "pushf"};
    for (size_t i = 0; i < 2; i++) {
        struct dbt_vm_config cfg = {.guest = guests[i]};
        struct dbt_vm *d = dbt_t_translated(&cfg, SEC_SENSITIVE);
        vlab_assert_budget("VMM exits for cli/sti/pushf/popf", d->st.exits_flags, 0,
                           "(handout §3.2: they are inline sequences on the virtual EFLAGS)");
        dbt_vm_close(d);
    }
}

/* No sensitive instruction in any CCF, and the real CPU's IF, IOPL, CR3, GDTR and IDTR keep the
 * sentinels the harness set: nothing the guest asked for ran on the real CPU. */
Test(dbt, sensitive_never_native, .timeout = DBT_TIMEOUT) {
    const char *guests[] = {DBT_T_GUESTS};
    for (size_t i = 0; i < sizeof guests / sizeof guests[0]; i++) {
        struct dbt_vm_config cfg = {.guest = guests[i], .uart_input = DBT_T_UART_INPUT};
        struct dbt_vm *d = dbt_t_translated(&cfg, SEC_SENSITIVE);
        cr_assert_eq(d->native[0], 0,
                     "guest %s: expected no sensitive instruction to run "
                     "natively, but %s %s",
                     guests[i], d->native, SEC_SENSITIVE);
        dbt_vm_close(d);
    }
}

/* Issue 13: popf and iret of images with EFLAGS bits the virtual CPU does not model. */
static void unmodelled_flags(uint32_t tc_size) {
    struct dbt_vm_config cfg = {.guest = "flags", .tc_size = tc_size};
    struct dbt_pair p;
    dbt_t_pair(&p, &cfg, SEC_FLAGS);
    static const char *const what[] = {"TF", "NT", "AC", "RF", "VM", "ID", "all of them"};
    for (uint32_t i = 0; i < 14; i++) {
        uint32_t o = dbt_t_word(p.oracle, 0x8000 + 4 * i), d = dbt_t_word(p.dbt, 0x8000 + 4 * i);
        cr_assert_eq(d, o,
                     "expected pushf after %s of an image with %s set to show %#x as on the "
                     "oracle, the translated guest saw %#x %s",
                     i < 7 ? "popf" : "iret", what[i % 7], o, d, SEC_FLAGS);
    }
    /* all of them at once: NT, AC and ID kept, TF, RF and VM dropped */
    uint32_t all = dbt_t_word(p.dbt, 0x8000 + 4 * 6) & 0x274100u;
    cr_assert_eq(all, 0x244000u,
                 "expected pushf after popf of TF|NT|AC|RF|VM|ID to show NT, AC and ID only "
                 "(%#x of those bits), the translated guest saw %#x %s",
                 0x244000u, all, SEC_FLAGS);
    dbt_t_close(&p);
}

Test(dbt, sensitive_unmodelled_flags, .timeout = DBT_TIMEOUT) {
    unmodelled_flags(0);
    unmodelled_flags(1024);
}
