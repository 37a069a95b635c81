/* Backend selection and what every backend shares: argument checks, memory-slot bookkeeping,
 * KVM's sregs consistency rules, exit names and the register dump. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hv_impl.h"
#include "vlab/err.h"
#include "vlab/x86.h"

int vlab_hv_fail(struct vlab_hv *hv, int rc, const char *fmt, ...) {
    if (!hv) return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hv->err, sizeof hv->err, fmt, ap);
    va_end(ap);
    return rc;
}

const char *vlab_hv_kind_name(enum vlab_hv_kind kind) {
    switch (kind) {
    case VLAB_HV_AUTO: return "auto";
    case VLAB_HV_KVM: return "kvm";
    case VLAB_HV_UNICORN: return "unicorn";
    }
    return "?";
}

int vlab_hv_kind_parse(const char *name, enum vlab_hv_kind *kind) {
    if (!name || !kind) return VLAB_EINVAL;
    for (int k = VLAB_HV_AUTO; k <= VLAB_HV_UNICORN; k++) {
        if (strcasecmp(name, vlab_hv_kind_name((enum vlab_hv_kind)k)) == 0) {
            *kind = (enum vlab_hv_kind)k;
            return VLAB_OK;
        }
    }
    return VLAB_EINVAL;
}

static bool kvm_available(void) {
#if !defined(__x86_64__)
    return false; /* an arm64 /dev/kvm runs arm64 guests, not these */
#endif
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    close(fd);
    return true;
}

