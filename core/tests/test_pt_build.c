#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "vlab/err.h"
#include "vlab/gpmem.h"
#include "vlab/pt.h"

#define RAM_SIZE   0x800000ull /* 8 MiB */
#define POOL_START 0x100000ull
#define POOL_END   0x200000ull
#define PRW        (X86_PTE_P | X86_PTE_RW | X86_PTE_US)

static struct vlab_gpmem mem;
static struct vlab_pt_builder b;
static uint64_t cr3;

static void setup(void) {
    vlab_gpmem_init(&mem);
    cr_assert_eq(vlab_gpmem_add_ram(&mem, 0, RAM_SIZE, "ram"), VLAB_OK, "expected RAM added");
    int rc = vlab_pt_builder_init(&b, &mem, POOL_START, POOL_END);
    cr_assert_eq(rc, VLAB_OK, "expected builder init OK, got %d", rc);
    rc = vlab_pt_new_root(&b, &cr3);
    cr_assert_eq(rc, VLAB_OK, "expected a root table, got %d", rc);
}
static void teardown(void) {
    vlab_gpmem_destroy(&mem);
}

static uint64_t rd(uint64_t gpa) {
    uint64_t v = 0;
    cr_assert_eq(vlab_gpmem_read_u64(&mem, gpa, &v), VLAB_OK, "expected to read gpa %#llx",
                 (unsigned long long)gpa);
    return v;
}

/* Translates through the reference walker with the most permissive user access. */
static int translate(uint64_t gva, unsigned acc, struct vlab_walk *w) {
    struct vlab_paging pg = vlab_paging_long_mode();
    return vlab_pt_walk(&mem, &pg, cr3, gva, acc, 0, w);
}

static void expect_maps(uint64_t gva, uint64_t gpa, uint64_t size) {
    struct vlab_walk w;
    int rc = translate(gva, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "gva %#llx: expected a translation, got %d (code %#x level %d)",
                 (unsigned long long)gva, rc, w.pf_error, w.fault_level);
    cr_assert_eq(w.gpa, gpa, "gva %#llx: expected gpa %#llx, got %#llx", (unsigned long long)gva,
                 (unsigned long long)gpa, (unsigned long long)w.gpa);
    cr_assert_eq(w.page_size, size, "gva %#llx: expected page size %#llx, got %#llx",
                 (unsigned long long)gva, (unsigned long long)size,
                 (unsigned long long)w.page_size);
}

Test(core, pt_build_init_checks, .init = setup, .fini = teardown) {
    struct vlab_pt_builder x;
    int rc = vlab_pt_builder_init(NULL, &mem, 0, 0x1000);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL builder, got %d", rc);
    rc = vlab_pt_builder_init(&x, NULL, 0, 0x1000);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL mem, got %d", rc);
    rc = vlab_pt_builder_init(&x, &mem, 0x800, 0x2000);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a misaligned start, got %d", rc);
    rc = vlab_pt_builder_init(&x, &mem, 0x1000, 0x2800);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a misaligned end, got %d", rc);
    rc = vlab_pt_builder_init(&x, &mem, 0x2000, 0x2000);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for an empty pool, got %d", rc);
    rc = vlab_pt_builder_init(&x, &mem, 0x3000, 0x2000);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for start > end, got %d", rc);
    rc = vlab_pt_builder_init(&x, &mem, RAM_SIZE - 0x1000, RAM_SIZE + 0x1000);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a pool past RAM, got %d", rc);
    static uint8_t rom[0x2000] __attribute__((aligned(4096)));
    cr_assert_eq(vlab_gpmem_add_region(&mem, 0x10000000, sizeof rom, rom, VLAB_MEM_READONLY, "rom"),
                 VLAB_OK, "expected ROM region added");
    rc = vlab_pt_builder_init(&x, &mem, 0x10000000, 0x10002000);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a read-only pool, got %d", rc);
    cr_assert_eq(b.table_flags, PRW, "expected default table flags P|RW|US, got %#llx",
                 (unsigned long long)b.table_flags);
    cr_assert_eq(b.tables, 1, "expected 1 table (the root), got %u", b.tables);
}

