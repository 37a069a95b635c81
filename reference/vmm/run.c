/* The run loop: every VM exit to its device model, hypercalls, and a report for whatever
 * stops the guest (handout §4, §5). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm.h"

static void say(struct vmm_result *res, enum vmm_outcome outcome, const char *fmt, ...) {
    res->outcome = outcome;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->why, sizeof res->why, fmt, ap);
    va_end(ap);
}

/* §4.5: the state the guest died in, for whoever debugs it. */
static void dump(struct vmm *vm, struct vmm_result *res) {
    FILE *f = fmemopen(res->dump, sizeof res->dump, "w");
    if (!f) return;
    vlab_hv_dump(vm->vcpu, f);
    fclose(f);
}

static uint64_t le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* ---- §4.4 the block device ---- */

static void doorbell(struct vmm *vm, uint32_t cmd) {
    struct vmm_blk *b = &vm->blk;
    const struct vmm_disk *d = vm->cfg.disk;
    uint32_t sectors = d ? d->sectors : 0;
    b->commands++;
    if (cmd != VMM_BLK_CMD_READ && cmd != VMM_BLK_CMD_WRITE) {
        b->status = VMM_BLK_ERR_CMD;
        return;
    }
    if (b->count == 0 || (uint64_t)b->sector + b->count > sectors) {
        b->status = VMM_BLK_ERR_RANGE;
        return;
    }
    size_t bytes = (size_t)b->count * VMM_BLK_SECTOR_SIZE;
    /* The guest names the buffer: all of it must be RAM, or the device touches nothing. */
    uint8_t *buf = vlab_gpmem_hva(&vm->mem, b->addr, bytes);
    if (!buf || b->addr + bytes < b->addr) {
        b->status = VMM_BLK_ERR_ADDR;
        return;
    }
    uint8_t *disk = d->data + (size_t)b->sector * VMM_BLK_SECTOR_SIZE;
    if (cmd == VMM_BLK_CMD_READ)
        memcpy(buf, disk, bytes);
    else
        memcpy(disk, buf, bytes);
    b->status = VMM_BLK_OK;
}

uint64_t vmm_blk_read(struct vmm *vm, uint64_t off, unsigned len) {
    const struct vmm_blk *b = &vm->blk;
    uint64_t v;
    switch (off) {
    case VMM_BLK_MAGIC: v = VMM_BLK_MAGIC_VALUE; break;
    case VMM_BLK_SECTORS: v = vm->cfg.disk ? vm->cfg.disk->sectors : 0; break;
    case VMM_BLK_SECTOR: v = b->sector; break;
    case VMM_BLK_COUNT: v = b->count; break;
    case VMM_BLK_ADDR_LO: v = b->addr; break; /* an 8-byte read gets both halves */
    case VMM_BLK_ADDR_HI: v = b->addr >> 32; break;
    case VMM_BLK_STATUS: v = b->status; break;
    default: v = 0;
    }
    return len < 8 ? v & ((1ull << (8 * len)) - 1) : v;
}

void vmm_blk_write(struct vmm *vm, uint64_t off, unsigned len, uint64_t value) {
    struct vmm_blk *b = &vm->blk;
    switch (off) {
    case VMM_BLK_SECTOR: b->sector = (uint32_t)value; break;
    case VMM_BLK_COUNT: b->count = (uint32_t)value; break;
    case VMM_BLK_ADDR_LO:
        b->addr = len == 8 ? value : (b->addr & ~0xffffffffull) | (uint32_t)value;
        break;
    case VMM_BLK_ADDR_HI:
        b->addr = (b->addr & 0xffffffffull) | (uint64_t)(uint32_t)value << 32;
        break;
    case VMM_BLK_CMD: doorbell(vm, (uint32_t)value); break;
    default: break; /* read-only and unknown registers ignore writes, as hardware does */
    }
}

/* ---- §5 hypercalls ---- */

