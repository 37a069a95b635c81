/* Reference entry states for the three CPU modes. A VMM loads the state a boot loader would
 * have left behind directly into the vCPU (no real-mode trampoline), so every hidden segment
 * field and every control bit the CPU would have set on the way must be set by hand: these are
 * the classic pitfalls (EFER.LMA, descriptor type bits, a usable TR) the vmm lab checks. */
#include <inttypes.h>
#include <string.h>

#include "hv_impl.h"
#include "vlab/err.h"
#include "vlab/hv.h"
#include "vlab/linux.h"
#include "vlab/pt.h"
#include "vlab/x86.h"

#define TSS_LIMIT 0x67 /* a 104-byte TSS without an I/O bitmap */

/* Every refusal says what was wrong, through the VM's error text (vlab_hv_error). */
#define REFUSE(v, rc, ...) ((v) ? vlab_hv_fail((v)->hv, (rc), __VA_ARGS__) : (rc))

/* A guest-memory write of the entry state failed: say which structure and where. */
static int placed(struct vlab_vcpu *v, int rc, const char *mode, const char *what, uint64_t at,
                  uint64_t len) {
    if (rc == VLAB_OK) return rc;
    return REFUSE(v, rc,
                  "vlab_mode_%s: the %s at %#" PRIx64 " (%" PRIu64 " bytes) does not fit in guest "
                  "memory",
                  mode, what, at, len);
}

static int load(struct vlab_vcpu *v, struct vlab_sregs *s, uint64_t rip, uint64_t rsp) {
    int rc = vlab_hv_set_sregs(v, s);
    if (rc != VLAB_OK) return rc;
    struct vlab_regs r;
    memset(&r, 0, sizeof r);
    r.rip = rip;
    r.rsp = rsp;
    r.rflags = X86_RFLAGS_FIXED; /* interrupts off: nothing would handle them */
    return vlab_hv_set_regs(v, &r);
}

/* Starts from the vCPU's own state so fields this file does not own (apic_base) survive. */
static int base_sregs(struct vlab_vcpu *v, struct vlab_sregs *s) {
    int rc = vlab_hv_get_sregs(v, s);
    if (rc != VLAB_OK) return rc;
    uint64_t apic = s->apic_base;
    memset(s, 0, sizeof *s);
    s->apic_base = apic;
    return VLAB_OK;
}

int vlab_mode_real(struct vlab_vcpu *v, const struct vlab_mode_setup *m) {
    if (!v || !m) return REFUSE(v, VLAB_EINVAL, "vlab_mode_real: no vCPU or no setup");
    if (m->entry >= 0x100000)
        return REFUSE(v, VLAB_EINVAL,
                      "vlab_mode_real: entry %#" PRIx64 " is above 1 MiB, out of real mode's reach",
                      m->entry);
    if (m->stack > 0x100000 || m->stack == 0)
        return REFUSE(v, VLAB_EINVAL,
                      "vlab_mode_real: stack %#" PRIx64 " must be above 0 and at most 1 MiB",
                      m->stack);
    struct vlab_sregs s;
    int rc = base_sregs(v, &s);
    if (rc != VLAB_OK) return rc;
    /* Real mode: base = selector << 4 for every segment, 64 KiB limits. The code segment is
     * the 64 KiB block holding entry, so IP is entry's low 16 bits. */
    uint16_t cs = (uint16_t)((m->entry & ~0xffffull) >> 4);
    uint16_t ss = (uint16_t)(((m->stack - 1) & ~0xffffull) >> 4);
    vlab_seg_from_attr(&s.cs, cs, (uint64_t)cs << 4, 0xffff, X86_ATTR_CODE16);
    vlab_seg_from_attr(&s.ds, cs, (uint64_t)cs << 4, 0xffff, X86_ATTR_DATA16);
    s.es = s.fs = s.gs = s.ds;
    vlab_seg_from_attr(&s.ss, ss, (uint64_t)ss << 4, 0xffff, X86_ATTR_DATA16);
    vlab_seg_from_attr(&s.tr, 0, 0, 0xffff, X86_SEG_TYPE_TSS_BUSY | X86_SEG_P);
    vlab_seg_from_attr(&s.ldt, 0, 0, 0xffff, X86_SEG_TYPE_LDT | X86_SEG_P);
    s.gdt.limit = 0xffff;
    s.idt.limit = 0x3ff; /* the real-mode interrupt vector table at 0 */
    s.cr0 = X86_CR0_ET;
    return load(v, &s, m->entry & 0xffff, m->stack - ((uint64_t)ss << 4));
}

