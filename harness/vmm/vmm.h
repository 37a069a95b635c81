/* Lab vmm: a virtual machine monitor on the KVM interface (labs/vmm/README.md).
 *
 * The student writes the VMM's two halves:
 *   labs/vmm/vm.c   - the machine: guest RAM and its memory map, loading a guest image, and the
 *                     vCPU's entry state in real, protected or long mode (§2, §3);
 *   labs/vmm/run.c  - the run loop: every VM exit dispatched to a device model (the 16550
 *                     UART, the exit port, the block device), hypercalls, and a clean report
 *                     for everything that stops the guest (§4, §5).
 * The harness owns the rest: the backends (core/include/vlab/hv.h: the real /dev/kvm or
 * Unicorn with KVM's exit semantics), the UART model (vlab/uart.h), the console that collects
 * what the guest prints, the block device's backing store, and the tests.
 *
 * The guest-physical memory map every mode shares (all addresses are guest-physical; the
 * protected and long mode guests run with virtual = physical):
 *
 *     0x00000000  real-mode interrupt vector table (left zero)
 *     0x00001000  GDT                      VMM_GDT_GPA
 *     0x00001800  TSS (104 bytes)          VMM_TSS_GPA
 *     0x00002000  page tables (long mode)  VMM_PT_GPA .. VMM_PT_END: PML4, PDPT, 4 PDs
 *     0x00008000  Multiboot information    VMM_MBI_GPA .. VMM_MBI_END (Multiboot kernels only)
 *     0x0000fff0  initial stack pointer    VMM_STACK_TOP (grows down)
 *     0x00010000  flat images load here    VMM_LOAD_GPA (their first byte is the entry point),
 *                                          unless cfg.place_flat says where
 *        ...      RAM up to ram_size
 *     0xd0000000  the block device         VMM_BLK_BASE, one 4 KiB page of registers (MMIO)
 *
 * Everything above ram_size is a hole: a guest access there is an MMIO exit, and only the
 * block device's page is a device. */
#ifndef VLAB_VMM_H
#define VLAB_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vlab/err.h"
#include "vlab/gpmem.h"
#include "vlab/hv.h"
#include "vlab/uart.h"

/* ---- the memory map ---- */
#define VMM_GDT_GPA     0x1000ull
#define VMM_TSS_GPA     0x1800ull
#define VMM_PT_GPA      0x2000ull /* PML4 here, then the PDPT, then one PD per GiB */
#define VMM_PT_END      0x8000ull
#define VMM_STACK_TOP   0xfff0ull
#define VMM_LOAD_GPA    0x10000ull
#define VMM_MBI_GPA     0x8000ull /* struct vmm_mb_info, then its memory map, loader name, cmdline */
#define VMM_MBI_MMAP    0x8100ull /* VMM_MB_MMAP_ENTRIES struct vmm_mb_mmap */
#define VMM_MBI_NAME    0x8180ull /* "vlab-vmm", NUL-terminated */
#define VMM_MBI_CMDLINE 0x8200ull /* the command line, NUL-terminated (cfg.cmdline, or "") */
#define VMM_MBI_END     0x9000ull
#define VMM_CMDLINE_MAX (VMM_MBI_END - VMM_MBI_CMDLINE - 1) /* longest command line, bytes */
#define VMM_IDENTITY    (4ull << 30) /* long mode identity-maps [0, 4 GiB) with 2 MiB pages */
#define VMM_RAM_MIN     (1ull << 20)
#define VMM_RAM_MAX     (3ull << 30) /* RAM ends below the device hole */
#define VMM_BLK_BASE    0xd0000000ull
#define VMM_BLK_SIZE    0x1000ull

/* ---- I/O ports ---- */
#define VMM_UART_PORT     VLAB_UART_COM1 /* 0x3f8..0x3ff */
#define VMM_EXIT_PORT     0xf4           /* OUT: the guest's result code; the VMM stops (§4.3) */
#define VMM_HC_PORT       0xf6           /* OUT: a hypercall (§5) */
/* Bochs's and QEMU's debug console (-debugcon): each byte OUT is console output; an IN reads
 * 0xe9, which is how a guest finds out the port is there (§4.2). */
#define VMM_DEBUGCON_PORT 0xe9

