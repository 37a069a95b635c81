/* Part 0 of lab dbt: why pure trap-and-emulate fails on x86. Runs guests/part0.bin on Unicorn
 * with the guest kernel deprivileged to CPL 3, as a trap-and-emulate VMM would, and shows that
 * cli traps (and is emulated on a virtual IF) but popf neither traps nor takes effect, and pushf
 * shows the real IF. Only one #GP is handled: Unicorn 2.0.1 turns a second #GP taken through
 * UC_HOOK_INTR into #DF (upstream issue 1883). Not a test: the output is for reading. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicorn/unicorn.h>
#include <unistd.h>

#define RAM  0x100000u
#define BASE 0x1000u

struct vmm {
    uint8_t *ram;
    bool vif; /* the virtual IF the VMM keeps for the guest */
    int traps, done;
    uint32_t seen[3];
};

static void on_intr(uc_engine *uc, uint32_t intno, void *data) {
    struct vmm *v = data;
    uint32_t eip, cs;
    uc_reg_read(uc, UC_X86_REG_EIP, &eip);
    uc_reg_read(uc, UC_X86_REG_CS, &cs);
    if (intno == 13 && v->traps == 0 && v->ram[eip] == 0xfa) { /* cli at CPL 3 */
        v->traps++;
        v->vif = false;
        printf("  cli at CPL %u: #GP, trapped to the VMM: emulated, virtual IF = 0\n", cs & 3);
        eip++;
        uc_reg_write(uc, UC_X86_REG_EIP, &eip);
        return;
    }
    printf("  unexpected interrupt %u at %#x: stopping\n", intno, eip);
    uc_emu_stop(uc);
}

static void on_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *data) {
    (void)size;
    struct vmm *v = data;
    if (port >= 0xe0 && port <= 0xe2) v->seen[port - 0xe0] = value;
    if (port == 0xef) {
        v->done = 1;
        uc_emu_stop(uc);
    }
}

int main(int argc, char **argv) {
    (void)argc;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0) return 1;
    dir[n] = 0;
    *strrchr(dir, '/') = 0;
    const char *gdir = getenv("VLAB_GUEST_DIR");
    if (gdir)
        snprintf(path, sizeof path, "%s/part0.bin", gdir);
    else
        snprintf(path, sizeof path, "%s/guests/part0.bin", dir);
    struct vmm v = {.ram = aligned_alloc(4096, RAM), .vif = true};
    memset(v.ram, 0, RAM);
    FILE *f = fopen(path, "rb");
    if (!f || fread(v.ram + BASE, 1, RAM - BASE, f) == 0) {
        fprintf(stderr, "%s: cannot read %s\n", argv[0], path);
        return 1;
    }
    fclose(f);
    uc_engine *uc;
    uc_hook h1, h2;
    if (uc_open(UC_ARCH_X86, UC_MODE_32, &uc) != UC_ERR_OK ||
        uc_mem_map_ptr(uc, 0, RAM, UC_PROT_ALL, v.ram) != UC_ERR_OK) {
        fprintf(stderr, "%s: cannot set up Unicorn\n", argv[0]);
        return 1;
    }
    uc_hook_add(uc, &h1, UC_HOOK_INTR, on_intr, &v, 1, 0);
    uc_hook_add(uc, &h2, UC_HOOK_INSN, on_out, &v, 1, 0, UC_X86_INS_OUT);
    uint32_t esp = 0x80000;
    uc_reg_write(uc, UC_X86_REG_ESP, &esp);
    printf("Part 0: the guest kernel run deprivileged at CPL 3 (trap-and-emulate)\n");
    uc_err e = uc_emu_start(uc, BASE, RAM, 1000000 /* µs */, 0);
    if (e != UC_ERR_OK || !v.done) {
        printf("the guest did not finish: %s\n", uc_strerror(e));
        return 1;
    }
    const uint32_t IF = 0x200;
    printf("  pushf at entry:               IF = %u\n", !!(v.seen[0] & IF));
    printf("  pushf after the guest's cli:  IF = %u  <- pushf shows the real IF: the guest sees "
           "interrupts still on\n",
           !!(v.seen[1] & IF));
    printf("  popf of an image with IF = 0: no trap; pushf then shows IF = %u  <- popf silently "
           "ignored IF\n",
           !!(v.seen[2] & IF));
    printf("  popf of an image with IF = 1: no trap; the VMM's virtual IF is still %u  <- the "
           "VMM never learns the guest re-enabled interrupts\n",
           v.vif);
    printf("traps taken: %d (cli only). pushf and popf are sensitive but not privileged: x86 "
           "fails Popek and Goldberg's condition, so the VMM must see them another way: binary "
           "translation (this lab) or hardware support (VT-x).\n",
           v.traps);
    uc_close(uc);
    free(v.ram);
    return 0;
}
