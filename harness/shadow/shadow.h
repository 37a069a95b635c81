/* Lab 1 (shadow): shadow page tables and nested paging for a guest on a software x86-64 MMU.
 *
 * This is the whole interface between your code (labs/shadow/shadow.c, nested.c and pv.c)
 * and the harness. The harness is "the hardware": machine memory, the p2m that places guest
 * frames in it, and an MMU with a TLB that walks one table (the shadow table, or in nested mode
 * the guest table through the nested table). You write the VMM side. The handout is
 * labs/shadow/README.md; section numbers (§) below refer to it. */
#ifndef VLAB_SHADOW_H
#define VLAB_SHADOW_H

#include <stdbool.h>
#include <stdint.h>

#include "vlab/err.h"
#include "vlab/pt.h"  /* struct vlab_paging, struct vlab_walk, VLAB_ACC_*, vlab_pt_walk */
#include "vlab/x86.h" /* X86_PTE_*, X86_PF_*, x86_pt_index */

/* The machine: opaque. Everything you do to it goes through the functions below, which count
 * what the budgets count (§6) and refuse what would corrupt it. */
struct sh_vm;

/* ---- guest-physical memory (what the guest calls physical; backed by machine frames) ---- */

/* The machine address of guest-physical address gpa (the p2m, §1.2): VLAB_OK and *hpa, or
 * VLAB_ENOENT when gpa is not guest RAM. gPA and hPA are never equal for RAM: a shadow entry
 * holding a gPA maps the wrong machine frame. */
int sh_p2m(const struct sh_vm *vm, uint64_t gpa, uint64_t *hpa);
/* 8-byte aligned reads and writes of guest-physical memory, as the VMM does them (not through
 * the MMU: no fault, no trap). VLAB_ERANGE outside guest RAM, VLAB_EINVAL if misaligned. */
int sh_gpa_read(const struct sh_vm *vm, uint64_t gpa, uint64_t *val);
int sh_gpa_write(struct sh_vm *vm, uint64_t gpa, uint64_t val);
/* The guest's page walk (lab 0's, given): vlab_pt_walk over guest-physical memory with the
 * guest's paging state. flags 0 is a probe; VLAB_WALK_SET_AD sets the guest's A/D bits as the
 * CPU would for a translation that succeeds. w->entry_gpa[] says which guest table pages the
 * walk used. Returns what vlab_pt_walk returns (VLAB_OK, VLAB_EPF with w->pf_error, ...). */
int sh_guest_walk(struct sh_vm *vm, uint64_t gcr3, uint64_t gva, unsigned access, unsigned flags,
                  struct vlab_walk *w);

/* ---- machine memory for your tables (shadow or nested) ---- */

/* A zeroed 4 KiB machine frame for a table: VLAB_OK and *hpa, or VLAB_ENOMEM when the VMM's
 * quota of table frames is used up (§2.6: reclaim, then try again). */
int sh_frame_alloc(struct sh_vm *vm, uint64_t *hpa);
/* Gives a frame back: VLAB_EINVAL if it is not one of yours (double free, a guest frame). */
int sh_frame_free(struct sh_vm *vm, uint64_t hpa);
/* 8-byte entries of machine memory (your tables; the guest's frames too, in nested_walk).
 * Each call is one memory reference and is counted (§5.1). VLAB_ERANGE outside machine memory,
 * VLAB_EINVAL if misaligned. */
int sh_mpa_read(struct sh_vm *vm, uint64_t hpa, uint64_t *val);
int sh_mpa_write(struct sh_vm *vm, uint64_t hpa, uint64_t val);

/* ---- the hardware MMU ---- */

/* Loads the machine CR3 (the root of the table the MMU walks: your shadow PML4, §2.1). Like a
 * real CR3 load it flushes the TLB. */
void sh_hw_load_cr3(struct sh_vm *vm, uint64_t hpa);
/* Drops the TLB's translation of one guest-virtual page, or every translation. Needed whenever
 * you change or remove a shadow entry the MMU may have cached (§2.4). */
void sh_hw_invlpg(struct sh_vm *vm, uint64_t gva);
void sh_hw_flush(struct sh_vm *vm);
/* Nested mode: the nested table's root (§5). Flushes the TLB. */
void sh_hw_load_ncr3(struct sh_vm *vm, uint64_t hpa);
/* The guest's paging state (CR0.WP, EFER.NXE, MAXPHYADDR) for your own walks. */
const struct vlab_paging *sh_guest_paging(const struct sh_vm *vm);

/* =============================== Part 1: shadow paging (§2-§4) =========================== */

/* Your VMM's state: define struct shadow in labs/shadow/shadow.c. */
struct shadow;

/* A #PF the MMU took while walking your shadow table (a VM exit). */
struct sh_fault {
    uint64_t gva;    /* CR2: the faulting guest-virtual address */
    uint32_t error;  /* the hardware error code: W, U and I say what the access was */
    unsigned access; /* the same as VLAB_ACC_* bits (W, U, I), for the guest walk */
    uint64_t value;  /* for a write: the 8 bytes the guest was storing (to emulate it) */
    uint64_t gcr3;   /* the guest's CR3 at the time */
};

/* What shadow_page_fault decided (§2.2). */
enum sh_verdict {
    SH_RETRY = 1,    /* hidden fault: the shadow is fixed, the MMU retries the access */
    SH_EMULATED = 2, /* a write to a write-protected guest page table: you did it (§3) */
    SH_INJECT = 3,   /* a true guest fault: the guest sees #PF with out->error, CR2 out->cr2 */
};
struct sh_fault_out {
    uint32_t error; /* SH_INJECT: the error code the guest's own MMU would have produced */
    uint64_t cr2;   /* SH_INJECT: the faulting address */
    uint64_t gpa;   /* SH_EMULATED: the guest-physical address you wrote */
};