Test(core, pt_build_alloc_zeroed_and_exhaustible, .init = setup, .fini = teardown) {
    cr_assert_eq(vlab_gpmem_fill(&mem, 0x300000, 0xff, 0x2000), VLAB_OK, "expected fill OK");
    struct vlab_pt_builder x;
    cr_assert_eq(vlab_pt_builder_init(&x, &mem, 0x300000, 0x302000), VLAB_OK, "expected init");
    uint64_t t1 = 0, t2 = 0, t3 = 0;
    cr_assert_eq(vlab_pt_alloc_table(&x, &t1), VLAB_OK, "expected first table");
    cr_assert_eq(vlab_pt_alloc_table(&x, &t2), VLAB_OK, "expected second table");
    int rc = vlab_pt_alloc_table(&x, &t3);
    cr_assert_eq(rc, VLAB_ENOMEM, "expected ENOMEM from an exhausted pool, got %d", rc);
    cr_assert_eq(t1, 0x300000, "expected first table at 0x300000, got %#llx",
                 (unsigned long long)t1);
    cr_assert_eq(t2, 0x301000, "expected second table at 0x301000, got %#llx",
                 (unsigned long long)t2);
    cr_assert_eq(x.tables, 2, "expected 2 tables counted, got %u", x.tables);
    for (uint64_t off = 0; off < 0x2000; off += 8)
        cr_assert_eq(rd(0x300000 + off), 0, "expected zeroed table at +%#llx",
                     (unsigned long long)off);
    rc = vlab_pt_alloc_table(&x, NULL);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL out, got %d", rc);
}

Test(core, pt_build_map_4k, .init = setup, .fini = teardown) {
    uint64_t gva = 0x00007f1234567000ull, gpa = 0x5000;
    int rc = vlab_pt_map(&b, cr3, gva, gpa, X86_PAGE_SIZE, X86_PTE_RW | X86_PTE_US | X86_PTE_NX);
    cr_assert_eq(rc, VLAB_OK, "expected map OK, got %d", rc);
    cr_assert_eq(b.tables, 4, "expected root + 3 new tables, got %u", b.tables);
    expect_maps(gva | 0x9ab, gpa | 0x9ab, X86_PAGE_SIZE);
    struct vlab_walk w;
    translate(gva, 0, &w);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(w.entry[i] & 0xfff, PRW, "level %d: expected table flags P|RW|US, got %#llx",
                     4 - i, (unsigned long long)(w.entry[i] & 0xfff));
    uint64_t want = gpa | PRW | X86_PTE_NX;
    cr_assert_eq(w.entry[3], want, "expected leaf %#llx, got %#llx", (unsigned long long)want,
                 (unsigned long long)w.entry[3]);
    /* A neighbour in the same PT reuses every table. */
    rc = vlab_pt_map(&b, cr3, gva + 0x1000, 0x6000, X86_PAGE_SIZE, 0);
    cr_assert_eq(rc, VLAB_OK, "expected neighbour map OK, got %d", rc);
    cr_assert_eq(b.tables, 4, "expected no new table, got %u tables", b.tables);
    rc = translate(gva + 0x1000, VLAB_ACC_WRITE, &w);
    cr_assert_eq(rc, VLAB_EPF, "expected a read-only leaf to refuse writes, got %d", rc);
}

