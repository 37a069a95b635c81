/* Task 4: what the program keeps: capabilities, no_new_privs and seccomp, rlimits, fds. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb_test.h"

static void expect_caps(struct sbt *t, uint64_t want) {
    const char *fields[] = {"CapEff", "CapPrm", "CapBnd", "CapInh"};
    for (int i = 0; i < 4; i++) {
        char v[64] = "";
        bool have = sbt_get(t, fields[i], v, sizeof v);
        uint64_t got = strtoull(v, NULL, 16);
        cr_expect(have && (i == 3 ? (got & ~want) == 0 : got == want),
                  "%s inside: expected %s%016llx, got %s (the bounding set too: root regains "
                  "every capability in it at execve) %s",
                  fields[i], i == 3 ? "a subset of " : "", (unsigned long long)want,
                  have ? v : "nothing", SB_SEC_CAPS);
    }
    char amb[64] = "";
    sbt_get(t, "CapAmb", amb, sizeof amb);
    cr_expect(strtoull(amb, NULL, 16) == 0, "CapAmb inside: expected 0, got %s %s", amb,
              SB_SEC_CAPS);
}

Test(sandbox, sec_caps_bounding, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, SB_SEC_CAPS, "info", NULL);
    expect_caps(&t, SB_CAPS_DEFAULT);
    t.cfg.caps = SB_CAP(CAP_KILL) | SB_CAP(CAP_NET_BIND_SERVICE);
    sbt_run_ok(&t, SB_SEC_CAPS, "info", NULL);
    expect_caps(&t, t.cfg.caps);
    /* capabilities 32 and up live in the second word of capset's data (and the bounding set's
     * numbers run past 31): two harmless ones kept from up there */
    t.cfg.caps = SB_CAP(CAP_KILL) | SB_CAP(CAP_WAKE_ALARM) | SB_CAP(CAP_AUDIT_READ);
    sbt_run_ok(&t, SB_SEC_CAPS, "info", NULL);
    expect_caps(&t, t.cfg.caps);
    sbt_fini(&t);
}

Test(sandbox, sec_nnp_seccomp, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, SB_SEC_NNP, "info", NULL);
    char nnp[16] = "?", sc[16] = "?";
    sbt_get(&t, "NoNewPrivs", nnp, sizeof nnp);
    sbt_get(&t, "Seccomp", sc, sizeof sc);
    cr_expect_str_eq(nnp, "1", "NoNewPrivs inside: expected 1, got %s %s", nnp, SB_SEC_NNP);
    cr_expect_str_eq(sc, "2", "Seccomp inside: expected 2 (a filter), got %s %s", sc,
                     SB_SEC_SECCOMP);
    sbt_fini(&t);
}

