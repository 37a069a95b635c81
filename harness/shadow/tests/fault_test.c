/* Task 1 (§2): hidden faults vs true guest faults, and what a filled shadow entry must say. */
#include "sh_test.h"

#include <inttypes.h>

#define UR  VLAB_ACC_USER
#define UW  (VLAB_ACC_USER | VLAB_ACC_WRITE)
#define UX  (VLAB_ACC_USER | VLAB_ACC_FETCH)
#define KR  VLAB_ACC_READ
#define KW  VLAB_ACC_WRITE
#define URW (X86_PTE_RW | X86_PTE_US)
#define VA  0x0000004000201000ull

Test(shadow, fault_hidden_then_hit, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    sh_env_map(&e, e.pml4, VA, SH_DATA(5), URW | X86_PTE_D);
    sh_env_set_cr3(&e, e.pml4);
    uint64_t h0 = e.vm->c.hidden_faults, i0 = e.vm->c.injected;
    sh_expect_ok(&e, VA + 0x18, UR, SH_DATA(5) + 0x18, SH_SEC_FAULT,
                 "the first read of a mapped page");
    cr_assert_eq(e.vm->c.hidden_faults - h0, 1,
                 "the first access to a mapped page should be exactly one hidden fault (the "
                 "shadow is empty), counted %" PRIu64 " %s",
                 e.vm->c.hidden_faults - h0, SH_SEC_FAULT);
    cr_assert_eq(e.vm->c.injected, i0, "a hidden fault was injected into the guest %s",
                 SH_SEC_FAULT);
    uint64_t x0 = e.vm->c.exits;
    sh_hw_flush(e.vm); /* a TLB miss must now be served by the shadow, not by the VMM */
    sh_expect_ok(&e, VA + 0x20, UR, SH_DATA(5) + 0x20, SH_SEC_FILL, "a second read");
    sh_expect_ok(&e, VA + 0x28, UW, SH_DATA(5) + 0x28, SH_SEC_FILL,
                 "a write to a writable dirty page");
    cr_assert_eq(e.vm->c.exits, x0,
                 "after the hidden fault filled the shadow, a read and a write of the same "
                 "(writable, dirty) page still caused %" PRIu64 " VM exits: the shadow entry "
                 "should let them through %s",
                 e.vm->c.exits - x0, SH_SEC_FILL);
    sh_env_fini(&e);
}

Test(shadow, fault_not_present_codes, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    sh_env_map(&e, e.pml4, VA, SH_DATA(1), URW);
    sh_env_set_cr3(&e, e.pml4);
    const uint64_t next = VA + X86_PAGE_SIZE;     /* PTE not present */
    const uint64_t far = VA + X86_PAGE_1G;        /* PDPTE not present */
    const uint64_t other = 0x0000700000000000ull; /* PML4E not present */
    sh_expect_pf(&e, next, UR, X86_PF_U, SH_SEC_FAULT, "user read, PTE not present");
    sh_expect_pf(&e, next, UW, X86_PF_U | X86_PF_W, SH_SEC_FAULT, "user write, PTE not present");
    sh_expect_pf(&e, next, UX, X86_PF_U | X86_PF_I, SH_SEC_FAULT,
                 "user fetch, PTE not present (I: EFER.NXE is on)");
    sh_expect_pf(&e, far, KR, 0, SH_SEC_FAULT, "kernel read, PDPTE not present");
    sh_expect_pf(&e, other, KW, X86_PF_W, SH_SEC_FAULT, "kernel write, PML4E not present");
    cr_assert_eq(e.vm->c.injected, 5, "5 true faults, %" PRIu64 " injected %s", e.vm->c.injected,
                 SH_SEC_FAULT);
    /* The present neighbour still works, and the faults left no shadow that says otherwise. */
    sh_expect_ok(&e, VA, UR, SH_DATA(1), SH_SEC_FAULT, "the mapped page next to them");
    sh_expect_pf(&e, next, UR, X86_PF_U, SH_SEC_FAULT, "the same not-present page again");
    sh_env_fini(&e);
}

