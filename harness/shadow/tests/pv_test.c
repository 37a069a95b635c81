/* Part 3 (§6): Xen-style direct paging. The guest's tables hold machine addresses; the tests
 * build frames as a PV guest does (writing its own unpinned frames), pin them, send mmu_update
 * batches, and check each status, the tables in machine memory, and what the MMU then
 * translates. pv_random_model replays random operations against a model of the rules. */
#include "sh_test.h"

#include <inttypes.h>
#include <string.h>

#define URW    (X86_PTE_P | X86_PTE_RW | X86_PTE_US)
#define UR     (X86_PTE_P | X86_PTE_US)
#define SEC_PV "(handout §7.2 The rules)"
#define VA     0x0000004000201000ull

static const char *st_name(int s) {
    switch (s) {
    case PV_OK: return "PV_OK";
    case PV_ENOTOWNED: return "PV_ENOTOWNED";
    case PV_EWRITABLE: return "PV_EWRITABLE";
    case PV_EWRONGTYPE: return "PV_EWRONGTYPE";
    case PV_ERSVD: return "PV_ERSVD";
    case PV_EBADPTR: return "PV_EBADPTR";
    case PV_EBUSY: return "PV_EBUSY";
    default: return vlab_strerror(s);
    }
}

static struct sh_vm *pv_vm(void) {
    struct sh_vm *vm;
    char err[600];
    struct sh_vm_config cfg = {.mode = SH_MODE_PV, .seed = 9};
    int rc = sh_vm_create(&vm, &cfg, err, sizeof err);
    cr_assert_eq(rc, VLAB_OK, "creating the machine: %s", err);
    return vm;
}

/* Machine address of the domain's k-th frame (the guest knows machine frames in PV). */
static uint64_t M(struct sh_vm *vm, unsigned k) {
    uint64_t hpa = 0;
    sh_p2m(vm, SH_DATA0(k), &hpa);
    return hpa;
}

static uint64_t get(struct sh_vm *vm, uint64_t hpa) {
    uint64_t v = 0;
    sh_mpa_read(vm, hpa, &v);
    return v;
}

static void expect(int got, int want, const char *what) {
    cr_assert_eq(got, want, "%s: expected %s, got %s %s", what, st_name(want), st_name(got),
                 SEC_PV);
}

static void pin(struct sh_vm *vm, uint64_t hpa, int level, int want, const char *what) {
    expect(pv_pin(vm->pv, hpa, level), want, what);
}

/* One update; the entry must hold val afterwards if accepted, its old value if not. */
static void upd(struct sh_vm *vm, uint64_t ptr, uint64_t val, int want, const char *what) {
    struct pv_update u = {ptr, val};
    int st = 12345;
    uint64_t old = get(vm, ptr & ~7ull);
    int rc = pv_mmu_update(vm->pv, &u, 1, &st);
    cr_assert_eq(rc, VLAB_OK, "pv_mmu_update returned %s %s", vlab_strerror(rc), SEC_PV);
    expect(st, want, what);
    uint64_t now = get(vm, ptr & ~7ull);
    if (!(ptr & 7))
        cr_assert_eq(now, want == PV_OK ? val : old,
                     "%s: the entry at hpa %#" PRIx64 " holds %#" PRIx64 ", expected %#" PRIx64
                     " (an accepted update is written, a rejected one changes nothing) %s",
                     what, ptr, now, want == PV_OK ? val : old, SEC_PV);
}

/* A four-level path for VA: L4 -> L3 -> L2 -> L1 -> data, written raw (the frames are not
 * pinned yet, so the guest may write them) and pinned bottom-up. */
struct path {
    uint64_t l[5]; /* l[1] = L1 ... l[4] = L4 */
};
static void build_path(struct sh_vm *vm, struct path *p, unsigned first, unsigned data) {
    for (int lv = 1; lv <= 4; lv++)
        p->l[lv] = M(vm, first + (unsigned)lv - 1);
    for (unsigned i = 0; i < 4; i++)
        sh_mpa_write(vm, p->l[1] + 8ull * (x86_pt_index(VA, 1) + i), M(vm, data + i) | URW);
    for (int lv = 2; lv <= 4; lv++)
        sh_mpa_write(vm, p->l[lv] + 8ull * x86_pt_index(VA, lv), p->l[lv - 1] | URW);
}

