/* x86-64 architectural definitions (Intel SDM vol. 3 / AMD APM vol. 2 names). */
#ifndef VLAB_X86_H
#define VLAB_X86_H

#include <stdbool.h>
#include <stdint.h>

#define X86_PAGE_SHIFT 12
#define X86_PAGE_SIZE  0x1000ull
#define X86_PAGE_2M    0x200000ull
#define X86_PAGE_1G    0x40000000ull

/* ---- 4-level paging entries (PML4E, PDPTE, PDE, PTE) ---- */
#define X86_PTE_P         (1ull << 0) /* present */
#define X86_PTE_RW        (1ull << 1) /* writable */
#define X86_PTE_US        (1ull << 2) /* user-accessible */
#define X86_PTE_PWT       (1ull << 3)
#define X86_PTE_PCD       (1ull << 4)
#define X86_PTE_A         (1ull << 5)  /* accessed */
#define X86_PTE_D         (1ull << 6)  /* dirty (leaf only) */
#define X86_PTE_PS        (1ull << 7)  /* PDPTE: 1 GiB leaf, PDE: 2 MiB leaf; reserved in PML4E */
#define X86_PTE_PAT       (1ull << 7)  /* the same bit in a 4 KiB PTE */
#define X86_PTE_G         (1ull << 8)  /* global (leaf only) */
#define X86_PTE_PAT_LARGE (1ull << 12) /* PAT in a 2 MiB / 1 GiB leaf */
#define X86_PTE_NX        (1ull << 63) /* execute-disable; reserved unless EFER.NXE */

#define X86_PTE_ADDR_MASK    0x000ffffffffff000ull /* bits 51:12: next table or 4 KiB frame */
#define X86_PTE_ADDR_MASK_2M 0x000fffffffe00000ull /* bits 51:21 of a 2 MiB leaf */
#define X86_PTE_ADDR_MASK_1G 0x000fffffc0000000ull /* bits 51:30 of a 1 GiB leaf */
/* Reserved bits inside a large leaf's frame field (between PAT and the frame): must be 0. */
#define X86_PTE_RSVD_2M      0x00000000001fe000ull /* bits 20:13 */
#define X86_PTE_RSVD_1G      0x000000003fffe000ull /* bits 29:13 */

/* Levels counted the way the SDM names the tables: 4 = PML4, 3 = PDPT, 2 = PD, 1 = PT. */
#define X86_PT_LEVELS 4
static inline unsigned x86_pt_index(uint64_t va, int level) {
    return (unsigned)((va >> (12 + 9 * (level - 1))) & 0x1ff);
}
/* Sign-extension of bit 47 (4-level paging, 48-bit linear addresses). */
static inline bool x86_is_canonical(uint64_t va) {
    uint64_t top = va >> 47;
    return top == 0 || top == 0x1ffff;
}
static inline uint64_t x86_canonicalize(uint64_t va) {
    return (uint64_t)(((int64_t)(va << 16)) >> 16);
}

/* ---- #PF error code ---- */
#define X86_PF_P    (1u << 0) /* 0: not present, 1: protection violation */
#define X86_PF_W    (1u << 1) /* the access was a write */
#define X86_PF_U    (1u << 2) /* the access was made in user mode (CPL 3) */
#define X86_PF_RSVD (1u << 3) /* a reserved bit was set in some paging entry */
#define X86_PF_I    (1u << 4) /* instruction fetch (only when NXE or SMEP is on) */
#define X86_PF_PK   (1u << 5) /* protection keys (not modelled) */
#define X86_PF_SS   (1u << 6) /* shadow stack (not modelled) */

/* ---- control registers and MSRs ---- */
#define X86_CR0_PE (1ull << 0)
#define X86_CR0_MP (1ull << 1)
#define X86_CR0_EM (1ull << 2)
#define X86_CR0_TS (1ull << 3)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_NE (1ull << 5)
#define X86_CR0_WP (1ull << 16) /* supervisor writes honour R/W */
#define X86_CR0_AM (1ull << 18)
#define X86_CR0_NW (1ull << 29)
#define X86_CR0_CD (1ull << 30)
#define X86_CR0_PG (1ull << 31)

