/* Your VMM, part 2: the run loop, the devices and the hypercalls (handout §4 and §5). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm.h"

/* §4.4: the block device's registers. */
uint64_t vmm_blk_read(struct vmm *vm, uint64_t off, unsigned len) {
    (void)vm, (void)off, (void)len;
    return 0;
}

void vmm_blk_write(struct vmm *vm, uint64_t off, unsigned len, uint64_t value) {
    (void)vm, (void)off, (void)len, (void)value;
}

/* §5: one hypercall; the result goes in regs->rax. */
bool vmm_hypercall(struct vmm *vm, struct vlab_regs *regs, uint64_t *code) {
    (void)vm, (void)code;
    regs->rax = (uint64_t)-VMM_ENOSYS;
    return false;
}

/* §4.1: the loop: run, count the exit, dispatch it, until the guest is done. */
int vmm_run(struct vmm *vm, struct vmm_result *res) {
    (void)vm;
    memset(res, 0, sizeof *res);
    res->outcome = VMM_ERROR;
    snprintf(res->why, sizeof res->why, "vmm_run is still the skeleton's stub");
    return VLAB_ENOTIMPL;
}
