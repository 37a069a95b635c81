/* Task 4: the escape battery. The prober tries one kind of escape per test, as root inside the
 * container; every attempt must fail. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sb_test.h"

static void battery(const char *what, const char *arg, const char *sec, const char *words) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, sec, "escape", what, arg, NULL);
    sbt_expect_all_blocked(&t, sec, words);
    sbt_fini(&t);
}

Test(sandbox, escape_remount, .timeout = SB_TIMEOUT) {
    battery("mount", NULL, SB_SEC_CAPS, "mounting or remounting");
}

Test(sandbox, escape_hostname, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    t.cfg.hostname = "locked";
    sbt_run_ok(&t, SB_SEC_CAPS, "escape", "hostname", NULL);
    sbt_expect_all_blocked(&t, SB_SEC_CAPS, "changing the hostname after the capability drop");
    char h[64] = "?";
    sbt_get(&t, "hostname", h, sizeof h);
    cr_expect_str_eq(h, "locked",
                     "hostname inside after the attempts: expected \"locked\", got "
                     "\"%s\" %s",
                     h, SB_SEC_CAPS);
    sbt_fini(&t);
}

Test(sandbox, escape_unshare_setns, .timeout = SB_TIMEOUT) {
    battery("ns", NULL, SB_SEC_SECCOMP, "entering or making namespaces");
}

Test(sandbox, escape_ptrace, .timeout = SB_TIMEOUT) {
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    battery("ptrace", pid, SB_SEC_SECCOMP, "tracing or signalling another process");
}

Test(sandbox, escape_module, .timeout = SB_TIMEOUT) {
    battery("module", NULL, SB_SEC_CAPS, "loading or removing a kernel module");
}

Test(sandbox, escape_cgroup_write, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    if (t.groups) t.cfg.limits.pids = 32;
    sbt_run_ok(&t, SB_SEC_CAPS, "escape", "cgroup", NULL);
    sbt_expect_all_blocked(&t, SB_SEC_CAPS, "writing cgroup limits from inside");
    sbt_fini(&t);
}

Test(sandbox, escape_raw_device, .timeout = SB_TIMEOUT) {
    battery("device", NULL, SB_SEC_DEV, "reaching a raw device");
}

Test(sandbox, escape_chroot, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char secret[512];
    snprintf(secret, sizeof secret, "%s/host-secret-%d", t.tmp, (int)getpid());
    FILE *f = fopen(secret, "w");
    cr_assert(f, "harness: cannot create %s", secret);
    fclose(f);
    sbt_run(&t, "escape", "chroot", secret, NULL);
    unlink(secret);
    cr_assert(t.rc == VLAB_OK, "sb_run: expected VLAB_OK, got %d (%s) %s", t.rc,
              vlab_strerror(t.rc), SB_SEC_PIVOT);
    sbt_expect_all_blocked(&t, SB_SEC_PIVOT, "breaking out with chroot");
    sbt_fini(&t);
}
