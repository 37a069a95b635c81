/* Hypervisor backend interface: one VM, its guest-physical memory slots and vCPUs, in KVM's
 * vocabulary, with two backends:
 *   kvm     - the real /dev/kvm ioctls (hardware VM entry / VM exit);
 *   unicorn - Unicorn 2 with the same exit semantics: an IO or MMIO exit stops the guest at
 *             that instruction and IN / MMIO-read data come from the VMM before it goes on.
 * The run loop of a VMM is the same on both:
 *
 *     for (;;) {
 *         vlab_hv_run(vcpu, &exit);
 *         switch (exit.reason) {
 *         case VLAB_EXIT_IO: if (exit.io.direction == VLAB_IO_IN) write exit.io.data ...
 *         ...
 *     }
 *
 * Every call returns a vlab_err code (0 = OK); vlab_hv_error() says what went wrong in words.
 * See docs/architecture.md, "Hypervisor backends", for the differences that remain. */
#ifndef VLAB_HV_H
#define VLAB_HV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vlab/gpmem.h"

enum vlab_hv_kind {
    VLAB_HV_AUTO = 0, /* kvm when /dev/kvm opens, else unicorn */
    VLAB_HV_KVM = 1,
    VLAB_HV_UNICORN = 2,
};

struct vlab_hv;
struct vlab_vcpu;

/* ---- registers (the layouts of struct kvm_regs / kvm_sregs) ---- */
struct vlab_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip, rflags;
};

/* The hidden (descriptor-cache) part of a segment register, as VMX and kvm_segment hold it.
 * limit is byte-granular (already scaled by g). */
struct vlab_seg {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type; /* 4 bits: X86_SEG_TYPE_* */
    uint8_t present, dpl, db, s, l, g, avl;
    uint8_t unusable; /* VMX's "segment unusable" (a null selector loaded) */
};

struct vlab_dtable {
    uint64_t base;
    uint16_t limit;
};

struct vlab_sregs {
    struct vlab_seg cs, ds, es, fs, gs, ss;
    struct vlab_seg tr, ldt;
    struct vlab_dtable gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
};

/* ---- VM exits ---- */
enum vlab_exit_reason {
    VLAB_EXIT_NONE = 0,
    VLAB_EXIT_IO,             /* IN/OUT: the guest is stopped at the instruction */
    VLAB_EXIT_MMIO,           /* a load/store to a guest-physical address with no memory slot */
    VLAB_EXIT_HLT,            /* hlt executed; rip is past it */
    VLAB_EXIT_SHUTDOWN,       /* triple fault: an exception the guest's IDT could not deliver */
    VLAB_EXIT_FAIL_ENTRY,     /* VM entry refused the guest state */
    VLAB_EXIT_INTERNAL_ERROR, /* the hypervisor could not go on (e.g. fetch from MMIO) */
    VLAB_EXIT_TIMEOUT,        /* the watchdog expired: the guest ran too long without an exit */
};

#define VLAB_IO_IN  0
#define VLAB_IO_OUT 1

/* KVM's internal-error suberrors (KVM_INTERNAL_ERROR_*). */
#define VLAB_INTERNAL_EMULATION   1 /* an instruction could not be emulated */
#define VLAB_INTERNAL_SIMUL_EX    2 /* exception while delivering an exception */
#define VLAB_INTERNAL_DELIVERY_EV 3
#define VLAB_INTERNAL_BACKEND     0x100 /* vlab: a backend failure with no KVM equivalent */

/* VMX "VM-entry failure due to invalid guest state" as KVM reports it. */
#define VLAB_ENTRY_INVALID_GUEST_STATE 0x80000021ull

