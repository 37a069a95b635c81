/* The x86 Linux boot protocol's 64-bit entry (core/include/vlab/linux.h). */
#include "vlab/linux.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vlab/err.h"
#include "vlab/x86.h"

#define TSS_LIMIT 0x67

#define say vlab_say /* the sentence into err, rc returned */

static uint64_t rd(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static void wr(uint8_t *p, unsigned n, uint64_t v) {
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

int vlab_bzimage_parse(const void *img, size_t len, struct vlab_bzimage *bz, char *err,
                       size_t errlen) {
    const uint8_t *b = img;
    if (!b || !bz) return say(err, errlen, VLAB_EINVAL, "no kernel image");
    memset(bz, 0, sizeof *bz);
    if (len < VLAB_BZ_HEADER + 4)
        return say(err, errlen, VLAB_EINVAL,
                   "%zu bytes are too few for a bzImage (its setup header is at 0x1f1-0x%x)", len,
                   VLAB_BZ_HEADER_MIN_END);
    uint16_t flag = (uint16_t)rd(b + VLAB_BZ_BOOT_FLAG, 2);
    if (flag != 0xaa55)
        return say(err, errlen, VLAB_EINVAL,
                   "not a Linux kernel image: the boot flag at 0x1fe is %#x, not 0xaa55", flag);
    uint32_t magic = (uint32_t)rd(b + VLAB_BZ_HEADER, 4);
    if (magic != VLAB_BZ_MAGIC)
        return say(err, errlen, VLAB_EINVAL,
                   "no setup header signature \"HdrS\" at 0x202 (found %#x): not a bzImage, or "
                   "a kernel older than boot protocol 2.00",
                   magic);
    /* The setup code jumps over the header with a short jump at 0x200: its target is where
     * the header ends. */
    size_t end = VLAB_BZ_HEADER + b[VLAB_BZ_JUMP + 1];
    if (end > len)
        return say(err, errlen, VLAB_EINVAL,
                   "the setup header ends at 0x%zx, past the end of the %zu-byte file", end, len);
    bz->version = (uint16_t)rd(b + VLAB_BZ_VERSION, 2);
    if (bz->version < VLAB_BZ_MIN_VERSION)
        return say(err, errlen, VLAB_EINVAL,
                   "boot protocol %u.%02u is too old: the 64-bit entry needs 2.12 or newer",
                   bz->version >> 8, bz->version & 0xff);
    if (end < VLAB_BZ_HEADER_MIN_END || end > VLAB_BZ_HEADER_MAX_END)
        return say(err, errlen, VLAB_EINVAL,
                   "the setup header of protocol %u.%02u ends at 0x%zx, outside [0x%x, 0x%x]",
                   bz->version >> 8, bz->version & 0xff, end, VLAB_BZ_HEADER_MIN_END,
                   VLAB_BZ_HEADER_MAX_END);
    bz->hdr_end = end;
    bz->loadflags = b[VLAB_BZ_LOADFLAGS];
    if (!(bz->loadflags & VLAB_BZ_LOADED_HIGH))
        return say(err, errlen, VLAB_EINVAL,
                   "a zImage (loadflags bit 0 clear: loaded below 1 MiB), not a bzImage");
    bz->xloadflags = (uint16_t)rd(b + VLAB_BZ_XLOADFLAGS, 2);
    if (!(bz->xloadflags & VLAB_BZ_XLF_KERNEL_64))
        return say(err, errlen, VLAB_EINVAL,
                   "the kernel has no 64-bit entry point (xloadflags %#x, bit 0 clear): a "
                   "32-bit kernel",
                   bz->xloadflags);
    bz->setup_sects = b[VLAB_BZ_SETUP_SECTS] ? b[VLAB_BZ_SETUP_SECTS] : 4;
    bz->kernel_offset = (size_t)(bz->setup_sects + 1) * 512;
    if (bz->kernel_offset >= len)
        return say(err, errlen, VLAB_EINVAL,
                   "the boot sector and %u setup sectors (%zu bytes) cover the whole %zu-byte "
                   "file: there is no protected-mode kernel",
                   bz->setup_sects, bz->kernel_offset, len);
    bz->kernel_size = len - bz->kernel_offset;
    uint64_t sys = rd(b + VLAB_BZ_SYSSIZE, 4) * 16;
    if (sys > bz->kernel_size)
        return say(err, errlen, VLAB_EINVAL,
                   "truncated: the header says the kernel is %" PRIu64 " bytes, the file holds "
                   "%zu after the setup code",
                   sys, bz->kernel_size);
    bz->relocatable = b[VLAB_BZ_RELOCATABLE] != 0;
    bz->kernel_alignment = (uint32_t)rd(b + VLAB_BZ_KERNEL_ALIGNMENT, 4);
    if (bz->relocatable &&
        (bz->kernel_alignment < 4096 || (bz->kernel_alignment & (bz->kernel_alignment - 1)) != 0))
        return say(err, errlen, VLAB_EINVAL,
                   "kernel_alignment %#x is not a power of two of at least 4 KiB",
                   bz->kernel_alignment);
    bz->initrd_addr_max = (uint32_t)rd(b + VLAB_BZ_INITRD_ADDR_MAX, 4);
    bz->cmdline_size = (uint32_t)rd(b + VLAB_BZ_CMDLINE_SIZE, 4);
    bz->pref_address = rd(b + VLAB_BZ_PREF_ADDRESS, 8);
    bz->init_size = (uint32_t)rd(b + VLAB_BZ_INIT_SIZE, 4);
    if (bz->init_size == 0)
        return say(err, errlen, VLAB_EINVAL,
                   "init_size is 0: the header does not say how much memory the kernel needs");
    return VLAB_OK;
}

int vlab_linux_plan(const struct vlab_bzimage *bz, uint64_t ram_size, size_t cmdline_len,
                    size_t initrd_len, struct vlab_linux_layout *l, char *err, size_t errlen) {
    if (!bz || !l) return say(err, errlen, VLAB_EINVAL, "no kernel or no layout");
    memset(l, 0, sizeof *l);
    if (ram_size < VLAB_LINUX_RAM_MIN || ram_size > VLAB_LINUX_RAM_MAX || ram_size % 4096)
        return say(err, errlen, VLAB_EINVAL,
                   "RAM of %#" PRIx64 " bytes: Linux gets 16 MiB to 3 GiB, in whole 4 KiB pages",
                   ram_size);
    if (cmdline_len > bz->cmdline_size || cmdline_len >= VLAB_LINUX_CMDLINE)
        return say(err, errlen, VLAB_EINVAL,
                   "the command line is %zu bytes, longer than the %u this kernel takes",
                   cmdline_len, bz->cmdline_size);
    l->ram_size = ram_size;
    /* A relocatable kernel runs at its load address rounded up to kernel_alignment; one that
     * is not moves itself to pref_address: load it there and neither has to move. */
    uint64_t at = bz->pref_address ? bz->pref_address : 0x100000;
    if (bz->relocatable) {
        uint64_t a = bz->kernel_alignment;
        if (at > UINT64_MAX - a) at = UINT64_MAX - a;
        at = (at + a - 1) & ~(a - 1);
    }
    uint64_t need = bz->init_size > bz->kernel_size ? bz->init_size : bz->kernel_size;
    if (at < 0x100000 || at > ram_size || need > ram_size - at)
        return say(err, errlen, VLAB_ERANGE,
                   "the kernel needs [%#" PRIx64 ", %#" PRIx64 ") (init_size %#x from its "
                   "load address) and RAM ends at %#" PRIx64 ": give it more memory",
                   at, at + need, bz->init_size, ram_size);
    l->kernel = at;
    l->kernel_end = at + need;
    l->entry = at + VLAB_BZ_ENTRY64;
    l->boot_params = VLAB_LINUX_BP;
    l->cmdline = VLAB_LINUX_CMDLINE;
    l->stack = VLAB_LINUX_STACK;
    l->gdt = VLAB_LINUX_GDT;
    l->tss = VLAB_LINUX_TSS;
    l->pt = VLAB_LINUX_PT;
    l->pt_end = VLAB_LINUX_PT_END;
    if (initrd_len) {
        /* As high as it may go: the kernel's decompressor and early allocations grow up
         * from the kernel, and nothing has to move the initramfs out of their way. */
        uint64_t top = ram_size;
        if ((uint64_t)bz->initrd_addr_max + 1 < top) top = (uint64_t)bz->initrd_addr_max + 1;
        top &= ~4095ull;
        uint64_t size = initrd_len;
        if (size > top || ((top - size) & ~4095ull) < l->kernel_end)
            return say(err, errlen, VLAB_ERANGE,
                       "the initramfs (%zu bytes) does not fit between the kernel's end %#" PRIx64
                       " and %#" PRIx64 " (the end of RAM or initrd_addr_max): give it more "
                       "memory",
                       initrd_len, l->kernel_end, top);
        l->initrd = (top - size) & ~4095ull;
        l->initrd_size = size;
    }
    /* The PC's: conventional memory up to the EBDA, the BIOS area reserved, RAM from 1 MiB. */
    l->e820[0] = (struct vlab_e820){0, 0x9fc00, VLAB_E820_RAM};
    l->e820[1] = (struct vlab_e820){0x9fc00, 0x400, VLAB_E820_RESERVED};
    l->e820[2] = (struct vlab_e820){0xf0000, 0x10000, VLAB_E820_RESERVED};
    l->e820[3] = (struct vlab_e820){0x100000, ram_size - 0x100000, VLAB_E820_RAM};
    l->ne820 = 4;
    return VLAB_OK;
}

void vlab_linux_boot_params(const void *img, size_t len, const struct vlab_bzimage *bz,
                            const struct vlab_linux_layout *l, uint8_t *bp) {
    memset(bp, 0, VLAB_BP_SIZE);
    size_t end = bz->hdr_end <= len ? bz->hdr_end : len;
    if (end > VLAB_BZ_SETUP_SECTS)
        memcpy(bp + VLAB_BZ_SETUP_SECTS, (const uint8_t *)img + VLAB_BZ_SETUP_SECTS,
               end - VLAB_BZ_SETUP_SECTS);
    bp[VLAB_BZ_TYPE_OF_LOADER] = VLAB_BZ_LOADER_ID;
    wr(bp + VLAB_BZ_CMD_LINE_PTR, 4, l->cmdline);
    wr(bp + VLAB_BP_EXT_CMD_LINE_PTR, 4, l->cmdline >> 32);
    wr(bp + VLAB_BZ_RAMDISK_IMAGE, 4, l->initrd);
    wr(bp + VLAB_BZ_RAMDISK_SIZE, 4, l->initrd_size);
    wr(bp + VLAB_BP_EXT_RAMDISK_IMG, 4, l->initrd >> 32);
    wr(bp + VLAB_BP_EXT_RAMDISK_SIZE, 4, l->initrd_size >> 32);
    unsigned n = l->ne820 < VLAB_LINUX_E820_MAX ? l->ne820 : VLAB_LINUX_E820_MAX;
    bp[VLAB_BP_E820_ENTRIES] = (uint8_t)n;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = bp + VLAB_BP_E820_TABLE + 20 * i;
        wr(e, 8, l->e820[i].addr);
        wr(e + 8, 8, l->e820[i].size);
        wr(e + 16, 4, l->e820[i].type);
    }
}

/* __BOOT_CS at 0x10 and __BOOT_DS at 0x18, as the protocol asks; 0x08 is an unused data
 * segment that only keeps them there; the 64-bit TSS (VMX wants a usable TR) at 0x20. */
int vlab_linux_gdt(struct x86_gdt *g, uint64_t tss) {
    x86_gdt_init(g);
    if (x86_gdt_add(g, 0, 0xffffffff, X86_ATTR_DATA32) != 0x08 ||
        x86_gdt_add(g, 0, 0xffffffff, X86_ATTR_CODE64) != VLAB_LINUX_CODE_SEL ||
        x86_gdt_add(g, 0, 0xffffffff, X86_ATTR_DATA32) != VLAB_LINUX_DATA_SEL ||
        x86_gdt_add_system64(g, tss, TSS_LIMIT, X86_SEG_TYPE_TSS_BUSY | X86_SEG_P) !=
            VLAB_LINUX_TSS_SEL)
        return VLAB_EINVAL;
    return VLAB_OK;
}

/* PML4[0] -> PDPT, PDPT[g] -> PD g, 2 MiB leaves: [0, 4 GiB) identity-mapped. */
static int identity_map(struct vlab_gpmem *mem, uint64_t pt) {
    const uint64_t t = X86_PTE_P | X86_PTE_RW, pdpt = pt + 4096, pd = pt + 8192;
    int rc = vlab_gpmem_fill(mem, pt, 0, VLAB_LINUX_PT_END - VLAB_LINUX_PT);
    if (rc == VLAB_OK) rc = vlab_gpmem_write_u64(mem, pt, pdpt | t);
    for (uint64_t g = 0; rc == VLAB_OK && g < 4; g++) {
        rc = vlab_gpmem_write_u64(mem, pdpt + 8 * g, (pd + 4096 * g) | t);
        for (uint64_t i = 0; rc == VLAB_OK && i < 512; i++)
            rc = vlab_gpmem_write_u64(mem, pd + 4096 * g + 8 * i,
                                      (g << 30 | i << 21) | t | X86_PTE_PS);
    }
    return rc;
}

int vlab_load_linux(struct vlab_gpmem *mem, uint64_t ram_size, const void *kernel, size_t klen,
                    const void *initrd, size_t initrd_len, const char *cmdline,
                    struct vlab_linux_layout *out, char *err, size_t errlen) {
    struct vlab_bzimage bz;
    struct vlab_linux_layout l;
    if (!mem) return say(err, errlen, VLAB_EINVAL, "no guest memory");
    if (initrd_len && !initrd) return say(err, errlen, VLAB_EINVAL, "no initramfs bytes");
    if (!cmdline) cmdline = "";
    int rc = vlab_bzimage_parse(kernel, klen, &bz, err, errlen);
    if (rc == VLAB_OK)
        rc = vlab_linux_plan(&bz, ram_size, strlen(cmdline), initrd_len, &l, err, errlen);
    if (rc != VLAB_OK) return rc;
    if (!vlab_gpmem_hva(mem, 0, ram_size))
        return say(err, errlen, VLAB_ERANGE,
                   "guest memory does not hold RAM at [0, %#" PRIx64 ") in one piece", ram_size);
    uint8_t bp[VLAB_BP_SIZE];
    vlab_linux_boot_params(kernel, klen, &bz, &l, bp);
    struct x86_gdt gdt;
    if (vlab_linux_gdt(&gdt, l.tss) != VLAB_OK)
        return say(err, errlen, VLAB_EINVAL, "cannot build the boot GDT");
    /* Every range was checked against [0, ram_size), which is one region: these succeed. */
    const uint8_t *k = kernel;
    rc = vlab_gpmem_write(mem, l.kernel, k + bz.kernel_offset, bz.kernel_size);
    if (rc == VLAB_OK && initrd_len) rc = vlab_gpmem_write(mem, l.initrd, initrd, initrd_len);
    if (rc == VLAB_OK) rc = vlab_gpmem_write(mem, l.cmdline, cmdline, strlen(cmdline) + 1);
    if (rc == VLAB_OK) rc = vlab_gpmem_write(mem, l.boot_params, bp, sizeof bp);
    if (rc == VLAB_OK) rc = vlab_gpmem_write(mem, l.gdt, gdt.entry, x86_gdt_size(&gdt));
    if (rc == VLAB_OK) rc = vlab_gpmem_fill(mem, l.tss, 0, TSS_LIMIT + 1);
    if (rc == VLAB_OK) rc = identity_map(mem, l.pt);
    if (rc != VLAB_OK) return say(err, errlen, rc, "cannot write the kernel into guest memory");
    if (out) *out = l;
    return VLAB_OK;
}
