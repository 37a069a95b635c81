#include "pw_world.h"

#include <stdlib.h>
#include <string.h>

#include "vlab/pt.h"

/* Weights: {PERM, NOT_PRESENT, RSVD, PS, OUTSIDE, AD, IGNORED} */
const struct pw_profile pw_profile_walk = {
    .name = "walk",
    .size_weight = {6, 3, 1},
    .maps = 96,
    .preset_ad_pct = 30,
    .damage_weight = {0, 0, 0, 0, 0, 3, 2},
    .damage_min = 0,
    .damage_max = 3,
    .epoch = 40,
    .vary_wp = true,
    .vary_nxe = true,
    .vary_maxphy = true,
    .pct_damaged = 20,
    .pct_near = 15,
    .pct_random = 5,
    .pct_noncanon = 3,
};
const struct pw_profile pw_profile_not_present = {
    .name = "not_present",
    .size_weight = {6, 3, 1},
    .maps = 96,
    .preset_ad_pct = 30,
    .damage_weight = {0, 6, 0, 0, 0, 2, 0},
    .damage_min = 1,
    .damage_max = 6,
    .epoch = 40,
    .vary_wp = true,
    .vary_nxe = true,
    .vary_smep = false,
    .vary_maxphy = true,
    .pct_damaged = 45,
    .pct_near = 25,
    .pct_random = 5,
    .pct_noncanon = 2,
};
const struct pw_profile pw_profile_reserved = {
    .name = "reserved",
    .size_weight = {5, 3, 2},
    .maps = 96,
    .preset_ad_pct = 30,
    .damage_weight = {0, 0, 6, 0, 0, 1, 2},
    .damage_min = 1,
    .damage_max = 5,
    .epoch = 40,
    .vary_wp = true,
    .vary_nxe = true,
    .vary_maxphy = true,
    .pct_damaged = 55,
    .pct_near = 10,
    .pct_random = 3,
    .pct_noncanon = 2,
};
const struct pw_profile pw_profile_permissions = {
    .name = "permissions",
    .size_weight = {5, 3, 2},
    .maps = 96,
    .leaf_perms = true,
    .preset_ad_pct = 30,
    .damage_weight = {6, 0, 0, 0, 0, 1, 0},
    .damage_min = 1,
    .damage_max = 6,
    .epoch = 40,
    .vary_wp = true,
    .vary_nxe = true,
    .vary_smep = true,
    .vary_maxphy = true,
    .pct_damaged = 45,
    .pct_near = 5,
    .pct_random = 2,
    .pct_noncanon = 1,
};
const struct pw_profile pw_profile_everything = {
    .name = "everything",
    .size_weight = {5, 3, 2},
    .maps = 96,
    .leaf_perms = true,
    .preset_ad_pct = 30,
    .damage_weight = {5, 3, 4, 1, 1, 2, 2},
    .damage_min = 0,
    .damage_max = 8,
    .epoch = 40,
    .vary_wp = true,
    .vary_nxe = true,
    .vary_smep = true,
    .vary_maxphy = true,
    .junk_cr3 = true,
    .pct_damaged = 40,
    .pct_near = 10,
    .pct_random = 4,
    .pct_noncanon = 2,
};
/* A steady guest for timing: tables damaged once, mostly successful walks. */
const struct pw_profile pw_profile_bench = {
    .name = "bench",
    .size_weight = {6, 3, 1},
    .maps = 96,
    .preset_ad_pct = 50,
    .damage_weight = {0, 2, 0, 0, 0, 1, 1},
    .damage_min = 3,
    .damage_max = 3,
    .epoch = 0,
    .pct_damaged = 5,
    .pct_near = 5,
    .pct_random = 2,
    .pct_noncanon = 1,
};

/* Slot choices per level: a few values, so mappings share tables (and damage to an upper
 * entry reaches many pages) while both halves of the address space are used. */
static const unsigned l4_slots[] = {0, 1, 0x100, 0x1ff};
static const unsigned l3_slots[] = {0, 1, 2, 0x1ff};
static const unsigned l2_slots[] = {0, 1, 7, 0x100, 0x1ff};
#define NSLOTS(a) (sizeof(a) / sizeof((a)[0]))

static const unsigned maxphy_choices[] = {0, 36, 39, 40, 44, 46, 48, 52};

static uint64_t pick(struct vlab_rng *r, const unsigned *v, unsigned n) {
    return v[vlab_rng_below(r, n)];
}

static uint64_t *entry_ptr(struct vlab_gpmem *mem, uint64_t gpa) {
    return vlab_gpmem_hva(mem, gpa, 8);
}

