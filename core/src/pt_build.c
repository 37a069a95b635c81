/* Page-table builder: lays out 4-level tables in guest memory for tests, guests and VMMs. */
#include "vlab/pt.h"

#include <stdio.h>
#include <string.h>

#include "vlab/err.h"

/* The builder accepts any address the architecture can express; maxphyaddr is the walker's
 * concern. */
#define PHYS_LIMIT (1ull << 52)

/* VLAB_ERANGE if part of the pool is not guest memory, VLAB_EINVAL if part is read-only. */
static int check_pool(struct vlab_gpmem *mem, uint64_t start, uint64_t end) {
    while (start < end) {
        const struct vlab_mem_region *r = vlab_gpmem_find(mem, start);
        if (!r) return VLAB_ERANGE;
        if (r->flags & VLAB_MEM_READONLY) return VLAB_EINVAL;
        start = r->gpa + r->size;
    }
    return VLAB_OK;
}

int vlab_pt_builder_init(struct vlab_pt_builder *b, struct vlab_gpmem *mem, uint64_t pool_start,
                         uint64_t pool_end) {
    if (!b || !mem) return VLAB_EINVAL;
    if ((pool_start | pool_end) & (X86_PAGE_SIZE - 1) || pool_start >= pool_end) return VLAB_EINVAL;
    if (pool_end > PHYS_LIMIT) return VLAB_ERANGE;
    int err = check_pool(mem, pool_start, pool_end);
    if (err) return err;
    memset(b, 0, sizeof *b);
    b->mem = mem;
    b->pool_next = pool_start;
    b->pool_end = pool_end;
    b->table_flags = X86_PTE_P | X86_PTE_RW | X86_PTE_US;
    return VLAB_OK;
}

int vlab_pt_alloc_table(struct vlab_pt_builder *b, uint64_t *gpa) {
    if (!b || !b->mem || !gpa) return VLAB_EINVAL;
    if (b->pool_next >= b->pool_end || b->pool_end - b->pool_next < X86_PAGE_SIZE)
        return VLAB_ENOMEM;
    /* Pool pages may be reused guest RAM: stale bytes would read as bogus entries. */
    int err = vlab_gpmem_fill(b->mem, b->pool_next, 0, X86_PAGE_SIZE);
    if (err) return err;
    *gpa = b->pool_next;
    b->pool_next += X86_PAGE_SIZE;
    b->tables++;
    return VLAB_OK;
}

int vlab_pt_new_root(struct vlab_pt_builder *b, uint64_t *cr3) {
    return vlab_pt_alloc_table(b, cr3);
}

static int leaf_level(uint64_t page_size) {
    switch (page_size) {
    case X86_PAGE_SIZE: return 1;
    case X86_PAGE_2M: return 2;
    case X86_PAGE_1G: return 3;
    default: return 0;
    }
}

static uint64_t frame_mask(int level) {
    return level == 3   ? X86_PTE_ADDR_MASK_1G
           : level == 2 ? X86_PTE_ADDR_MASK_2M
                        : X86_PTE_ADDR_MASK;
}

static bool is_leaf(uint64_t e, int level) {
    return level == 1 || ((level == 2 || level == 3) && (e & X86_PTE_PS));
}

int vlab_pt_map(struct vlab_pt_builder *b, uint64_t cr3, uint64_t gva, uint64_t gpa,
                uint64_t page_size, uint64_t leaf_flags) {
    if (!b || !b->mem) return VLAB_EINVAL;
    int leaf = leaf_level(page_size);
    if (!leaf || (gva | gpa) & (page_size - 1) || !x86_is_canonical(gva) || gpa >= PHYS_LIMIT)
        return VLAB_EINVAL;
    /* Flags overlapping the frame field would silently change the mapped address. */
    if (leaf_flags & frame_mask(leaf)) return VLAB_EINVAL;
    /* P is forced and PS stripped: a table entry must be present and must not be a leaf. */
    uint64_t tflags = (b->table_flags & ~(X86_PTE_ADDR_MASK | X86_PTE_PS)) | X86_PTE_P;

    uint64_t table = cr3 & X86_PTE_ADDR_MASK;
    for (int level = 4; level > leaf; level--) {
        uint64_t egpa = table + (uint64_t)x86_pt_index(gva, level) * 8, e;
        int err = vlab_gpmem_read_u64(b->mem, egpa, &e);
        if (err) return err;
        if (!(e & X86_PTE_P)) {
            uint64_t t;
            err = vlab_pt_alloc_table(b, &t);
            if (err) return err;
            e = t | tflags;
            err = vlab_gpmem_write_u64(b->mem, egpa, e);
            if (err) return err;
        } else if (is_leaf(e, level)) {
            return VLAB_EEXIST;
        }
        table = e & X86_PTE_ADDR_MASK;
    }

    uint64_t egpa = table + (uint64_t)x86_pt_index(gva, leaf) * 8, e;
    int err = vlab_gpmem_read_u64(b->mem, egpa, &e);
    if (err) return err;
    /* Present covers both a leaf already there and a table hanging below this slot. */
    if (e & X86_PTE_P) return VLAB_EEXIST;
    e = gpa | leaf_flags | X86_PTE_P | (leaf > 1 ? X86_PTE_PS : 0);
    return vlab_gpmem_write_u64(b->mem, egpa, e);
}

