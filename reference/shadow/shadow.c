/* Lab 1, Part 1: shadow paging (reference solution).
 * Shadow pages are keyed by (guest table frame, level) and shared by every address space that
 * reaches the frame; a guest CR3's shadow root is one of them, so the set of shadow pages is
 * the per-CR3 cache. Every shadowed guest table frame is write-protected in the shadow; a
 * trapped write is emulated and zaps the shadow entries derived from the written entry.
 * With out-of-sync shadows on (Part 4), a PT-level table the kernel writes is instead left
 * writable and resynced at the guest's next INVLPG or CR3 load; at most OOS_MAX at a time. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "shadow.h"

#define SP_HASH 4096u
#define ADDR    X86_PTE_ADDR_MASK
#define PERMS   (X86_PTE_RW | X86_PTE_US | X86_PTE_NX)
#define OOS_MAX 8
#define RM_HASH 4096u

struct sp {
    uint64_t gpa;       /* the guest table frame it shadows */
    int level;          /* 4 = PML4 ... 1 = PT */
    uint64_t hpa;       /* the shadow table's machine frame */
    uint64_t ent[512];  /* a host copy of the shadow entries, to scan without memory references */
    uint64_t gent[512]; /* level 1: the guest entry each present leaf was built from */
    bool unsync;        /* §8: not write-protected; resynced on INVLPG / CR3 load */
    struct sp *hnext, *next;
};

/* The reverse map: for one machine frame, the level-1 shadow entries that map it. */
struct rmap {
    uint64_t hpa;
    unsigned n, cap;
    struct rent {
        struct sp *sp;
        unsigned idx;
    } * e;
    struct rmap *next;
};

struct shadow {
    struct sh_vm *vm;
    struct rmap *rmap[RM_HASH];
    struct sp *hash[SP_HASH];
    struct sp *all;
    uint64_t gcr3;
    struct sp *root;
    struct sp *oos[OOS_MAX]; /* the unsync shadow pages, oldest first */
    unsigned noos;
};

static unsigned hkey(uint64_t gpa, int level) {
    uint64_t k = (gpa >> 12) * 4 + (uint64_t)(level - 1);
    return (unsigned)((k * 0x9e3779b97f4a7c15ull) >> 52) & (SP_HASH - 1);
}

static struct sp *lookup(struct shadow *s, uint64_t gpa, int level) {
    for (struct sp *p = s->hash[hkey(gpa, level)]; p; p = p->hnext)
        if (p->gpa == gpa && p->level == level) return p;
    return NULL;
}

/* Whether writes to the frame must trap: some shadow of it is in sync. */
static bool protected_frame(struct shadow *s, uint64_t gpa) {
    for (int l = 1; l <= 4; l++) {
        struct sp *p = lookup(s, gpa & ADDR, l);
        if (p && !p->unsync) return true;
    }
    return false;
}

static struct rmap **rmap_slot(struct shadow *s, uint64_t hpa) {
    struct rmap **r =
        &s->rmap[(unsigned)((hpa >> 12) * 0x9e3779b97f4a7c15ull >> 52) & (RM_HASH - 1)];
    while (*r && (*r)->hpa != hpa)
        r = &(*r)->next;
    return r;
}

static int rmap_add(struct shadow *s, uint64_t hpa, struct sp *p, unsigned idx) {
    struct rmap **slot = rmap_slot(s, hpa), *r = *slot;
    if (!r) {
        if (!(r = calloc(1, sizeof *r))) return VLAB_ENOMEM;
        r->hpa = hpa;
        *slot = r;
    }
    if (r->n == r->cap) {
        unsigned cap = r->cap ? 2 * r->cap : 4;
        struct rent *e = realloc(r->e, cap * sizeof *e);
        if (!e) return VLAB_ENOMEM;
        r->e = e;
        r->cap = cap;
    }
    r->e[r->n++] = (struct rent){p, idx};
    return VLAB_OK;
}

static void rmap_del(struct shadow *s, uint64_t hpa, struct sp *p, unsigned idx) {
    struct rmap *r = *rmap_slot(s, hpa);
    for (unsigned i = 0; r && i < r->n; i++)
        if (r->e[i].sp == p && r->e[i].idx == idx) {
            r->e[i] = r->e[--r->n];
            return;
        }
}

static void rmap_clear(struct shadow *s) {
    for (unsigned h = 0; h < RM_HASH; h++)
        while (s->rmap[h]) {
            struct rmap *r = s->rmap[h];
            s->rmap[h] = r->next;
            free(r->e);
            free(r);
        }
}

