/* The guest's console: the bytes it printed through the UART or a hypercall, kept for the
 * tests and echoed for the command-line tool. */
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

int vmm_console_init(struct vmm *vm) {
    struct vmm_console *c = &vm->console;
    memset(c, 0, sizeof *c);
    c->buf = calloc(1, VMM_CONSOLE_KEEP + 1);
    if (!c->buf) return VLAB_ENOMEM;
    c->echo = vm->cfg.echo;
    return VLAB_OK;
}

void vmm_console_free(struct vmm *vm) {
    free(vm->console.buf);
    vm->console.buf = NULL;
}

void vmm_console_write(struct vmm *vm, const void *buf, size_t len) {
    struct vmm_console *c = &vm->console;
    c->writes++;
    c->total += len;
    if (c->buf && c->len < VMM_CONSOLE_KEEP) {
        size_t keep = len < VMM_CONSOLE_KEEP - c->len ? len : VMM_CONSOLE_KEEP - c->len;
        memcpy(c->buf + c->len, buf, keep);
        c->len += keep;
        c->buf[c->len] = 0;
    }
    if (c->echo) {
        fwrite(buf, 1, len, c->echo);
        fflush(c->echo);
    }
}

void vmm_uart_tx(void *ctx, uint8_t byte) {
    vmm_console_write(ctx, &byte, 1);
}

bool vmm_console_over(const struct vmm *vm) {
    return vm->cfg.max_output && vm->console.total > vm->cfg.max_output;
}
