/* Task 3 (§4): the guest's accessed and dirty bits, emulated: A on every guest entry used when
 * a shadow entry is filled, D on the first write (clean pages are read-only in the shadow). */
#include "sh_test.h"

#include <inttypes.h>
#include <stdio.h>

#define UR  VLAB_ACC_USER
#define UW  (VLAB_ACC_USER | VLAB_ACC_WRITE)
#define URW (X86_PTE_P | X86_PTE_RW | X86_PTE_US)
#define VA  0x0000004000201000ull

static void path(struct sh_env *e, uint64_t gva, uint64_t g[4]) {
    for (int l = 4; l >= 1; l--)
        vlab_pt_entry_gpa(&e->vm->gmem, e->pml4, gva, l, &g[4 - l]);
}

static void expect_bits(struct sh_env *e, uint64_t g, uint64_t want, uint64_t mask,
                        const char *what) {
    uint64_t v = sh_env_peek(e, g);
    cr_assert_eq(v & mask, want,
                 "%s: the guest entry at gpa %#" PRIx64 " is %#" PRIx64 "; expected A=%d D=%d, "
                 "found A=%d D=%d %s",
                 what, g, v, !!(want & X86_PTE_A), !!(want & X86_PTE_D), !!(v & X86_PTE_A),
                 !!(v & X86_PTE_D), SH_SEC_AD);
}

Test(shadow, ad_accessed_on_fill, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    sh_env_map(&e, e.pml4, VA + 0x1000, SH_DATA(2), X86_PTE_P); /* supervisor, read-only */
    uint64_t g[4];
    path(&e, VA, g);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_pf(&e, VA + 0x1000, UR, X86_PF_P | X86_PF_U, SH_SEC_FAULT,
                 "a user read of a supervisor page");
    const uint64_t AD = X86_PTE_A | X86_PTE_D;
    static const char *lvl[] = {"PML4E", "PDPTE", "PDE", "PTE"};
    uint64_t g2[4];
    path(&e, VA + 0x1000, g2);
    expect_bits(&e, g2[3], 0, AD, "a faulting access sets no A bit (PTE)");
    expect_bits(&e, g[2], 0, AD, "a faulting access sets no A bit (PDE)");
    sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_FILL, "a user read");
    for (int i = 0; i < 4; i++) {
        char what[96];
        snprintf(what, sizeof what, "after a read, the %s", lvl[i]);
        expect_bits(&e, g[i], X86_PTE_A, i == 3 ? AD : X86_PTE_A, what);
    }
    sh_env_fini(&e);
}

Test(shadow, ad_dirty_on_first_write, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    uint64_t g[4];
    path(&e, VA, g);
    const uint64_t AD = X86_PTE_A | X86_PTE_D;
    sh_env_set_cr3(&e, e.pml4);
    for (int i = 0; i < 3; i++) {
        sh_expect_ok(&e, VA + 8 * i, UR, SH_DATA(1) + 8 * i, SH_SEC_AD, "a read");
        sh_hw_flush(e.vm); /* reads served from the shadow, not the TLB */
    }
    expect_bits(&e, g[3], X86_PTE_A, AD, "after three reads of a writable page, its PTE");
    uint64_t h = e.vm->c.hidden_faults;
    sh_expect_ok(&e, VA, UW, SH_DATA(1), SH_SEC_AD, "the first write");
    expect_bits(&e, g[3], AD, AD, "after the first write, the PTE");
    cr_assert_eq(e.vm->c.hidden_faults, h + 1,
                 "the first write to a clean page must reach the VMM (a hidden fault) so it can "
                 "set D: the clean page should be read-only in the shadow; hidden faults went "
                 "from %" PRIu64 " to %" PRIu64 " %s",
                 h, e.vm->c.hidden_faults, SH_SEC_AD);
    uint64_t x = e.vm->c.exits;
    sh_hw_flush(e.vm);
    sh_expect_ok(&e, VA + 8, UW, SH_DATA(1) + 8, SH_SEC_AD, "a second write");
    cr_assert_eq(e.vm->c.exits, x,
                 "a write to a page whose D bit is already set should not exit (%" PRIu64
                 " exits): make the shadow entry writable once D is set %s",
                 e.vm->c.exits - x, SH_SEC_AD);
    sh_env_fini(&e);
}

Test(shadow, ad_cleared_by_guest, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    uint64_t pte = sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    const uint64_t AD = X86_PTE_A | X86_PTE_D;
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, VA, UW, SH_DATA(1), SH_SEC_AD, "a write");
    expect_bits(&e, pte, AD, AD, "after a write, the PTE");
    for (int round = 0; round < 3; round++) {
        /* The clock scan: clear A and D (written back), INVLPG. */
        sh_env_write_pte(&e, pte, sh_env_peek(&e, pte) & ~AD);
        sh_env_invlpg(&e, VA);
        sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_AD, "a read after the guest cleared A and D");
        expect_bits(&e, pte, X86_PTE_A, AD, "after that read, the PTE");
        sh_expect_ok(&e, VA, UW, SH_DATA(1), SH_SEC_AD, "a write after it");
        expect_bits(&e, pte, AD, AD, "after that write, the PTE");
    }
    sh_env_fini(&e);
}