/* Every change of a shadow entry goes through here, so the reverse map stays exact. */
static int set_entry(struct shadow *s, struct sp *p, unsigned idx, uint64_t val) {
    uint64_t old = p->ent[idx];
    if (p->level == 1 && ((old ^ val) & (ADDR | X86_PTE_P))) {
        if (old & X86_PTE_P) rmap_del(s, old & ADDR, p, idx);
        if ((val & X86_PTE_P) && rmap_add(s, val & ADDR, p, idx) != VLAB_OK) return VLAB_ENOMEM;
    }
    p->ent[idx] = val;
    return sh_mpa_write(s->vm, p->hpa + 8ull * idx, val);
}

/* §3.1: a frame that becomes a shadowed table must not stay writable through any shadow leaf
 * (the direct map of every guest kernel maps it). */
static int write_protect(struct shadow *s, uint64_t gpa) {
    uint64_t hpa;
    if (sh_p2m(s->vm, gpa, &hpa) != VLAB_OK) return VLAB_ERANGE;
    bool changed = false;
    struct rmap *r = *rmap_slot(s, hpa & ADDR);
    for (unsigned i = 0; r && i < r->n; i++) {
        struct sp *p = r->e[i].sp;
        uint64_t e = p->ent[r->e[i].idx];
        if (e & X86_PTE_RW) {
            int rc = set_entry(s, p, r->e[i].idx, e & ~X86_PTE_RW);
            if (rc) return rc;
            changed = true;
        }
    }
    if (changed) sh_hw_flush(s->vm);
    return VLAB_OK;
}

static int get_sp(struct shadow *s, uint64_t gpa, int level, struct sp **out) {
    gpa &= ADDR;
    struct sp *p = lookup(s, gpa, level);
    if (p) return *out = p, VLAB_OK;
    bool first = !protected_frame(s, gpa);
    p = calloc(1, sizeof *p);
    if (!p) return VLAB_ENOMEM;
    int rc = sh_frame_alloc(s->vm, &p->hpa);
    if (rc != VLAB_OK) {
        free(p);
        return rc;
    }
    p->gpa = gpa;
    p->level = level;
    unsigned h = hkey(gpa, level);
    p->hnext = s->hash[h];
    s->hash[h] = p;
    p->next = s->all;
    s->all = p;
    if (first && (rc = write_protect(s, gpa)) != VLAB_OK) return rc;
    return *out = p, VLAB_OK;
}

/* §2.6: the bound on shadow memory is reached. Drop every shadow page and start again from
 * the current root: simple, and correct because everything is rebuilt on demand. */
static int reclaim_all(struct shadow *s) {
    struct sp *p = s->all;
    while (p) {
        struct sp *n = p->next;
        sh_frame_free(s->vm, p->hpa);
        free(p);
        p = n;
    }
    s->all = NULL;
    s->root = NULL;
    s->noos = 0;
    rmap_clear(s);
    memset(s->hash, 0, sizeof s->hash);
    int rc = get_sp(s, s->gcr3, 4, &s->root);
    if (rc != VLAB_OK) return rc;
    sh_hw_load_cr3(s->vm, s->root->hpa);
    return VLAB_OK;
}

int shadow_create(struct sh_vm *vm, struct shadow **out) {
    struct shadow *s = calloc(1, sizeof *s);
    if (!s) return VLAB_ENOMEM;
    s->vm = vm;
    *out = s;
    return VLAB_OK;
}

void shadow_destroy(struct shadow *s) {
    if (!s) return;
    struct sp *p = s->all;
    while (p) {
        struct sp *n = p->next;
        sh_frame_free(s->vm, p->hpa);
        free(p);
        p = n;
    }
    rmap_clear(s);
    free(s);
}

static int resync_all(struct shadow *s);

int shadow_set_cr3(struct shadow *s, uint64_t gcr3) {
    uint64_t hpa;
    if (sh_p2m(s->vm, gcr3 & ADDR, &hpa) != VLAB_OK) return VLAB_ERANGE;
    s->gcr3 = gcr3 & ADDR;
    int rc = resync_all(s); /* §8: a CR3 load is the guest's full flush */
    if (rc != VLAB_OK) return rc;
    rc = get_sp(s, s->gcr3, 4, &s->root);
    if (rc == VLAB_ENOMEM) return reclaim_all(s);
    if (rc != VLAB_OK) return rc;
    sh_hw_load_cr3(s->vm, s->root->hpa);
    return VLAB_OK;
}

/* §2.3: a hidden fault. Walk the guest (setting its A, and D for a write, §4) and build the
 * shadow path for gva from the root down. */
