/* Task 6 (§8): self-modifying code. The guest patches an immediate in a function it keeps
 * calling, and JIT-writes different instructions into the same buffer between calls; every
 * stale CCF (and every chain into one) must be gone before the new code runs. */
#include "dbt_test.h"
#include "dbt_gen.h"

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

/* Many blocks from one patched page: each round patches all of them, and every CCF of the page
 * must go, not only the first found or those heading their bucket of the lookup table. */
static void many_pair(uint32_t tc_size) {
    struct dbt_vm_config cfg = {.guest = "smcmany", .tc_size = tc_size};
    struct dbt_pair p;
    dbt_t_pair(&p, &cfg, SEC_SMC);
    /* (a 1 KiB TC is flushed long before the patching: nothing translated is left to invalidate) */
    if (!tc_size)
        cr_assert_geq(
            p.dbt->st.invalidations, 3,
            "guest smcmany: expected each of the 3 patching rounds to invalidate the page of "
            "200 translated functions, dbt_invalidate was called %llu times %s",
            (unsigned long long)p.dbt->st.invalidations, SEC_SMC);
    dbt_t_close(&p);
}

Test(dbt, smc_patch_and_jit, .timeout = DBT_TIMEOUT) {
    smc_pair(0);
    many_pair(0);
}

Test(dbt, smc_small_tc, .timeout = DBT_TIMEOUT) {
    smc_pair(1024);
    many_pair(1024);
}

/* Issue 13: data words, buffers and stacks on the pages blocks run from. The store that meets
 * the write-protected page must land, whatever instruction makes it. */
static void code_data_pair(uint32_t tc_size) {
    struct dbt_vm_config cfg = {.guest = "codedata", .tc_size = tc_size};
    struct dbt_pair p;
    p.oracle = dbt_t_oracle(&cfg);
    p.dbt = dbt_t_translated(&cfg, SEC_SMC);
    cr_assert_eq(dbt_t_word(p.dbt, 0x2800), 50,
                 "expected 50 increments of the data word at 0x2800 on the code page 0x2000 "
                 "(oracle: %u), the translated run has %u: a store to a watched page was lost %s",
                 dbt_t_word(p.oracle, 0x2800), dbt_t_word(p.dbt, 0x2800), SEC_SMC);
    char buf[2048];
    const char *diff = dbt_vm_compare(p.oracle, p.dbt, buf, sizeof buf);
    cr_assert_null(diff,
                   "expected the translated run of guest codedata (TC %u bytes) to look exactly "
                   "like the oracle's, but %s %s",
                   tc_size ? tc_size : DBT_TC_MAX, diff, SEC_SMC);
    dbt_t_close(&p);
}

Test(dbt, smc_code_data_page, .timeout = DBT_TIMEOUT) {
    code_data_pair(0);
    code_data_pair(1024);
}

/* Issue 13: a write that changes translated bytes takes effect at the next guest instruction,
 * in the next block, a chained successor, or the running block itself (§8.2). */
static void precise_pair(uint32_t tc_size) {
    struct dbt_vm_config cfg = {.guest = "smcprecise", .tc_size = tc_size};
    struct dbt_pair p;
    p.oracle = dbt_t_oracle(&cfg);
    p.dbt = dbt_t_translated(&cfg, SEC_SMC_PRECISE);
    static const char *const what[] = {
        "a block patching the next page's block and jumping there (chained)",
        "a block patching an immediate further on in itself",
        "a block patching the instruction right after the writing one",
        "a block straddling two pages patching its second half",
        "a push onto the immediate of the next instruction in the block",
        "a function whose immediate the VMM rewrites (an emulated smsw to memory)"};
    for (uint32_t i = 0; i < 6; i++) {
        uint32_t o = dbt_t_word(p.oracle, 0x8010 + 4 * i), d = dbt_t_word(p.dbt, 0x8010 + 4 * i);
        cr_assert_eq(d, o,
                     "%s (TC %u bytes): expected the sum %u the oracle's guest computed with "
                     "each new instruction, the translated guest computed %u: stale code ran %s",
                     what[i], tc_size ? tc_size : DBT_TC_MAX, o, d, SEC_SMC_PRECISE);
    }
    char buf[2048];
    const char *diff = dbt_vm_compare(p.oracle, p.dbt, buf, sizeof buf);
    cr_assert_null(diff,
                   "expected the translated run of guest smcprecise to look exactly like the "
                   "oracle's, but %s %s",
                   diff, SEC_SMC_PRECISE);
    dbt_t_close(&p);
}

Test(dbt, smc_precise, .timeout = DBT_TIMEOUT) {
    precise_pair(0);
    precise_pair(1024);
}

/* Issue 13: random guests that mix everything the lab claims to handle (harness/dbt/dbt_gen.c):
 * safe instructions, cli/sti/pushf/popf, timer interrupts, data words and a stack on code
 * pages, stores patching instructions further on in the block, in later and earlier blocks
 * and on other pages, jump tables, calls with computed return addresses, blocks straddling
 * pages. A failure names the seed and shows the guest minimized to the items that differ;
 * build/<sol>/dbt/dbtfuzz SEEDS FIRST runs more. */
#define RANDOM_SEEDS 100

Test(dbt, smc_random_guests, .timeout = DBT_TIMEOUT) {
    static struct dbt_gen g;
    char why[2048];
    uint64_t stops = 0, irqs = 0;
    for (uint64_t run = 0; run < RANDOM_SEEDS * 5 / 4; run++) {
        /* each seed with the default TC, every fourth also with a 1 KiB one (as dbtfuzz) */
        uint64_t seed = run < RANDOM_SEEDS ? run + 1 : 4 * (run - RANDOM_SEEDS + 1);
        uint32_t tc = run < RANDOM_SEEDS ? 0 : 1024;
        dbt_gen_random(&g, seed, 120);
        int rc = dbt_gen_check(&g, tc, why, sizeof why);
        cr_assert_neq(rc, -1, "random guest seed %llu: %s (a harness problem)",
                      (unsigned long long)seed, why);
        if (rc) {
            char first[2048];
            snprintf(first, sizeof first, "%s", why);
            unsigned left = dbt_gen_minimize(&g, tc, 8.0); /* the test has 20 s */
            char *listing = NULL;
            size_t size = 0;
            FILE *f = open_memstream(&listing, &size);
            if (f) dbt_gen_print(&g, f), fclose(f);
            cr_assert_fail("random guest seed %llu (TC %s): expected the translated run to look "
                           "exactly like the oracle's, but %s\nminimized to %u items:\n%s %s",
                           (unsigned long long)seed, tc ? "1 KiB" : "default", first, left,
                           listing ? listing : "", SEC_SMC_PRECISE);
        }
        stops += dbt_gen_last_smc_stops, irqs += dbt_gen_last_irqs;
    }
    cr_assert_gt(stops, RANDOM_SEEDS,
                 "expected the random guests to change code they run, the "
                 "harness stopped CCFs %llu times (a harness problem)",
                 (unsigned long long)stops);
    cr_assert_gt(irqs, RANDOM_SEEDS,
                 "expected the random guests to take timer interrupts, the "
                 "oracle took %llu (a harness problem)",
                 (unsigned long long)irqs);
}