/* ---- hypercalls (§5): number in RAX, arguments in RBX, RCX, RDX, the result in RAX ---- */
#define VMM_HC_CONSOLE_WRITE 1    /* RBX = gpa of the bytes, RCX = length: the count written */
#define VMM_HC_GET_INFO      2    /* RBX = gpa of a struct vmm_info to fill: 0 */
#define VMM_HC_EXIT          3    /* RBX = result code: the VMM stops as for VMM_EXIT_PORT */
#define VMM_HC_MAX_WRITE     4096 /* longest console write; longer is -VMM_EINVAL */
/* Hypercall errors, returned negated in RAX (Linux's numbers, as Xen and KVM do). */
#define VMM_EFAULT           14 /* a buffer not wholly inside guest RAM */
#define VMM_EINVAL           22 /* a bad argument (a length over VMM_HC_MAX_WRITE) */
#define VMM_ENOSYS           38 /* no such hypercall */

/* What VMM_HC_GET_INFO writes at the guest's pointer (little-endian, 24 bytes). */
struct vmm_info {
    uint64_t ram_size;
    uint32_t mode;    /* enum vmm_mode */
    uint32_t backend; /* enum vlab_hv_kind of the backend actually running */
    uint64_t exits;   /* VM exits so far, this one included */
};

/* ---- Multiboot v1 (§2.3): the header a kernel carries, the state a loader leaves ---- */
#define VMM_MB_MAGIC       0x1badb002u /* the header's first field */
#define VMM_MB_BOOT_MAGIC  0x2badb002u /* EAX at the kernel's entry */
#define VMM_MB_SEARCH      8192u       /* the header lies 4-byte aligned in the first 8 KiB */
#define VMM_MB_PAGE_ALIGN  (1u << 0)   /* header flag: modules page-aligned (there are none) */
#define VMM_MB_MEMORY_INFO (1u << 1)   /* header flag: mem_* and the memory map wanted */
#define VMM_MB_ADDRESSES   (1u << 16)  /* header flag: load by the address fields, not the ELF */
/* Header flags 2..15 ask for what this VMM does not provide (a video mode, ...): refused. */
#define VMM_MB_SUPPORTED   (VMM_MB_PAGE_ALIGN | VMM_MB_MEMORY_INFO)

/* The header (little-endian, 32 bytes with the address fields of VMM_MB_ADDRESSES). */
struct vmm_mb_header {
    uint32_t magic, flags, checksum; /* magic + flags + checksum == 0 (mod 2^32) */
    uint32_t header_addr;            /* where this header's first byte is loaded */
    uint32_t load_addr;              /* where the byte header_addr - load_addr before it goes */
    uint32_t load_end_addr;          /* end of the bytes to load; 0: the rest of the file */
    uint32_t bss_end_addr;           /* zeroed from load_end_addr to here; 0: no bss */
    uint32_t entry_addr;
};

/* Multiboot information flags: which fields of struct vmm_mb_info are valid. */
#define VMM_MBI_F_MEM       (1u << 0) /* mem_lower, mem_upper */
#define VMM_MBI_F_CMDLINE   (1u << 2)
#define VMM_MBI_F_MMAP      (1u << 6)
#define VMM_MBI_F_LOADER    (1u << 9) /* boot_loader_name */
#define VMM_MB_MMAP_ENTRIES 2         /* [0, 640 KiB) and [1 MiB, ram_size), both type 1 */

/* What EBX points at (VMM_MBI_GPA): the Multiboot information structure, as far as this VMM
 * fills it; every field it does not set is 0. */
struct vmm_mb_info {
    uint32_t flags;
    uint32_t mem_lower;   /* KiB of RAM from 0: 640 */
    uint32_t mem_upper;   /* KiB of RAM from 1 MiB: (ram_size - 1 MiB) / 1024 */
    uint32_t boot_device; /* 0 */
    uint32_t cmdline;     /* VMM_MBI_CMDLINE */
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length; /* bytes: VMM_MB_MMAP_ENTRIES * sizeof(struct vmm_mb_mmap) */
    uint32_t mmap_addr;   /* VMM_MBI_MMAP */
    uint32_t drives_length, drives_addr, config_table;
    uint32_t boot_loader_name; /* VMM_MBI_NAME */
    uint32_t apm_table;
};