Test(shadow, pv_pin_builds_table, .timeout = SH_TIMEOUT) {
    struct sh_vm *vm = pv_vm();
    struct path p;
    build_path(vm, &p, 1, 10);
    pin(vm, p.l[2], 2, PV_EWRONGTYPE, "pinning the L2 before the L1 it points to is pinned");
    for (int lv = 1; lv <= 4; lv++)
        pin(vm, p.l[lv], lv, PV_OK, "pinning a valid table, bottom-up");
    pin(vm, p.l[1], 1, PV_EBUSY, "pinning a pinned table again");
    pin(vm, p.l[3], 0, VLAB_EINVAL, "pinning at level 0");
    sh_vm_set_cr3(vm, p.l[4]);
    for (unsigned i = 0; i < 4; i++) {
        struct sh_outcome o;
        sh_vm_access(vm, VA + 0x1000ull * i + 0x18, VLAB_ACC_USER | VLAB_ACC_WRITE, 7, &o);
        cr_assert(o.rc == VLAB_OK && o.pa == M(vm, 10 + i) + 0x18,
                  "the MMU walking the pinned tables should reach hpa %#" PRIx64
                  ", got rc %d pa %#" PRIx64 " %s",
                  M(vm, 10 + i) + 0x18, o.rc, o.pa, SEC_PV);
    }
    upd(vm, p.l[1] + 8ull * x86_pt_index(VA, 1), M(vm, 20) | URW, PV_OK,
        "remapping a page to another frame of the domain");
    sh_vm_invlpg(vm, VA);
    struct sh_outcome o;
    sh_vm_access(vm, VA, VLAB_ACC_USER, 0, &o);
    cr_assert(o.rc == VLAB_OK && o.pa == M(vm, 20),
              "after the update the MMU should reach %#" PRIx64 ", got %#" PRIx64 " %s", M(vm, 20),
              o.pa, SEC_PV);
    sh_vm_destroy(vm);
}

Test(shadow, pv_reject_not_owned, .timeout = SH_TIMEOUT) {
    struct sh_vm *vm = pv_vm();
    uint64_t l1 = M(vm, 1), foreign, unpinned = M(vm, 2);
    cr_assert_eq(sh_frame_alloc(vm, &foreign), VLAB_OK, "test setup: no frame");
    pin(vm, l1, 1, PV_OK, "pinning an empty L1");
    upd(vm, l1, foreign | URW, PV_ENOTOWNED, "mapping a machine frame the domain does not own");
    upd(vm, l1 + 8, foreign | UR, PV_ENOTOWNED, "mapping it read-only");
    upd(vm, l1 + 16, 0x1000 | UR, PV_ENOTOWNED, "mapping an address outside machine memory");
    upd(vm, l1 + 24, foreign & ~X86_PTE_P, PV_OK,
        "a not-present entry (its other bits mean nothing)");
    upd(vm, unpinned, M(vm, 3) | URW, PV_EBADPTR,
        "an update of a frame that is not a pinned table");
    upd(vm, l1 + 4, M(vm, 3) | URW, PV_EBADPTR, "a misaligned entry address");
    upd(vm, foreign, M(vm, 3) | URW, PV_EBADPTR, "an update of a frame the domain does not own");
    sh_mpa_write(vm, unpinned + 8 * 7, foreign | URW);
    pin(vm, unpinned, 1, PV_ENOTOWNED, "pinning a table with an entry mapping a foreign frame");
    upd(vm, unpinned, M(vm, 3) | URW, PV_EBADPTR, "the rejected pin left the frame unpinned");
    pin(vm, foreign, 1, PV_ENOTOWNED, "pinning a frame the domain does not own");
    sh_vm_destroy(vm);
}

