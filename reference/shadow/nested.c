/* Lab 1, Part 2: nested paging (reference solution). The nested table has the x86-64 format
 * (as AMD NPT): gPA in, hPA out. It starts empty and is filled on nested faults, with a 2 MiB
 * leaf wherever the p2m maps a whole aligned 2 MiB guest range contiguously. */
#include <stdbool.h>
#include <stdlib.h>

#include "shadow.h"

#define ADDR  X86_PTE_ADDR_MASK
#define NPERM (X86_PTE_P | X86_PTE_RW | X86_PTE_US)

struct nested {
    struct sh_vm *vm;
    uint64_t root;
};

int nested_create(struct sh_vm *vm, struct nested **out) {
    struct nested *n = calloc(1, sizeof *n);
    if (!n) return VLAB_ENOMEM;
    n->vm = vm;
    int rc = sh_frame_alloc(vm, &n->root);
    if (rc != VLAB_OK) {
        free(n);
        return rc;
    }
    sh_hw_load_ncr3(vm, n->root);
    *out = n;
    return VLAB_OK;
}

static void free_table(struct sh_vm *vm, uint64_t table, int level) {
    for (unsigned i = 0; level > 1 && i < 512; i++) {
        uint64_t e;
        if (sh_mpa_read(vm, table + 8ull * i, &e) != VLAB_OK) continue;
        if ((e & X86_PTE_P) && !(e & X86_PTE_PS)) free_table(vm, e & ADDR, level - 1);
    }
    sh_frame_free(vm, table);
}

void nested_destroy(struct nested *n) {
    if (!n) return;
    free_table(n->vm, n->root, 4);
    free(n);
}

/* §5.3: whether [base, base + 2 MiB) of guest RAM lies at one aligned 2 MiB machine range. */
static bool contiguous_2m(struct sh_vm *vm, uint64_t base, uint64_t *hpa) {
    if (sh_p2m(vm, base, hpa) != VLAB_OK || (*hpa & (X86_PAGE_2M - 1))) return false;
    for (uint64_t off = X86_PAGE_SIZE; off < X86_PAGE_2M; off += X86_PAGE_SIZE) {
        uint64_t h;
        if (sh_p2m(vm, base + off, &h) != VLAB_OK || h != *hpa + off) return false;
    }
    return true;
}

int nested_fault(struct nested *n, uint64_t gpa, unsigned access) {
    (void)access; /* every nested mapping is read/write/execute: the guest's table decides */
    uint64_t hpa;
    if (sh_p2m(n->vm, gpa, &hpa) != VLAB_OK) return VLAB_ERANGE;
    uint64_t base2m = gpa & ~(X86_PAGE_2M - 1), hpa2m;
    bool large = contiguous_2m(n->vm, base2m, &hpa2m);
    uint64_t table = n->root;
    for (int level = 4; level >= 2; level--) {
        uint64_t slot = table + 8ull * x86_pt_index(gpa, level), e;
        int rc = sh_mpa_read(n->vm, slot, &e);
        if (rc != VLAB_OK) return rc;
        if (level == 2 && large) return sh_mpa_write(n->vm, slot, hpa2m | NPERM | X86_PTE_PS);
        if (!(e & X86_PTE_P)) {
            uint64_t t;
            if ((rc = sh_frame_alloc(n->vm, &t)) != VLAB_OK) return rc;
            e = t | NPERM;
            if ((rc = sh_mpa_write(n->vm, slot, e)) != VLAB_OK) return rc;
        }
        table = e & ADDR;
    }
    return sh_mpa_write(n->vm, table + 8ull * x86_pt_index(gpa, 1), (hpa & ADDR) | NPERM);
}

/* One nested translation; *hpa, or false when a nested entry is not present. */
static int ntrans(struct sh_vm *vm, uint64_t ncr3, uint64_t gpa, uint64_t *hpa, bool *present) {
    uint64_t table = ncr3 & ADDR;
    *present = false;
    for (int level = 4; level >= 1; level--) {
        uint64_t e;
        int rc = sh_mpa_read(vm, table + 8ull * x86_pt_index(gpa, level), &e);
        if (rc != VLAB_OK) return rc;
        if (!(e & X86_PTE_P)) return VLAB_OK;
        if (level == 3 && (e & X86_PTE_PS)) {
            *hpa = (e & X86_PTE_ADDR_MASK_1G) | (gpa & (X86_PAGE_1G - 1));
            break;
        }
        if (level == 2 && (e & X86_PTE_PS)) {
            *hpa = (e & X86_PTE_ADDR_MASK_2M) | (gpa & (X86_PAGE_2M - 1));
            break;
        }
        if (level == 1) *hpa = (e & ADDR) | (gpa & 0xfff);
        table = e & ADDR;
    }
    *present = true;
    return VLAB_OK;
}

int nested_walk(struct sh_vm *vm, uint64_t gcr3, uint64_t ncr3, uint64_t gva, unsigned access,
                struct nested_result *r) {
    const struct vlab_paging *pg = sh_guest_paging(vm);
    uint64_t table = gcr3 & ADDR, gpa = 0;
    bool present;
    int rc;
    *r = (struct nested_result){0};
    for (int level = 4; level >= 1; level--) {
        uint64_t egpa = table + 8ull * x86_pt_index(gva, level), ehpa, e;
        if ((rc = ntrans(vm, ncr3, egpa, &ehpa, &present)) != VLAB_OK) return rc;
        if (!present) {
            r->outcome = NESTED_NPT_FAULT;
            r->fault_gpa = egpa;
            return VLAB_OK;
        }
        if ((rc = sh_mpa_read(vm, ehpa, &e)) != VLAB_OK) return rc;
        if (!(e & X86_PTE_P)) {
            r->outcome = NESTED_GUEST_PF;
            r->pf_error = access & (X86_PF_W | X86_PF_U);
            if ((access & VLAB_ACC_FETCH) &&
                ((pg->efer & X86_EFER_NXE) || (pg->cr4 & X86_CR4_SMEP)))
                r->pf_error |= X86_PF_I;
            return VLAB_OK;
        }
        if (level == 3 && (e & X86_PTE_PS)) {
            gpa = (e & X86_PTE_ADDR_MASK_1G) | (gva & (X86_PAGE_1G - 1));
            break;
        }
        if (level == 2 && (e & X86_PTE_PS)) {
            gpa = (e & X86_PTE_ADDR_MASK_2M) | (gva & (X86_PAGE_2M - 1));
            break;
        }
        if (level == 1) gpa = (e & ADDR) | (gva & 0xfff);
        table = e & ADDR;
    }
    uint64_t hpa = 0;
    if ((rc = ntrans(vm, ncr3, gpa, &hpa, &present)) != VLAB_OK) return rc;
    if (!present) {
        r->outcome = NESTED_NPT_FAULT;
        r->fault_gpa = gpa;
        return VLAB_OK;
    }
    r->outcome = NESTED_OK;
    r->gpa = gpa;
    r->hpa = hpa;
    return VLAB_OK;
}
