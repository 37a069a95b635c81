/* x86-64 4-level page tables in guest physical memory: a builder (for tests, guests and VMMs)
 * and a reference walker, the oracle that student page walks and shadow MMUs are checked
 * against. Semantics follow the Intel SDM vol. 3 ch. 4 (4-level paging, no PKE/SMAP/LA57). */
#ifndef VLAB_PT_H
#define VLAB_PT_H

#include <stdint.h>

#include "vlab/gpmem.h"
#include "vlab/x86.h"

/* The part of the CPU state a translation depends on. */
struct vlab_paging {
    uint64_t cr0;        /* PG must be set; WP is honoured */
    uint64_t cr4;        /* PAE must be set; SMEP honoured; LA57, PKE, SMAP give VLAB_EUNSUPP */
    uint64_t efer;       /* LMA must be set; NXE honoured */
    unsigned maxphyaddr; /* physical-address width, 36..52; 0 means 52 */
};
/* CR0.PG|PE|WP, CR4.PAE, EFER.LME|LMA|NXE: the usual 64-bit kernel setting. */
struct vlab_paging vlab_paging_long_mode(void);

/* Access kinds use the #PF error-code bit positions, so a fault's code is built from them. */
#define VLAB_ACC_READ  0u
#define VLAB_ACC_WRITE X86_PF_W
#define VLAB_ACC_USER  X86_PF_U /* CPL 3 */
#define VLAB_ACC_FETCH X86_PF_I

/* Walk flags */
#define VLAB_WALK_SET_AD (1u << 0) /* write A/D bits back as the CPU does (else: a pure probe) */

struct vlab_walk {
    /* filled on success */
    uint64_t gpa;       /* translated guest-physical address */
    uint64_t page_size; /* 4 KiB, 2 MiB or 1 GiB */
    /* filled as far as the walk got, success or fault */
    int levels;            /* entries read: 1..4 */
    uint64_t entry_gpa[4]; /* [0] = PML4E, [1] = PDPTE, ... */
    uint64_t entry[4];     /* values as read (before any A/D update) */
    /* filled on VLAB_EPF */
    uint32_t pf_error; /* exact #PF error code (X86_PF_*) */
    int fault_level;   /* 4 = PML4E ... 1 = PTE: the entry that caused the fault */
    /* memory references made by this walk */
    unsigned mem_reads;  /* 8-byte entry reads */
    unsigned mem_writes; /* 8-byte entry write-backs (only entries whose A/D actually changed) */
};

/* Translates gva for an access (VLAB_ACC_* bits) under CR3 cr3 (bits 51:12 used; PCD/PWT
 * ignored).
 * Returns VLAB_OK, VLAB_EPF (w->pf_error, w->fault_level set; CR2 would be gva),
 * VLAB_ENONCANON (non-canonical gva: #GP), VLAB_ERANGE (a paging entry lies outside guest
 * memory), VLAB_EUNSUPP (paging mode not modelled) or VLAB_EINVAL (NULL argument).
 * A/D rule (as Bochs; what Intel and AMD document for a translation that completes): only a
 * successful translation sets A in every entry it used and, for a write, D in the leaf; a
 * faulting access modifies nothing. Permission rule: the effective R/W, U/S and XD are the
 * combination over all levels (writable only if every level is, user only if every level is,
 * executable only if no level sets XD). */
int vlab_pt_walk(struct vlab_gpmem *mem, const struct vlab_paging *pg, uint64_t cr3, uint64_t gva,
                 unsigned access, unsigned flags, struct vlab_walk *w);

/* ---- builder ---- */

/* Page-table pages come from a bump allocator over [pool_start, pool_end) of guest memory. */
struct vlab_pt_builder {
    struct vlab_gpmem *mem;
    uint64_t pool_next;
    uint64_t pool_end;
    unsigned tables; /* table pages handed out so far */
    /* Flags given to newly created non-leaf entries; default P|RW|US (most permissive, so the
     * leaf decides). Tests narrow them to exercise permissions at upper levels. */
    uint64_t table_flags;
};

/* pool bounds must be 4 KiB aligned (else VLAB_EINVAL) and inside writable guest memory
 * (VLAB_ERANGE if outside, VLAB_EINVAL if read-only). */
int vlab_pt_builder_init(struct vlab_pt_builder *b, struct vlab_gpmem *mem, uint64_t pool_start,
                         uint64_t pool_end);
/* A zeroed 4 KiB table page; VLAB_ENOMEM when the pool is exhausted. */
int vlab_pt_alloc_table(struct vlab_pt_builder *b, uint64_t *gpa);
/* A new, empty PML4: *cr3 is its gpa. */
int vlab_pt_new_root(struct vlab_pt_builder *b, uint64_t *cr3);

/* Maps gva -> gpa with a leaf of page_size (4 KiB, 2 MiB or 1 GiB; both addresses aligned to it,
 * gva canonical). leaf_flags are X86_PTE_* bits for the leaf (P is implied; PS is added for
 * large leaves). Missing tables are allocated. VLAB_EEXIST if a leaf already maps gva at a
 * different level or the same slot is present; VLAB_EINVAL for misalignment, bad size or
 * leaf_flags in the leaf's frame field (a large leaf's reserved bits are written as given). */
int vlab_pt_map(struct vlab_pt_builder *b, uint64_t cr3, uint64_t gva, uint64_t gpa,
                uint64_t page_size, uint64_t leaf_flags);
/* Maps [gva, gva+len) with the largest leaves alignment allows (identity maps use gva == gpa). */
int vlab_pt_map_range(struct vlab_pt_builder *b, uint64_t cr3, uint64_t gva, uint64_t gpa,
                      uint64_t len, uint64_t leaf_flags);
/* Clears the leaf mapping gva (tables are kept); VLAB_ENOENT if none. */
int vlab_pt_unmap(struct vlab_pt_builder *b, uint64_t cr3, uint64_t gva);

/* gpa of the entry for gva at level (4..1), following present non-leaf entries only;
 * VLAB_ENOENT if an upper level is not present or is a leaf above that level. */
int vlab_pt_entry_gpa(struct vlab_gpmem *mem, uint64_t cr3, uint64_t gva, int level,
                      uint64_t *entry_gpa);

/* Human-readable "P RW US A D PS NX" style rendering of an entry, for messages. */
const char *vlab_pte_str(uint64_t entry, char *buf, unsigned buflen);

#endif
