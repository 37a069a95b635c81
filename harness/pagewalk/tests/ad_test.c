/* Task 4: accessed and dirty bits, set exactly as the oracle documents: only by a successful
 * translation, A in every entry used, D in the leaf for a write, each entry written back at
 * most once and only if its value changes. */
#include "pw_test.h"

#include <stdlib.h>

#define RD  VLAB_ACC_READ
#define WR  VLAB_ACC_WRITE
#define EX  VLAB_ACC_FETCH
#define USR VLAB_ACC_USER
#define RWU (X86_PTE_RW | X86_PTE_US)
#define A   X86_PTE_A
#define D   X86_PTE_D

#define VA4K 0x0000008080604000ull
#define VA2M 0x0000010080600000ull
#define VA1G 0x0000018080000000ull

static const char *const entry_name[] = {"PML4E", "PDPTE", "PDE", "PTE"};

/* Reads the path of gva (levels entries, [0] = PML4E): addresses and current values. */
static void path(struct pw_env *e, uint64_t gva, int levels, uint64_t *gpa, uint64_t *val) {
    for (int l = 0; l < levels; l++) {
        gpa[l] = pw_env_slot(e, gva, 4 - l);
        val[l] = pw_env_peek(e, gpa[l]);
    }
}

Test(pagewalk, ad_accessed_on_read, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA4K, 0x4400000ull, X86_PAGE_SIZE, RWU);
    uint64_t gpa[4], val[4];
    path(&e, VA4K, 4, gpa, val);
    pw_expect_ok(&e, VA4K, RD, 0x4400000ull, X86_PAGE_SIZE, PW_SEC_WALK, "read of a 4 KiB page");
    for (int l = 0; l < 4; l++)
        pw_expect_entry(&e, gpa[l], val[l] | A, PW_SEC_AD,
                        "a read sets A (and not D) in every entry it used: the %s", entry_name[l]);
    /* A fetch is an access too. */
    pw_env_map(&e, VA4K + X86_PAGE_SIZE, 0x4401000ull, X86_PAGE_SIZE, RWU);
    uint64_t pte = pw_env_slot(&e, VA4K + X86_PAGE_SIZE, 1), v = pw_env_peek(&e, pte);
    pw_expect_ok(&e, VA4K + X86_PAGE_SIZE, EX | USR, 0x4401000ull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "user fetch from a 4 KiB page");
    pw_expect_entry(&e, pte, v | A, PW_SEC_AD, "a fetch sets A (and not D) in the PTE");
    pw_env_fini(&e);
}

Test(pagewalk, ad_dirty_on_write, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA4K, 0x4400000ull, X86_PAGE_SIZE, RWU);
    uint64_t gpa[4], val[4];
    path(&e, VA4K, 4, gpa, val);
    pw_expect_ok(&e, VA4K, WR | USR, 0x4400000ull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "user write to a 4 KiB page");
    for (int l = 0; l < 3; l++)
        pw_expect_entry(&e, gpa[l], val[l] | A, PW_SEC_AD,
                        "a write sets A in the %s, and D only in the leaf", entry_name[l]);
    pw_expect_entry(&e, gpa[3], val[3] | A | D, PW_SEC_AD, "a write sets A and D in the PTE");
    /* A later read leaves D as it is (the CPU never clears A or D). */
    pw_expect_ok(&e, VA4K, RD, 0x4400000ull, X86_PAGE_SIZE, PW_SEC_WALK, "read after the write");
    pw_expect_entry(&e, gpa[3], val[3] | A | D, PW_SEC_AD, "a read never clears D");
    pw_env_fini(&e);
}

Test(pagewalk, ad_dirty_large_leaf, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA2M, 0x4400000ull, X86_PAGE_2M, RWU);
    pw_env_map(&e, VA1G, 0x40000000ull, X86_PAGE_1G, RWU);
    uint64_t gpa[4], val[4];
    path(&e, VA2M, 3, gpa, val);
    pw_expect_ok(&e, VA2M + 0x1234, WR, 0x4401234ull, X86_PAGE_2M, PW_SEC_LEAF,
                 "write to a 2 MiB page");
    pw_expect_entry(&e, gpa[0], val[0] | A, PW_SEC_AD, "a write to a 2 MiB page: the PML4E");
    pw_expect_entry(&e, gpa[1], val[1] | A, PW_SEC_AD, "a write to a 2 MiB page: the PDPTE");
    pw_expect_entry(&e, gpa[2], val[2] | A | D, PW_SEC_AD,
                    "a write to a 2 MiB page sets D in its leaf, the PDE");
    path(&e, VA1G, 2, gpa, val);
    pw_expect_ok(&e, VA1G + 0x1234, WR, 0x40001234ull, X86_PAGE_1G, PW_SEC_LEAF,
                 "write to a 1 GiB page");
    pw_expect_entry(&e, gpa[0], val[0] | A, PW_SEC_AD, "a write to a 1 GiB page: the PML4E");
    pw_expect_entry(&e, gpa[1], val[1] | A | D, PW_SEC_AD,
                    "a write to a 1 GiB page sets D in its leaf, the PDPTE");
    pw_env_fini(&e);
}

