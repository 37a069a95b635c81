/* What the shadow tests share: a hand-built guest (struct sh_env) for the directed tests, and
 * the differential runner that drives the seeded guest kernel (sh_os) against the ideal MMU. */
#ifndef VLAB_SH_TEST_H
#define VLAB_SH_TEST_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

#include "budget.h"
#include "sh_machine.h"
#include "sh_os.h"
#include "shadow.h"

/* Far above the grader's per-test limit: only stops a hung direct run of the binary. */
#define SH_TIMEOUT 30.0

/* Handout sections, quoted in every failure message. */
#define SH_SEC_P2M    "(handout §1.2 Two translations, one MMU)"
#define SH_SEC_FAULT  "(handout §2.2 Hidden and true faults)"
#define SH_SEC_FILL   "(handout §2.3 Filling the shadow)"
#define SH_SEC_INVL   "(handout §2.4 INVLPG and the hardware TLB)"
#define SH_SEC_CACHE  "(handout §2.5 A shadow per CR3)"
#define SH_SEC_BOUND  "(handout §2.6 Bounded shadow memory)"
#define SH_SEC_WP     "(handout §3.1 Write-protecting guest page tables)"
#define SH_SEC_EMUL   "(handout §3.2 Emulating the trapped write)"
#define SH_SEC_AD     "(handout §4 Accessed and dirty bits)"
#define SH_SEC_2D     "(handout §5.1 The 2-D walk)"
#define SH_SEC_NFAULT "(handout §5.3 Lazy nested faults)"
#define SH_SEC_DIFF   "(handout §6.1 The differential oracle)"
#define SH_SEC_BUDGET "(handout §6.2 Budgets)"

/* A tiny guest built by hand (physical writes, before the VMM sees it): an address space whose
 * kernel half is a direct map of the env's own frames (so the kernel can write its page tables
 * through the MMU), plus user pages the test maps. */
#define SH_ENV_FIRST  0x10000ull /* the env's frames (tables included), all in the direct map */
#define SH_ENV_FRAMES 128u
#define SH_DATA(i)    (0x80000000ull + ((uint64_t)(i) << 12)) /* data frames, not direct-mapped */
#define SH_DATA0(i)   (0x200000ull + ((uint64_t)(i) << 12))   /* data frames in the scattered RAM */

struct sh_env {
    struct sh_vm *vm;
    uint64_t pml4;     /* the guest CR3 */
    uint64_t next_gpa; /* bump allocator for the guest's frames */
};

/* Creates the machine in mode (quota 0: default), skipping nothing: a VMM that is not
 * implemented fails the test with its message. */
void sh_env_init(struct sh_env *e, enum sh_mode mode, unsigned quota);
/* The same, with out-of-sync leaf shadows allowed or not (Part 4). */
void sh_env_init_oos(struct sh_env *e, enum sh_mode mode, unsigned quota, bool oos);
/* The same, for any machine configuration (seed 7 is the other tests'). */
void sh_env_init_config(struct sh_env *e, const struct sh_vm_config *cfg);
void sh_env_fini(struct sh_env *e);
/* A zeroed guest frame. */
uint64_t sh_env_frame(struct sh_env *e);
/* A new guest PML4 (another address space) sharing the kernel half (the direct map). */
uint64_t sh_env_new_space(struct sh_env *e);
/* Maps gva -> gpa in the space rooted at pml4, writing the tables physically (allowed only
 * before the VMM shadows them: tests use sh_env_write_pte afterwards). flags: X86_PTE_*;
 * upper levels get P|RW|US. Returns the gpa of the PTE. */
uint64_t sh_env_map(struct sh_env *e, uint64_t pml4, uint64_t gva, uint64_t gpa, uint64_t flags);
/* Maps the direct map of frame gpa at SH_KBASE + gpa (supervisor, RW, NX) in pml4. */
void sh_env_map_direct(struct sh_env *e, uint64_t pml4, uint64_t gpa);
uint64_t sh_env_peek(struct sh_env *e, uint64_t gpa);

void sh_env_set_cr3(struct sh_env *e, uint64_t cr3);
/* A guest access; fails the test if the VMM failed (not a guest fault). */
struct sh_outcome sh_env_access(struct sh_env *e, uint64_t gva, unsigned access, uint64_t value);
void sh_env_invlpg(struct sh_env *e, uint64_t gva);
/* A kernel write of a page-table entry through the direct map (which must be mapped). */
void sh_env_write_pte(struct sh_env *e, uint64_t pte_gpa, uint64_t val);

/* Expect success at the machine address of gpa, or a fault with error/cr2. */
void sh_expect_ok(struct sh_env *e, uint64_t gva, unsigned access, uint64_t gpa, const char *sec,
                  const char *what);
void sh_expect_pf(struct sh_env *e, uint64_t gva, unsigned access, uint32_t error, const char *sec,
                  const char *what);

/* ---- the differential runner ---- */
struct sh_run {
    struct sh_counters c; /* the machine's counters at the end */
    struct sh_os os;      /* the kernel's own counts (n_fork, n_cow, ...) */
};
/* Runs ops operations of profile p with seed on a machine in mode (quota 0: default) against
 * the ideal MMU; fails the test at the first difference with a trace. */
void sh_diff_run(const char *test, const struct sh_profile *p, enum sh_mode mode, uint64_t seed,
                 uint64_t ops, unsigned quota, struct sh_run *out);
void sh_diff_run_config(const char *test, const struct sh_profile *p,
                        const struct sh_vm_config *cfg, uint64_t ops, struct sh_run *out);

#endif