/* Writes the same new value into both copies. */
static void set_entry(struct pw_world *w, uint64_t gpa, uint64_t val) {
    *entry_ptr(&w->mem[PW_STUDENT], gpa) = val;
    *entry_ptr(&w->mem[PW_ORACLE], gpa) = val;
}
static uint64_t get_entry(struct pw_world *w, uint64_t gpa) {
    return *entry_ptr(&w->mem[PW_STUDENT], gpa);
}

static uint64_t leaf_flags(struct pw_world *w) {
    struct vlab_rng *r = &w->rng;
    uint64_t f = X86_PTE_RW | X86_PTE_US;
    if (w->prof->leaf_perms) {
        f = 0;
        if (vlab_rng_chance(r, 70)) f |= X86_PTE_RW;
        if (vlab_rng_chance(r, 60)) f |= X86_PTE_US;
        if (vlab_rng_chance(r, 30)) f |= X86_PTE_NX;
    }
    if (vlab_rng_chance(r, 20)) f |= X86_PTE_G;
    return f;
}

static int build(struct pw_world *w) {
    const struct pw_profile *p = w->prof;
    struct vlab_rng *r = &w->rng;
    struct vlab_pt_builder b;
    int rc = vlab_pt_builder_init(&b, &w->mem[PW_STUDENT], PW_WORLD_RAM_GPA,
                                  PW_WORLD_RAM_GPA + PW_WORLD_RAM_SIZE);
    if (rc) return rc;
    if ((rc = vlab_pt_new_root(&b, &w->cr3))) return rc;
    static const uint64_t sizes[] = {X86_PAGE_SIZE, X86_PAGE_2M, X86_PAGE_1G};
    for (unsigned i = 0; i < p->maps && w->nmaps < PW_WORLD_MAX_MAPS; i++) {
        uint64_t size = sizes[vlab_rng_weighted(r, p->size_weight, 3)];
        uint64_t va = pick(r, l4_slots, NSLOTS(l4_slots)) << 39;
        va |= pick(r, l3_slots, NSLOTS(l3_slots)) << 30;
        if (size != X86_PAGE_1G) va |= pick(r, l2_slots, NSLOTS(l2_slots)) << 21;
        if (size == X86_PAGE_SIZE) va |= vlab_rng_below(r, 512) << 12;
        va = x86_canonicalize(va);
        /* Frames in [1 GiB, 64 GiB): below every MAXPHYADDR tried and never guest RAM, so a
         * leaf turned into a table pointer (PW_DMG_PS) cannot alias a real table. */
        uint64_t pa = vlab_rng_range(r, X86_PAGE_1G / size, (1ull << 36) / size - 1) * size;
        rc = vlab_pt_map(&b, w->cr3, va, pa, size, leaf_flags(w));
        if (rc == VLAB_EEXIST) continue;
        if (rc) return rc;
        struct pw_mapping *m = &w->map[w->nmaps++];
        m->gva = va;
        m->size = size;
        m->levels = size == X86_PAGE_SIZE ? 4 : size == X86_PAGE_2M ? 3 : 2;
        for (int l = 0; l < m->levels; l++)
            if ((rc = vlab_pt_entry_gpa(&w->mem[PW_STUDENT], w->cr3, va, 4 - l, &m->entry_gpa[l])))
                return rc;
    }
    if (w->nmaps == 0) return VLAB_EINVAL;
    /* Preset A/D on some entries so walks also meet bits that are already set. */
    for (unsigned i = 0; i < w->nmaps; i++) {
        const struct pw_mapping *m = &w->map[i];
        for (int l = 0; l < m->levels; l++) {
            uint64_t *e = entry_ptr(&w->mem[PW_STUDENT], m->entry_gpa[l]);
            if (vlab_rng_chance(r, p->preset_ad_pct)) *e |= X86_PTE_A;
            if (l == m->levels - 1 && vlab_rng_chance(r, p->preset_ad_pct)) *e |= X86_PTE_D;
        }
    }
    w->pool_end = b.pool_next;
    return VLAB_OK;
}

static void restore(struct pw_world *w) {
    size_t n = w->pool_end - PW_WORLD_RAM_GPA;
    for (int i = 0; i < 2; i++)
        memcpy(vlab_gpmem_hva(&w->mem[i], PW_WORLD_RAM_GPA, n), w->pristine, n);
    w->nhot = 0;
}

