/* The machine: guest RAM, the guest image, and the vCPU's entry state (handout §2, §3). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vlab/loader.h"
#include "vlab/x86.h"
#include "vmm.h"

#define SEL_CODE  0x08
#define SEL_DATA  0x10
#define SEL_TSS   0x18
#define TSS_LIMIT 0x67 /* 104 bytes, no I/O permission bitmap */

static int fail(struct vmm *vm, int rc, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->err, sizeof vm->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* §2.1 */
int vmm_create(struct vmm *vm, const struct vmm_config *cfg) {
    vm->cfg = *cfg;
    vlab_gpmem_init(&vm->mem);
    uint64_t size = cfg->ram_size;
    if (size < VMM_RAM_MIN || size > VMM_RAM_MAX || size % 4096)
        return fail(vm, VLAB_EINVAL,
                    "guest RAM of %llu bytes: it must be a multiple of 4 KiB between 1 MiB and "
                    "3 GiB (the device hole starts above it)",
                    (unsigned long long)size);
    int rc = vlab_gpmem_add_ram(&vm->mem, 0, size, "ram");
    if (rc != VLAB_OK)
        return fail(vm, rc, "cannot allocate %llu bytes of guest RAM", (unsigned long long)size);
    char err[256];
    vm->hv = vlab_hv_open(cfg->backend, err, sizeof err);
    if (!vm->hv) {
        rc = fail(vm, VLAB_EIO, "cannot open the %s backend: %s", vlab_hv_kind_name(cfg->backend),
                  err);
        goto undo;
    }
    /* Only RAM gets a memory slot: everything else the guest touches is an MMIO exit. */
    if ((rc = vlab_hv_map_gpmem(vm->hv, &vm->mem)) != VLAB_OK) {
        fail(vm, rc, "cannot map guest RAM: %s", vlab_hv_error(vm->hv));
        goto undo;
    }
    vm->vcpu = vlab_hv_vcpu_create(vm->hv, err, sizeof err);
    if (!vm->vcpu) {
        rc = fail(vm, VLAB_EIO, "cannot create the vCPU: %s", err);
        goto undo;
    }
    if ((rc = vlab_hv_set_watchdog(vm->vcpu, cfg->watchdog_us)) != VLAB_OK) {
        fail(vm, rc, "cannot arm the watchdog: %s", vlab_hv_error(vm->hv));
        goto undo;
    }
    vlab_uart_init(&vm->uart, vmm_uart_tx, vm);
    memset(&vm->blk, 0, sizeof vm->blk);
    vm->blk.status = VMM_BLK_IDLE;
    if ((rc = vmm_console_init(vm)) != VLAB_OK) {
        fail(vm, rc, "cannot allocate the console");
        goto undo;
    }
    return VLAB_OK;
undo:
    vmm_destroy(vm);
    return rc;
}

void vmm_destroy(struct vmm *vm) {
    vlab_hv_close(vm->hv); /* the vCPU goes with it */
    vm->hv = NULL;
    vm->vcpu = NULL;
    vlab_gpmem_destroy(&vm->mem);
    vmm_console_free(vm);
}

/* §2.2 */
int vmm_load(struct vmm *vm, const void *image, size_t len) {
    char err[256];
    if (!image || len == 0) return fail(vm, VLAB_EINVAL, "the guest image is empty");
    if (len >= 4 && !memcmp(image, "\177ELF", 4)) {
        /* Validate where it would land before writing: the loader only checks guest RAM. A
         * throw-away map with RAM from VMM_LOAD_GPA up gives the same checks for the low end. */
        struct vlab_gpmem probe;
        vlab_gpmem_init(&probe);
        int rc = vlab_gpmem_add_region(&probe, VMM_LOAD_GPA, vm->cfg.ram_size - VMM_LOAD_GPA,
                                       vm->mem.region[0].hva + VMM_LOAD_GPA, 0, "probe");
        struct vlab_elf_info info;
        if (rc == VLAB_OK) rc = vlab_load_elf64(&probe, image, len, &info, err, sizeof err);
        vlab_gpmem_destroy(&probe);
        if (rc != VLAB_OK)
            return fail(vm, rc, "ELF64 image rejected: %s%s", err,
                        rc == VLAB_ERANGE ? " (it must lie in RAM above 0x10000)" : "");
        vm->entry = info.entry;
        return VLAB_OK;
    }
    if (len > vm->cfg.ram_size - VMM_LOAD_GPA)
        return fail(vm, VLAB_ERANGE,
                    "flat image of %zu bytes does not fit in guest RAM above 0x10000 (%llu bytes)",
                    len, (unsigned long long)(vm->cfg.ram_size - VMM_LOAD_GPA));
    int rc = vlab_load_flat_buf(&vm->mem, image, len, VMM_LOAD_GPA, err, sizeof err);
    if (rc != VLAB_OK) return fail(vm, rc, "flat image rejected: %s", err);
    vm->entry = VMM_LOAD_GPA;
    return VLAB_OK;
}

/* Registers every mode shares: the entry point, the stack, interrupts off. */
static int load_regs(struct vmm *vm, uint64_t rip, uint64_t rsp) {
    struct vlab_regs r;
    memset(&r, 0, sizeof r);
    r.rip = rip;
    r.rsp = rsp;
    r.rflags = X86_RFLAGS_FIXED;
    int rc = vlab_hv_set_regs(vm->vcpu, &r);
    return rc == VLAB_OK ? rc : fail(vm, rc, "KVM_SET_REGS: %s", vlab_hv_error(vm->hv));
}

static int load_sregs(struct vmm *vm, const struct vlab_sregs *s) {
    int rc = vlab_hv_set_sregs(vm->vcpu, s);
    return rc == VLAB_OK ? rc : fail(vm, rc, "KVM_SET_SREGS: %s", vlab_hv_error(vm->hv));
}

/* §3.1: base = selector * 16 in every segment, 64 KiB limits, CR0.PE clear. */
static int setup_real(struct vmm *vm, struct vlab_sregs *s) {
    if (vm->entry >= 0x100000)
        return fail(vm, VLAB_EINVAL, "real mode cannot reach entry %#llx",
                    (unsigned long long)vm->entry);
    uint16_t cs = (uint16_t)(vm->entry >> 4 & 0xf000);
    vlab_seg_from_attr(&s->cs, cs, (uint64_t)cs << 4, 0xffff, X86_ATTR_CODE16);
    vlab_seg_from_attr(&s->ds, cs, (uint64_t)cs << 4, 0xffff, X86_ATTR_DATA16);
    s->es = s->fs = s->gs = s->ds;
    vlab_seg_from_attr(&s->ss, 0, 0, 0xffff, X86_ATTR_DATA16);
    vlab_seg_from_attr(&s->tr, 0, 0, 0xffff, X86_SEG_TYPE_TSS_BUSY | X86_SEG_P);
    vlab_seg_from_attr(&s->ldt, 0, 0, 0xffff, X86_SEG_TYPE_LDT | X86_SEG_P);
    s->gdt.limit = 0xffff;
    s->idt.limit = 0x3ff; /* the interrupt vector table at 0 */
    s->cr0 = X86_CR0_ET;
    int rc = load_sregs(vm, s);
    return rc ? rc : load_regs(vm, vm->entry - ((uint64_t)cs << 4), VMM_STACK_TOP);
}

/* §3.2 and §3.3: the GDT in guest memory and segment registers that match it. */
static int setup_segments(struct vmm *vm, struct vlab_sregs *s, bool long_mode) {
    uint16_t code = long_mode ? X86_ATTR_CODE64 : X86_ATTR_CODE32;
    struct x86_gdt gdt;
    x86_gdt_init(&gdt);
    if (x86_gdt_add(&gdt, 0, 0xffffffff, code) != SEL_CODE ||
        x86_gdt_add(&gdt, 0, 0xffffffff, X86_ATTR_DATA32) != SEL_DATA)
        return fail(vm, VLAB_EINVAL, "cannot build the GDT");
    uint16_t tss = X86_SEG_TYPE_TSS_BUSY | X86_SEG_P;
    int tr = long_mode ? x86_gdt_add_system64(&gdt, VMM_TSS_GPA, TSS_LIMIT, tss)
                       : x86_gdt_add(&gdt, VMM_TSS_GPA, TSS_LIMIT, tss);
    if (tr != SEL_TSS) return fail(vm, VLAB_EINVAL, "cannot add the TSS to the GDT");
    int rc = vlab_gpmem_write(&vm->mem, VMM_GDT_GPA, gdt.entry, x86_gdt_size(&gdt));
    if (rc == VLAB_OK) rc = vlab_gpmem_fill(&vm->mem, VMM_TSS_GPA, 0, TSS_LIMIT + 1);
    if (rc != VLAB_OK) return fail(vm, rc, "cannot write the GDT and TSS into guest memory");
    s->gdt.base = VMM_GDT_GPA;
    s->gdt.limit = x86_gdt_limit(&gdt);
    vlab_seg_from_attr(&s->cs, SEL_CODE, 0, 0xffffffff, code);
    vlab_seg_from_attr(&s->ds, SEL_DATA, 0, 0xffffffff, X86_ATTR_DATA32);
    s->es = s->fs = s->gs = s->ss = s->ds;
    vlab_seg_from_attr(&s->tr, SEL_TSS, VMM_TSS_GPA, TSS_LIMIT, tss);
    vlab_seg_from_attr(&s->ldt, 0, 0, 0, 0);
    s->ldt.unusable = 1;
    s->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
    return VLAB_OK;
}

/* §3.3: PML4[0] -> PDPT; PDPT[i] -> PD i; each PD maps 1 GiB with 2 MiB pages. */
static int identity_map(struct vmm *vm) {
    const uint64_t pml4 = VMM_PT_GPA, pdpt = pml4 + 4096, pd = pdpt + 4096;
    const uint64_t table = X86_PTE_P | X86_PTE_RW;
    int rc = vlab_gpmem_fill(&vm->mem, VMM_PT_GPA, 0, VMM_PT_END - VMM_PT_GPA);
    if (rc == VLAB_OK) rc = vlab_gpmem_write_u64(&vm->mem, pml4, pdpt | table);
    for (uint64_t g = 0; rc == VLAB_OK && g < VMM_IDENTITY >> 30; g++) {
        rc = vlab_gpmem_write_u64(&vm->mem, pdpt + 8 * g, (pd + 4096 * g) | table);
        for (uint64_t i = 0; rc == VLAB_OK && i < 512; i++) {
            uint64_t pa = g << 30 | i << 21;
            rc = vlab_gpmem_write_u64(&vm->mem, pd + 4096 * g + 8 * i, pa | table | X86_PTE_PS);
        }
    }
    return rc == VLAB_OK ? rc : fail(vm, rc, "cannot write the page tables into guest memory");
}

/* §3 */
int vmm_setup_mode(struct vmm *vm) {
    struct vlab_sregs s;
    int rc = vlab_hv_get_sregs(vm->vcpu, &s);
    if (rc != VLAB_OK) return fail(vm, rc, "KVM_GET_SREGS: %s", vlab_hv_error(vm->hv));
    uint64_t apic = s.apic_base; /* the one field the VMM does not own */
    memset(&s, 0, sizeof s);
    s.apic_base = apic;
    switch (vm->cfg.mode) {
    case VMM_MODE_REAL: return setup_real(vm, &s);
    case VMM_MODE_PROTECTED:
        if ((rc = setup_segments(vm, &s, false)) != VLAB_OK) return rc;
        break;
    case VMM_MODE_LONG:
        if ((rc = setup_segments(vm, &s, true)) != VLAB_OK || (rc = identity_map(vm)) != VLAB_OK)
            return rc;
        s.cr3 = VMM_PT_GPA;
        s.cr4 = X86_CR4_PAE;
        /* The CPU sets LMA itself when paging comes on with LME; loading the state directly,
         * the VMM must set it, or KVM refuses the state. */
        s.efer = X86_EFER_LME | X86_EFER_LMA;
        s.cr0 |= X86_CR0_PG;
        break;
    default: return fail(vm, VLAB_EINVAL, "unknown mode %d", (int)vm->cfg.mode);
    }
    if ((rc = load_sregs(vm, &s)) != VLAB_OK) return rc;
    return load_regs(vm, vm->entry, VMM_STACK_TOP);
}
