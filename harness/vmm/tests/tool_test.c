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
    cr_assert(rc == 0xbd && strstr(out, "Hello from C in long mode!"),
              "expected the C guest's greeting and exit status 0xbd ((0xde << 1 | 1) & 0xff, "
              "QEMU's rule for a reported result), got %d:\n%s (handout §6)",
              rc, out);
    rc = tool("--backend unicorn --watchdog 100 guests/spin.bin", out, sizeof out);
    cr_assert(rc == 1 && strstr(out, "watchdog"),
              "expected a spinning guest reported as a watchdog timeout, status 1; got %d:\n%s "
              "(handout §6)",
              rc, out);
    rc = tool("--mode sideways guests/spin.bin", out, sizeof out);
    cr_assert_eq(rc, 2, "expected status 2 for an unknown mode, got %d:\n%s (handout §6)", rc, out);
}

/* Kernels built elsewhere: linked at 0, Multiboot with a command line, ending through
 * isa-debug-exit; and the mistakes a user makes with the new options. */
Test(vmm, tool_runs_others_guests) {
    char out[8192];
    int rc = tool("--backend unicorn --mode protected --load 0 --entry 0 guests/zero_protected.bin",
                  out, sizeof out);
    cr_assert(rc == 0 && strstr(out, "Hello, world! (protected mode, linked at 0)\n") &&
                  !strstr(out, "VM exits:"),
              "expected `vlab-vmm --mode protected --load 0 --entry 0 guests/zero_protected.bin` "
              "to print the whole greeting and halt with no reason given, status 0; got "
              "%d:\n%s (handout §6)",
              rc, out);
    rc = tool("--backend unicorn --cmdline 'root=/dev/vda' guests/mb_elf.bin", out, sizeof out);
    cr_assert(rc == 11 && strstr(out, "mb-elf: cmdline 'root=/dev/vda'\n") &&
                  strstr(out, "mb-elf: mem_upper 0x00003c00 KiB\n"),
              "expected the Multiboot kernel's two lines with --cmdline passed on, and status 11 "
              "(it reports 5: (5 << 1) | 1); got %d:\n%s (handout §6)",
              rc, out);
    rc = tool("--backend unicorn guests/debug_exit.bin", out, sizeof out);
    cr_assert(
        rc == 33 && strstr(out, "tests passed\n") && !strstr(out, "!"),
        "expected isa-debug-exit's 0xabcd0010 to end the run with status 33 (((v << 1) | 1) & "
        "0xff); "
        "got %d:\n%s (handout §6)",
        rc, out);
    rc = tool("--backend unicorn --load 0x1zz guests/spin.bin", out, sizeof out);
    cr_assert(rc == 2 && strstr(out, "0x1zz"),
              "expected status 2 and the bad address named for --load 0x1zz; got %d:\n%s "
              "(handout §6)",
              rc, out);
    rc = tool("--backend unicorn --load 0x100000 guests/mb_elf.bin", out, sizeof out);
    cr_assert(rc == 2 && strstr(out, "flat") && !strstr(out, "mb-elf"),
              "expected --load refused for a Multiboot kernel (it goes where its header says): "
              "status 2, a sentence about flat binaries, nothing run; got %d:\n%s (handout §6)",
              rc, out);
    rc = tool("--backend unicorn --entry 0x100000 guests/hello_c.elf", out, sizeof out);
    cr_assert(rc == 2 && strstr(out, "flat") && !strstr(out, "Hello"),
              "expected --entry refused for an ELF executable: status 2, a sentence about flat "
              "binaries, nothing run; got %d:\n%s (handout §6)",
              rc, out);
    rc = tool("--backend unicorn --load 0x20000 --entry 0x30000 guests/spin.bin", out, sizeof out);
    cr_assert(rc == 2 && strstr(out, "entry"),
              "expected an entry outside the image refused (status 2, the sentence naming the "
              "entry); got %d:\n%s (handout §6)",
              rc, out);
}