Test(shadow, pv_reject_writable_pt, .timeout = SH_TIMEOUT) {
    struct sh_vm *vm = pv_vm();
    uint64_t a = M(vm, 1), b = M(vm, 2), d = M(vm, 3), f = M(vm, 4), g = M(vm, 5);
    sh_mpa_write(vm, a, M(vm, 10) | URW);
    pin(vm, a, 1, PV_OK, "pinning L1 a");
    pin(vm, b, 1, PV_OK, "pinning L1 b");
    upd(vm, b, a | URW, PV_EWRITABLE, "a writable mapping of pinned table a");
    upd(vm, b, a | UR, PV_OK, "a read-only mapping of pinned table a");
    upd(vm, b + 8, b | URW, PV_EWRITABLE, "a writable mapping of the table itself");
    upd(vm, b + 16, d | URW, PV_OK, "a writable mapping of data frame d");
    pin(vm, d, 1, PV_EWRITABLE, "pinning d while a pinned table maps it writable");
    upd(vm, b + 16, d | UR, PV_OK, "making that mapping read-only");
    pin(vm, d, 1, PV_OK, "pinning d once no writable mapping is left");
    sh_mpa_write(vm, f, f | URW);
    pin(vm, f, 1, PV_EWRITABLE, "pinning a frame whose own entry maps it writable");
    sh_mpa_write(vm, g + 8, a | URW);
    pin(vm, g, 1, PV_EWRITABLE, "pinning an L1 that maps pinned table a writable");
    /* The last entry of a table counts like the first: it is validated and counted on pin. */
    uint64_t h = M(vm, 6), k = M(vm, 7), d2 = M(vm, 8);
    sh_mpa_write(vm, h + 8 * 511, a | URW);
    pin(vm, h, 1, PV_EWRITABLE, "pinning an L1 whose entry 511 maps pinned table a writable");
    sh_mpa_write(vm, k + 8 * 511, d2 | URW);
    pin(vm, k, 1, PV_OK, "pinning an L1 whose entry 511 maps data frame d2 writable");
    pin(vm, d2, 1, PV_EWRITABLE, "pinning d2 while entry 511 of a pinned L1 maps it writable");
    sh_vm_destroy(vm);
}

Test(shadow, pv_reject_wrong_level, .timeout = SH_TIMEOUT) {
    struct sh_vm *vm = pv_vm();
    uint64_t l1 = M(vm, 1), l2 = M(vm, 2), l3 = M(vm, 3), x = M(vm, 4);
    pin(vm, l1, 1, PV_OK, "pinning L1");
    sh_mpa_write(vm, l2, l1 | URW);
    pin(vm, l2, 2, PV_OK, "pinning an L2 pointing to the L1");
    pin(vm, l3, 3, PV_OK, "pinning an empty L3");
    upd(vm, l3, l1 | URW, PV_EWRONGTYPE, "an L3 entry pointing to an L1");
    upd(vm, l3, l2 | URW, PV_OK, "an L3 entry pointing to the L2");
    upd(vm, l2 + 8, M(vm, 50) | URW, PV_EWRONGTYPE,
        "an L2 entry pointing to a frame that is no table");
    upd(vm, l2 + 16, l2 | URW, PV_EWRONGTYPE, "an L2 entry pointing to the L2 itself");
    sh_mpa_write(vm, x, l2 | UR);
    pin(vm, x, 2, PV_EWRONGTYPE, "pinning as L2 a frame whose entry points to an L2");
    pin(vm, x, 3, PV_OK, "pinning the same frame as L3");
    sh_vm_destroy(vm);
}

Test(shadow, pv_reject_reserved, .timeout = SH_TIMEOUT) {
    struct sh_vm *vm = pv_vm();
    uint64_t l1 = M(vm, 1), l2 = M(vm, 2), x = M(vm, 3), d = M(vm, 10);
    pin(vm, l1, 1, PV_OK, "pinning L1");
    pin(vm, l2, 2, PV_OK, "pinning L2");
    upd(vm, l1, d | URW | (1ull << 50), PV_ERSVD, "bit 50 set (above MAXPHYADDR 46)");
    upd(vm, l1, d | URW | X86_PTE_NX, PV_OK, "XD set (EFER.NXE is on)");
    upd(vm, l1 + 8, d | UR | X86_PTE_PAT, PV_OK, "PAT (bit 7) in an L1 entry");
    upd(vm, l1 + 16, d | UR | (1ull << 52) | (1ull << 62), PV_OK,
        "bits 52 and 62 set (ignored by the MMU: free for software, not reserved)");
    upd(vm, l2, l1 | URW | X86_PTE_PS, PV_ERSVD, "PS in an L2 entry (no superpages)");
    upd(vm, l2, l1 | URW, PV_OK, "the same entry without PS");
    sh_mpa_write(vm, x + 16, l2 | URW | X86_PTE_PS);
    pin(vm, x, 3, PV_ERSVD, "pinning an L3 with PS in an entry");
    sh_vm_destroy(vm);
}

