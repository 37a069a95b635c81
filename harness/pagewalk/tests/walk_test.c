/* Task 1: the walk itself: indices, leaves of every size, offsets, not-present entries,
 * non-canonical addresses. All tables here are fully permissive and free of reserved bits. */
#include "pw_test.h"

#define RD  VLAB_ACC_READ
#define WR  VLAB_ACC_WRITE
#define EX  VLAB_ACC_FETCH
#define USR VLAB_ACC_USER
#define RWU (X86_PTE_RW | X86_PTE_US)

/* Indices 1, 2, 3, 4 at levels 4..1: a shift or mask off by one lands on a different slot. */
#define VA4K 0x0000008080604000ull
#define VA2M 0x0000008080600000ull
#define VA1G 0x0000008080000000ull

static uint64_t va_idx(unsigned l4, unsigned l3, unsigned l2, unsigned l1) {
    return x86_canonicalize((uint64_t)l4 << 39 | (uint64_t)l3 << 30 | (uint64_t)l2 << 21 |
                            (uint64_t)l1 << 12);
}

Test(pagewalk, walk_4k_read, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    /* Neighbours that differ from VA4K in one index each, every one mapped to its own frame. */
    const uint64_t va[] = {va_idx(1, 2, 3, 4), va_idx(1, 2, 3, 5), va_idx(1, 2, 4, 4),
                           va_idx(1, 3, 3, 4), va_idx(2, 2, 3, 4), va_idx(0, 0, 0, 0)};
    const int n = sizeof va / sizeof va[0];
    for (int i = 0; i < n; i++)
        pw_env_map(&e, va[i], 0x7a000000ull + 0x11000ull * i, 4096, RWU);
    for (int i = 0; i < n; i++)
        pw_expect_ok(&e, va[i], RD, 0x7a000000ull + 0x11000ull * i, X86_PAGE_SIZE, PW_SEC_WALK,
                     "read of the 4 KiB page at %#lx (indices %u/%u/%u/%u)", (unsigned long)va[i],
                     x86_pt_index(va[i], 4), x86_pt_index(va[i], 3), x86_pt_index(va[i], 2),
                     x86_pt_index(va[i], 1));
    pw_env_fini(&e);
}

Test(pagewalk, walk_2m_read, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA2M, 0x3e400000ull, X86_PAGE_2M, RWU);
    pw_env_map(&e, VA2M + X86_PAGE_2M, 0x12200000ull, X86_PAGE_2M, RWU);
    pw_expect_ok(&e, VA2M + 0x12345, RD, 0x3e400000ull + 0x12345, X86_PAGE_2M, PW_SEC_LEAF,
                 "read inside a 2 MiB page (PS=1 in the PDE)");
    pw_expect_ok(&e, VA2M + X86_PAGE_2M + 0x1abcde, RD, 0x12200000ull + 0x1abcde, X86_PAGE_2M,
                 PW_SEC_LEAF, "read inside the next 2 MiB page");
    pw_env_fini(&e);
}

Test(pagewalk, walk_1g_read, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA1G, 0x1c0000000ull, X86_PAGE_1G, RWU);
    pw_env_map(&e, VA1G + X86_PAGE_1G, 0x40000000ull, X86_PAGE_1G, RWU);
    pw_expect_ok(&e, VA1G + 0x12345678, RD, 0x1c0000000ull + 0x12345678, X86_PAGE_1G, PW_SEC_LEAF,
                 "read inside a 1 GiB page (PS=1 in the PDPTE)");
    pw_expect_ok(&e, VA1G + X86_PAGE_1G + 0x3fedcba9, RD, 0x40000000ull + 0x3fedcba9, X86_PAGE_1G,
                 PW_SEC_LEAF, "read inside the next 1 GiB page");
    pw_env_fini(&e);
}

Test(pagewalk, walk_offsets, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    const struct {
        uint64_t va, pa, size;
    } m[] = {{VA4K, 0x5555000ull, X86_PAGE_SIZE},
             {VA2M + X86_PAGE_1G, 0x7fe00000ull, X86_PAGE_2M},
             {VA1G + 4 * X86_PAGE_1G, 0x3c0000000ull, X86_PAGE_1G}};
    for (int i = 0; i < 3; i++)
        pw_env_map(&e, m[i].va, m[i].pa, m[i].size, RWU);
    for (int i = 0; i < 3; i++) {
        const uint64_t off[] = {
            0, 1, 0x7, 0xfff, m[i].size / 2 + 0x123, m[i].size - 8, m[i].size - 1};
        for (unsigned k = 0; k < sizeof off / sizeof off[0]; k++) {
            if (off[k] >= m[i].size) continue;
            char sz[32];
            pw_expect_ok(&e, m[i].va + off[k], RD, m[i].pa + off[k], m[i].size, PW_SEC_LEAF,
                         "offset %#lx into a %s page", (unsigned long)off[k],
                         pw_size_str(m[i].size, sz, sizeof sz));
        }
    }
    pw_env_fini(&e);
}

