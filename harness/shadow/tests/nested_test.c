/* Part 2 (§5): nested paging. nested_walk is checked against the hardware's own 2-D walk
 * (results and entry reads); nested_fault by what the hardware then finds in the nested table. */
#include "sh_test.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define UR  VLAB_ACC_USER
#define UW  (VLAB_ACC_USER | VLAB_ACC_WRITE)
#define UX  (VLAB_ACC_USER | VLAB_ACC_FETCH)
#define URW (X86_PTE_P | X86_PTE_RW | X86_PTE_US)
#define VA  0x0000004000201000ull

static const char *oname(enum nested_outcome o) {
    return o == NESTED_OK         ? "NESTED_OK"
           : o == NESTED_GUEST_PF ? "NESTED_GUEST_PF"
                                  : "NESTED_NPT_FAULT";
}

/* The student's walk against the hardware's under the nested table ncr3, with its entry
 * reads; returns the reads. */
static unsigned walk_like_hw_n(struct sh_env *e, uint64_t cr3, uint64_t ncr3, uint64_t gva,
                               unsigned acc, struct nested_result *out) {
    struct nested_result want, got;
    unsigned want_reads;
    sh_hw_walk2d_probe(e->vm, cr3, ncr3, gva, acc, &want, &want_reads);
    uint64_t m0 = e->vm->c.mpa_reads;
    memset(&got, 0x5a, sizeof got);
    int rc = nested_walk(e->vm, cr3, ncr3, gva, acc, &got);
    cr_assert_eq(rc, VLAB_OK, "nested_walk(gva %#" PRIx64 ") returned %s %s", gva,
                 vlab_strerror(rc), SH_SEC_2D);
    unsigned reads = (unsigned)(e->vm->c.mpa_reads - m0);
    cr_assert_eq(
        got.outcome, want.outcome,
        "2-D walk of gva %#" PRIx64 ": expected %s (fault gpa %#" PRIx64 ", error %#x), got %s %s",
        gva, oname(want.outcome), want.fault_gpa, want.pf_error, oname(got.outcome), SH_SEC_2D);
    if (want.outcome == NESTED_OK)
        cr_assert(got.gpa == want.gpa && got.hpa == want.hpa,
                  "2-D walk of gva %#" PRIx64 ": expected gpa %#" PRIx64 " hpa %#" PRIx64
                  ", got gpa %#" PRIx64 " hpa %#" PRIx64 " %s",
                  gva, want.gpa, want.hpa, got.gpa, got.hpa, SH_SEC_2D);
    else if (want.outcome == NESTED_NPT_FAULT)
        cr_assert_eq(got.fault_gpa, want.fault_gpa,
                     "2-D walk of gva %#" PRIx64 ": the nested fault is on gpa %#" PRIx64
                     " (the first guest-physical address with no nested mapping), got %#" PRIx64
                     " %s",
                     gva, want.fault_gpa, got.fault_gpa, SH_SEC_2D);
    else
        cr_assert_eq(got.pf_error, want.pf_error,
                     "2-D walk of gva %#" PRIx64 ": expected guest #PF error %#x, got %#x %s", gva,
                     want.pf_error, got.pf_error, SH_SEC_2D);
    cr_assert_eq(reads, want_reads,
                 "2-D walk of gva %#" PRIx64 " (%s): the hardware reads %u entries, nested_walk "
                 "read %u %s",
                 gva, oname(want.outcome), want_reads, reads, SH_SEC_2D);
    if (out) *out = got;
    return reads;
}

static unsigned walk_like_hw(struct sh_env *e, uint64_t cr3, uint64_t gva, unsigned acc,
                             struct nested_result *out) {
    return walk_like_hw_n(e, cr3, e->vm->ncr3, gva, acc, out);
}

Test(shadow, nested_walk_refs_4k, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_NESTED, 0);
    sh_env_map(&e, e.pml4, VA, SH_DATA0(3), URW);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, VA, UR, SH_DATA0(3), SH_SEC_NFAULT, "a read (populates the nested table)");
    struct nested_result r;
    unsigned reads = walk_like_hw(&e, e.pml4, VA + 0x18, UR, &r);
    cr_assert_eq(reads, 24,
                 "a 2-D walk with 4 KiB pages in both dimensions reads 4 x (4 + 1) + 4 = 24 "
                 "entries; nested_walk read %u %s",
                 reads, SH_SEC_2D);
    sh_env_fini(&e);
}