Test(pagewalk, ad_untouched_on_fault, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA4K, 0x4400000ull, X86_PAGE_SIZE, X86_PTE_US); /* read-only user page */
    pw_env_map(&e, VA2M, 0x4400000ull, X86_PAGE_2M, RWU);
    uint8_t *snap = malloc(PW_ENV_RAM_SIZE);
    cr_assert(snap, "test setup: out of memory");

    pw_env_snapshot(&e, snap);
    pw_expect_pf(&e, VA4K, WR | USR, X86_PF_P | X86_PF_W | X86_PF_U, 1, PW_SEC_PERM,
                 "user write to a read-only page");
    pw_env_expect_unchanged(&e, snap, PW_SEC_AD,
                            "a walk that ends in a protection fault sets no A/D bit");

    pw_env_snapshot(&e, snap);
    pw_expect_pf(&e, VA4K + X86_PAGE_SIZE, RD, 0, 1, PW_SEC_NP,
                 "read through an empty PTE (the entries above it are present)");
    pw_env_expect_unchanged(&e, snap, PW_SEC_AD,
                            "a walk that ends at a not-present PTE sets no A bit above it");

    e.pg.maxphyaddr = 40;
    pw_env_modify(&e, VA2M, 2, 1ull << 41, 0);
    pw_env_snapshot(&e, snap);
    pw_expect_pf(&e, VA2M, WR, X86_PF_P | X86_PF_W | X86_PF_RSVD, 2, PW_SEC_RSVD,
                 "write to a 2 MiB page whose PDE has reserved bit 41 (MAXPHYADDR=40)");
    pw_env_expect_unchanged(&e, snap, PW_SEC_AD,
                            "a walk that ends in a reserved-bit fault sets no A/D bit");

    e.pg.efer &= ~X86_EFER_NXE;
    e.pg.cr4 |= X86_CR4_SMEP;
    pw_env_modify(&e, VA2M, 2, 0, 1ull << 41);
    pw_env_snapshot(&e, snap);
    pw_expect_pf(&e, VA2M, EX, X86_PF_P | X86_PF_I, 2, PW_SEC_PERM,
                 "supervisor fetch from a user 2 MiB page with SMEP");
    pw_env_expect_unchanged(&e, snap, PW_SEC_AD, "a fetch stopped by SMEP sets no A bit");

    /* Leaving memory alone is easy if you never write: the same page read successfully. */
    uint64_t pde = pw_env_slot(&e, VA2M, 2), v = pw_env_peek(&e, pde);
    pw_expect_ok(&e, VA2M, RD, 0x4400000ull, X86_PAGE_2M, PW_SEC_LEAF, "read of that 2 MiB page");
    pw_expect_entry(&e, pde, v | A, PW_SEC_AD, "a successful read sets A in the 2 MiB leaf");
    free(snap);
    pw_env_fini(&e);
}

