/* Task 2 (§3): guest page tables are write-protected in the shadow, and the trapped writes are
 * emulated so that every shadow derived from the written entry follows it. */
#include "sh_test.h"

#include <inttypes.h>

#define UR  VLAB_ACC_USER
#define UW  (VLAB_ACC_USER | VLAB_ACC_WRITE)
#define KR  VLAB_ACC_READ
#define KW  VLAB_ACC_WRITE
#define URW (X86_PTE_P | X86_PTE_RW | X86_PTE_US)
#define VA  0x0000004000201000ull

Test(shadow, wp_tables_trap, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    uint64_t pte = sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_FILL, "a user read that shadows the page table");
    for (unsigned i = 0; i < 3; i++) {
        uint64_t em = e.vm->c.emulated_writes, nv = SH_DATA(2 + i) | URW;
        sh_env_write_pte(&e, pte, nv);
        cr_assert_eq(e.vm->c.emulated_writes, em + 1,
                     "write %u of the kernel to a shadowed page table (gpa %#" PRIx64 ") should "
                     "trap and be emulated once; emulated writes went from %" PRIu64 " to %" PRIu64
                     ": is the page table writable in the shadow? %s",
                     i + 1, pte, em, e.vm->c.emulated_writes, SH_SEC_WP);
        sh_env_invlpg(&e, VA);
        sh_expect_ok(&e, VA, UR, SH_DATA(2 + i), SH_SEC_EMUL,
                     "a read after the kernel remapped the page");
        /* The kernel reads its table back: the direct map's leaf is filled now, with D set in
         * the guest's entry, and must still be read-only. */
        struct sh_outcome o = sh_env_access(&e, SH_KBASE + pte, KR, 0);
        cr_assert(o.rc == VLAB_OK && o.value == sh_env_peek(&e, pte),
                  "the kernel's read of its PTE through the direct map should return %#" PRIx64
                  ", got rc %d value %#" PRIx64 " %s",
                  sh_env_peek(&e, pte), o.rc, o.value, SH_SEC_WP);
    }
    sh_env_fini(&e);
}

Test(shadow, wp_existing_writable_mapping, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    const uint64_t va2 = VA + X86_PAGE_2M;
    sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    uint64_t pde2;
    vlab_pt_entry_gpa(&e.vm->gmem, e.pml4, va2, 2, &pde2);
    uint64_t t = sh_env_frame(&e), slot = t + 8ull * x86_pt_index(va2, 1);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_FILL, "a read that shadows VA's tables");
    /* Frame t is data for now: the kernel fills it through the direct map (writable). */
    sh_expect_ok(&e, SH_KBASE + slot, KW, t + (slot & 0xfff), SH_SEC_FILL,
                 "the kernel writing a data frame");
    sh_expect_ok(&e, SH_KBASE + slot, KW, t + (slot & 0xfff), SH_SEC_FILL,
                 "the kernel writing the same data frame again");
    sh_env_write_pte(&e, slot, SH_DATA(3) | URW);
    /* Now t becomes a page table: the PDE for va2 points to it. */
    sh_env_write_pte(&e, pde2, t | URW);
    sh_expect_ok(&e, va2, UR, SH_DATA(3), SH_SEC_FILL, "a read through the new page table");
    uint64_t em = e.vm->c.emulated_writes;
    sh_env_write_pte(&e, slot, SH_DATA(4) | URW);
    cr_assert_eq(e.vm->c.emulated_writes, em + 1,
                 "frame %#" PRIx64 " became a shadowed page table while the direct map still "
                 "mapped it writable in the shadow: the kernel's next write to it should trap, "
                 "but emulated writes went from %" PRIu64 " to %" PRIu64 " %s",
                 t, em, e.vm->c.emulated_writes, SH_SEC_WP);
    sh_env_invlpg(&e, va2);
    sh_expect_ok(&e, va2, UR, SH_DATA(4), SH_SEC_WP, "a read after the kernel remapped va2");
    sh_env_fini(&e);
}

