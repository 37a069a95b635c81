#include "pw_test.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define NOT_IMPLEMENTED                                                                            \
    "pw_translate is not implemented yet (labs/pagewalk/pagewalk.c): it returned VLAB_ENOTIMPL. "  \
    "Start with Task 1 (handout §2 The walk)"

/* ---- hand-built guests ---- */

void pw_env_init(struct pw_env *e) {
    memset(e, 0, sizeof *e);
    vlab_gpmem_init(&e->mem);
    int rc = vlab_gpmem_add_ram(&e->mem, PW_ENV_RAM_GPA, PW_ENV_RAM_SIZE, "tables");
    cr_assert_eq(rc, VLAB_OK, "test setup: vlab_gpmem_add_ram failed: %s", vlab_strerror(rc));
    rc = vlab_pt_builder_init(&e->b, &e->mem, PW_ENV_RAM_GPA, PW_ENV_RAM_GPA + PW_ENV_RAM_SIZE);
    cr_assert_eq(rc, VLAB_OK, "test setup: vlab_pt_builder_init failed: %s", vlab_strerror(rc));
    rc = vlab_pt_new_root(&e->b, &e->cr3);
    cr_assert_eq(rc, VLAB_OK, "test setup: vlab_pt_new_root failed: %s", vlab_strerror(rc));
    pw_machine_init(&e->m, &e->mem);
    e->pg = vlab_paging_long_mode();
}

void pw_env_fini(struct pw_env *e) {
    vlab_gpmem_destroy(&e->mem);
}

void pw_env_map(struct pw_env *e, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t flags) {
    int rc = vlab_pt_map(&e->b, e->cr3, gva, gpa, size, flags);
    cr_assert_eq(rc, VLAB_OK, "test setup: vlab_pt_map(%#" PRIx64 " -> %#" PRIx64 ") failed: %s",
                 gva, gpa, vlab_strerror(rc));
}

uint64_t pw_env_slot(struct pw_env *e, uint64_t gva, int level) {
    uint64_t gpa = 0;
    int rc = vlab_pt_entry_gpa(&e->mem, e->cr3, gva, level, &gpa);
    cr_assert_eq(rc, VLAB_OK, "test setup: no level-%d entry for %#" PRIx64 ": %s", level, gva,
                 vlab_strerror(rc));
    return gpa;
}

uint64_t pw_env_peek(struct pw_env *e, uint64_t gpa) {
    uint64_t v = 0;
    int rc = vlab_gpmem_read_u64(&e->mem, gpa, &v);
    cr_assert_eq(rc, VLAB_OK, "test setup: read of %#" PRIx64 " failed", gpa);
    return v;
}

void pw_env_poke(struct pw_env *e, uint64_t gpa, uint64_t val) {
    int rc = vlab_gpmem_write_u64(&e->mem, gpa, val);
    cr_assert_eq(rc, VLAB_OK, "test setup: write of %#" PRIx64 " failed", gpa);
}

void pw_env_modify(struct pw_env *e, uint64_t gva, int level, uint64_t set, uint64_t clear) {
    uint64_t gpa = pw_env_slot(e, gva, level);
    pw_env_poke(e, gpa, (pw_env_peek(e, gpa) | set) & ~clear);
}

void pw_env_snapshot(struct pw_env *e, uint8_t *buf) {
    memcpy(buf, vlab_gpmem_hva(&e->mem, PW_ENV_RAM_GPA, PW_ENV_RAM_SIZE), PW_ENV_RAM_SIZE);
}

