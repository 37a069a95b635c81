/* Part 4 (§8): out-of-sync leaf shadows. With them on (sh_oos_enabled), the kernel's writes
 * to a PT-level table stop trapping; the shadow catches up at the guest's INVLPG or CR3 load. */
#include "sh_test.h"

#include <inttypes.h>

#define UR  VLAB_ACC_USER
#define UW  (VLAB_ACC_USER | VLAB_ACC_WRITE)
#define URW (X86_PTE_P | X86_PTE_RW | X86_PTE_US)
#define VA  0x0000004000201000ull
#define OPS 100000

static void oos_env(struct sh_env *e) {
    sh_env_init_oos(e, SH_MODE_SHADOW, 0, true);
}

/* A page table the kernel frees and reuses as data (§3.3) must leave nothing behind that still
 * names its shadow: here its last leaf mapped frame d, which later becomes a page table that the
 * kernel writes, so unsyncing d (§8) visits whatever still records a leaf mapping d. */
static void unsync_after_reuse(void) {
    struct sh_env e;
    oos_env(&e);
    const uint64_t vu = 0x0000004000bff000ull, /* entry 511 of its page table t */
        vb = 0x0000004000e05000ull, vc = 0x0000004001001000ull;
    uint64_t d = sh_env_frame(&e), pu = sh_env_map(&e, e.pml4, vu, d, URW | X86_PTE_D);
    uint64_t t = pu & ~0xfffull, pdu, pdc;
    sh_env_map(&e, e.pml4, vb, t, URW | X86_PTE_D); /* a user mapping of t, unused while a table */
    sh_env_map(&e, e.pml4, vc - X86_PAGE_SIZE, SH_DATA(2), URW); /* vc's page directory */
    vlab_pt_entry_gpa(&e.vm->gmem, e.pml4, vu, 2, &pdu);
    vlab_pt_entry_gpa(&e.vm->gmem, e.pml4, vc, 2, &pdc);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, vu, UR, d, SH_SEC_FILL, "a user read through entry 511 of page table t");
    sh_env_write_pte(&e, pdu, 0); /* the kernel frees t ... */
    sh_env_invlpg(&e, vu);
    sh_expect_ok(&e, vb, UW, t, "(handout §3.3 Frames that stop being page tables)",
                 "a user write to frame t, now data"); /* ... and t is data now */
    sh_expect_ok(&e, vb + 8, UW, t + 8, "(handout §3.3 Frames that stop being page tables)",
                 "a second user write to frame t");
    sh_vm_poke(e.vm, d + 8ull * x86_pt_index(vc, 1), SH_DATA(3) | URW); /* d: not shadowed */
    sh_env_write_pte(&e, pdc, d | URW);
    sh_expect_ok(&e, vc, UR, SH_DATA(3), SH_SEC_FILL, "a read through d, now a page table");
    sh_env_write_pte(&e, d + 8ull * x86_pt_index(vc, 1), SH_DATA(4) | URW); /* unsyncs d */
    sh_env_invlpg(&e, vc);
    sh_expect_ok(&e, vc, UR, SH_DATA(4), "(handout §8 Out-of-sync leaf shadows)",
                 "a read after the kernel remapped vc in page table d (out of sync) and INVLPG");
    sh_env_fini(&e);
}

Test(shadow, oos_leaf_writes_not_trapped, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    oos_env(&e);
    uint64_t pte = sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_FILL, "a user read that shadows the page table");
    sh_env_write_pte(&e, pte, SH_DATA(2) | URW); /* the first write may exit: unsync it */
    uint64_t x = e.vm->c.exits, em = e.vm->c.emulated_writes;
    for (unsigned i = 0; i < 8; i++) {
        sh_env_write_pte(&e, pte, SH_DATA(3 + i) | URW);
        sh_env_write_pte(&e, pte + 8, SH_DATA(20 + i) | URW);
    }
    cr_assert_eq(e.vm->c.exits, x,
                 "with out-of-sync shadows, 16 more kernel writes to the same PT-level table "
                 "caused %" PRIu64 " VM exits (%" PRIu64 " emulated writes): the table should be "
                 "writable until the next INVLPG or CR3 load (handout §8)",
                 e.vm->c.exits - x, e.vm->c.emulated_writes - em);
    sh_env_invlpg(&e, VA);
    sh_expect_ok(&e, VA, UR, SH_DATA(10), "(handout §8 Out-of-sync leaf shadows)",
                 "a read after the kernel's last write and INVLPG: the shadow must be resynced");
    sh_env_write_pte(&e, pte, 0);
    sh_env_invlpg(&e, VA);
    sh_expect_pf(&e, VA, UR, X86_PF_U, "(handout §8 Out-of-sync leaf shadows)",
                 "a read after the kernel unmapped the page (unsync table) and INVLPG");
    sh_env_fini(&e);
    unsync_after_reuse();
}