Test(sandbox, sec_fds_closed, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    /* fds the caller forgot to mark close-on-exec: the container must not inherit them. fd 3
     * among them, the first past the standard three (a sweep that starts one late keeps it):
     * this process's fd 3 is the test framework's, so one run, in a child of the test whose
     * fds are its own, reports back through a pipe. */
    int rp[2];
    cr_assert(!pipe2(rp, O_CLOEXEC), "harness: pipe2 failed");
    fflush(NULL);
    pid_t c = fork();
    if (c == 0) {
        int leak = open(t.image, O_RDONLY | O_DIRECTORY), p[2];
        if (leak < 0 || dup2(leak, 3) != 3 || pipe(p) || dup2(leak, 200) != 200) _exit(2);
        sbt_run(&t, "info", NULL);
        char fds[256] = "?", blk[64] = "?";
        sbt_get(&t, "fds", fds, sizeof fds);
        sbt_get(&t, "SigBlk", blk, sizeof blk);
        dprintf(rp[1], "%d %d %d %d %s %s", t.rc, leak, p[0], p[1], fds, blk);
        _exit(0);
    }
    close(rp[1]);
    char got[400] = "";
    sbt_child_report(c, rp[0], got, sizeof got);
    int rc = -1, leak = -1, p0 = -1, p1 = -1;
    char fds[256] = "?", blk[64] = "?";
    int k = sscanf(got, "%d %d %d %d %255s %63s", &rc, &leak, &p0, &p1, fds, blk);
    cr_assert(k >= 4, "harness: the test's child reported nothing (it could not set up its fds)");
    cr_assert(rc == VLAB_OK, "sb_run: expected VLAB_OK, got %d (%s) %s", rc, vlab_strerror(rc),
              SB_SEC_FDS);
    cr_expect_str_eq(fds, "0,1,2",
                     "open fds inside: expected only 0,1,2, got %s (the caller had 3, %d, %d, %d "
                     "and 200 open, none close-on-exec: fd 3 is the first past the standard "
                     "three) %s",
                     fds, leak, p0, p1, SB_SEC_FDS);
    /* a signal mask survives execve too: one the runtime set for itself must not */
    cr_expect(strtoull(blk, NULL, 16) == 0 && blk[0] != '?',
              "signals blocked in the program inside: expected none (SigBlk 0), got %s %s", blk,
              SB_SEC_FDS);

    /* stdout_fd and stderr_fd -1: the caller's own fds 1 and 2. Again from a child, whose 1
     * and 2 are files the test reads and whose 3 is /dev/null (not the framework's). */
    cr_assert(!pipe2(rp, O_CLOEXEC), "harness: pipe2 failed");
    fflush(NULL);
    c = fork();
    if (c == 0) {
        int o = memfd_create("sbt-1", 0), e = memfd_create("sbt-2", 0);
        int null = open("/dev/null", O_RDWR);
        if (o < 0 || e < 0 || null < 0 || dup2(null, 3) != 3 || dup2(o, 1) != 1 || dup2(e, 2) != 2)
            _exit(2);
        struct sb_config cfg = t.cfg;
        char *out_argv[] = {"/bin/prober", "info", NULL};
        char *err_argv[] = {"/bin/prober", "no-such-command", NULL};
        struct sb_result res;
        cfg.stdin_fd = cfg.stdout_fd = cfg.stderr_fd = -1;
        cfg.argv = out_argv;
        int rc1 = sb_run(&cfg, &res);
        cfg.argv = err_argv;
        int rc2 = sb_run(&cfg, &res);
        char ob[256] = "", eb[256] = "";
        ssize_t on = pread(o, ob, sizeof ob - 1, 0), en = pread(e, eb, sizeof eb - 1, 0);
        ob[on > 0 ? on : 0] = 0;
        eb[en > 0 ? en : 0] = 0;
        dprintf(rp[1], "%d %d %d %d", rc1, rc2, !!strstr(ob, "pid="), !!strstr(eb, "unknown"));
        _exit(0);
    }
    close(rp[1]);
    sbt_child_report(c, rp[0], got, sizeof got);
    int rc2 = -1, on_out = 0, on_err = 0;
    k = sscanf(got, "%d %d %d %d", &rc, &rc2, &on_out, &on_err);
    cr_assert(k == 4, "harness: the test's child reported nothing (it could not set up its fds)");
    cr_expect(rc == VLAB_OK && rc2 == VLAB_OK,
              "sb_run with stdin_fd, stdout_fd, stderr_fd all -1: expected VLAB_OK, got %d (%s) "
              "and %d (%s) %s",
              rc, vlab_strerror(rc), rc2, vlab_strerror(rc2), SB_SEC_FDS);
    cr_expect(on_out && on_err,
              "with stdout_fd and stderr_fd -1 the program's output belongs on the caller's own "
              "fd 1 and fd 2: stdout %s, stderr %s %s",
              on_out ? "arrived" : "did not arrive", on_err ? "arrived" : "did not arrive",
              SB_SEC_FDS);

    /* stdin_fd 0: the caller's own fd 0 (a pipe here) is the program's stdin, not /dev/null:
     * a configured fd may already be one of 0, 1, 2 */
    cr_assert(!pipe2(rp, O_CLOEXEC), "harness: pipe2 failed");
    fflush(NULL);
    c = fork();
    if (c == 0) {
        int in[2];
        if (pipe(in) || dup2(in[0], 0) != 0) _exit(2);
        if (write(in[1], "typed-by-the-caller\n", 20) != 20) _exit(2);
        close(in[1]);
        t.cfg.stdin_fd = 0;
        sbt_run(&t, "stdin", NULL);
        char line[64] = "?";
        sbt_get(&t, "stdin", line, sizeof line);
        dprintf(rp[1], "%d %s", t.rc, line);
        _exit(0);
    }
    close(rp[1]);
    sbt_child_report(c, rp[0], got, sizeof got);
    char line[64] = "";
    k = sscanf(got, "%d %63s", &rc, line);
    cr_assert(k >= 1, "harness: the test's child reported nothing (it could not set up its fds)");
    cr_expect(rc == VLAB_OK && !strcmp(line, "typed-by-the-caller"),
              "stdin_fd 0 (a pipe holding \"typed-by-the-caller\"): the program should read it "
              "from its fd 0, it read \"%s\" (sb_run returned %d, %s) %s",
              line, rc, vlab_strerror(rc), SB_SEC_FDS);
    sbt_fini(&t);
}

Test(sandbox, sec_rlimits, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    sbt_run_ok(&t, SB_SEC_RLIMIT, "info", NULL);
    char nofile[64] = "?", want[64];
    sbt_get(&t, "nofile", nofile, sizeof nofile);
    snprintf(want, sizeof want, "%u/%u", SB_RLIMIT_NOFILE, SB_RLIMIT_NOFILE);
    cr_expect_str_eq(nofile, want, "RLIMIT_NOFILE inside (soft/hard): expected %s, got %s %s", want,
                     nofile, SB_SEC_RLIMIT);
    sbt_run_ok(&t, SB_SEC_RLIMIT, "escape", "rlimit", NULL);
    sbt_expect_all_blocked(&t, SB_SEC_RLIMIT, "raising an rlimit");
    sbt_fini(&t);
}
