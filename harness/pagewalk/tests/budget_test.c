/* Memory-reference budgets: the entry reads and write-backs of each walk, bounded by what the
 * oracle needs for the same walk. Extra references are what makes a software walk slow (in a
 * VMM each one can be a cache miss or a trip through the guest's memory map). */
#include "pw_test.h"

#include <stdio.h>

#define RD  VLAB_ACC_READ
#define WR  VLAB_ACC_WRITE
#define RWU (X86_PTE_RW | X86_PTE_US)
#define VA  0x0000008080604000ull

Test(pagewalk, budget_memrefs_per_walk, .timeout = PW_TIMEOUT) {
    struct pw_diff_stats st;
    /* Correct results first: a budget only means something for a walk that is right. */
    pw_diff_run("budget_memrefs_per_walk", &pw_profile_everything, 6, 20000, &st);
    char msg[512];
    cr_assert(vlab_budget_ok(&st.reads), "budget exceeded: %s %s\n  the worst walk:\n%s",
              vlab_budget_str(&st.reads, msg, sizeof msg), PW_SEC_REFS, st.worst_reads);
    cr_assert(vlab_budget_ok(&st.writes), "budget exceeded: %s %s\n  the worst walk:\n%s",
              vlab_budget_str(&st.writes, msg, sizeof msg), PW_SEC_REFS, st.worst_writes);
}

/* Both counts of the last walk against their bounds, with the walk in the message. */
static void expect_refs(struct pw_env *e, const char *what, uint64_t max_reads,
                        uint64_t max_writes) {
    char r[160], w[160], ctx[2048];
    bool ok_r = vlab_budget_check("entry reads", e->m.reads, max_reads, r, sizeof r);
    bool ok_w = vlab_budget_check("write-backs", e->m.writes, max_writes, w, sizeof w);
    cr_assert(ok_r && ok_w, "budget exceeded for %s: %s, %s %s\n%s", what, r, w, PW_SEC_REFS,
              pw_env_context(e, ctx, sizeof ctx));
}

Test(pagewalk, budget_memrefs_single_walk, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA, 0x4400000ull, X86_PAGE_SIZE, RWU);
    const uint64_t pte = pw_env_slot(&e, VA, 1), pte_val = pw_env_peek(&e, pte);
    pw_expect_ok(&e, VA, WR, 0x4400000ull, X86_PAGE_SIZE, PW_SEC_WALK, "first write to a page");
    /* A budget counts only for a walk that does all its work: A/D first. */
    pw_expect_entry(&e, pte, pte_val | X86_PTE_A | X86_PTE_D, PW_SEC_AD,
                    "the first write to a page sets A and D in its PTE");
    expect_refs(&e, "the first write to a 4 KiB page (4 entries, each needs A; the PTE also D)", 4,
                4);
    pw_expect_ok(&e, VA, RD, 0x4400000ull, X86_PAGE_SIZE, PW_SEC_WALK, "read after the write");
    expect_refs(&e, "a read after that write (A is set everywhere now)", 4, 0);
    pw_expect_pf(&e, VA + X86_PAGE_1G, RD, 0, 3, PW_SEC_NP, "read through an empty PDPT slot");
    expect_refs(&e, "a read that stops at an empty PDPTE", 2, 0);
    pw_env_fini(&e);
}
