/* A seeded random guest: page tables with a mix of 4 KiB / 2 MiB / 1 GiB leaves in two identical
 * copies of guest memory (one for the student's walk, one for the oracle's), random damage to
 * the entries (cleared P, reserved bits, permission bits, preset A/D, ...) and a stream of walk
 * requests aimed mostly at the damaged paths. The same seed gives the same tables, damage and
 * walks on every machine, so a failing walk number can be replayed. Used by the differential
 * and budget tests and by the benchmark. */
#ifndef VLAB_PW_WORLD_H
#define VLAB_PW_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "pagewalk.h"
#include "rng.h"
#include "vlab/gpmem.h"

/* Kinds of damage done to an entry on a mapped path. */
enum pw_damage {
    PW_DMG_PERM,        /* toggle R/W, U/S or XD */
    PW_DMG_NOT_PRESENT, /* clear P */
    PW_DMG_RSVD,        /* set a bit that is (or, for some MAXPHYADDR/NXE, may be) reserved */
    PW_DMG_PS,          /* toggle PS in a PDPTE/PDE: a table becomes a leaf or the reverse */
    PW_DMG_OUTSIDE,     /* point a non-leaf entry outside guest memory */
    PW_DMG_AD,          /* set or clear A, D */
    PW_DMG_IGNORED,     /* set a bit the CPU ignores (AVL, G, PAT, PWT/PCD, 52..62) */
    PW_DMG_KINDS
};

struct pw_profile {
    const char *name;
    unsigned size_weight[3]; /* leaves of 4 KiB, 2 MiB, 1 GiB */
    unsigned maps;           /* mappings attempted (conflicting ones are skipped) */
    bool leaf_perms;         /* leaves get random R/W, U/S, XD (else R/W | U/S) */
    unsigned preset_ad_pct;  /* chance an entry starts with A (and a leaf with D) set */
    unsigned damage_weight[PW_DMG_KINDS];
    unsigned damage_min, damage_max; /* entries damaged per epoch */
    unsigned epoch; /* walks per epoch: tables restored and re-damaged; 0: damaged once */
    bool vary_wp, vary_nxe, vary_smep, vary_maxphy, junk_cr3;
    /* where walks go, in percent (the rest: a random mapped page) */
    unsigned pct_damaged;  /* a page whose path was damaged this epoch */
    unsigned pct_near;     /* a mapped page's PML4/PDPT slot with random lower indices */
    unsigned pct_random;   /* any canonical address */
    unsigned pct_noncanon; /* a non-canonical address */
};

extern const struct pw_profile pw_profile_walk, pw_profile_not_present, pw_profile_reserved,
    pw_profile_permissions, pw_profile_everything, pw_profile_bench;

#define PW_WORLD_RAM_GPA  0x100000ull /* guest RAM: every page table lives here */
#define PW_WORLD_RAM_SIZE 0x100000ull
#define PW_WORLD_OUTSIDE  0x80000000ull /* below 2^36 but not RAM: for PW_DMG_OUTSIDE */
#define PW_WORLD_MAX_MAPS 128
#define PW_WORLD_MAX_HOT  16

enum { PW_STUDENT = 0, PW_ORACLE = 1 };

struct pw_mapping {
    uint64_t gva, size;
    int levels;            /* entries on the path: 4 (4 KiB), 3 (2 MiB), 2 (1 GiB) */
    uint64_t entry_gpa[4]; /* [0] = PML4E */
};

struct pw_world {
    const struct pw_profile *prof;
    struct vlab_rng rng;
    struct vlab_gpmem mem[2]; /* [PW_STUDENT], [PW_ORACLE]: equal before every walk */
    uint64_t cr3;             /* gpa of the PML4 */
    uint64_t pool_end;        /* tables occupy [PW_WORLD_RAM_GPA, pool_end) */
    uint8_t *pristine;        /* the tables as built, restored at each epoch */
    struct pw_mapping map[PW_WORLD_MAX_MAPS];
    unsigned nmaps;
    unsigned hot[PW_WORLD_MAX_HOT]; /* mappings damaged this epoch */
    unsigned nhot;
    uint64_t walks; /* requests handed out */
};

/* One walk to perform on both copies. */
struct pw_walk_req {
    uint64_t n; /* 0-based walk number, for messages */
    struct vlab_paging pg;
    uint64_t cr3, gva;
    unsigned access;
    bool epoch_end; /* the last walk before the tables are restored and damaged anew */
};

/* Builds the world; VLAB_OK or an error (out of memory, or core's builder failed). */
int pw_world_init(struct pw_world *w, const struct pw_profile *p, uint64_t seed);
void pw_world_destroy(struct pw_world *w);
void pw_world_next(struct pw_world *w, struct pw_walk_req *req);
/* First guest-physical address where the two copies of RAM differ; false if none. */
bool pw_world_first_diff(const struct pw_world *w, uint64_t *gpa);
/* The 8-byte entries at gpa in both copies; false if gpa is outside RAM. */
bool pw_world_entry(const struct pw_world *w, uint64_t gpa, uint64_t *student, uint64_t *oracle);

#endif
