#define _GNU_SOURCE
#include "sh_machine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rng.h"

#define PAGE  X86_PAGE_SIZE
#define CHUNK X86_PAGE_2M
#define FPC   512u /* frames per 2 MiB chunk */

static void fail(struct sh_vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct sh_vm *vm, const char *fmt, ...) {
    if (vm->err[0]) return; /* the first failure is the one that explains the rest */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->err, sizeof vm->err, fmt, ap);
    va_end(ap);
}

long sh_gfn_index(uint64_t gpa) {
    if (gpa - SH_G0_GPA < SH_G0_SIZE) return (long)((gpa - SH_G0_GPA) >> 12);
    if (gpa >= SH_G1_GPA && gpa < SH_G1_GPA + SH_G1_SIZE)
        return (long)((SH_G0_SIZE + gpa - SH_G1_GPA) >> 12);
    return -1;
}

uint64_t sh_gfn_gpa(unsigned idx) {
    uint64_t off = (uint64_t)idx << 12;
    return off < SH_G0_SIZE ? SH_G0_GPA + off : SH_G1_GPA + off - SH_G0_SIZE;
}

static uint64_t mfn_hpa(uint32_t mfn) {
    return SH_M_BASE + ((uint64_t)mfn << 12);
}

static long hpa_mfn(uint64_t hpa) {
    if (hpa < SH_M_BASE || hpa >= SH_M_BASE + SH_M_SIZE) return -1;
    return (long)((hpa - SH_M_BASE) >> 12);
}

