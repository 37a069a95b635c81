/* vlab-vmm --linux: the minimal PC a Linux kernel boots on (linux.h). */
#include "linux.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vlab/err.h"
#include "vlab/gpmem.h"
#include "vlab/uart.h"

struct machine {
    const struct vmm_linux_config *cfg;
    struct vmm_linux_result *res;
    struct vlab_hv *hv;
    struct vlab_vcpu *vcpu;
    struct vlab_uart uart;
    int irq4; /* the level last driven on IRQ 4 */
    uint8_t cmos_index;
    uint8_t cmos[128];
    struct timespec t0;
    bool printed;
};

static double since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void why(struct vmm_linux_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void why(struct vmm_linux_result *res, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->why, sizeof res->why, fmt, ap);
    va_end(ap);
}

static void console_tx(void *ctx, uint8_t byte) {
    struct machine *m = ctx;
    if (!m->printed) m->res->first_byte_s = since(&m->t0);
    m->printed = true;
    m->res->console_bytes++;
    if (m->cfg->echo) {
        fputc(byte, m->cfg->echo);
        if (byte == '\n') fflush(m->cfg->echo);
    }
}

/* The wire from the UART to the PIC follows the UART's interrupt output after every access:
 * the PIC sees an edge when an interrupt becomes pending. */
static int drive_irq4(struct machine *m) {
    int level = vlab_uart_irq(&m->uart);
    if (level == m->irq4) return VLAB_OK;
    m->irq4 = level;
    if (level) m->res->irq_edges++;
    return vlab_hv_irq_line(m->hv, VMM_LINUX_COM1_IRQ, level);
}

static uint8_t bcd(unsigned v) {
    return (uint8_t)((v / 10) << 4 | (v % 10));
}

/* A clock that is never in an update cycle (register A's UIP bit clear), in BCD, 24-hour:
 * Linux reads the date once at boot and waits for UIP to clear first. */
static void cmos_init(struct machine *m) {
    memset(m->cmos, 0, sizeof m->cmos);
    m->cmos[0x04] = bcd(12); /* hour */
    m->cmos[0x06] = 5;       /* day of the week */
    m->cmos[0x07] = bcd(1);  /* day */
    m->cmos[0x08] = bcd(1);  /* month */
    m->cmos[0x09] = bcd(26); /* year */
    m->cmos[0x0a] = 0x26;    /* 32.768 kHz time base, 1024 Hz rate, UIP clear */
    m->cmos[0x0b] = 0x02;    /* 24-hour, BCD, no interrupts */
    m->cmos[0x0d] = 0x80;    /* the battery is good */
    m->cmos[0x32] = bcd(20); /* century */
}

/* One byte of port I/O; true when the run is over. */
static bool port_byte(struct machine *m, uint16_t port, bool out, uint8_t *v) {
    struct vmm_linux_result *res = m->res;
    if (port >= VLAB_UART_COM1 && port < VLAB_UART_COM1 + 8) {
        res->uart_exits++;
        if (out)
            vlab_uart_write(&m->uart, port - VLAB_UART_COM1, *v);
        else
            *v = vlab_uart_read(&m->uart, port - VLAB_UART_COM1);
        if (drive_irq4(m) != VLAB_OK) {
            res->outcome = VMM_LINUX_STOPPED;
            why(res, "KVM_IRQ_LINE: %s", vlab_hv_error(m->hv));
            return true;
        }
        return false;
    }
    if (port == VMM_LINUX_CMOS || port == VMM_LINUX_CMOS + 1) {
        if (port == VMM_LINUX_CMOS) {
            if (out)
                m->cmos_index = *v & 0x7f; /* bit 7 masks NMIs */
            else
                *v = 0xff;
        } else if (out) {
            if (m->cmos_index > 0x0d) m->cmos[m->cmos_index] = *v; /* the clock stays fixed */
        } else {
            *v = m->cmos[m->cmos_index];
        }
        return false;
    }
    if (out && port == VMM_LINUX_KBD_CMD && *v == VMM_LINUX_KBD_RESET) {
        res->outcome = VMM_LINUX_RESET;
        why(res, "the guest reset the machine through the keyboard controller (reboot)");
        return true;
    }
    res->unknown_io++;
    if (!out) *v = 0xff;
    return false;
}

static bool io_exit(struct machine *m, struct vlab_exit *e) {
    m->res->io_exits++;
    bool out = e->io.direction == VLAB_IO_OUT;
    for (uint32_t i = 0; i < e->io.count; i++) {
        uint8_t *d = e->io.data + (size_t)i * e->io.size;
        if (out && e->io.port == 0xf4) {
            uint64_t v = 0;
            for (unsigned b = e->io.size; b-- > 0;)
                v = v << 8 | d[b];
            m->res->outcome = VMM_LINUX_EXITED;
            m->res->code = v;
            why(m->res, "the guest wrote %#llx to the exit port", (unsigned long long)v);
            return true;
        }
        for (unsigned b = 0; b < e->io.size; b++)
            if (port_byte(m, (uint16_t)(e->io.port + b), out, &d[b])) return true;
    }
    return false;
}

static void stopped(struct machine *m, const struct vlab_exit *e) {
    char line[200], regs[2048] = "";
    vlab_exit_str(e, line, sizeof line);
    FILE *f = fmemopen(regs, sizeof regs, "w");
    if (f) {
        vlab_hv_dump(m->vcpu, f);
        fclose(f);
    }
    m->res->outcome = VMM_LINUX_STOPPED;
    /* vlab_exit_str already says what desc says */
    why(m->res, "%s\n%s", line, regs);
}

