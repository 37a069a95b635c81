/* The reference 4-level page walker (Intel SDM vol. 3 §4.5-4.8): the oracle student walkers and
 * shadow MMUs are graded against, so it favours being obviously right over being fast. */
#include "vlab/pt.h"

#include <string.h>

#include "vlab/err.h"

struct vlab_paging vlab_paging_long_mode(void) {
    struct vlab_paging pg = {
        .cr0 = X86_CR0_PG | X86_CR0_PE | X86_CR0_WP,
        .cr4 = X86_CR4_PAE,
        .efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE,
        .maxphyaddr = 52,
    };
    return pg;
}

/* Bits 51:maxphyaddr of the address field, which must be zero in every present entry. */
static uint64_t rsvd_addr_bits(unsigned maxphyaddr) {
    return X86_PTE_ADDR_MASK & ~((1ull << maxphyaddr) - 1);
}

static bool has_reserved_bits(uint64_t e, int level, bool nxe, uint64_t rsvd_addr) {
    if (e & rsvd_addr) return true;
    if (!nxe && (e & X86_PTE_NX)) return true;
    if (level == 4 && (e & X86_PTE_PS)) return true;
    if (level == 3 && (e & X86_PTE_PS) && (e & X86_PTE_RSVD_1G)) return true;
    if (level == 2 && (e & X86_PTE_PS) && (e & X86_PTE_RSVD_2M)) return true;
    return false;
}

/* Decides a permission fault on the rights combined over all levels (SDM §4.6). */
static bool access_denied(const struct vlab_paging *pg, unsigned access, bool writable, bool user,
                          bool xd) {
    bool is_user = access & VLAB_ACC_USER;
    bool write = access & VLAB_ACC_WRITE;
    bool fetch = access & VLAB_ACC_FETCH;
    if (is_user) {
        if (!user) return true;
        if (write && !writable) return true; /* CR0.WP only matters for supervisor writes */
        if (fetch && xd) return true;
        return false;
    }
    if (write && (pg->cr0 & X86_CR0_WP) && !writable) return true;
    if (fetch && (xd || ((pg->cr4 & X86_CR4_SMEP) && user))) return true;
    return false;
}

/* Sets A (and D in the leaf for a write) once per distinct entry address: a recursive mapping
 * can use one entry at several levels, and the CPU would not write it twice. */
static void update_ad(struct vlab_gpmem *mem, struct vlab_walk *w, bool write) {
    for (int i = 0; i < w->levels; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen |= w->entry_gpa[j] == w->entry_gpa[i];
        if (seen) continue;
        uint64_t want = w->entry[i];
        for (int j = i; j < w->levels; j++) {
            if (w->entry_gpa[j] != w->entry_gpa[i]) continue;
            want |= X86_PTE_A;
            if (write && j == w->levels - 1) want |= X86_PTE_D;
        }
        if (want == w->entry[i]) continue;
        /* Page tables in read-only memory: the CPU's write-back would be dropped, not fault. */
        if (vlab_gpmem_write_u64(mem, w->entry_gpa[i], want) == VLAB_OK) w->mem_writes++;
    }
}

int vlab_pt_walk(struct vlab_gpmem *mem, const struct vlab_paging *pg, uint64_t cr3, uint64_t gva,
                 unsigned access, unsigned flags, struct vlab_walk *w) {
    if (!w) return VLAB_EINVAL;
    memset(w, 0, sizeof *w);
    if (!mem || !pg) return VLAB_EINVAL;
    if (access & ~(VLAB_ACC_WRITE | VLAB_ACC_USER | VLAB_ACC_FETCH)) return VLAB_EINVAL;
    if ((access & VLAB_ACC_WRITE) && (access & VLAB_ACC_FETCH)) return VLAB_EINVAL;
    if (flags & ~VLAB_WALK_SET_AD) return VLAB_EINVAL;
    unsigned maxphy = pg->maxphyaddr ? pg->maxphyaddr : 52;
    if (maxphy < 36 || maxphy > 52) return VLAB_EINVAL;

    if (!(pg->cr0 & X86_CR0_PG) || !(pg->cr4 & X86_CR4_PAE) || !(pg->efer & X86_EFER_LMA))
        return VLAB_EUNSUPP;
    if (pg->cr4 & (X86_CR4_LA57 | X86_CR4_PKE | X86_CR4_SMAP)) return VLAB_EUNSUPP;
    if (!x86_is_canonical(gva)) return VLAB_ENONCANON;

    bool nxe = pg->efer & X86_EFER_NXE;
    uint64_t rsvd_addr = rsvd_addr_bits(maxphy);
    /* The error code reports the access, except that I exists only when NX or SMEP can make a
     * fetch fault (SDM §4.7). */
    uint32_t acc_code = access & (X86_PF_W | X86_PF_U);
    if ((access & VLAB_ACC_FETCH) && (nxe || (pg->cr4 & X86_CR4_SMEP))) acc_code |= X86_PF_I;

    uint64_t table = cr3 & X86_PTE_ADDR_MASK & ~rsvd_addr;
    bool writable = true, user = true, xd = false;
    for (int level = 4; level >= 1; level--) {
        int i = 4 - level;
        uint64_t egpa = table + (uint64_t)x86_pt_index(gva, level) * 8;
        uint64_t e;
        int err = vlab_gpmem_read_u64(mem, egpa, &e);
        if (err) return err; /* VLAB_ERANGE: the entry is outside guest memory */
        w->mem_reads++;
        w->entry_gpa[i] = egpa;
        w->entry[i] = e;
        w->levels = i + 1;

        if (!(e & X86_PTE_P)) {
            w->pf_error = acc_code;
            w->fault_level = level;
            return VLAB_EPF;
        }
        if (has_reserved_bits(e, level, nxe, rsvd_addr)) {
            w->pf_error = X86_PF_P | X86_PF_RSVD | acc_code;
            w->fault_level = level;
            return VLAB_EPF;
        }
        writable &= !!(e & X86_PTE_RW);
        user &= !!(e & X86_PTE_US);
        xd |= nxe && (e & X86_PTE_NX);

        uint64_t size = 0, frame = 0;
        if (level == 3 && (e & X86_PTE_PS)) {
            size = X86_PAGE_1G;
            frame = e & X86_PTE_ADDR_MASK_1G;
        } else if (level == 2 && (e & X86_PTE_PS)) {
            size = X86_PAGE_2M;
            frame = e & X86_PTE_ADDR_MASK_2M;
        } else if (level == 1) {
            size = X86_PAGE_SIZE;
            frame = e & X86_PTE_ADDR_MASK;
        }
        if (!size) {
            table = e & X86_PTE_ADDR_MASK;
            continue;
        }

        if (access_denied(pg, access, writable, user, xd)) {
            w->pf_error = X86_PF_P | acc_code;
            w->fault_level = level;
            return VLAB_EPF;
        }
        w->gpa = frame | (gva & (size - 1));
        w->page_size = size;
        if (flags & VLAB_WALK_SET_AD) update_ad(mem, w, access & VLAB_ACC_WRITE);
        return VLAB_OK;
    }
    return VLAB_EINVAL; /* unreachable: level 1 is always a leaf */
}
