#include "sh_os.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTE_COW   (1ull << 9)  /* software bits the CPU ignores, as Linux keeps them */
#define PTE_MPROT (1ull << 10) /* read-only by mprotect: a write fault is SIGSEGV, not COW */
#define PTE_JUNK  (1ull << 50) /* reserved with MAXPHYADDR 46 */
#define ADDR      0x00003ffffffff000ull /* bits 45:12: MAXPHYADDR 46 */
#define UFLAGS    (X86_PTE_P | X86_PTE_RW | X86_PTE_US)
#define KIDX      273u /* PML4 slot of SH_KBASE */

enum { K_FREE, K_PT, K_DATA };

struct vma {
    uint64_t start;
    unsigned pages;
    uint64_t flags;
};
static const struct vma vmas[] = {
    {0x400000ull, 16, X86_PTE_US},                                 /* text: read-only, exec */
    {0x10000000ull, 640, X86_PTE_US | X86_PTE_RW | X86_PTE_NX},    /* heap: 2 page tables */
    {0x7f1234400000ull, 64, X86_PTE_US | X86_PTE_RW | X86_PTE_NX}, /* an mmap */
    {0x7fffffe00000ull, 32, X86_PTE_US | X86_PTE_RW | X86_PTE_NX}, /* the stack */
};
#define NVMAS      (sizeof vmas / sizeof vmas[0])
#define USER_PAGES (16u + 640u + 64u + 32u)
#define HEAP_FIRST 16u
#define HEAP_PAGES 640u

/* clang-format off */
/*                                          ACC KACC WILD MPROT UNMAP SWITCH FLUSH INVLPG CLOCK FORK EXIT CORR */
const struct sh_profile sh_profile_sequential = {"sequential",
    {800, 40,  10,  10,   10,   30,    10,   20,    10,   1,   1,   0}, SH_PAT_SEQUENTIAL, 30, 5, 4, false, 16, 16};
const struct sh_profile sh_profile_random = {"random",
    {800, 60,  30,  20,   20,   30,    10,   20,    10,   1,   1,   0}, SH_PAT_RANDOM, 30, 10, 4, false, 16, 16};
const struct sh_profile sh_profile_working_set = {"working-set",
    {900, 40,  10,  10,   10,   40,    10,   20,    10,   1,   1,   0}, SH_PAT_WORKING_SET, 40, 5, 4, false, 16, 24};
const struct sh_profile sh_profile_fork = {"fork-cow",
    {800, 80,  10,  10,   10,   40,    10,   10,    10,   4,   3,   0}, SH_PAT_WORKING_SET, 50, 5, 6, false, 16, 48};
const struct sh_profile sh_profile_clock = {"clock",
    {700, 40,  10,  10,   10,   30,    10,   10,    80,   1,   1,   0}, SH_PAT_RANDOM, 40, 5, 4, false, 16, 16};
const struct sh_profile sh_profile_everything = {"everything",
    {700, 80,  40,  30,   30,   40,    20,   30,    40,   3,   3,   5}, SH_PAT_RANDOM, 35, 10, 8, false, 16, 32};
const struct sh_profile sh_profile_pingpong = {"pingpong",
    {700, 0,   0,   0,    0,    300,   0,    0,     0,    0,   0,   0}, SH_PAT_WORKING_SET, 30, 0, 2, true, 16, 32};
/* clang-format on */

const char *sh_op_name(unsigned kind) {
    static const char *n[] = {"access", "kaccess", "wild",  "mprotect", "munmap", "switch",
                              "flush",  "invlpg",  "clock", "fork",     "exit",   "corrupt"};
    return kind < SH_OP_KINDS ? n[kind] : "boot";
}