static void trace(struct machine *m, const struct vlab_exit *e) {
    if (!m->cfg->trace) return;
    char line[200];
    vlab_exit_str(e, line, sizeof line);
    fprintf(m->cfg->trace, "exit %llu: %s\n", (unsigned long long)m->res->exits, line);
}

static void run(struct machine *m) {
    struct vmm_linux_result *res = m->res;
    struct vlab_exit e;
    memset(&e, 0, sizeof e);
    clock_gettime(CLOCK_MONOTONIC, &m->t0);
    for (;;) {
        if (m->cfg->max_exits && res->exits >= m->cfg->max_exits) {
            res->outcome = VMM_LINUX_LIMIT;
            why(res, "%llu exits to the VMM without an end", (unsigned long long)res->exits);
            return;
        }
        if (vlab_hv_run(m->vcpu, &e) != VLAB_OK) {
            res->outcome = VMM_LINUX_STOPPED;
            why(res, "KVM_RUN failed: %s", vlab_hv_error(m->hv));
            return;
        }
        res->exits++;
        bool done = false;
        switch (e.reason) {
        case VLAB_EXIT_IO: done = io_exit(m, &e); break;
        case VLAB_EXIT_MMIO:
            /* No device lives outside RAM here: reads float high, writes go nowhere. */
            res->mmio_exits++;
            if (!e.mmio.is_write) memset(e.mmio.data, 0xff, sizeof e.mmio.data);
            break;
        default: stopped(m, &e); done = true;
        }
        trace(m, &e);
        if (done) return;
    }
}

const char *vmm_linux_outcome_name(enum vmm_linux_outcome o) {
    switch (o) {
    case VMM_LINUX_EXITED: return "exited";
    case VMM_LINUX_RESET: return "reset";
    case VMM_LINUX_STOPPED: return "stopped";
    case VMM_LINUX_LIMIT: return "limit";
    case VMM_LINUX_REFUSED: return "refused";
    }
    return "?";
}

int vmm_linux_boot(const struct vmm_linux_config *cfg, struct vmm_linux_result *res) {
    memset(res, 0, sizeof *res);
    res->outcome = VMM_LINUX_REFUSED;
    struct machine m = {.cfg = cfg, .res = res};
    uint64_t ram = cfg->ram_size ? cfg->ram_size : VMM_LINUX_RAM;
    char err[300];
    int rc = VLAB_OK;
    struct vlab_gpmem mem;
    vlab_gpmem_init(&mem);
    /* The kernel is checked before anything is built: a bad image is a sentence, not a VM. */
    struct vlab_bzimage bz;
    struct vlab_linux_layout l;
    if ((rc = vlab_bzimage_parse(cfg->kernel, cfg->kernel_len, &bz, err, sizeof err)) != VLAB_OK ||
        (rc = vlab_linux_plan(&bz, ram, cfg->cmdline ? strlen(cfg->cmdline) : 0, cfg->initrd_len,
                              &l, err, sizeof err)) != VLAB_OK) {
        why(res, "cannot boot this kernel: %s", err);
        return rc;
    }
    m.hv = vlab_hv_open(cfg->backend, err, sizeof err);
    if (!m.hv) {
        why(res, "cannot open the hypervisor: %s", err);
        return VLAB_EIO;
    }
    if ((rc = vlab_hv_create_irqchip(m.hv)) != VLAB_OK) {
        why(res, "%s", vlab_hv_error(m.hv));
        goto out;
    }
    if ((rc = vlab_gpmem_add_ram(&mem, 0, ram, "ram")) != VLAB_OK ||
        (rc = vlab_hv_map_gpmem(m.hv, &mem)) != VLAB_OK) {
        why(res, "cannot give the guest %llu MiB of RAM: %s", (unsigned long long)(ram >> 20),
            rc == VLAB_ENOMEM ? "out of memory" : vlab_hv_error(m.hv));
        goto out;
    }
    if ((rc = vlab_load_linux(&mem, ram, cfg->kernel, cfg->kernel_len, cfg->initrd, cfg->initrd_len,
                              cfg->cmdline, &res->layout, err, sizeof err)) != VLAB_OK) {
        why(res, "cannot load the kernel: %s", err);
        goto out;
    }
    if (!(m.vcpu = vlab_hv_vcpu_create(m.hv, err, sizeof err))) {
        why(res, "cannot create the vCPU: %s", err);
        rc = VLAB_EIO;
        goto out;
    }
    if ((rc = vlab_linux_entry(m.vcpu, &res->layout)) != VLAB_OK) {
        why(res, "cannot load the 64-bit entry state: %s", vlab_hv_error(m.hv));
        goto out;
    }
    vlab_hv_set_watchdog(m.vcpu, cfg->watchdog_us ? cfg->watchdog_us : VMM_LINUX_WATCHDOG);
    vlab_uart_init(&m.uart, console_tx, &m);
    cmos_init(&m);
    run(&m);
    res->total_s = since(&m.t0);
    if (cfg->echo) fflush(cfg->echo);
out:
    vlab_hv_close(m.hv);
    vlab_gpmem_destroy(&mem);
    return res->outcome == VMM_LINUX_REFUSED ? (rc ? rc : VLAB_EINVAL) : VLAB_OK;
}
