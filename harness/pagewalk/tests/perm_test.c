/* Task 3: permissions. The rights are combined over every level the walk used; a denied access
 * is a #PF with P set, reported at the leaf's level. */
#include "pw_test.h"

#include <stdio.h>

#define RD  VLAB_ACC_READ
#define WR  VLAB_ACC_WRITE
#define EX  VLAB_ACC_FETCH
#define USR VLAB_ACC_USER
#define RWU (X86_PTE_RW | X86_PTE_US)
#define P   X86_PF_P
#define W   X86_PF_W
#define U   X86_PF_U
#define I   X86_PF_I

#define VA 0x0000008080604000ull
#define PA 0x6600000ull

static void setup(struct pw_env *e, uint64_t leaf_flags) {
    pw_env_init(e);
    pw_env_map(e, VA, PA, X86_PAGE_SIZE, leaf_flags);
}

Test(pagewalk, perm_user_supervisor_page, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e, X86_PTE_RW); /* U/S=0: a supervisor page */
    pw_expect_pf(&e, VA, RD | USR, P | U, 1, PW_SEC_PERM, "user read of a supervisor page");
    pw_expect_pf(&e, VA, WR | USR, P | W | U, 1, PW_SEC_PERM, "user write to a supervisor page");
    pw_expect_ok(&e, VA, RD, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "supervisor read of a supervisor page");
    pw_expect_ok(&e, VA, WR, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "supervisor write to a writable supervisor page");
    pw_env_modify(&e, VA, 1, X86_PTE_US, 0);
    pw_expect_ok(&e, VA, RD | USR, PA, X86_PAGE_SIZE, PW_SEC_PERM, "user read of a user page");
    pw_env_fini(&e);
}

Test(pagewalk, perm_user_write_readonly, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e, X86_PTE_US); /* R/W=0 */
    pw_expect_pf(&e, VA, WR | USR, P | W | U, 1, PW_SEC_PERM, "user write to a read-only page");
    e.pg.cr0 &= ~X86_CR0_WP;
    pw_expect_pf(&e, VA, WR | USR, P | W | U, 1, PW_SEC_PERM,
                 "user write to a read-only page with CR0.WP=0 (WP only affects supervisor)");
    pw_expect_ok(&e, VA + 0x42, RD | USR, PA + 0x42, X86_PAGE_SIZE, PW_SEC_PERM,
                 "user read of a read-only page");
    pw_env_fini(&e);
}

Test(pagewalk, perm_supervisor_write_wp, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e, 0); /* R/W=0, U/S=0 */
    pw_expect_pf(&e, VA, WR, P | W, 1, PW_SEC_PERM,
                 "supervisor write to a read-only page with CR0.WP=1");
    e.pg.cr0 &= ~X86_CR0_WP;
    pw_expect_ok(&e, VA, WR, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "supervisor write to a read-only page with CR0.WP=0");
    /* The same for a user page (without SMAP, which vlab does not model). */
    pw_env_modify(&e, VA, 1, X86_PTE_US, 0);
    pw_expect_ok(&e, VA, WR, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "supervisor write to a read-only user page with CR0.WP=0");
    e.pg.cr0 |= X86_CR0_WP;
    pw_expect_pf(&e, VA, WR, P | W, 1, PW_SEC_PERM,
                 "supervisor write to a read-only user page with CR0.WP=1");
    pw_env_fini(&e);
}

