/* Task 5 (§6.1): differential tests. The seeded guest kernel runs 100,000 operations per test
 * on your VMM and, in lock step, on an ideal MMU with the guest's own physical memory. Every
 * access's outcome (machine address and value read, or #PF error code and CR2) and all of guest
 * memory, page-table A/D bits included, must be equal. Each test has its own fixed seed. */
#include "sh_test.h"

#include <inttypes.h>

#define OPS 100000

#define SETUP(cond, ...) cr_assert(cond, "test setup: " __VA_ARGS__)

Test(shadow, diff_sequential, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    sh_diff_run("diff_sequential", &sh_profile_sequential, SH_MODE_SHADOW, 11, OPS, 0, &r);
    SETUP(r.os.n_demand > 1000, "only %" PRIu64 " demand faults", r.os.n_demand);
}

Test(shadow, diff_random, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    sh_diff_run("diff_random", &sh_profile_random, SH_MODE_SHADOW, 12, OPS, 0, &r);
    SETUP(r.c.injected > 1000, "only %" PRIu64 " true faults", r.c.injected);
}

Test(shadow, diff_working_set, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    sh_diff_run("diff_working_set", &sh_profile_working_set, SH_MODE_SHADOW, 13, OPS, 0, &r);
    SETUP(r.os.n_switch > 1000, "only %" PRIu64 " CR3 switches", r.os.n_switch);
}

Test(shadow, diff_fork_cow, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    sh_diff_run("diff_fork_cow", &sh_profile_fork, SH_MODE_SHADOW, 14, OPS, 0, &r);
    SETUP(r.os.n_fork > 100 && r.os.n_cow > 1000, "%" PRIu64 " forks, %" PRIu64 " COW breaks",
          r.os.n_fork, r.os.n_cow);
}

Test(shadow, diff_clock, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    sh_diff_run("diff_clock", &sh_profile_clock, SH_MODE_SHADOW, 15, OPS, 0, &r);
    SETUP(r.os.n_clock_clear > 1000 && r.os.n_clock_evict > 1000,
          "%" PRIu64 " A bits cleared, %" PRIu64 " pages evicted", r.os.n_clock_clear,
          r.os.n_clock_evict);
}

Test(shadow, diff_everything, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    sh_diff_run("diff_everything", &sh_profile_everything, SH_MODE_SHADOW, 16, OPS, 0, &r);
    SETUP(r.os.n_rsvd > 50 && r.os.n_exit > 50,
          "%" PRIu64 " reserved-bit faults, %" PRIu64 " exits", r.os.n_rsvd, r.os.n_exit);
}

Test(shadow, diff_bounded_memory, .timeout = SH_TIMEOUT) {
    struct sh_run r;
    sh_diff_run("diff_bounded_memory", &sh_profile_everything, SH_MODE_SHADOW, 17, OPS, 40, &r);
    SETUP(r.c.frame_allocs > 400, "only %" PRIu64 " shadow frames allocated: no reclaim",
          r.c.frame_allocs);
}