Test(shadow, fault_protection_codes, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    const uint64_t sup = VA, ro = VA + 0x1000, nx = VA + 0x2000, junk = VA + 0x3000;
    sh_env_map(&e, e.pml4, sup, SH_DATA(1), X86_PTE_RW | X86_PTE_A | X86_PTE_D);
    sh_env_map(&e, e.pml4, ro, SH_DATA(2), X86_PTE_US | X86_PTE_A);
    sh_env_map(&e, e.pml4, nx, SH_DATA(3), URW | X86_PTE_NX | X86_PTE_A | X86_PTE_D);
    sh_env_map(&e, e.pml4, junk, SH_DATA(4) | (1ull << 50), URW); /* reserved: MAXPHYADDR 46 */
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_pf(&e, sup, UR, X86_PF_P | X86_PF_U, SH_SEC_FAULT, "user read of a supervisor page");
    sh_expect_ok(&e, sup, KW, SH_DATA(1), SH_SEC_FAULT, "kernel write of the same page");
    sh_expect_pf(&e, sup, UR, X86_PF_P | X86_PF_U, SH_SEC_FAULT,
                 "user read of the supervisor page after the kernel's write filled the shadow");
    sh_expect_ok(&e, ro, UR, SH_DATA(2), SH_SEC_FAULT, "user read of a read-only page");
    sh_expect_pf(&e, ro, UW, X86_PF_P | X86_PF_W | X86_PF_U, SH_SEC_FAULT,
                 "user write of a read-only page");
    sh_expect_pf(&e, ro, KW, X86_PF_P | X86_PF_W, SH_SEC_FAULT,
                 "kernel write of a read-only page (CR0.WP=1)");
    sh_expect_ok(&e, nx, UW, SH_DATA(3), SH_SEC_FAULT, "user write of an NX data page");
    sh_expect_pf(&e, nx, UX, X86_PF_P | X86_PF_U | X86_PF_I, SH_SEC_FAULT,
                 "user fetch from an NX page");
    sh_expect_pf(&e, junk, UR, X86_PF_P | X86_PF_RSVD | X86_PF_U, SH_SEC_FAULT,
                 "user read through a PTE with reserved bit 50 set");
    sh_expect_pf(&e, junk, UW, X86_PF_P | X86_PF_RSVD | X86_PF_U | X86_PF_W, SH_SEC_FAULT,
                 "user write through the same PTE");
    sh_env_fini(&e);
}

Test(shadow, fill_machine_addresses, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    /* 48 pages over both RAM regions and several page tables: every one must reach the machine
     * frame the p2m gives, never the machine frame whose address equals the gPA. */
    for (unsigned i = 0; i < 48; i++) {
        uint64_t gva = 0x10000000ull + i * 0x9000ull, gpa = i & 1 ? SH_DATA(i * 37) : SH_DATA0(i);
        sh_env_map(&e, e.pml4, gva, gpa, URW);
    }
    sh_env_set_cr3(&e, e.pml4);
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < 48; i++) {
            uint64_t gva = 0x10000000ull + i * 0x9000ull,
                     gpa = i & 1 ? SH_DATA(i * 37) : SH_DATA0(i);
            sh_expect_ok(&e, gva + 8 * i, pass ? UW : UR, gpa + 8 * i, SH_SEC_P2M,
                         pass ? "a write through the shadow" : "a read through the shadow");
        }
    sh_env_fini(&e);
}

Test(shadow, fill_upper_level_permissions, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    const uint64_t a = 0x0000000040000000ull, b = 0x0000000080000000ull, c = 0x00000000c0000000ull;
    sh_env_map(&e, e.pml4, a, SH_DATA(1), URW | X86_PTE_A | X86_PTE_D);
    sh_env_map(&e, e.pml4, b, SH_DATA(2), URW | X86_PTE_A | X86_PTE_D);
    sh_env_map(&e, e.pml4, c, SH_DATA(3), URW | X86_PTE_A | X86_PTE_D);
    /* Narrow the rights above the leaves: a's PDE read-only, b's PDPTE supervisor, c's PDE NX. */
    uint64_t pde_a, pdpte_b, pde_c;
    vlab_pt_entry_gpa(&e.vm->gmem, e.pml4, a, 2, &pde_a);
    vlab_pt_entry_gpa(&e.vm->gmem, e.pml4, b, 3, &pdpte_b);
    vlab_pt_entry_gpa(&e.vm->gmem, e.pml4, c, 2, &pde_c);
    sh_vm_poke(e.vm, pde_a, sh_env_peek(&e, pde_a) & ~X86_PTE_RW);
    sh_vm_poke(e.vm, pdpte_b, sh_env_peek(&e, pdpte_b) & ~X86_PTE_US);
    sh_vm_poke(e.vm, pde_c, sh_env_peek(&e, pde_c) | X86_PTE_NX);
    sh_env_set_cr3(&e, e.pml4);
    for (int pass = 0; pass < 2; pass++) { /* the second pass runs on the filled shadow */
        sh_expect_ok(&e, a, UR, SH_DATA(1), SH_SEC_FILL, "user read under a read-only PDE");
        sh_expect_pf(&e, a, UW, X86_PF_P | X86_PF_W | X86_PF_U, SH_SEC_FILL,
                     "user write under a read-only PDE (the leaf is writable)");
        sh_expect_ok(&e, b, KR, SH_DATA(2), SH_SEC_FILL, "kernel read under a supervisor PDPTE");
        sh_expect_pf(&e, b, UR, X86_PF_P | X86_PF_U, SH_SEC_FILL,
                     "user read under a supervisor PDPTE (the leaf is user)");
        sh_expect_ok(&e, c, UR, SH_DATA(3), SH_SEC_FILL, "user read under an NX PDE");
        sh_expect_pf(&e, c, UX, X86_PF_P | X86_PF_U | X86_PF_I, SH_SEC_FILL,
                     "user fetch under an NX PDE (the leaf is executable)");
    }
    sh_env_fini(&e);
}
