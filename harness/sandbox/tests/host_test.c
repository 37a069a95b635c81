/* Task 4: the attacks from the OCI threat model, each judged where it would land: the caller's
 * terminal, the host's /proc and /sys, the host's device inodes, the kernel's attack surface.
 * As root and in a user namespace (§2.6) alike. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "sb_test.h"

/* Runs the prober's escape WHAT as root, then with cfg->userns, each time judging every
 * attempt. */
static void both_modes(const char *what, const char *sec, const char *words) {
    struct sbt t;
    sbt_init(&t);
    for (int userns = 0; userns < 2; userns++) {
        t.cfg.userns = userns;
        sbt_run_ok(&t, sec, "escape", what, NULL);
        char w[256];
        snprintf(w, sizeof w, "%s (%s)", words, userns ? "with cfg->userns" : "as real root");
        sbt_expect_all_blocked(&t, sec, w);
    }
    sbt_fini(&t);
}

Test(sandbox, escape_proc_readonly, .timeout = SB_TIMEOUT) {
    both_modes("readonly", SB_SEC_MASK,
               "writing the host's kernel settings through /proc/sys, /proc/sysrq-trigger, "
               "/proc/irq, /proc/bus, /proc/fs or /sys");
}

Test(sandbox, escape_proc_masked, .timeout = SB_TIMEOUT) {
    both_modes("masked", SB_SEC_MASK,
               "reading the kernel's memory, keys, timers or firmware through /proc or /sys");
}

Test(sandbox, escape_io_uring, .timeout = SB_TIMEOUT) {
    both_modes("io_uring", SB_SEC_SECCOMP, "reaching io_uring or userfaultfd");
}

Test(sandbox, escape_personality, .timeout = SB_TIMEOUT) {
    both_modes("personality", SB_SEC_SECCOMP, "changing the execution domain (personality)");
}

/* The host's own device nodes, as this process sees them (the test's mount namespace shares
 * the host's /dev). */
static const char *const host_nodes[] = {"/dev/null", "/dev/zero", "/dev/urandom", "/dev/tty"};
#define N_NODES (sizeof host_nodes / sizeof host_nodes[0])

Test(sandbox, escape_dev_nodes, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    struct stat before[N_NODES];
    for (size_t i = 0; i < N_NODES; i++)
        cr_assert(!stat(host_nodes[i], &before[i]), "harness: stat %s: %s", host_nodes[i],
                  strerror(errno));
    for (int userns = 0; userns < 2; userns++) {
        t.cfg.userns = userns;
        sbt_run_ok(&t, SB_SEC_DEV, "escape", "devnode", NULL);
        char done[8] = "";
        cr_assert(sbt_get(&t, "devnode_done", done, sizeof done),
                  "the prober did not finish its attempts (exit %d, signal %d): %.300s",
                  t.res.status, t.res.signal, t.err);
        for (size_t i = 0; i < N_NODES; i++) {
            struct stat now;
            cr_assert(!stat(host_nodes[i], &now), "harness: stat %s", host_nodes[i]);
            /* the prober sets each node's mode and owner to what they were: only the ctime
             * tells that the host's inode was reached (and nothing else changed) */
            cr_expect(now.st_ctim.tv_sec == before[i].st_ctim.tv_sec &&
                          now.st_ctim.tv_nsec == before[i].st_ctim.tv_nsec &&
                          now.st_mode == before[i].st_mode && now.st_uid == before[i].st_uid,
                      "the host's %s changed (ctime, mode or owner) when root in the container "
                      "(%s) ran chmod and chown on its own %s: the container's device nodes "
                      "must be its own, or ones it cannot change; the prober: %.400s %s",
                      host_nodes[i], userns ? "with cfg->userns" : "real root", host_nodes[i],
                      t.out, SB_SEC_DEV);
        }
    }
    sbt_fini(&t);
}