Test(shadow, emul_remap_and_unmap, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    uint64_t pte = sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, VA, UW, SH_DATA(1), SH_SEC_FILL, "a user write");
    sh_env_write_pte(&e, pte, 0);
    sh_env_invlpg(&e, VA);
    sh_expect_pf(&e, VA, UR, X86_PF_U, SH_SEC_EMUL, "a read after the kernel unmapped the page");
    sh_env_write_pte(&e, pte, SH_DATA(7) | URW); /* not present -> present: no INVLPG needed */
    sh_expect_ok(&e, VA, UR, SH_DATA(7), SH_SEC_EMUL, "a read after the kernel mapped it again");
    sh_env_write_pte(&e, pte, SH_DATA(7) | X86_PTE_P | X86_PTE_US | X86_PTE_A);
    sh_env_invlpg(&e, VA);
    sh_expect_pf(&e, VA, UW, X86_PF_P | X86_PF_W | X86_PF_U, SH_SEC_EMUL,
                 "a write after the kernel made the page read-only");
    sh_expect_ok(&e, VA, UR, SH_DATA(7), SH_SEC_EMUL, "a read of the read-only page");
    /* An upper level: the kernel points the PDE at another page table. */
    uint64_t pde;
    vlab_pt_entry_gpa(&e.vm->gmem, e.pml4, VA, 2, &pde);
    uint64_t t = sh_env_frame(&e);
    sh_env_write_pte(&e, t + 8ull * x86_pt_index(VA, 1), SH_DATA(9) | URW);
    sh_env_write_pte(&e, pde, t | URW);
    sh_env_invlpg(&e, VA);
    sh_expect_ok(&e, VA, UR, SH_DATA(9), SH_SEC_EMUL,
                 "a read after the kernel replaced the page table in the PDE");
    sh_expect_ok(&e, VA, UW, SH_DATA(9), SH_SEC_EMUL, "and a write");
    sh_env_fini(&e);
}

Test(shadow, emul_all_spaces, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    uint64_t pte = sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW | X86_PTE_D);
    uint64_t b = sh_env_new_space(&e), k = 8ull * x86_pt_index(VA, 4);
    sh_vm_poke(e.vm, b + k, sh_env_peek(&e, e.pml4 + k)); /* B shares A's PDPT, PD and PT */
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_FILL, "a read in space A");
    sh_env_set_cr3(&e, b);
    sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_FILL, "a read of the same page in space B");
    for (unsigned i = 0; i < 4; i++) {
        /* The kernel remaps in the current space only, as it would for a shared table. */
        sh_env_write_pte(&e, pte, SH_DATA(2 + i) | URW | X86_PTE_D);
        sh_env_invlpg(&e, VA);
        uint64_t other = (i & 1) ? b : e.pml4;
        sh_env_set_cr3(&e, other);
        sh_expect_ok(&e, VA, UW, SH_DATA(2 + i), SH_SEC_EMUL,
                     i & 1 ? "space B, after space A changed their shared page table"
                           : "space A, after space B changed their shared page table");
    }
    sh_env_fini(&e);
}

Test(shadow, emul_sets_direct_map_ad, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    uint64_t pte = sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    uint64_t dm; /* the direct map's PTE for the page table holding pte */
    vlab_pt_entry_gpa(&e.vm->gmem, e.pml4, SH_KBASE + (pte & ~0xfffull), 1, &dm);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_FILL, "a user read");
    uint64_t v = sh_env_peek(&e, dm);
    cr_assert(!(v & (X86_PTE_A | X86_PTE_D)),
              "test setup: the direct map's PTE %#" PRIx64 " should start clean", v);
    sh_env_access(&e, SH_KBASE + pte, KR, 0);
    v = sh_env_peek(&e, dm);
    cr_assert((v & X86_PTE_A) && !(v & X86_PTE_D),
              "after the kernel read its page table through the direct map, the direct map's "
              "PTE (gpa %#" PRIx64 ") should have A set and D clear: %#" PRIx64 " %s",
              dm, v, SH_SEC_AD);
    sh_env_write_pte(&e, pte, SH_DATA(2) | URW);
    v = sh_env_peek(&e, dm);
    cr_assert((v & X86_PTE_A) && (v & X86_PTE_D),
              "after the kernel's (emulated) write to its page table, the direct map's PTE "
              "(gpa %#" PRIx64 ") should have A and D set, as the guest's own MMU would set them: "
              "%#" PRIx64 " (an emulated write is still a write through the guest's tables) %s",
              dm, v, SH_SEC_EMUL);
    sh_env_fini(&e);
}