struct vlab_exit {
    enum vlab_exit_reason reason;
    union {
        struct {
            uint8_t direction; /* VLAB_IO_IN / VLAB_IO_OUT */
            uint8_t size;      /* 1, 2 or 4 bytes per element */
            uint16_t port;
            uint32_t count; /* elements (rep ins/outs on kvm; always 1 on unicorn) */
            /* size * count bytes owned by the backend, valid until the next run: OUT data to
             * read, or where the VMM writes IN data before the next vlab_hv_run (KVM's kvm_run
             * io data area). */
            uint8_t *data;
        } io;
        struct {
            uint64_t gpa;
            uint32_t len; /* 1, 2, 4 or 8 */
            uint8_t is_write;
            uint8_t data[8]; /* write: the value; read: the VMM fills it before the next run */
        } mmio;
        struct {
            uint64_t hardware_entry_failure_reason;
        } fail_entry;
        struct {
            uint32_t suberror;
        } internal;
        struct {
            int vector; /* the exception that could not be delivered, -1 if unknown (kvm) */
        } shutdown;
    };
    char desc[160]; /* a sentence for SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR, TIMEOUT */
};

/* ---- the VM ---- */

/* Opens a VM on the chosen backend; NULL with a message in err on failure. */
struct vlab_hv *vlab_hv_open(enum vlab_hv_kind kind, char *err, size_t errlen);
/* Destroys the VM and its vCPUs (guest memory stays the caller's). NULL is fine. */
void vlab_hv_close(struct vlab_hv *hv);
enum vlab_hv_kind vlab_hv_kind(const struct vlab_hv *hv);
/* "auto", "kvm", "unicorn" ("?" for anything else). */
const char *vlab_hv_kind_name(enum vlab_hv_kind kind);
/* Parses a --backend value; VLAB_EINVAL for an unknown name. */
int vlab_hv_kind_parse(const char *name, enum vlab_hv_kind *kind);
/* The last error on this VM (or its vCPUs) in words; "" if none. */
const char *vlab_hv_error(const struct vlab_hv *hv);

#define VLAB_HV_MAP_READONLY (1u << 0)
#define VLAB_HV_MAX_SLOTS    32

/* Maps [gpa, gpa+size) to host memory hva (a memory slot, KVM_SET_USER_MEMORY_REGION).
 * gpa, size and hva must be 4 KiB aligned, size > 0, slots may not overlap; size 0 deletes
 * the slot. Every guest-physical address outside the slots is MMIO. */
int vlab_hv_map(struct vlab_hv *hv, unsigned slot, uint64_t gpa, uint64_t size, void *hva,
                unsigned flags);
/* Maps every region of a gpmem map, slot i = region i. */
int vlab_hv_map_gpmem(struct vlab_hv *hv, const struct vlab_gpmem *mem);
/* Tells the backend that guest code in [gpa, gpa+len) was changed through the host pointer
 * (unicorn caches translations; kvm needs nothing). */
int vlab_hv_code_changed(struct vlab_hv *hv, uint64_t gpa, uint64_t len);

/* ---- interrupt controllers (kvm only) ----
 * What a guest that takes interrupts needs and the lab's polling guests do not: KVM's in-kernel
 * 8259 PICs, IO-APIC and local APICs (KVM_CREATE_IRQCHIP) and its 8254 PIT (KVM_CREATE_PIT2),
 * so a Linux guest's timer and halts never leave the kernel. Call it before the first vCPU is
 * created. With it, HLT no longer exits to the VMM (the vCPU sleeps in the kernel until an
 * interrupt), and a device model raises its ISA interrupt with vlab_hv_irq_line. The unicorn
 * backend has no interrupt controller: both refuse with VLAB_EUNSUPP and say so. */
int vlab_hv_create_irqchip(struct vlab_hv *hv);
/* Drives ISA interrupt line irq (0-15, the PIC's inputs; 0-23 reach the IO-APIC) to level
 * (KVM_IRQ_LINE). The PIC latches edges: a device asserts 1 when its interrupt becomes pending
 * and 0 when it is acknowledged, as the wire on a PC would. */