Test(core, pt_build_map_large, .init = setup, .fini = teardown) {
    int rc = vlab_pt_map(&b, cr3, 0xffff800000000000ull, 0x40000000, X86_PAGE_1G, X86_PTE_RW);
    cr_assert_eq(rc, VLAB_OK, "expected 1 GiB map OK, got %d", rc);
    expect_maps(0xffff800012345678ull, 0x52345678, X86_PAGE_1G);
    rc = vlab_pt_map(&b, cr3, 0x200000, 0x400000, X86_PAGE_2M, X86_PTE_RW | X86_PTE_PAT_LARGE);
    cr_assert_eq(rc, VLAB_OK, "expected 2 MiB map OK, got %d", rc);
    expect_maps(0x2abcde, 0x4abcde, X86_PAGE_2M);
    struct vlab_walk w;
    translate(0x200000, 0, &w);
    uint64_t want = 0x400000 | X86_PTE_P | X86_PTE_RW | X86_PTE_PS | X86_PTE_PAT_LARGE;
    cr_assert_eq(w.entry[2], want, "expected PDE %#llx, got %#llx", (unsigned long long)want,
                 (unsigned long long)w.entry[2]);
}

Test(core, pt_build_map_rejects_bad_arguments, .init = setup, .fini = teardown) {
    struct {
        const char *what;
        uint64_t gva, gpa, size, flags;
    } bad[] = {
        {"bad size", 0x1000, 0x1000, 0x2000, 0},
        {"misaligned gva", 0x1800, 0x1000, X86_PAGE_SIZE, 0},
        {"misaligned gpa", 0x1000, 0x1008, X86_PAGE_SIZE, 0},
        {"2 MiB misaligned gva", 0x201000, 0x200000, X86_PAGE_2M, 0},
        {"1 GiB misaligned gpa", 0x40000000, 0x200000, X86_PAGE_1G, 0},
        {"non-canonical gva", 0x0000800000000000ull, 0x1000, X86_PAGE_SIZE, 0},
        {"gpa beyond 52 bits", 0x1000, 1ull << 52, X86_PAGE_SIZE, 0},
        {"flags in the frame field", 0x1000, 0x1000, X86_PAGE_SIZE, 1ull << 20},
        {"flags in a 2 MiB frame", 0x200000, 0x200000, X86_PAGE_2M, 1ull << 21},
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = vlab_pt_map(&b, cr3, bad[i].gva, bad[i].gpa, bad[i].size, bad[i].flags);
        cr_assert_eq(rc, VLAB_EINVAL, "%s: expected EINVAL, got %d", bad[i].what, rc);
    }
    cr_assert_eq(b.tables, 1, "expected nothing allocated, got %u tables", b.tables);
    int rc = vlab_pt_map(NULL, cr3, 0, 0, X86_PAGE_SIZE, 0);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL builder, got %d", rc);
}

/* Only the frame field is refused in leaf_flags: a large leaf's reserved bits (20:13 of a 2 MiB
 * leaf, 29:13 of a 1 GiB one) are written as given, so a test can build the entry that makes
 * the walk fault with RSVD. */
Test(core, pt_build_large_leaf_reserved_bits_kept, .init = setup, .fini = teardown) {
    const struct {
        uint64_t gva, size, flag;
        int level;
    } c[] = {
        {0x40000000, X86_PAGE_1G, 1ull << 21, 3},
        {0x40000000, X86_PAGE_1G, 1ull << 29, 3},
        {0x200000, X86_PAGE_2M, 1ull << 13, 2},
        {0x200000, X86_PAGE_2M, 1ull << 20, 2},
    };
    for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (i) { /* a fresh VM per case: .init made the first */
            teardown();
            setup();
        }
        int rc = vlab_pt_map(&b, cr3, c[i].gva, c[i].gva, c[i].size, c[i].flag);
        cr_assert_eq(rc, VLAB_OK, "expected reserved bit %#llx kept in a %#llx leaf, got %d",
                     (unsigned long long)c[i].flag, (unsigned long long)c[i].size, rc);
        struct vlab_walk w;
        rc = translate(c[i].gva, VLAB_ACC_READ, &w);
        cr_assert_eq(rc, VLAB_EPF, "expected the reserved bit to fault, got %d", rc);
        cr_assert(w.pf_error & X86_PF_RSVD, "expected RSVD in the error code %#x", w.pf_error);
        cr_assert_eq(w.fault_level, c[i].level, "expected the leaf at level %d to fault, got %d",
                     c[i].level, w.fault_level);
    }
}