Test(shadow, nested_walk_refs_2m, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_NESTED, 0);
    e.next_gpa = SH_G1_GPA + 0x100000; /* tables in a chunk the p2m maps contiguously */
    uint64_t cr3 = sh_env_frame(&e);
    sh_env_map(&e, cr3, VA, SH_DATA(0x234), URW);
    sh_env_set_cr3(&e, cr3);
    sh_expect_ok(&e, VA, UR, SH_DATA(0x234), SH_SEC_NFAULT, "a read (populates the nested table)");
    unsigned reads = walk_like_hw(&e, cr3, VA + 0x18, UR, NULL);
    cr_assert_eq(reads, 19,
                 "with 2 MiB nested leaves each nested translation reads 3 entries: "
                 "4 x (3 + 1) + 3 = 19; nested_walk read %u (are the nested leaves 4 KiB "
                 "where 2 MiB would do? §5.3) %s",
                 reads, SH_SEC_2D);
    sh_env_fini(&e);
}

Test(shadow, nested_walk_faults, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_NESTED, 0);
    sh_env_map(&e, e.pml4, VA, SH_DATA0(3), URW);
    sh_env_set_cr3(&e, e.pml4);
    struct nested_result r;
    int steps = 0;
    for (;; steps++) { /* nested table empty: one nested fault per level, then the data page */
        cr_assert_lt(steps, 8, "the 2-D walk still faults after 8 nested_fault calls %s",
                     SH_SEC_NFAULT);
        walk_like_hw(&e, e.pml4, VA, UR, &r);
        if (r.outcome != NESTED_NPT_FAULT) break;
        int rc = nested_fault(e.vm->nt, r.fault_gpa, UR);
        cr_assert_eq(rc, VLAB_OK, "nested_fault(%#" PRIx64 ") returned %s %s", r.fault_gpa,
                     vlab_strerror(rc), SH_SEC_NFAULT);
    }
    cr_assert_eq(r.outcome, NESTED_OK, "after populating, the walk should succeed %s", SH_SEC_2D);
    cr_assert_eq(steps, 5,
                 "5 frames (4 guest tables, 1 data page) need 5 nested faults, took %d %s", steps,
                 SH_SEC_NFAULT);
    walk_like_hw(&e, e.pml4, VA + X86_PAGE_SIZE, UW, &r);
    cr_assert_eq(r.pf_error, X86_PF_W | X86_PF_U, "guest PTE not present, user write %s",
                 SH_SEC_2D);
    walk_like_hw(&e, e.pml4, VA + X86_PAGE_1G, UX, &r);
    cr_assert_eq(r.pf_error, X86_PF_I | X86_PF_U, "guest PDPTE not present, user fetch %s",
                 SH_SEC_2D);
    memset(&r, 0, sizeof r);
    int rc = nested_walk(e.vm, e.pml4, 0x1000, VA, UR, &r);
    cr_assert_eq(rc, VLAB_ERANGE,
                 "nested_walk with a nested root outside machine memory (hpa 0x1000) should "
                 "return the error sh_mpa_read gave, VLAB_ERANGE; returned %s %s",
                 vlab_strerror(rc), SH_SEC_2D);
    rc = nested_fault(e.vm->nt, 0x40000000ull, UR);
    cr_assert_eq(rc, VLAB_ERANGE,
                 "nested_fault for gpa 0x40000000 (not guest RAM) should "
                 "return VLAB_ERANGE, returned %s %s",
                 vlab_strerror(rc), SH_SEC_NFAULT);
    sh_env_fini(&e);
}