Test(pagewalk, ad_no_rewrite_when_set, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA4K, 0x4400000ull, X86_PAGE_SIZE, RWU | A | D);
    for (int l = 4; l >= 2; l--)
        pw_env_modify(&e, VA4K, l, A, 0);
    pw_expect_ok(&e, VA4K, WR, 0x4400000ull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "write to a page whose entries all have A (and the PTE D) set already");
    cr_assert_eq(e.m.writes, 0,
                 "every entry already had A (and the PTE D): expected no write-back, got %lu "
                 "(an entry is written only if its value changes) %s",
                 (unsigned long)e.m.writes, PW_SEC_AD);

    pw_env_modify(&e, VA4K, 1, 0, D);
    pw_expect_ok(&e, VA4K, RD, 0x4400000ull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "read of a page with A set everywhere and D clear in the PTE");
    cr_assert_eq(e.m.writes, 0,
                 "a read needs A only, which every entry has: expected no write-back, got %lu %s",
                 (unsigned long)e.m.writes, PW_SEC_AD);

    pw_expect_ok(&e, VA4K, WR, 0x4400000ull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "write to that page (only the PTE's D is missing)");
    cr_assert_eq(e.m.writes, 1,
                 "only the PTE needed a change (D): expected exactly 1 write-back, got %lu %s",
                 (unsigned long)e.m.writes, PW_SEC_AD);

    pw_env_modify(&e, VA4K, 3, 0, A);
    pw_env_modify(&e, VA4K, 1, 0, A | D);
    pw_expect_ok(&e, VA4K, WR, 0x4400000ull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "write with A clear in the PDPTE, A and D clear in the PTE");
    cr_assert_eq(e.m.writes, 2,
                 "the PDPTE needs A, the PTE A and D (one write each): expected 2 write-backs, "
                 "got %lu %s",
                 (unsigned long)e.m.writes, PW_SEC_AD);

    /* Page tables in read-only memory: pw_write_entry refuses the write-back with VLAB_EINVAL,
     * and pw_translate returns that error unchanged (pagewalk.h), not VLAB_OK. */
    pw_env_modify(&e, VA4K, 1, 0, A);
    e.mem.region[0].flags |= VLAB_MEM_READONLY;
    struct pw_result r;
    int rc = pw_translate(&e.m, &e.pg, e.cr3, VA4K, RD, &r);
    e.mem.region[0].flags &= ~(unsigned)VLAB_MEM_READONLY;
    cr_expect_eq(rc, VLAB_EINVAL,
                 "a read whose PTE needs A, the page tables in read-only memory: pw_write_entry "
                 "refused the write-back (VLAB_EINVAL), so expected pw_translate to return that "
                 "unchanged, got %d (%s) %s",
                 rc, vlab_strerror(rc), PW_SEC_AD);
    pw_env_fini(&e);
}

/* A PML4 slot that points back at the PML4 (the "recursive" or "self-map" trick OSes use to
 * reach their own page tables): one entry then serves at several levels of one walk. */
Test(pagewalk, ad_self_map, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA4K, 0x4400000ull, X86_PAGE_SIZE, RWU); /* PML4 slot 1 */
    const unsigned self = 510;
    const uint64_t self_gpa = e.cr3 + 8 * self, pml4e1 = e.cr3 + 8;
    const uint64_t self_val = e.cr3 | X86_PTE_P | X86_PTE_RW;
    pw_env_poke(&e, self_gpa, self_val);
    const uint64_t pml4e1_val = pw_env_peek(&e, pml4e1);

    /* 510/510/510/1: the PML4 is used as PDPT, PD and PT; its slot 1 is the leaf, whose frame
     * is the PDPT of VA4K. */
    uint64_t va = x86_canonicalize((uint64_t)self << 39 | (uint64_t)self << 30 |
                                   (uint64_t)self << 21 | 1ull << 12);
    pw_expect_ok(&e, va + 0x10, RD, (pml4e1_val & X86_PTE_ADDR_MASK) + 0x10, X86_PAGE_SIZE,
                 PW_SEC_AD, "read through the self-map slot %u three times", self);
    pw_expect_entry(&e, self_gpa, self_val | A, PW_SEC_AD,
                    "the self-map entry served as PML4E, PDPTE and PDE: A set");
    pw_expect_entry(&e, pml4e1, pml4e1_val | A, PW_SEC_AD,
                    "PML4 slot 1 served as the PTE of a read: A set, no D");
    cr_assert_eq(e.m.writes, 2,
                 "two distinct entries changed: expected 2 write-backs (one per entry, however "
                 "many levels used it), got %lu %s",
                 (unsigned long)e.m.writes, PW_SEC_AD);

    /* 510/510/510/510: one entry is all four levels; a write needs A and D in it. */
    pw_env_poke(&e, self_gpa, self_val);
    va = x86_canonicalize((uint64_t)self << 39 | (uint64_t)self << 30 | (uint64_t)self << 21 |
                          (uint64_t)self << 12);
    pw_expect_ok(&e, va + 0x18, WR, e.cr3 + 0x18, X86_PAGE_SIZE, PW_SEC_AD,
                 "write through the self-map slot at all four levels");
    pw_expect_entry(&e, self_gpa, self_val | A | D, PW_SEC_AD,
                    "the self-map entry was every level, the leaf of a write: A and D");
    cr_assert_eq(e.m.writes, 1,
                 "one entry changed: expected 1 write-back with both A and D, got %lu %s",
                 (unsigned long)e.m.writes, PW_SEC_AD);
    pw_env_fini(&e);
}
