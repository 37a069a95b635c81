/* libFuzzer harness: the vmm reference's image loading (vmm_load: the Multiboot v1 header search,
 * its address fields, Multiboot ELF kernels, plain ELF and flat images) on arbitrary bytes, into
 * a guest RAM of its own; no backend is opened, since vmm_load only writes guest memory. Beyond
 * "no crash, no sanitizer report", it checks what handout §2.2-2.3 promise:
 *   - a rejected image leaves guest RAM exactly as it was, and says why in vm->err;
 *   - an accepted one starts inside guest RAM (but a plain ELF: at its e_entry), and a Multiboot
 *     kernel is entered in protected mode with its information structure where §2.3 says.
 * The first input byte picks the RAM size, the mode and whether flat images are placed by the
 * command line (--load/--entry); the rest is the image. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vlab/loader.h"
#include "vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* §2.3's information lies in the first 64 KiB: every RAM size here holds it */
static const uint64_t ram_sizes[4] = {1ULL << 20, 2ULL << 20, (1ULL << 20) + 0x3000, 4ULL << 20};

#define RAM_MAX (4ULL << 20)
static uint8_t ram[RAM_MAX] __attribute__((aligned(4096)));
static uint8_t pattern[RAM_MAX]; /* what guest RAM holds before each load */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t pick = data[0];
    data++, size--;

    static struct vmm vm;
    memset(&vm, 0, sizeof vm);
    vm.cfg.ram_size = ram_sizes[pick & 3];
    vm.cfg.mode = (enum vmm_mode)((pick >> 2) % 3); /* real, protected, long */
    vm.cfg.place_flat = (pick >> 4) & 1;
    vm.cfg.load_gpa = (uint64_t)(pick >> 5) << 14; /* 0 .. 112 KiB: over the GDT, TSS, tables */
    vm.cfg.entry_gpa = vm.cfg.load_gpa + (pick & 0x10);
    vm.cfg.cmdline = (pick & 0x80) ? "console=ttyS0 vlab" : NULL;
    vlab_gpmem_init(&vm.mem);
    if (vlab_gpmem_add_region(&vm.mem, 0, vm.cfg.ram_size, ram, 0, "ram")) abort();
    if (!pattern[0]) memset(pattern, 0xa5, sizeof pattern);
    memcpy(ram, pattern, vm.cfg.ram_size);

    int rc = vmm_load(&vm, size ? data : NULL, size);
    if (rc != VLAB_OK) {
        if (memcmp(ram, pattern, vm.cfg.ram_size)) abort(); /* a rejected image wrote RAM */
        if (!vm.err[0]) abort();                            /* an error without its sentence */
        if (vm.multiboot) abort();                          /* half a Multiboot boot */
    } else {
        /* a plain ELF starts at e_entry (§2.2), which may be virtual; the rest at a physical
         * address, which must be in RAM */
        if (!vlab_is_elf(data, size) && vm.entry >= vm.cfg.ram_size) abort();
        if (vm.multiboot && vm.entry >= vm.cfg.ram_size) abort();
        if (vm.multiboot && vm.cfg.mode != VMM_MODE_PROTECTED) abort();
        if (vm.multiboot) {
            uint32_t flags;
            if (vlab_gpmem_read(&vm.mem, VMM_MBI_GPA, &flags, sizeof flags) ||
                !(flags & VMM_MBI_F_MEM))
                abort(); /* EBX would point at no information */
        }
    }
    vlab_gpmem_destroy(&vm.mem);
    return 0;
}