/* Creates the VMM state for vm (guest CR3 not loaded yet): VLAB_OK and *out, or an error. */
int shadow_create(struct sh_vm *vm, struct shadow **out);
void shadow_destroy(struct shadow *s);
/* The guest wrote CR3 (a switch, or a reload of the same value, §2.5). */
int shadow_set_cr3(struct shadow *s, uint64_t gcr3);
/* Part 4 (§8): whether this machine runs with out-of-sync leaf shadows. When false, every
 * shadowed guest table stays write-protected. */
bool sh_oos_enabled(const struct sh_vm *vm);

/* The MMU faulted on the shadow table. Returns an enum sh_verdict, or a negative VLAB_E*
 * error (a VMM failure: the harness stops the guest and reports it). */
int shadow_page_fault(struct shadow *s, const struct sh_fault *f, struct sh_fault_out *out);
/* The guest executed INVLPG gva (§2.4; with out-of-sync shadows also §8). */
int shadow_invlpg(struct shadow *s, uint64_t gva);

/* =============================== Part 2: nested paging (§5) =============================== */

/* Your nested-table state: define struct nested in labs/shadow/nested.c. */
struct nested;

/* Creates an empty nested table and loads its root (sh_hw_load_ncr3). */
int nested_create(struct sh_vm *vm, struct nested **out);
void nested_destroy(struct nested *n);
/* A nested fault (EPT violation): the 2-D walk found no nested mapping for gpa. Map it
 * (lazily, §5.3) and return VLAB_OK; VLAB_ERANGE if gpa is not guest RAM. */
int nested_fault(struct nested *n, uint64_t gpa, unsigned access);

/* What one 2-D walk found (§5.1). */
enum nested_outcome {
    NESTED_OK = 0,        /* hpa is the machine address of gva */
    NESTED_GUEST_PF = 1,  /* a guest entry is not present: pf_error as the guest sees it */
    NESTED_NPT_FAULT = 2, /* a nested entry is not present while translating fault_gpa */
};
struct nested_result {
    enum nested_outcome outcome;
    uint64_t gpa;       /* NESTED_OK: the guest-physical address of gva */
    uint64_t hpa;       /* NESTED_OK: its machine address */
    uint32_t pf_error;  /* NESTED_GUEST_PF */
    uint64_t fault_gpa; /* NESTED_NPT_FAULT: the guest-physical address being translated */
};
/* The 2-D walk as the hardware does it, reading every entry with sh_mpa_read (counted): each
 * guest table's gPA is translated through the nested table rooted at ncr3 before its entry is
 * read, then the final gPA. Translation only: presence and page sizes, no permission checks
 * and no A/D updates. Returns VLAB_OK with *r filled, or an error sh_mpa_read returned. */
int nested_walk(struct sh_vm *vm, uint64_t gcr3, uint64_t ncr3, uint64_t gva, unsigned access,
                struct nested_result *r);

/* ======================= Part 3: Xen-style direct paging, validated (§7) ===================== */

/* The PV guest's page tables hold machine addresses and the hardware walks them as they are, so
 * the VMM validates every change instead of shadowing. Your validator's state: define struct pv
 * in labs/shadow/pv.c. */
struct pv;

/* Whether machine frame hpa belongs to the domain (the guest's own RAM frames). */
bool sh_domain_owns(const struct sh_vm *vm, uint64_t hpa);
/* Machine frames are numbered 0 .. sh_machine_frames() - 1: the index of hpa's frame, or -1
 * outside machine memory. For per-frame arrays. */
long sh_mfn_index(const struct sh_vm *vm, uint64_t hpa);
unsigned sh_machine_frames(const struct sh_vm *vm);

/* Per-request status of pv_pin, pv_unpin and each pv_mmu_update request (§7.2). */
enum pv_status {
    PV_OK = 0,
    PV_ENOTOWNED = -20,  /* the entry maps a frame the domain does not own */
    PV_EWRITABLE = -21,  /* a writable mapping of a page-table frame (or pinning a frame that is
                            mapped writable) */
    PV_EWRONGTYPE = -22, /* a level-n entry (n > 1) whose frame is not a pinned level-(n-1) table */
    PV_ERSVD = -23,      /* reserved bits: above MAXPHYADDR, or PS above level 1 (no superpages) */
    PV_EBADPTR = -24,    /* the entry to update is not 8-byte aligned in a pinned table; unpin of a
                            frame that is not pinned */
    PV_EBUSY = -25,      /* pin of a pinned frame; unpin of a table a pinned table still uses */
};

struct pv_update {
    uint64_t ptr; /* machine address of the entry to write */
    uint64_t val; /* its new value */
};

/* Creates the validator for vm's domain: nothing pinned. */
int pv_create(struct sh_vm *vm, struct pv **out);
void pv_destroy(struct pv *p);
/* Validates the frame at hpa as a table of level (4 = L4 ... 1 = L1) and pins it: returns an
 * enum pv_status (VLAB_EINVAL for a level outside 1..4). On rejection nothing changes. */
int pv_pin(struct pv *p, uint64_t hpa, int level);
int pv_unpin(struct pv *p, uint64_t hpa);
/* Applies n updates in order, each validated against the state the earlier ones left:
 * status[i] gets its enum pv_status; a rejected update changes nothing. Returns VLAB_OK (or
 * VLAB_ENOTIMPL / VLAB_EINVAL for a NULL argument). */
int pv_mmu_update(struct pv *p, const struct pv_update *req, unsigned n, int *status);

#endif