Test(pagewalk, perm_upper_level_restricts, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e, RWU);
    /* Each restriction sits above the leaf, yet the fault is reported at the leaf's level: the
     * CPU judges the rights combined over the whole walk once it reaches the leaf. */
    pw_env_modify(&e, VA, 4, 0, X86_PTE_RW);
    pw_expect_pf(&e, VA, WR | USR, P | W | U, 1, PW_SEC_PERM,
                 "user write, R/W=0 only in the PML4E");
    pw_env_modify(&e, VA, 4, X86_PTE_RW, 0);
    pw_env_modify(&e, VA, 2, 0, X86_PTE_US);
    pw_expect_pf(&e, VA, RD | USR, P | U, 1, PW_SEC_PERM, "user read, U/S=0 only in the PDE");
    pw_env_modify(&e, VA, 2, X86_PTE_US, 0);
    pw_env_modify(&e, VA, 3, X86_PTE_NX, 0);
    pw_expect_pf(&e, VA, EX, P | I, 1, PW_SEC_PERM, "supervisor fetch, XD=1 only in the PDPTE");
    pw_env_modify(&e, VA, 3, 0, X86_PTE_NX);
    pw_expect_ok(&e, VA, WR | USR, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "user write once every level allows it again");
    /* A 2 MiB leaf: the fault is reported at level 2. */
    const uint64_t va2m = (VA & ~(X86_PAGE_2M - 1)) + X86_PAGE_1G;
    pw_env_map(&e, va2m, 0x40000000ull, X86_PAGE_2M, X86_PTE_US);
    pw_env_modify(&e, va2m, 3, 0, X86_PTE_RW);
    pw_expect_pf(&e, va2m + 0x1234, WR | USR, P | W | U, 2, PW_SEC_PERM,
                 "user write to a read-only 2 MiB page (R/W=0 in the PDPTE and the PDE)");
    pw_env_fini(&e);
}

Test(pagewalk, perm_nx_fetch, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e, RWU | X86_PTE_NX);
    pw_expect_pf(&e, VA, EX, P | I, 1, PW_SEC_PERM, "supervisor fetch from an XD page");
    pw_expect_pf(&e, VA, EX | USR, P | U | I, 1, PW_SEC_PERM, "user fetch from an XD page");
    pw_expect_ok(&e, VA, RD | USR, PA, X86_PAGE_SIZE, PW_SEC_PERM, "user read of an XD page");
    pw_expect_ok(&e, VA, WR, PA, X86_PAGE_SIZE, PW_SEC_PERM, "supervisor write to an XD page");
    pw_env_modify(&e, VA, 1, 0, X86_PTE_NX);
    pw_expect_ok(&e, VA, EX | USR, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "user fetch once XD is clear everywhere");
    pw_env_fini(&e);
}

Test(pagewalk, perm_smep, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e, RWU); /* a user page: U/S=1 at every level */
    e.pg.cr4 |= X86_CR4_SMEP;
    pw_expect_pf(&e, VA, EX, P | I, 1, PW_SEC_PERM,
                 "supervisor fetch from a user page with CR4.SMEP=1");
    pw_expect_ok(&e, VA, RD, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "supervisor read of a user page with CR4.SMEP=1 (SMEP is about fetches)");
    pw_expect_ok(&e, VA, EX | USR, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "user fetch from a user page with CR4.SMEP=1");
    e.pg.efer &= ~X86_EFER_NXE;
    pw_expect_pf(&e, VA, EX, P | I, 1, PW_SEC_PERM,
                 "supervisor fetch from a user page with CR4.SMEP=1 and EFER.NXE=0");
    /* U/S=0 at any level makes it a supervisor page, which SMEP does not restrict. */
    pw_env_modify(&e, VA, 3, 0, X86_PTE_US);
    pw_expect_ok(&e, VA, EX, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "supervisor fetch with CR4.SMEP=1 from a page with U/S=0 in its PDPTE");
    pw_env_modify(&e, VA, 3, X86_PTE_US, 0);
    e.pg.cr4 &= ~X86_CR4_SMEP;
    pw_expect_ok(&e, VA, EX, PA, X86_PAGE_SIZE, PW_SEC_PERM,
                 "supervisor fetch from a user page with CR4.SMEP=0");
    pw_env_fini(&e);
}

Test(pagewalk, perm_error_code_i_bit, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    setup(&e, X86_PTE_RW); /* a supervisor page */
    e.pg.efer &= ~X86_EFER_NXE;
    pw_expect_pf(&e, VA, EX | USR, P | U, 1, PW_SEC_PERM,
                 "user fetch from a supervisor page, EFER.NXE=0 and CR4.SMEP=0: no I bit");
    e.pg.efer |= X86_EFER_NXE;
    pw_expect_pf(&e, VA, EX | USR, P | U | I, 1, PW_SEC_PERM,
                 "user fetch from a supervisor page with EFER.NXE=1: I is set");
    e.pg.efer &= ~X86_EFER_NXE;
    e.pg.cr4 |= X86_CR4_SMEP;
    pw_expect_pf(&e, VA, EX | USR, P | U | I, 1, PW_SEC_PERM,
                 "user fetch from a supervisor page with CR4.SMEP=1: I is set");
    pw_expect_pf(&e, VA, WR | USR, P | W | U, 1, PW_SEC_PERM,
                 "user write to a supervisor page: a write never has I");
    pw_env_fini(&e);
}