Test(shadow, nested_walk_random, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_NESTED, 0);
    struct vlab_rng rng;
    vlab_rng_seed(&rng, 31);
    uint64_t va[64];
    for (unsigned i = 0; i < 64; i++) {
        va[i] = ((vlab_rng_below(&rng, 4) << 39) | (vlab_rng_below(&rng, 8) << 30) |
                 (vlab_rng_below(&rng, 8) << 21) | (vlab_rng_below(&rng, 512) << 12));
        uint64_t gpa = i % 3 == 0 ? SH_DATA0(i) : i % 3 == 1 ? SH_DATA(i * 17) : SH_DATA(0x600 + i);
        sh_env_map(&e, e.pml4, va[i], gpa, URW);
    }
    sh_env_set_cr3(&e, e.pml4);
    for (unsigned i = 0; i < 64; i += 2) /* half the pages populate the nested table */
        sh_env_access(&e, va[i], UR, 0);
    static const unsigned acc[] = {UR, UW, UX, VLAB_ACC_READ};
    for (unsigned n = 0; n < 3000; n++) {
        uint64_t gva = va[vlab_rng_below(&rng, 64)];
        if (vlab_rng_chance(&rng, 30))
            gva ^= vlab_rng_below(&rng, 512) << (12 + 9 * vlab_rng_below(&rng, 3));
        gva += 8 * vlab_rng_below(&rng, 512);
        walk_like_hw(&e, e.pml4, gva, acc[vlab_rng_below(&rng, 4)], NULL);
        if (n % 500 == 499) sh_env_access(&e, gva, UR, 0); /* more of the table, over time */
    }
    sh_env_fini(&e);
}

/* Distinct 4 KiB frames and 2 MiB chunks the guest's walks of gvas touch. */
static void count_leaves(struct sh_env *e, const uint64_t *gvas, unsigned n, unsigned *frames4k,
                         unsigned *chunks) {
    static uint64_t seen[4096];
    unsigned ns = 0;
    *frames4k = *chunks = 0;
    for (unsigned i = 0; i < n; i++) {
        struct vlab_walk w;
        vlab_pt_walk(&e->vm->gmem, &e->vm->gpg, e->vm->gcr3, gvas[i], UR, 0, &w);
        for (int l = 0; l <= w.levels; l++) {
            uint64_t gpa = l < w.levels ? w.entry_gpa[l] : w.gpa, hpa, h2;
            sh_p2m(e->vm, gpa & ~(X86_PAGE_2M - 1), &h2);
            bool big = true; /* the chunk is one contiguous, aligned machine range */
            for (uint64_t off = 0; off < X86_PAGE_2M && big; off += X86_PAGE_SIZE)
                big = sh_p2m(e->vm, (gpa & ~(X86_PAGE_2M - 1)) + off, &hpa) == VLAB_OK &&
                      hpa == h2 + off && !(h2 & (X86_PAGE_2M - 1));
            uint64_t key = big ? (gpa & ~(X86_PAGE_2M - 1)) | 1 : gpa & ~0xfffull;
            bool dup = false;
            for (unsigned k = 0; k < ns && !dup; k++)
                dup = seen[k] == key;
            if (dup) continue;
            seen[ns++] = key;
            if (big)
                (*chunks)++;
            else
                (*frames4k)++;
        }
    }
}

Test(shadow, nested_lazy_population, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_NESTED, 0);
    uint64_t gv[24];
    for (unsigned i = 0; i < 24; i++) {
        gv[i] = 0x10000000ull + (uint64_t)i * 0x3000;
        sh_env_map(&e, e.pml4, gv[i], SH_DATA0(3 * i), URW);
    }
    sh_env_set_cr3(&e, e.pml4);
    for (unsigned i = 0; i < 24; i++)
        sh_expect_ok(&e, gv[i], UR, SH_DATA0(3 * i), SH_SEC_NFAULT, "a first read");
    unsigned f4, c2;
    count_leaves(&e, gv, 24, &f4, &c2);
    cr_assert_eq(e.vm->c.nested_faults, f4,
                 "the guest's accesses touched %u distinct 4 KiB frames (tables and data, none "
                 "in a contiguous 2 MiB range): expected exactly that many nested faults, one "
                 "per frame, counted %" PRIu64 " %s",
                 f4, e.vm->c.nested_faults, SH_SEC_NFAULT);
    uint64_t nf = e.vm->c.nested_faults;
    sh_hw_flush(e.vm);
    for (unsigned i = 0; i < 24; i++)
        sh_expect_ok(&e, gv[i] + 8, UW, SH_DATA0(3 * i) + 8, SH_SEC_NFAULT, "a second access");
    cr_assert_eq(e.vm->c.nested_faults, nf, "the second pass caused %" PRIu64 " nested faults %s",
                 e.vm->c.nested_faults - nf, SH_SEC_NFAULT);
    struct vlab_walk w; /* lazy: a frame never touched is not in the nested table */
    int rc = vlab_pt_walk(&e.vm->mmem, &e.vm->mpg, e.vm->ncr3, SH_DATA0(100), UR, 0, &w);
    cr_assert_eq(rc, VLAB_EPF,
                 "gpa %#llx was never touched, yet the nested table maps it: "
                 "populate lazily %s",
                 (unsigned long long)SH_DATA0(100), SH_SEC_NFAULT);
    uint64_t used = e.vm->c.frames_in_use;
    nested_destroy(e.vm->nt);
    e.vm->nt = NULL;
    cr_assert_eq(e.vm->c.frames_in_use, 0,
                 "nested_destroy gave back %" PRIu64 " of the %" PRIu64 " frames of the nested "
                 "table: free every table frame, at every level (handout §5.2)",
                 used - e.vm->c.frames_in_use, used);
    sh_env_fini(&e);
}

