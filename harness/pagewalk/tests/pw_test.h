/* What the pagewalk tests share: a hand-built guest (struct pw_env) with expectation helpers
 * whose failure messages say what was expected, what came and where the handout explains it,
 * and the differential runner that replays seeded random walks against the oracle. */
#ifndef VLAB_PW_TEST_H
#define VLAB_PW_TEST_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>

#include "budget.h"
#include "pagewalk.h"
#include "pw_fmt.h"
#include "pw_machine.h"
#include "pw_world.h"
#include "vlab/gpmem.h"
#include "vlab/pt.h"

/* Far above the grader's per-test limit: only stops a hung direct run of the binary. */
#define PW_TIMEOUT 30.0

/* Handout sections, quoted in every failure message. */
#define PW_SEC_CANON "(handout §2.1 Canonical addresses)"
#define PW_SEC_WALK  "(handout §2.2 The walk)"
#define PW_SEC_LEAF  "(handout §2.3 Leaves and page sizes)"
#define PW_SEC_NP    "(handout §2.4 Not present: the #PF error code)"
#define PW_SEC_RANGE "(handout §2.5 Entries outside guest memory)"
#define PW_SEC_RSVD  "(handout §3 Reserved bits)"
#define PW_SEC_PERM  "(handout §4 Permissions)"
#define PW_SEC_AD    "(handout §5 Accessed and dirty bits)"
#define PW_SEC_DIFF  "(handout §6.1 Random tests)"
#define PW_SEC_REFS  "(handout §6.2 Memory references)"

/* A small guest: 1 MiB of RAM at 1 MiB holding the page tables; leaves map frames anywhere
 * (a translation never touches the data page). Long mode, CR0.WP=1, EFER.NXE=1, no SMEP. */
#define PW_ENV_RAM_GPA  UINT64_C(0x100000)
#define PW_ENV_RAM_SIZE UINT64_C(0x100000)

struct pw_env {
    struct vlab_gpmem mem;
    struct vlab_pt_builder b;
    struct pw_machine m;
    struct vlab_paging pg;
    uint64_t cr3;
    /* the last walk, for messages */
    uint64_t gva;
    unsigned access;
    int rc;
    struct pw_result res;
    struct vlab_walk before; /* the oracle's probe (no A/D) just before the walk */
    int before_rc;
};

void pw_env_init(struct pw_env *e);
void pw_env_fini(struct pw_env *e);
/* Maps gva -> gpa with a leaf of size and X86_PTE_* flags (P implied); new tables get
 * e->b.table_flags. */
void pw_env_map(struct pw_env *e, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t flags);
/* gpa of gva's entry at level (4..1). */
uint64_t pw_env_slot(struct pw_env *e, uint64_t gva, int level);
uint64_t pw_env_peek(struct pw_env *e, uint64_t gpa);
void pw_env_poke(struct pw_env *e, uint64_t gpa, uint64_t val);
/* Sets then clears bits in gva's entry at level. */
void pw_env_modify(struct pw_env *e, uint64_t gva, int level, uint64_t set, uint64_t clear);
/* Copies the RAM holding the tables (to check what a walk changed). */
void pw_env_snapshot(struct pw_env *e, uint8_t *buf);
/* Fails with the first entry that differs from the snapshot, if any. */
void pw_env_expect_unchanged(struct pw_env *e, const uint8_t *snap, const char *sec,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Runs the student's walk (counters reset first); fails the test if it is not implemented. */
int pw_env_walk(struct pw_env *e, uint64_t gva, unsigned access);
/* The last walk in words: address, access, mode, the entries on its path, the student's
 * memory references. */
const char *pw_env_context(struct pw_env *e, char *buf, size_t len);

/* Whether the last walk's outcome equals the oracle's probe of it; if not, *buf says
 * "expected ..., got ...". */
bool pw_env_matches_oracle(struct pw_env *e, char *buf, size_t len);

/* Walk and expect one outcome. scenario (printf format) describes the case in a few words. Each
 * first checks that the oracle agrees with the expectation (else the test itself is wrong). */
void pw_expect_ok(struct pw_env *e, uint64_t gva, unsigned access, uint64_t gpa, uint64_t size,
                  const char *sec, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void pw_expect_pf(struct pw_env *e, uint64_t gva, unsigned access, uint32_t pf_error, int level,
                  const char *sec, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void pw_expect_rc(struct pw_env *e, uint64_t gva, unsigned access, int rc, const char *sec,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Walk and expect exactly what the oracle does (result only, not memory). */
void pw_expect_oracle(struct pw_env *e, uint64_t gva, unsigned access, const char *sec,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The entry at gpa holds want (after a walk). */
void pw_expect_entry(struct pw_env *e, uint64_t gpa, uint64_t want, const char *sec,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- the differential runner ---- */
struct pw_diff_stats {
    uint64_t walks, ok, pf, noncanon, erange;
    struct vlab_budget reads, writes; /* student's count per walk, bounded by the oracle's */
    char worst_reads[2048], worst_writes[2048];
};
/* Replays nwalks seeded walks of profile p on the student's and the oracle's copy of the same
 * guest; fails the test at the first walk whose result, error code, fault level or page-table
 * memory differs, with everything needed to reproduce it. */
void pw_diff_run(const char *test, const struct pw_profile *p, uint64_t seed, uint64_t nwalks,
                 struct pw_diff_stats *st);

#endif