static void shuffle(struct vlab_rng *r, uint32_t *v, unsigned n) {
    for (unsigned i = n; i > 1; i--) {
        unsigned j = (unsigned)vlab_rng_below(r, i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* G0's frames and the VMM's pool from the machine frames G1 left (rest, nrest of them): G0's
 * frames scattered one by one, the pool in a seeded order too, so table frames are not adjacent
 * either. */
static void place_rest(struct sh_vm *vm, struct vlab_rng *r, uint32_t *rest, unsigned nrest) {
    const unsigned g0_frames = SH_G0_SIZE >> 12;
    shuffle(r, rest, nrest);
    for (unsigned i = 0; i < g0_frames; i++) {
        vm->p2m[i] = rest[i];
        vm->owner[rest[i]] = SH_OWN_GUEST;
    }
    vm->npool = 0;
    for (unsigned i = nrest; i-- > g0_frames;)
        vm->pool[vm->npool++] = rest[i];
}

/* The p2m: G1's four 2 MiB chunks go to four random machine chunks (in shuffled order), three
 * of them contiguously and the last with its frames permuted inside the chunk; G0's frames are
 * scattered one by one over the other chunks. What is left is the VMM's pool. */
static void build_p2m(struct sh_vm *vm, struct vlab_rng *r) {
    uint32_t chunk[SH_M_FRAMES / FPC];
    const unsigned nchunks = SH_M_FRAMES / FPC;
    for (unsigned i = 0; i < nchunks; i++)
        chunk[i] = i;
    shuffle(r, chunk, nchunks);
    const unsigned g1_chunks = (unsigned)(SH_G1_SIZE / CHUNK), g0_frames = SH_G0_SIZE >> 12;
    for (unsigned c = 0; c < g1_chunks; c++) {
        uint32_t in[FPC];
        for (unsigned i = 0; i < FPC; i++)
            in[i] = i;
        if (c == g1_chunks - 1) shuffle(r, in, FPC);
        for (unsigned i = 0; i < FPC; i++) {
            uint32_t mfn = chunk[c] * FPC + in[i];
            vm->p2m[g0_frames + c * FPC + i] = mfn;
            vm->owner[mfn] = SH_OWN_GUEST;
        }
    }
    static uint32_t rest[SH_M_FRAMES];
    unsigned nrest = 0;
    for (unsigned c = g1_chunks; c < nchunks; c++)
        for (unsigned i = 0; i < FPC; i++)
            rest[nrest++] = chunk[c] * FPC + i;
    place_rest(vm, r, rest, nrest);
}

/* The awkward p2m (sh_vm_config.awkward_p2m, §5.3): G1's chunks are each contiguous in a
 * different way, so that only the first may have a 2 MiB nested leaf. Chunk 0: contiguous and
 * aligned; 1: contiguous from 7 frames past a 2 MiB boundary; 2: contiguous but for its last
 * frame; 3: contiguous in its first half, permuted in its second. */
static void build_p2m_awkward(struct sh_vm *vm, struct vlab_rng *r) {
    const unsigned g0_frames = SH_G0_SIZE >> 12, half = FPC / 2;
    uint32_t *g1 = vm->p2m + g0_frames, tail[FPC / 2];
    for (unsigned i = 0; i < half; i++)
        tail[i] = 4 * FPC + half + i;
    shuffle(r, tail, half);
    for (unsigned i = 0; i < FPC; i++) {
        g1[i] = i;
        g1[FPC + i] = FPC + 7 + i;
        g1[2 * FPC + i] = i < FPC - 1 ? 3 * FPC + i : FPC; /* the last frame: elsewhere */
        g1[3 * FPC + i] = i < half ? 4 * FPC + i : tail[i - half];
    }
    for (unsigned i = 0; i < 4 * FPC; i++)
        vm->owner[g1[i]] = SH_OWN_GUEST;
    static uint32_t rest[SH_M_FRAMES];
    unsigned nrest = 0;
    for (uint32_t mfn = 0; mfn < SH_M_FRAMES; mfn++)
        if (vm->owner[mfn] != SH_OWN_GUEST) rest[nrest++] = mfn;
    place_rest(vm, r, rest, nrest);
}

static uint8_t *map_view(struct sh_vm *vm, uint64_t gpa, uint64_t size) {
    uint8_t *base = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return NULL;
    for (uint64_t off = 0; off < size; off += PAGE) {
        uint32_t mfn = vm->p2m[sh_gfn_index(gpa + off)];
        void *p = mmap(base + off, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, vm->memfd,
                       (off_t)mfn << 12);
        if (p == MAP_FAILED) {
            munmap(base, size);
            return NULL;
        }
    }
    return base;
}

int sh_vm_create(struct sh_vm **out, const struct sh_vm_config *cfg, char *err, size_t len) {
    *out = NULL;
    struct sh_vm *vm = calloc(1, sizeof *vm);
    if (!vm) return snprintf(err, len, "out of memory"), VLAB_ENOMEM;
    vm->memfd = -1;
    vm->mode = cfg->mode;
    vm->oos = cfg->oos;
    vm->quota = cfg->quota ? cfg->quota : SH_DEFAULT_QUOTA;
    vlab_gpmem_init(&vm->mmem);
    vlab_gpmem_init(&vm->gmem);
    vm->memfd = memfd_create("vlab-shadow-machine", 0);
    if (vm->memfd < 0 || ftruncate(vm->memfd, (off_t)SH_M_SIZE) != 0) goto nomem;
    vm->mach = mmap(NULL, SH_M_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, vm->memfd, 0);
    if (vm->mach == MAP_FAILED) {
        vm->mach = NULL;
        goto nomem;
    }
    struct vlab_rng r;
    vlab_rng_seed(&r, cfg->seed ^ 0x5eed5eedull);
    if (cfg->awkward_p2m)
        build_p2m_awkward(vm, &r);
    else
        build_p2m(vm, &r);
    vm->gview0 = map_view(vm, SH_G0_GPA, SH_G0_SIZE);
    vm->gview1 = map_view(vm, SH_G1_GPA, SH_G1_SIZE);
    if (!vm->gview0 || !vm->gview1) goto nomem;
    if (vlab_gpmem_add_region(&vm->mmem, SH_M_BASE, SH_M_SIZE, vm->mach, 0, "machine") ||
        vlab_gpmem_add_region(&vm->gmem, SH_G0_GPA, SH_G0_SIZE, vm->gview0, 0, "guest-ram0") ||
        vlab_gpmem_add_region(&vm->gmem, SH_G1_GPA, SH_G1_SIZE, vm->gview1, 0, "guest-ram1"))
        goto nomem;
    vm->gpg = vlab_paging_long_mode();
    vm->gpg.maxphyaddr = 46;
    vm->mpg = vlab_paging_long_mode();
    static const char *const creator[] = {"shadow_create", "nested_create", "pv_create"};
    int rc = vm->mode == SH_MODE_SHADOW   ? shadow_create(vm, &vm->sh)
             : vm->mode == SH_MODE_NESTED ? nested_create(vm, &vm->nt)
                                          : pv_create(vm, &vm->pv);
    if (rc != VLAB_OK) {
        snprintf(err, len, "%s returned %s%s%s", creator[vm->mode], vlab_strerror(rc),
                 vm->err[0] ? ": " : "", vm->err);
        vm->sh = NULL;
        vm->nt = NULL;
        vm->pv = NULL;
        sh_vm_destroy(vm);
        return rc ? rc : VLAB_EINVAL;
    }
    if (!vm->sh && !vm->nt && !vm->pv) {
        snprintf(err, len, "%s returned VLAB_OK but no state", creator[vm->mode]);
        sh_vm_destroy(vm);
        return VLAB_EINVAL;
    }
    *out = vm;
    return VLAB_OK;
nomem:
    snprintf(err, len, "building the machine failed (memfd/mmap)");
    sh_vm_destroy(vm);
    return VLAB_ENOMEM;
}

void sh_vm_destroy(struct sh_vm *vm) {
    if (!vm) return;
    if (vm->sh) shadow_destroy(vm->sh);
    if (vm->nt) nested_destroy(vm->nt);
    if (vm->pv) pv_destroy(vm->pv);
    if (vm->gview0) munmap(vm->gview0, SH_G0_SIZE);
    if (vm->gview1) munmap(vm->gview1, SH_G1_SIZE);
    if (vm->mach) munmap(vm->mach, SH_M_SIZE);
    if (vm->memfd >= 0) close(vm->memfd);
    free(vm);
}

/* ---------------- the services of shadow.h ---------------- */

int sh_p2m(const struct sh_vm *vm, uint64_t gpa, uint64_t *hpa) {
    long i = sh_gfn_index(gpa);
    if (!vm || !hpa || i < 0) return VLAB_ENOENT;
    *hpa = mfn_hpa(vm->p2m[i]) | (gpa & 0xfff);
    return VLAB_OK;
}

int sh_gpa_read(const struct sh_vm *vm, uint64_t gpa, uint64_t *val) {
    if (!vm || !val || (gpa & 7)) return VLAB_EINVAL;
    return vlab_gpmem_read_u64(&vm->gmem, gpa, val) ? VLAB_ERANGE : VLAB_OK;
}

int sh_gpa_write(struct sh_vm *vm, uint64_t gpa, uint64_t val) {
    if (!vm || (gpa & 7)) return VLAB_EINVAL;
    return vlab_gpmem_write_u64(&vm->gmem, gpa, val) ? VLAB_ERANGE : VLAB_OK;
}

int sh_vm_poke(struct sh_vm *vm, uint64_t gpa, uint64_t val) {
    return sh_gpa_write(vm, gpa, val);
}

const uint8_t *sh_vm_frame(const struct sh_vm *vm, uint64_t gpa) {
    return vlab_gpmem_hva(&vm->gmem, gpa & ~0xfffull, PAGE);
}

int sh_guest_walk(struct sh_vm *vm, uint64_t gcr3, uint64_t gva, unsigned access, unsigned flags,
                  struct vlab_walk *w) {
    if (!vm || !w) return VLAB_EINVAL;
    return vlab_pt_walk(&vm->gmem, &vm->gpg, gcr3, gva, access, flags, w);
}

bool sh_oos_enabled(const struct sh_vm *vm) {
    return vm && vm->oos;
}

bool sh_domain_owns(const struct sh_vm *vm, uint64_t hpa) {
    long mfn = vm ? hpa_mfn(hpa) : -1;
    return mfn >= 0 && vm->owner[mfn] == SH_OWN_GUEST;
}

long sh_mfn_index(const struct sh_vm *vm, uint64_t hpa) {
    return vm ? hpa_mfn(hpa) : -1;
}

unsigned sh_machine_frames(const struct sh_vm *vm) {
    (void)vm;
    return SH_M_FRAMES;
}

const struct vlab_paging *sh_guest_paging(const struct sh_vm *vm) {
    return &vm->gpg;
}

int sh_frame_alloc(struct sh_vm *vm, uint64_t *hpa) {
    if (!vm || !hpa) return VLAB_EINVAL;
    if (vm->c.frames_in_use >= vm->quota || vm->npool == 0) return VLAB_ENOMEM;
    uint32_t mfn = vm->pool[--vm->npool];
    vm->owner[mfn] = SH_OWN_VMM;
    memset(vm->mach + ((uint64_t)mfn << 12), 0, PAGE);
    vm->c.frame_allocs++;
    if (++vm->c.frames_in_use > vm->c.frames_peak) vm->c.frames_peak = vm->c.frames_in_use;
    *hpa = mfn_hpa(mfn);
    return VLAB_OK;
}

int sh_frame_free(struct sh_vm *vm, uint64_t hpa) {
    long mfn = vm ? hpa_mfn(hpa) : -1;
    if (mfn < 0 || (hpa & 0xfff) || vm->owner[mfn] != SH_OWN_VMM) return VLAB_EINVAL;
    vm->owner[mfn] = SH_OWN_POOL;
    vm->pool[vm->npool++] = (uint32_t)mfn;
    vm->c.frames_in_use--;
    return VLAB_OK;
}

int sh_mpa_read(struct sh_vm *vm, uint64_t hpa, uint64_t *val) {
    if (!vm || !val || (hpa & 7)) return VLAB_EINVAL;
    if (hpa_mfn(hpa) < 0) return VLAB_ERANGE;
    vm->c.mpa_reads++;
    memcpy(val, vm->mach + (hpa - SH_M_BASE), 8);
    return VLAB_OK;
}

int sh_mpa_write(struct sh_vm *vm, uint64_t hpa, uint64_t val) {
    if (!vm || (hpa & 7)) return VLAB_EINVAL;
    if (hpa_mfn(hpa) < 0) return VLAB_ERANGE;
    vm->c.mpa_writes++;
    memcpy(vm->mach + (hpa - SH_M_BASE), &val, 8);
    return VLAB_OK;
}

void sh_hw_flush(struct sh_vm *vm) {
    memset(vm->tlb, 0, sizeof vm->tlb);
    vm->c.tlb_flushes++;
}

void sh_hw_invlpg(struct sh_vm *vm, uint64_t gva) {
    uint64_t vpn = (gva >> 12) & 0xfffffffffull;
    struct sh_tlb_entry *e = &vm->tlb[vpn % SH_TLB_SIZE];
    if (e->valid && e->vpn == vpn) e->valid = false;
    vm->c.tlb_invlpgs++;
}

void sh_hw_load_cr3(struct sh_vm *vm, uint64_t hpa) {
    vm->mcr3 = hpa & X86_PTE_ADDR_MASK;
    vm->c.cr3_loads++;
    sh_hw_flush(vm);
}

void sh_hw_load_ncr3(struct sh_vm *vm, uint64_t hpa) {
    vm->ncr3 = hpa & X86_PTE_ADDR_MASK;
    sh_hw_flush(vm);
}

/* ---------------- the MMU ---------------- */

/* The rights a walk found, as the TLB keeps them: a write may use the entry only if every level
 * allows it and the leaf is already dirty (else the CPU walks again to set D). */
static void tlb_fill(struct sh_vm *vm, uint64_t gva, uint64_t pa, const struct vlab_walk *w,
                     unsigned access) {
    bool rw = true, us = true, nx = false;
    for (int i = 0; i < w->levels; i++) {
        rw = rw && (w->entry[i] & X86_PTE_RW);
        us = us && (w->entry[i] & X86_PTE_US);
        nx = nx || (w->entry[i] & X86_PTE_NX);
    }
    bool dirty = (w->entry[w->levels - 1] & X86_PTE_D) || (access & VLAB_ACC_WRITE);
    uint64_t vpn = (gva >> 12) & 0xfffffffffull;
    vm->tlb[vpn % SH_TLB_SIZE] = (struct sh_tlb_entry){
        .valid = true, .vpn = vpn, .pfn = pa >> 12, .user = us, .writable = rw && dirty, .nx = nx};
}

static bool tlb_lookup(struct sh_vm *vm, uint64_t gva, unsigned access, uint64_t *pa) {
    uint64_t vpn = (gva >> 12) & 0xfffffffffull;
    struct sh_tlb_entry *e = &vm->tlb[vpn % SH_TLB_SIZE];
    if (!e->valid || e->vpn != vpn) return false;
    if ((access & VLAB_ACC_USER) && !e->user) return false;
    if ((access & VLAB_ACC_WRITE) && !e->writable) return false;
    if ((access & VLAB_ACC_FETCH) && e->nx) return false;
    *pa = (e->pfn << 12) | (gva & 0xfff);
    return true;
}

/* Which machine frames guest accesses may reach: only the guest's own. */
static int check_data_frame(struct sh_vm *vm, uint64_t gva, uint64_t pa) {
    long mfn = hpa_mfn(pa);
    if (mfn >= 0 && vm->owner[mfn] == SH_OWN_GUEST) return VLAB_OK;
    fail(vm,
         "the translation of gva %#llx reached machine address %#llx, which is %s, not a "
         "guest frame (a gPA used as an hPA, or a table frame mapped as data? handout §1.2)",
         (unsigned long long)gva, (unsigned long long)pa,
         mfn < 0                        ? "outside machine memory"
         : vm->owner[mfn] == SH_OWN_VMM ? "one of the VMM's table frames"
                                        : "a free frame");
    return VLAB_EINVAL;
}

enum { HW_OK, HW_PF, HW_NPF, HW_ERR };

static int hw_walk_shadow(struct sh_vm *vm, uint64_t gva, unsigned access, uint64_t *pa,
                          uint32_t *pf) {
    struct vlab_walk w;
    int rc = vlab_pt_walk(&vm->mmem, &vm->mpg, vm->mcr3, gva, access, VLAB_WALK_SET_AD, &w);
    if (rc == VLAB_EPF) {
        *pf = w.pf_error;
        return HW_PF;
    }
    if (rc != VLAB_OK) {
        if (vm->mcr3 == 0)
            fail(vm,
                 "gva %#llx: no table loaded in the MMU: %s must load a root with "
                 "sh_hw_load_cr3 (handout §2.1)",
                 (unsigned long long)gva,
                 vm->mode == SH_MODE_SHADOW ? "shadow_set_cr3" : "the guest's CR3 load");
        else
            fail(vm,
                 "the MMU's walk of the table at machine CR3 %#llx for gva %#llx failed: %s "
                 "(an entry that points outside machine memory: is every shadow entry the "
                 "machine address of one of your frames? handout §1.2, §2.1)",
                 (unsigned long long)vm->mcr3, (unsigned long long)gva,
                 rc == VLAB_ERANGE ? "entry outside machine memory" : vlab_strerror(rc));
        return HW_ERR;
    }
    vm->c.walks++;
    vm->c.walk_reads += w.mem_reads;
    vm->c.walk_writes += w.mem_writes;
    if (check_data_frame(vm, gva, w.gpa)) return HW_ERR;
    tlb_fill(vm, gva, w.gpa, &w, access);
    *pa = w.gpa;
    return HW_OK;
}

/* One nested translation of a guest-physical address (the hardware's, not the student's). */
static int hw_nested(struct sh_vm *vm, uint64_t gpa, unsigned access, uint64_t *hpa,
                     unsigned *reads, unsigned *writes, bool set_ad) {
    struct vlab_walk nw;
    int rc = vlab_pt_walk(&vm->mmem, &vm->mpg, vm->ncr3, gpa, access | VLAB_ACC_USER,
                          set_ad ? VLAB_WALK_SET_AD : 0, &nw);
    *reads += nw.mem_reads;
    if (writes) *writes += nw.mem_writes;
    if (rc == VLAB_EPF) return HW_NPF;
    if (rc != VLAB_OK) {
        fail(vm, "the MMU's walk of the nested table for gpa %#llx failed: %s (handout §5.2)",
             (unsigned long long)gpa, vlab_strerror(rc));
        return HW_ERR;
    }
    uint64_t want = 0;
    if (sh_p2m(vm, gpa, &want) != VLAB_OK || want != nw.gpa) {
        fail(vm,
             "the nested table maps gpa %#llx to hpa %#llx, but the p2m says %#llx "
             "(handout §5.3)",
             (unsigned long long)gpa, (unsigned long long)nw.gpa, (unsigned long long)want);
        return HW_ERR;
    }
    *hpa = nw.gpa;
    return HW_OK;
}

/* The 2-D walk: the guest walk's table references, each translated through the nested table
 * first (the guest-physical view the guest walk reads is the same bytes the nested
 * translation reaches, checked against the p2m in hw_nested). */
static int hw_walk_nested(struct sh_vm *vm, uint64_t gva, unsigned access, uint64_t *pa,
                          uint32_t *pf, uint64_t *npf_gpa) {
    struct vlab_walk gw;
    unsigned reads = 0, writes = 0;
    int rc = vlab_pt_walk(&vm->gmem, &vm->gpg, vm->gcr3, gva, access, 0, &gw);
    if (rc != VLAB_OK && rc != VLAB_EPF) {
        fail(vm, "the guest's walk of gva %#llx failed: %s", (unsigned long long)gva,
             vlab_strerror(rc));
        return HW_ERR;
    }
    for (int i = 0; i < gw.levels; i++) {
        uint64_t hpa;
        int h = hw_nested(vm, gw.entry_gpa[i], VLAB_ACC_READ, &hpa, &reads, &writes, true);
        if (h == HW_NPF) *npf_gpa = gw.entry_gpa[i];
        if (h != HW_OK) return h;
        reads++; /* the guest entry itself */
    }
    if (rc == VLAB_EPF) {
        *pf = gw.pf_error;
        return HW_PF;
    }
    uint64_t hpa;
    int h = hw_nested(vm, gw.gpa, access & VLAB_ACC_WRITE, &hpa, &reads, &writes, true);
    if (h == HW_NPF) *npf_gpa = gw.gpa;
    if (h != HW_OK) return h;
    struct vlab_walk cw; /* commit the guest's A/D bits, now that the translation completes */
    vlab_pt_walk(&vm->gmem, &vm->gpg, vm->gcr3, gva, access, VLAB_WALK_SET_AD, &cw);
    vm->c.walks++;
    vm->c.walk_reads += reads;
    vm->c.walk_writes += writes + cw.mem_writes;
    if (check_data_frame(vm, gva, hpa)) return HW_ERR;
    tlb_fill(vm, gva, hpa, &gw, access);
    *pa = hpa;
    return HW_OK;
}

void sh_hw_walk2d_probe(struct sh_vm *vm, uint64_t gcr3, uint64_t ncr3, uint64_t gva,
                        unsigned access, struct nested_result *r, unsigned *reads) {
    memset(r, 0, sizeof *r);
    *reads = 0;
    struct vlab_walk gw;
    int rc = vlab_pt_walk(&vm->gmem, &vm->gpg, gcr3, gva, access, 0, &gw);
    for (int i = 0; i < gw.levels; i++) {
        struct vlab_walk nw;
        int n = vlab_pt_walk(&vm->mmem, &vm->mpg, ncr3, gw.entry_gpa[i], VLAB_ACC_USER, 0, &nw);
        *reads += nw.mem_reads;
        if (n != VLAB_OK) {
            r->outcome = NESTED_NPT_FAULT;
            r->fault_gpa = gw.entry_gpa[i];
            return;
        }
        (*reads)++;
    }
    if (rc != VLAB_OK) {
        r->outcome = NESTED_GUEST_PF;
        r->pf_error = gw.pf_error;
        return;
    }
    struct vlab_walk nw;
    int n = vlab_pt_walk(&vm->mmem, &vm->mpg, ncr3, gw.gpa,
                         (access & VLAB_ACC_WRITE) | VLAB_ACC_USER, 0, &nw);
    *reads += nw.mem_reads;
    if (n != VLAB_OK) {
        r->outcome = NESTED_NPT_FAULT;
        r->fault_gpa = gw.gpa;
        return;
    }
    r->outcome = NESTED_OK;
    r->gpa = gw.gpa;
    r->hpa = nw.gpa;
}

static int vmm_fault(struct sh_vm *vm, uint64_t gva, unsigned access, uint64_t value,
                     uint32_t error, struct sh_outcome *o, bool *done) {
    struct sh_fault f = {
        .gva = gva, .error = error, .access = access, .value = value, .gcr3 = vm->gcr3};
    struct sh_fault_out fo = {0};
    vm->c.exits++;
    int v = shadow_page_fault(vm->sh, &f, &fo);
    switch (v) {
    case SH_RETRY: vm->c.hidden_faults++; return VLAB_OK;
    case SH_INJECT:
        vm->c.injected++;
        *o = (struct sh_outcome){.rc = VLAB_EPF, .error = fo.error, .cr2 = fo.cr2};
        *done = true;
        return VLAB_OK;
    case SH_EMULATED: {
        uint64_t got = 0;
        if (!(access & VLAB_ACC_WRITE)) {
            fail(vm,
                 "shadow_page_fault said SH_EMULATED for a %s of gva %#llx: only writes are "
                 "emulated (handout §3)",
                 access & VLAB_ACC_FETCH ? "fetch" : "read", (unsigned long long)gva);
            return VLAB_EINVAL;
        }
        if (sh_gpa_read(vm, fo.gpa, &got) != VLAB_OK || got != value) {
            fail(vm,
                 "shadow_page_fault said SH_EMULATED for the write of %#llx to gva %#llx, "
                 "but guest memory at out->gpa %#llx holds %#llx (handout §3.2)",
                 (unsigned long long)value, (unsigned long long)gva, (unsigned long long)fo.gpa,
                 (unsigned long long)got);
            return VLAB_EINVAL;
        }
        vm->c.emulated_writes++;
        uint64_t hpa = 0;
        sh_p2m(vm, fo.gpa, &hpa);
        *o = (struct sh_outcome){.rc = VLAB_OK, .pa = hpa};
        *done = true;
        return VLAB_OK;
    }
    default:
        if (v < 0) {
            fail(vm, "shadow_page_fault for gva %#llx (error code %#x) returned %s",
                 (unsigned long long)gva, error, vlab_strerror(v));
            return v;
        }
        fail(vm, "shadow_page_fault returned %d, not an enum sh_verdict", v);
        return VLAB_EINVAL;
    }
}

/* One walk in words: each entry read (where, what), then where it ended. */
static size_t walk_str(char *buf, size_t len, const char *space, const struct vlab_walk *w,
                       int rc) {
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (n < len) n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__);                         \
    } while (0)
    for (int i = 0; i < w->levels; i++)
        PUT("%sL%d @%s %#llx = %#llx", i ? ", " : "", 4 - i, space,
            (unsigned long long)w->entry_gpa[i], (unsigned long long)w->entry[i]);
    if (rc == VLAB_OK)
        PUT(" -> %#llx (%s page)", (unsigned long long)w->gpa,
            w->page_size == X86_PAGE_1G   ? "1 GiB"
            : w->page_size == X86_PAGE_2M ? "2 MiB"
                                          : "4 KiB");
    else if (rc == VLAB_EPF)
        PUT(" -> #PF error %#x at L%d%s", w->pf_error, w->fault_level,
            w->pf_error & X86_PF_P ? "" : " (not present)");
    else
        PUT(" -> %s", vlab_strerror(rc));
    return n;
}

size_t sh_vm_paths(const struct sh_vm *vm, uint64_t gva, unsigned access, char *buf, size_t len) {
    size_t n = 0;
    struct vlab_walk w;
    if (!len) return 0;
    buf[0] = 0;
    int rc = vlab_pt_walk((struct vlab_gpmem *)&vm->gmem, &vm->gpg, vm->gcr3, gva, access, 0, &w);
    PUT("\n  the guest's walk (CR3 gpa %#llx): ", (unsigned long long)vm->gcr3);
    n += walk_str(buf + (n < len ? n : len), n < len ? len - n : 0, "gpa", &w, rc);
    if (vm->mode == SH_MODE_NESTED) {
        /* each guest-physical address that walk used, through the nested table */
        uint64_t g[5];
        int ng = 0;
        for (int i = 0; i < w.levels; i++)
            g[ng++] = w.entry_gpa[i];
        if (rc == VLAB_OK) g[ng++] = w.gpa;
        for (int i = 0; i < ng; i++) {
            struct vlab_walk nw;
            uint64_t want = 0;
            int nrc = vlab_pt_walk((struct vlab_gpmem *)&vm->mmem, &vm->mpg, vm->ncr3, g[i],
                                   VLAB_ACC_USER, 0, &nw);
            bool in_ram = sh_p2m(vm, g[i], &want) == VLAB_OK;
            PUT("\n  nested walk of gpa %#llx (%s, nCR3 %#llx): ", (unsigned long long)g[i],
                i < w.levels ? "a guest table entry" : "the data", (unsigned long long)vm->ncr3);
            n += walk_str(buf + (n < len ? n : len), n < len ? len - n : 0, "hpa", &nw, nrc);
            if (in_ram)
                PUT("; the p2m says %#llx", (unsigned long long)want);
            else
                PUT("; not guest RAM");
        }
    } else if (vm->mode == SH_MODE_SHADOW) {
        struct vlab_walk sw;
        int src =
            vlab_pt_walk((struct vlab_gpmem *)&vm->mmem, &vm->mpg, vm->mcr3, gva, access, 0, &sw);
        PUT("\n  the shadow walk (machine CR3 %#llx): ", (unsigned long long)vm->mcr3);
        n += walk_str(buf + (n < len ? n : len), n < len ? len - n : 0, "hpa", &sw, src);
        uint64_t want;
        if (rc == VLAB_OK && sh_p2m(vm, w.gpa, &want) == VLAB_OK)
            PUT("; the p2m of the guest's gpa says %#llx", (unsigned long long)want);
    }
#undef PUT
    return n < len ? n : len - 1;
}

static int access_once(struct sh_vm *vm, uint64_t gva, unsigned access, uint64_t value,
                       struct sh_outcome *o);

/* An access that fails the VMM says, beside why, what both walks of its address find. */
int sh_vm_access(struct sh_vm *vm, uint64_t gva, unsigned access, uint64_t value,
                 struct sh_outcome *o) {
    bool had_err = vm->err[0];
    int rc = access_once(vm, gva, access, value, o);
    if (!had_err && vm->err[0]) {
        size_t n = strlen(vm->err);
        sh_vm_paths(vm, gva & ~7ull, access, vm->err + n, sizeof vm->err - n);
    }
    return rc;
}

static int access_once(struct sh_vm *vm, uint64_t gva, unsigned access, uint64_t value,
                       struct sh_outcome *o) {
    memset(o, 0, sizeof *o);
    if (vm->err[0]) return o->rc = VLAB_EINVAL;
    vm->c.accesses++;
    gva &= ~7ull;
    uint64_t pa = 0;
    bool hit = tlb_lookup(vm, gva, access, &pa);
    if (hit) vm->c.tlb_hits++;
    for (int attempt = 0; !hit; attempt++) {
        if (attempt == SH_MAX_RETRY) {
            fail(vm, "livelock: %d faults in a row on one access to gva %#llx (%s)", SH_MAX_RETRY,
                 (unsigned long long)gva,
                 vm->mode == SH_MODE_NESTED
                     ? "a nested fault that does not fix the nested table? the nested walks "
                       "below show the entry the hardware still refuses, handout §5.3"
                     : "a hidden fault that does not fix the shadow? handout §2.2");
            return o->rc = VLAB_EINVAL;
        }
        vm->c.tlb_misses++;
        uint32_t pf = 0;
        uint64_t npf = 0;
        int h = vm->mode == SH_MODE_NESTED ? hw_walk_nested(vm, gva, access, &pa, &pf, &npf)
                                           : hw_walk_shadow(vm, gva, access, &pa, &pf);
        if (h == HW_OK) break;
        if (h == HW_ERR) return o->rc = VLAB_EINVAL;
        if (vm->mode == SH_MODE_PV) { /* the guest's own tables: its fault, no VM exit */
            vm->c.guest_pf++;
            *o = (struct sh_outcome){.rc = VLAB_EPF, .error = pf, .cr2 = gva};
            return o->rc;
        }
        if (vm->mode == SH_MODE_NESTED) {
            if (h == HW_PF) {
                vm->c.guest_pf++;
                *o = (struct sh_outcome){.rc = VLAB_EPF, .error = pf, .cr2 = gva};
                return o->rc;
            }
            vm->c.exits++;
            vm->c.nested_faults++;
            int rc = nested_fault(vm->nt, npf, access);
            if (rc != VLAB_OK) {
                fail(vm, "nested_fault(gpa %#llx) returned %s", (unsigned long long)npf,
                     vlab_strerror(rc));
                return o->rc = rc;
            }
            continue;
        }
        bool done = false;
        int rc = vmm_fault(vm, gva, access, value, pf, o, &done);
        if (rc != VLAB_OK) return o->rc = rc;
        if (done) return o->rc;
    }
    if (check_data_frame(vm, gva, pa)) return o->rc = VLAB_EINVAL;
    uint8_t *p = vm->mach + (pa - SH_M_BASE);
    if (access & VLAB_ACC_WRITE)
        memcpy(p, &value, 8);
    else
        memcpy(&o->value, p, 8);
    o->rc = VLAB_OK;
    o->pa = pa;
    return VLAB_OK;
}

int sh_vm_set_cr3(struct sh_vm *vm, uint64_t gcr3) {
    if (vm->err[0]) return VLAB_EINVAL;
    vm->gcr3 = gcr3;
    if (vm->mode == SH_MODE_PV) {
        sh_hw_load_cr3(vm, gcr3); /* a machine address: the PV guest's own L4 */
        return VLAB_OK;
    }
    if (vm->mode == SH_MODE_NESTED) {
        sh_hw_flush(vm); /* no VM exit: the hardware loads the guest's CR3 itself */
        vm->c.cr3_loads++;
        return VLAB_OK;
    }
    vm->c.exits++;
    int rc = shadow_set_cr3(vm->sh, gcr3);
    if (rc != VLAB_OK)
        fail(vm, "shadow_set_cr3(%#llx) returned %s", (unsigned long long)gcr3, vlab_strerror(rc));
    return rc;
}

int sh_vm_invlpg(struct sh_vm *vm, uint64_t gva) {
    if (vm->err[0]) return VLAB_EINVAL;
    if (vm->mode != SH_MODE_SHADOW) {
        sh_hw_invlpg(vm, gva);
        return VLAB_OK;
    }
    vm->c.exits++;
    int rc = shadow_invlpg(vm->sh, gva);
    if (rc != VLAB_OK)
        fail(vm, "shadow_invlpg(%#llx) returned %s", (unsigned long long)gva, vlab_strerror(rc));
    return rc;
}