/* One memory-map entry; size (20) counts the bytes after itself, as the specification says. */
struct vmm_mb_mmap {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type; /* 1: RAM */
} __attribute__((packed));

/* ---- the block device (§4.4): 32-bit registers at VMM_BLK_BASE + offset ---- */
#define VMM_BLK_MAGIC   0x00 /* RO: VMM_BLK_MAGIC_VALUE */
#define VMM_BLK_SECTORS 0x04 /* RO: capacity in 512-byte sectors */
#define VMM_BLK_SECTOR  0x08 /* RW: first sector of the next transfer */
#define VMM_BLK_COUNT   0x0c /* RW: sectors in the next transfer */
#define VMM_BLK_ADDR_LO 0x10 /* RW: guest-physical buffer address, bits 31..0 */
#define VMM_BLK_ADDR_HI 0x14 /* RW: bits 63..32 (an 8-byte access at 0x10 writes both) */
#define VMM_BLK_CMD     0x18 /* WO: the doorbell: writing a command performs the transfer */
#define VMM_BLK_STATUS  0x1c /* RO: the result of the last command */

#define VMM_BLK_MAGIC_VALUE 0x4b4c4256u /* "VBLK" */
#define VMM_BLK_SECTOR_SIZE 512u
#define VMM_BLK_CMD_READ    1u /* disk -> guest memory */
#define VMM_BLK_CMD_WRITE   2u /* guest memory -> disk */
#define VMM_BLK_OK          0u
#define VMM_BLK_ERR_RANGE   1u    /* sectors outside the disk (or COUNT 0) */
#define VMM_BLK_ERR_ADDR    2u    /* the buffer is not wholly inside guest RAM */
#define VMM_BLK_ERR_CMD     3u    /* an unknown command */
#define VMM_BLK_IDLE        0xffu /* STATUS before the first command */

/* The device's registers: the student's run.c reads and writes them. */
struct vmm_blk {
    uint32_t sector, count;
    uint64_t addr;
    uint32_t status;
    uint64_t commands; /* doorbell writes so far */
};

/* The disk behind the device (harness-owned). */
struct vmm_disk {
    uint8_t *data;
    uint32_t sectors;
};

/* ---- the machine ---- */
enum vmm_mode {
    VMM_MODE_REAL = 0,
    VMM_MODE_PROTECTED = 1,
    VMM_MODE_LONG = 2,
};

struct vmm_config {
    enum vlab_hv_kind backend; /* VLAB_HV_AUTO: kvm when /dev/kvm opens, else unicorn */
    enum vmm_mode mode;
    uint64_t ram_size;     /* bytes, 4 KiB multiple, VMM_RAM_MIN..VMM_RAM_MAX */
    uint64_t watchdog_us;  /* guest time without a VM exit before VMM_TIMEOUT; 0 = none */
    uint64_t max_exits;    /* VM exits before VMM_LIMIT; 0 = no limit */
    uint64_t max_output;   /* console bytes before VMM_LIMIT; 0 = no limit */
    struct vmm_disk *disk; /* may be NULL: the block device then has 0 sectors */
    /* Flat images (§2.2): with place_flat, loaded at load_gpa and entered at entry_gpa (a
     * kernel linked elsewhere than VMM_LOAD_GPA); without, at VMM_LOAD_GPA, entered there. */
    bool place_flat;
    uint64_t load_gpa, entry_gpa;
    const char *cmdline; /* a Multiboot kernel's command line (§2.3); NULL: empty */
    FILE *echo;          /* console bytes are also written here (NULL: only captured) */
    FILE *trace;         /* one line per VM exit (NULL: none) */
};

/* The guest's console: everything it printed, through the UART or a hypercall. */
struct vmm_console {
    char *buf; /* the first VMM_CONSOLE_KEEP bytes, NUL-terminated */
    size_t len;
    uint64_t total;  /* every byte, kept or not */
    uint64_t writes; /* calls to vmm_console_write */
    FILE *echo;
};
#define VMM_CONSOLE_KEEP (1u << 20)