#define X86_CR4_VME        (1ull << 0)
#define X86_CR4_PVI        (1ull << 1)
#define X86_CR4_TSD        (1ull << 2)
#define X86_CR4_DE         (1ull << 3)
#define X86_CR4_PSE        (1ull << 4)
#define X86_CR4_PAE        (1ull << 5)
#define X86_CR4_MCE        (1ull << 6)
#define X86_CR4_PGE        (1ull << 7)
#define X86_CR4_PCE        (1ull << 8)
#define X86_CR4_OSFXSR     (1ull << 9)
#define X86_CR4_OSXMMEXCPT (1ull << 10)
#define X86_CR4_UMIP       (1ull << 11)
#define X86_CR4_LA57       (1ull << 12)
#define X86_CR4_VMXE       (1ull << 13)
#define X86_CR4_FSGSBASE   (1ull << 16)
#define X86_CR4_PCIDE      (1ull << 17)
#define X86_CR4_OSXSAVE    (1ull << 18)
#define X86_CR4_SMEP       (1ull << 20) /* supervisor may not fetch from user pages */
#define X86_CR4_SMAP       (1ull << 21)
#define X86_CR4_PKE        (1ull << 22)

#define X86_MSR_EFER  0xc0000080u
#define X86_EFER_SCE  (1ull << 0)
#define X86_EFER_LME  (1ull << 8)  /* long mode enable (software sets) */
#define X86_EFER_LMA  (1ull << 10) /* long mode active (CPU sets when PG turns on) */
#define X86_EFER_NXE  (1ull << 11) /* makes PTE bit 63 mean execute-disable */
#define X86_EFER_SVME (1ull << 12)

#define X86_RFLAGS_CF         (1ull << 0)
#define X86_RFLAGS_FIXED      (1ull << 1) /* always 1 */
#define X86_RFLAGS_PF         (1ull << 2)
#define X86_RFLAGS_AF         (1ull << 4)
#define X86_RFLAGS_ZF         (1ull << 6)
#define X86_RFLAGS_SF         (1ull << 7)
#define X86_RFLAGS_TF         (1ull << 8)
#define X86_RFLAGS_IF         (1ull << 9)
#define X86_RFLAGS_DF         (1ull << 10)
#define X86_RFLAGS_OF         (1ull << 11)
#define X86_RFLAGS_IOPL       (3ull << 12)
#define X86_RFLAGS_IOPL_SHIFT 12
#define X86_RFLAGS_NT         (1ull << 14)
#define X86_RFLAGS_RF         (1ull << 16)
#define X86_RFLAGS_VM         (1ull << 17)
#define X86_RFLAGS_AC         (1ull << 18)
#define X86_RFLAGS_VIF        (1ull << 19)
#define X86_RFLAGS_VIP        (1ull << 20)
#define X86_RFLAGS_ID         (1ull << 21)

/* ---- exception vectors ---- */
enum x86_exception {
    X86_EXC_DE = 0,
    X86_EXC_DB = 1,
    X86_EXC_NMI = 2,
    X86_EXC_BP = 3,
    X86_EXC_OF = 4,
    X86_EXC_BR = 5,
    X86_EXC_UD = 6,
    X86_EXC_NM = 7,
    X86_EXC_DF = 8,
    X86_EXC_TS = 10,
    X86_EXC_NP = 11,
    X86_EXC_SS = 12,
    X86_EXC_GP = 13,
    X86_EXC_PF = 14,
    X86_EXC_MF = 16,
    X86_EXC_AC = 17,
    X86_EXC_MC = 18,
    X86_EXC_XM = 19,
    X86_EXC_VE = 20,
    X86_EXC_CP = 21,
};
/* "#PF" style mnemonic, or "#??" for reserved vectors. */
const char *x86_exception_name(unsigned vector);
/* Whether the CPU pushes an error code for this vector (#DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP). */
bool x86_exception_has_error_code(unsigned vector);

