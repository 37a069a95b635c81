/* Booting a Linux kernel: the x86 boot protocol's 64-bit entry (the kernel's
 * Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"). A bzImage is a real-mode setup
 * program followed by the protected-mode kernel (a self-decompressing one); the setup header
 * at 0x1f1 says how long the setup part is and what the kernel needs. A 64-bit boot loader
 * skips the setup program: it loads the protected-mode kernel, fills a struct boot_params
 * (the "zero page": the setup header, an e820 memory map, where the command line and the
 * initramfs are) and enters the kernel at load address + 0x200 (startup_64) in long mode with
 * RSI pointing at the zero page.
 *
 * The parser and the planner are pure functions over bytes and numbers (they touch no guest
 * memory), so they can be fuzzed and tested anywhere; vlab_load_linux then writes what they
 * planned. Every refusal comes with a sentence in err. */
#ifndef VLAB_LINUX_H
#define VLAB_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vlab/gpmem.h"
#include "vlab/hv.h"
#include "vlab/x86.h"

/* The setup header (offsets in the file and in struct boot_params alike). */
#define VLAB_BZ_SETUP_SECTS      0x1f1
#define VLAB_BZ_SYSSIZE          0x1f4
#define VLAB_BZ_BOOT_FLAG        0x1fe /* 0xaa55 */
#define VLAB_BZ_JUMP             0x200 /* the byte at 0x201 + 0x202 is the header's end */
#define VLAB_BZ_HEADER           0x202 /* "HdrS" */
#define VLAB_BZ_VERSION          0x206
#define VLAB_BZ_TYPE_OF_LOADER   0x210
#define VLAB_BZ_LOADFLAGS        0x211
#define VLAB_BZ_RAMDISK_IMAGE    0x218
#define VLAB_BZ_RAMDISK_SIZE     0x21c
#define VLAB_BZ_CMD_LINE_PTR     0x228
#define VLAB_BZ_INITRD_ADDR_MAX  0x22c
#define VLAB_BZ_KERNEL_ALIGNMENT 0x230
#define VLAB_BZ_RELOCATABLE      0x234
#define VLAB_BZ_XLOADFLAGS       0x236
#define VLAB_BZ_CMDLINE_SIZE     0x238
#define VLAB_BZ_PREF_ADDRESS     0x258
#define VLAB_BZ_INIT_SIZE        0x260
#define VLAB_BZ_HEADER_MIN_END   0x264 /* the fields through init_size (protocol 2.10) */
#define VLAB_BZ_HEADER_MAX_END   0x290 /* struct setup_header never reaches past this */

/* struct boot_params, beyond the setup header */
#define VLAB_BP_SIZE             4096
#define VLAB_BP_EXT_RAMDISK_IMG  0x0c0
#define VLAB_BP_EXT_RAMDISK_SIZE 0x0c4
#define VLAB_BP_EXT_CMD_LINE_PTR 0x0c8
#define VLAB_BP_E820_ENTRIES     0x1e8
#define VLAB_BP_E820_TABLE       0x2d0 /* 20-byte entries: u64 addr, u64 size, u32 type */
#define VLAB_BP_E820_MAX         128

#define VLAB_BZ_MAGIC         0x53726448u /* "HdrS" */
#define VLAB_BZ_MIN_VERSION   0x020c      /* 2.12: xloadflags says whether startup_64 exists */
#define VLAB_BZ_LOADED_HIGH   0x01        /* loadflags: a bzImage (kernel at 1 MiB or above) */
#define VLAB_BZ_XLF_KERNEL_64 0x01        /* xloadflags: the 64-bit entry at +0x200 */
#define VLAB_BZ_ENTRY64       0x200
#define VLAB_BZ_LOADER_ID     0xff /* type_of_loader: a loader without an assigned id */

#define VLAB_E820_RAM      1
#define VLAB_E820_RESERVED 2

/* What the setup header says, checked. */
struct vlab_bzimage {
    uint16_t version;     /* 0x020f is 2.15 */
    unsigned setup_sects; /* 512-byte sectors of setup code after the boot sector (0 means 4) */
    uint8_t loadflags;
    uint16_t xloadflags;
    bool relocatable;
    uint32_t kernel_alignment; /* a relocatable kernel runs at a multiple of this */
    uint32_t initrd_addr_max;  /* the initramfs's last byte may be at most here */
    uint32_t cmdline_size;     /* longest command line, the NUL not counted */
    uint32_t init_size;        /* bytes from the load address the kernel needs to start */
    uint64_t pref_address;     /* where it would like to be loaded */
    size_t hdr_end;            /* the setup header is [0x1f1, hdr_end) of the file */
    size_t kernel_offset;      /* the protected-mode kernel is [kernel_offset, file end) */
    size_t kernel_size;
};

/* Checks the setup header of the len bytes at img. Refused (VLAB_EINVAL): a file too short for
 * the header, no boot flag 0xaa55 or "HdrS" (not a bzImage), a protocol older than 2.12, a
 * zImage (loadflags bit 0 clear), no 64-bit entry (xloadflags bit 0 clear), setup sectors
 * covering the whole file, a kernel shorter than syssize says (a truncated file), a
 * relocatable kernel's alignment that is not a power of two of at least 4 KiB, init_size 0. */