void pw_env_expect_unchanged(struct pw_env *e, const uint8_t *snap, const char *sec,
                             const char *fmt, ...) {
    const uint8_t *now = vlab_gpmem_hva(&e->mem, PW_ENV_RAM_GPA, PW_ENV_RAM_SIZE);
    if (memcmp(now, snap, PW_ENV_RAM_SIZE) == 0) return;
    uint64_t off = 0;
    while (off < PW_ENV_RAM_SIZE && memcmp(now + off, snap + off, 8) == 0)
        off += 8;
    uint64_t was, is;
    memcpy(&was, snap + off, 8);
    memcpy(&is, now + off, 8);
    char what[256], ctx[2048], b1[96], b2[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cr_assert_fail("%s: expected guest memory unchanged, but the entry at gpa %#" PRIx64
                   " went from %s to %s %s\n%s",
                   what, PW_ENV_RAM_GPA + off, vlab_pte_str(was, b1, sizeof b1),
                   vlab_pte_str(is, b2, sizeof b2), sec, pw_env_context(e, ctx, sizeof ctx));
}

int pw_env_walk(struct pw_env *e, uint64_t gva, unsigned access) {
    e->gva = gva;
    e->access = access;
    e->before_rc = vlab_pt_walk(&e->mem, &e->pg, e->cr3, gva, access, 0, &e->before);
    pw_machine_reset(&e->m);
    memset(&e->res, 0, sizeof e->res);
    e->rc = pw_translate(&e->m, &e->pg, e->cr3, gva, access, &e->res);
    if (e->rc == VLAB_ENOTIMPL) cr_assert_fail(NOT_IMPLEMENTED);
    return e->rc;
}

const char *pw_env_context(struct pw_env *e, char *buf, size_t len) {
    char mode[96], path[1024], trace[1024];
    snprintf(buf, len,
             "  the walk: gva %#" PRIx64 ", %s, %s, cr3 %#" PRIx64 "\n"
             "  entries on its path before the walk:\n%s\n"
             "  your memory references: %s",
             e->gva, pw_access_str(e->access), pw_mode_str(&e->pg, mode, sizeof mode), e->cr3,
             e->before.levels ? pw_path_str(e->before.levels, e->before.entry_gpa, e->before.entry,
                                            "    ", path, sizeof path)
                              : "    (none: the walk reads no entry)",
             pw_machine_trace_str(&e->m, trace, sizeof trace));
    return buf;
}

static bool same_outcome(int rc1, const struct pw_result *a, int rc2, const struct pw_result *b) {
    if (rc1 != rc2) return false;
    if (rc1 == VLAB_OK) return a->gpa == b->gpa && a->page_size == b->page_size;
    if (rc1 == VLAB_EPF) return a->pf_error == b->pf_error && a->fault_level == b->fault_level;
    return true;
}

static struct pw_result from_walk(const struct vlab_walk *w) {
    return (struct pw_result){.gpa = w->gpa,
                              .page_size = w->page_size,
                              .pf_error = w->pf_error,
                              .fault_level = w->fault_level};
}

bool pw_env_matches_oracle(struct pw_env *e, char *buf, size_t len) {
    struct pw_result oracle = from_walk(&e->before);
    if (same_outcome(e->before_rc, &oracle, e->rc, &e->res)) return true;
    char exp[160], got[160];
    snprintf(buf, len, "expected %s, got %s",
             pw_outcome_str(e->before_rc, &oracle, exp, sizeof exp),
             pw_outcome_str(e->rc, &e->res, got, sizeof got));
    return false;
}

/* The walk, the check of the test's own expectation against the oracle, and the verdict. */
static void expect(struct pw_env *e, uint64_t gva, unsigned access, int want_rc,
                   const struct pw_result *want, const char *sec, const char *fmt, va_list ap) {
    char what[256], exp[160], got[160], ctx[2048];
    vsnprintf(what, sizeof what, fmt, ap);
    pw_env_walk(e, gva, access);
    struct pw_result oracle = from_walk(&e->before);
    if (!same_outcome(want_rc, want, e->before_rc, &oracle))
        cr_assert_fail("internal error in the test, not in your code (please report it): %s: the "
                       "test expects %s but the oracle vlab_pt_walk gives %s\n%s",
                       what, pw_outcome_str(want_rc, want, exp, sizeof exp),
                       pw_outcome_str(e->before_rc, &oracle, got, sizeof got),
                       pw_env_context(e, ctx, sizeof ctx));
    if (!same_outcome(want_rc, want, e->rc, &e->res))
        cr_assert_fail("%s: expected %s, got %s %s\n%s", what,
                       pw_outcome_str(want_rc, want, exp, sizeof exp),
                       pw_outcome_str(e->rc, &e->res, got, sizeof got), sec,
                       pw_env_context(e, ctx, sizeof ctx));
}

void pw_expect_ok(struct pw_env *e, uint64_t gva, unsigned access, uint64_t gpa, uint64_t size,
                  const char *sec, const char *fmt, ...) {
    struct pw_result want = {.gpa = gpa, .page_size = size};
    va_list ap;
    va_start(ap, fmt);
    expect(e, gva, access, VLAB_OK, &want, sec, fmt, ap);
    va_end(ap);
}

void pw_expect_pf(struct pw_env *e, uint64_t gva, unsigned access, uint32_t pf_error, int level,
                  const char *sec, const char *fmt, ...) {
    struct pw_result want = {.pf_error = pf_error, .fault_level = level};
    va_list ap;
    va_start(ap, fmt);
    expect(e, gva, access, VLAB_EPF, &want, sec, fmt, ap);
    va_end(ap);
}

void pw_expect_rc(struct pw_env *e, uint64_t gva, unsigned access, int rc, const char *sec,
                  const char *fmt, ...) {
    struct pw_result want = {0};
    va_list ap;
    va_start(ap, fmt);
    expect(e, gva, access, rc, &want, sec, fmt, ap);
    va_end(ap);
}

void pw_expect_oracle(struct pw_env *e, uint64_t gva, unsigned access, const char *sec,
                      const char *fmt, ...) {
    struct vlab_walk w;
    int rc = vlab_pt_walk(&e->mem, &e->pg, e->cr3, gva, access, 0, &w);
    struct pw_result want = from_walk(&w);
    va_list ap;
    va_start(ap, fmt);
    expect(e, gva, access, rc, &want, sec, fmt, ap);
    va_end(ap);
}

void pw_expect_entry(struct pw_env *e, uint64_t gpa, uint64_t want, const char *sec,
                     const char *fmt, ...) {
    uint64_t got = pw_env_peek(e, gpa);
    if (got == want) return;
    char what[256], b1[96], b2[96], ctx[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cr_assert_fail("%s: expected the entry at gpa %#" PRIx64 " to be %s after the walk, got %s "
                   "%s\n%s",
                   what, gpa, vlab_pte_str(want, b1, sizeof b1), vlab_pte_str(got, b2, sizeof b2),
                   sec, pw_env_context(e, ctx, sizeof ctx));
}

/* ---- the differential runner ---- */

/* The handout section that explains a disagreement, judged from what the oracle did. */
static const char *diff_section(int orc, const struct vlab_walk *ow, int rc,
                                const struct pw_result *r, bool memory) {
    if (orc == VLAB_ENONCANON || rc == VLAB_ENONCANON) return PW_SEC_CANON;
    if (orc == VLAB_ERANGE || rc == VLAB_ERANGE) return PW_SEC_RANGE;
    if (memory) return PW_SEC_AD; /* the results agreed; only A/D can differ */
    bool orsvd = orc == VLAB_EPF && (ow->pf_error & X86_PF_RSVD);
    bool rsvd = rc == VLAB_EPF && (r->pf_error & X86_PF_RSVD);
    if (orsvd || rsvd) return PW_SEC_RSVD;
    bool oprot = orc == VLAB_EPF && (ow->pf_error & X86_PF_P);
    bool prot = rc == VLAB_EPF && (r->pf_error & X86_PF_P);
    if (oprot || prot) return PW_SEC_PERM;
    if (orc == VLAB_EPF || rc == VLAB_EPF) return PW_SEC_NP;
    if (orc == VLAB_OK && rc == VLAB_OK) return PW_SEC_LEAF;
    return PW_SEC_WALK;
}

/* Everything about one walk a student needs to replay it by hand. */
static const char *describe_walk(const char *test, const struct pw_profile *p, uint64_t seed,
                                 const struct pw_walk_req *q, int orc, const struct vlab_walk *ow,
                                 const struct pw_machine *m, char *buf, size_t len) {
    char mode[96], path[1024], trace[1024];
    snprintf(buf, len,
             "  replay: test %s, profile \"%s\", seed %" PRIu64 ", walk #%" PRIu64 "\n"
             "  the walk: gva %#" PRIx64 ", %s, %s, cr3 %#" PRIx64 "\n"
             "  entries on its path (as the oracle read them, before any A/D update):\n%s\n"
             "  your memory references: %s",
             test, p->name, seed, q->n, q->gva, pw_access_str(q->access),
             pw_mode_str(&q->pg, mode, sizeof mode), q->cr3,
             ow->levels
                 ? pw_path_str(ow->levels, ow->entry_gpa, ow->entry, "    ", path, sizeof path)
                 : (orc == VLAB_ERANGE ? "    (the first entry lies outside guest memory)"
                                       : "    (none: no entry is read)"),
             pw_machine_trace_str(m, trace, sizeof trace));
    return buf;
}

/* Compares the two copies where either walk may have written; false and *gpa on a difference.
 * The student can only write through pw_write_entry (traced) and the oracle only to the entries
 * it read, so this equals a full comparison while the trace is complete. */
static bool memory_equal(const struct pw_world *w, const struct pw_machine *m,
                         const struct vlab_walk *ow, uint64_t *gpa) {
    if (!pw_machine_trace_complete(m)) return !pw_world_first_diff(w, gpa);
    uint64_t s, o;
    for (int i = 0; i < ow->levels; i++) {
        if (pw_world_entry(w, ow->entry_gpa[i], &s, &o) && s != o) {
            *gpa = ow->entry_gpa[i];
            return false;
        }
    }
    for (unsigned i = 0; i < m->nrefs; i++) {
        if (!m->ref[i].write || m->ref[i].rc != VLAB_OK) continue;
        if (pw_world_entry(w, m->ref[i].gpa, &s, &o) && s != o) {
            *gpa = m->ref[i].gpa & ~7ull;
            return false;
        }
    }
    return true;
}

void pw_diff_run(const char *test, const struct pw_profile *p, uint64_t seed, uint64_t nwalks,
                 struct pw_diff_stats *st) {
    static struct pw_world w; /* big; one per test process */
    memset(st, 0, sizeof *st);
    vlab_budget_init(&st->reads, "entry reads per walk");
    vlab_budget_init(&st->writes, "entry write-backs per walk");
    int rc = pw_world_init(&w, p, seed);
    cr_assert_eq(rc, VLAB_OK, "test setup: building the random guest failed: %s",
                 vlab_strerror(rc));
    struct pw_machine m;
    pw_machine_init(&m, &w.mem[PW_STUDENT]);
    char desc[4096], exp[160], got[160];

    for (uint64_t i = 0; i < nwalks; i++) {
        struct pw_walk_req q;
        pw_world_next(&w, &q);
        struct vlab_walk ow;
        int orc =
            vlab_pt_walk(&w.mem[PW_ORACLE], &q.pg, q.cr3, q.gva, q.access, VLAB_WALK_SET_AD, &ow);
        struct pw_result r;
        memset(&r, 0, sizeof r);
        pw_machine_reset(&m);
        rc = pw_translate(&m, &q.pg, q.cr3, q.gva, q.access, &r);
        if (rc == VLAB_ENOTIMPL) cr_assert_fail(NOT_IMPLEMENTED);

        struct pw_result want = from_walk(&ow);
        if (!same_outcome(orc, &want, rc, &r))
            cr_assert_fail("%s: walk #%" PRIu64 " disagrees with the oracle: expected %s, got %s "
                           "%s\n%s",
                           test, q.n, pw_outcome_str(orc, &want, exp, sizeof exp),
                           pw_outcome_str(rc, &r, got, sizeof got),
                           diff_section(orc, &ow, rc, &r, false),
                           describe_walk(test, p, seed, &q, orc, &ow, &m, desc, sizeof desc));
        uint64_t at = 0;
        bool equal = memory_equal(&w, &m, &ow, &at);
        if (equal && q.epoch_end) equal = !pw_world_first_diff(&w, &at);
        if (!equal) {
            uint64_t s = 0, o = 0;
            char b1[96], b2[96];
            pw_world_entry(&w, at, &s, &o);
            cr_assert_fail("%s: after walk #%" PRIu64 " (%s) the page tables differ from the "
                           "oracle's: the entry at gpa %#" PRIx64 " should be %s, yours is %s "
                           "%s\n%s",
                           test, q.n, pw_outcome_str(orc, &want, exp, sizeof exp), at,
                           vlab_pte_str(o, b1, sizeof b1), vlab_pte_str(s, b2, sizeof b2),
                           diff_section(orc, &ow, rc, &r, true),
                           describe_walk(test, p, seed, &q, orc, &ow, &m, desc, sizeof desc));
        }

        st->walks++;
        st->ok += orc == VLAB_OK;
        st->pf += orc == VLAB_EPF;
        st->noncanon += orc == VLAB_ENONCANON;
        st->erange += orc == VLAB_ERANGE;
        if (vlab_budget_add(&st->reads, m.reads, ow.mem_reads))
            describe_walk(test, p, seed, &q, orc, &ow, &m, st->worst_reads, sizeof st->worst_reads);
        if (vlab_budget_add(&st->writes, m.writes, ow.mem_writes))
            describe_walk(test, p, seed, &q, orc, &ow, &m, st->worst_writes,
                          sizeof st->worst_writes);
    }
    uint64_t at;
    cr_assert(!pw_world_first_diff(&w, &at),
              "%s: after all %" PRIu64 " walks the page tables differ from the oracle's at gpa "
              "%#" PRIx64 " %s",
              test, nwalks, at, PW_SEC_AD);
    pw_world_destroy(&w);
}
