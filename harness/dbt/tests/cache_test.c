/* Task 4 (§6): the translation cache. Each block translated once (unless flushed or
 * invalidated), a cache much smaller than the guest's code still runs it correctly by
 * flushing, and CCFs stay a bounded multiple of the guest code they translate. */
#include <malloc.h>

#include "dbt_test.h"

static const char *const plain[] = {"compute", "timer",     "pushf",    "uart",
                                    "sysregs", "recursion", "indirect", "syscall"};

Test(dbt, cache_translate_once, .timeout = DBT_TIMEOUT) {
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        struct dbt_vm_config cfg = {.guest = plain[i], .uart_input = DBT_T_UART_INPUT};
        struct dbt_vm *d = dbt_t_translated(&cfg, SEC_CACHE);
        cr_assert_gt(d->st.translations, 0,
                     "guest %s: expected your CCFs reported with "
                     "dbt_report_ccf, none were %s",
                     plain[i], SEC_CACHE);
        cr_assert_eq(d->st.flushes, 0,
                     "guest %s: expected no flush of a 1 MiB cache for a "
                     "guest of a few KiB, got %llu %s",
                     plain[i], (unsigned long long)d->st.flushes, SEC_CACHE);
        vlab_assert_budget("blocks translated again without a flush or invalidation",
                           d->st.retranslations, 0, SEC_CACHE);
        dbt_vm_close(d);
    }
    /* dbt_destroy gives back all that dbt_create took (the decoder's buffers too): a grader or
     * a VMM makes one translator per machine, many in one process. */
    struct dbt_vm_config cfg = {.guest = "compute"};
    struct dbt_vm *vm = dbt_t_open(&cfg);
    struct dbt *first = dbt_create(vm);
    cr_assert_not_null(first, "expected dbt_create to make a translator %s", SEC_CACHE);
    dbt_destroy(first); /* the C library's own first-use allocations happen here */
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 100; i++)
        dbt_destroy(dbt_create(vm));
    struct mallinfo2 after = mallinfo2();
    size_t held0 = before.uordblks + before.hblkhd, held1 = after.uordblks + after.hblkhd;
    cr_assert_lt(held1, held0 + 16384,
                 "expected 100 dbt_create/dbt_destroy pairs to give back their memory, the heap "
                 "held %zu bytes more after them: free the decoder's instruction buffer "
                 "(cs_free), close it (cs_close), free the translator %s",
                 held1 > held0 ? held1 - held0 : 0, SEC_CACHE);
    dbt_vm_close(vm);
}

/* 1 KiB of TC: far less than the guests' translated code, so the cache fills and
 * flushes over and over, and every chain made before a flush must be forgotten. */
Test(dbt, cache_small_tc, .timeout = DBT_TIMEOUT) {
    const char *guests[] = {"compute", "recursion", "indirect", "timer", "pushf", "longblock"};
    for (size_t i = 0; i < sizeof guests / sizeof guests[0]; i++) {
        struct dbt_vm_config cfg = {.guest = guests[i], .tc_size = 1024};
        struct dbt_pair p;
        dbt_t_pair(&p, &cfg, SEC_CACHE);
        cr_assert_gt(p.dbt->st.flushes, 0,
                     "guest %s with a 1 KiB TC: expected the cache to "
                     "fill and be flushed with dbt_tc_flush, it never was %s",
                     guests[i], SEC_CACHE);
        dbt_t_close(&p);
    }
}

Test(dbt, cache_ccf_bytes, .timeout = DBT_TIMEOUT) {
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        struct dbt_vm_config cfg = {.guest = plain[i], .uart_input = DBT_T_UART_INPUT};
        struct dbt_vm *d = dbt_t_translated(&cfg, SEC_CACHE);
        cr_assert_gt(d->st.guest_bytes, 0, "guest %s: expected CCFs reported %s", plain[i],
                     SEC_CACHE);
        /* Every block decodes at least one instruction, the one it exits for included. */
        cr_assert_eq(d->st.empty_ccfs, 0,
                     "guest %s: expected every CCF reported with the guest bytes it was "
                     "translated from, the sensitive instruction it exits for included, got %llu "
                     "with guest_len 0, the first for guest pc %#x (handout §2 step 5)",
                     plain[i], (unsigned long long)d->st.empty_ccfs, d->st.empty_ccf_pc);
        char what[96];
        snprintf(what, sizeof what, "guest %s: CCF bytes (bound: 12 per guest byte)", plain[i]);
        vlab_assert_budget(what, d->st.ccf_bytes, 12 * d->st.guest_bytes, SEC_CACHE);
        dbt_vm_close(d);
    }
}
