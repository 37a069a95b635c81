/* A seeded guest "kernel" that drives the machine as an OS would: address spaces with a shared
 * kernel half (a direct map of all guest RAM), demand paging, mprotect/munmap, CR3 switches,
 * INVLPG and full flushes, a clock reclaim scan that reads and clears A/D bits, fork with
 * copy-on-write, process exit (freed page-table frames are reused), and user accesses in
 * sequential, random and working-set patterns. Every page-table write goes through the MMU
 * (a kernel write to the direct map), so under shadow paging it traps.
 *
 * With the oracle on, each CPU operation runs in lock step on an ideal, non-virtualized MMU
 * (vlab_pt_walk over the guest's own physical memory) and on the machine; the kernel follows the
 * ideal outcomes, and the first difference stops the run with a trace that reproduces it. */
#ifndef VLAB_SH_OS_H
#define VLAB_SH_OS_H

#include <stdbool.h>
#include <stdint.h>

#include "rng.h"
#include "sh_machine.h"
#include "vlab/gpmem.h"

enum sh_pattern { SH_PAT_SEQUENTIAL, SH_PAT_RANDOM, SH_PAT_WORKING_SET };

enum sh_op {
    SH_OP_ACCESS,   /* a user access (demand fault, COW break and retry handled by the kernel) */
    SH_OP_KACCESS,  /* a kernel access: copy_to/from_user on a user page, or the direct map */
    SH_OP_WILD,     /* a user access outside every VMA or into the kernel half: a true fault */
    SH_OP_MPROTECT, /* toggle R/W of a present page */
    SH_OP_MUNMAP,   /* unmap a present page */
    SH_OP_SWITCH,   /* CR3 load to another address space */
    SH_OP_FLUSH,    /* CR3 reload of the same value */
    SH_OP_INVLPG,   /* INVLPG of a random user address */
    SH_OP_CLOCK,    /* a batch of the clock reclaim scan */
    SH_OP_FORK,     /* a new address space sharing the current one's pages copy-on-write */
    SH_OP_EXIT,     /* an address space ends; its frames go back to the free list */
    SH_OP_CORRUPT,  /* a reserved bit in a user PTE (the next access takes #PF with RSVD) */
    SH_OP_KINDS
};

struct sh_profile {
    const char *name;
    unsigned weight[SH_OP_KINDS];
    enum sh_pattern pattern;
    unsigned pct_write, pct_fetch; /* of user accesses */
    unsigned max_spaces;           /* live address spaces (2..8) */
    bool pingpong;                 /* switch only between the first two spaces, no exit */
    unsigned clock_batch;
    unsigned hot_pages; /* working-set size */
};

extern const struct sh_profile sh_profile_sequential, sh_profile_random, sh_profile_working_set,
    sh_profile_fork, sh_profile_clock, sh_profile_everything, sh_profile_pingpong;

#define SH_MAX_SPACES 8
#define SH_KBASE      0xffff888000000000ull /* the direct map: gva SH_KBASE + gpa */
#define SH_TRACE      16

struct sh_space {
    bool live;
    uint64_t pml4;
    unsigned hand; /* clock hand, a page index in the heap */
};

/* One CPU-level event, kept in a ring for failure messages. */
struct sh_event {
    uint64_t op;
    unsigned kind; /* enum sh_op of the operation it belongs to */
    char what;     /* 'A' access, 'C' CR3 load, 'I' INVLPG */
    unsigned access;
    uint64_t gva, value;
    struct sh_outcome ideal, vm;
};

struct sh_ideal {
    struct vlab_gpmem mem;
    uint64_t cr3;
};

struct sh_os {
    const struct sh_profile *p;
    struct vlab_rng rng;
    uint64_t seed;
    struct sh_vm *vm;
    struct sh_ideal *ideal; /* NULL: no oracle (the benchmark) */
    uint8_t kind[SH_G_FRAMES];
    uint16_t refs[SH_G_FRAMES];
    bool dirty[SH_G_FRAMES]; /* may hold non-zero words */
    uint32_t freel[SH_G_FRAMES];
    unsigned nfree;
    uint64_t kpdpt;
    struct sh_space as[SH_MAX_SPACES];
    unsigned cur;
    uint64_t ops, seq_next, tag;
    uint64_t hot[64];
    /* what happened, for the tests' "the workload did what it says" checks */
    uint64_t n_access, n_guest_pf, n_demand, n_cow, n_segv, n_rsvd, n_fork, n_exit, n_switch,
        n_clock_evict, n_clock_clear;
    struct sh_event ring[SH_TRACE];
    unsigned nring;
    unsigned cur_kind;
    bool failed;
    char err[6144];
};

/* Boots the guest on vm (and on a fresh ideal machine if oracle), loads the first CR3.
 * false on failure (os->err). */
bool sh_os_init(struct sh_os *os, const struct sh_profile *p, uint64_t seed, struct sh_vm *vm,
                bool oracle);
void sh_os_fini(struct sh_os *os);
/* One operation; false on the first difference from the oracle or a VMM failure. */
bool sh_os_step(struct sh_os *os);
/* Compares all guest memory (page tables with their A/D bits, and data) with the oracle's. */
bool sh_os_check_memory(struct sh_os *os);
/* A fixed round of accesses to the first pages of every VMA of the current space (warm-up and
 * measurement phases of the ping-pong test). */
bool sh_os_touch_round(struct sh_os *os, unsigned pages);
/* Switches to space idx (creating it by fork of the current one if needed). */
bool sh_os_switch_to(struct sh_os *os, unsigned idx);
const char *sh_op_name(unsigned kind);

#endif
