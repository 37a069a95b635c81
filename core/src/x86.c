#include "vlab/x86.h"

#include <stddef.h>
#include <string.h>

#include "vlab/err.h"

static const char *const exc_names[32] = {
    [X86_EXC_DE] = "#DE", [X86_EXC_DB] = "#DB", [X86_EXC_NMI] = "NMI", [X86_EXC_BP] = "#BP",
    [X86_EXC_OF] = "#OF", [X86_EXC_BR] = "#BR", [X86_EXC_UD] = "#UD",  [X86_EXC_NM] = "#NM",
    [X86_EXC_DF] = "#DF", [X86_EXC_TS] = "#TS", [X86_EXC_NP] = "#NP",  [X86_EXC_SS] = "#SS",
    [X86_EXC_GP] = "#GP", [X86_EXC_PF] = "#PF", [X86_EXC_MF] = "#MF",  [X86_EXC_AC] = "#AC",
    [X86_EXC_MC] = "#MC", [X86_EXC_XM] = "#XM", [X86_EXC_VE] = "#VE",  [X86_EXC_CP] = "#CP",
};

const char *x86_exception_name(unsigned vector) {
    if (vector < 32 && exc_names[vector]) return exc_names[vector];
    return "#??";
}

bool x86_exception_has_error_code(unsigned vector) {
    switch (vector) {
    case X86_EXC_DF:
    case X86_EXC_TS:
    case X86_EXC_NP:
    case X86_EXC_SS:
    case X86_EXC_GP:
    case X86_EXC_PF:
    case X86_EXC_AC:
    case X86_EXC_CP: return true;
    default: return false;
    }
}

uint64_t x86_desc_encode(uint32_t base, uint32_t limit, uint16_t attr) {
    uint32_t raw;
    if (attr & X86_SEG_G) {
        /* The CPU fills the low 12 bits with ones; any other value would silently change. */
        if ((limit & 0xfff) != 0xfff) return 0;
        raw = limit >> 12;
    } else {
        if (limit > 0xfffff) return 0;
        raw = limit;
    }
    return (uint64_t)(raw & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
           (uint64_t)(attr & 0xff) << 40 | (uint64_t)((raw >> 16) & 0xf) << 48 |
           (uint64_t)((attr >> 12) & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

void x86_desc_decode(uint64_t desc, struct x86_segment *seg) {
    if (!seg) return;
    uint32_t raw = (uint32_t)(desc & 0xffff) | (uint32_t)((desc >> 48) & 0xf) << 16;
    uint16_t attr = (uint16_t)(((desc >> 40) & 0xff) | ((desc >> 52) & 0xf) << 12);
    memset(seg, 0, sizeof *seg);
    seg->base = ((desc >> 16) & 0xffffff) | ((desc >> 56) & 0xff) << 24;
    seg->limit = (attr & X86_SEG_G) ? (raw << 12) | 0xfff : raw;
    seg->attr = attr;
}

void x86_gdt_init(struct x86_gdt *gdt) {
    if (!gdt) return;
    memset(gdt, 0, sizeof *gdt);
    gdt->count = 1; /* slot 0 is the architectural null descriptor */
}

static int selector(unsigned index, uint16_t attr) {
    return (int)(index << 3 | ((attr >> 5) & 3));
}

int x86_gdt_add(struct x86_gdt *gdt, uint32_t base, uint32_t limit, uint16_t attr) {
    if (!gdt || gdt->count == 0 || gdt->count > X86_GDT_MAX) return VLAB_EINVAL;
    if (gdt->count == X86_GDT_MAX) return VLAB_ENOMEM;
    uint64_t d = x86_desc_encode(base, limit, attr);
    /* A null descriptor here would load fine and fault much later, far from the bug. */
    if (d == 0) return VLAB_EINVAL;
    unsigned idx = gdt->count++;
    gdt->entry[idx] = d;
    return selector(idx, attr);
}

int x86_gdt_add_system64(struct x86_gdt *gdt, uint64_t base, uint32_t limit, uint16_t attr) {
    if (!gdt || gdt->count == 0 || gdt->count > X86_GDT_MAX) return VLAB_EINVAL;
    if (gdt->count + 2 > X86_GDT_MAX) return VLAB_ENOMEM;
    uint64_t lo = x86_desc_encode((uint32_t)base, limit, attr);
    if (lo == 0) return VLAB_EINVAL;
    unsigned idx = gdt->count;
    gdt->entry[idx] = lo;
    gdt->entry[idx + 1] = base >> 32; /* bits 63:32 of the upper half are reserved, zero */
    gdt->count += 2;
    return selector(idx, attr);
}