static int fill(struct shadow *s, uint64_t gva, unsigned access) {
    struct vlab_walk w;
    int rc = sh_guest_walk(s->vm, s->gcr3, gva, access, VLAB_WALK_SET_AD, &w);
    if (rc != VLAB_OK) return rc == VLAB_EPF ? VLAB_EINVAL : rc;
    if (w.levels != 4) return VLAB_EUNSUPP; /* guest large pages: not used by the guest */
    struct sp *p = s->root;
    for (int i = 0; i < 3; i++) {
        struct sp *child;
        rc = get_sp(s, w.entry[i], 3 - i, &child);
        if (rc == VLAB_ENOMEM) return reclaim_all(s); /* the retry faults and fills again */
        if (rc != VLAB_OK) return rc;
        rc = set_entry(s, p, x86_pt_index(gva, 4 - i),
                       child->hpa | X86_PTE_P | (w.entry[i] & PERMS));
        if (rc != VLAB_OK) return rc;
        p = child;
    }
    uint64_t gl = w.entry[3] | X86_PTE_A | ((access & VLAB_ACC_WRITE) ? X86_PTE_D : 0);
    uint64_t hpa;
    if (sh_p2m(s->vm, gl & ADDR, &hpa) != VLAB_OK) return VLAB_ERANGE;
    /* §4: a clean page is mapped read-only so that the first write comes to us to set D;
     * §3.1: a guest page table is never writable. */
    bool rw = (gl & X86_PTE_RW) && (gl & X86_PTE_D) && !protected_frame(s, gl & ADDR);
    p->gent[x86_pt_index(gva, 1)] = gl;
    uint64_t e =
        (hpa & ADDR) | X86_PTE_P | (gl & (X86_PTE_US | X86_PTE_NX)) | (rw ? X86_PTE_RW : 0);
    return set_entry(s, p, x86_pt_index(gva, 1), e);
}

static void drop_oos(struct shadow *s, struct sp *p) {
    for (unsigned i = 0; i < s->noos; i++)
        if (s->oos[i] == p) {
            memmove(&s->oos[i], &s->oos[i + 1], (s->noos - i - 1) * sizeof s->oos[0]);
            s->noos--;
            p->unsync = false;
            return;
        }
}

static void unlink_sp(struct shadow *s, struct sp *p) {
    drop_oos(s, p);
    for (unsigned i = 0; p->level == 1 && i < 512; i++)
        if (p->ent[i] & X86_PTE_P) rmap_del(s, p->ent[i] & ADDR, p, i);
    for (struct sp **pp = &s->hash[hkey(p->gpa, p->level)]; *pp; pp = &(*pp)->hnext)
        if (*pp == p) {
            *pp = p->hnext;
            break;
        }
    for (struct sp **pp = &s->all; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    sh_frame_free(s->vm, p->hpa);
    free(p);
}

/* §3.3: a user-mode write to a shadowed frame means the frame is no longer a page table (the
 * kernel freed it and reuses it as data): stop shadowing it instead of emulating every write.
 * Entries pointing at its shadows are zapped first, so no shadow references a freed frame. */
static int unshadow(struct shadow *s, uint64_t gpa) {
    for (int l = 1; l <= 4; l++) {
        struct sp *p = lookup(s, gpa & ADDR, l);
        if (!p || p == s->root) continue;
        for (struct sp *q = s->all; q; q = q->next) {
            if (q->level != l + 1) continue;
            for (unsigned i = 0; i < 512; i++) {
                if (!(q->ent[i] & X86_PTE_P) || (q->ent[i] & ADDR) != p->hpa) continue;
                int rc = set_entry(s, q, i, 0);
                if (rc != VLAB_OK) return rc;
            }
        }
        unlink_sp(s, p);
    }
    sh_hw_flush(s->vm);
    return VLAB_OK;
}

/* §8: bring an unsync page table's shadow up to date: every leaf whose guest entry changed
 * since it was built is zapped (the next access refills it, setting A and D as a fill does). */
static int resync(struct shadow *s, struct sp *p) {
    bool zapped = false;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t g;
        if (!(p->ent[i] & X86_PTE_P)) continue;
        int rc = sh_gpa_read(s->vm, p->gpa + 8ull * i, &g);
        if (rc != VLAB_OK) return rc;
        if (g == p->gent[i]) continue;
        if ((rc = set_entry(s, p, i, 0)) != VLAB_OK) return rc;
        zapped = true;
    }
    if (zapped) sh_hw_flush(s->vm);
    return VLAB_OK;
}

static int resync_all(struct shadow *s) {
    for (unsigned i = 0; i < s->noos; i++) {
        int rc = resync(s, s->oos[i]);
        if (rc != VLAB_OK) return rc;
    }
    return VLAB_OK;
}

