/* Task 2: reserved bits. A present entry with a reserved bit set stops the walk at that entry
 * with a #PF whose error code has P and RSVD. */
#include "pw_test.h"

#include <stdio.h>

#define RD  VLAB_ACC_READ
#define WR  VLAB_ACC_WRITE
#define EX  VLAB_ACC_FETCH
#define USR VLAB_ACC_USER
#define RWU (X86_PTE_RW | X86_PTE_US)
#define PR  (X86_PF_P | X86_PF_RSVD)

#define VA4K 0x0000008080604000ull
#define VA2M 0x0000010080600000ull
#define VA1G 0x0000018080000000ull

/* One guest with a page of each size, in different PML4 slots. */
static void setup(struct pw_env *e) {
    pw_env_init(e);
    pw_env_map(e, VA4K, 0x7000000ull, X86_PAGE_SIZE, RWU);
    pw_env_map(e, VA2M, 0x7e00000ull, X86_PAGE_2M, RWU);
    pw_env_map(e, VA1G, 0x140000000ull, X86_PAGE_1G, RWU);
}

/* Sets bit(s) in gva's entry at level, expects the fault, restores the entry. */
static void expect_rsvd(struct pw_env *e, uint64_t gva, int level, uint64_t bits, unsigned access,
                        uint32_t pf, const char *why) {
    uint64_t gpa = pw_env_slot(e, gva, level), saved = pw_env_peek(e, gpa);
    pw_env_poke(e, gpa, saved | bits);
    pw_expect_pf(e, gva, access, pf, level, PW_SEC_RSVD, "%s: bits %#lx set in the %s", why,
                 (unsigned long)bits, pw_level_str(level));
    pw_env_poke(e, gpa, saved);
}

Test(pagewalk, rsvd_nx_without_nxe, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e);
    e.pg.efer &= ~X86_EFER_NXE;
    for (int level = 4; level >= 1; level--)
        expect_rsvd(&e, VA4K, level, X86_PTE_NX, RD, PR, "XD (bit 63) with EFER.NXE=0");
    expect_rsvd(&e, VA2M, 2, X86_PTE_NX, RD, PR, "XD in a 2 MiB leaf with EFER.NXE=0");
    expect_rsvd(&e, VA1G, 3, X86_PTE_NX, RD, PR, "XD in a 1 GiB leaf with EFER.NXE=0");
    /* With NXE the same bit is XD, which does not stop a read. */
    e.pg.efer |= X86_EFER_NXE;
    pw_env_modify(&e, VA4K, 1, X86_PTE_NX, 0);
    pw_expect_ok(&e, VA4K, RD, 0x7000000ull, X86_PAGE_SIZE, PW_SEC_RSVD,
                 "read of a page with XD=1 in its PTE and EFER.NXE=1");
    pw_env_fini(&e);
}

Test(pagewalk, rsvd_ps_in_pml4e, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e);
    expect_rsvd(&e, VA4K, 4, X86_PTE_PS, RD, PR, "PS is reserved in a PML4E (no 512 GiB pages)");
    expect_rsvd(&e, VA1G, 4, X86_PTE_PS, WR, PR | X86_PF_W,
                "PS is reserved in a PML4E (no 512 GiB pages)");
    /* Bit 7 of a PTE is PAT, not PS: allowed. */
    pw_env_modify(&e, VA4K, 1, X86_PTE_PAT, 0);
    pw_expect_ok(&e, VA4K + 0x18, RD, 0x7000018ull, X86_PAGE_SIZE, PW_SEC_RSVD,
                 "bit 7 of a PTE is PAT, not a reserved bit");
    pw_env_fini(&e);
}

Test(pagewalk, rsvd_large_leaf_bits, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e);
    for (unsigned b = 13; b <= 20; b++)
        expect_rsvd(&e, VA2M, 2, 1ull << b, RD, PR, "bits 20:13 of a 2 MiB leaf are reserved");
    for (unsigned b = 13; b <= 29; b += 4)
        expect_rsvd(&e, VA1G, 3, 1ull << b, RD, PR, "bits 29:13 of a 1 GiB leaf are reserved");
    expect_rsvd(&e, VA1G, 3, 1ull << 29, RD, PR, "bits 29:13 of a 1 GiB leaf are reserved");
    /* Bit 12 of a large leaf is its PAT bit; bits 20:13 of a PDE that points to a table are
     * part of the table's address. Neither is reserved. The offsets have bit 12 clear: with it
     * set, a frame that kept the PAT bit would still OR to the right address. */
    pw_env_modify(&e, VA2M, 2, X86_PTE_PAT_LARGE, 0);
    pw_expect_ok(&e, VA2M + 0x2234, RD, 0x7e02234ull, X86_PAGE_2M, PW_SEC_RSVD,
                 "bit 12 of a 2 MiB leaf is PAT, not a reserved bit (and not address)");
    pw_env_modify(&e, VA1G, 3, X86_PTE_PAT_LARGE, 0);
    pw_expect_ok(&e, VA1G + 0x2234, RD, 0x140002234ull, X86_PAGE_1G, PW_SEC_RSVD,
                 "bit 12 of a 1 GiB leaf is PAT, not a reserved bit (and not address)");
    pw_env_fini(&e);
}

