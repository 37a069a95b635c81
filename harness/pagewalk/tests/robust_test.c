/* Robustness: page-table pointers that lead outside guest memory. The accessor refuses them
 * with VLAB_ERANGE and the walk must hand that back unchanged, touching nothing: for a VMM this
 * is a broken guest (or a bug), not a #PF to inject. */
#include "pw_test.h"

#include <stdlib.h>

#define RD  VLAB_ACC_READ
#define WR  VLAB_ACC_WRITE
#define RWU (X86_PTE_RW | X86_PTE_US)
#define VA  0x0000008080604000ull

/* Outside the guest's only RAM region [1 MiB, 2 MiB), and below every MAXPHYADDR. */
#define OUTSIDE 0x80000000ull

Test(pagewalk, robust_table_outside_memory, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA, 0x4400000ull, X86_PAGE_SIZE, RWU);
    uint8_t *snap = malloc(PW_ENV_RAM_SIZE);
    cr_assert(snap, "test setup: out of memory");
    for (int level = 4; level >= 2; level--) {
        uint64_t gpa = pw_env_slot(&e, VA, level), saved = pw_env_peek(&e, gpa);
        pw_env_poke(&e, gpa, (saved & ~X86_PTE_ADDR_MASK) | OUTSIDE);
        pw_env_snapshot(&e, snap);
        pw_expect_rc(&e, VA, WR, VLAB_ERANGE, PW_SEC_RANGE,
                     "the %s points to a table at %#llx, outside guest memory", pw_level_str(level),
                     OUTSIDE);
        pw_env_expect_unchanged(&e, snap, PW_SEC_RANGE,
                                "a walk that ran out of guest memory sets no A/D bit");
        pw_env_poke(&e, gpa, saved);
    }
    /* A leaf's frame may be anywhere: translating never touches the data page. */
    uint64_t pte = pw_env_slot(&e, VA, 1);
    pw_env_poke(&e, pte, (pw_env_peek(&e, pte) & ~X86_PTE_ADDR_MASK) | OUTSIDE);
    pw_expect_ok(&e, VA + 0x123, RD, OUTSIDE + 0x123, X86_PAGE_SIZE, PW_SEC_RANGE,
                 "a PTE whose frame is outside guest memory still translates");
    free(snap);
    pw_env_fini(&e);
}

Test(pagewalk, robust_cr3_outside_memory, .timeout = PW_TIMEOUT) {
    struct pw_env e;
    pw_env_init(&e);
    pw_env_map(&e, VA, 0x4400000ull, X86_PAGE_SIZE, RWU);
    uint64_t root = e.cr3;
    e.cr3 = OUTSIDE;
    pw_expect_rc(&e, VA, RD, VLAB_ERANGE, PW_SEC_RANGE,
                 "cr3 %#llx: the PML4 itself is outside guest memory", OUTSIDE);
    e.cr3 = 0;
    pw_expect_rc(&e, VA, RD, VLAB_ERANGE, PW_SEC_RANGE,
                 "cr3 0: the PML4 is at gpa 0, below guest memory");
    /* maxphyaddr 0 means 52: bit 51 of CR3 is an address bit, not one to drop */
    e.pg.maxphyaddr = 0;
    e.cr3 = root | 1ull << 51;
    pw_expect_rc(&e, VA, RD, VLAB_ERANGE, PW_SEC_RANGE,
                 "cr3 %#llx with maxphyaddr 0 (52 bits): the PML4 is at bit 51 and up, outside "
                 "guest memory",
                 (unsigned long long)e.cr3);
    pw_env_fini(&e);
}
