/* The harness side of struct sh_vm: machine memory (one memfd), the guest-physical view of it
 * through a sparse, non-identity p2m (the same memfd pages mapped again in guest-physical
 * order, so a VMM write through either view is the other's too), the VMM's frame pool with a
 * quota, and the MMU: a direct-mapped TLB in front of a walk of the shadow table (shadow mode)
 * or of the 2-D walk (nested mode), which sets A/D bits as x86 does and takes #PF / nested
 * faults to the VMM. Tests and the guest driver see this; students see only shadow.h. */
#ifndef VLAB_SH_MACHINE_H
#define VLAB_SH_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shadow.h"
#include "vlab/gpmem.h"

/* Guest RAM: two regions with a 2 GiB hole (a sparse guest-physical map). */
#define SH_G0_GPA        0x0ull
#define SH_G0_SIZE       0x400000ull /* 4 MiB: its frames are scattered one by one in machine memory */
#define SH_G1_GPA        0x80000000ull
#define SH_G1_SIZE       0x800000ull /* 8 MiB: 2 MiB chunks, 3 contiguous in machine memory, 1 not */
#define SH_G_FRAMES      ((SH_G0_SIZE + SH_G1_SIZE) >> 12)
/* Machine memory: 32 MiB at 1 GiB, 2 MiB aligned. */
#define SH_M_BASE        0x40000000ull
#define SH_M_SIZE        0x2000000ull
#define SH_M_FRAMES      (SH_M_SIZE >> 12)
#define SH_TLB_SIZE      64 /* direct-mapped by virtual page number */
#define SH_MAX_RETRY     8  /* faults on one access before the harness calls it a livelock */
#define SH_DEFAULT_QUOTA 1024

/* SH_MODE_PV: the guest's own tables hold machine addresses and the MMU walks them from CR3
 * directly; the VMM is the pv_* validator and sees no faults. */
enum sh_mode { SH_MODE_SHADOW, SH_MODE_NESTED, SH_MODE_PV };

/* Deterministic counters (§6): every budget is one of these. */
struct sh_counters {
    uint64_t accesses; /* guest memory accesses through the MMU */
    uint64_t tlb_hits, tlb_misses;
    uint64_t walks;      /* hardware walks that ended in a translation */
    uint64_t walk_reads; /* entry reads of those walks (2-D: guest and nested entries) */
    uint64_t walk_writes;
    uint64_t exits; /* faults that reached the VMM (#PF in shadow mode, nested faults) */
    uint64_t hidden_faults, emulated_writes, injected;
    uint64_t guest_pf; /* nested mode: #PF delivered to the guest by the hardware */
    uint64_t nested_faults;
    uint64_t tlb_flushes, tlb_invlpgs, cr3_loads;
    uint64_t mpa_reads, mpa_writes; /* the VMM's sh_mpa_* references */
    uint64_t frames_in_use, frames_peak, frame_allocs;
};

struct sh_tlb_entry {
    bool valid, user, writable, nx;
    uint64_t vpn, pfn;
};

enum sh_frame_owner { SH_OWN_POOL = 0, SH_OWN_VMM = 1, SH_OWN_GUEST = 2 };

struct sh_vm {
    enum sh_mode mode;
    bool oos;
    int memfd;
    uint8_t *mach;                /* machine memory, SH_M_SIZE bytes at SH_M_BASE */
    uint8_t *gview0, *gview1;     /* guest RAM regions, aliasing machine frames */
    struct vlab_gpmem mmem, gmem; /* machine view, guest-physical view */
    uint32_t p2m[SH_G_FRAMES];    /* guest frame index -> machine frame index */
    uint8_t owner[SH_M_FRAMES];
    uint32_t pool[SH_M_FRAMES];
    unsigned npool, quota;
    struct vlab_paging gpg, mpg; /* guest paging state; the MMU's (machine) state */
    uint64_t gcr3, mcr3, ncr3;
    struct sh_tlb_entry tlb[SH_TLB_SIZE];
    struct shadow *sh;
    struct nested *nt;
    struct pv *pv;
    struct sh_counters c;
    char err[4096]; /* what went wrong, when an operation returned an error */
};

struct sh_vm_config {
    enum sh_mode mode;
    uint64_t seed;    /* places guest frames in machine memory */
    unsigned quota;   /* table frames the VMM may hold at once; 0: SH_DEFAULT_QUOTA */
    bool oos;         /* shadow mode: out-of-sync leaf shadows allowed (Part 4) */
    bool awkward_p2m; /* G1's chunks contiguous only in part or not 2 MiB-aligned (§5.3) */
};

/* Builds the machine and the VMM (shadow_create or nested_create). On error *out is NULL and
 * err says why (e.g. "shadow_create: not implemented"). */
int sh_vm_create(struct sh_vm **out, const struct sh_vm_config *cfg, char *err, size_t len);
void sh_vm_destroy(struct sh_vm *vm);

/* What one guest access, or the ideal MMU, produced. */
struct sh_outcome {
    int rc;         /* VLAB_OK, VLAB_EPF; anything else is a VMM failure (vm->err says) */
    uint64_t pa;    /* VLAB_OK: machine address (or guest-physical, for the ideal MMU) */
    uint64_t value; /* VLAB_OK: the value read (a read or fetch) */
    uint32_t error; /* VLAB_EPF: error code */
    uint64_t cr2;   /* VLAB_EPF */
};

/* The paths of an access to gva in words, for failure messages: the guest's walk and, in shadow
 * mode, the shadow walk; in nested mode, the nested walk of every guest-physical address the
 * guest's walk used. Reads only (no A/D bits, no counters). Returns the length written. */
size_t sh_vm_paths(const struct sh_vm *vm, uint64_t gva, unsigned access, char *buf, size_t len);
/* The guest CPU's operations. access: VLAB_ACC_* bits; value: what a write stores. */
int sh_vm_access(struct sh_vm *vm, uint64_t gva, unsigned access, uint64_t value,
                 struct sh_outcome *o);
int sh_vm_set_cr3(struct sh_vm *vm, uint64_t gcr3);
int sh_vm_invlpg(struct sh_vm *vm, uint64_t gva);

/* Guest frame index of gpa (0 .. SH_G_FRAMES-1), or -1 if gpa is not guest RAM. */
long sh_gfn_index(uint64_t gpa);
uint64_t sh_gfn_gpa(unsigned idx);
/* Physical writes at boot, before paging (and in tests that set up a state by hand). */
int sh_vm_poke(struct sh_vm *vm, uint64_t gpa, uint64_t val);
/* Host pointer to a guest frame's bytes in the guest-physical view. */
const uint8_t *sh_vm_frame(const struct sh_vm *vm, uint64_t gpa);

/* Runs the 2-D walk the hardware does for gva under ncr3, as a probe: what it finds and how
 * many entries it reads. The oracle for nested_walk. */
void sh_hw_walk2d_probe(struct sh_vm *vm, uint64_t gcr3, uint64_t ncr3, uint64_t gva,
                        unsigned access, struct nested_result *r, unsigned *reads);

#endif
