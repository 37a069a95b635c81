/* Lab 1, Part 3: Xen-style direct paging, validated. Read labs/shadow/README.md §7 first; the
 * interface is harness/shadow/shadow.h. `make grade LAB=shadow` grades it. */
#include <stdbool.h>
#include <stdlib.h>

#include "shadow.h"

/* A suggestion (§7.2): per machine frame (sh_mfn_index), its pinned table level (0: none), how
 * many writable L1 entries of pinned tables map it, and how many entries of pinned tables use
 * it as their next-level table. */
struct pv {
    struct sh_vm *vm;
};

/* Task 8 (§7). */
int pv_create(struct sh_vm *vm, struct pv **out) {
    (void)vm;
    (void)out;
    return VLAB_ENOTIMPL; /* TODO */
}

void pv_destroy(struct pv *p) {
    free(p);
}

/* Task 8 (§7.2): validate all 512 entries as a level-`level` table, then pin. */
int pv_pin(struct pv *p, uint64_t hpa, int level) {
    (void)p;
    (void)hpa;
    (void)level;
    return VLAB_ENOTIMPL; /* TODO */
}

int pv_unpin(struct pv *p, uint64_t hpa) {
    (void)p;
    (void)hpa;
    return VLAB_ENOTIMPL; /* TODO */
}

/* Task 8 (§7.2): each request validated against the state the earlier ones left. */
int pv_mmu_update(struct pv *p, const struct pv_update *req, unsigned n, int *status) {
    (void)p;
    (void)req;
    (void)n;
    (void)status;
    return VLAB_ENOTIMPL; /* TODO */
}