Test(pagewalk, walk_high_half, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    const uint64_t kva = 0xffff800000000000ull; /* PML4 index 256: the first kernel-half slot */
    const uint64_t top4k = 0xfffffffffffff000ull, top2m = 0xffffffffffc00000ull;
    pw_env_map(&e, kva, 0x1000000ull, X86_PAGE_2M, RWU);
    pw_env_map(&e, top4k, 0x2468a000ull, X86_PAGE_SIZE, RWU);
    pw_env_map(&e, top2m, 0x2000000ull, X86_PAGE_2M, RWU);
    pw_expect_ok(&e, kva + 0x1234, RD, 0x1001234ull, X86_PAGE_2M, PW_SEC_CANON,
                 "read at the bottom of the kernel half (PML4 index 256)");
    pw_expect_ok(&e, 0xffffffffffffffffull, RD, 0x2468afffull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "read of the very last byte of the address space (indices 511/511/511/511)");
    pw_expect_ok(&e, top2m + 0x1fffff, RD, 0x21fffffull, X86_PAGE_2M, PW_SEC_LEAF,
                 "read at the end of the 2 MiB page at PDE index 510");
    pw_env_fini(&e);
}

Test(pagewalk, walk_cr3_ignored_bits, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA4K, 0x9abc000ull, X86_PAGE_SIZE, RWU);
    uint64_t root = e.cr3;
    e.cr3 = root | X86_PTE_PWT | X86_PTE_PCD | 0xfe7;
    pw_expect_ok(&e, VA4K + 0x10, RD, 0x9abc010ull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "cr3 %#lx has PCD, PWT and other low bits set: the PML4 is at %#lx",
                 (unsigned long)e.cr3, (unsigned long)root);
    e.pg.maxphyaddr = 40;
    e.cr3 = root | 1ull << 45 | 1ull << 63;
    pw_expect_ok(&e, VA4K + 0x10, RD, 0x9abc010ull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "cr3 %#lx has bits above MAXPHYADDR=40 set: the PML4 is at %#lx",
                 (unsigned long)e.cr3, (unsigned long)root);
    pw_env_fini(&e);
}

Test(pagewalk, walk_not_present_each_level, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA4K, 0x9000ull, X86_PAGE_SIZE, RWU);
    pw_expect_pf(&e, va_idx(5, 2, 3, 4), RD, 0, 4, PW_SEC_NP,
                 "read through an empty PML4 slot (index 5)");
    pw_expect_pf(&e, va_idx(1, 6, 3, 4), RD, 0, 3, PW_SEC_NP,
                 "read through an empty PDPT slot (index 6)");
    pw_expect_pf(&e, va_idx(1, 2, 7, 4), RD, 0, 2, PW_SEC_NP,
                 "read through an empty PD slot (index 7)");
    pw_expect_pf(&e, va_idx(1, 2, 3, 8), RD, 0, 1, PW_SEC_NP,
                 "read of a page whose PTE (index 8) is empty");
    /* P=0 makes the CPU ignore every other bit of the entry. */
    for (int level = 4; level >= 1; level--) {
        uint64_t gpa = pw_env_slot(&e, VA4K, level), saved = pw_env_peek(&e, gpa);
        pw_env_poke(&e, gpa, saved & ~X86_PTE_P);
        pw_expect_pf(&e, VA4K, RD, 0, level, PW_SEC_NP,
                     "read after clearing only P in the %s (the other bits still look valid)",
                     pw_level_str(level));
        pw_env_poke(&e, gpa, saved);
    }
    pw_expect_ok(&e, VA4K, RD, 0x9000ull, X86_PAGE_SIZE, PW_SEC_WALK,
                 "read after restoring every entry");
    pw_env_fini(&e);
}