/* Writes gdt at m->gdt and points GDTR at it. */
static int write_gdt(struct vlab_gpmem *mem, const struct x86_gdt *gdt, uint64_t at,
                     struct vlab_sregs *s) {
    int rc = vlab_gpmem_write(mem, at, gdt->entry, x86_gdt_size(gdt));
    if (rc != VLAB_OK) return rc;
    s->gdt.base = at;
    s->gdt.limit = x86_gdt_limit(gdt);
    return VLAB_OK;
}

int vlab_mode_protected(struct vlab_vcpu *v, struct vlab_gpmem *mem,
                        const struct vlab_mode_setup *m) {
    if (!v || !mem || !m)
        return REFUSE(v, VLAB_EINVAL, "vlab_mode_protected: no vCPU, memory or setup");
    struct vlab_sregs s;
    int rc = base_sregs(v, &s);
    if (rc != VLAB_OK) return rc;
    struct x86_gdt gdt;
    x86_gdt_init(&gdt);
    int cs = x86_gdt_add(&gdt, 0, 0xffffffff, X86_ATTR_CODE32);
    int ds = x86_gdt_add(&gdt, 0, 0xffffffff, X86_ATTR_DATA32);
    int tr = x86_gdt_add(&gdt, (uint32_t)m->tss, TSS_LIMIT, X86_SEG_TYPE_TSS_BUSY | X86_SEG_P);
    if (cs < 0 || ds < 0 || tr < 0)
        return REFUSE(v, VLAB_EINVAL, "vlab_mode_protected: the GDT has no room for its entries");
    if ((rc = write_gdt(mem, &gdt, m->gdt, &s)) != VLAB_OK)
        return placed(v, rc, "protected", "GDT", m->gdt, x86_gdt_size(&gdt));
    if (m->tss && (rc = vlab_gpmem_fill(mem, m->tss, 0, TSS_LIMIT + 1)) != VLAB_OK)
        return placed(v, rc, "protected", "TSS", m->tss, TSS_LIMIT + 1);
    vlab_seg_from_attr(&s.cs, (uint16_t)cs, 0, 0xffffffff, X86_ATTR_CODE32);
    vlab_seg_from_attr(&s.ds, (uint16_t)ds, 0, 0xffffffff, X86_ATTR_DATA32);
    s.es = s.fs = s.gs = s.ss = s.ds;
    vlab_seg_from_attr(&s.tr, (uint16_t)tr, m->tss, TSS_LIMIT, X86_SEG_TYPE_TSS_BUSY | X86_SEG_P);
    vlab_seg_from_attr(&s.ldt, 0, 0, 0, 0);
    s.ldt.unusable = 1;
    s.cr0 = X86_CR0_PE | X86_CR0_ET;
    return load(v, &s, m->entry, m->stack);
}