Test(shadow, pv_batch_statuses, .timeout = SH_TIMEOUT) {
    struct sh_vm *vm = pv_vm();
    uint64_t l1 = M(vm, 1), l1b = M(vm, 2), foreign;
    sh_frame_alloc(vm, &foreign);
    pin(vm, l1, 1, PV_OK, "pinning L1");
    pin(vm, l1b, 1, PV_OK, "pinning another L1");
    struct pv_update req[6] = {
        {l1, M(vm, 10) | URW},        /* ok */
        {l1 + 8, foreign | URW},      /* not owned */
        {l1 + 16, M(vm, 2) | UR},     /* ok: read-only mapping of a table */
        {l1 + 24, M(vm, 2) | URW},    /* writable mapping of a table */
        {l1, 0},                      /* ok: clears request 0's entry */
        {M(vm, 40), M(vm, 11) | URW}, /* not a pinned table */
    };
    const int want[6] = {PV_OK, PV_ENOTOWNED, PV_OK, PV_EWRITABLE, PV_OK, PV_EBADPTR};
    const uint64_t after[4] = {0, 0, M(vm, 2) | UR, 0};
    int st[6];
    int rc = pv_mmu_update(vm->pv, req, 6, st);
    cr_assert_eq(rc, VLAB_OK, "pv_mmu_update returned %s %s", vlab_strerror(rc), SEC_PV);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(st[i], want[i], "request %d of the batch: expected %s, got %s %s", i,
                     st_name(want[i]), st_name(st[i]), SEC_PV);
    rc = pv_mmu_update(vm->pv, NULL, 1, st);
    cr_assert_eq(rc, VLAB_EINVAL, "pv_mmu_update with a NULL request array returned %s %s",
                 vlab_strerror(rc), SEC_PV);
    rc = pv_mmu_update(vm->pv, req, 1, NULL);
    cr_assert_eq(rc, VLAB_EINVAL, "pv_mmu_update with a NULL status array returned %s %s",
                 vlab_strerror(rc), SEC_PV);
    rc = pv_mmu_update(NULL, req, 1, st);
    cr_assert_eq(rc, VLAB_EINVAL, "pv_mmu_update with a NULL pv returned %s %s", vlab_strerror(rc),
                 SEC_PV);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(get(vm, l1 + 8ull * i), after[i],
                     "after the batch, entry %d of the L1 should be %#" PRIx64 ", is %#" PRIx64
                     " %s",
                     i, after[i], get(vm, l1 + 8ull * i), SEC_PV);
    sh_vm_destroy(vm);
}

Test(shadow, pv_unpin_rules, .timeout = SH_TIMEOUT) {
    struct sh_vm *vm = pv_vm();
    uint64_t l1 = M(vm, 1), l2 = M(vm, 2), other = M(vm, 3);
    pin(vm, l1, 1, PV_OK, "pinning L1");
    sh_mpa_write(vm, l2 + 40, l1 | URW);
    pin(vm, l2, 2, PV_OK, "pinning an L2 that uses the L1");
    pin(vm, other, 1, PV_OK, "pinning another L1");
    expect(pv_unpin(vm->pv, l1), PV_EBUSY, "unpinning an L1 a pinned L2 still uses");
    upd(vm, l2 + 40, 0, PV_OK, "clearing the L2's entry");
    expect(pv_unpin(vm->pv, l1), PV_OK, "unpinning the L1 once nothing uses it");
    expect(pv_unpin(vm->pv, l1), PV_EBADPTR, "unpinning it again");
    upd(vm, l1, M(vm, 10) | URW, PV_EBADPTR, "an update of the unpinned frame");
    upd(vm, other, l1 | URW, PV_OK, "a writable mapping of the frame that is no table any more");
    expect(pv_unpin(vm->pv, l2), PV_OK, "unpinning the L2");
    expect(pv_unpin(vm->pv, 0x1000), PV_EBADPTR, "unpinning an address outside machine memory");
    uint64_t foreign;
    cr_assert_eq(sh_frame_alloc(vm, &foreign), VLAB_OK, "test setup: no frame");
    expect(pv_unpin(vm->pv, foreign), PV_EBADPTR, "unpinning a frame the domain does not own");
    /* A frame is named by any address inside it (§7.1): the low 12 bits are not part of it.
     * Frames with bit 12 set and clear, so that no other bit of the address is dropped. */
    for (unsigned k = 40, n = 0; n < 2; k++) {
        uint64_t t = M(vm, k);
        if (!!(t & 0x1000) != (n == 0)) continue;
        n++;
        pin(vm, t + 0x5a9, 1, PV_OK, "pinning an empty L1 named by an address inside its frame");
        upd(vm, t + 8, M(vm, 30) | URW, PV_OK, "an update of that table");
        expect(pv_unpin(vm->pv, t + 0xff9), PV_OK,
               "unpinning the L1 by another address inside its frame");
        upd(vm, t + 8, M(vm, 31) | URW, PV_EBADPTR, "an update of the frame once unpinned");
        pin(vm, t, 1, PV_OK, "pinning it again by its own address");
    }
    sh_vm_destroy(vm);
}

