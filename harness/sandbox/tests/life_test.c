/* Task 5: how a container ends: exit status or signal, the timeout, daemons it leaves, and
 * cleanup when setting up fails. The cleanup check at the end of each test does the rest. */
#define _GNU_SOURCE
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sb_test.h"

Test(sandbox, life_exit_status, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, SB_SEC_LIFE, "exit", "7", NULL);
    cr_expect(t.res.exited && t.res.status == 7 && !t.res.timed_out,
              "prober exit 7: expected exited with status 7, got exited=%d status=%d signal=%d %s",
              t.res.exited, t.res.status, t.res.signal, SB_SEC_LIFE);
    sbt_run_ok(&t, SB_SEC_LIFE, "crash", NULL);
    cr_expect(!t.res.exited && t.res.signal == SIGSEGV,
              "prober crash: expected death by SIGSEGV, got exited=%d status=%d signal=%d %s",
              t.res.exited, t.res.status, t.res.signal, SB_SEC_LIFE);
    sbt_fini(&t);
}

/* Host processes whose name (comm) is tag. */
static unsigned named(const char *tag) {
    unsigned n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char p[300], comm[64];
        snprintf(p, sizeof p, "/proc/%s/comm", e->d_name);
        if (sb_read_file(p, comm, sizeof comm) <= 0) continue;
        comm[strcspn(comm, "\n")] = 0;
        n += !strcmp(comm, tag);
    }
    if (d) closedir(d);
    return n;
}

Test(sandbox, life_daemons_killed, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char tag[16];
    snprintf(tag, sizeof tag, "sbd%d", (int)getpid() % 100000);
    sbt_run_ok(&t, SB_SEC_LIFE, "daemons", "3", tag, NULL);
    cr_expect(t.res.exited && t.res.status == 0, "prober daemons: expected exit 0, got %d/%d %s",
              t.res.status, t.res.signal, SB_SEC_LIFE);
    unsigned n = named(tag);
    cr_expect(n == 0,
              "the program left 3 daemons (setsid, double fork) and exited; %u are still "
              "running after sb_run returned %s",
              n, SB_SEC_CLEAN);
    sbt_fini(&t);
}

Test(sandbox, life_timeout_kills_all, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char tag[16];
    snprintf(tag, sizeof tag, "sbt%d", (int)getpid() % 100000);
    t.cfg.timeout = 0.3;
    sbt_run_ok(&t, SB_SEC_LIFE, "daemons", "3", tag, "sleep", NULL);
    cr_expect(t.res.timed_out && !t.res.exited && t.res.signal == SIGKILL,
              "a program that sleeps past a 0.3 s timeout: expected timed_out with SIGKILL, got "
              "timed_out=%d exited=%d signal=%d %s",
              t.res.timed_out, t.res.exited, t.res.signal, SB_SEC_LIFE);
    unsigned n = named(tag);
    cr_expect(n == 0, "after the timeout, %u of the program's 3 daemons are still running %s", n,
              SB_SEC_LIFE);
    sbt_fini(&t);
}

Test(sandbox, life_cleanup_on_error, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    struct sb_result r;
    char *argv[] = {"/bin/prober", "info", NULL};
    struct sb_config c = t.cfg;
    c.argv = argv;
    c.rootfs = "/nonexistent/vlab-image";
    int rc = sb_run(&c, &r);
    cr_expect(rc == VLAB_ENOENT,
              "sb_run with a missing rootfs: expected VLAB_ENOENT, got %d (%s) %s", rc,
              vlab_strerror(rc), SB_SEC_LIFE);
    c = t.cfg;
    c.argv = NULL;
    rc = sb_run(&c, &r);
    cr_expect(rc == VLAB_EINVAL, "sb_run with argv NULL: expected VLAB_EINVAL, got %d (%s) %s", rc,
              vlab_strerror(rc), SB_SEC_LIFE);
    /* failures half-way: a program missing from the image, a hostname the kernel refuses */
    char *missing[] = {"/bin/no-such-program", NULL};
    c = t.cfg;
    c.argv = missing;
    rc = sb_run(&c, &r);
    cr_expect(rc == VLAB_ENOENT,
              "sb_run of a program missing from the image: expected VLAB_ENOENT, got %d (%s) %s",
              rc, vlab_strerror(rc), SB_SEC_LIFE);
    c = t.cfg;
    c.argv = argv;
    if (t.groups) c.limits.pids = 8;
    c.hostname = "a-hostname-longer-than-the-sixty-four-bytes-the-kernel-allows-for-one";
    rc = sb_run(&c, &r);
    cr_expect(rc == VLAB_EIO || rc == VLAB_EINVAL,
              "sb_run with a 69-byte hostname: expected VLAB_EIO (sethostname failed) or "
              "VLAB_EINVAL, got %d (%s) %s",
              rc, vlab_strerror(rc), SB_SEC_LIFE);
    /* then a good run still works */
    sbt_run_ok(&t, SB_SEC_LIFE, "exit", "0", NULL);
    sbt_fini(&t);
}