Test(shadow, nested_large_leaves, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_NESTED, 0);
    e.next_gpa = SH_G1_GPA + 0x100000;
    uint64_t cr3 = sh_env_frame(&e), gv[48];
    for (unsigned i = 0; i < 48; i++) {
        gv[i] = 0x20000000ull + (uint64_t)i * 0x5000;
        sh_env_map(&e, cr3, gv[i], i < 32 ? SH_DATA(i * 40) : SH_DATA(0x600 + (i - 32) * 7), URW);
    }
    sh_env_set_cr3(&e, cr3);
    for (unsigned i = 0; i < 48; i++)
        sh_env_access(&e, gv[i], UR, 0);
    unsigned f4, c2;
    count_leaves(&e, gv, 48, &f4, &c2);
    cr_assert_eq(e.vm->c.nested_faults, f4 + c2,
                 "the accesses touched %u contiguous 2 MiB chunks (one nested fault each, with "
                 "a 2 MiB nested leaf) and %u frames of a chunk the p2m scatters (one each): "
                 "expected %u nested faults, counted %" PRIu64 " %s",
                 c2, f4, f4 + c2, e.vm->c.nested_faults, SH_SEC_NFAULT);
    sh_env_fini(&e);
}

Test(shadow, diff_nested_random, .timeout = SH_TIMEOUT) {
    sh_diff_run("diff_nested_random", &sh_profile_random, SH_MODE_NESTED, 41, 100000, 0, NULL);
}

Test(shadow, diff_nested_fork_cow, .timeout = SH_TIMEOUT) {
    sh_diff_run("diff_nested_fork_cow", &sh_profile_fork, SH_MODE_NESTED, 42, 100000, 0, NULL);
}

/* §5.3 on a p2m whose chunks are contiguous only in part or not 2 MiB-aligned in machine
 * memory: a 2 MiB nested leaf there maps frames the p2m does not, and the hardware says so. */
Test(shadow, nested_awkward_p2m, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    struct sh_vm_config cfg = {.mode = SH_MODE_NESTED, .seed = 7, .awkward_p2m = true};
    sh_env_init_config(&e, &cfg);
    static const char *const chunk[] = {
        "contiguous and 2 MiB-aligned", "contiguous but 7 frames past a 2 MiB boundary",
        "contiguous but for its last frame", "contiguous in its first half only"};
    static const unsigned frame[] = {0, 1, 255, 256, 300, 510, 511};
    const unsigned nf = sizeof frame / sizeof frame[0];
    for (unsigned c = 0; c < 4; c++)
        for (unsigned i = 0; i < nf; i++)
            sh_env_map(&e, e.pml4, 0x10000000ull + (uint64_t)(c * nf + i) * X86_PAGE_SIZE,
                       SH_DATA(c * 512 + frame[i]), URW);
    sh_env_set_cr3(&e, e.pml4);
    for (unsigned c = 0; c < 4; c++)
        for (unsigned i = 0; i < nf; i++) {
            char what[160];
            snprintf(what, sizeof what,
                     "a read of frame %u of guest chunk %u at gpa %#llx (the p2m maps that 2 MiB "
                     "chunk %s)",
                     frame[i], c, (unsigned long long)SH_DATA(c * 512 + frame[i]), chunk[c]);
            sh_expect_ok(&e, 0x10000000ull + (uint64_t)(c * nf + i) * X86_PAGE_SIZE, UR,
                         SH_DATA(c * 512 + frame[i]), SH_SEC_NFAULT, what);
        }
    sh_env_fini(&e);
}