int vlab_mode_long(struct vlab_vcpu *v, struct vlab_gpmem *mem, const struct vlab_mode_setup *m) {
    if (!v || !mem || !m) return REFUSE(v, VLAB_EINVAL, "vlab_mode_long: no vCPU, memory or setup");
    if (m->identity_size == 0 || m->identity_size % X86_PAGE_2M)
        return REFUSE(v, VLAB_EINVAL,
                      "vlab_mode_long: identity_size %#" PRIx64 " must be a non-zero multiple "
                      "of 2 MiB",
                      m->identity_size);
    struct vlab_sregs s;
    int rc = base_sregs(v, &s);
    if (rc != VLAB_OK) return rc;
    struct vlab_pt_builder b;
    uint64_t cr3;
    if ((rc = vlab_pt_builder_init(&b, mem, m->pt_pool_start, m->pt_pool_end)) != VLAB_OK ||
        (rc = vlab_pt_new_root(&b, &cr3)) != VLAB_OK)
        return REFUSE(v, rc,
                      "vlab_mode_long: the page-table pool [%#" PRIx64 ", %#" PRIx64 ") is not "
                      "4 KiB-aligned guest memory (%s)",
                      m->pt_pool_start, m->pt_pool_end, vlab_strerror(rc));
    for (uint64_t a = 0; a < m->identity_size; a += X86_PAGE_2M)
        if ((rc = vlab_pt_map(&b, cr3, a, a, X86_PAGE_2M, X86_PTE_RW)) != VLAB_OK)
            return REFUSE(v, rc,
                          "vlab_mode_long: mapping %#" PRIx64 " with 2 MiB pages failed: the "
                          "page-table pool [%#" PRIx64 ", %#" PRIx64 ") is too small (%s)",
                          m->identity_size, m->pt_pool_start, m->pt_pool_end, vlab_strerror(rc));
    struct x86_gdt gdt;
    x86_gdt_init(&gdt);
    int cs = x86_gdt_add(&gdt, 0, 0xffffffff, X86_ATTR_CODE64);
    int ds = x86_gdt_add(&gdt, 0, 0xffffffff, X86_ATTR_DATA32);
    int tr = x86_gdt_add_system64(&gdt, m->tss, TSS_LIMIT, X86_SEG_TYPE_TSS_BUSY | X86_SEG_P);
    if (cs < 0 || ds < 0 || tr < 0)
        return REFUSE(v, VLAB_EINVAL, "vlab_mode_long: the GDT has no room for its entries");
    if ((rc = write_gdt(mem, &gdt, m->gdt, &s)) != VLAB_OK)
        return placed(v, rc, "long", "GDT", m->gdt, x86_gdt_size(&gdt));
    if ((rc = vlab_gpmem_fill(mem, m->tss, 0, TSS_LIMIT + 1)) != VLAB_OK)
        return placed(v, rc, "long", "TSS", m->tss, TSS_LIMIT + 1);
    /* CS.L = 1 with CS.D = 0 is 64-bit code; L and D both set is reserved. */
    vlab_seg_from_attr(&s.cs, (uint16_t)cs, 0, 0xffffffff, X86_ATTR_CODE64);
    vlab_seg_from_attr(&s.ds, (uint16_t)ds, 0, 0xffffffff, X86_ATTR_DATA32);
    s.es = s.fs = s.gs = s.ss = s.ds;
    vlab_seg_from_attr(&s.tr, (uint16_t)tr, m->tss, TSS_LIMIT, X86_SEG_TYPE_TSS_BUSY | X86_SEG_P);
    vlab_seg_from_attr(&s.ldt, 0, 0, 0, 0);
    s.ldt.unusable = 1;
    s.cr3 = cr3;
    s.cr4 = X86_CR4_PAE;
    /* LMA is what the CPU would have set when paging came on with LME: loaded directly, the
     * VMM must set it itself (KVM refuses LME|PG without LMA). */
    s.efer = X86_EFER_LME | X86_EFER_LMA;
    s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
    return load(v, &s, m->entry, m->stack);
}

/* The 64-bit Linux boot protocol's entry state (vlab/linux.h): the GDT, page tables and TSS are
 * what vlab_load_linux wrote. */
int vlab_linux_entry(struct vlab_vcpu *vcpu, const struct vlab_linux_layout *l) {
    if (!vcpu || !l) return VLAB_EINVAL;
    struct vlab_sregs s;
    int rc = vlab_hv_get_sregs(vcpu, &s);
    if (rc != VLAB_OK) return rc;
    uint64_t apic = s.apic_base;
    memset(&s, 0, sizeof s);
    s.apic_base = apic;
    struct x86_gdt gdt;
    if (vlab_linux_gdt(&gdt, l->tss) != VLAB_OK) return VLAB_EINVAL;
    s.gdt.base = l->gdt;
    s.gdt.limit = x86_gdt_limit(&gdt);
    vlab_seg_from_attr(&s.cs, VLAB_LINUX_CODE_SEL, 0, 0xffffffff, X86_ATTR_CODE64);
    vlab_seg_from_attr(&s.ds, VLAB_LINUX_DATA_SEL, 0, 0xffffffff, X86_ATTR_DATA32);
    s.es = s.fs = s.gs = s.ss = s.ds;
    vlab_seg_from_attr(&s.tr, VLAB_LINUX_TSS_SEL, l->tss, TSS_LIMIT,
                       X86_SEG_TYPE_TSS_BUSY | X86_SEG_P);
    vlab_seg_from_attr(&s.ldt, 0, 0, 0, 0);
    s.ldt.unusable = 1;
    s.cr3 = l->pt;
    s.cr4 = X86_CR4_PAE;
    s.efer = X86_EFER_LME | X86_EFER_LMA;
    s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | X86_CR0_PG;
    if ((rc = vlab_hv_set_sregs(vcpu, &s)) != VLAB_OK) return rc;
    struct vlab_regs r;
    memset(&r, 0, sizeof r);
    r.rip = l->entry;
    r.rsi = l->boot_params;
    r.rsp = l->stack - 16;
    r.rflags = X86_RFLAGS_FIXED;
    return vlab_hv_set_regs(vcpu, &r);
}