struct vmm {
    struct vmm_config cfg;
    struct vlab_hv *hv;
    struct vlab_vcpu *vcpu;
    struct vlab_gpmem mem; /* guest RAM: one region [0, ram_size) */
    struct vlab_uart uart; /* COM1, its output wired to the console */
    struct vmm_blk blk;
    struct vmm_console console;
    uint64_t entry; /* where the guest starts: set by vmm_load */
    bool multiboot; /* set by vmm_load for a Multiboot kernel: entered as §2.3 says */
    /* The exit histogram (§4.1): exits[reason] for every VM exit vmm_run saw. */
    uint64_t exits[VLAB_EXIT_TIMEOUT + 1];
    uint64_t hypercalls; /* VMM_HC_PORT exits */
    uint64_t unknown_io; /* IN/OUT on ports no device owns */
    char err[256];       /* why the last call failed */
};

/* Why vmm_run returned. */
enum vmm_outcome {
    VMM_EXITED = 0,     /* the guest reported a result (VMM_EXIT_PORT or VMM_HC_EXIT): code */
    VMM_HALTED,         /* hlt: the guest has nothing more to do (§4.5): a normal end */
    VMM_SHUTDOWN,       /* triple fault */
    VMM_FAIL_ENTRY,     /* VM entry refused the state */
    VMM_INTERNAL_ERROR, /* the hypervisor could not go on */
    VMM_TIMEOUT,        /* the watchdog fired: no VM exit for cfg.watchdog_us */
    VMM_BAD_MMIO,       /* an access to a guest-physical address where nothing is (§4.4) */
    VMM_LIMIT,          /* cfg.max_exits or cfg.max_output reached */
    VMM_ERROR,          /* the backend itself failed */
};
#define VMM_OUTCOMES (VMM_ERROR + 1)

struct vmm_result {
    enum vmm_outcome outcome;
    uint64_t code;   /* VMM_EXITED: the guest's result code; VMM_BAD_MMIO: the address */
    char why[256];   /* one sentence for every outcome but VMM_HALTED (empty: a clean end) */
    char dump[2048]; /* the register dump, for SHUTDOWN, FAIL_ENTRY, INTERNAL_ERROR, TIMEOUT */
};

/* ===================== the student's half: labs/vmm/vm.c ===================== */

/* §2.1: opens the backend, adds guest RAM [0, cfg->ram_size) to vm->mem, maps it into the VM,
 * creates the vCPU, arms the watchdog, sets up the UART (output to vmm_uart_tx) and the block
 * device (STATUS = VMM_BLK_IDLE), and calls vmm_console_init. vm is zeroed by the caller.
 * A bad ram_size is VLAB_EINVAL with a sentence in vm->err; on any failure everything
 * created so far is released. */
int vmm_create(struct vmm *vm, const struct vmm_config *cfg);
/* Releases all of it; safe on a VM whose vmm_create failed, and twice. */
void vmm_destroy(struct vmm *vm);

/* §2.2, §2.3: loads a guest image, the first that fits of:
 *   a Multiboot kernel (a VMM_MB_MAGIC header, 4-byte aligned, in its first VMM_MB_SEARCH
 *     bytes): loaded by the header's address fields (VMM_MB_ADDRESSES) or else as an ELF;
 *     the Multiboot information written at VMM_MBI_GPA; vm->multiboot set, cfg.mode becomes
 *     protected; entry = entry_addr, or the ELF entry's physical address. A bad checksum,
 *     unsupported header flags or a kernel that does not fit are errors;
 *   an ELF32 or ELF64 executable (by its magic) at its physical addresses, entry = e_entry;
 *   anything else as a flat binary: at VMM_LOAD_GPA, entry = VMM_LOAD_GPA, or with
 *     cfg.place_flat at cfg.load_gpa, entry = cfg.entry_gpa (which must lie in the image).
 * ELF images and Multiboot kernels may not touch memory below VMM_LOAD_GPA (the VMM's own
 * structures live there); a placed flat image may not touch what its mode writes: nothing in
 * real mode, [VMM_GDT_GPA, VMM_PT_GPA) in protected mode, [VMM_GDT_GPA, VMM_PT_END) in long.
 * A bad image is an error with a sentence in vm->err, and guest memory is left untouched. */
int vmm_load(struct vmm *vm, const void *image, size_t len);