int vlab_hv_irq_line(struct vlab_hv *hv, unsigned irq, int level);

/* ---- vCPUs ---- */
struct vlab_vcpu *vlab_hv_vcpu_create(struct vlab_hv *hv, char *err, size_t errlen);
void vlab_hv_vcpu_destroy(struct vlab_vcpu *vcpu);
int vlab_hv_get_regs(struct vlab_vcpu *vcpu, struct vlab_regs *regs);
int vlab_hv_set_regs(struct vlab_vcpu *vcpu, const struct vlab_regs *regs);
int vlab_hv_get_sregs(struct vlab_vcpu *vcpu, struct vlab_sregs *sregs);
/* Rejects what KVM_SET_SREGS rejects (EFER.LMA not matching CR0.PG && EFER.LME, a 64-bit CS
 * outside long mode, long mode without CR4.PAE) with VLAB_EINVAL. */
int vlab_hv_set_sregs(struct vlab_vcpu *vcpu, const struct vlab_sregs *sregs);

/* Runs the guest until the next VM exit. Returns VLAB_OK with *exit filled, or an error when
 * the backend itself failed (exit->reason is then VLAB_EXIT_NONE). */
int vlab_hv_run(struct vlab_vcpu *vcpu, struct vlab_exit *exit);
/* Bounds the guest time of each vlab_hv_run; 0 turns the watchdog off. */
int vlab_hv_set_watchdog(struct vlab_vcpu *vcpu, uint64_t usec);
/* Exits taken by this vCPU so far (every reason). */
uint64_t vlab_hv_exit_count(const struct vlab_vcpu *vcpu);

/* "IO", "MMIO", "HLT", ... */
const char *vlab_exit_name(enum vlab_exit_reason reason);
/* One line describing an exit, e.g. "IO out port 0x3f8 size 1 data 0x41". */
void vlab_exit_str(const struct vlab_exit *exit, char *buf, size_t len);
/* A register dump (general, segment, control and descriptor-table registers) for reports. */
void vlab_hv_dump(struct vlab_vcpu *vcpu, FILE *out);

/* ---- reference entry states (hv_modes.c) ----
 * Each sets regs/sregs for a guest entered at `entry`; the page-table and GDT helpers write
 * their structures into guest memory through mem. */
struct vlab_mode_setup {
    uint64_t entry; /* first instruction (a linear address; real mode: CS:IP split from it) */
    uint64_t stack; /* initial stack pointer */
    uint64_t gdt;   /* gpa for the GDT (protected/long mode) */
    uint64_t pt_pool_start, pt_pool_end; /* page-table pages (long mode) */
    uint64_t identity_size;              /* bytes identity-mapped with 2 MiB pages (long mode) */
    uint64_t tss;                        /* gpa of the 104-byte TSS (long mode) */
};
/* Real mode: CS = entry >> 4 rounded to a paragraph, base = selector << 4, 64 KiB limits. */
int vlab_mode_real(struct vlab_vcpu *vcpu, const struct vlab_mode_setup *s);
/* 32-bit protected mode, flat 4 GiB code/data segments from a GDT written at s->gdt. */
int vlab_mode_protected(struct vlab_vcpu *vcpu, struct vlab_gpmem *mem,
                        const struct vlab_mode_setup *s);
/* Long mode: identity map of [0, identity_size) with 2 MiB pages, CR4.PAE, EFER.LME|LMA,
 * CR0.PG|PE, a 64-bit CS and a busy 64-bit TSS in TR (VMX requires a usable TR). */
int vlab_mode_long(struct vlab_vcpu *vcpu, struct vlab_gpmem *mem, const struct vlab_mode_setup *s);
/* Fills a vlab_seg from a selector and an x86_segment-style attribute word. */
void vlab_seg_from_attr(struct vlab_seg *seg, uint16_t selector, uint64_t base, uint32_t limit,
                        uint16_t attr);

#endif
