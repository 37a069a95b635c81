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

/* ELF images and Multiboot kernels are checked against a throw-away map with RAM from
 * VMM_LOAD_GPA up (the loader only checks guest RAM), so what would land on the VMM's own
 * structures is refused before a byte is written. */
static int load_elf_high(struct vmm *vm, const void *image, size_t len, struct vlab_elf_info *info,
                         const char *what) {
    char err[256];
    struct vlab_gpmem probe;
    vlab_gpmem_init(&probe);
    int rc = vlab_gpmem_add_region(&probe, VMM_LOAD_GPA, vm->cfg.ram_size - VMM_LOAD_GPA,
                                   vm->mem.region[0].hva + VMM_LOAD_GPA, 0, "probe");
    if (rc == VLAB_OK) rc = vlab_load_elf(&probe, image, len, info, err, sizeof err);
    vlab_gpmem_destroy(&probe);
    if (rc != VLAB_OK)
        return fail(vm, rc, "%s rejected: %s%s", what, err,
                    rc == VLAB_ERANGE ? " (it must lie in RAM above 0x10000)" : "");
    return VLAB_OK;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* §2.3: the offset of a valid Multiboot header in *at, or -1 when there is none. A magic
 * with a wrong checksum is an error, not "no header": a kernel that meant to be Multiboot
 * and is broken should say so, not run as a flat binary. */
static int find_multiboot(struct vmm *vm, const uint8_t *img, size_t len, long *at) {
    *at = -1;
    for (size_t off = 0; off + 12 <= len && off < VMM_MB_SEARCH; off += 4) {
        if (rd32(img + off) != VMM_MB_MAGIC) continue;
        uint32_t flags = rd32(img + off + 4), sum = rd32(img + off + 8);
        if ((uint32_t)(VMM_MB_MAGIC + flags + sum) != 0)
            return fail(vm, VLAB_EINVAL,
                        "Multiboot header at offset %#zx: checksum %#x does not match (magic + "
                        "flags + checksum must be 0 mod 2^32, so it should be %#x)",
                        off, sum, (uint32_t) - (VMM_MB_MAGIC + flags));
        uint32_t unsupported = flags & 0xffff & ~VMM_MB_SUPPORTED;
        if (unsupported)
            return fail(vm, VLAB_EINVAL,
                        "Multiboot header flags %#x ask for what this VMM does not provide "
                        "(bits %#x: a video mode or another boot-loader feature)",
                        flags, unsupported);
        *at = (long)off;
        return VLAB_OK;
    }
    return VLAB_OK;
}

/* The header's address fields (VMM_MB_ADDRESSES): which file bytes go where. */
static int load_mb_addresses(struct vmm *vm, const uint8_t *img, size_t len, size_t off) {
    if (off + sizeof(struct vmm_mb_header) > len)
        return fail(vm, VLAB_EINVAL,
                    "Multiboot header at offset %#zx: the address fields lie "
                    "past the end of the file",
                    off);
    struct vmm_mb_header h;
    memcpy(&h, img + off, sizeof h);
    if (h.load_addr > h.header_addr || h.header_addr - h.load_addr > off)
        return fail(vm, VLAB_EINVAL,
                    "Multiboot load_addr %#x and header_addr %#x put the start of the load "
                    "before the start of the file",
                    h.load_addr, h.header_addr);
    uint64_t from = off - (h.header_addr - h.load_addr);
    uint64_t size = h.load_end_addr ? (uint64_t)h.load_end_addr - h.load_addr : len - from;
    if (h.load_end_addr && h.load_end_addr < h.load_addr)
        return fail(vm, VLAB_EINVAL, "Multiboot load_end_addr %#x is below load_addr %#x",
                    h.load_end_addr, h.load_addr);
    if (size > len - from)
        return fail(vm, VLAB_EINVAL,
                    "Multiboot load_end_addr %#x asks for %#llx bytes from file offset %#llx, "
                    "past the end of the %zu-byte file",
                    h.load_end_addr, (unsigned long long)size, (unsigned long long)from, len);
    uint64_t end = h.load_addr + size;
    if (h.bss_end_addr && h.bss_end_addr < end)
        return fail(vm, VLAB_EINVAL, "Multiboot bss_end_addr %#x is below the loaded end %#llx",
                    h.bss_end_addr, (unsigned long long)end);
    if (h.bss_end_addr) end = h.bss_end_addr;
    if (h.load_addr < VMM_LOAD_GPA || end > vm->cfg.ram_size)
        return fail(vm, VLAB_ERANGE,
                    "the Multiboot kernel [%#x, %#llx) does not fit in guest RAM above 0x10000 "
                    "(RAM ends at %#llx)",
                    h.load_addr, (unsigned long long)end, (unsigned long long)vm->cfg.ram_size);
    if (h.entry_addr < h.load_addr || h.entry_addr >= h.load_addr + size)
        return fail(vm, VLAB_EINVAL,
                    "Multiboot entry_addr %#x is outside the loaded bytes [%#x, %#llx)",
                    h.entry_addr, h.load_addr, (unsigned long long)(h.load_addr + size));
    int rc = vlab_gpmem_write(&vm->mem, h.load_addr, img + from, size);
    if (rc == VLAB_OK)
        rc = vlab_gpmem_fill(&vm->mem, h.load_addr + size, 0, end - h.load_addr - size);
    if (rc != VLAB_OK) return fail(vm, rc, "cannot copy the Multiboot kernel");
    vm->entry = h.entry_addr;
    return VLAB_OK;
}

/* §2.3: what EBX points at: the information, its memory map, the loader's name, the command
 * line. */
static int write_mbi(struct vmm *vm) {
    const char *cmd = vm->cfg.cmdline ? vm->cfg.cmdline : "";
    uint64_t ram = vm->cfg.ram_size;
    struct vmm_mb_info info = {
        .flags = VMM_MBI_F_MEM | VMM_MBI_F_CMDLINE | VMM_MBI_F_MMAP | VMM_MBI_F_LOADER,
        .mem_lower = 640,
        .mem_upper = (uint32_t)((ram - (1u << 20)) / 1024),
        .cmdline = VMM_MBI_CMDLINE,
        .mmap_length = VMM_MB_MMAP_ENTRIES * sizeof(struct vmm_mb_mmap),
        .mmap_addr = VMM_MBI_MMAP,
        .boot_loader_name = VMM_MBI_NAME,
    };
    struct vmm_mb_mmap map[VMM_MB_MMAP_ENTRIES] = {
        {20, 0, 0xa0000, 1},
        {20, 1u << 20, ram - (1u << 20), 1},
    };
    int rc = vlab_gpmem_fill(&vm->mem, VMM_MBI_GPA, 0, VMM_MBI_END - VMM_MBI_GPA);
    if (rc == VLAB_OK) rc = vlab_gpmem_write(&vm->mem, VMM_MBI_GPA, &info, sizeof info);
    if (rc == VLAB_OK) rc = vlab_gpmem_write(&vm->mem, VMM_MBI_MMAP, map, sizeof map);
    if (rc == VLAB_OK) rc = vlab_gpmem_write(&vm->mem, VMM_MBI_NAME, "vlab-vmm", 9);
    if (rc == VLAB_OK) rc = vlab_gpmem_write(&vm->mem, VMM_MBI_CMDLINE, cmd, strlen(cmd) + 1);
    return rc == VLAB_OK ? rc : fail(vm, rc, "cannot write the Multiboot information");
}

static int load_multiboot(struct vmm *vm, const uint8_t *img, size_t len, size_t off) {
    const char *cmd = vm->cfg.cmdline ? vm->cfg.cmdline : "";
    if (strlen(cmd) > VMM_CMDLINE_MAX)
        return fail(vm, VLAB_EINVAL, "the command line is %zu bytes, longer than the %llu that fit",
                    strlen(cmd), (unsigned long long)VMM_CMDLINE_MAX);
    int rc;
    if (rd32(img + off + 4) & VMM_MB_ADDRESSES) {
        rc = load_mb_addresses(vm, img, len, off);
    } else if (vlab_is_elf(img, len)) {
        struct vlab_elf_info info;
        rc = load_elf_high(vm, img, len, &info, "Multiboot ELF kernel");
        /* Paging is off at a Multiboot entry: a higher-half kernel starts at the physical
         * address its entry symbol was loaded to. */
        if (rc == VLAB_OK) vm->entry = info.entry_phys;
    } else {
        rc = fail(vm, VLAB_EINVAL,
                  "Multiboot kernel without the address fields (header flag 16) and not an ELF: "
                  "nothing says where it goes");
    }
    if (rc == VLAB_OK) rc = write_mbi(vm);
    if (rc != VLAB_OK) return rc;
    vm->multiboot = true;
    vm->cfg.mode = VMM_MODE_PROTECTED;
    return VLAB_OK;
}

/* §2.2: a flat image where cfg says, kept off the VMM's GDT, TSS, page tables and
 * Multiboot information. */
static int load_flat_placed(struct vmm *vm, const void *image, size_t len) {
    char err[256];
    uint64_t at = vm->cfg.load_gpa, entry = vm->cfg.entry_gpa;
    if (at > vm->cfg.ram_size || len > vm->cfg.ram_size - at)
        return fail(vm, VLAB_ERANGE,
                    "flat image of %zu bytes at %#llx does not fit in guest RAM (%llu bytes)", len,
                    (unsigned long long)at, (unsigned long long)vm->cfg.ram_size);
    /* Only what the mode will write is off limits: a real-mode boot sector at 0x7c00 is fine,
     * a long-mode guest there would be overwritten by its own page tables. */
    uint64_t lo = VMM_GDT_GPA, hi = vm->cfg.mode == VMM_MODE_LONG        ? VMM_PT_END
                                    : vm->cfg.mode == VMM_MODE_PROTECTED ? VMM_PT_GPA
                                                                         : VMM_GDT_GPA;
    if (at < hi && at + len > lo)
        return fail(vm, VLAB_EINVAL,
                    "flat image [%#llx, %#llx) would overwrite what %s mode puts at [%#llx, "
                    "%#llx) (the GDT and TSS%s)",
                    (unsigned long long)at, (unsigned long long)(at + len),
                    vmm_mode_name(vm->cfg.mode), (unsigned long long)lo, (unsigned long long)hi,
                    vm->cfg.mode == VMM_MODE_LONG ? ", the page tables" : "");
    if (entry < at || entry - at >= len)
        return fail(vm, VLAB_EINVAL, "entry %#llx is outside the flat image [%#llx, %#llx)",
                    (unsigned long long)entry, (unsigned long long)at,
                    (unsigned long long)(at + len));
    int rc = vlab_load_flat_buf(&vm->mem, image, len, at, err, sizeof err);
    if (rc != VLAB_OK) return fail(vm, rc, "flat image rejected: %s", err);
    vm->entry = entry;
    return VLAB_OK;
}

/* §2.2, §2.3 */
int vmm_load(struct vmm *vm, const void *image, size_t len) {
    char err[256];
    if (!image || len == 0) return fail(vm, VLAB_EINVAL, "the guest image is empty");
    long mb;
    int rc = find_multiboot(vm, image, len, &mb);
    if (rc != VLAB_OK) return rc;
    if (mb >= 0) return load_multiboot(vm, image, len, (size_t)mb);
    if (vlab_is_elf(image, len)) {
        struct vlab_elf_info info;
        if ((rc = load_elf_high(vm, image, len, &info, "ELF image")) != VLAB_OK) return rc;
        vm->entry = info.entry;
        return VLAB_OK;
    }
    if (vm->cfg.place_flat) return load_flat_placed(vm, image, len);
    if (len > vm->cfg.ram_size - VMM_LOAD_GPA)
        return fail(vm, VLAB_ERANGE,
                    "flat image of %zu bytes does not fit in guest RAM above 0x10000 (%llu bytes)",
                    len, (unsigned long long)(vm->cfg.ram_size - VMM_LOAD_GPA));
    rc = vlab_load_flat_buf(&vm->mem, image, len, VMM_LOAD_GPA, err, sizeof err);
    if (rc != VLAB_OK) return fail(vm, rc, "flat image rejected: %s", err);
    vm->entry = VMM_LOAD_GPA;
    return VLAB_OK;
}

/* Registers every mode shares: the entry point, the stack, interrupts off. */
static int load_regs(struct vmm *vm, uint64_t rip, uint64_t rsp) {
    struct vlab_regs r;
    memset(&r, 0, sizeof r);
    if (vm->multiboot) {
        r.rax = VMM_MB_BOOT_MAGIC;
        r.rbx = VMM_MBI_GPA;
    }
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