/* ---- the model: the rules of §6.2 written once more, over a private copy of the frames ---- */

#define NF 24 /* the domain frames the random test uses; plus 2 foreign ones */
struct model {
    uint64_t hpa[NF + 2];
    uint64_t mem[NF + 2][512];
    int level[NF + 2];
    unsigned writers[NF + 2], users[NF + 2];
};

static int mframe(const struct model *m, uint64_t hpa) {
    for (int i = 0; i < NF + 2; i++)
        if (m->hpa[i] == (hpa & ~0xfffull)) return i;
    return -1;
}

static int mcheck(const struct model *m, uint64_t v, int level, int self) {
    if (!(v & X86_PTE_P)) return PV_OK;
    if ((v & 0x000fc00000000000ull) || (level > 1 && (v & X86_PTE_PS))) return PV_ERSVD;
    int t = mframe(m, v & 0x00003ffffffff000ull);
    if (t < 0 || t >= NF) return PV_ENOTOWNED;
    if (level > 1) return m->level[t] == level - 1 ? PV_OK : PV_EWRONGTYPE;
    return (v & X86_PTE_RW) && (m->level[t] || t == self) ? PV_EWRITABLE : PV_OK;
}

static void mcount(struct model *m, uint64_t v, int level, int d) {
    if (!(v & X86_PTE_P)) return;
    int t = mframe(m, v & 0x00003ffffffff000ull);
    if (level > 1)
        m->users[t] += (unsigned)d;
    else if (v & X86_PTE_RW)
        m->writers[t] += (unsigned)d;
}

static int mpin(struct model *m, int f, int level) {
    if (f >= NF) return PV_ENOTOWNED;
    if (m->level[f]) return PV_EBUSY;
    if (m->writers[f]) return PV_EWRITABLE;
    for (int i = 0; i < 512; i++) {
        int s = mcheck(m, m->mem[f][i], level, f);
        if (s != PV_OK) return s;
    }
    for (int i = 0; i < 512; i++)
        mcount(m, m->mem[f][i], level, +1);
    m->level[f] = level;
    return PV_OK;
}

static int munpin(struct model *m, int f) {
    if (f >= NF || !m->level[f]) return PV_EBADPTR;
    if (m->users[f]) return PV_EBUSY;
    for (int i = 0; i < 512; i++)
        mcount(m, m->mem[f][i], m->level[f], -1);
    m->level[f] = 0;
    return PV_OK;
}

static int mupdate(struct model *m, int f, unsigned idx, uint64_t v) {
    if (f >= NF || !m->level[f]) return PV_EBADPTR;
    int s = mcheck(m, v, m->level[f], f);
    if (s != PV_OK) return s;
    mcount(m, m->mem[f][idx], m->level[f], -1);
    mcount(m, v, m->level[f], +1);
    m->mem[f][idx] = v;
    return PV_OK;
}

static uint64_t rand_entry(struct vlab_rng *r, const struct model *m) {
    if (vlab_rng_chance(r, 15)) return vlab_rng_next(r) & ~X86_PTE_P;
    uint64_t v = m->hpa[vlab_rng_below(r, vlab_rng_chance(r, 5) ? NF + 2 : NF)] | X86_PTE_P;
    if (vlab_rng_chance(r, 50)) v |= X86_PTE_RW;
    if (vlab_rng_chance(r, 50)) v |= X86_PTE_US;
    if (vlab_rng_chance(r, 4)) v |= X86_PTE_PS;
    if (vlab_rng_chance(r, 3)) v |= 1ull << (46 + vlab_rng_below(r, 6));
    if (vlab_rng_chance(r, 10)) v |= X86_PTE_NX;
    return v;
}

