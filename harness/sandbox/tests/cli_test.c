/* Task 6: vlab-sandbox, the command-line tool built from the harness and your sb_run. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb_test.h"

/* Runs vlab-sandbox (next to this test binary) with args; its exit status, stdout, stderr. */
static int tool(char *out, size_t olen, char *err, size_t elen, char *const args[]) {
    char self[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert(n > 0, "harness: readlink /proc/self/exe");
    self[n] = 0;
    *strrchr(self, '/') = 0;
    snprintf(path, sizeof path, "%s/vlab-sandbox", self);
    cr_assert(!access(path, X_OK), "harness: no %s (built by make)", path);
    int o = memfd_create("cli-out", 0), e = memfd_create("cli-err", 0);
    char *argv[24] = {path};
    for (int i = 0; args[i] && i < 22; i++)
        argv[i + 1] = args[i];
    fflush(NULL);
    pid_t p = fork();
    if (p == 0) {
        dup2(o, 1);
        dup2(e, 2);
        execv(path, argv);
        _exit(127);
    }
    int st = 0;
    waitpid(p, &st, 0);
    for (int i = 0; i < 2; i++) {
        int fd = i ? e : o;
        char *buf = i ? err : out;
        size_t len = i ? elen : olen;
        lseek(fd, 0, SEEK_SET);
        ssize_t r = read(fd, buf, len - 1);
        buf[r > 0 ? r : 0] = 0;
        close(fd);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(sandbox, cli_run_report, .timeout = SB_TIMEOUT) {
    struct sbt t;
    sbt_init(&t);
    char out[16384], err[4096];
    char *a1[] = {"run", "--rootfs", t.image,       "--memory",   "64M",    "--pids",
                  "16",  "--cpu",    "0.5",         "--hostname", "clibox", "--timeout",
                  "5",   "--",       "/bin/prober", "info",       NULL};
    int st = tool(out, sizeof out, err, sizeof err, a1);
    cr_expect(st == 0,
              "vlab-sandbox run ... -- /bin/prober info: expected exit 0, got %d; "
              "stderr: %.300s %s",
              st, err, SB_SEC_CLI);
    cr_expect(strstr(out, "hostname=clibox\n") && strstr(out, "pid=1\n"),
              "the program's output should come through (hostname=clibox, pid=1): %.200s %s", out,
              SB_SEC_CLI);
    const char *keys[] = {"ended: exit status 0",
                          "cpu time:", "memory peak:", "oom kills:", "pids limit hits:"};
    for (int i = 0; i < 5; i++)
        cr_expect(strstr(err, keys[i]), "the report on stderr should have \"%s\": %.400s %s",
                  keys[i], err, SB_SEC_CLI);
    char *a2[] = {"run", "--rootfs", t.image, "--", "/bin/prober", "exit", "3", NULL};
    st = tool(out, sizeof out, err, sizeof err, a2);
    cr_expect(st == 3, "vlab-sandbox should exit with the program's status 3, got %d %s", st,
              SB_SEC_CLI);
    char *a3[] = {"run", "--rootfs", t.image, "--memory", "lots", "--", "/bin/true", NULL};
    st = tool(out, sizeof out, err, sizeof err, a3);
    cr_expect(st == 125 && strstr(err, "memory"),
              "--memory lots: expected exit 125 and a message about the size, got %d: %.200s %s",
              st, err, SB_SEC_CLI);
    sbt_fini(&t);
}