/* §3: the vCPU's registers for cfg.mode, entered at vm->entry with RSP = VMM_STACK_TOP and
 * RFLAGS = 0x2 (interrupts off); writes the GDT, TSS and page tables at the addresses above.
 *   real:      CS = the 64 KiB block holding entry (entry >> 4 & 0xf000), IP the rest;
 *              DS = ES = FS = GS = CS; SS = 0; CR0.PE clear; the vector table at 0. (An
 *              entry below 64 KiB is CS = DS = 0, IP = entry: kvm-hello-world's state.)
 *   protected: CR0.PE; flat 4 GiB 32-bit code (selector 0x08) and data (0x10) segments from a
 *              GDT in guest memory whose descriptors match the segment registers; a busy TSS.
 *              A Multiboot kernel (vm->multiboot) also gets EAX = VMM_MB_BOOT_MAGIC and
 *              EBX = VMM_MBI_GPA.
 *   long:      the same plus an identity map of [0, VMM_IDENTITY) with 2 MiB pages, CR4.PAE,
 *              EFER.LME and EFER.LMA, CR0.PG, a 64-bit code segment, a busy 64-bit TSS. */
int vmm_setup_mode(struct vmm *vm);

/* ===================== the student's half: labs/vmm/run.c ===================== */

/* §4: runs the guest until it is done and says why in *res. Every VM exit is counted in
 * vm->exits and dispatched: the UART's ports, VMM_DEBUGCON_PORT, VMM_EXIT_PORT and
 * VMM_HC_PORT (VMM_EXIT_PORT is QEMU's isa-debug-exit: code = the value written); other ports
 * read as all ones and ignore writes (counted in vm->unknown_io); MMIO to the block device;
 * any other MMIO is VMM_BAD_MMIO. Returns VLAB_OK whenever *res says what happened, also for
 * a guest that crashed; an error only when the VMM could not go on (res->outcome VMM_ERROR). */
int vmm_run(struct vmm *vm, struct vmm_result *res);

/* §4.4: the block device's registers; off is the offset from VMM_BLK_BASE, len 1, 2, 4 or
 * 8. Reads of unknown offsets are 0, writes to them are ignored. */
uint64_t vmm_blk_read(struct vmm *vm, uint64_t off, unsigned len);
void vmm_blk_write(struct vmm *vm, uint64_t off, unsigned len, uint64_t value);

/* §5: handles the hypercall the guest made (number in regs->rax, arguments in rbx, rcx,
 * rdx); puts the result in regs->rax. Returns true when the guest asked to stop (VMM_HC_EXIT,
 * *code set). The caller loads *regs back into the vCPU. */
bool vmm_hypercall(struct vmm *vm, struct vlab_regs *regs, uint64_t *code);

/* ===================== the harness's half (harness/vmm) ===================== */

/* The console: vmm_create calls vmm_console_init; vmm_destroy vmm_console_free. */
int vmm_console_init(struct vmm *vm);
void vmm_console_free(struct vmm *vm);
/* Appends what the guest printed (and echoes it to cfg.echo). */
void vmm_console_write(struct vmm *vm, const void *buf, size_t len);
/* The UART's transmit callback: ctx is the struct vmm. */
void vmm_uart_tx(void *ctx, uint8_t byte);
/* True once the guest printed more than cfg.max_output bytes. */
bool vmm_console_over(const struct vmm *vm);

/* Names: "real", "protected", "long"; "exited", "halted", ... */
const char *vmm_mode_name(enum vmm_mode mode);
int vmm_mode_parse(const char *name, enum vmm_mode *mode);
const char *vmm_outcome_name(enum vmm_outcome outcome);
/* The exit histogram, one line per exit reason seen. */
void vmm_print_exits(const struct vmm *vm, FILE *out);
/* One line for the exit on cfg.trace (nothing when it is NULL): vmm_run calls it per exit. */
void vmm_trace_exit(const struct vmm *vm, const struct vlab_exit *exit);

/* A disk of `sectors` sectors whose bytes are a function of their offset and seed. */
int vmm_disk_create(struct vmm_disk *disk, uint32_t sectors, uint64_t seed);
void vmm_disk_destroy(struct vmm_disk *disk);
uint8_t vmm_disk_pattern(uint64_t offset, uint64_t seed);

#endif