Test(core, pt_build_map_eexist, .init = setup, .fini = teardown) {
    cr_assert_eq(vlab_pt_map(&b, cr3, 0x1000, 0x1000, X86_PAGE_SIZE, 0), VLAB_OK, "expected map");
    int rc = vlab_pt_map(&b, cr3, 0x1000, 0x2000, X86_PAGE_SIZE, 0);
    cr_assert_eq(rc, VLAB_EEXIST, "expected EEXIST for the same 4 KiB slot, got %d", rc);
    rc = vlab_pt_map(&b, cr3, 0, 0, X86_PAGE_2M, 0);
    cr_assert_eq(rc, VLAB_EEXIST, "expected EEXIST for a 2 MiB leaf over a PT, got %d", rc);
    rc = vlab_pt_map(&b, cr3, 0, 0, X86_PAGE_1G, 0);
    cr_assert_eq(rc, VLAB_EEXIST, "expected EEXIST for a 1 GiB leaf over a PD, got %d", rc);
    cr_assert_eq(vlab_pt_map(&b, cr3, 0x40000000, 0, X86_PAGE_1G, 0), VLAB_OK, "expected 1G");
    rc = vlab_pt_map(&b, cr3, 0x40200000, 0, X86_PAGE_2M, 0);
    cr_assert_eq(rc, VLAB_EEXIST, "expected EEXIST for 2 MiB under a 1 GiB leaf, got %d", rc);
    rc = vlab_pt_map(&b, cr3, 0x40001000, 0, X86_PAGE_SIZE, 0);
    cr_assert_eq(rc, VLAB_EEXIST, "expected EEXIST for 4 KiB under a 1 GiB leaf, got %d", rc);
    cr_assert_eq(vlab_pt_map(&b, cr3, 0x80000000, 0, X86_PAGE_2M, 0), VLAB_OK, "expected 2M");
    rc = vlab_pt_map(&b, cr3, 0x80003000, 0, X86_PAGE_SIZE, 0);
    cr_assert_eq(rc, VLAB_EEXIST, "expected EEXIST for 4 KiB under a 2 MiB leaf, got %d", rc);
    expect_maps(0x1000, 0x1000, X86_PAGE_SIZE);
}

Test(core, pt_build_table_flags_narrowed, .init = setup, .fini = teardown) {
    b.table_flags = X86_PTE_RW; /* no US; P is implied */
    cr_assert_eq(vlab_pt_map(&b, cr3, 0x1000, 0x1000, X86_PAGE_SIZE, X86_PTE_RW | X86_PTE_US),
                 VLAB_OK, "expected map");
    struct vlab_walk w;
    int rc = translate(0x1000, VLAB_ACC_USER, &w);
    cr_assert_eq(rc, VLAB_EPF, "expected a user access to fault, got %d", rc);
    cr_assert_eq(w.pf_error, X86_PF_P | X86_PF_U, "expected P|U, got %#x", w.pf_error);
    rc = translate(0x1000, VLAB_ACC_WRITE, &w);
    cr_assert_eq(rc, VLAB_OK, "expected a supervisor write to succeed, got %d", rc);
    cr_assert_eq(w.entry[0] & 0xfff, X86_PTE_P | X86_PTE_RW, "expected PML4E flags P|RW, got %#llx",
                 (unsigned long long)(w.entry[0] & 0xfff));
}