/* Every combination of R/W, U/S and XD at every level of a leaf of this size, under every
 * combination of CR0.WP, EFER.NXE and CR4.SMEP, for all six accesses, against the oracle. */
static void exhaustive(uint64_t size) {
    struct pw_env e;
    pw_env_init(&e);
    const int levels = size == X86_PAGE_SIZE ? 4 : size == X86_PAGE_2M ? 3 : 2;
    const uint64_t va = VA & ~(size - 1);
    pw_env_map(&e, va, X86_PAGE_1G, size, 0);
    uint64_t slot[4], base[4];
    const uint64_t rights = X86_PTE_RW | X86_PTE_US | X86_PTE_NX;
    for (int l = 0; l < levels; l++) {
        slot[l] = pw_env_slot(&e, va, 4 - l);
        base[l] = pw_env_peek(&e, slot[l]) & ~rights;
    }
    static const unsigned accesses[] = {RD, WR, EX, RD | USR, WR | USR, EX | USR};
    uint64_t walks = 0, wrong = 0;
    char first[4096] = "";
    for (unsigned combo = 0; combo < 1u << (3 * levels); combo++) {
        char rights_str[160] = "";
        size_t used = 0;
        for (int l = 0; l < levels; l++) {
            unsigned b = combo >> (3 * l) & 7;
            uint64_t v = base[l] | (b & 1 ? X86_PTE_RW : 0) | (b & 2 ? X86_PTE_US : 0) |
                         (b & 4 ? X86_PTE_NX : 0);
            pw_env_poke(&e, slot[l], v);
            static const char *const name[] = {"PML4E", "PDPTE", "PDE", "PTE"};
            const char *nm =
                l == levels - 1 && levels < 4 ? (levels == 3 ? "PDE" : "PDPTE") : name[l];
            used += (size_t)snprintf(rights_str + used, sizeof rights_str - used,
                                     "%s%s R/W=%u U/S=%u XD=%u", l ? ", " : "", nm, b & 1,
                                     b >> 1 & 1, b >> 2 & 1);
        }
        for (unsigned mode = 0; mode < 8; mode++) {
            e.pg = vlab_paging_long_mode();
            if (!(mode & 1)) e.pg.cr0 &= ~X86_CR0_WP;
            if (!(mode & 2)) e.pg.efer &= ~X86_EFER_NXE;
            if (mode & 4) e.pg.cr4 |= X86_CR4_SMEP;
            for (unsigned a = 0; a < 6; a++) {
                pw_env_walk(&e, va + 0x88, accesses[a]);
                walks++;
                char verdict[400];
                if (pw_env_matches_oracle(&e, verdict, sizeof verdict)) continue;
                if (wrong++ == 0) {
                    char ctx[2048];
                    snprintf(first, sizeof first, "%s, %s: %s\n%s", rights_str,
                             pw_access_str(accesses[a]), verdict,
                             pw_env_context(&e, ctx, sizeof ctx));
                }
            }
        }
    }
    char sz[32];
    cr_assert_eq(wrong, 0,
                 "%lu of %lu walks of a %s page (all R/W, U/S, XD combinations x CR0.WP, "
                 "EFER.NXE, CR4.SMEP x 6 accesses) disagree with the oracle %s. The first: %s",
                 (unsigned long)wrong, (unsigned long)walks, pw_size_str(size, sz, sizeof sz),
                 PW_SEC_PERM, first);
    pw_env_fini(&e);
}

Test(pagewalk, perm_exhaustive_4k, .timeout = PW_TIMEOUT) {
    exhaustive(X86_PAGE_SIZE);
}

Test(pagewalk, perm_exhaustive_large, .timeout = PW_TIMEOUT) {
    exhaustive(X86_PAGE_2M);
    exhaustive(X86_PAGE_1G);
}
