/* Your VMM, part 1: the machine (handout §2 and §3).
 * Build it with `make grade LAB=vmm`; run a guest with build/labs/vmm/vlab-vmm. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vlab/loader.h"
#include "vlab/x86.h"
#include "vmm.h"

/* The test that called names the section; the message says only what is missing. */
static int not_done(struct vmm *vm, const char *what) {
    snprintf(vm->err, sizeof vm->err, "%s is still the skeleton's stub", what);
    return VLAB_ENOTIMPL;
}

/* §2.1: guest RAM, the backend, its memory slot, the vCPU, the watchdog, the UART, the block
 * device and the console. See harness/vmm/vmm.h for every field. */
int vmm_create(struct vmm *vm, const struct vmm_config *cfg) {
    vm->cfg = *cfg;
    vlab_gpmem_init(&vm->mem);
    return not_done(vm, "vmm_create");
}

/* §2.1: release everything vmm_create made, whatever state it was left in. */
void vmm_destroy(struct vmm *vm) {
    (void)vm;
}

/* §2.2, §2.3: a Multiboot kernel (look for its header first), an ELF32 or ELF64 executable,
 * or a flat binary (at VMM_LOAD_GPA, or where cfg.place_flat says); guest memory untouched on
 * any error. */
int vmm_load(struct vmm *vm, const void *image, size_t len) {
    (void)image, (void)len;
    return not_done(vm, "vmm_load");
}

/* §3: real (§3.1), protected (§3.2) and long mode (§3.3) entry states. */
int vmm_setup_mode(struct vmm *vm) {
    return not_done(vm, "vmm_setup_mode");
}