Test(core, pt_build_out_of_pool, .init = setup, .fini = teardown) {
    struct vlab_pt_builder x;
    uint64_t root;
    cr_assert_eq(vlab_pt_builder_init(&x, &mem, 0x300000, 0x302000), VLAB_OK, "expected init");
    cr_assert_eq(vlab_pt_new_root(&x, &root), VLAB_OK, "expected root");
    int rc = vlab_pt_map(&x, root, 0x1000, 0x1000, X86_PAGE_SIZE, 0);
    cr_assert_eq(rc, VLAB_ENOMEM, "expected ENOMEM with one spare table page, got %d", rc);
    rc = vlab_pt_map(&x, RAM_SIZE, 0x1000, 0x1000, X86_PAGE_SIZE, 0);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a root outside memory, got %d", rc);
}

Test(core, pt_build_map_range_largest_leaves, .init = setup, .fini = teardown) {
    /* 1 GiB + 2 MiB + 4 KiB from a 1 GiB-aligned start: exactly one leaf of each size. */
    uint64_t base = 0x40000000, len = X86_PAGE_1G + X86_PAGE_2M + X86_PAGE_SIZE;
    int rc = vlab_pt_map_range(&b, cr3, base, base, len, X86_PTE_RW);
    cr_assert_eq(rc, VLAB_OK, "expected map_range OK, got %d", rc);
    expect_maps(base + 0x12345, base + 0x12345, X86_PAGE_1G);
    expect_maps(base + X86_PAGE_1G + 0x1234, base + X86_PAGE_1G + 0x1234, X86_PAGE_2M);
    expect_maps(base + X86_PAGE_1G + X86_PAGE_2M + 0x10, base + X86_PAGE_1G + X86_PAGE_2M + 0x10,
                X86_PAGE_SIZE);
    struct vlab_walk w;
    rc = translate(base + len, 0, &w);
    cr_assert_eq(rc, VLAB_EPF, "expected the byte after the range unmapped, got %d", rc);
    /* root + PDPT + PD + PT */
    cr_assert_eq(b.tables, 4, "expected 4 tables, got %u", b.tables);

    /* gva 2 MiB-aligned but gpa only 4 KiB-aligned: 4 KiB leaves throughout. */
    rc = vlab_pt_map_range(&b, cr3, 0x200000000ull, 0x1000, X86_PAGE_2M, 0);
    cr_assert_eq(rc, VLAB_OK, "expected map_range OK, got %d", rc);
    expect_maps(0x200000000ull, 0x1000, X86_PAGE_SIZE);
    expect_maps(0x2001ff000ull, 0x200000, X86_PAGE_SIZE);

    /* A range that becomes 2 MiB-aligned partway: small leaves first, then a large one. */
    rc = vlab_pt_map_range(&b, cr3, 0x3001ff000ull, 0x5ff000, 0x201000, 0);
    cr_assert_eq(rc, VLAB_OK, "expected map_range OK, got %d", rc);
    expect_maps(0x3001ff000ull, 0x5ff000, X86_PAGE_SIZE);
    expect_maps(0x300200000ull, 0x600000, X86_PAGE_2M);

    /* gva 1 GiB-aligned, gpa only 2 MiB-aligned: 2 MiB leaves, a 1 GiB one cannot map it. */
    rc = vlab_pt_map_range(&b, cr3, 0x500000000ull, 0x80200000ull, X86_PAGE_1G, 0);
    cr_assert_eq(rc, VLAB_OK, "expected map_range OK with a gpa aligned to 2 MiB only, got %d", rc);
    expect_maps(0x500000000ull + 0x3fffffff, 0x80200000ull + 0x3fffffff, X86_PAGE_2M);

    /* Exactly 1 GiB left at a 1 GiB boundary: one large leaf, as with exactly 2 MiB above. */
    rc = vlab_pt_map_range(&b, cr3, 0x400000000ull, 0x80000000ull, X86_PAGE_1G, 0);
    cr_assert_eq(rc, VLAB_OK, "expected map_range OK, got %d", rc);
    expect_maps(0x400000000ull + 0x3fffffff, 0x80000000ull + 0x3fffffff, X86_PAGE_1G);
}