/* ---- segment descriptors ----
 * Attributes use the 16-bit "access rights" layout of VMX and KVM:
 *   bits 3:0 type, 4 S, 6:5 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G. */
#define X86_SEG_TYPE_DATA_RW   0x3 /* read/write, accessed */
#define X86_SEG_TYPE_CODE_RX   0xb /* execute/read, accessed */
#define X86_SEG_TYPE_TSS_BUSY  0xb /* system: 64-bit / 32-bit busy TSS */
#define X86_SEG_TYPE_TSS_AVAIL 0x9
#define X86_SEG_TYPE_LDT       0x2
#define X86_SEG_S              (1u << 4) /* code/data, not system */
#define X86_SEG_DPL(n)         (((unsigned)(n)&3) << 5)
#define X86_SEG_P              (1u << 7)
#define X86_SEG_AVL            (1u << 12)
#define X86_SEG_L              (1u << 13) /* 64-bit code segment */
#define X86_SEG_DB             (1u << 14) /* 32-bit default operand size */
#define X86_SEG_G              (1u << 15) /* limit in 4 KiB units */

struct x86_segment {
    uint64_t base;
    uint32_t limit; /* byte-granular, as the CPU uses it after scaling by G */
    uint16_t selector;
    uint16_t attr; /* access-rights layout above */
};

/* Encodes an 8-byte descriptor. limit is byte-granular; with X86_SEG_G it must be of the form
 * (n << 12) | 0xfff and is stored scaled. Returns 0 (the null descriptor) for a limit the
 * granularity cannot express. */
uint64_t x86_desc_encode(uint32_t base, uint32_t limit, uint16_t attr);
/* Decodes an 8-byte descriptor into base/limit(scaled to bytes)/attr; selector left 0. */
void x86_desc_decode(uint64_t desc, struct x86_segment *seg);

/* Flat 4 GiB segments and the 64-bit code segment every lab uses. */
#define X86_ATTR_CODE32 (X86_SEG_TYPE_CODE_RX | X86_SEG_S | X86_SEG_P | X86_SEG_DB | X86_SEG_G)
#define X86_ATTR_DATA32 (X86_SEG_TYPE_DATA_RW | X86_SEG_S | X86_SEG_P | X86_SEG_DB | X86_SEG_G)
#define X86_ATTR_CODE64 (X86_SEG_TYPE_CODE_RX | X86_SEG_S | X86_SEG_P | X86_SEG_L | X86_SEG_G)
#define X86_ATTR_CODE16 (X86_SEG_TYPE_CODE_RX | X86_SEG_S | X86_SEG_P)
#define X86_ATTR_DATA16 (X86_SEG_TYPE_DATA_RW | X86_SEG_S | X86_SEG_P)

/* ---- GDT builder ---- */
#define X86_GDT_MAX 32
struct x86_gdt {
    uint64_t entry[X86_GDT_MAX]; /* entry[0] is the null descriptor */
    unsigned count;
};
void x86_gdt_init(struct x86_gdt *gdt);
/* Appends a descriptor; returns its selector (index << 3, RPL = DPL) or VLAB_ENOMEM when full
 * (VLAB_EINVAL for a NULL/uninitialised gdt or a limit x86_desc_encode cannot express). */
int x86_gdt_add(struct x86_gdt *gdt, uint32_t base, uint32_t limit, uint16_t attr);
/* Appends a 16-byte 64-bit system descriptor (TSS/LDT); returns its selector or VLAB_ENOMEM. */
int x86_gdt_add_system64(struct x86_gdt *gdt, uint64_t base, uint32_t limit, uint16_t attr);
/* Size in bytes and the GDTR limit (size - 1). */
static inline unsigned x86_gdt_size(const struct x86_gdt *gdt) {
    return gdt->count * 8;
}
static inline uint16_t x86_gdt_limit(const struct x86_gdt *gdt) {
    return (uint16_t)(gdt->count * 8 - 1);
}

#endif
