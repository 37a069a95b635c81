/* Lab 0: the x86-64 4-level page walk (reference solution).
 * Intel SDM vol. 3 ch. 4: §4.5 (4-level paging), §4.6 (access rights), §4.7 (#PF error code),
 * §4.8 (accessed and dirty flags). Section numbers "§n" without "SDM" refer to the handout. */
#include "pagewalk.h"

#include <stdbool.h>

/* The entries a walk read, top (PML4E) first: the A/D update at the end writes them back. */
struct walk_path {
    int n;
    uint64_t gpa[4];
    uint64_t val[4];
};

/* §3: bits a present entry must have clear; any of them set is a RSVD #PF at that level. */
static uint64_t reserved_mask(const struct vlab_paging *pg, int level, uint64_t e) {
    unsigned maxphy = pg->maxphyaddr ? pg->maxphyaddr : 52;
    uint64_t mask = X86_PTE_ADDR_MASK & ~((1ull << maxphy) - 1); /* bits 51:MAXPHYADDR */
    if (!(pg->efer & X86_EFER_NXE)) mask |= X86_PTE_NX;
    if (level == 4) mask |= X86_PTE_PS;
    if (level == 3 && (e & X86_PTE_PS)) mask |= X86_PTE_RSVD_1G;
    if (level == 2 && (e & X86_PTE_PS)) mask |= X86_PTE_RSVD_2M;
    return mask;
}

static bool is_leaf(int level, uint64_t e) {
    return level == 1 || ((level == 2 || level == 3) && (e & X86_PTE_PS));
}

/* §2.3: the page a leaf at this level maps, and where in it gva falls. */
static uint64_t leaf_size(int level) {
    return level == 3 ? X86_PAGE_1G : level == 2 ? X86_PAGE_2M : X86_PAGE_SIZE;
}
static uint64_t leaf_frame(int level, uint64_t e) {
    if (level == 3) return e & X86_PTE_ADDR_MASK_1G;
    if (level == 2) return e & X86_PTE_ADDR_MASK_2M;
    return e & X86_PTE_ADDR_MASK;
}

/* §4: whether the access is allowed by the rights combined over all levels. */
static bool access_allowed(const struct vlab_paging *pg, unsigned access, bool writable,
                           bool user_page, bool exec_disabled) {
    bool user = access & VLAB_ACC_USER;
    if (user && !user_page) return false;
    if (access & VLAB_ACC_WRITE) {
        /* A supervisor write ignores R/W unless CR0.WP is set. */
        if (!writable && (user || (pg->cr0 & X86_CR0_WP))) return false;
    }
    if (access & VLAB_ACC_FETCH) {
        if (exec_disabled) return false;
        if (!user && user_page && (pg->cr4 & X86_CR4_SMEP)) return false;
    }
    return true;
}

/* §5: A in every entry used, D in the leaf for a write, each entry written at most once and
 * only if it changes. One entry can serve several levels (a PML4 that points to itself), so the
 * bits every use of it needs are merged into one write at its first use. */
static int set_accessed_dirty(struct pw_machine *m, const struct walk_path *p, bool write) {
    for (int i = 0; i < p->n; i++) {
        uint64_t want = p->val[i];
        bool first_use = true;
        for (int j = 0; j < p->n && first_use; j++) {
            if (p->gpa[j] != p->gpa[i]) continue;
            if (j < i) first_use = false;
            want |= X86_PTE_A;
            if (write && j == p->n - 1) want |= X86_PTE_D;
        }
        if (!first_use || want == p->val[i]) continue;
        int rc = pw_write_entry(m, p->gpa[i], want);
        if (rc != VLAB_OK) return rc;
    }
    return VLAB_OK;
}

static int page_fault(struct pw_result *out, uint32_t error, int level) {
    out->pf_error = error;
    out->fault_level = level;
    return VLAB_EPF;
}

int pw_translate(struct pw_machine *m, const struct vlab_paging *pg, uint64_t cr3, uint64_t gva,
                 unsigned access, struct pw_result *out) {
    /* §2.1: a non-canonical address never reaches the page tables. */
    if (!x86_is_canonical(gva)) return VLAB_ENONCANON;

    bool nxe = pg->efer & X86_EFER_NXE;
    /* §2.4: the error code describes the access; I only exists when a fetch could fault. */
    uint32_t error = access & (X86_PF_W | X86_PF_U);
    if ((access & VLAB_ACC_FETCH) && (nxe || (pg->cr4 & X86_CR4_SMEP))) error |= X86_PF_I;

    unsigned maxphy = pg->maxphyaddr ? pg->maxphyaddr : 52;
    uint64_t table = cr3 & X86_PTE_ADDR_MASK & ((1ull << maxphy) - 1);
    bool writable = true, user_page = true, exec_disabled = false;
    struct walk_path path = {0};

    for (int level = 4; level >= 1; level--) {
        uint64_t egpa = table + 8 * (uint64_t)x86_pt_index(gva, level);
        uint64_t e;
        int rc = pw_read_entry(m, egpa, &e); /* §2.5: outside guest memory: pass it up */
        if (rc != VLAB_OK) return rc;
        path.gpa[path.n] = egpa;
        path.val[path.n] = e;
        path.n++;

        if (!(e & X86_PTE_P)) return page_fault(out, error, level);
        if (e & reserved_mask(pg, level, e))
            return page_fault(out, error | X86_PF_P | X86_PF_RSVD, level);

        writable = writable && (e & X86_PTE_RW);
        user_page = user_page && (e & X86_PTE_US);
        exec_disabled = exec_disabled || (nxe && (e & X86_PTE_NX));

        if (!is_leaf(level, e)) {
            table = e & X86_PTE_ADDR_MASK;
            continue;
        }
        if (!access_allowed(pg, access, writable, user_page, exec_disabled))
            return page_fault(out, error | X86_PF_P, level);
        rc = set_accessed_dirty(m, &path, access & VLAB_ACC_WRITE);
        if (rc != VLAB_OK) return rc;
        uint64_t size = leaf_size(level);
        out->gpa = leaf_frame(level, e) | (gva & (size - 1));
        out->page_size = size;
        return VLAB_OK;
    }
    return VLAB_EINVAL; /* not reached: a PTE is always a leaf */
}