Test(core, pt_build_map_range_rejects, .init = setup, .fini = teardown) {
    int rc = vlab_pt_map_range(&b, cr3, 0x1000, 0x1000, 0x1800, 0);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a partial page, got %d", rc);
    rc = vlab_pt_map_range(&b, cr3, 0x1001, 0x1000, 0x1000, 0);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a misaligned gva, got %d", rc);
    rc = vlab_pt_map_range(&b, cr3, 0x00007ffffffff000ull, 0x1000, 0x2000, 0);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a range crossing the hole, got %d", rc);
    rc = vlab_pt_map_range(&b, cr3, 0xfffffffffffff000ull, 0x1000, 0x2000, 0);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a gva range wrapping, got %d", rc);
    rc = vlab_pt_map_range(&b, cr3, 0x1000, 0xfffffffffffff000ull, 0x2000, 0);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a gpa range wrapping, got %d", rc);
    cr_assert_eq(b.tables, 1, "expected nothing allocated, got %u tables", b.tables);
    rc = vlab_pt_map_range(&b, cr3, 0xfffffffffffff000ull, 0x1000, 0x1000, 0);
    cr_assert_eq(rc, VLAB_OK, "expected the very last page mappable, got %d", rc);
    expect_maps(0xffffffffffffffffull, 0x1fff, X86_PAGE_SIZE);
}

Test(core, pt_build_unmap, .init = setup, .fini = teardown) {
    cr_assert_eq(vlab_pt_map(&b, cr3, 0x1000, 0x1000, X86_PAGE_SIZE, 0), VLAB_OK, "map 4K");
    cr_assert_eq(vlab_pt_map(&b, cr3, 0x200000, 0, X86_PAGE_2M, 0), VLAB_OK, "map 2M");
    cr_assert_eq(vlab_pt_map(&b, cr3, 0x40000000, 0, X86_PAGE_1G, 0), VLAB_OK, "map 1G");
    uint64_t gvas[] = {0x1000, 0x234000, 0x40001000};
    int levels[] = {1, 2, 3};
    for (int i = 0; i < 3; i++) {
        int rc = vlab_pt_unmap(&b, cr3, gvas[i]);
        cr_assert_eq(rc, VLAB_OK, "gva %#llx: expected unmap OK, got %d",
                     (unsigned long long)gvas[i], rc);
        struct vlab_walk w;
        rc = translate(gvas[i], 0, &w);
        cr_assert_eq(rc, VLAB_EPF, "gva %#llx: expected #PF after unmap, got %d",
                     (unsigned long long)gvas[i], rc);
        cr_assert_eq(w.fault_level, levels[i], "expected not-present at level %d, got %d",
                     levels[i], w.fault_level);
        rc = vlab_pt_unmap(&b, cr3, gvas[i]);
        cr_assert_eq(rc, VLAB_ENOENT, "expected ENOENT on a second unmap, got %d", rc);
    }
    int rc = vlab_pt_unmap(&b, cr3, 0x7f0000000000ull);
    cr_assert_eq(rc, VLAB_ENOENT, "expected ENOENT for a never-mapped gva, got %d", rc);
    rc = vlab_pt_unmap(&b, cr3, 0x0000800000000000ull);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a non-canonical gva, got %d", rc);
    /* The tables stay: remapping the 4 KiB page allocates nothing. */
    unsigned tables = b.tables;
    cr_assert_eq(vlab_pt_map(&b, cr3, 0x1000, 0x9000, X86_PAGE_SIZE, 0), VLAB_OK, "remap");
    cr_assert_eq(b.tables, tables, "expected no new table, got %u (was %u)", b.tables, tables);
}