struct vlab_hv *vlab_hv_open(enum vlab_hv_kind kind, char *err, size_t errlen) {
    char dummy[8];
    if (!err || errlen == 0) err = dummy, errlen = sizeof dummy;
    err[0] = 0;
    if (kind == VLAB_HV_AUTO) kind = kvm_available() ? VLAB_HV_KVM : VLAB_HV_UNICORN;
    const struct vlab_hv_ops *ops;
    if (kind == VLAB_HV_KVM)
        ops = &vlab_hv_kvm_ops;
    else if (kind == VLAB_HV_UNICORN)
        ops = &vlab_hv_unicorn_ops;
    else {
        snprintf(err, errlen, "unknown hypervisor backend %d", (int)kind);
        return NULL;
    }
    struct vlab_hv *hv = calloc(1, sizeof *hv);
    if (!hv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    hv->kind = kind;
    hv->ops = ops;
    if (ops->open(hv) != VLAB_OK) {
        snprintf(err, errlen, "%s: %s", ops->name, hv->err);
        free(hv);
        return NULL;
    }
    return hv;
}

void vlab_hv_close(struct vlab_hv *hv) {
    if (!hv) return;
    for (unsigned i = 0; i < VLAB_HV_MAX_VCPUS; i++)
        if (hv->vcpu[i]) vlab_hv_vcpu_destroy(hv->vcpu[i]);
    hv->ops->close(hv);
    free(hv);
}

enum vlab_hv_kind vlab_hv_kind(const struct vlab_hv *hv) {
    return hv ? hv->kind : VLAB_HV_AUTO;
}

const char *vlab_hv_error(const struct vlab_hv *hv) {
    return hv ? hv->err : "no VM";
}

int vlab_hv_map(struct vlab_hv *hv, unsigned slot, uint64_t gpa, uint64_t size, void *hva,
                unsigned flags) {
    if (!hv) return VLAB_EINVAL;
    if (slot >= VLAB_HV_MAX_SLOTS)
        return vlab_hv_fail(hv, VLAB_EINVAL, "slot %u: only %d slots", slot, VLAB_HV_MAX_SLOTS);
    if (flags & ~VLAB_HV_MAP_READONLY)
        return vlab_hv_fail(hv, VLAB_EINVAL, "slot %u: unknown flags %#x", slot, flags);
    struct vlab_hv_slot old = hv->slot[slot];
    if (size == 0) {
        if (!old.used) return vlab_hv_fail(hv, VLAB_ENOENT, "slot %u is not mapped", slot);
        hv->slot[slot].used = false;
    } else {
        if ((gpa | size | (uintptr_t)hva) & (X86_PAGE_SIZE - 1) || !hva)
            return vlab_hv_fail(hv, VLAB_EINVAL,
                                "slot %u: gpa %#llx, size %#llx and hva %p must be 4 KiB aligned",
                                slot, (unsigned long long)gpa, (unsigned long long)size, hva);
        if (size > UINT64_MAX - gpa)
            return vlab_hv_fail(hv, VLAB_EINVAL, "slot %u: gpa + size wraps", slot);
        for (unsigned i = 0; i < VLAB_HV_MAX_SLOTS; i++) {
            const struct vlab_hv_slot *s = &hv->slot[i];
            if (i == slot || !s->used) continue;
            if (gpa < s->gpa + s->size && s->gpa < gpa + size)
                return vlab_hv_fail(
                    hv, VLAB_EINVAL, "slot %u [%#llx, %#llx) overlaps slot %u [%#llx, %#llx)", slot,
                    (unsigned long long)gpa, (unsigned long long)(gpa + size), i,
                    (unsigned long long)s->gpa, (unsigned long long)(s->gpa + s->size));
        }
        hv->slot[slot] = (struct vlab_hv_slot){true, gpa, size, hva, flags};
    }
    int rc = hv->ops->map(hv, slot);
    if (rc != VLAB_OK) hv->slot[slot] = old;
    return rc;
}

int vlab_hv_map_gpmem(struct vlab_hv *hv, const struct vlab_gpmem *mem) {
    if (!hv || !mem) return VLAB_EINVAL;
    for (unsigned i = 0; i < mem->nregions && i < VLAB_GPMEM_MAX_REGIONS; i++) {
        const struct vlab_mem_region *r = &mem->region[i];
        unsigned fl = (r->flags & VLAB_MEM_READONLY) ? VLAB_HV_MAP_READONLY : 0;
        int rc = vlab_hv_map(hv, i, r->gpa, r->size, r->hva, fl);
        if (rc != VLAB_OK) return rc;
    }
    return VLAB_OK;
}

int vlab_hv_code_changed(struct vlab_hv *hv, uint64_t gpa, uint64_t len) {
    if (!hv) return VLAB_EINVAL;
    if (len == 0) return VLAB_OK;
    return hv->ops->code_changed(hv, gpa, len);
}

int vlab_hv_create_irqchip(struct vlab_hv *hv) {
    if (!hv) return VLAB_EINVAL;
    if (!hv->ops->create_irqchip)
        return vlab_hv_fail(hv, VLAB_EUNSUPP,
                            "the %s backend has no interrupt controller or timer: a guest that "
                            "needs them (Linux) runs only on --backend kvm",
                            hv->ops->name);
    if (hv->irqchip) return vlab_hv_fail(hv, VLAB_EEXIST, "the interrupt controller exists");
    for (unsigned i = 0; i < VLAB_HV_MAX_VCPUS; i++)
        if (hv->vcpu[i])
            return vlab_hv_fail(hv, VLAB_EINVAL,
                                "the interrupt controller must come before the first vCPU (each "
                                "vCPU gets its local APIC when it is created)");
    int rc = hv->ops->create_irqchip(hv);
    if (rc == VLAB_OK) hv->irqchip = true;
    return rc;
}

int vlab_hv_irq_line(struct vlab_hv *hv, unsigned irq, int level) {
    if (!hv) return VLAB_EINVAL;
    if (!hv->irqchip)
        return vlab_hv_fail(hv, VLAB_EINVAL,
                            "IRQ %u: there is no interrupt controller (vlab_hv_create_irqchip)",
                            irq);
    if (irq > 23) return vlab_hv_fail(hv, VLAB_EINVAL, "IRQ %u: only lines 0-23 exist", irq);
    return hv->ops->irq_line(hv, irq, level ? 1 : 0);
}

struct vlab_vcpu *vlab_hv_vcpu_create(struct vlab_hv *hv, char *err, size_t errlen) {
    char dummy[8];
    if (!err || errlen == 0) err = dummy, errlen = sizeof dummy;
    err[0] = 0;
    if (!hv) {
        snprintf(err, errlen, "no VM");
        return NULL;
    }
    unsigned id = 0;
    while (id < VLAB_HV_MAX_VCPUS && hv->vcpu[id])
        id++;
    if (id == VLAB_HV_MAX_VCPUS) {
        snprintf(err, errlen, "at most %d vCPUs", VLAB_HV_MAX_VCPUS);
        return NULL;
    }
    struct vlab_vcpu *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    v->hv = hv;
    v->id = id;
    if (hv->ops->vcpu_create(v) != VLAB_OK) {
        snprintf(err, errlen, "%s: %s", hv->ops->name, hv->err);
        free(v);
        return NULL;
    }
    hv->vcpu[id] = v;
    return v;
}

void vlab_hv_vcpu_destroy(struct vlab_vcpu *v) {
    if (!v) return;
    v->hv->ops->vcpu_destroy(v);
    v->hv->vcpu[v->id] = NULL;
    free(v);
}

int vlab_hv_get_regs(struct vlab_vcpu *v, struct vlab_regs *r) {
    if (!v || !r) return VLAB_EINVAL;
    return v->hv->ops->get_regs(v, r);
}

int vlab_hv_set_regs(struct vlab_vcpu *v, const struct vlab_regs *r) {
    if (!v || !r) return VLAB_EINVAL;
    return v->hv->ops->set_regs(v, r);
}

int vlab_hv_get_sregs(struct vlab_vcpu *v, struct vlab_sregs *s) {
    if (!v || !s) return VLAB_EINVAL;
    return v->hv->ops->get_sregs(v, s);
}

const char *vlab_sregs_invalid(const struct vlab_sregs *s) {
    if ((s->efer & X86_EFER_LME) && (s->cr0 & X86_CR0_PG)) {
        if (!(s->cr4 & X86_CR4_PAE)) return "long mode (EFER.LME with CR0.PG) needs CR4.PAE";
        if (!(s->efer & X86_EFER_LMA))
            return "EFER.LMA must be set when EFER.LME and CR0.PG are (the CPU sets it on a "
                   "real switch; a VMM loading the state directly must set it)";
    } else {
        if (s->efer & X86_EFER_LMA) return "EFER.LMA set outside long mode (needs LME and PG)";
        if (s->cs.l) return "a 64-bit code segment (CS.L) outside long mode";
    }
    if ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE)) return "CR0.PG without CR0.PE";
    if ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD)) return "CR0.NW without CR0.CD";
    return NULL;
}