/* §8: stop trapping writes to a PT-level table: zap the leaves that map it read-only (they
 * refill writable), and past the budget resync and re-protect the oldest unsync table. */
static int make_unsync(struct shadow *s, struct sp *p) {
    int rc;
    if (s->noos == OOS_MAX) {
        struct sp *old = s->oos[0];
        if ((rc = resync(s, old)) != VLAB_OK) return rc;
        drop_oos(s, old);
        if ((rc = write_protect(s, old->gpa)) != VLAB_OK) return rc;
    }
    uint64_t hpa;
    if (sh_p2m(s->vm, p->gpa, &hpa) != VLAB_OK) return VLAB_ERANGE;
    struct rmap *r = *rmap_slot(s, hpa & ADDR);
    while (r && r->n) /* each zap removes the entry from the reverse map */
        if ((rc = set_entry(s, r->e[r->n - 1].sp, r->e[r->n - 1].idx, 0)) != VLAB_OK) return rc;
    sh_hw_flush(s->vm);
    p->unsync = true;
    s->oos[s->noos++] = p;
    return VLAB_OK;
}

/* §3.2: a guest write to one of its (write-protected) page tables. */
static int emulate(struct shadow *s, const struct sh_fault *f, uint64_t gpa,
                   struct sh_fault_out *out) {
    struct vlab_walk w;
    int rc = sh_guest_walk(s->vm, s->gcr3, f->gva, f->access, VLAB_WALK_SET_AD, &w);
    if (rc != VLAB_OK) return rc == VLAB_EPF ? VLAB_EINVAL : rc;
    if ((rc = sh_gpa_write(s->vm, gpa, f->value)) != VLAB_OK) return rc;
    /* Zap, in every address space at once (shadow pages are shared), what was built from the
     * old value; the next access refills from the new one. The hardware TLB needs nothing
     * here: the guest itself must INVLPG (or reload CR3) after changing a present entry. */
    unsigned idx = (unsigned)((gpa & 0xfff) >> 3);
    for (int l = 1; l <= 4; l++) {
        struct sp *p = lookup(s, gpa & ADDR, l);
        if (p && (p->ent[idx] & X86_PTE_P) && (rc = set_entry(s, p, idx, 0)) != VLAB_OK) return rc;
    }
    out->gpa = gpa;
    return SH_EMULATED;
}

int shadow_page_fault(struct shadow *s, const struct sh_fault *f, struct sh_fault_out *out) {
    if (!s->root) return VLAB_EINVAL;
    struct vlab_walk w;
    int rc = sh_guest_walk(s->vm, s->gcr3, f->gva, f->access, 0, &w);
    if (rc == VLAB_EPF) { /* §2.2: the guest's own MMU faults too: a true guest fault */
        out->error = w.pf_error;
        out->cr2 = f->gva;
        return SH_INJECT;
    }
    if (rc != VLAB_OK) return rc;
    if ((f->access & VLAB_ACC_WRITE) && protected_frame(s, w.gpa)) {
        if (f->access & VLAB_ACC_USER && (rc = unshadow(s, w.gpa)) != VLAB_OK) return rc;
        struct sp *leaf = lookup(s, w.gpa & ADDR, 1);
        bool only_leaf = leaf && !lookup(s, w.gpa & ADDR, 2) && !lookup(s, w.gpa & ADDR, 3) &&
                         !lookup(s, w.gpa & ADDR, 4);
        if (sh_oos_enabled(s->vm) && only_leaf && !leaf->unsync) {
            if ((rc = make_unsync(s, leaf)) != VLAB_OK) return rc;
            return SH_RETRY; /* the write retries through a refilled, writable leaf */
        }
        if (protected_frame(s, w.gpa)) return emulate(s, f, w.gpa, out); /* e.g. the root */
    }
    rc = fill(s, f->gva, f->access);
    return rc == VLAB_OK ? SH_RETRY : rc;
}

int shadow_invlpg(struct shadow *s, uint64_t gva) {
    /* Synced shadows stay in sync by write protection: only the TLB and the unsync table
     * that maps gva (§8) can be stale. */
    sh_hw_invlpg(s->vm, gva);
    if (!s->noos) return VLAB_OK;
    struct vlab_walk w;
    int rc = sh_guest_walk(s->vm, s->gcr3, gva, 0, 0, &w);
    if ((rc != VLAB_OK && rc != VLAB_EPF) || w.levels != 4) return VLAB_OK;
    struct sp *p = lookup(s, w.entry_gpa[3] & ADDR, 1);
    return p && p->unsync ? resync(s, p) : VLAB_OK;
}