int vlab_pt_map_range(struct vlab_pt_builder *b, uint64_t cr3, uint64_t gva, uint64_t gpa,
                      uint64_t len, uint64_t leaf_flags) {
    if (!b) return VLAB_EINVAL;
    if ((gva | gpa | len) & (X86_PAGE_SIZE - 1)) return VLAB_EINVAL;
    if (len == 0) return VLAB_OK;
    uint64_t last_va = gva + (len - 1), last_pa = gpa + (len - 1);
    /* The range must neither wrap nor cross the non-canonical hole. */
    if (last_va < gva || last_pa < gpa || last_pa >= PHYS_LIMIT) return VLAB_EINVAL;
    if (!x86_is_canonical(gva) || !x86_is_canonical(last_va) || (gva >> 63) != (last_va >> 63))
        return VLAB_EINVAL;

    while (len) {
        uint64_t size = X86_PAGE_SIZE;
        if (((gva | gpa) & (X86_PAGE_1G - 1)) == 0 && len >= X86_PAGE_1G)
            size = X86_PAGE_1G;
        else if (((gva | gpa) & (X86_PAGE_2M - 1)) == 0 && len >= X86_PAGE_2M)
            size = X86_PAGE_2M;
        int err = vlab_pt_map(b, cr3, gva, gpa, size, leaf_flags);
        if (err) return err;
        gva += size;
        gpa += size;
        len -= size;
    }
    return VLAB_OK;
}

/* Follows present non-leaf entries from the root down to `level`; returns the entry's gpa.
 * With stop_at_leaf, a leaf above `level` ends the descent there instead of failing. */
static int descend(struct vlab_gpmem *mem, uint64_t cr3, uint64_t gva, int level, bool stop_at_leaf,
                   uint64_t *egpa_out, uint64_t *e_out, int *level_out) {
    uint64_t table = cr3 & X86_PTE_ADDR_MASK;
    for (int l = 4;; l--) {
        uint64_t egpa = table + (uint64_t)x86_pt_index(gva, l) * 8, e = 0;
        if (l == level && !e_out) {
            *egpa_out = egpa;
            return VLAB_OK;
        }
        int err = vlab_gpmem_read_u64(mem, egpa, &e);
        if (err) return err;
        if (l == level || (stop_at_leaf && (e & X86_PTE_P) && is_leaf(e, l))) {
            *egpa_out = egpa;
            if (e_out) *e_out = e;
            if (level_out) *level_out = l;
            return VLAB_OK;
        }
        if (!(e & X86_PTE_P) || is_leaf(e, l)) return VLAB_ENOENT;
        table = e & X86_PTE_ADDR_MASK;
    }
}

int vlab_pt_unmap(struct vlab_pt_builder *b, uint64_t cr3, uint64_t gva) {
    if (!b || !b->mem || !x86_is_canonical(gva)) return VLAB_EINVAL;
    uint64_t egpa, e;
    int level;
    int err = descend(b->mem, cr3, gva, 1, true, &egpa, &e, &level);
    if (err) return err;
    if (!(e & X86_PTE_P)) return VLAB_ENOENT;
    return vlab_gpmem_write_u64(b->mem, egpa, 0);
}

int vlab_pt_entry_gpa(struct vlab_gpmem *mem, uint64_t cr3, uint64_t gva, int level,
                      uint64_t *entry_gpa) {
    if (!mem || !entry_gpa || level < 1 || level > 4 || !x86_is_canonical(gva)) return VLAB_EINVAL;
    return descend(mem, cr3, gva, level, false, entry_gpa, NULL, NULL);
}

const char *vlab_pte_str(uint64_t entry, char *buf, unsigned buflen) {
    if (!buf || buflen == 0) return "";
    static const struct {
        uint64_t bit;
        const char *name;
    } names[] = {
        {X86_PTE_P, "P"},     {X86_PTE_RW, "RW"}, {X86_PTE_US, "US"}, {X86_PTE_PWT, "PWT"},
        {X86_PTE_PCD, "PCD"}, {X86_PTE_A, "A"},   {X86_PTE_D, "D"},   {X86_PTE_PS, "PS"},
        {X86_PTE_G, "G"},     {X86_PTE_NX, "NX"},
    };
    unsigned pos = 0;
    int n = snprintf(buf, buflen, "0x%016llx", (unsigned long long)entry);
    pos = n < 0 ? 0 : (unsigned)n;
    for (unsigned i = 0; i < sizeof names / sizeof names[0] && pos < buflen; i++) {
        if (!(entry & names[i].bit)) continue;
        n = snprintf(buf + pos, buflen - pos, " %s", names[i].name);
        pos += n < 0 ? 0 : (unsigned)n;
    }
    if (pos < buflen)
        snprintf(buf + pos, buflen - pos, " addr=0x%llx",
                 (unsigned long long)(entry & X86_PTE_ADDR_MASK));
    return buf;
}