int vlab_bzimage_parse(const void *img, size_t len, struct vlab_bzimage *bz, char *err,
                       size_t errlen);

struct vlab_e820 {
    uint64_t addr, size;
    uint32_t type; /* VLAB_E820_RAM, VLAB_E820_RESERVED */
};

#define VLAB_LINUX_E820_MAX 4

/* Where everything goes in guest-physical memory (RAM is [0, ram_size), one piece). The low
 * megabyte holds the loader's structures:
 *     0x1000 GDT (__BOOT_CS 0x10, __BOOT_DS 0x18, a 64-bit TSS at 0x20), 0x1800 the TSS,
 *     0x2000-0x8000 page tables identity-mapping [0, 4 GiB) with 2 MiB pages,
 *     0x8000-0x9000 the stack, 0x10000 boot_params, 0x20000 the command line;
 * the kernel at its preferred address (aligned as it asks), the initramfs page-aligned as
 * high as RAM and initrd_addr_max allow, above the kernel's init_size. */
struct vlab_linux_layout {
    uint64_t ram_size;
    uint64_t kernel;     /* load address of the protected-mode kernel */
    uint64_t kernel_end; /* kernel + max(init_size, its size): nothing else may be there */
    uint64_t entry;      /* kernel + 0x200: startup_64 */
    uint64_t boot_params, cmdline, stack;
    uint64_t gdt, tss, pt, pt_end;
    uint64_t initrd, initrd_size; /* 0, 0 without an initramfs */
    struct vlab_e820 e820[VLAB_LINUX_E820_MAX];
    unsigned ne820;
};

#define VLAB_LINUX_GDT      0x1000ull
#define VLAB_LINUX_TSS      0x1800ull
#define VLAB_LINUX_PT       0x2000ull
#define VLAB_LINUX_PT_END   0x8000ull
#define VLAB_LINUX_STACK    0x9000ull
#define VLAB_LINUX_BP       0x10000ull
#define VLAB_LINUX_CMDLINE  0x20000ull
#define VLAB_LINUX_CODE_SEL 0x10
#define VLAB_LINUX_DATA_SEL 0x18
#define VLAB_LINUX_TSS_SEL  0x20
#define VLAB_LINUX_RAM_MIN  (16ull << 20)
#define VLAB_LINUX_RAM_MAX  (3ull << 30) /* below the 32-bit device hole; identity-mapped */

/* Plans the layout for a kernel, ram_size bytes of RAM, a command line of cmdline_len bytes
 * (without its NUL) and an initramfs of initrd_len bytes (0: none). Refused: RAM outside
 * [VLAB_LINUX_RAM_MIN, VLAB_LINUX_RAM_MAX] or not 4 KiB-aligned (VLAB_EINVAL), a command line
 * longer than the kernel's cmdline_size (VLAB_EINVAL), a kernel whose init_size does not fit
 * in RAM or an initramfs that does not fit between the kernel and the end of RAM or
 * initrd_addr_max (VLAB_ERANGE). */
int vlab_linux_plan(const struct vlab_bzimage *bz, uint64_t ram_size, size_t cmdline_len,
                    size_t initrd_len, struct vlab_linux_layout *l, char *err, size_t errlen);

/* The zero page for a planned layout: zeroed, the file's setup header copied in, then
 * type_of_loader, cmd_line_ptr, ramdisk_image/size (and their ext_ upper halves), the e820
 * map. bp holds VLAB_BP_SIZE bytes. img/len must be what bz was parsed from. */
void vlab_linux_boot_params(const void *img, size_t len, const struct vlab_bzimage *bz,
                            const struct vlab_linux_layout *l, uint8_t *bp);

/* Parses, plans and writes: the protected-mode kernel, the initramfs (initrd may be NULL when
 * initrd_len is 0), the command line (NULL: ""), boot_params, and the page tables, GDT and TSS
 * of the 64-bit entry state. mem must hold RAM at [0, ram_size). Nothing is written unless
 * every check passed. *l (may be NULL) gets the layout. */
int vlab_load_linux(struct vlab_gpmem *mem, uint64_t ram_size, const void *kernel, size_t klen,
                    const void *initrd, size_t initrd_len, const char *cmdline,
                    struct vlab_linux_layout *l, char *err, size_t errlen);

/* The boot GDT at tss: null, an unused data segment, __BOOT_CS (0x10, 64-bit code),
 * __BOOT_DS (0x18), the 64-bit TSS (0x20). VLAB_EINVAL if it cannot be built. */
int vlab_linux_gdt(struct x86_gdt *gdt, uint64_t tss);

/* The vCPU state at startup_64 (in hv_modes.c, with the other entry states): long mode with the
 * identity map, CS = __BOOT_CS, DS = ES = SS = __BOOT_DS, interrupts off, RSI = boot_params, RSP in
 * the low stack. */
int vlab_linux_entry(struct vlab_vcpu *vcpu, const struct vlab_linux_layout *l);

#endif
