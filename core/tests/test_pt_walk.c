/* The walker is the grading oracle, so these tests check it against hand-written tables and an
 * independent predicate transcribed from the SDM, never against the builder or itself. */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vlab/err.h"
#include "vlab/gpmem.h"
#include "vlab/pt.h"

#define MEM_SIZE 0x400000ull
#define PML4     0x1000ull
#define PDPT     0x2000ull
#define PD       0x3000ull
#define PT       0x4000ull
#define FRAME4K  0xabcde000ull
#define FRAME2M  0x12c00000ull
#define FRAME1G  0x80000000ull
/* Distinct indices per level so a walker that mixes levels up reads the wrong slot. */
static const unsigned idx[5] = {0, 8, 7, 6, 5};
#define GVA ((5ull << 39) | (6ull << 30) | (7ull << 21) | (8ull << 12) | 0x123)
static const uint64_t table_of[5] = {0, PT, PD, PDPT, PML4};

static struct vlab_gpmem mem;

static void setup(void) {
    vlab_gpmem_init(&mem);
    cr_assert_eq(vlab_gpmem_add_ram(&mem, 0, MEM_SIZE, "ram"), VLAB_OK,
                 "expected guest RAM to be added");
}
static void teardown(void) {
    vlab_gpmem_destroy(&mem);
}

static uint64_t slot(int level) {
    return table_of[level] + idx[level] * 8;
}

static uint64_t rd(uint64_t gpa) {
    uint64_t v = 0;
    cr_assert_eq(vlab_gpmem_read_u64(&mem, gpa, &v), VLAB_OK, "expected to read gpa %#llx",
                 (unsigned long long)gpa);
    return v;
}
static void wr(uint64_t gpa, uint64_t v) {
    cr_assert_eq(vlab_gpmem_write_u64(&mem, gpa, v), VLAB_OK, "expected to write gpa %#llx",
                 (unsigned long long)gpa);
}

/* Writes the chain for GVA: f[level] holds the flag bits of each level's entry; the leaf is at
 * `leaf` (1: 4 KiB, 2: 2 MiB, 3: 1 GiB) and gets PS automatically when large. */
static void set_chain(int leaf, const uint64_t f[5]) {
    for (int l = 4; l >= leaf; l--) {
        uint64_t v;
        if (l > leaf)
            v = table_of[l - 1] | f[l];
        else if (leaf == 3)
            v = FRAME1G | X86_PTE_PS | f[l];
        else if (leaf == 2)
            v = FRAME2M | X86_PTE_PS | f[l];
        else
            v = FRAME4K | f[l];
        wr(slot(l), v);
    }
}

static void set_chain_all(int leaf, uint64_t flags) {
    uint64_t f[5] = {0, flags, flags, flags, flags};
    set_chain(leaf, f);
}

static uint64_t expected_gpa(int leaf) {
    return leaf == 3   ? FRAME1G | (GVA & (X86_PAGE_1G - 1))
           : leaf == 2 ? FRAME2M | (GVA & (X86_PAGE_2M - 1))
                       : FRAME4K | (GVA & 0xfff);
}

static struct vlab_paging lm(void) {
    struct vlab_paging pg = vlab_paging_long_mode();
    return pg;
}

static int walk(const struct vlab_paging *pg, uint64_t gva, unsigned acc, unsigned fl,
                struct vlab_walk *w) {
    return vlab_pt_walk(&mem, pg, PML4, gva, acc, fl, w);
}

#define PRW (X86_PTE_P | X86_PTE_RW | X86_PTE_US)

Test(core, pt_walk_paging_long_mode_defaults, .init = setup, .fini = teardown) {
    struct vlab_paging pg = vlab_paging_long_mode();
    uint64_t cr0 = X86_CR0_PG | X86_CR0_PE | X86_CR0_WP;
    uint64_t efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
    cr_assert_eq(pg.cr0, cr0, "expected cr0 %#llx, got %#llx", (unsigned long long)cr0,
                 (unsigned long long)pg.cr0);
    cr_assert_eq(pg.cr4, X86_CR4_PAE, "expected cr4 PAE only, got %#llx",
                 (unsigned long long)pg.cr4);
    cr_assert_eq(pg.efer, efer, "expected efer %#llx, got %#llx", (unsigned long long)efer,
                 (unsigned long long)pg.efer);
    cr_assert(pg.maxphyaddr == 0 || pg.maxphyaddr == 52, "expected maxphyaddr 0 or 52, got %u",
              pg.maxphyaddr);
}

