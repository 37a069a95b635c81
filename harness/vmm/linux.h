/* vlab-vmm --linux: a Linux kernel booted through the 64-bit boot protocol (vlab/linux.h) on a
 * machine of the harness's own, not the lab's: the VMM students write polls its devices and has
 * no interrupt controller, and Linux needs one. The machine is a minimal PC on the kvm backend:
 *   - RAM at [0, ram_size), the e820 map of vlab_linux_plan;
 *   - KVM's in-kernel PICs, IO-APIC, local APIC and PIT (vlab_hv_create_irqchip) and the CPUID
 *     KVM supports (the kvm backend sets it before the first run);
 *   - COM1 (the core 16550 model) at 0x3f8 raising IRQ 4, its output on the console;
 *   - a CMOS clock at 0x70/0x71 that is never in an update cycle (a fixed date);
 *   - the exit port 0xf4 (as QEMU's isa-debug-exit: the guest's status ends the run) and the
 *     keyboard controller's reset (0xfe to port 0x64: `reboot`) end the run;
 *   - every other port reads as all ones (nothing on the bus), writes are dropped; so are
 *     accesses outside RAM (Linux without ACPI tables looks for no other device).
 * The unicorn backend has no interrupt controller: the boot is refused there with a sentence. */
#ifndef VLAB_VMM_LINUX_H
#define VLAB_VMM_LINUX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vlab/hv.h"
#include "vlab/linux.h"

#define VMM_LINUX_RAM       (256ull << 20)
#define VMM_LINUX_WATCHDOG  (120ull * 1000 * 1000) /* no exit for 2 min: the guest is stuck */
#define VMM_LINUX_COM1_IRQ  4
#define VMM_LINUX_CMOS      0x70
#define VMM_LINUX_KBD_CMD   0x64
#define VMM_LINUX_KBD_RESET 0xfe

struct vmm_linux_config {
    enum vlab_hv_kind backend;
    uint64_t ram_size; /* 0: VMM_LINUX_RAM */
    const void *kernel;
    size_t kernel_len;
    const void *initrd; /* NULL: no initramfs */
    size_t initrd_len;
    const char *cmdline;
    uint64_t watchdog_us; /* 0: VMM_LINUX_WATCHDOG */
    uint64_t max_exits;   /* 0: no limit */
    FILE *echo;           /* the console (NULL: kept only) */
    FILE *trace;          /* every exit to userspace, one line each (NULL: none) */
};

enum vmm_linux_outcome {
    VMM_LINUX_EXITED,  /* the guest wrote its status to port 0xf4 */
    VMM_LINUX_RESET,   /* the guest reset the machine (reboot) */
    VMM_LINUX_STOPPED, /* a triple fault, a failed entry, an internal error, the watchdog */
    VMM_LINUX_LIMIT,   /* max_exits reached */
    VMM_LINUX_REFUSED, /* the kernel or the machine could not be set up (why says) */
};

struct vmm_linux_result {
    enum vmm_linux_outcome outcome;
    uint64_t code;  /* VMM_LINUX_EXITED: what the guest wrote */
    char why[4096]; /* a sentence; for STOPPED the last exit and the registers */
    struct vlab_linux_layout layout;
    uint64_t exits; /* exits to the VMM (in-kernel ones are not seen) */
    uint64_t io_exits, mmio_exits, uart_exits, irq_edges, unknown_io;
    uint64_t console_bytes;
    double first_byte_s, total_s; /* wall time from the first KVM_RUN */
};

/* Loads and runs the kernel until one of the outcomes; returns VLAB_OK unless the machine
 * could not be built (outcome VMM_LINUX_REFUSED, res->why says why). */
int vmm_linux_boot(const struct vmm_linux_config *cfg, struct vmm_linux_result *res);
const char *vmm_linux_outcome_name(enum vmm_linux_outcome o);

#endif