Test(shadow, pv_random_model, .timeout = SH_TIMEOUT) {
    struct sh_vm *vm = pv_vm();
    static struct model m;
    memset(&m, 0, sizeof m);
    for (int i = 0; i < NF; i++)
        m.hpa[i] = M(vm, 100 + (unsigned)i);
    for (int i = NF; i < NF + 2; i++)
        sh_frame_alloc(vm, &m.hpa[i]);
    struct vlab_rng r;
    vlab_rng_seed(&r, 51);
    uint64_t counts[8] = {0};
    for (unsigned op = 0; op < 20000; op++) {
        unsigned kind = (unsigned)vlab_rng_below(&r, 10);
        int f = (int)vlab_rng_below(&r, vlab_rng_chance(&r, 3) ? NF + 2 : NF);
        if (kind < 3) { /* the guest writes an unpinned frame of its own */
            if (f >= NF || m.level[f]) continue;
            unsigned idx = (unsigned)vlab_rng_below(&r, 8);
            uint64_t v = rand_entry(&r, &m);
            m.mem[f][idx] = v;
            sh_mpa_write(vm, m.hpa[f] + 8ull * idx, v);
        } else if (kind < 5) {
            int level = 1 + (int)vlab_rng_below(&r, 4);
            int want = mpin(&m, f, level), got = pv_pin(vm->pv, m.hpa[f], level);
            counts[-want - 19 > 0 && -want - 19 < 8 ? -want - 19 : 0]++;
            cr_assert_eq(got, want,
                         "op %u (seed 51): pin frame %d (hpa %#" PRIx64 ") as L%d: expected %s, "
                         "got %s %s",
                         op, f, m.hpa[f], level, st_name(want), st_name(got), SEC_PV);
        } else if (kind < 6) {
            int want = munpin(&m, f), got = pv_unpin(vm->pv, m.hpa[f]);
            cr_assert_eq(got, want,
                         "op %u (seed 51): unpin frame %d (hpa %#" PRIx64 "): expected %s, got "
                         "%s %s",
                         op, f, m.hpa[f], st_name(want), st_name(got), SEC_PV);
        } else {
            struct pv_update req[8];
            int want[8], got[8];
            unsigned n = 1 + (unsigned)vlab_rng_below(&r, 8);
            for (unsigned i = 0; i < n; i++) {
                int t = (int)vlab_rng_below(&r, NF);
                unsigned idx = (unsigned)vlab_rng_below(&r, 8);
                req[i] = (struct pv_update){m.hpa[t] + 8ull * idx, rand_entry(&r, &m)};
                want[i] = mupdate(&m, t, idx, req[i].val);
                counts[-want[i] - 19 > 0 && -want[i] - 19 < 8 ? -want[i] - 19 : 0]++;
            }
            int rc = pv_mmu_update(vm->pv, req, n, got);
            cr_assert_eq(rc, VLAB_OK, "pv_mmu_update returned %s %s", vlab_strerror(rc), SEC_PV);
            for (unsigned i = 0; i < n; i++)
                cr_assert_eq(got[i], want[i],
                             "op %u (seed 51), request %u of %u: write %#" PRIx64
                             " at hpa %#" PRIx64 ": expected %s, got %s %s",
                             op, i, n, req[i].val, req[i].ptr, st_name(want[i]), st_name(got[i]),
                             SEC_PV);
        }
    }
    for (int f = 0; f < NF; f++)
        for (unsigned i = 0; i < 8; i++)
            cr_assert_eq(get(vm, m.hpa[f] + 8ull * i), m.mem[f][i],
                         "after 20,000 operations, entry %u of frame %d is %#" PRIx64
                         ", expected %#" PRIx64 " %s",
                         i, f, get(vm, m.hpa[f] + 8ull * i), m.mem[f][i], SEC_PV);
    for (int k = 1; k <= 6; k++)
        cr_assert_gt(counts[k], 20, "test setup: only %" PRIu64 " outcomes %s", counts[k],
                     st_name(-19 - k));
    sh_vm_destroy(vm);
}
