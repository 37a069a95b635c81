/* Task 4 (§2.5, §2.6): shadows survive CR3 switches (a cache per guest CR3), within a bound on
 * shadow memory that the VMM enforces by reclaiming. */
#include "sh_test.h"

#include <inttypes.h>

#define UR  VLAB_ACC_USER
#define UW  (VLAB_ACC_USER | VLAB_ACC_WRITE)
#define URW (X86_PTE_P | X86_PTE_RW | X86_PTE_US)

/* Space s maps 16 pages at its own place in the address space, to its own frames. */
static uint64_t va_of(unsigned s, unsigned i) {
    return 0x0000001000000000ull * (s + 1) + 0x5000ull * i;
}
static uint64_t gpa_of(unsigned s, unsigned i) {
    return SH_DATA(64 * s + i);
}

static void touch(struct sh_env *e, unsigned s, unsigned pages, const char *what) {
    for (unsigned i = 0; i < pages; i++)
        sh_expect_ok(e, va_of(s, i) + 8 * s, (i & 1) ? UW : UR, gpa_of(s, i) + 8 * s, SH_SEC_CACHE,
                     what);
}

Test(shadow, cache_pingpong_no_hidden_faults, .timeout = SH_TIMEOUT) {
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, 0);
    uint64_t cr3[2] = {e.pml4, sh_env_new_space(&e)};
    for (unsigned s = 0; s < 2; s++)
        for (unsigned i = 0; i < 16; i++)
            sh_env_map(&e, cr3[s], va_of(s, i), gpa_of(s, i), URW);
    for (unsigned s = 0; s < 2; s++) { /* warm-up: fill both spaces' shadows, set every D */
        sh_env_set_cr3(&e, cr3[s]);
        touch(&e, s, 16, "warm-up");
        for (unsigned i = 0; i < 16; i++)
            sh_env_access(&e, va_of(s, i), UW, 1);
    }
    uint64_t h = e.vm->c.hidden_faults, em = e.vm->c.emulated_writes;
    for (unsigned round = 0; round < 50; round++)
        for (unsigned s = 0; s < 2; s++) {
            sh_env_set_cr3(&e, cr3[s]);
            touch(&e, s, 16, "ping-pong between two cached address spaces");
        }
    vlab_assert_budget("hidden faults during 100 CR3 switches between two warmed-up spaces",
                       e.vm->c.hidden_faults - h, 0,
                       "(a CR3 load must find the space's shadow in the cache, not rebuild it: "
                       "handout §2.5)");
    vlab_assert_budget("emulated writes during the ping-pong", e.vm->c.emulated_writes - em, 0,
                       SH_SEC_CACHE);
    sh_env_fini(&e);
}

Test(shadow, cache_bounded_memory, .timeout = SH_TIMEOUT) {
    /* 6 spaces need 6 x 4 shadow tables plus the kernel half's; the VMM may hold 12 frames. */
    const unsigned quota = 12, spaces = 6;
    struct sh_env e;
    sh_env_init(&e, SH_MODE_SHADOW, quota);
    uint64_t cr3[6];
    for (unsigned s = 0; s < spaces; s++) {
        cr3[s] = s ? sh_env_new_space(&e) : e.pml4;
        for (unsigned i = 0; i < 8; i++)
            sh_env_map(&e, cr3[s], va_of(s, i), gpa_of(s, i), URW);
    }
    const uint64_t far = va_of(0, 0) + X86_PAGE_2M; /* under a page table of its own */
    sh_env_map(&e, cr3[0], far, gpa_of(0, 9), URW);
    for (unsigned round = 0; round < 10; round++)
        for (unsigned s = 0; s < spaces; s++) {
            sh_env_set_cr3(&e, cr3[s]);
            touch(&e, s, 8, "round-robin over more spaces than the shadow quota holds");
        }
    cr_assert_leq(e.vm->c.frames_peak, quota, "the harness should have enforced the quota");
    cr_assert_gt(e.vm->c.frame_allocs, quota,
                 "test setup: the workload should need more than %u shadow frames over time "
                 "(it allocated %" PRIu64 ")",
                 quota, e.vm->c.frame_allocs);
    /* The root a reclaim rebuilds is the current CR3's shadow root like any other: reloading
     * that CR3 finds it, with everything filled below it since. */
    sh_env_set_cr3(&e, cr3[0]);
    touch(&e, 0, 8, "space 0 once more");
    uint64_t grab[12];
    unsigned ng = 0;
    while (ng < quota && sh_frame_alloc(e.vm, &grab[ng]) == VLAB_OK)
        ng++;
    sh_expect_ok(&e, far, UR, gpa_of(0, 9), SH_SEC_BOUND,
                 "a read that needs a new shadow table while the quota is used up (a reclaim)");
    for (unsigned i = 0; i < ng; i++)
        sh_frame_free(e.vm, grab[i]);
    touch(&e, 0, 8, "space 0 after the reclaim");
    sh_env_set_cr3(&e, cr3[0]); /* a reload: the guest's TLB flush */
    uint64_t h = e.vm->c.hidden_faults;
    touch(&e, 0, 8, "space 0 after a CR3 reload");
    sh_expect_ok(&e, far, UR, gpa_of(0, 9), SH_SEC_CACHE, "the far page after a CR3 reload");
    cr_assert_eq(e.vm->c.hidden_faults, h,
                 "after a reclaim rebuilt the root of the current CR3 and the space was filled "
                 "again, a reload of the same CR3 caused %" PRIu64 " hidden faults: it should "
                 "find that root in the cache (is the rebuilt root cached under its CR3?) %s",
                 e.vm->c.hidden_faults - h, SH_SEC_CACHE);
    sh_env_fini(&e);
}