Test(shadow, oos_resync_on_cr3_load, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    oos_env(&e);
    uint64_t pte[8];
    for (unsigned i = 0; i < 8; i++)
        pte[i] = sh_env_map(&e, e.pml4, VA + 0x1000ull * i, SH_DATA(1 + i), URW);
    sh_env_set_cr3(&e, e.pml4);
    for (unsigned i = 0; i < 8; i++)
        sh_expect_ok(&e, VA + 0x1000ull * i, UW, SH_DATA(1 + i), SH_SEC_FILL, "a user write");
    for (unsigned i = 0; i < 8; i++) /* like fork: many PTEs change, then one CR3 reload */
        sh_env_write_pte(&e, pte[i], SH_DATA(40 + i) | X86_PTE_P | X86_PTE_US);
    sh_env_set_cr3(&e, e.pml4);
    for (unsigned i = 0; i < 8; i++) {
        sh_expect_ok(&e, VA + 0x1000ull * i, UR, SH_DATA(40 + i),
                     "(handout §8 Out-of-sync leaf shadows)",
                     "a read after the kernel remapped 8 pages and reloaded CR3");
        sh_expect_pf(&e, VA + 0x1000ull * i, UW, X86_PF_P | X86_PF_W | X86_PF_U,
                     "(handout §8 Out-of-sync leaf shadows)",
                     "a write to a page the kernel made read-only before reloading CR3");
    }
    sh_env_fini(&e);
}

Test(shadow, oos_upper_levels_trap, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    oos_env(&e);
    sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    uint64_t pde;
    vlab_pt_entry_gpa(&e.vm->gmem, e.pml4, VA, 2, &pde);
    uint64_t t = sh_env_frame(&e);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_FILL, "a user read");
    sh_env_write_pte(&e, t + 8ull * x86_pt_index(VA, 1), SH_DATA(9) | URW);
    for (int i = 0; i < 3; i++) {
        uint64_t em = e.vm->c.emulated_writes;
        sh_env_write_pte(&e, pde, (i & 1 ? sh_env_peek(&e, pde) : t) | URW);
        cr_assert_eq(e.vm->c.emulated_writes, em + 1,
                     "a write to a PDE must still trap and be emulated (only PT-level tables go "
                     "out of sync): emulated writes went from %" PRIu64 " to %" PRIu64
                     " (handout §8)",
                     em, e.vm->c.emulated_writes);
    }
    sh_env_invlpg(&e, VA);
    sh_expect_ok(&e, VA, UR, SH_DATA(9), SH_SEC_EMUL, "a read after the PDE changed");
    sh_env_fini(&e);
}

static void oos_diff(const char *test, const struct sh_profile *p, uint64_t seed,
                     struct sh_run *r) {
    struct sh_vm_config cfg = {.mode = SH_MODE_SHADOW, .seed = seed, .oos = true};
    sh_diff_run_config(test, p, &cfg, OPS, r);
}

Test(shadow, diff_oos_clock, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    oos_diff("diff_oos_clock", &sh_profile_clock, 61, &r);
}

Test(shadow, diff_oos_fork_cow, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    oos_diff("diff_oos_fork_cow", &sh_profile_fork, 62, &r);
}

Test(shadow, diff_oos_everything, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    oos_diff("diff_oos_everything", &sh_profile_everything, 63, &r);
}