bool vmm_hypercall(struct vmm *vm, struct vlab_regs *regs, uint64_t *code) {
    /* Outside long mode the upper halves are whatever the VMM loaded: only 32 bits count. */
    uint64_t mask = vm->cfg.mode == VMM_MODE_LONG ? ~0ull : 0xffffffffull;
    uint64_t nr = regs->rax & mask, a0 = regs->rbx & mask, a1 = regs->rcx & mask;
    int64_t ret;
    vm->hypercalls++;
    switch (nr) {
    case VMM_HC_CONSOLE_WRITE: {
        if (a1 > VMM_HC_MAX_WRITE) {
            ret = -VMM_EINVAL;
            break;
        }
        /* The guest's pointer is checked whole before a byte is read (a0 + a1 may wrap). */
        const void *p = a1 ? vlab_gpmem_hva(&vm->mem, a0, a1) : "";
        if (!p || a0 + a1 < a0) {
            ret = -VMM_EFAULT;
            break;
        }
        vmm_console_write(vm, p, a1);
        ret = (int64_t)a1;
        break;
    }
    case VMM_HC_GET_INFO: {
        struct vmm_info info = {
            .ram_size = vm->cfg.ram_size,
            .mode = vm->cfg.mode,
            .backend = vlab_hv_kind(vm->hv),
            .exits = vlab_hv_exit_count(vm->vcpu),
        };
        ret = vlab_gpmem_write(&vm->mem, a0, &info, sizeof info) == VLAB_OK ? 0 : -VMM_EFAULT;
        break;
    }
    case VMM_HC_EXIT:
        *code = a0;
        regs->rax = 0;
        return true;
    default: ret = -VMM_ENOSYS;
    }
    regs->rax = (uint64_t)ret & mask;
    return false;
}

/* ---- §4.2, §4.3 port I/O ---- */

static bool uart_port(uint16_t port) {
    return port >= VMM_UART_PORT && port < VMM_UART_PORT + 8;
}

/* One IN or OUT element; returns true when the guest is done (*res filled). */
static bool port_io(struct vmm *vm, struct vlab_exit *e, uint8_t *data, struct vmm_result *res) {
    uint16_t port = e->io.port;
    unsigned size = e->io.size;
    bool out = e->io.direction == VLAB_IO_OUT;
    if (out && port == VMM_EXIT_PORT) {
        res->code = le(data, size);
        say(res, VMM_EXITED, "the guest wrote %#llx to the exit port",
            (unsigned long long)res->code);
        return true;
    }
    if (out && port == VMM_HC_PORT) {
        struct vlab_regs r;
        uint64_t code = 0;
        if (vlab_hv_get_regs(vm->vcpu, &r) != VLAB_OK) {
            say(res, VMM_ERROR, "KVM_GET_REGS: %s", vlab_hv_error(vm->hv));
            return true;
        }
        bool done = vmm_hypercall(vm, &r, &code);
        if (vlab_hv_set_regs(vm->vcpu, &r) != VLAB_OK) {
            say(res, VMM_ERROR, "KVM_SET_REGS: %s", vlab_hv_error(vm->hv));
            return true;
        }
        if (done) {
            res->code = code;
            say(res, VMM_EXITED, "the guest asked to exit with %#llx", (unsigned long long)code);
        }
        return done;
    }
    /* A wide access to the UART reaches the registers one byte each, as on an ISA bus. */
    bool known = false;
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        if (p == VMM_DEBUGCON_PORT) {
            known = true;
            if (out)
                vmm_console_write(vm, &data[i], 1);
            else
                data[i] = VMM_DEBUGCON_PORT;
        } else if (uart_port(p)) {
            known = true;
            if (out)
                vlab_uart_write(&vm->uart, p - VMM_UART_PORT, data[i]);
            else
                data[i] = vlab_uart_read(&vm->uart, p - VMM_UART_PORT);
        } else if (!out) {
            data[i] = 0xff; /* nothing drives the bus */
        }
    }
    if (!known) vm->unknown_io++;
    return false;
}

/* ---- §4.1 the loop ---- */