/* A nested table of the test's own with a 1 GiB nested leaf (PS in a nested PDPTE): gPA
 * [0, 1 GiB) at hPA [1 GiB, 2 GiB), so that each nested translation reads 2 entries. The
 * guest's four tables sit at gPAs T whose hPA 1 GiB + T is a frame the test owns; their entries
 * are written there (what nested_walk reads through this table) and at gPA T (what the
 * hardware's own guest walk reads), so both walks see one guest. */
static void nested_1g_leaf(struct sh_env *e) {
    const uint64_t np = X86_PTE_P | X86_PTE_RW | X86_PTE_US;
    uint64_t n4, n3, t[4], spare[256];
    unsigned nt = 0, ns = 0;
    cr_assert_eq(sh_frame_alloc(e->vm, &n4), VLAB_OK, "test setup: no frame");
    cr_assert_eq(sh_frame_alloc(e->vm, &n3), VLAB_OK, "test setup: no frame");
    sh_mpa_write(e->vm, n4, n3 | np);
    sh_mpa_write(e->vm, n3, X86_PAGE_1G | np | X86_PTE_PS);
    while (nt < 4) { /* frames whose gPA under the 1 GiB leaf is free guest RAM (1-2 MiB) */
        uint64_t h;
        cr_assert(ns < 256 && sh_frame_alloc(e->vm, &h) == VLAB_OK, "test setup: no frame");
        if (h >= X86_PAGE_1G + 0x100000 && h < X86_PAGE_1G + 0x200000)
            t[nt++] = h - X86_PAGE_1G;
        else
            spare[ns++] = h;
    }
    for (unsigned i = 0; i < ns; i++)
        sh_frame_free(e->vm, spare[i]);
    const uint64_t a = 0x0000004000201000ull, b = 0x0000004000600000ull, c = 0x0000004040000000ull,
                   d = 0x0000004000202000ull, x = 0x0000004000203000ull;
    struct {
        uint64_t gpa, val;
    } ent[] = {
        {t[0] + 8ull * x86_pt_index(a, 4), t[1] | URW},
        {t[1] + 8ull * x86_pt_index(a, 3), t[2] | URW},
        {t[2] + 8ull * x86_pt_index(a, 2), t[3] | URW},
        {t[3] + 8ull * x86_pt_index(a, 1), SH_DATA0(7) | URW},
        {t[2] + 8ull * x86_pt_index(b, 2), 0x200000ull | URW | X86_PTE_PS}, /* guest 2 MiB */
        {t[1] + 8ull * x86_pt_index(c, 3), 0x0ull | URW | X86_PTE_PS},      /* guest 1 GiB */
        {t[3] + 8ull * x86_pt_index(x, 1), SH_DATA(2) | URW}, /* past the 1 GiB leaf */
    };
    for (unsigned i = 0; i < sizeof ent / sizeof ent[0]; i++) {
        sh_vm_poke(e->vm, ent[i].gpa, ent[i].val);
        sh_mpa_write(e->vm, X86_PAGE_1G + ent[i].gpa, ent[i].val);
    }
    static const struct {
        uint64_t gva;
        unsigned reads;
        const char *what;
    } cases[] = {
        {a + 0x7f9, 14, "a 4 KiB guest page: 4 x (2 + 1) + 2"},
        {b + 0x1ab127, 11, "a 2 MiB guest page: 3 x (2 + 1) + 2"},
        {c + 0x2345671, 8, "a 1 GiB guest page: 2 x (2 + 1) + 2"},
    };
    struct nested_result r;
    for (unsigned i = 0; i < 3; i++) {
        unsigned reads = walk_like_hw_n(e, t[0], n4, cases[i].gva, UR, &r);
        cr_assert(r.outcome == NESTED_OK && r.hpa == X86_PAGE_1G + r.gpa && reads == cases[i].reads,
                  "under a 1 GiB nested leaf (gpa + 1 GiB), %s: expected NESTED_OK at hpa "
                  "gpa + 1 GiB with %u entry reads, got %s hpa %#" PRIx64 " for gpa %#" PRIx64
                  " with %u reads (PS in a nested PDPTE, §5.1) %s",
                  cases[i].what, cases[i].reads, oname(r.outcome), r.hpa, r.gpa, reads, SH_SEC_2D);
    }
    walk_like_hw_n(e, t[0], n4, d, UW, &r); /* the guest PTE is not present */
    walk_like_hw_n(e, t[0], n4, x, UR, &r);
    cr_assert(r.outcome == NESTED_NPT_FAULT && r.fault_gpa == SH_DATA(2),
              "gpa %#llx is past the nested table's 1 GiB leaf: expected a nested fault on it "
              "%s",
              (unsigned long long)SH_DATA(2), SH_SEC_2D);
    sh_frame_free(e->vm, n3);
    sh_frame_free(e->vm, n4);
    for (unsigned i = 0; i < 4; i++)
        sh_frame_free(e->vm, X86_PAGE_1G + t[i]);
}