/* Damages the entry at level index l (0 = PML4E) of mapping m. */
static void damage(struct pw_world *w, const struct pw_mapping *m, int l) {
    struct vlab_rng *r = &w->rng;
    int level = 4 - l;
    uint64_t gpa = m->entry_gpa[l];
    uint64_t e = get_entry(w, gpa);
    bool leaf = level == 1 || (level <= 3 && (e & X86_PTE_PS));
    switch ((enum pw_damage)vlab_rng_weighted(r, w->prof->damage_weight, PW_DMG_KINDS)) {
    case PW_DMG_PERM: {
        static const uint64_t bits[] = {X86_PTE_RW, X86_PTE_US, X86_PTE_NX};
        e ^= bits[vlab_rng_below(r, 3)];
        break;
    }
    case PW_DMG_NOT_PRESENT:
        e &= ~X86_PTE_P;
        /* What the OS left in a not-present entry must not matter. */
        if (vlab_rng_chance(r, 30)) e |= X86_PTE_NX | (1ull << 51) | X86_PTE_PS;
        break;
    case PW_DMG_RSVD: {
        unsigned c = (unsigned)vlab_rng_below(r, 4);
        if (c == 0) /* above MAXPHYADDR for some of the widths tried */
            e |= 1ull << vlab_rng_range(r, 36, 51);
        else if (c == 1)
            e |= X86_PTE_NX; /* reserved unless EFER.NXE */
        else if (level == 4)
            e |= X86_PTE_PS;
        else if (leaf && level == 3)
            e |= 1ull << vlab_rng_range(r, 13, 29);
        else if (leaf && level == 2)
            e |= 1ull << vlab_rng_range(r, 13, 20);
        else
            e |= 1ull << vlab_rng_range(r, 36, 51);
        break;
    }
    case PW_DMG_PS:
        if (level == 3 || level == 2) e ^= X86_PTE_PS;
        break;
    case PW_DMG_OUTSIDE:
        if (!leaf) e = (e & ~X86_PTE_ADDR_MASK) | PW_WORLD_OUTSIDE;
        break;
    case PW_DMG_AD: {
        unsigned c = (unsigned)vlab_rng_below(r, 3);
        if (c == 0) e ^= X86_PTE_A;
        if (c == 1) e |= X86_PTE_A | X86_PTE_D;
        if (c == 2) e &= ~(X86_PTE_A | X86_PTE_D);
        break;
    }
    case PW_DMG_IGNORED: {
        static const unsigned leaf_bits[] = {3, 4, 8, 9, 10, 11, 52, 55, 58, 59, 62};
        static const unsigned table_bits[] = {3, 4, 6, 8, 9, 10, 11, 52, 55, 58, 59, 62};
        if (leaf)
            e |= 1ull << pick(r, leaf_bits, NSLOTS(leaf_bits));
        else if (level != 4 || vlab_rng_chance(r, 50)) /* bit 6 and 8 are ignored in a PML4E */
            e |= 1ull << pick(r, table_bits, NSLOTS(table_bits));
        break;
    }
    case PW_DMG_KINDS: break;
    }
    set_entry(w, gpa, e);
}

static void damage_epoch(struct pw_world *w) {
    const struct pw_profile *p = w->prof;
    unsigned n = (unsigned)vlab_rng_range(&w->rng, p->damage_min, p->damage_max);
    for (unsigned i = 0; i < n; i++) {
        unsigned mi = (unsigned)vlab_rng_below(&w->rng, w->nmaps);
        const struct pw_mapping *m = &w->map[mi];
        damage(w, m, (int)vlab_rng_below(&w->rng, (uint64_t)m->levels));
        if (w->nhot < PW_WORLD_MAX_HOT) w->hot[w->nhot++] = mi;
    }
}

int pw_world_init(struct pw_world *w, const struct pw_profile *p, uint64_t seed) {
    memset(w, 0, sizeof *w);
    w->prof = p;
    vlab_rng_seed(&w->rng, seed);
    for (int i = 0; i < 2; i++) {
        vlab_gpmem_init(&w->mem[i]);
        int rc = vlab_gpmem_add_ram(&w->mem[i], PW_WORLD_RAM_GPA, PW_WORLD_RAM_SIZE, "ram");
        if (rc) return rc;
    }
    int rc = build(w);
    if (rc) return rc;
    size_t n = w->pool_end - PW_WORLD_RAM_GPA;
    w->pristine = malloc(n);
    if (!w->pristine) return VLAB_ENOMEM;
    memcpy(w->pristine, vlab_gpmem_hva(&w->mem[PW_STUDENT], PW_WORLD_RAM_GPA, n), n);
    restore(w);
    damage_epoch(w);
    return VLAB_OK;
}

void pw_world_destroy(struct pw_world *w) {
    for (int i = 0; i < 2; i++)
        vlab_gpmem_destroy(&w->mem[i]);
    free(w->pristine);
    w->pristine = NULL;
}