static bool fail(struct sh_os *os, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------- messages ---------------- */

static const char *outcome_str(const struct sh_outcome *o, bool machine, char *buf, size_t len) {
    if (o->rc == VLAB_OK)
        snprintf(buf, len, "ok %s %#" PRIx64 " value %#" PRIx64, machine ? "hpa" : "gpa", o->pa,
                 o->value);
    else if (o->rc == VLAB_EPF)
        snprintf(buf, len, "#PF error %#x (%s%s%s%s%s) cr2 %#" PRIx64, o->error,
                 o->error & X86_PF_P ? "P" : "-", o->error & X86_PF_W ? "W" : "-",
                 o->error & X86_PF_U ? "U" : "-", o->error & X86_PF_RSVD ? "R" : "-",
                 o->error & X86_PF_I ? "I" : "-", o->cr2);
    else
        snprintf(buf, len, "error %s", vlab_strerror(o->rc));
    return buf;
}

static const char *access_str(unsigned a) {
    static const char *n[] = {"kernel read", "kernel write", "user read", "user write"};
    if (a & VLAB_ACC_FETCH) return a & VLAB_ACC_USER ? "user fetch" : "kernel fetch";
    return n[((a & VLAB_ACC_USER) ? 2 : 0) + ((a & VLAB_ACC_WRITE) ? 1 : 0)];
}

static size_t trace_str(const struct sh_os *os, char *buf, size_t len) {
    size_t n = 0;
    unsigned count = os->nring < SH_TRACE ? os->nring : SH_TRACE;
    n += (size_t)snprintf(buf + n, len - n, "  the last %u CPU events (oldest first):\n", count);
    for (unsigned k = 0; k < count && n < len; k++) {
        const struct sh_event *e = &os->ring[(os->nring - count + k) % SH_TRACE];
        char a[128], b[128];
        if (e->what == 'A') {
            char wv[40] = "";
            if (e->access & VLAB_ACC_WRITE) snprintf(wv, sizeof wv, " <- %#" PRIx64, e->value);
            bool differ = e->vm.rc != e->ideal.rc || e->vm.error != e->ideal.error;
            n += (size_t)snprintf(
                buf + n, len - n,
                "    op %" PRIu64 " %-8s %-12s gva %#" PRIx64 "%s: ideal %s%s%s\n", e->op,
                sh_op_name(e->kind), access_str(e->access), e->gva, wv,
                outcome_str(&e->ideal, false, a, sizeof a), differ ? ", machine " : "",
                differ ? outcome_str(&e->vm, true, b, sizeof b) : "");
        } else
            n += (size_t)snprintf(buf + n, len - n, "    op %" PRIu64 " %-8s %s %#" PRIx64 "\n",
                                  e->op, sh_op_name(e->kind),
                                  e->what == 'C' ? "MOV CR3," : "INVLPG", e->gva);
    }
    return n;
}

static bool fail(struct sh_os *os, const char *fmt, ...) {
    if (os->failed) return false;
    os->failed = true;
    int n = snprintf(os->err, sizeof os->err,
                     "workload \"%s\", seed %" PRIu64 ", op %" PRIu64 " (%s): ", os->p->name,
                     os->seed, os->ops, sh_op_name(os->cur_kind));
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(os->err + n, sizeof os->err - (size_t)n, fmt, ap);
    va_end(ap);
    if ((size_t)n + 2 < sizeof os->err) {
        os->err[n++] = '\n';
        trace_str(os, os->err + n, sizeof os->err - (size_t)n);
    }
    /* the tables as they are now, along the last access (a VMM failure already has them) */
    const struct sh_event *last = os->nring ? &os->ring[(os->nring - 1) % SH_TRACE] : NULL;
    size_t len = strlen(os->err);
    if (last && last->what == 'A' && !os->vm->err[0] && len + 200 < sizeof os->err) {
        len += (size_t)snprintf(os->err + len, sizeof os->err - len,
                                "  the paths of the last access (gva %#" PRIx64 ", %s), now:",
                                last->gva, access_str(last->access));
        sh_vm_paths(os->vm, last->gva, last->access, os->err + len, sizeof os->err - len);
    }
    return false;
}

/* ---------------- the two machines in lock step ---------------- */

static struct vlab_gpmem *pmem(struct sh_os *os) {
    return os->ideal ? &os->ideal->mem : &os->vm->gmem;
}

static uint64_t peek(struct sh_os *os, uint64_t gpa) {
    uint64_t v = 0;
    vlab_gpmem_read_u64(pmem(os), gpa, &v);
    return v;
}

static void ideal_access(struct sh_os *os, uint64_t gva, unsigned acc, uint64_t val,
                         struct sh_outcome *o) {
    struct vlab_walk w;
    memset(o, 0, sizeof *o);
    o->rc =
        vlab_pt_walk(&os->ideal->mem, &os->vm->gpg, os->ideal->cr3, gva, acc, VLAB_WALK_SET_AD, &w);
    if (o->rc == VLAB_EPF) {
        o->error = w.pf_error;
        o->cr2 = gva;
    } else if (o->rc == VLAB_OK) {
        o->pa = w.gpa;
        if (acc & VLAB_ACC_WRITE)
            vlab_gpmem_write_u64(&os->ideal->mem, w.gpa, val);
        else
            vlab_gpmem_read_u64(&os->ideal->mem, w.gpa, &o->value);
    }
}

static struct sh_event *record(struct sh_os *os, char what, uint64_t gva, unsigned acc,
                               uint64_t val) {
    struct sh_event *e = &os->ring[os->nring++ % SH_TRACE];
    *e = (struct sh_event){
        .op = os->ops, .kind = os->cur_kind, .what = what, .access = acc, .gva = gva, .value = val};
    return e;
}

static const char *why(const struct sh_outcome *i, const struct sh_outcome *v) {
    if (i->rc == VLAB_OK && v->rc == VLAB_EPF)
        return "the guest sees a fault its own MMU would not raise (a hidden fault injected? "
               "handout §2.2)";
    if (i->rc == VLAB_EPF && v->rc == VLAB_OK)
        return "the guest's MMU would fault here (a stale or too permissive shadow entry? "
               "handout §2.3, §3)";
    if (i->rc == VLAB_EPF) return "wrong error code or CR2 (handout §2.2)";
    return "";
}

static bool cpu_access(struct sh_os *os, uint64_t gva, unsigned acc, uint64_t val,
                       struct sh_outcome *out) {
    struct sh_outcome vo;
    struct sh_event *e = record(os, 'A', gva, acc, val);
    sh_vm_access(os->vm, gva, acc, val, &vo);
    e->vm = vo;
    if (vo.rc != VLAB_OK && vo.rc != VLAB_EPF)
        return fail(os, "%s of gva %#" PRIx64 ": %s", access_str(acc), gva, os->vm->err);
    if (!os->ideal) {
        e->ideal = vo;
        *out = vo;
        return true;
    }
    struct sh_outcome io;
    ideal_access(os, gva, acc, val, &io);
    e->ideal = io;
    *out = io;
    char a[160], b[160];
    if (io.rc != VLAB_OK && io.rc != VLAB_EPF)
        return fail(os, "the ideal MMU failed on gva %#" PRIx64 ": %s (a harness bug)", gva,
                    vlab_strerror(io.rc));
    if (io.rc != vo.rc || (io.rc == VLAB_EPF && (io.error != vo.error || io.cr2 != vo.cr2)))
        return fail(os, "%s of gva %#" PRIx64 ": expected %s, got %s: %s", access_str(acc), gva,
                    outcome_str(&io, false, a, sizeof a), outcome_str(&vo, true, b, sizeof b),
                    why(&io, &vo));
    if (io.rc == VLAB_OK) {
        uint64_t want = 0;
        sh_p2m(os->vm, io.pa, &want);
        if (want != vo.pa)
            return fail(os,
                        "%s of gva %#" PRIx64 ": the guest maps it to gpa %#" PRIx64
                        ", whose machine address is %#" PRIx64 ", but the access went to %#" PRIx64
                        " (a stale shadow entry, or a gPA/hPA mix-up? handout §1.2, §2.3)",
                        access_str(acc), gva, io.pa, want, vo.pa);
        long fi = sh_gfn_index(io.pa);
        if (!(acc & VLAB_ACC_WRITE) && io.value != vo.value && fi >= 0 && os->kind[fi] == K_PT) {
            char sx[96], sy[96];
            return fail(os,
                        "%s of gva %#" PRIx64 " (gpa %#" PRIx64 ", a guest page-table entry): "
                        "expected %s, read %s (the guest-visible A/D bits: handout §4; emulated "
                        "writes: §3.2)",
                        access_str(acc), gva, io.pa, vlab_pte_str(io.value, sx, sizeof sx),
                        vlab_pte_str(vo.value, sy, sizeof sy));
        }
        if (!(acc & VLAB_ACC_WRITE) && io.value != vo.value)
            return fail(os,
                        "%s of gva %#" PRIx64 " (gpa %#" PRIx64 "): expected value %#" PRIx64
                        ", read %#" PRIx64 " (guest memory differs: a lost or misplaced write? "
                        "handout §3.2)",
                        access_str(acc), gva, io.pa, io.value, vo.value);
    }
    return true;
}

static bool cpu_set_cr3(struct sh_os *os, uint64_t cr3) {
    record(os, 'C', cr3, 0, 0);
    if (os->ideal) os->ideal->cr3 = cr3;
    if (sh_vm_set_cr3(os->vm, cr3) != VLAB_OK) return fail(os, "%s", os->vm->err);
    return true;
}

static bool cpu_invlpg(struct sh_os *os, uint64_t gva) {
    record(os, 'I', gva, 0, 0);
    if (sh_vm_invlpg(os->vm, gva) != VLAB_OK) return fail(os, "%s", os->vm->err);
    return true;
}

/* ---------------- the kernel ---------------- */

static bool k_write(struct sh_os *os, uint64_t gpa, uint64_t val) {
    struct sh_outcome o;
    if (!cpu_access(os, SH_KBASE + gpa, VLAB_ACC_WRITE, val, &o)) return false;
    if (o.rc != VLAB_OK)
        return fail(os, "the kernel's write to the direct map at gpa %#" PRIx64 " faulted", gpa);
    long i = sh_gfn_index(gpa);
    if (i >= 0 && val) os->dirty[i] = true;
    return true;
}

static bool k_read(struct sh_os *os, uint64_t gpa, uint64_t *val) {
    struct sh_outcome o;
    if (!cpu_access(os, SH_KBASE + gpa, VLAB_ACC_READ, 0, &o)) return false;
    if (o.rc != VLAB_OK)
        return fail(os, "the kernel's read of the direct map at gpa %#" PRIx64 " faulted", gpa);
    *val = o.value;
    return true;
}

static void put_frame(struct sh_os *os, uint64_t gpa) {
    long i = sh_gfn_index(gpa);
    if (i < 0 || os->kind[i] == K_FREE) return;
    if (os->refs[i] > 1) {
        os->refs[i]--;
        return;
    }
    os->refs[i] = 0;
    os->kind[i] = K_FREE;
    os->freel[os->nfree++] = (uint32_t)i;
}

/* Clears a frame through the direct map: only the words that are not zero already. */
static bool k_clear(struct sh_os *os, uint64_t gpa) {
    long i = sh_gfn_index(gpa);
    if (!os->dirty[i]) return true;
    for (unsigned w = 0; w < 512; w++)
        if (peek(os, gpa + 8 * w) && !k_write(os, gpa + 8 * w, 0)) return false;
    os->dirty[i] = false;
    return true;
}

static uint64_t page_gva(unsigned p) {
    for (unsigned v = 0; v < NVMAS; v++) {
        if (p < vmas[v].pages) return vmas[v].start + ((uint64_t)p << 12);
        p -= vmas[v].pages;
    }
    return 0;
}

static int gva_vma(uint64_t gva) {
    for (unsigned v = 0; v < NVMAS; v++)
        if (gva >= vmas[v].start && gva < vmas[v].start + ((uint64_t)vmas[v].pages << 12))
            return (int)v;
    return -1;
}

static bool pte_of(struct sh_os *os, uint64_t pml4, uint64_t gva, uint64_t *g) {
    return vlab_pt_entry_gpa(pmem(os), pml4, gva, 1, g) == VLAB_OK;
}

static bool evict_one(struct sh_os *os);

/* *gpa: a frame for kind, its contents not yet cleared; false (no failure) when memory is
 * exhausted even after evicting. */
static bool k_alloc(struct sh_os *os, int kind, uint64_t *gpa) {
    for (int tries = 0; os->nfree == 0 && tries < 8; tries++)
        if (!evict_one(os) && os->failed) return false;
    if (os->nfree == 0) return false;
    uint32_t i = os->freel[--os->nfree];
    os->kind[i] = (uint8_t)kind;
    os->refs[i] = 1;
    *gpa = sh_gfn_gpa(i);
    return true;
}

/* Missing tables on the path to gva's PTE; false if out of memory or failed. */
static bool ensure_tables(struct sh_os *os, uint64_t pml4, uint64_t gva) {
    uint64_t table = pml4;
    for (int lvl = 4; lvl >= 2; lvl--) {
        uint64_t g = table + 8ull * x86_pt_index(gva, lvl), e = peek(os, g);
        if (!(e & X86_PTE_P)) {
            uint64_t t;
            if (!k_alloc(os, K_PT, &t)) return false;
            if (!k_clear(os, t) || !k_write(os, g, t | UFLAGS)) return false;
            e = t | UFLAGS;
        }
        table = e & ADDR;
    }
    return true;
}

static bool demand(struct sh_os *os, uint64_t gva, int v) {
    uint64_t pml4 = os->as[os->cur].pml4, frame, g;
    if (!ensure_tables(os, pml4, gva) || !pte_of(os, pml4, gva, &g)) return false;
    if (!k_alloc(os, K_DATA, &frame)) return false;
    if (!k_clear(os, frame) || !k_write(os, frame, ++os->tag | 1)) return false;
    if (peek(os, g) & X86_PTE_P) { /* the eviction above may not touch this page; be safe */
        put_frame(os, frame);
        return true;
    }
    os->n_demand++;
    return k_write(os, g, frame | X86_PTE_P | vmas[v].flags);
}

static bool cow_break(struct sh_os *os, uint64_t gva, uint64_t g, uint64_t pte) {
    uint64_t old = pte & ADDR;
    long i = sh_gfn_index(old);
    uint64_t npte = (pte | X86_PTE_RW) & ~PTE_COW;
    if (os->refs[i] > 1) {
        uint64_t fresh;
        if (!k_alloc(os, K_DATA, &fresh)) return false;
        if (!k_clear(os, fresh)) return false;
        for (unsigned w = 0; w < 512; w++) {
            uint64_t v;
            if (!peek(os, old + 8 * w)) continue;
            if (!k_read(os, old + 8 * w, &v) || !k_write(os, fresh + 8 * w, v)) return false;
        }
        npte = fresh | (npte & ~ADDR & ~(X86_PTE_A | X86_PTE_D));
        put_frame(os, old);
    }
    os->n_cow++;
    return k_write(os, g, npte) && cpu_invlpg(os, gva);
}

/* The kernel's #PF handler: true when it fixed the cause and the access should be retried. */
static bool handle_fault(struct sh_os *os, uint64_t gva, uint32_t ec, bool *retry) {
    *retry = false;
    uint64_t pml4 = os->as[os->cur].pml4, g;
    os->n_guest_pf++;
    if (ec & X86_PF_RSVD) {
        if (!pte_of(os, pml4, gva, &g)) return true;
        os->n_rsvd++;
        *retry = true;
        return k_write(os, g, peek(os, g) & ~PTE_JUNK) && cpu_invlpg(os, gva);
    }
    int v = gva_vma(gva);
    if (v < 0) {
        os->n_segv++;
        return true;
    }
    if (!(ec & X86_PF_P)) {
        *retry = true;
        return demand(os, gva, v) || !os->failed;
    }
    uint64_t pte = pte_of(os, pml4, gva, &g) ? peek(os, g) : 0;
    if ((ec & X86_PF_W) && (pte & PTE_COW)) {
        *retry = true;
        return cow_break(os, gva, g, pte) || !os->failed;
    }
    os->n_segv++;
    return true;
}

/* An access with the kernel's fault handling and one retry, as the instruction restarts. */
static bool access_fixing(struct sh_os *os, uint64_t gva, unsigned acc, uint64_t val) {
    struct sh_outcome o;
    os->n_access++;
    if (!cpu_access(os, gva, acc, val, &o)) return false;
    if (o.rc == VLAB_OK) return true;
    bool retry;
    if (!handle_fault(os, gva, o.error, &retry)) return false;
    if (!retry) return true;
    if (!cpu_access(os, gva, acc, val, &o)) return false;
    if (o.rc == VLAB_EPF && !handle_fault(os, gva, o.error, &retry)) return false;
    return true;
}

/* A random present user page of the current space: its number, PTE gpa and value. */
static bool random_present(struct sh_os *os, unsigned *p, uint64_t *g, uint64_t *pte) {
    uint64_t pml4 = os->as[os->cur].pml4;
    for (int t = 0; t < 16; t++) {
        *p = (unsigned)vlab_rng_below(&os->rng, USER_PAGES);
        if (pte_of(os, pml4, page_gva(*p), g) && ((*pte = peek(os, *g)) & X86_PTE_P)) return true;
    }
    return false;
}

static bool evict_one(struct sh_os *os) {
    unsigned p;
    uint64_t g, pte;
    if (!random_present(os, &p, &g, &pte)) return false;
    if (!k_write(os, g, 0) || !cpu_invlpg(os, page_gva(p))) return false;
    put_frame(os, pte & ADDR);
    return true;
}

static uint64_t pick_gva(struct sh_os *os) {
    unsigned p;
    struct vlab_rng *r = &os->rng;
    switch (os->p->pattern) {
    case SH_PAT_SEQUENTIAL: p = HEAP_FIRST + (unsigned)(os->seq_next++ % HEAP_PAGES); break;
    case SH_PAT_WORKING_SET:
        if (vlab_rng_chance(r, 90)) {
            unsigned h = (unsigned)vlab_rng_below(r, os->p->hot_pages);
            if (vlab_rng_chance(r, 1)) os->hot[h] = vlab_rng_below(r, USER_PAGES);
            p = (unsigned)os->hot[h];
            break;
        }
        /* fall through */
    default: p = (unsigned)vlab_rng_below(r, USER_PAGES);
    }
    return page_gva(p) + 8 * vlab_rng_below(r, 512);
}

static unsigned pick_access(struct sh_os *os) {
    unsigned x = (unsigned)vlab_rng_below(&os->rng, 100);
    if (x < os->p->pct_fetch) return VLAB_ACC_USER | VLAB_ACC_FETCH;
    if (x < os->p->pct_fetch + os->p->pct_write) return VLAB_ACC_USER | VLAB_ACC_WRITE;
    return VLAB_ACC_USER;
}

static bool new_space(struct sh_os *os, unsigned idx) {
    uint64_t pml4;
    if (!k_alloc(os, K_PT, &pml4)) return fail(os, "out of guest memory for a PML4");
    if (!k_clear(os, pml4) || !k_write(os, pml4 + 8 * KIDX, os->kpdpt | X86_PTE_P | X86_PTE_RW))
        return false;
    os->as[idx] = (struct sh_space){.live = true, .pml4 = pml4};
    return true;
}

static bool op_fork(struct sh_os *os) {
    unsigned idx = SH_MAX_SPACES, live = 0;
    for (unsigned i = 0; i < SH_MAX_SPACES; i++) {
        live += os->as[i].live;
        if (!os->as[i].live && idx == SH_MAX_SPACES) idx = i;
    }
    if (live >= os->p->max_spaces || idx == SH_MAX_SPACES) return true;
    uint64_t parent = os->as[os->cur].pml4;
    if (!new_space(os, idx)) return false;
    uint64_t child = os->as[idx].pml4;
    for (unsigned p = 0; p < USER_PAGES; p++) {
        uint64_t gva = page_gva(p), g, cg;
        if (!pte_of(os, parent, gva, &g)) continue;
        uint64_t pte = peek(os, g);
        if (!(pte & X86_PTE_P)) continue;
        if (!ensure_tables(os, child, gva)) {
            if (os->failed) return false;
            break; /* out of memory: the child gets what was copied so far */
        }
        if ((pte & X86_PTE_RW) && !(pte & PTE_MPROT)) {
            pte = (pte & ~X86_PTE_RW) | PTE_COW;
            if (!k_write(os, g, pte)) return false;
        }
        pte_of(os, child, gva, &cg);
        if (!k_write(os, cg, pte & ~X86_PTE_A)) return false;
        os->refs[sh_gfn_index(pte & ADDR)]++;
    }
    os->n_fork++;
    return cpu_set_cr3(os, parent); /* the parent's writable entries became read-only */
}

static void free_tables(struct sh_os *os, uint64_t table, int lvl) {
    for (unsigned i = 0; i < (lvl == 4 ? 256u : 512u); i++) {
        uint64_t e = peek(os, table + 8ull * i);
        if (!(e & X86_PTE_P)) continue;
        if (lvl > 1)
            free_tables(os, e & ADDR, lvl - 1);
        else
            put_frame(os, e & ADDR);
    }
    put_frame(os, table);
}

static bool op_exit(struct sh_os *os) {
    if (os->p->pingpong) return true;
    unsigned cand[SH_MAX_SPACES], n = 0;
    for (unsigned i = 0; i < SH_MAX_SPACES; i++)
        if (os->as[i].live && i != os->cur) cand[n++] = i;
    if (n < 2) return true; /* keep at least two spaces to switch between */
    unsigned v = cand[vlab_rng_below(&os->rng, n)];
    free_tables(os, os->as[v].pml4, 4);
    os->as[v].live = false;
    os->n_exit++;
    return true;
}

static bool op_switch(struct sh_os *os) {
    unsigned next;
    if (os->p->pingpong) {
        next = os->cur ^ 1;
    } else {
        unsigned cand[SH_MAX_SPACES], n = 0;
        for (unsigned i = 0; i < SH_MAX_SPACES; i++)
            if (os->as[i].live && i != os->cur) cand[n++] = i;
        if (!n) return true;
        next = cand[vlab_rng_below(&os->rng, n)];
    }
    os->cur = next;
    os->n_switch++;
    return cpu_set_cr3(os, os->as[next].pml4);
}

static bool op_clock(struct sh_os *os) {
    struct sh_space *s = &os->as[os->cur];
    for (unsigned k = 0; k < os->p->clock_batch; k++) {
        uint64_t gva = page_gva(HEAP_FIRST + s->hand), g, pte;
        s->hand = (s->hand + 1) % HEAP_PAGES;
        if (!pte_of(os, s->pml4, gva, &g)) continue;
        if (!k_read(os, g, &pte)) return false;
        if (!(pte & X86_PTE_P)) continue;
        if (pte & X86_PTE_A) {
            os->n_clock_clear++;
            if (!k_write(os, g, pte & ~X86_PTE_A) || !cpu_invlpg(os, gva)) return false;
        } else if (pte & X86_PTE_D) { /* written back: clean again */
            if (!k_write(os, g, pte & ~X86_PTE_D) || !cpu_invlpg(os, gva)) return false;
        } else {
            os->n_clock_evict++;
            if (!k_write(os, g, 0) || !cpu_invlpg(os, gva)) return false;
            put_frame(os, pte & ADDR);
        }
    }
    return true;
}

static bool op_kaccess(struct sh_os *os) {
    struct vlab_rng *r = &os->rng;
    if (vlab_rng_chance(r, 50)) {
        uint64_t gpa =
            sh_gfn_gpa((unsigned)vlab_rng_below(r, SH_G_FRAMES)) + 8 * vlab_rng_below(r, 512);
        struct sh_outcome o;
        return cpu_access(os, SH_KBASE + gpa, VLAB_ACC_READ, 0, &o);
    }
    unsigned acc = vlab_rng_chance(r, 50) ? VLAB_ACC_WRITE : VLAB_ACC_READ;
    return access_fixing(os, pick_gva(os), acc, ++os->tag);
}

static bool op_wild(struct sh_os *os) {
    struct vlab_rng *r = &os->rng;
    uint64_t gva = vlab_rng_chance(r, 50)
                       ? SH_KBASE + sh_gfn_gpa((unsigned)vlab_rng_below(r, SH_G_FRAMES))
                       : 0x5000000000ull + (vlab_rng_below(r, 1u << 20) << 12);
    return access_fixing(os, gva, pick_access(os), ++os->tag);
}

static bool op_mprotect(struct sh_os *os, bool unmap, bool corrupt) {
    unsigned p;
    uint64_t g, pte;
    if (!random_present(os, &p, &g, &pte)) return true;
    uint64_t gva = page_gva(p), npte;
    if (unmap) {
        npte = 0;
    } else if (corrupt) {
        npte = pte | PTE_JUNK;
    } else {
        if (pte & PTE_COW || !(vmas[gva_vma(gva)].flags & X86_PTE_RW)) return true;
        npte =
            (pte & X86_PTE_RW) ? (pte & ~X86_PTE_RW) | PTE_MPROT : (pte | X86_PTE_RW) & ~PTE_MPROT;
    }
    if (!k_write(os, g, npte) || !cpu_invlpg(os, gva)) return false;
    if (unmap) put_frame(os, pte & ADDR);
    return true;
}

bool sh_os_step(struct sh_os *os) {
    if (os->failed) return false;
    unsigned k = vlab_rng_weighted(&os->rng, os->p->weight, SH_OP_KINDS);
    os->cur_kind = k;
    bool ok;
    switch (k) {
    case SH_OP_ACCESS: ok = access_fixing(os, pick_gva(os), pick_access(os), ++os->tag); break;
    case SH_OP_KACCESS: ok = op_kaccess(os); break;
    case SH_OP_WILD: ok = op_wild(os); break;
    case SH_OP_MPROTECT: ok = op_mprotect(os, false, false); break;
    case SH_OP_MUNMAP: ok = op_mprotect(os, true, false); break;
    case SH_OP_CORRUPT: ok = op_mprotect(os, false, true); break;
    case SH_OP_SWITCH: ok = op_switch(os); break;
    case SH_OP_FLUSH: ok = cpu_set_cr3(os, os->as[os->cur].pml4); break;
    case SH_OP_INVLPG:
        ok = cpu_invlpg(os, page_gva((unsigned)vlab_rng_below(&os->rng, USER_PAGES)));
        break;
    case SH_OP_CLOCK: ok = op_clock(os); break;
    case SH_OP_FORK: ok = op_fork(os); break;
    default: ok = op_exit(os); break;
    }
    os->ops++;
    if (ok && os->ideal && os->ops % 4096 == 0) ok = sh_os_check_memory(os);
    return ok && !os->failed;
}

bool sh_os_check_memory(struct sh_os *os) {
    if (!os->ideal || os->failed) return !os->failed;
    for (unsigned i = 0; i < SH_G_FRAMES; i++) {
        uint64_t gpa = sh_gfn_gpa(i);
        const uint8_t *a = vlab_gpmem_hva(&os->ideal->mem, gpa, 4096),
                      *b = sh_vm_frame(os->vm, gpa);
        if (!memcmp(a, b, 4096)) continue;
        for (unsigned w = 0; w < 512; w++) {
            uint64_t x, y;
            memcpy(&x, a + 8 * w, 8);
            memcpy(&y, b + 8 * w, 8);
            if (x == y) continue;
            char sx[96], sy[96];
            if (os->kind[i] == K_PT)
                return fail(os,
                            "guest memory differs from the ideal machine's at gpa %#" PRIx64
                            ", a page-table entry: expected %#" PRIx64 " (%s), found %#" PRIx64
                            " (%s) (guest-visible A/D bits: handout §4; emulated writes: §3.2)",
                            gpa + 8 * w, x, vlab_pte_str(x, sx, sizeof sx), y,
                            vlab_pte_str(y, sy, sizeof sy));
            return fail(os,
                        "guest memory differs from the ideal machine's at gpa %#" PRIx64
                        ": expected %#" PRIx64 ", found %#" PRIx64 " (handout §3.2)",
                        gpa + 8 * w, x, y);
        }
    }
    return true;
}

/* ---------------- boot ---------------- */

static void boot_poke(struct sh_os *os, uint64_t gpa, uint64_t val) {
    sh_vm_poke(os->vm, gpa, val);
    if (os->ideal) vlab_gpmem_write_u64(&os->ideal->mem, gpa, val);
    long i = sh_gfn_index(gpa);
    if (val) os->dirty[i] = true;
}

static void boot_map(struct sh_os *os, uint64_t pml4, uint64_t gva, uint64_t gpa) {
    uint64_t table = pml4;
    for (int lvl = 4; lvl >= 2; lvl--) {
        uint64_t g = table + 8ull * x86_pt_index(gva, lvl), e = peek(os, g);
        if (!(e & X86_PTE_P)) {
            uint64_t t;
            k_alloc(os, K_PT, &t);
            e = t | X86_PTE_P | X86_PTE_RW;
            boot_poke(os, g, e);
        }
        table = e & ADDR;
    }
    boot_poke(os, table + 8ull * x86_pt_index(gva, 1), gpa | X86_PTE_P | X86_PTE_RW | X86_PTE_NX);
}

bool sh_os_init(struct sh_os *os, const struct sh_profile *p, uint64_t seed, struct sh_vm *vm,
                bool oracle) {
    memset(os, 0, sizeof *os);
    os->p = p;
    os->seed = seed;
    os->vm = vm;
    os->cur_kind = SH_OP_KINDS;
    vlab_rng_seed(&os->rng, seed);
    if (oracle) {
        os->ideal = calloc(1, sizeof *os->ideal);
        if (!os->ideal) return fail(os, "out of memory");
        vlab_gpmem_init(&os->ideal->mem);
        if (vlab_gpmem_add_ram(&os->ideal->mem, SH_G0_GPA, SH_G0_SIZE, "ram0") ||
            vlab_gpmem_add_ram(&os->ideal->mem, SH_G1_GPA, SH_G1_SIZE, "ram1"))
            return fail(os, "out of memory for the ideal machine");
    }
    /* Free frames in a seeded order, so that frame reuse differs from seed to seed. */
    for (unsigned i = 0; i < SH_G_FRAMES; i++)
        os->freel[i] = i;
    for (unsigned i = SH_G_FRAMES; i > 1; i--) {
        unsigned j = (unsigned)vlab_rng_below(&os->rng, i);
        uint32_t t = os->freel[i - 1];
        os->freel[i - 1] = os->freel[j];
        os->freel[j] = t;
    }
    os->nfree = SH_G_FRAMES;
    for (unsigned h = 0; h < 64; h++)
        os->hot[h] = vlab_rng_below(&os->rng, USER_PAGES);
    /* Boot, before paging: the direct map of all RAM, written physically. */
    uint64_t pml4;
    k_alloc(os, K_PT, &pml4);
    for (unsigned i = 0; i < SH_G_FRAMES; i++)
        boot_map(os, pml4, SH_KBASE + sh_gfn_gpa(i), sh_gfn_gpa(i));
    os->kpdpt = peek(os, pml4 + 8 * KIDX) & ADDR;
    os->as[0] = (struct sh_space){.live = true, .pml4 = pml4};
    if (!cpu_set_cr3(os, pml4)) return false;
    return new_space(os, 1);
}

void sh_os_fini(struct sh_os *os) {
    if (os->ideal) {
        vlab_gpmem_destroy(&os->ideal->mem);
        free(os->ideal);
        os->ideal = NULL;
    }
}

bool sh_os_touch_round(struct sh_os *os, unsigned pages) {
    for (unsigned v = 0; v < NVMAS; v++)
        for (unsigned p = 0; p < pages && p < vmas[v].pages; p++)
            if (!access_fixing(os, vmas[v].start + ((uint64_t)p << 12), VLAB_ACC_USER, 0))
                return false;
    return true;
}

bool sh_os_switch_to(struct sh_os *os, unsigned idx) {
    if (!os->as[idx].live && !new_space(os, idx)) return false;
    os->cur = idx;
    return cpu_set_cr3(os, os->as[idx].pml4);
}