Test(pagewalk, rsvd_above_maxphyaddr, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e);
    const unsigned widths[] = {36, 39, 40, 46, 48};
    for (unsigned i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        e.pg.maxphyaddr = widths[i];
        char why[96];
        snprintf(why, sizeof why, "with MAXPHYADDR=%u, bits 51:%u are reserved", widths[i],
                 widths[i]);
        for (int level = 4; level >= 1; level--) {
            expect_rsvd(&e, VA4K, level, 1ull << widths[i], RD, PR, why);
            expect_rsvd(&e, VA4K, level, 1ull << 51, RD, PR, why);
        }
        expect_rsvd(&e, VA2M, 2, 1ull << (widths[i] + 2), RD, PR, why);
        expect_rsvd(&e, VA1G, 3, 1ull << 50, RD, PR, why);
    }
    /* A leaf's frame bit just below MAXPHYADDR is an address bit. */
    e.pg.maxphyaddr = 40;
    pw_env_modify(&e, VA4K, 1, 1ull << 39, 0);
    pw_expect_ok(&e, VA4K + 8, RD, (1ull << 39) + 0x7000008ull, X86_PAGE_SIZE, PW_SEC_RSVD,
                 "with MAXPHYADDR=40, bit 39 of a PTE is an address bit");
    /* maxphyaddr 0 means 52: no address bit is reserved. */
    e.pg.maxphyaddr = 0;
    pw_env_modify(&e, VA4K, 1, 1ull << 51, 0);
    pw_expect_ok(&e, VA4K + 8, RD, (1ull << 51) + (1ull << 39) + 0x7000008ull, X86_PAGE_SIZE,
                 PW_SEC_RSVD, "maxphyaddr 0 means 52: bit 51 of a PTE is an address bit");
    pw_env_fini(&e);
}

Test(pagewalk, rsvd_checked_during_walk, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e);
    e.pg.maxphyaddr = 40;
    /* The walk stops at the first bad entry: a reserved bit in the PDPTE is reported at level
     * 3 even though the PDE below it is not present. */
    pw_env_modify(&e, VA4K, 2, 0, X86_PTE_P);
    pw_env_modify(&e, VA4K, 3, 1ull << 44, 0);
    pw_expect_pf(&e, VA4K, RD, PR, 3, PW_SEC_RSVD,
                 "reserved bit 44 in the PDPTE with MAXPHYADDR=40, and a not-present PDE below");
    pw_env_modify(&e, VA4K, 3, 0, 1ull << 44);
    pw_env_modify(&e, VA4K, 2, X86_PTE_P, 0);
    /* Reserved bits are found during the walk, before the rights are judged: a user read that
     * the PML4E's U/S=0 forbids still reports RSVD at the PTE. */
    pw_env_modify(&e, VA4K, 4, 0, X86_PTE_US);
    pw_env_modify(&e, VA4K, 1, 1ull << 45, 0);
    pw_expect_pf(&e, VA4K, RD | USR, PR | X86_PF_U, 1, PW_SEC_RSVD,
                 "user read: U/S=0 in the PML4E, reserved bit 45 in the PTE (MAXPHYADDR=40)");
    pw_env_fini(&e);
}

Test(pagewalk, rsvd_ignored_when_not_present, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e);
    e.pg.efer &= ~X86_EFER_NXE;
    e.pg.maxphyaddr = 36;
    const uint64_t junk = X86_PTE_NX | 1ull << 51 | 1ull << 40 | X86_PTE_PS | 0x1fe000;
    for (int level = 4; level >= 1; level--) {
        uint64_t gpa = pw_env_slot(&e, VA4K, level), saved = pw_env_peek(&e, gpa);
        pw_env_poke(&e, gpa, (saved | junk) & ~X86_PTE_P);
        pw_expect_pf(&e, VA4K, WR, X86_PF_W, level, PW_SEC_RSVD,
                     "write through a not-present %s full of would-be reserved bits "
                     "(P=0: the CPU looks at no other bit)",
                     pw_level_str(level));
        pw_env_poke(&e, gpa, saved);
    }
    pw_env_fini(&e);
}

Test(pagewalk, rsvd_error_code, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e);
    e.pg.maxphyaddr = 46;
    expect_rsvd(&e, VA4K, 2, 1ull << 47, WR | USR, PR | X86_PF_W | X86_PF_U,
                "a RSVD fault also reports the access: user write");
    expect_rsvd(&e, VA4K, 1, 1ull << 47, EX, PR | X86_PF_I,
                "a RSVD fault also reports the access: fetch with EFER.NXE=1");
    expect_rsvd(&e, VA2M, 2, 1ull << 14, EX | USR, PR | X86_PF_I | X86_PF_U,
                "a RSVD fault also reports the access: user fetch with EFER.NXE=1");
    e.pg.efer &= ~X86_EFER_NXE;
    expect_rsvd(&e, VA1G, 3, 1ull << 20, EX, PR,
                "a RSVD fault also reports the access: fetch with NXE=0 and no SMEP has no I");
    pw_env_fini(&e);
}