/* A terminal of the test's own: the master, and the slave as the controlling terminal of a
 * child that runs the container with it as stdin, as a shell would. What the container pushed
 * into the terminal's input queue is what the shell would have run after it. */
static void run_on_pty(struct sbt *t, char *injected, size_t len) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    cr_assert(m >= 0 && !grantpt(m) && !unlockpt(m), "harness: a pty: %s", strerror(errno));
    const char *name = ptsname(m);
    cr_assert(name, "harness: ptsname: %s", strerror(errno));
    char slave_name[128];
    snprintf(slave_name, sizeof slave_name, "%s", name);
    /* the child's output and result come back through shared memory */
    struct shared {
        int rc;
        struct sb_result res;
        char out[sizeof t->out];
        char err[sizeof t->err];
        char injected[256];
    } *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert(sh != MAP_FAILED, "harness: mmap");
    memset(sh, 0, sizeof *sh);
    sh->rc = -1000;
    fflush(NULL);
    pid_t p = fork();
    cr_assert(p >= 0, "harness: fork");
    if (p == 0) {
        setsid();
        int s = open(slave_name, O_RDWR);
        if (s < 0 || ioctl(s, TIOCSCTTY, 0)) _exit(3);
        struct termios tio;
        if (!tcgetattr(s, &tio)) {
            cfmakeraw(&tio); /* injected bytes are readable at once, newline or not */
            tcsetattr(s, TCSANOW, &tio);
        }
        t->cfg.stdin_fd = s;
        sbt_run(t, "escape", "tty", NULL);
        sh->rc = t->rc;
        sh->res = t->res;
        memcpy(sh->out, t->out, sizeof sh->out);
        memcpy(sh->err, t->err, sizeof sh->err);
        fcntl(s, F_SETFL, O_NONBLOCK);
        ssize_t n = read(s, sh->injected, sizeof sh->injected - 1);
        sh->injected[n > 0 ? n : 0] = 0;
        _exit(0);
    }
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
    }
    close(m);
    t->rc = sh->rc;
    t->res = sh->res;
    memcpy(t->out, sh->out, sizeof t->out);
    memcpy(t->err, sh->err, sizeof t->err);
    snprintf(injected, len, "%s", sh->injected);
    munmap(sh, sizeof *sh);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "harness: the child holding the terminal failed (status 0x%x)", st);
}

Test(sandbox, escape_terminal, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    static const char *const how[] = {"as real root", "with cfg->userns",
                                      "as real root with CAP_SYS_ADMIN kept"};
    for (int i = 0; i < 3; i++) {
        t.cfg.userns = i == 1;
        /* with CAP_SYS_ADMIN the kernel lets TIOCSTI reach any terminal: only seccomp stops it */
        t.cfg.caps = SB_CAPS_DEFAULT | (i == 2 ? SB_CAP(CAP_SYS_ADMIN) : 0);
        char injected[256];
        run_on_pty(&t, injected, sizeof injected);
        cr_assert(t.rc == VLAB_OK, "sb_run (%s): expected VLAB_OK, got %d (%s); stderr: %.400s %s",
                  how[i], t.rc, vlab_strerror(t.rc), t.err, SB_SEC_TTY);
        char w[160];
        snprintf(w, sizeof w, "reaching the caller's terminal (%s)", how[i]);
        sbt_expect_all_blocked(&t, SB_SEC_TTY, w);
        cr_expect(!injected[0],
                  "the caller's terminal received \"%s\" from the container (%s): its shell "
                  "would run it %s",
                  injected, how[i], SB_SEC_TTY);
        if (i == 2) {
            char e[32] = "?";
            sbt_get(&t, "tioclinux_errno", e, sizeof e);
            cr_expect_str_eq(e, "EPERM",
                             "ioctl(TIOCLINUX) inside: expected EPERM from the seccomp filter "
                             "whatever the fd, got %s %s",
                             e, SB_SEC_TTY);
        }
    }
    sbt_fini(&t);
}
