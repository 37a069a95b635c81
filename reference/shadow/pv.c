/* Lab 1, Part 3: Xen-style direct paging (reference solution). The guest's tables hold machine
 * addresses; a frame becomes a table only by pinning, which validates all 512 entries, and a
 * pinned table changes only through validated updates. Per frame: its table level (0: none),
 * how many writable L1 entries of pinned tables map it, and how many entries of pinned tables
 * use it as their next-level table. */
#include <stdbool.h>
#include <stdlib.h>

#include "shadow.h"

#define ADDR 0x00003ffffffff000ull /* bits 45:12: MAXPHYADDR 46 */

struct pv {
    struct sh_vm *vm;
    unsigned n;
    uint8_t *level;    /* pinned table level, 0 = not pinned */
    uint32_t *writers; /* writable L1 mappings from pinned tables */
    uint32_t *users;   /* references from pinned tables one level up */
};

int pv_create(struct sh_vm *vm, struct pv **out) {
    struct pv *p = calloc(1, sizeof *p);
    if (!p) return VLAB_ENOMEM;
    p->vm = vm;
    p->n = sh_machine_frames(vm);
    p->level = calloc(p->n, 1);
    p->writers = calloc(p->n, sizeof *p->writers);
    p->users = calloc(p->n, sizeof *p->users);
    if (!p->level || !p->writers || !p->users) {
        pv_destroy(p);
        return VLAB_ENOMEM;
    }
    *out = p;
    return VLAB_OK;
}

void pv_destroy(struct pv *p) {
    if (!p) return;
    free(p->level);
    free(p->writers);
    free(p->users);
    free(p);
}

static uint64_t reserved(const struct pv *p, int level) {
    unsigned m = sh_guest_paging(p->vm)->maxphyaddr;
    uint64_t r = ((1ull << 52) - 1) & ~((1ull << m) - 1);
    return level > 1 ? r | X86_PTE_PS : r;
}

/* §6.2: may an entry of value val sit in a level-`level` table living in frame self? */
static int check(const struct pv *p, uint64_t val, int level, long self) {
    if (!(val & X86_PTE_P)) return PV_OK;
    if (val & reserved(p, level)) return PV_ERSVD;
    uint64_t t = val & ADDR;
    if (!sh_domain_owns(p->vm, t)) return PV_ENOTOWNED;
    long i = sh_mfn_index(p->vm, t);
    if (level > 1) return p->level[i] == level - 1 ? PV_OK : PV_EWRONGTYPE;
    if ((val & X86_PTE_RW) && (p->level[i] || i == self)) return PV_EWRITABLE;
    return PV_OK;
}

static void count(struct pv *p, uint64_t val, int level, int delta) {
    if (!(val & X86_PTE_P)) return;
    long i = sh_mfn_index(p->vm, val & ADDR);
    if (level > 1)
        p->users[i] += (uint32_t)delta;
    else if (val & X86_PTE_RW)
        p->writers[i] += (uint32_t)delta;
}

int pv_pin(struct pv *p, uint64_t hpa, int level) {
    if (level < 1 || level > 4) return VLAB_EINVAL;
    hpa &= ~0xfffull;
    if (!sh_domain_owns(p->vm, hpa)) return PV_ENOTOWNED;
    long self = sh_mfn_index(p->vm, hpa);
    if (p->level[self]) return PV_EBUSY;
    if (p->writers[self]) return PV_EWRITABLE;
    uint64_t e[512];
    for (unsigned i = 0; i < 512; i++) {
        int rc = sh_mpa_read(p->vm, hpa + 8ull * i, &e[i]);
        if (rc != VLAB_OK) return rc;
        if ((rc = check(p, e[i], level, self)) != PV_OK) return rc;
    }
    for (unsigned i = 0; i < 512; i++)
        count(p, e[i], level, +1);
    p->level[self] = (uint8_t)level;
    return PV_OK;
}

int pv_unpin(struct pv *p, uint64_t hpa) {
    hpa &= ~0xfffull;
    long self = sh_mfn_index(p->vm, hpa);
    if (self < 0 || !p->level[self]) return PV_EBADPTR;
    if (p->users[self]) return PV_EBUSY;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e;
        int rc = sh_mpa_read(p->vm, hpa + 8ull * i, &e);
        if (rc != VLAB_OK) return rc;
        count(p, e, p->level[self], -1);
    }
    p->level[self] = 0;
    return PV_OK;
}

static int update(struct pv *p, const struct pv_update *u) {
    long self = sh_mfn_index(p->vm, u->ptr);
    if ((u->ptr & 7) || self < 0 || !p->level[self]) return PV_EBADPTR;
    int level = p->level[self], rc = check(p, u->val, level, self);
    if (rc != PV_OK) return rc;
    uint64_t old;
    if ((rc = sh_mpa_read(p->vm, u->ptr, &old)) != VLAB_OK) return rc;
    count(p, old, level, -1);
    count(p, u->val, level, +1);
    return sh_mpa_write(p->vm, u->ptr, u->val);
}

int pv_mmu_update(struct pv *p, const struct pv_update *req, unsigned n, int *status) {
    if (!p || (n && (!req || !status))) return VLAB_EINVAL;
    for (unsigned i = 0; i < n; i++)
        status[i] = update(p, &req[i]);
    return VLAB_OK;
}