Test(core, pt_walk_null_and_bad_arguments, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    struct vlab_walk w;
    set_chain_all(1, PRW);
    int rc = vlab_pt_walk(NULL, &pg, PML4, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL mem, got %d", rc);
    rc = vlab_pt_walk(&mem, NULL, PML4, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL paging, got %d", rc);
    rc = vlab_pt_walk(&mem, &pg, PML4, GVA, 0, 0, NULL);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for NULL walk, got %d", rc);
    rc = walk(&pg, GVA, VLAB_ACC_WRITE | VLAB_ACC_FETCH, 0, &w);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for write+fetch, got %d", rc);
    rc = walk(&pg, GVA, X86_PF_RSVD, 0, &w);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for unknown access bit, got %d", rc);
    rc = walk(&pg, GVA, 0, 0x80, &w);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for unknown walk flag, got %d", rc);
}

Test(core, pt_walk_unsupported_modes, .init = setup, .fini = teardown) {
    set_chain_all(1, PRW);
    struct {
        const char *what;
        uint64_t cr0_clear, cr4_clear, efer_clear, cr4_set;
    } cases[] = {
        {"CR0.PG=0", X86_CR0_PG, 0, 0, 0},     {"CR4.PAE=0", 0, X86_CR4_PAE, 0, 0},
        {"EFER.LMA=0", 0, 0, X86_EFER_LMA, 0}, {"CR4.LA57", 0, 0, 0, X86_CR4_LA57},
        {"CR4.PKE", 0, 0, 0, X86_CR4_PKE},     {"CR4.SMAP", 0, 0, 0, X86_CR4_SMAP},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vlab_paging pg = lm();
        pg.cr0 &= ~cases[i].cr0_clear;
        pg.cr4 &= ~cases[i].cr4_clear;
        pg.efer &= ~cases[i].efer_clear;
        pg.cr4 |= cases[i].cr4_set;
        struct vlab_walk w;
        int rc = walk(&pg, GVA, 0, 0, &w);
        cr_assert_eq(rc, VLAB_EUNSUPP, "%s: expected EUNSUPP, got %d", cases[i].what, rc);
    }
    struct vlab_paging pg = lm();
    pg.cr4 |= X86_CR4_SMEP | X86_CR4_PGE | X86_CR4_PCIDE;
    struct vlab_walk w;
    int rc = walk(&pg, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected SMEP/PGE/PCIDE to be accepted, got %d", rc);
}

Test(core, pt_walk_maxphyaddr_validation, .init = setup, .fini = teardown) {
    set_chain_all(1, PRW);
    unsigned bad[] = {1, 35, 53, 64};
    unsigned good[] = {0, 36, 40, 46, 52};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct vlab_paging pg = lm();
        pg.maxphyaddr = bad[i];
        struct vlab_walk w;
        int rc = walk(&pg, GVA, 0, 0, &w);
        cr_assert_eq(rc, VLAB_EINVAL, "maxphyaddr %u: expected EINVAL, got %d", bad[i], rc);
    }
    for (unsigned i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct vlab_paging pg = lm();
        pg.maxphyaddr = good[i];
        struct vlab_walk w;
        int rc = walk(&pg, GVA, 0, 0, &w);
        cr_assert_eq(rc, VLAB_OK, "maxphyaddr %u: expected OK, got %d", good[i], rc);
    }
}

Test(core, pt_walk_noncanonical, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    uint64_t bad[] = {0x0000800000000000ull, 0xffff7fffffffffffull, 0x8000000000000000ull,
                      0x00ff000000000000ull};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct vlab_walk w;
        memset(&w, 0xa5, sizeof w);
        int rc = walk(&pg, bad[i], 0, 0, &w);
        cr_assert_eq(rc, VLAB_ENONCANON, "gva %#llx: expected ENONCANON, got %d",
                     (unsigned long long)bad[i], rc);
        cr_assert_eq(w.levels, 0, "gva %#llx: expected no entry read, got %d levels",
                     (unsigned long long)bad[i], w.levels);
        cr_assert_eq(w.mem_reads, 0, "expected 0 reads for a #GP, got %u", w.mem_reads);
    }
    /* Lowest upper-half address: PML4 index 256, all other indices 0. */
    wr(PML4 + 256 * 8, PDPT | PRW);
    wr(PDPT, PD | PRW);
    wr(PD, PT | PRW);
    wr(PT, FRAME4K | PRW);
    struct vlab_walk w;
    int rc = walk(&pg, 0xffff800000000000ull, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected 0xffff800000000000 to translate, got %d", rc);
    cr_assert_eq(w.gpa, FRAME4K, "expected gpa %#llx, got %#llx", FRAME4K,
                 (unsigned long long)w.gpa);
    cr_assert_eq(w.entry_gpa[0], PML4 + 256 * 8, "expected PML4E at %#llx, got %#llx",
                 PML4 + 256 * 8, (unsigned long long)w.entry_gpa[0]);
    /* Highest lower-half address: PML4 index 255 (bit 47 clear), every other index 511. */
    wr(PML4 + 255 * 8, PDPT | PRW);
    wr(PDPT + 511 * 8, PD | PRW);
    wr(PD + 511 * 8, PT | PRW);
    wr(PT + 511 * 8, FRAME4K | PRW);
    rc = walk(&pg, 0x00007fffffffffffull, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK,
                 "expected 0x00007fffffffffff to translate, got %d (code %#x level %d)", rc,
                 w.pf_error, w.fault_level);
    cr_assert_eq(w.gpa, FRAME4K | 0xfff, "expected gpa %#llx, got %#llx", FRAME4K | 0xfff,
                 (unsigned long long)w.gpa);
}

Test(core, pt_walk_4k_translation, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    set_chain_all(1, PRW);
    struct vlab_walk w;
    int rc = walk(&pg, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected OK, got %d", rc);
    cr_assert_eq(w.gpa, expected_gpa(1), "expected gpa %#llx, got %#llx",
                 (unsigned long long)expected_gpa(1), (unsigned long long)w.gpa);
    cr_assert_eq(w.page_size, X86_PAGE_SIZE, "expected 4 KiB page, got %#llx",
                 (unsigned long long)w.page_size);
    cr_assert_eq(w.levels, 4, "expected 4 levels, got %d", w.levels);
    cr_assert_eq(w.mem_reads, 4, "expected 4 reads, got %u", w.mem_reads);
    cr_assert_eq(w.mem_writes, 0, "expected 0 writes, got %u", w.mem_writes);
    cr_assert_eq(w.pf_error, 0, "expected no error code, got %#x", w.pf_error);
    cr_assert_eq(w.fault_level, 0, "expected no fault level, got %d", w.fault_level);
    for (int l = 4; l >= 1; l--) {
        cr_assert_eq(w.entry_gpa[4 - l], slot(l), "level %d: expected entry gpa %#llx, got %#llx",
                     l, (unsigned long long)slot(l), (unsigned long long)w.entry_gpa[4 - l]);
        cr_assert_eq(w.entry[4 - l], rd(slot(l)), "level %d: expected entry %#llx, got %#llx", l,
                     (unsigned long long)rd(slot(l)), (unsigned long long)w.entry[4 - l]);
    }
    /* The page offset comes from the gva, every other bit from the frame. */
    rc = walk(&pg, (GVA & ~0xfffull) | 0xfff, 0, 0, &w);
    cr_assert_eq(w.gpa, FRAME4K | 0xfff, "expected gpa %#llx, got %#llx", FRAME4K | 0xfff,
                 (unsigned long long)w.gpa);
}

Test(core, pt_walk_2m_leaf, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    uint64_t f[5] = {0, 0, PRW | X86_PTE_PAT_LARGE, PRW, PRW};
    set_chain(2, f);
    struct vlab_walk w;
    int rc = walk(&pg, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected OK, got %d", rc);
    cr_assert_eq(w.gpa, expected_gpa(2), "expected gpa %#llx, got %#llx",
                 (unsigned long long)expected_gpa(2), (unsigned long long)w.gpa);
    cr_assert_eq(w.page_size, X86_PAGE_2M, "expected 2 MiB page, got %#llx",
                 (unsigned long long)w.page_size);
    cr_assert_eq(w.levels, 3, "expected 3 levels, got %d", w.levels);
    cr_assert_eq(w.mem_reads, 3, "expected 3 reads, got %u", w.mem_reads);
    cr_assert_eq(w.entry_gpa[3], 0, "expected no PTE read, got gpa %#llx",
                 (unsigned long long)w.entry_gpa[3]);
}

Test(core, pt_walk_1g_leaf, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    uint64_t f[5] = {0, 0, 0, PRW | X86_PTE_PAT_LARGE, PRW};
    set_chain(3, f);
    struct vlab_walk w;
    int rc = walk(&pg, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected OK, got %d", rc);
    cr_assert_eq(w.gpa, expected_gpa(3), "expected gpa %#llx, got %#llx",
                 (unsigned long long)expected_gpa(3), (unsigned long long)w.gpa);
    cr_assert_eq(w.page_size, X86_PAGE_1G, "expected 1 GiB page, got %#llx",
                 (unsigned long long)w.page_size);
    cr_assert_eq(w.levels, 2, "expected 2 levels, got %d", w.levels);
    cr_assert_eq(w.mem_reads, 2, "expected 2 reads, got %u", w.mem_reads);
}

Test(core, pt_walk_ps_in_pte_is_pat, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    set_chain_all(1, PRW);
    wr(slot(1), FRAME4K | PRW | X86_PTE_PAT);
    struct vlab_walk w;
    int rc = walk(&pg, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected bit 7 of a PTE (PAT) to be fine, got %d", rc);
    cr_assert_eq(w.page_size, X86_PAGE_SIZE, "expected 4 KiB page, got %#llx",
                 (unsigned long long)w.page_size);
}

static const unsigned all_accesses[6] = {
    VLAB_ACC_READ,
    VLAB_ACC_WRITE,
    VLAB_ACC_FETCH,
    VLAB_ACC_USER | VLAB_ACC_READ,
    VLAB_ACC_USER | VLAB_ACC_WRITE,
    VLAB_ACC_USER | VLAB_ACC_FETCH,
};

static uint32_t acc_code(unsigned acc, bool nxe, bool smep) {
    uint32_t c = 0;
    if (acc & VLAB_ACC_WRITE) c |= X86_PF_W;
    if (acc & VLAB_ACC_USER) c |= X86_PF_U;
    if ((acc & VLAB_ACC_FETCH) && (nxe || smep)) c |= X86_PF_I;
    return c;
}

Test(core, pt_walk_not_present_each_level, .init = setup, .fini = teardown) {
    for (int leaf = 1; leaf <= 3; leaf++) {
        for (int np = 4; np >= leaf; np--) {
            for (unsigned a = 0; a < 6; a++) {
                struct vlab_paging pg = lm();
                set_chain_all(leaf, PRW);
                /* Reserved-looking bits in a non-present entry must be ignored. */
                wr(slot(np), 0xfff0000000000000ull | X86_PTE_PS | (rd(slot(np)) & ~X86_PTE_P));
                struct vlab_walk w;
                int rc = walk(&pg, GVA, all_accesses[a], 0, &w);
                uint32_t code = acc_code(all_accesses[a], true, false);
                cr_assert_eq(rc, VLAB_EPF, "leaf %d, P=0 at %d: expected EPF, got %d", leaf, np,
                             rc);
                cr_assert_eq(w.pf_error, code, "leaf %d, P=0 at %d, acc %#x: expected %#x, got %#x",
                             leaf, np, all_accesses[a], code, w.pf_error);
                cr_assert_eq(w.fault_level, np, "expected fault level %d, got %d", np,
                             w.fault_level);
                cr_assert_eq(w.levels, 5 - np, "expected %d levels read, got %d", 5 - np, w.levels);
                cr_assert_eq(w.mem_reads, (unsigned)(5 - np), "expected %d reads, got %u", 5 - np,
                             w.mem_reads);
                cr_assert_eq(w.entry[4 - np], rd(slot(np)),
                             "expected the non-present entry recorded, got %#llx",
                             (unsigned long long)w.entry[4 - np]);
                cr_assert_eq(w.gpa, 0, "expected gpa 0 on fault, got %#llx",
                             (unsigned long long)w.gpa);
                cr_assert_eq(w.page_size, 0, "expected page_size 0 on fault, got %#llx",
                             (unsigned long long)w.page_size);
            }
        }
    }
}

Test(core, pt_walk_i_bit_only_with_nxe_or_smep, .init = setup, .fini = teardown) {
    set_chain_all(1, PRW);
    wr(slot(1), 0);
    for (int cfg = 0; cfg < 4; cfg++) {
        bool nxe = cfg & 1, smep = cfg & 2;
        struct vlab_paging pg = lm();
        if (!nxe) pg.efer &= ~X86_EFER_NXE;
        if (smep) pg.cr4 |= X86_CR4_SMEP;
        for (unsigned user = 0; user <= VLAB_ACC_USER; user += VLAB_ACC_USER) {
            struct vlab_walk w;
            int rc = walk(&pg, GVA, VLAB_ACC_FETCH | user, 0, &w);
            uint32_t want = (nxe || smep ? X86_PF_I : 0) | (user ? X86_PF_U : 0);
            cr_assert_eq(rc, VLAB_EPF, "expected EPF, got %d", rc);
            cr_assert_eq(w.pf_error, want, "fetch nxe=%d smep=%d user=%d: expected %#x, got %#x",
                         nxe, smep, !!user, want, w.pf_error);
        }
        struct vlab_walk w;
        walk(&pg, GVA, VLAB_ACC_READ, 0, &w);
        cr_assert_eq(w.pf_error, 0, "read nxe=%d smep=%d: expected code 0, got %#x", nxe, smep,
                     w.pf_error);
    }
}

static void expect_rsvd(const struct vlab_paging *pg, int level, unsigned acc, const char *what) {
    struct vlab_walk w;
    int rc = walk(pg, GVA, acc, VLAB_WALK_SET_AD, &w);
    uint32_t code =
        X86_PF_P | X86_PF_RSVD | acc_code(acc, pg->efer & X86_EFER_NXE, pg->cr4 & X86_CR4_SMEP);
    cr_assert_eq(rc, VLAB_EPF, "%s: expected EPF, got %d", what, rc);
    cr_assert_eq(w.pf_error, code, "%s: expected error code %#x, got %#x", what, code, w.pf_error);
    cr_assert_eq(w.fault_level, level, "%s: expected fault level %d, got %d", what, level,
                 w.fault_level);
    cr_assert_eq(w.levels, 5 - level, "%s: expected %d levels read, got %d", what, 5 - level,
                 w.levels);
    cr_assert_eq(w.mem_writes, 0, "%s: expected no A/D write on fault, got %u", what, w.mem_writes);
}

Test(core, pt_walk_rsvd_ps_in_pml4e, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    set_chain_all(1, PRW);
    wr(slot(4), rd(slot(4)) | X86_PTE_PS);
    for (unsigned a = 0; a < 6; a++)
        expect_rsvd(&pg, 4, all_accesses[a], "PS in PML4E");
}

Test(core, pt_walk_rsvd_2m_bits, .init = setup, .fini = teardown) {
    for (int bit = 13; bit <= 20; bit++) {
        struct vlab_paging pg = lm();
        set_chain_all(2, PRW);
        wr(slot(2), rd(slot(2)) | (1ull << bit));
        char what[64];
        snprintf(what, sizeof what, "2 MiB leaf bit %d", bit);
        expect_rsvd(&pg, 2, VLAB_ACC_USER | VLAB_ACC_WRITE, what);
    }
    /* The same bits are address bits in a non-leaf PDE: no fault (table lies in RAM). */
    struct vlab_paging pg = lm();
    set_chain_all(1, PRW);
    struct vlab_walk w;
    wr(slot(2), (PT + 0x100000) | PRW);
    int rc = walk(&pg, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_EPF, "expected a not-present PTE in a zeroed table, got %d", rc);
    cr_assert_eq(w.pf_error, 0, "expected error code 0 (no RSVD), got %#x", w.pf_error);
    cr_assert_eq(w.fault_level, 1, "expected fault at level 1, got %d", w.fault_level);
}

Test(core, pt_walk_rsvd_1g_bits, .init = setup, .fini = teardown) {
    for (int bit = 13; bit <= 29; bit++) {
        struct vlab_paging pg = lm();
        set_chain_all(3, PRW);
        wr(slot(3), rd(slot(3)) | (1ull << bit));
        char what[64];
        snprintf(what, sizeof what, "1 GiB leaf bit %d", bit);
        expect_rsvd(&pg, 3, VLAB_ACC_FETCH, what);
    }
}

Test(core, pt_walk_rsvd_nx_without_nxe, .init = setup, .fini = teardown) {
    for (int leaf = 1; leaf <= 3; leaf++) {
        for (int l = 4; l >= leaf; l--) {
            struct vlab_paging pg = lm();
            pg.efer &= ~X86_EFER_NXE;
            set_chain_all(leaf, PRW);
            wr(slot(l), rd(slot(l)) | X86_PTE_NX);
            char what[64];
            snprintf(what, sizeof what, "NX at level %d (leaf %d), NXE=0", l, leaf);
            expect_rsvd(&pg, l, VLAB_ACC_READ, what);
            expect_rsvd(&pg, l, VLAB_ACC_USER | VLAB_ACC_FETCH, what);
            pg.cr4 |= X86_CR4_SMEP; /* I appears through SMEP even without NXE */
            expect_rsvd(&pg, l, VLAB_ACC_FETCH, what);
            /* With NXE the same bit is a legal execute-disable. */
            pg.efer |= X86_EFER_NXE;
            struct vlab_walk w;
            int rc = walk(&pg, GVA, VLAB_ACC_READ, 0, &w);
            cr_assert_eq(rc, VLAB_OK, "%s but NXE=1: expected OK for a read, got %d", what, rc);
        }
    }
}

Test(core, pt_walk_rsvd_above_maxphyaddr, .init = setup, .fini = teardown) {
    for (unsigned maxphy = 36; maxphy <= 51; maxphy++) {
        for (int leaf = 1; leaf <= 3; leaf++) {
            for (int l = 4; l >= leaf; l--) {
                struct vlab_paging pg = lm();
                pg.maxphyaddr = maxphy;
                set_chain_all(leaf, PRW);
                wr(slot(l), rd(slot(l)) | (1ull << maxphy) | (1ull << 51));
                char what[80];
                snprintf(what, sizeof what, "maxphyaddr %u, bit %u at level %d (leaf %d)", maxphy,
                         maxphy, l, leaf);
                expect_rsvd(&pg, l, VLAB_ACC_WRITE, what);
            }
            /* The leaf's frame may use bit maxphyaddr-1: still valid. */
            struct vlab_paging pg = lm();
            pg.maxphyaddr = maxphy;
            set_chain_all(leaf, PRW);
            wr(slot(leaf), rd(slot(leaf)) | (1ull << (maxphy - 1)));
            struct vlab_walk w;
            int rc = walk(&pg, GVA, 0, 0, &w);
            cr_assert_eq(rc, VLAB_OK, "maxphyaddr %u leaf %d: expected bit %u valid, got %d",
                         maxphy, leaf, maxphy - 1, rc);
            uint64_t want = expected_gpa(leaf) | (1ull << (maxphy - 1));
            cr_assert_eq(w.gpa, want, "expected gpa %#llx, got %#llx", (unsigned long long)want,
                         (unsigned long long)w.gpa);
        }
    }
    /* maxphyaddr 52 (and 0 = 52): bit 51 is a legal frame bit. */
    for (unsigned maxphy = 0; maxphy <= 52; maxphy += 52) {
        struct vlab_paging pg = lm();
        pg.maxphyaddr = maxphy;
        set_chain_all(1, PRW);
        wr(slot(1), rd(slot(1)) | (1ull << 51));
        struct vlab_walk w;
        int rc = walk(&pg, GVA, 0, 0, &w);
        cr_assert_eq(rc, VLAB_OK, "maxphyaddr %u: expected bit 51 valid, got %d", maxphy, rc);
    }
}

Test(core, pt_walk_ignored_bits_are_not_reserved, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    /* Bits 62:52 and 11:9 are available to software; G in non-leaf entries is ignored. */
    uint64_t ign = 0x7ff0000000000000ull | 0xe00ull | X86_PTE_G;
    set_chain_all(1, PRW | ign);
    struct vlab_walk w;
    int rc = walk(&pg, GVA, VLAB_ACC_USER | VLAB_ACC_WRITE, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected ignored bits to be ignored, got %d (code %#x)", rc,
                 w.pf_error);
    cr_assert_eq(w.gpa, expected_gpa(1), "expected gpa %#llx, got %#llx",
                 (unsigned long long)expected_gpa(1), (unsigned long long)w.gpa);
    set_chain_all(2, PRW | ign);
    rc = walk(&pg, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected ignored bits ignored with a 2 MiB leaf, got %d", rc);
    cr_assert_eq(w.gpa, expected_gpa(2), "expected gpa %#llx, got %#llx",
                 (unsigned long long)expected_gpa(2), (unsigned long long)w.gpa);
}

Test(core, pt_walk_rsvd_stops_at_first_and_beats_permissions, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    pg.efer &= ~X86_EFER_NXE;
    set_chain_all(1, X86_PTE_P); /* supervisor, read-only everywhere */
    wr(slot(3), rd(slot(3)) | X86_PTE_NX);
    wr(slot(1), rd(slot(1)) | X86_PTE_NX);
    expect_rsvd(&pg, 3, VLAB_ACC_USER | VLAB_ACC_WRITE, "NX at levels 3 and 1");
}

/* The specification, transcribed independently of the walker (see the lab brief). */
struct expect {
    int rc;
    uint32_t code;
    int level;
};

static struct expect oracle(int leaf, const bool rw[5], const bool us[5], const bool nx[5],
                            unsigned acc, bool wp, bool nxe, bool smep) {
    bool write = acc & VLAB_ACC_WRITE, user = acc & VLAB_ACC_USER, fetch = acc & VLAB_ACC_FETCH;
    uint32_t bits = acc_code(acc, nxe, smep);
    if (!nxe)
        for (int l = 4; l >= leaf; l--)
            if (nx[l]) return (struct expect){VLAB_EPF, X86_PF_P | X86_PF_RSVD | bits, l};
    bool W = true, U = true, XD = false;
    for (int l = 4; l >= leaf; l--) {
        W = W && rw[l];
        U = U && us[l];
        XD = XD || (nxe && nx[l]);
    }
    bool ok;
    if (user)
        ok = U && (!write || W) && (!fetch || !XD);
    else
        ok = !(write && wp && !W) && !(fetch && (XD || (smep && U)));
    if (ok) return (struct expect){VLAB_OK, 0, 0};
    return (struct expect){VLAB_EPF, X86_PF_P | bits, leaf};
}

Test(core, pt_walk_permissions_exhaustive, .init = setup, .fini = teardown) {
    unsigned long cases = 0;
    for (int leaf = 1; leaf <= 3; leaf++) {
        int nlev = 5 - leaf;
        for (unsigned combo = 0; combo < (1u << (3 * nlev)); combo++) {
            bool rw[5] = {0}, us[5] = {0}, nx[5] = {0};
            uint64_t f[5] = {0};
            for (int l = 4; l >= leaf; l--) {
                unsigned b = (combo >> (3 * (4 - l))) & 7;
                rw[l] = b & 1;
                us[l] = b & 2;
                nx[l] = b & 4;
                f[l] = X86_PTE_P | (rw[l] ? X86_PTE_RW : 0) | (us[l] ? X86_PTE_US : 0) |
                       (nx[l] ? X86_PTE_NX : 0);
            }
            for (unsigned cfg = 0; cfg < 8; cfg++) {
                bool wp = cfg & 1, nxe = cfg & 2, smep = cfg & 4;
                struct vlab_paging pg = lm();
                pg.cr0 = wp ? pg.cr0 | X86_CR0_WP : pg.cr0 & ~X86_CR0_WP;
                pg.efer = nxe ? pg.efer | X86_EFER_NXE : pg.efer & ~X86_EFER_NXE;
                if (smep) pg.cr4 |= X86_CR4_SMEP;
                for (unsigned a = 0; a < 6; a++) {
                    unsigned acc = all_accesses[a];
                    struct expect e = oracle(leaf, rw, us, nx, acc, wp, nxe, smep);
                    for (unsigned setad = 0; setad <= 1; setad++) {
                        set_chain(leaf, f);
                        uint64_t before[5] = {0};
                        for (int l = 4; l >= leaf; l--)
                            before[l] = rd(slot(l));
                        struct vlab_walk w;
                        int rc = walk(&pg, GVA, acc, setad ? VLAB_WALK_SET_AD : 0, &w);
                        cases++;
                        int want_levels = e.rc == VLAB_OK ? nlev : 5 - e.level;
                        if (rc != e.rc || w.pf_error != e.code || w.fault_level != e.level ||
                            w.levels != want_levels || w.mem_reads != (unsigned)want_levels)
                            cr_assert_fail("leaf %d combo %#o wp %d nxe %d smep %d acc %#x ad %u: "
                                           "expected rc %d code %#x level %d levels %d, "
                                           "got rc %d code %#x level %d levels %d reads %u",
                                           leaf, combo, wp, nxe, smep, acc, setad, e.rc, e.code,
                                           e.level, want_levels, rc, w.pf_error, w.fault_level,
                                           w.levels, w.mem_reads);
                        if (rc == VLAB_OK && (w.gpa != expected_gpa(leaf) ||
                                              w.page_size != (leaf == 3   ? X86_PAGE_1G
                                                              : leaf == 2 ? X86_PAGE_2M
                                                                          : X86_PAGE_SIZE)))
                            cr_assert_fail("leaf %d combo %#o acc %#x: expected gpa %#llx, got "
                                           "%#llx size %#llx",
                                           leaf, combo, acc, (unsigned long long)expected_gpa(leaf),
                                           (unsigned long long)w.gpa,
                                           (unsigned long long)w.page_size);
                        bool update = setad && rc == VLAB_OK;
                        unsigned want_writes = update ? (unsigned)nlev : 0;
                        if (w.mem_writes != want_writes)
                            cr_assert_fail("leaf %d combo %#o acc %#x ad %u: expected %u writes, "
                                           "got %u",
                                           leaf, combo, acc, setad, want_writes, w.mem_writes);
                        for (int l = 4; l >= leaf; l--) {
                            uint64_t want = before[l];
                            if (update) want |= X86_PTE_A;
                            if (update && l == leaf && (acc & VLAB_ACC_WRITE)) want |= X86_PTE_D;
                            uint64_t got = rd(slot(l));
                            bool was_read = 4 - l < w.levels;
                            if (got != want || (was_read && w.entry[4 - l] != before[l]))
                                cr_assert_fail("leaf %d combo %#o acc %#x ad %u level %d: "
                                               "expected memory %#llx entry %#llx, got %#llx %#llx",
                                               leaf, combo, acc, setad, l, (unsigned long long)want,
                                               (unsigned long long)before[l],
                                               (unsigned long long)got,
                                               (unsigned long long)w.entry[4 - l]);
                        }
                    }
                }
            }
        }
    }
    cr_assert_eq(cases, 2ul * 6 * 8 * (4096 + 512 + 64), "expected %lu cases, ran %lu",
                 2ul * 6 * 8 * (4096 + 512 + 64), cases);
}

Test(core, pt_walk_permission_fault_level_is_leaf, .init = setup, .fini = teardown) {
    /* US=0 at the PML4E, yet a permission fault is reported at the leaf that completed the walk. */
    struct vlab_paging pg = lm();
    uint64_t f[5] = {0, PRW, PRW, PRW, X86_PTE_P | X86_PTE_RW};
    set_chain(1, f);
    struct vlab_walk w;
    int rc = walk(&pg, GVA, VLAB_ACC_USER, 0, &w);
    cr_assert_eq(rc, VLAB_EPF, "expected EPF, got %d", rc);
    cr_assert_eq(w.pf_error, X86_PF_P | X86_PF_U, "expected P|U, got %#x", w.pf_error);
    cr_assert_eq(w.fault_level, 1, "expected fault level 1, got %d", w.fault_level);
    cr_assert_eq(w.levels, 4, "expected 4 levels, got %d", w.levels);
}

Test(core, pt_walk_ad_set_on_success, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    set_chain_all(1, PRW);
    uint64_t before[5];
    for (int l = 1; l <= 4; l++)
        before[l] = rd(slot(l));
    struct vlab_walk w;
    int rc = walk(&pg, GVA, VLAB_ACC_READ, VLAB_WALK_SET_AD, &w);
    cr_assert_eq(rc, VLAB_OK, "expected OK, got %d", rc);
    cr_assert_eq(w.mem_writes, 4, "expected 4 A write-backs, got %u", w.mem_writes);
    cr_assert_eq(w.mem_reads, 4, "expected 4 reads, got %u", w.mem_reads);
    for (int l = 1; l <= 4; l++) {
        cr_assert_eq(rd(slot(l)), before[l] | X86_PTE_A, "level %d: expected %#llx, got %#llx", l,
                     (unsigned long long)(before[l] | X86_PTE_A), (unsigned long long)rd(slot(l)));
        cr_assert_eq(w.entry[4 - l], before[l], "level %d: expected entry as read %#llx, got %#llx",
                     l, (unsigned long long)before[l], (unsigned long long)w.entry[4 - l]);
    }
    rc = walk(&pg, GVA, VLAB_ACC_READ, VLAB_WALK_SET_AD, &w);
    cr_assert_eq(w.mem_writes, 0, "expected 0 writes on a repeated read, got %u", w.mem_writes);
    rc = walk(&pg, GVA, VLAB_ACC_WRITE, VLAB_WALK_SET_AD, &w);
    cr_assert_eq(rc, VLAB_OK, "expected OK, got %d", rc);
    cr_assert_eq(w.mem_writes, 1, "expected only the leaf's D written, got %u writes",
                 w.mem_writes);
    cr_assert_eq(rd(slot(1)), before[1] | X86_PTE_A | X86_PTE_D, "expected PTE A|D, got %#llx",
                 (unsigned long long)rd(slot(1)));
    for (int l = 2; l <= 4; l++)
        cr_assert_eq(rd(slot(l)) & X86_PTE_D, 0, "level %d: expected no D in a non-leaf", l);
    rc = walk(&pg, GVA, VLAB_ACC_WRITE, VLAB_WALK_SET_AD, &w);
    cr_assert_eq(w.mem_writes, 0, "expected 0 writes on a repeated write, got %u", w.mem_writes);
}

Test(core, pt_walk_ad_first_write_sets_a_and_d_once, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    set_chain_all(2, PRW);
    struct vlab_walk w;
    int rc = walk(&pg, GVA, VLAB_ACC_USER | VLAB_ACC_WRITE, VLAB_WALK_SET_AD, &w);
    cr_assert_eq(rc, VLAB_OK, "expected OK, got %d", rc);
    cr_assert_eq(w.mem_writes, 3, "expected one write per entry (3), got %u", w.mem_writes);
    uint64_t pde = rd(slot(2));
    cr_assert_eq(pde & (X86_PTE_A | X86_PTE_D), X86_PTE_A | X86_PTE_D,
                 "expected A|D in the 2 MiB leaf, got %#llx", (unsigned long long)pde);
    cr_assert_eq(rd(slot(3)) & X86_PTE_D, 0, "expected no D in the PDPTE");
    cr_assert_eq(rd(slot(1)), 0, "expected the PTE slot untouched, got %#llx",
                 (unsigned long long)rd(slot(1)));
}

Test(core, pt_walk_ad_untouched_on_fault_or_probe, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    uint64_t f[5] = {0, X86_PTE_P | X86_PTE_US, PRW, PRW, PRW}; /* read-only leaf */
    set_chain(1, f);
    uint64_t before[5];
    for (int l = 1; l <= 4; l++)
        before[l] = rd(slot(l));
    struct vlab_walk w;
    int rc = walk(&pg, GVA, VLAB_ACC_USER | VLAB_ACC_WRITE, VLAB_WALK_SET_AD, &w);
    cr_assert_eq(rc, VLAB_EPF, "expected EPF, got %d", rc);
    cr_assert_eq(w.pf_error, X86_PF_P | X86_PF_W | X86_PF_U, "expected P|W|U, got %#x", w.pf_error);
    cr_assert_eq(w.mem_writes, 0, "expected 0 writes on fault, got %u", w.mem_writes);
    for (int l = 1; l <= 4; l++)
        cr_assert_eq(rd(slot(l)), before[l], "level %d: expected untouched %#llx, got %#llx", l,
                     (unsigned long long)before[l], (unsigned long long)rd(slot(l)));
    wr(slot(1), 0);
    rc = walk(&pg, GVA, VLAB_ACC_READ, VLAB_WALK_SET_AD, &w);
    cr_assert_eq(rc, VLAB_EPF, "expected EPF for a non-present PTE, got %d", rc);
    for (int l = 2; l <= 4; l++)
        cr_assert_eq(rd(slot(l)), before[l], "level %d: expected no A on a faulting walk", l);
    wr(slot(1), before[1]);
    rc = walk(&pg, GVA, VLAB_ACC_USER, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected OK, got %d", rc);
    cr_assert_eq(w.mem_writes, 0, "expected a probe without SET_AD to write nothing, got %u",
                 w.mem_writes);
    for (int l = 1; l <= 4; l++)
        cr_assert_eq(rd(slot(l)), before[l], "level %d: expected probe to leave memory alone", l);
}

Test(core, pt_walk_ad_recursive_entry_written_once, .init = setup, .fini = teardown) {
    /* PML4[5] points to the PML4 itself, so gva with all indices 5 uses that one entry 4 times. */
    struct vlab_paging pg = lm();
    uint64_t self = PML4 | X86_PTE_P | X86_PTE_RW;
    wr(PML4 + 5 * 8, self);
    uint64_t gva = (5ull << 39) | (5ull << 30) | (5ull << 21) | (5ull << 12) | 0x28;
    struct vlab_walk w;
    int rc = walk(&pg, gva, VLAB_ACC_WRITE, VLAB_WALK_SET_AD, &w);
    cr_assert_eq(rc, VLAB_OK, "expected OK, got %d", rc);
    cr_assert_eq(w.gpa, PML4 + 0x28, "expected gpa %#llx, got %#llx", PML4 + 0x28,
                 (unsigned long long)w.gpa);
    cr_assert_eq(w.mem_reads, 4, "expected 4 reads, got %u", w.mem_reads);
    cr_assert_eq(w.mem_writes, 1, "expected the shared entry written once, got %u", w.mem_writes);
    uint64_t want = self | X86_PTE_A | X86_PTE_D;
    cr_assert_eq(rd(PML4 + 5 * 8), want, "expected %#llx, got %#llx", (unsigned long long)want,
                 (unsigned long long)rd(PML4 + 5 * 8));
}

Test(core, pt_walk_table_outside_memory, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    set_chain_all(1, PRW);
    struct vlab_walk w;
    int rc = vlab_pt_walk(&mem, &pg, MEM_SIZE, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for CR3 outside memory, got %d", rc);
    cr_assert_eq(w.levels, 0, "expected 0 levels, got %d", w.levels);
    wr(slot(3), (MEM_SIZE + 0x5000) | PRW);
    rc = walk(&pg, GVA, 0, VLAB_WALK_SET_AD, &w);
    cr_assert_eq(rc, VLAB_ERANGE, "expected ERANGE for a PD outside memory, got %d", rc);
    cr_assert_eq(w.levels, 2, "expected 2 levels read, got %d", w.levels);
    cr_assert_eq(w.mem_writes, 0, "expected no writes, got %u", w.mem_writes);
    cr_assert_eq(rd(slot(4)) & X86_PTE_A, 0, "expected no A set when the walk fails");
}

Test(core, pt_walk_cr3_low_and_high_bits_ignored, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    set_chain_all(1, PRW);
    struct vlab_walk w;
    int rc = vlab_pt_walk(&mem, &pg, PML4 | 0xfff, GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected CR3 bits 11:0 ignored, got %d", rc);
    cr_assert_eq(w.entry_gpa[0], slot(4), "expected PML4E at %#llx, got %#llx",
                 (unsigned long long)slot(4), (unsigned long long)w.entry_gpa[0]);
    rc = vlab_pt_walk(&mem, &pg, PML4 | (1ull << 63), GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected CR3 bit 63 ignored, got %d", rc);
    pg.maxphyaddr = 40;
    rc = vlab_pt_walk(&mem, &pg, PML4 | (1ull << 45), GVA, 0, 0, &w);
    cr_assert_eq(rc, VLAB_OK, "expected CR3 bits above maxphyaddr masked, got %d", rc);
    cr_assert_eq(w.entry_gpa[0], slot(4), "expected PML4E at %#llx, got %#llx",
                 (unsigned long long)slot(4), (unsigned long long)w.entry_gpa[0]);
}

Test(core, pt_walk_zeroes_result, .init = setup, .fini = teardown) {
    struct vlab_paging pg = lm();
    set_chain_all(1, PRW);
    struct vlab_walk w, zero;
    memset(&zero, 0, sizeof zero);
    memset(&w, 0x5a, sizeof w);
    int rc = walk(&pg, 0x0000800000000000ull, 0, 0, &w);
    cr_assert_eq(rc, VLAB_ENONCANON, "expected ENONCANON, got %d", rc);
    cr_assert(memcmp(&w, &zero, sizeof w) == 0, "expected a zeroed result after #GP");
    memset(&w, 0x5a, sizeof w);
    walk(&pg, GVA, 0, 0, &w);
    walk(&pg, GVA, 0, 0, &w);
    cr_assert_eq(w.mem_reads, 4, "expected counters restart per walk (4 reads), got %u",
                 w.mem_reads);
    set_chain_all(2, PRW);
    memset(&w, 0x5a, sizeof w);
    walk(&pg, GVA, 0, 0, &w);
    cr_assert_eq(w.entry[3], 0, "expected unused entry[3] zero, got %#llx",
                 (unsigned long long)w.entry[3]);
    cr_assert_eq(w.pf_error, 0, "expected pf_error 0 on success, got %#x", w.pf_error);
}