static bool mmio(struct vmm *vm, struct vlab_exit *e, struct vmm_result *res) {
    uint64_t gpa = e->mmio.gpa;
    if (gpa >= VMM_BLK_BASE && gpa - VMM_BLK_BASE + e->mmio.len <= VMM_BLK_SIZE) {
        uint64_t off = gpa - VMM_BLK_BASE;
        if (e->mmio.is_write) {
            vmm_blk_write(vm, off, e->mmio.len, le(e->mmio.data, e->mmio.len));
        } else {
            uint64_t v = vmm_blk_read(vm, off, e->mmio.len);
            for (unsigned i = 0; i < e->mmio.len; i++)
                e->mmio.data[i] = (uint8_t)(v >> 8 * i);
        }
        return false;
    }
    res->code = gpa;
    say(res, VMM_BAD_MMIO,
        "the guest %s %u bytes at guest-physical %#llx, where there is neither "
        "RAM nor a device",
        e->mmio.is_write ? "wrote" : "read", e->mmio.len, (unsigned long long)gpa);
    dump(vm, res);
    return true;
}

static uint64_t total_exits(const struct vmm *vm) {
    uint64_t n = 0;
    for (unsigned r = 0; r <= VLAB_EXIT_TIMEOUT; r++)
        n += vm->exits[r];
    return n;
}

/* One exit to its device model; true when the guest is done (*res filled, *rc the result). */
static bool dispatch(struct vmm *vm, struct vlab_exit *e, struct vmm_result *res, int *rc) {
    *rc = VLAB_OK;
    switch (e->reason) {
    case VLAB_EXIT_IO:
        for (uint32_t i = 0; i < e->io.count; i++)
            if (port_io(vm, e, e->io.data + (size_t)i * e->io.size, res)) return true;
        return false;
    case VLAB_EXIT_MMIO: return mmio(vm, e, res);
    case VLAB_EXIT_HLT:
        /* A clean end: nothing to explain (vmm.h), and the tool prints no reason. */
        res->outcome = VMM_HALTED;
        return true;
    case VLAB_EXIT_SHUTDOWN: say(res, VMM_SHUTDOWN, "triple fault: %s", e->desc); break;
    case VLAB_EXIT_FAIL_ENTRY:
        say(res, VMM_FAIL_ENTRY, "VM entry failed (reason %#llx): %s",
            (unsigned long long)e->fail_entry.hardware_entry_failure_reason, e->desc);
        break;
    case VLAB_EXIT_INTERNAL_ERROR:
        say(res, VMM_INTERNAL_ERROR, "internal error (suberror %u): %s", e->internal.suberror,
            e->desc);
        break;
    case VLAB_EXIT_TIMEOUT: say(res, VMM_TIMEOUT, "%s", e->desc); break;
    default:
        say(res, VMM_ERROR, "an exit the VMM does not know: %d", (int)e->reason);
        *rc = VLAB_EINVAL;
        return true;
    }
    dump(vm, res);
    return true;
}

int vmm_run(struct vmm *vm, struct vmm_result *res) {
    memset(res, 0, sizeof *res);
    /* One exit structure for the whole loop, like KVM's kvm_run: the answer to an IN or an
     * MMIO read is written into it and picked up by the next vlab_hv_run. */
    struct vlab_exit e;
    memset(&e, 0, sizeof e);
    for (;;) {
        if (vm->cfg.max_exits && total_exits(vm) >= vm->cfg.max_exits) {
            say(res, VMM_LIMIT, "the guest made %llu VM exits without finishing",
                (unsigned long long)total_exits(vm));
            return VLAB_OK;
        }
        if (vmm_console_over(vm)) {
            say(res, VMM_LIMIT, "the guest printed more than %llu bytes",
                (unsigned long long)vm->cfg.max_output);
            return VLAB_OK;
        }
        int rc = vlab_hv_run(vm->vcpu, &e);
        if (rc != VLAB_OK) {
            say(res, VMM_ERROR, "KVM_RUN failed: %s", vlab_hv_error(vm->hv));
            return rc;
        }
        if ((unsigned)e.reason <= VLAB_EXIT_TIMEOUT) vm->exits[e.reason]++;
        bool done = dispatch(vm, &e, res, &rc);
        /* Traced after the answer, so an IN or MMIO read shows what the guest will read. */
        vmm_trace_exit(vm, &e);
        if (done) return rc;
    }
}