/* The 2-D walk with what the other tests leave at its default: a guest 1 GiB page, guest
 * paging states with EFER.NXE and CR4.SMEP other than the default (NXE on, SMEP off), and a
 * nested table with a 1 GiB leaf. */
Test(shadow, nested_walk_guest_states, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_NESTED, 0);
    /* a guest PDPTE with PS: 1 GiB at gpa 2 GiB, of which G1's 8 MiB are RAM */
    const uint64_t va1g = 0x0000008000000000ull, slot3 = sh_env_frame(&e);
    sh_vm_poke(e.vm, e.pml4 + 8ull * x86_pt_index(va1g, 4), slot3 | URW);
    sh_vm_poke(e.vm, slot3 + 8ull * x86_pt_index(va1g, 3), SH_G1_GPA | URW | X86_PTE_PS);
    sh_env_map(&e, e.pml4, VA, SH_DATA0(3), URW);
    sh_env_set_cr3(&e, e.pml4);
    sh_expect_ok(&e, va1g + 0x5ab120, UR, SH_G1_GPA + 0x5ab120, SH_SEC_NFAULT,
                 "a read 5.7 MiB into a guest 1 GiB page (populates the nested table)");
    struct nested_result r;
    walk_like_hw(&e, e.pml4, va1g + 0x5ab120, UR, &r);
    walk_like_hw(&e, e.pml4, va1g + 0x3450, UR, &r);
    sh_expect_ok(&e, VA, UR, SH_DATA0(3), SH_SEC_NFAULT, "a read of a 4 KiB page");
    /* a fetch from a guest page that is not present: I only where NXE or SMEP could fault it */
    static const struct {
        bool nxe, smep;
    } st[] = {{false, false}, {false, true}, {true, false}, {true, true}};
    for (unsigned i = 0; i < 4; i++) {
        e.vm->gpg.efer = st[i].nxe ? e.vm->gpg.efer | X86_EFER_NXE : e.vm->gpg.efer & ~X86_EFER_NXE;
        e.vm->gpg.cr4 = st[i].smep ? e.vm->gpg.cr4 | X86_CR4_SMEP : e.vm->gpg.cr4 & ~X86_CR4_SMEP;
        walk_like_hw(&e, e.pml4, VA + X86_PAGE_SIZE, UX, &r);
        uint32_t want = X86_PF_U | (st[i].nxe || st[i].smep ? X86_PF_I : 0);
        cr_assert_eq(r.pf_error, want,
                     "guest PTE not present, user fetch with EFER.NXE=%d CR4.SMEP=%d: expected "
                     "error %#x (I only when NXE or SMEP could fault a fetch), got %#x %s",
                     st[i].nxe, st[i].smep, want, r.pf_error, SH_SEC_2D);
        walk_like_hw(&e, e.pml4, VA + X86_PAGE_1G, VLAB_ACC_FETCH, &r);
    }
    e.vm->gpg.efer |= X86_EFER_NXE;
    e.vm->gpg.cr4 &= ~X86_CR4_SMEP;
    nested_1g_leaf(&e);
    sh_env_fini(&e);
}