Test(pagewalk, walk_not_present_error_code, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    const uint64_t va = va_idx(1, 2, 3, 4); /* nothing mapped: the PML4E is empty */
    const struct {
        unsigned access;
        bool nxe, smep;
        uint32_t pf;
    } c[] = {
        {RD, true, false, 0},
        {WR, true, false, X86_PF_W},
        {RD | USR, true, false, X86_PF_U},
        {WR | USR, true, false, X86_PF_W | X86_PF_U},
        {EX, true, false, X86_PF_I},
        {EX | USR, true, false, X86_PF_I | X86_PF_U},
        {EX, false, false, 0}, /* I is reported only if NX or SMEP could make a fetch fault */
        {EX | USR, false, false, X86_PF_U},
        {EX, false, true, X86_PF_I},
        {EX | USR, false, true, X86_PF_I | X86_PF_U},
        {WR | USR, false, true, X86_PF_W | X86_PF_U},
    };
    for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
        e.pg = vlab_paging_long_mode();
        if (!c[i].nxe) e.pg.efer &= ~X86_EFER_NXE;
        if (c[i].smep) e.pg.cr4 |= X86_CR4_SMEP;
        pw_expect_pf(&e, va, c[i].access, c[i].pf, 4, PW_SEC_NP,
                     "%s of an unmapped address with EFER.NXE=%d CR4.SMEP=%d",
                     pw_access_str(c[i].access), c[i].nxe, c[i].smep);
    }
    pw_env_fini(&e);
}

Test(pagewalk, walk_noncanonical_gp, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, 0, 0x100000000ull, X86_PAGE_1G, RWU); /* so a masked address would succeed */
    const uint64_t bad[] = {0x0000800000000000ull, 0xffff7fffffffffffull, 0x8000000000000000ull,
                            0x0001000000001000ull, 0x7fffffffffffffffull, 0xfffe000000000000ull};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pw_expect_rc(&e, bad[i], RD, VLAB_ENONCANON, PW_SEC_CANON,
                     "%#lx is not canonical (bits 63:47 are not all equal)", (unsigned long)bad[i]);
        cr_assert_eq(e.m.nrefs, 0u,
                     "%#lx is not canonical: expected no page-table reference (the CPU raises "
                     "#GP before walking), got %u %s",
                     (unsigned long)bad[i], e.m.nrefs, PW_SEC_CANON);
    }
    /* The canonical edges themselves are ordinary addresses: a range check one off refuses them. */
    pw_env_map(&e, 0x00007ffffffff000ull, 0x5a5a5000ull, X86_PAGE_SIZE, RWU);
    pw_env_map(&e, 0xffff800000000000ull, 0x6b6b6000ull, X86_PAGE_SIZE, RWU);
    pw_expect_ok(&e, 0x00007fffffffffffull, RD, 0x5a5a5fffull, X86_PAGE_SIZE, PW_SEC_CANON,
                 "read of the last byte of the lower half, 0x00007fffffffffff (canonical: bits "
                 "63:47 all 0)");
    pw_expect_ok(&e, 0xffff800000000000ull, RD, 0x6b6b6000ull, X86_PAGE_SIZE, PW_SEC_CANON,
                 "read of the first byte of the upper half, 0xffff800000000000 (canonical: bits "
                 "63:47 all 1)");
    pw_env_fini(&e);
}

Test(pagewalk, walk_many_mappings, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    /* A mix that shares tables: 64 small pages in two PTs, 8 large pages, 2 huge ones. */
    for (unsigned i = 0; i < 64; i++)
        pw_env_map(&e, va_idx(3, 1, i % 2, 7 * i % 512), 0x40000000ull + 0x1000ull * i,
                   X86_PAGE_SIZE, RWU);
    for (unsigned i = 0; i < 8; i++)
        pw_env_map(&e, va_idx(3, 1, 8 + 3 * i, 0), 0x80000000ull + X86_PAGE_2M * (7 - i),
                   X86_PAGE_2M, RWU);
    pw_env_map(&e, va_idx(3, 5, 0, 0), 0xc0000000ull, X86_PAGE_1G, RWU);
    pw_env_map(&e, va_idx(300, 5, 0, 0), 0x100000000ull, X86_PAGE_1G, RWU);
    for (unsigned i = 0; i < 64; i++)
        pw_expect_ok(&e, va_idx(3, 1, i % 2, 7 * i % 512) + i, RD,
                     0x40000000ull + 0x1000ull * i + i, X86_PAGE_SIZE, PW_SEC_WALK,
                     "small page %u of 64", i);
    for (unsigned i = 0; i < 8; i++)
        pw_expect_ok(&e, va_idx(3, 1, 8 + 3 * i, 0) + 0x1000 * i, RD,
                     0x80000000ull + X86_PAGE_2M * (7 - i) + 0x1000 * i, X86_PAGE_2M, PW_SEC_LEAF,
                     "2 MiB page %u of 8", i);
    pw_expect_ok(&e, va_idx(3, 5, 0, 0) + 0x2abcdef0, RD, 0xc0000000ull + 0x2abcdef0, X86_PAGE_1G,
                 PW_SEC_LEAF, "the first 1 GiB page");
    pw_expect_ok(&e, va_idx(300, 5, 0, 0) + 0x3ff, RD, 0x1000003ffull, X86_PAGE_1G, PW_SEC_LEAF,
                 "the kernel-half 1 GiB page");
    pw_env_fini(&e);
}