static uint64_t pick_gva(struct pw_world *w) {
    const struct pw_profile *p = w->prof;
    struct vlab_rng *r = &w->rng;
    unsigned x = (unsigned)vlab_rng_below(r, 100);
    if (x < p->pct_noncanon) {
        /* flip one bit of the sign extension: the nearest non-canonical neighbours */
        uint64_t va = x86_canonicalize(vlab_rng_next(r));
        return va ^ (1ull << vlab_rng_range(r, 47, 63));
    }
    x -= p->pct_noncanon;
    if (x < p->pct_random) return x86_canonicalize(vlab_rng_next(r));
    x -= p->pct_random;
    const struct pw_mapping *m = &w->map[vlab_rng_below(r, w->nmaps)];
    if (x < p->pct_damaged) {
        if (w->nhot) m = &w->map[w->hot[vlab_rng_below(r, w->nhot)]];
    } else if (x < p->pct_damaged + p->pct_near) {
        /* keep the upper one to three indices of a mapped page, random below: misses in the
         * lower tables */
        static const uint64_t span[] = {X86_PAGE_1G << 9, X86_PAGE_1G, X86_PAGE_2M};
        uint64_t s = span[vlab_rng_below(r, 3)];
        return x86_canonicalize((m->gva & ~(s - 1)) | vlab_rng_below(r, s));
    }
    /* the ends of the page catch offset masks one bit too narrow or too wide */
    uint64_t c = vlab_rng_below(r, 10), off;
    if (c == 0)
        off = 0;
    else if (c == 1)
        off = m->size - 1;
    else
        off = vlab_rng_below(r, m->size);
    return m->gva + off;
}

void pw_world_next(struct pw_world *w, struct pw_walk_req *q) {
    const struct pw_profile *p = w->prof;
    struct vlab_rng *r = &w->rng;
    if (p->epoch && w->walks && w->walks % p->epoch == 0) {
        restore(w);
        damage_epoch(w);
    }
    memset(q, 0, sizeof *q);
    q->n = w->walks++;
    q->pg = vlab_paging_long_mode();
    if (p->vary_wp && vlab_rng_chance(r, 50)) q->pg.cr0 &= ~X86_CR0_WP;
    if (p->vary_nxe && vlab_rng_chance(r, 50)) q->pg.efer &= ~X86_EFER_NXE;
    if (p->vary_smep && vlab_rng_chance(r, 50)) q->pg.cr4 |= X86_CR4_SMEP;
    q->pg.maxphyaddr = 52;
    if (p->vary_maxphy) q->pg.maxphyaddr = pick(r, maxphy_choices, NSLOTS(maxphy_choices));
    q->cr3 = w->cr3;
    if (p->junk_cr3 && vlab_rng_chance(r, 30)) {
        /* PCD/PWT and PCID-like low bits, and bits at or above MAXPHYADDR: all ignored */
        unsigned maxphy = q->pg.maxphyaddr ? q->pg.maxphyaddr : 52;
        q->cr3 |= vlab_rng_below(r, 0x1000);
        if (vlab_rng_chance(r, 50)) q->cr3 |= 1ull << vlab_rng_range(r, maxphy, 63);
    }
    q->gva = pick_gva(w);
    static const unsigned kinds[] = {VLAB_ACC_READ, VLAB_ACC_WRITE, VLAB_ACC_FETCH};
    q->access = pick(r, kinds, 3) | (vlab_rng_chance(r, 50) ? VLAB_ACC_USER : 0);
    q->epoch_end = p->epoch && w->walks % p->epoch == 0;
}

bool pw_world_first_diff(const struct pw_world *w, uint64_t *gpa) {
    const uint8_t *a = vlab_gpmem_hva(&w->mem[PW_STUDENT], PW_WORLD_RAM_GPA, PW_WORLD_RAM_SIZE);
    const uint8_t *b = vlab_gpmem_hva(&w->mem[PW_ORACLE], PW_WORLD_RAM_GPA, PW_WORLD_RAM_SIZE);
    if (memcmp(a, b, PW_WORLD_RAM_SIZE) == 0) return false;
    for (uint64_t off = 0; off < PW_WORLD_RAM_SIZE; off += 8) {
        if (memcmp(a + off, b + off, 8) != 0) {
            *gpa = PW_WORLD_RAM_GPA + off;
            return true;
        }
    }
    return false;
}

bool pw_world_entry(const struct pw_world *w, uint64_t gpa, uint64_t *student, uint64_t *oracle) {
    gpa &= ~7ull;
    const uint64_t *a = vlab_gpmem_hva(&w->mem[PW_STUDENT], gpa, 8);
    const uint64_t *b = vlab_gpmem_hva(&w->mem[PW_ORACLE], gpa, 8);
    if (!a || !b) return false;
    *student = *a;
    *oracle = *b;
    return true;
}