int vlab_hv_set_sregs(struct vlab_vcpu *v, const struct vlab_sregs *s) {
    if (!v || !s) return VLAB_EINVAL;
    /* The same rules on both backends, so a mistake fails the same way everywhere. */
    const char *why = vlab_sregs_invalid(s);
    if (why) return vlab_hv_fail(v->hv, VLAB_EINVAL, "KVM_SET_SREGS would refuse this: %s", why);
    return v->hv->ops->set_sregs(v, s);
}

int vlab_hv_run(struct vlab_vcpu *v, struct vlab_exit *exit) {
    if (!v || !exit) return VLAB_EINVAL;
    int rc = v->hv->ops->run(v, exit);
    if (rc == VLAB_OK) v->exits++;
    return rc;
}

int vlab_hv_set_watchdog(struct vlab_vcpu *v, uint64_t usec) {
    if (!v) return VLAB_EINVAL;
    int rc = v->hv->ops->set_watchdog(v, usec);
    if (rc == VLAB_OK) v->watchdog_usec = usec;
    return rc;
}

uint64_t vlab_hv_exit_count(const struct vlab_vcpu *v) {
    return v ? v->exits : 0;
}

const char *vlab_exit_name(enum vlab_exit_reason reason) {
    static const char *const names[] = {
        [VLAB_EXIT_NONE] = "NONE",
        [VLAB_EXIT_IO] = "IO",
        [VLAB_EXIT_MMIO] = "MMIO",
        [VLAB_EXIT_HLT] = "HLT",
        [VLAB_EXIT_SHUTDOWN] = "SHUTDOWN",
        [VLAB_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
        [VLAB_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
        [VLAB_EXIT_TIMEOUT] = "TIMEOUT",
    };
    if ((unsigned)reason < sizeof names / sizeof names[0]) return names[reason];
    return "?";
}

static uint64_t le_value(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void vlab_exit_str(const struct vlab_exit *e, char *buf, size_t len) {
    if (!buf || len == 0) return;
    if (!e) {
        snprintf(buf, len, "(no exit)");
        return;
    }
    switch (e->reason) {
    case VLAB_EXIT_IO:
        snprintf(buf, len, "IO %s port %#x size %u count %u data %#llx",
                 e->io.direction == VLAB_IO_OUT ? "out" : "in", e->io.port, e->io.size, e->io.count,
                 (unsigned long long)(e->io.data ? le_value(e->io.data, e->io.size) : 0));
        break;
    case VLAB_EXIT_MMIO:
        snprintf(buf, len, "MMIO %s gpa %#llx len %u data %#llx",
                 e->mmio.is_write ? "write" : "read", (unsigned long long)e->mmio.gpa, e->mmio.len,
                 (unsigned long long)le_value(e->mmio.data, e->mmio.len));
        break;
    case VLAB_EXIT_FAIL_ENTRY:
        snprintf(buf, len, "FAIL_ENTRY reason %#llx: %s",
                 (unsigned long long)e->fail_entry.hardware_entry_failure_reason, e->desc);
        break;
    case VLAB_EXIT_INTERNAL_ERROR:
        snprintf(buf, len, "INTERNAL_ERROR suberror %u: %s", e->internal.suberror, e->desc);
        break;
    default:
        snprintf(buf, len, "%s%s%s", vlab_exit_name(e->reason), e->desc[0] ? ": " : "", e->desc);
        break;
    }
}

static void dump_seg(FILE *out, const char *name, const struct vlab_seg *s) {
    fprintf(out, "%-3s sel %04x base %016llx limit %08x type %x p%u dpl%u db%u s%u l%u g%u%s\n",
            name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->present, s->dpl,
            s->db, s->s, s->l, s->g, s->unusable ? " unusable" : "");
}

void vlab_hv_dump(struct vlab_vcpu *v, FILE *out) {
    if (!out) return;
    struct vlab_regs r;
    struct vlab_sregs s;
    if (!v || vlab_hv_get_regs(v, &r) != VLAB_OK || vlab_hv_get_sregs(v, &s) != VLAB_OK) {
        fprintf(out, "(registers unavailable: %s)\n", v ? v->hv->err : "no vCPU");
        return;
    }
    fprintf(out, "vCPU %u (%s backend), %llu exits\n", v->id, v->hv->ops->name,
            (unsigned long long)v->exits);
    fprintf(out, "rax %016llx rbx %016llx rcx %016llx rdx %016llx\n", (unsigned long long)r.rax,
            (unsigned long long)r.rbx, (unsigned long long)r.rcx, (unsigned long long)r.rdx);
    fprintf(out, "rsi %016llx rdi %016llx rsp %016llx rbp %016llx\n", (unsigned long long)r.rsi,
            (unsigned long long)r.rdi, (unsigned long long)r.rsp, (unsigned long long)r.rbp);
    fprintf(out, "r8  %016llx r9  %016llx r10 %016llx r11 %016llx\n", (unsigned long long)r.r8,
            (unsigned long long)r.r9, (unsigned long long)r.r10, (unsigned long long)r.r11);
    fprintf(out, "r12 %016llx r13 %016llx r14 %016llx r15 %016llx\n", (unsigned long long)r.r12,
            (unsigned long long)r.r13, (unsigned long long)r.r14, (unsigned long long)r.r15);
    fprintf(out, "rip %016llx rflags %016llx\n", (unsigned long long)r.rip,
            (unsigned long long)r.rflags);
    dump_seg(out, "cs", &s.cs);
    dump_seg(out, "ds", &s.ds);
    dump_seg(out, "es", &s.es);
    dump_seg(out, "ss", &s.ss);
    dump_seg(out, "fs", &s.fs);
    dump_seg(out, "gs", &s.gs);
    dump_seg(out, "tr", &s.tr);
    dump_seg(out, "ldt", &s.ldt);
    fprintf(out, "gdt base %016llx limit %04x  idt base %016llx limit %04x\n",
            (unsigned long long)s.gdt.base, s.gdt.limit, (unsigned long long)s.idt.base,
            s.idt.limit);
    fprintf(out, "cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx\n", (unsigned long long)s.cr0,
            (unsigned long long)s.cr2, (unsigned long long)s.cr3, (unsigned long long)s.cr4);
    fprintf(out, "cr8 %016llx efer %016llx apic_base %016llx\n", (unsigned long long)s.cr8,
            (unsigned long long)s.efer, (unsigned long long)s.apic_base);
}

void vlab_seg_from_attr(struct vlab_seg *seg, uint16_t selector, uint64_t base, uint32_t limit,
                        uint16_t attr) {
    if (!seg) return;
    memset(seg, 0, sizeof *seg);
    seg->base = base;
    seg->limit = limit;
    seg->selector = selector;
    seg->type = attr & 0xf;
    seg->s = !!(attr & X86_SEG_S);
    seg->dpl = (attr >> 5) & 3;
    seg->present = !!(attr & X86_SEG_P);
    seg->avl = !!(attr & X86_SEG_AVL);
    seg->l = !!(attr & X86_SEG_L);
    seg->db = !!(attr & X86_SEG_DB);
    seg->g = !!(attr & X86_SEG_G);
}
