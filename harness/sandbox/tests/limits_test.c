/* Task 3 through sb_run: a fork bomb, an allocation and a CPU hog against small limits. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb_test.h"

Test(sandbox, limits_pids_forkbomb, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_need_groups(&t);
    t.cfg.limits.pids = 16;
    sbt_run_ok(&t, SB_SEC_CGUSE, "forkbomb", NULL);
    char forks[32] = "?", err[32] = "?";
    sbt_get(&t, "forks", forks, sizeof forks);
    sbt_get(&t, "errno", err, sizeof err);
    int n = atoi(forks);
    cr_expect(n > 0 && n < 16,
              "a fork bomb under pids 16 should stop below 16 processes, it made %s forks %s",
              forks, SB_SEC_CGUSE);
    cr_expect_str_eq(err, "EAGAIN", "the refused fork should fail with EAGAIN, got %s %s", err,
                     SB_SEC_CGUSE);
    char refused[32] = "?";
    sbt_get(&t, "refused", refused, sizeof refused);
    /* the prober's first refused fork, then 12 more tries while its children pause */
    unsigned long long want = 1ull + (unsigned long long)atoi(refused);
    cr_expect(!strcmp(refused, "12") && t.res.use.pids_max == want,
              "the report should count every refused fork (pids.events max, a decimal number): "
              "the prober was refused 1 + %s times, the report says %llu %s",
              refused, (unsigned long long)t.res.use.pids_max, SB_SEC_CGUSE);
    /* the host can still fork */
    pid_t p = fork();
    if (p == 0) _exit(0);
    int st = 0;
    cr_expect(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st),
              "the host could not fork after the fork bomb %s", SB_SEC_CGUSE);
    sbt_fini(&t);
}

Test(sandbox, limits_memory_oom, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_need_groups(&t);
    t.cfg.limits.memory = 32u << 20;
    sbt_run_ok(&t, SB_SEC_CGUSE, "alloc", "96", NULL);
    char touched[32] = "0", done[32] = "";
    /* the last progress line */
    for (const char *p = strstr(t.out, "touched="); p; p = strstr(p + 1, "touched="))
        sscanf(p, "touched=%31s", touched);
    sbt_get(&t, "done", done, sizeof done);
    cr_expect(!*done && atoi(touched) < 32,
              "allocating 96 MiB under a 32 MiB limit should be stopped before 32 MiB, it "
              "touched %s MiB%s %s",
              touched, *done ? " and finished" : "", SB_SEC_CGUSE);
    cr_expect(!t.res.exited && t.res.signal == SIGKILL,
              "the OOM killer should end the program with SIGKILL; it %s %d %s",
              t.res.exited ? "exited with" : "died of signal",
              t.res.exited ? t.res.status : t.res.signal, SB_SEC_CGUSE);
    cr_expect(t.res.use.oom_kills >= 1, "the report should count the OOM kill, got %llu %s",
              (unsigned long long)t.res.use.oom_kills, SB_SEC_CGUSE);
    cr_expect(t.res.use.mem_peak >= (16u << 20) && t.res.use.mem_peak <= (33u << 20),
              "the memory peak should be near the 32 MiB limit, got %.1f MiB %s",
              (double)t.res.use.mem_peak / (1 << 20), SB_SEC_CGUSE);
    sbt_fini(&t);
}

Test(sandbox, limits_cpu_quota, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_need_groups(&t);
    t.cfg.limits.cpus = 0.25;
    sbt_run_ok(&t, SB_SEC_CGUSE, "spin", "0.6", NULL);
    char wall[32] = "0", cpu[32] = "0";
    sbt_get(&t, "wall", wall, sizeof wall);
    sbt_get(&t, "cpu", cpu, sizeof cpu);
    double w = atof(wall), c = atof(cpu);
    cr_assert(w > 0.5 && c > 0.01, "the CPU hog did not run: %.300s %s", t.out, SB_SEC_CGUSE);
    cr_expect(c / w <= 0.4,
              "a CPU hog under a quota of 0.25 CPU got %.3f s of CPU in %.3f s (ratio %.2f, "
              "expected at most 0.4) %s",
              c, w, c / w, SB_SEC_CGUSE);
    double rep = (double)t.res.use.cpu_ns * 1e-9;
    cr_expect(rep >= 0.8 * c && rep <= c + 0.2,
              "the report's CPU time (%.3f s) should match what the program used (%.3f s) %s", rep,
              c, SB_SEC_CGUSE);
    sbt_fini(&t);
}
