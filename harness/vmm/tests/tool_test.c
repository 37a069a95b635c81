/* Task 5 (handout §6): vlab-vmm, the command-line VMM built from your code. */
#include <limits.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm_test.h"

/* Runs vlab-vmm (next to this binary) with args; its stdout and stderr in *out. */
static int tool(const char *args, char *out, size_t len) {
    char exe[PATH_MAX], cmd[2 * PATH_MAX + 256];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert(n > 0);
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    snprintf(cmd, sizeof cmd, "cd '%s' && ./vlab-vmm %s 2>&1", exe, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "expected to start vlab-vmm");
    size_t got = fread(out, 1, len - 1, p);
    out[got] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(vmm, tool_runs_guests) {
    char out[8192];
    int rc = tool("--backend unicorn --mode real --exits guests/hello_real.bin", out, sizeof out);
    cr_assert(rc == 0 && strstr(out, "Hello from real mode!\n") && strstr(out, "VM exits: 45"),
              "expected `vlab-vmm --mode real --exits guests/hello_real.bin` to print the "
              "greeting and an exit histogram of 45 exits, exit status 0; got %d:\n%s "
              "(handout §6)",
              rc, out);
    rc = tool("--backend unicorn guests/hello_c.elf", out, sizeof out);
    cr_assert(rc == 0xde && strstr(out, "Hello from C in long mode!"),
              "expected the C guest's greeting and exit status 0xde (its code's low byte), got "
              "%d:\n%s (handout §6)",
              rc, out);
    rc = tool("--backend unicorn --watchdog 100 guests/spin.bin", out, sizeof out);
    cr_assert(rc == 1 && strstr(out, "watchdog"),
              "expected a spinning guest reported as a watchdog timeout, status 1; got %d:\n%s "
              "(handout §6)",
              rc, out);
    rc = tool("--mode sideways guests/spin.bin", out, sizeof out);
    cr_assert_eq(rc, 2, "expected status 2 for an unknown mode, got %d:\n%s (handout §6)", rc, out);
}