Test(core, pt_build_entry_gpa, .init = setup, .fini = teardown) {
    uint64_t gva = 0xffffff8012345000ull;
    cr_assert_eq(vlab_pt_map(&b, cr3, gva, 0x7000, X86_PAGE_SIZE, 0), VLAB_OK, "expected map");
    struct vlab_walk w;
    cr_assert_eq(translate(gva, 0, &w), VLAB_OK, "expected translation");
    for (int level = 4; level >= 1; level--) {
        uint64_t e = 0;
        int rc = vlab_pt_entry_gpa(&mem, cr3, gva, level, &e);
        cr_assert_eq(rc, VLAB_OK, "level %d: expected OK, got %d", level, rc);
        cr_assert_eq(e, w.entry_gpa[4 - level], "level %d: expected %#llx, got %#llx", level,
                     (unsigned long long)w.entry_gpa[4 - level], (unsigned long long)e);
    }
    uint64_t e;
    int rc = vlab_pt_entry_gpa(&mem, cr3, 0x1000, 1, &e);
    cr_assert_eq(rc, VLAB_ENOENT, "expected ENOENT below a missing PML4E, got %d", rc);
    rc = vlab_pt_entry_gpa(&mem, cr3, 0x1000, 4, &e);
    cr_assert_eq(rc, VLAB_OK, "expected the PML4E address even when not present, got %d", rc);
    cr_assert_eq(e, cr3, "expected PML4E for index 0 at %#llx, got %#llx", (unsigned long long)cr3,
                 (unsigned long long)e);
    cr_assert_eq(vlab_pt_map(&b, cr3, 0x40000000, 0, X86_PAGE_1G, 0), VLAB_OK, "expected 1G");
    rc = vlab_pt_entry_gpa(&mem, cr3, 0x40000000, 2, &e);
    cr_assert_eq(rc, VLAB_ENOENT, "expected ENOENT below a 1 GiB leaf, got %d", rc);
    rc = vlab_pt_entry_gpa(&mem, cr3, 0x40000000, 3, &e);
    cr_assert_eq(rc, VLAB_OK, "expected the 1 GiB leaf's own address, got %d", rc);
    rc = vlab_pt_entry_gpa(&mem, cr3, gva, 0, &e);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for level 0, got %d", rc);
    rc = vlab_pt_entry_gpa(&mem, cr3, gva, 5, &e);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for level 5, got %d", rc);
    rc = vlab_pt_entry_gpa(&mem, cr3, gva, 1, NULL);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL out, got %d", rc);
    rc = vlab_pt_entry_gpa(&mem, cr3, 0x0000800000000000ull, 1, &e);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for a non-canonical gva, got %d", rc);
}

Test(core, pt_build_pte_str) {
    char buf[128];
    uint64_t e = 0x201000 | X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_A | X86_PTE_NX;
    const char *s = vlab_pte_str(e, buf, sizeof buf);
    cr_assert_eq(s, buf, "expected the caller's buffer returned");
    const char *want = "0x8000000000201027 P RW US A NX addr=0x201000";
    cr_assert_str_eq(s, want, "expected \"%s\", got \"%s\"", want, s);
    s = vlab_pte_str(X86_PTE_PS | X86_PTE_D, buf, sizeof buf);
    want = "0x00000000000000c0 D PS addr=0x0";
    cr_assert_str_eq(s, want, "expected \"%s\", got \"%s\"", want, s);
    char tiny[8];
    s = vlab_pte_str(e, tiny, sizeof tiny);
    cr_assert_eq(strlen(s), sizeof tiny - 1, "expected truncation to %zu chars, got \"%s\"",
                 sizeof tiny - 1, s);
    char one[1] = {'x'}; /* room for the terminator alone: still the caller's, terminated */
    s = vlab_pte_str(e, one, sizeof one);
    cr_assert(s == one && one[0] == 0, "expected the 1-byte buffer returned, emptied");
    s = vlab_pte_str(e, NULL, 0);
    cr_assert_not_null(s, "expected a non-NULL string for a NULL buffer");
}
