/* The unicorn backend: KVM's exit semantics on Unicorn 2.
 *
 * Unicorn runs the guest inside uc_emu_start and reports IN/OUT and MMIO accesses through
 * callbacks that must return the IN / read value at once. KVM instead stops the guest at the
 * exiting instruction and lets the VMM answer before the guest goes on. To get the same
 * contract, uc_emu_start runs on its own stack (hv_coro.c): a callback yields to the VMM with
 * the exit filled in, and the VMM's next vlab_hv_run resumes the callback, which returns the
 * VMM's data to the guest. No guest instruction runs between the exit and the answer.
 *
 * One Unicorn engine per vCPU, created lazily at the first run (and again after the memory
 * map or the sregs change) in the engine mode the sregs call for: UC_MODE_16 for real mode,
 * UC_MODE_32 for protected mode, UC_MODE_64 for long mode. Every guest-physical address below
 * MMIO_TOP that no slot covers is mapped as MMIO, so any access there is an MMIO exit as on
 * KVM. Unicorn does not deliver exceptions through the guest IDT: an exception the guest IDT
 * could not deliver either is a SHUTDOWN (triple fault) as on KVM; one it could is reported as
 * an INTERNAL_ERROR (a documented difference, docs/architecture.md). */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unicorn/unicorn.h>

#include "hv_coro.h"
#include "hv_impl.h"
#include "uc_lazy.h"
#include "vlab/err.h"
#include "vlab/x86.h"

#define MMIO_TOP         (1ull << 39)
#define CORO_STACK       (1u << 20) /* TCG translation needs deep stacks */
#define MSR_FS_BASE      0xc0000100u
#define MSR_GS_BASE      0xc0000101u
#define WATCHDOG_TICK_NS 200000
#define TB_RESERVE       (((size_t)1 << 30) + ((size_t)64 << 20))
#define PIO_DATA         1024 /* KVM's read-ahead buffer for rep ins (emulate.c's rc->data) */

struct ucv;

struct mmio_gap {
    struct ucv *v;
    uint64_t base;
};

enum coro_state { CORO_IDLE, CORO_SUSPENDED };

struct ucv {
    struct vlab_vcpu *vcpu;
    uc_engine *uc;
    int mode; /* UC_MODE_16/32/64 of uc */
    bool rebuild;
    uc_hook h_in, h_out, h_intr, h_inval, h_rd, h_wr;
    struct mmio_gap gap[VLAB_HV_MAX_SLOTS + 1];

    /* Shadow state: what the VMM set, used while no engine exists and for the fields Unicorn
     * cannot report (hidden segment parts). */
    struct vlab_regs regs;
    struct vlab_sregs sregs;
    const char *entry_fail; /* a VMX guest-state rule the sregs break, or NULL */

    struct vlab_coro coro;
    enum coro_state state;
    bool coro_started;
    bool aborting; /* destroy: hooks return at once and stop the engine */
    uc_err emu_err;
    struct vlab_exit pending;
    struct vlab_exit *answer; /* the exit struct the VMM fills before the next run */
    uint8_t iobuf[PIO_DATA];
    unsigned ins_left, ins_next; /* rep ins elements still to hand out of iobuf, and which */
    /* The data access the guest is making, as it issued it: Unicorn hands an 8-byte access
     * to MMIO to the callbacks as two 4-byte halves (QEMU's default for a device with no
     * access sizes), KVM as one exit of 8. The first half becomes that one exit; the second
     * (at wide_next) is answered from wide_data without another. */
    struct {
        uint64_t addr, value;
        int size;
        bool write;
    } acc;
    uint64_t wide_next;
    uint8_t wide_data[8];
    bool dead;
    struct vlab_exit dead_exit;
    /* the last invalid memory access Unicorn reported */
    bool bad_valid;
    int bad_type;
    uint64_t bad_addr;
    int bad_size;

    /* watchdog: a helper thread stops the engine when a run exceeds its budget */
    pthread_t wd_thread;
    bool wd_started, wd_quit, wd_armed, stop_pending;
    uint64_t wd_deadline_ns;
    pthread_mutex_t wd_lock;
};

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void close_engine(struct ucv *v);

static int ufail(struct ucv *v, int rc, const char *what, uc_err e) {
    return vlab_hv_fail(v->vcpu->hv, rc, "%s: %s", what, uc_strerror(e));
}

/* ---- VM ---- */

static int u_open(struct vlab_hv *hv) {
    char why[256];
    if (vlab_uc_load(why, sizeof why))
        return vlab_hv_fail(hv, VLAB_EUNSUPP, "the unicorn backend needs Unicorn 2: %s", why);
    return VLAB_OK;
}
static void u_close(struct vlab_hv *hv) {
    (void)hv;
}

static int u_map(struct vlab_hv *hv, unsigned slot) {
    (void)slot;
    for (unsigned i = 0; i < VLAB_HV_MAX_VCPUS; i++) {
        struct vlab_vcpu *c = hv->vcpu[i];
        if (!c) continue;
        struct ucv *v = c->priv;
        if (v->state == CORO_SUSPENDED)
            return vlab_hv_fail(
                hv, VLAB_EUNSUPP,
                "unicorn: the memory map cannot change while vCPU %u has an IO/MMIO "
                "exit pending",
                i);
    }
    for (unsigned i = 0; i < VLAB_HV_MAX_VCPUS; i++)
        if (hv->vcpu[i]) ((struct ucv *)hv->vcpu[i]->priv)->rebuild = true;
    return VLAB_OK;
}

static int u_code_changed(struct vlab_hv *hv, uint64_t gpa, uint64_t len) {
    for (unsigned i = 0; i < VLAB_HV_MAX_VCPUS; i++) {
        if (!hv->vcpu[i]) continue;
        struct ucv *v = hv->vcpu[i]->priv;
        /* Unicorn does not notice writes through the host pointer to translated code. */
        if (v->uc) uc_ctl_remove_cache(v->uc, gpa, gpa + len);
    }
    return VLAB_OK;
}

/* ---- register access on a live engine ---- */

static const int gpr64[16] = {
    UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI, UC_X86_REG_RDI,
    UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
    UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};
static const int gpr32[8] = {
    UC_X86_REG_EAX, UC_X86_REG_EBX, UC_X86_REG_ECX, UC_X86_REG_EDX,
    UC_X86_REG_ESI, UC_X86_REG_EDI, UC_X86_REG_ESP, UC_X86_REG_EBP,
};

static void engine_get_regs(struct ucv *v, struct vlab_regs *r) {
    uint64_t *g = &r->rax;
    if (v->mode == UC_MODE_64) {
        for (int i = 0; i < 16; i++)
            uc_reg_read(v->uc, gpr64[i], &g[i]);
        uc_reg_read(v->uc, UC_X86_REG_RIP, &r->rip);
        uc_reg_read(v->uc, UC_X86_REG_RFLAGS, &r->rflags);
        return;
    }
    /* Unicorn's 16/32-bit engines expose only the 32-bit registers; r8-r15 keep the shadow. */
    *r = v->regs;
    for (int i = 0; i < 8; i++) {
        uint32_t x = 0;
        uc_reg_read(v->uc, gpr32[i], &x);
        g[i] = x;
    }
    uint32_t eip = 0, fl = 0;
    uc_reg_read(v->uc, UC_X86_REG_EIP, &eip);
    uc_reg_read(v->uc, UC_X86_REG_EFLAGS, &fl);
    r->rip = eip;
    r->rflags = fl;
}

static void engine_set_gprs(struct ucv *v, const struct vlab_regs *r) {
    const uint64_t *g = &r->rax;
    if (v->mode == UC_MODE_64) {
        for (int i = 0; i < 16; i++)
            uc_reg_write(v->uc, gpr64[i], &g[i]);
        return;
    }
    for (int i = 0; i < 8; i++) {
        uint32_t x = (uint32_t)g[i];
        uc_reg_write(v->uc, gpr32[i], &x);
    }
}

static void engine_set_flags_rip(struct ucv *v, const struct vlab_regs *r) {
    if (v->mode == UC_MODE_64) {
        uc_reg_write(v->uc, UC_X86_REG_RFLAGS, &r->rflags);
        uc_reg_write(v->uc, UC_X86_REG_RIP, &r->rip);
    } else {
        uint32_t fl = (uint32_t)r->rflags, eip = (uint32_t)r->rip;
        uc_reg_write(v->uc, UC_X86_REG_EFLAGS, &fl);
        uc_reg_write(v->uc, UC_X86_REG_EIP, &eip);
    }
}

static int u_get_regs(struct vlab_vcpu *c, struct vlab_regs *r) {
    struct ucv *v = c->priv;
    if (v->uc && !v->rebuild)
        engine_get_regs(v, r);
    else
        *r = v->regs;
    return VLAB_OK;
}

static int u_set_regs(struct vlab_vcpu *c, const struct vlab_regs *r) {
    struct ucv *v = c->priv;
    if (v->uc && !v->rebuild && v->state == CORO_SUSPENDED) {
        /* Inside an exit the general registers can change (a hypercall's return value);
         * the instruction is half done, so moving RIP or RFLAGS is not supported. */
        struct vlab_regs cur;
        engine_get_regs(v, &cur);
        if (cur.rip != r->rip || cur.rflags != r->rflags)
            return vlab_hv_fail(c->hv, VLAB_EUNSUPP,
                                "unicorn: RIP/RFLAGS cannot change while an IO/MMIO exit is "
                                "pending (run the vCPU first)");
        engine_set_gprs(v, r);
        v->regs = *r;
        return VLAB_OK;
    }
    v->regs = *r;
    if (v->uc && !v->rebuild) {
        engine_set_gprs(v, r);
        engine_set_flags_rip(v, r);
    }
    return VLAB_OK;
}

/* ---- segment state ---- */

/* QEMU's descriptor-cache flags (the high dword of a descriptor) from a vlab_seg. */
static uint32_t qemu_flags(const struct vlab_seg *s) {
    return (uint32_t)s->type << 8 | (uint32_t)s->s << 12 | (uint32_t)s->dpl << 13 |
           (uint32_t)s->present << 15 | (uint32_t)s->avl << 20 | (uint32_t)s->l << 21 |
           (uint32_t)s->db << 22 | (uint32_t)s->g << 23;
}

static void seg_from_qemu(struct vlab_seg *s, uint16_t sel, uint64_t base, uint32_t limit,
                          uint32_t fl) {
    memset(s, 0, sizeof *s);
    s->selector = sel;
    s->base = base;
    s->limit = limit;
    s->type = (fl >> 8) & 0xf;
    s->s = (fl >> 12) & 1;
    s->dpl = (fl >> 13) & 3;
    s->present = (fl >> 15) & 1;
    s->avl = (fl >> 20) & 1;
    s->l = (fl >> 21) & 1;
    s->db = (fl >> 22) & 1;
    s->g = (fl >> 23) & 1;
    s->unusable = !s->present;
}

static int mode_for(const struct vlab_sregs *s) {
    if (!(s->cr0 & X86_CR0_PE)) return UC_MODE_16;
    if (s->efer & X86_EFER_LMA) return UC_MODE_64;
    return UC_MODE_32;
}

/* What the engine cannot represent: Unicorn only lets hidden segment state be loaded from a
 * descriptor table (or, in real mode, from the selector), so only the usual flat setups are
 * accepted; anything else is refused up front rather than run differently. */
static const char *unsupported(const struct vlab_sregs *s) {
    const struct vlab_seg *segs[] = {&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss};
    int mode = mode_for(s);
    for (unsigned i = 0; i < 6; i++) {
        const struct vlab_seg *g = segs[i];
        if (mode == UC_MODE_32) {
            if (!g->unusable && g->base != 0 && i != 3 && i != 4)
                return "protected mode with a non-zero segment base";
        }
    }
    if (mode == UC_MODE_32 && !s->cs.db) return "16-bit protected mode";
    if (mode == UC_MODE_64 && !s->cs.l) return "compatibility mode (long mode with CS.L = 0)";
    return NULL;
}

/* A subset of the VMX guest-state checks (SDM vol. 3 §26.3.1.2), so that a VMM that would fail
 * VM entry on Intel hardware fails on this backend too. */
static const char *vmx_invalid(const struct vlab_sregs *s) {
    if (!(s->cr0 & X86_CR0_PE)) return NULL; /* real mode: KVM fixes the segments itself */
    const struct vlab_seg *cs = &s->cs;
    if (cs->unusable || !cs->present) return "CS is not present";
    if (!cs->s || !(cs->type & 0x8))
        return "CS is not a code segment (descriptor type must have bit 3 set and S = 1)";
    if (cs->l && cs->db) return "CS has both L and D/B set";
    const struct vlab_seg *data[] = {&s->ds, &s->es, &s->fs, &s->gs, &s->ss};
    for (unsigned i = 0; i < 5; i++) {
        const struct vlab_seg *d = data[i];
        if (d->unusable) continue;
        if (!d->present) return "a usable data segment is not present";
        if (!d->s) return "a data segment has S = 0 (system descriptor)";
        if ((d->type & 0x8) && !(d->type & 0x2)) return "a data segment is execute-only code";
    }
    if (!s->ss.unusable && (s->ss.type & 0x8)) return "SS is a code segment";
    const struct vlab_seg *tr = &s->tr;
    if (tr->unusable || !tr->present || tr->s) return "TR must be a usable, present system segment";
    if ((s->efer & X86_EFER_LMA) && tr->type != X86_SEG_TYPE_TSS_BUSY)
        return "TR in long mode must be a busy 64-bit TSS (type 11)";
    if (tr->type != X86_SEG_TYPE_TSS_BUSY && tr->type != 3) return "TR type must be a busy TSS";
    return NULL;
}

static int u_get_sregs(struct vlab_vcpu *c, struct vlab_sregs *s) {
    struct ucv *v = c->priv;
    *s = v->sregs;
    if (!v->uc || v->rebuild) return VLAB_OK;
    uint64_t cr[5] = {0};
    int crid[5] = {UC_X86_REG_CR0, UC_X86_REG_CR2, UC_X86_REG_CR3, UC_X86_REG_CR4, UC_X86_REG_CR8};
    for (int i = 0; i < 5; i++) {
        if (v->mode == UC_MODE_64) {
            uc_reg_read(v->uc, crid[i], &cr[i]);
        } else if (i < 4) {
            uint32_t x = 0;
            uc_reg_read(v->uc, crid[i], &x);
            cr[i] = x;
        }
    }
    s->cr0 = cr[0], s->cr2 = cr[1], s->cr3 = cr[2], s->cr4 = cr[3];
    if (v->mode == UC_MODE_64) s->cr8 = cr[4];
    uc_x86_msr efer = {X86_MSR_EFER, 0};
    if (uc_reg_read(v->uc, UC_X86_REG_MSR, &efer) == UC_ERR_OK) s->efer = efer.value;
    uc_x86_mmr m;
    if (uc_reg_read(v->uc, UC_X86_REG_GDTR, &m) == UC_ERR_OK)
        s->gdt.base = m.base, s->gdt.limit = (uint16_t)m.limit;
    if (uc_reg_read(v->uc, UC_X86_REG_IDTR, &m) == UC_ERR_OK)
        s->idt.base = m.base, s->idt.limit = (uint16_t)m.limit;
    if (uc_reg_read(v->uc, UC_X86_REG_TR, &m) == UC_ERR_OK)
        seg_from_qemu(&s->tr, m.selector, m.base, m.limit, m.flags);
    /* Selectors: the guest may have loaded new ones. The hidden parts Unicorn does not
     * report; in real mode they follow from the selector. */
    struct {
        int id;
        struct vlab_seg *seg;
    } sel[] = {{UC_X86_REG_CS, &s->cs}, {UC_X86_REG_DS, &s->ds}, {UC_X86_REG_ES, &s->es},
               {UC_X86_REG_SS, &s->ss}, {UC_X86_REG_FS, &s->fs}, {UC_X86_REG_GS, &s->gs}};
    for (unsigned i = 0; i < 6; i++) {
        uint16_t x = 0;
        if (uc_reg_read(v->uc, sel[i].id, &x) != UC_ERR_OK) continue;
        if (v->mode == UC_MODE_16) {
            sel[i].seg->selector = x;
            sel[i].seg->base = (uint64_t)x << 4;
        } else if (x != 0) {
            sel[i].seg->selector = x;
        }
    }
    return VLAB_OK;
}

/* Real mode with a base that is not selector * 16: what a VMM gets wrong when it forgets
 * that the CPU derives the base from the selector, so it is said as that, not as a limit of
 * this backend (kvm would run such a guest, from the base given). */
static int real_mode_base(struct vlab_vcpu *c, const struct vlab_sregs *s) {
    static const char *const names[] = {"CS", "DS", "ES", "FS", "GS", "SS"};
    const struct vlab_seg *segs[] = {&s->cs, &s->ds, &s->es, &s->fs, &s->gs, &s->ss};
    if (mode_for(s) != UC_MODE_16) return VLAB_OK;
    for (unsigned i = 0; i < 6; i++)
        if (segs[i]->base != (uint64_t)segs[i]->selector << 4)
            return vlab_hv_fail(c->hv, VLAB_EINVAL,
                                "real mode: %s has selector %#x but base %#llx; a real-mode "
                                "segment's base is its selector times 16 (%#llx), as the CPU "
                                "loads it",
                                names[i], segs[i]->selector, (unsigned long long)segs[i]->base,
                                (unsigned long long)segs[i]->selector << 4);
    return VLAB_OK;
}

static int u_set_sregs(struct vlab_vcpu *c, const struct vlab_sregs *s) {
    struct ucv *v = c->priv;
    int rc = real_mode_base(c, s);
    if (rc != VLAB_OK) return rc;
    const char *why = unsupported(s);
    if (why) return vlab_hv_fail(c->hv, VLAB_EUNSUPP, "unicorn backend: %s is not supported", why);
    if (v->dead) {
        /* A VMM resets a shut-down vCPU by loading a new state, as on KVM. */
        if (v->uc && !v->rebuild) engine_get_regs(v, &v->regs);
        close_engine(v);
        v->dead = false;
    }
    if (v->state == CORO_SUSPENDED)
        return vlab_hv_fail(c->hv, VLAB_EUNSUPP,
                            "unicorn: sregs cannot change while an IO/MMIO exit is pending");
    /* Keep the registers the engine holds before it is rebuilt in the new mode. */
    if (v->uc && !v->rebuild) engine_get_regs(v, &v->regs);
    v->sregs = *s;
    v->entry_fail = vmx_invalid(s);
    v->rebuild = true;
    return VLAB_OK;
}

/* Loads v->sregs into a fresh engine (see unsupported() for what can be represented). */
static int apply_sregs(struct ucv *v) {
    const struct vlab_sregs *s = &v->sregs;
    uc_engine *uc = v->uc;
    uc_err e;
    uc_x86_mmr m = {0, s->gdt.base, s->gdt.limit, 0};
    if ((e = uc_reg_write(uc, UC_X86_REG_GDTR, &m))) return ufail(v, VLAB_EIO, "GDTR", e);
    m = (uc_x86_mmr){0, s->idt.base, s->idt.limit, 0};
    if ((e = uc_reg_write(uc, UC_X86_REG_IDTR, &m))) return ufail(v, VLAB_EIO, "IDTR", e);
    m = (uc_x86_mmr){s->tr.selector, s->tr.base, s->tr.limit, qemu_flags(&s->tr)};
    uc_reg_write(uc, UC_X86_REG_TR, &m);
    m = (uc_x86_mmr){s->ldt.selector, s->ldt.base, s->ldt.limit, qemu_flags(&s->ldt)};
    uc_reg_write(uc, UC_X86_REG_LDTR, &m);
    if (v->mode == UC_MODE_16) {
        /* Real mode: writing a selector loads base = selector << 4. */
        int ids[] = {UC_X86_REG_CS, UC_X86_REG_DS, UC_X86_REG_ES,
                     UC_X86_REG_SS, UC_X86_REG_FS, UC_X86_REG_GS};
        const struct vlab_seg *segs[] = {&s->cs, &s->ds, &s->es, &s->ss, &s->fs, &s->gs};
        for (int i = 0; i < 6; i++) {
            uint16_t sel = segs[i]->selector;
            if ((e = uc_reg_write(uc, ids[i], &sel))) return ufail(v, VLAB_EIO, "segment", e);
        }
        uint32_t cr0 = (uint32_t)s->cr0;
        uc_reg_write(uc, UC_X86_REG_CR0, &cr0);
        return VLAB_OK;
    }
    uc_x86_msr msr = {X86_MSR_EFER, s->efer};
    if ((e = uc_reg_write(uc, UC_X86_REG_MSR, &msr))) return ufail(v, VLAB_EIO, "EFER", e);
    if (v->mode == UC_MODE_64) {
        /* The 64-bit engine starts with flat segments and 64-bit CS; selectors are numbers. */
        int ids[] = {UC_X86_REG_CS, UC_X86_REG_DS, UC_X86_REG_ES, UC_X86_REG_SS};
        const struct vlab_seg *segs[] = {&s->cs, &s->ds, &s->es, &s->ss};
        for (int i = 0; i < 4; i++) {
            uint16_t sel = segs[i]->selector;
            uc_reg_write(uc, ids[i], &sel);
        }
        msr = (uc_x86_msr){MSR_FS_BASE, s->fs.base};
        uc_reg_write(uc, UC_X86_REG_MSR, &msr);
        msr = (uc_x86_msr){MSR_GS_BASE, s->gs.base};
        uc_reg_write(uc, UC_X86_REG_MSR, &msr);
        uint64_t cr4 = s->cr4, cr3 = s->cr3, cr0 = s->cr0, cr8 = s->cr8, cr2 = s->cr2;
        /* PAE and CR3 before PG: turning paging on with LME is what keeps LMA set. */
        uc_reg_write(uc, UC_X86_REG_CR4, &cr4);
        uc_reg_write(uc, UC_X86_REG_CR3, &cr3);
        uc_reg_write(uc, UC_X86_REG_CR2, &cr2);
        uc_reg_write(uc, UC_X86_REG_CR8, &cr8);
        uc_reg_write(uc, UC_X86_REG_CR0, &cr0);
        return VLAB_OK;
    }
    /* 32-bit engine: starts flat with 32-bit CS/SS, which unsupported() made sure is what the
     * sregs describe; the selectors are kept in the shadow. */
    uint32_t cr4 = (uint32_t)s->cr4, cr3 = (uint32_t)s->cr3, cr0 = (uint32_t)s->cr0;
    uint32_t cr2 = (uint32_t)s->cr2;
    uc_reg_write(uc, UC_X86_REG_CR4, &cr4);
    uc_reg_write(uc, UC_X86_REG_CR3, &cr3);
    uc_reg_write(uc, UC_X86_REG_CR2, &cr2);
    uc_reg_write(uc, UC_X86_REG_CR0, &cr0);
    return VLAB_OK;
}

/* ---- exits from inside the engine ---- */

/* Hands the exit in v->pending to the VMM and waits for the next vlab_hv_run. */
static void suspend(struct ucv *v) {
    v->ins_left = 0; /* any other exit ends a rep ins read-ahead */
    v->state = CORO_SUSPENDED;
    vlab_coro_yield(&v->coro);
    v->state = CORO_IDLE;
    if (v->aborting) uc_emu_stop(v->uc);
}

static void hook_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *arg) {
    (void)uc;
    struct ucv *v = arg;
    if (v->aborting) return;
    struct vlab_exit *e = &v->pending;
    e->reason = VLAB_EXIT_IO;
    e->io.direction = VLAB_IO_OUT;
    e->io.port = (uint16_t)port;
    e->io.size = (uint8_t)size;
    e->io.count = 1;
    memcpy(v->iobuf, &value, sizeof value);
    suspend(v);
}

/* How many elements of a `rep ins` at RIP one exit reads, as KVM's emulator counts them:
 * RCX (masked to the address size), at most what fits in the rest of the destination's page
 * and in its 1 KiB read-ahead buffer; 1 for anything else. */
static unsigned ins_elements(struct ucv *v, unsigned size) {
    struct vlab_regs r;
    engine_get_regs(v, &r);
    uint64_t at = r.rip;
    if (v->mode == UC_MODE_16) {
        uint16_t cs = 0;
        uc_reg_read(v->uc, UC_X86_REG_CS, &cs);
        at = (uint64_t)cs * 16 + (r.rip & 0xffff);
    }
    uint8_t insn[15];
    if (uc_mem_read(v->uc, at, insn, sizeof insn) != UC_ERR_OK) return 1;
    unsigned abits = v->mode == UC_MODE_64 ? 64 : v->mode == UC_MODE_32 ? 32 : 16;
    bool rep = false;
    unsigned i = 0;
    for (; i < sizeof insn; i++) {
        uint8_t b = insn[i];
        if (b == 0xf3 || b == 0xf2)
            rep = true;
        else if (b == 0x67)
            abits = abits == 64 ? 32 : abits == 32 ? 16 : 32;
        else if (b == 0x66 || b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 ||
                 b == 0x65 || (v->mode == UC_MODE_64 && (b & 0xf0) == 0x40))
            continue;
        else
            break;
    }
    if (!rep || i == sizeof insn || (insn[i] != 0x6c && insn[i] != 0x6d)) return 1;
    uint64_t mask = abits == 64 ? ~0ull : (1ull << abits) - 1;
    uint64_t es = 0; /* real mode: the destination is ES * 16 + DI; flat elsewhere */
    if (v->mode == UC_MODE_16) {
        uint16_t sel = 0;
        uc_reg_read(v->uc, UC_X86_REG_ES, &sel);
        es = (uint64_t)sel << 4;
    }
    uint64_t count = r.rcx & mask, off = (es + (r.rdi & mask)) & 0xfff;
    uint64_t in_page = (r.rflags & X86_RFLAGS_DF) ? off + size : 4096 - off;
    uint64_t n = count;
    if (n > in_page / size) n = in_page / size;
    if (n > PIO_DATA / size) n = PIO_DATA / size;
    return n ? (unsigned)n : 1;
}

static uint32_t hook_in(uc_engine *uc, uint32_t port, int size, void *arg) {
    (void)uc;
    struct ucv *v = arg;
    if (v->aborting) return 0;
    uint32_t val = 0;
    struct vlab_exit *e = &v->pending;
    if (v->ins_left && e->io.port == port && e->io.size == size) {
        /* The rest of a rep ins that one exit answered: no exit, as KVM reads ahead. */
        memcpy(&val, v->iobuf + (size_t)v->ins_next++ * (unsigned)size, (size_t)size);
        v->ins_left--;
        return val;
    }
    v->ins_left = 0;
    unsigned n = ins_elements(v, (unsigned)size);
    e->reason = VLAB_EXIT_IO;
    e->io.direction = VLAB_IO_IN;
    e->io.port = (uint16_t)port;
    e->io.size = (uint8_t)size;
    e->io.count = n;
    /* What the guest reads if the VMM writes nothing (KVM leaves the old buffer). */
    memset(v->iobuf, 0, sizeof v->iobuf);
    suspend(v);
    memcpy(&val, v->iobuf, (size_t)size <= sizeof val ? (size_t)size : sizeof val);
    v->ins_left = n - 1;
    v->ins_next = 1;
    return val;
}

/* Records each data access before Unicorn performs it (see ucv.acc). */
static void hook_access(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                        void *arg) {
    (void)uc;
    struct ucv *v = arg;
    v->acc.addr = addr;
    v->acc.value = (uint64_t)value;
    v->acc.size = size;
    v->acc.write = type == UC_MEM_WRITE;
    v->wide_next = UINT64_MAX;
}

/* The first half of an 8-byte access the guest made at gpa: one exit for all of it. The
 * access was recorded by its virtual address; paging keeps the offset in the page. */
static bool wide_first(const struct ucv *v, uint64_t gpa, unsigned size, bool write) {
    return size == 4 && v->acc.size == 8 && v->acc.write == write &&
           ((v->acc.addr ^ gpa) & 0xfff) == 0;
}

static uint64_t mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *arg) {
    (void)uc;
    struct mmio_gap *g = arg;
    struct ucv *v = g->v;
    if (v->aborting) return 0;
    uint64_t gpa = g->base + off;
    uint32_t half;
    if (gpa == v->wide_next && size == 4) {
        v->wide_next = UINT64_MAX;
        memcpy(&half, v->wide_data + 4, 4);
        return half;
    }
    bool wide = wide_first(v, gpa, size, false);
    struct vlab_exit *e = &v->pending;
    e->reason = VLAB_EXIT_MMIO;
    e->mmio.gpa = gpa;
    e->mmio.len = wide ? 8 : size;
    e->mmio.is_write = 0;
    memset(e->mmio.data, 0, sizeof e->mmio.data);
    suspend(v);
    uint64_t val = 0;
    if (v->answer) memcpy(&val, v->answer->mmio.data, size <= 8 ? size : 8);
    if (!wide) return val;
    if (v->answer) memcpy(v->wide_data, v->answer->mmio.data, 8);
    v->wide_next = gpa + 4;
    return (uint32_t)val;
}

static void mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *arg) {
    (void)uc;
    struct mmio_gap *g = arg;
    struct ucv *v = g->v;
    if (v->aborting) return;
    uint64_t gpa = g->base + off;
    if (gpa == v->wide_next && size == 4) {
        v->wide_next = UINT64_MAX; /* the second half went out with the first */
        return;
    }
    bool wide = wide_first(v, gpa, size, true) && (uint32_t)v->acc.value == (uint32_t)value;
    struct vlab_exit *e = &v->pending;
    e->reason = VLAB_EXIT_MMIO;
    e->mmio.gpa = gpa;
    e->mmio.len = wide ? 8 : size;
    e->mmio.is_write = 1;
    if (wide) value = v->acc.value;
    memcpy(e->mmio.data, &value, sizeof value);
    if (wide) v->wide_next = gpa + 4;
    suspend(v);
}

/* Whether the guest IDT has a present gate for vector (read as physical memory: right for
 * the identity maps the reference setups use). */
static bool idt_can_deliver(struct ucv *v, unsigned vector) {
    uc_x86_mmr idt;
    uint64_t cr0 = 0;
    if (uc_reg_read(v->uc, UC_X86_REG_IDTR, &idt) != UC_ERR_OK) return false;
    if (v->mode == UC_MODE_64)
        uc_reg_read(v->uc, UC_X86_REG_CR0, &cr0);
    else {
        uint32_t x = 0;
        uc_reg_read(v->uc, UC_X86_REG_CR0, &x);
        cr0 = x;
    }
    if (!(cr0 & X86_CR0_PE)) return (uint64_t)vector * 4 + 3 <= idt.limit;
    unsigned gate = v->mode == UC_MODE_64 ? 16 : 8;
    if ((uint64_t)vector * gate + gate - 1 > idt.limit) return false;
    uint8_t d[8];
    if (uc_mem_read(v->uc, idt.base + (uint64_t)vector * gate, d, sizeof d) != UC_ERR_OK)
        return false;
    return (d[5] & 0x80) != 0; /* P bit of the gate */
}

/* An exception or INT n. Unicorn would otherwise skip it and go on. */
static void guest_exception(struct ucv *v, unsigned vector) {
    struct vlab_exit *e = &v->pending;
    memset(e, 0, sizeof *e);
    if (!idt_can_deliver(v, vector)) {
        e->reason = VLAB_EXIT_SHUTDOWN;
        e->shutdown.vector = (int)vector;
        snprintf(e->desc, sizeof e->desc,
                 "triple fault: %s (vector %u) with no usable IDT gate, then #GP and #DF could "
                 "not be delivered either",
                 x86_exception_name(vector), vector);
    } else {
        e->reason = VLAB_EXIT_INTERNAL_ERROR;
        e->internal.suberror = VLAB_INTERNAL_BACKEND;
        snprintf(e->desc, sizeof e->desc,
                 "%s (vector %u): the unicorn backend does not deliver exceptions through the "
                 "guest IDT (kvm does)",
                 x86_exception_name(vector), vector);
    }
    v->dead = true;
    v->dead_exit = *e;
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *arg) {
    (void)uc;
    struct ucv *v = arg;
    if (v->aborting) {
        uc_emu_stop(v->uc);
        return;
    }
    guest_exception(v, intno);
    suspend(v);
}

static bool hook_invalid(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                         void *arg) {
    (void)uc, (void)value;
    struct ucv *v = arg;
    v->bad_valid = true;
    v->bad_type = type;
    v->bad_addr = addr;
    v->bad_size = size;
    return false;
}

/* The coroutine: one uc_emu_start per resume from idle, forever. */
static void coro_main(void *arg) {
    struct ucv *v = arg;
    for (;;) {
        uint64_t begin;
        if (v->mode == UC_MODE_16) {
            uint16_t cs = 0;
            uint32_t ip = 0;
            uc_reg_read(v->uc, UC_X86_REG_CS, &cs);
            uc_reg_read(v->uc, UC_X86_REG_EIP, &ip);
            begin = (uint64_t)cs * 16 + (ip & 0xffff);
        } else if (v->mode == UC_MODE_64) {
            uc_reg_read(v->uc, UC_X86_REG_RIP, &begin);
        } else {
            uint32_t eip = 0;
            uc_reg_read(v->uc, UC_X86_REG_EIP, &eip);
            begin = eip;
        }
        v->bad_valid = false;
        v->emu_err = uc_emu_start(v->uc, begin, UINT64_MAX, 0, 0);
        vlab_coro_yield(&v->coro);
    }
}

static void close_engine(struct ucv *v) {
    if (!v->uc) return;
    if (v->state == CORO_SUSPENDED) {
        /* Let the suspended uc_emu_start unwind: hooks return at once and stop the engine. */
        v->aborting = true;
        while (v->state == CORO_SUSPENDED)
            vlab_coro_resume(&v->coro);
        v->aborting = false;
    }
    pthread_mutex_lock(&v->wd_lock);
    uc_close(v->uc);
    v->uc = NULL;
    pthread_mutex_unlock(&v->wd_lock);
}

static int build_engine(struct ucv *v) {
    struct vlab_hv *hv = v->vcpu->hv;
    close_engine(v);
    int mode = mode_for(&v->sregs);
    /* Unicorn reserves ~1 GiB for translated code and calls exit() when it cannot: probe
     * first so a low RLIMIT_AS (the grader's default is 1 GiB) is an error, not a dead VMM. */
    void *probe =
        mmap(NULL, TB_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (probe == MAP_FAILED)
        return vlab_hv_fail(hv, VLAB_ENOMEM,
                            "unicorn needs about 1 GiB of address space for its translation "
                            "buffer and the address-space limit (RLIMIT_AS) does not leave it");
    munmap(probe, TB_RESERVE);
    uc_engine *uc;
    uc_err e = uc_open(UC_ARCH_X86, mode, &uc);
    if (e) return ufail(v, VLAB_ENOMEM, "uc_open", e);
    pthread_mutex_lock(&v->wd_lock);
    v->uc = uc;
    pthread_mutex_unlock(&v->wd_lock);
    v->mode = mode;
    v->ins_left = 0;
    /* Slots sorted by gpa, then every hole below MMIO_TOP becomes MMIO. */
    const struct vlab_hv_slot *sorted[VLAB_HV_MAX_SLOTS];
    unsigned n = 0;
    for (unsigned i = 0; i < VLAB_HV_MAX_SLOTS; i++) {
        if (!hv->slot[i].used) continue;
        unsigned j = n++;
        while (j > 0 && sorted[j - 1]->gpa > hv->slot[i].gpa) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = &hv->slot[i];
    }
    uint64_t next = 0;
    unsigned ngap = 0;
    for (unsigned i = 0; i <= n; i++) {
        uint64_t start = i < n ? sorted[i]->gpa : MMIO_TOP;
        if (start > MMIO_TOP) start = MMIO_TOP;
        if (start > next) {
            struct mmio_gap *g = &v->gap[ngap++];
            g->v = v;
            g->base = next;
            if ((e = uc_mmio_map(uc, next, start - next, mmio_read, g, mmio_write, g)))
                return ufail(v, VLAB_EIO, "uc_mmio_map", e);
        }
        if (i == n) break;
        const struct vlab_hv_slot *s = sorted[i];
        uint32_t prot = UC_PROT_READ | UC_PROT_EXEC;
        if (!(s->flags & VLAB_HV_MAP_READONLY)) prot |= UC_PROT_WRITE;
        if ((e = uc_mem_map_ptr(uc, s->gpa, s->size, prot, s->hva)))
            return ufail(v, VLAB_EIO, "uc_mem_map_ptr", e);
        if (s->gpa + s->size > next) next = s->gpa + s->size;
    }
    if ((e = uc_hook_add(uc, &v->h_out, UC_HOOK_INSN, (void *)hook_out, v, 1, 0, UC_X86_INS_OUT)) ||
        (e = uc_hook_add(uc, &v->h_in, UC_HOOK_INSN, (void *)hook_in, v, 1, 0, UC_X86_INS_IN)) ||
        (e = uc_hook_add(uc, &v->h_intr, UC_HOOK_INTR, (void *)hook_intr, v, 1, 0)) ||
        (e = uc_hook_add(uc, &v->h_inval, UC_HOOK_MEM_INVALID, (void *)hook_invalid, v, 1, 0)) ||
        (e = uc_hook_add(uc, &v->h_rd, UC_HOOK_MEM_READ, (void *)hook_access, v, 1, 0)) ||
        (e = uc_hook_add(uc, &v->h_wr, UC_HOOK_MEM_WRITE, (void *)hook_access, v, 1, 0)))
        return ufail(v, VLAB_EIO, "uc_hook_add", e);
    int rc = apply_sregs(v);
    if (rc != VLAB_OK) return rc;
    engine_set_gprs(v, &v->regs);
    engine_set_flags_rip(v, &v->regs);
    v->rebuild = false;
    return VLAB_OK;
}

/* ---- watchdog ---- */

static void *watchdog_main(void *arg) {
    struct ucv *v = arg;
    for (;;) {
        pthread_mutex_lock(&v->wd_lock);
        if (v->wd_quit) {
            pthread_mutex_unlock(&v->wd_lock);
            return NULL;
        }
        /* Repeated every tick while overdue: a stop that lands just before uc_emu_start
         * clears its stop request would otherwise be lost. */
        if (v->wd_armed && v->uc && now_ns() >= v->wd_deadline_ns) {
            v->stop_pending = true;
            uc_emu_stop(v->uc);
        }
        pthread_mutex_unlock(&v->wd_lock);
        struct timespec ts = {0, WATCHDOG_TICK_NS};
        nanosleep(&ts, NULL);
    }
}

static int u_set_watchdog(struct vlab_vcpu *c, uint64_t usec) {
    struct ucv *v = c->priv;
    if (usec && !v->wd_started) {
        if (pthread_create(&v->wd_thread, NULL, watchdog_main, v) != 0)
            return vlab_hv_fail(c->hv, VLAB_ENOMEM, "unicorn: cannot start the watchdog thread");
        v->wd_started = true;
    }
    return VLAB_OK;
}

static void arm(struct ucv *v, bool on) {
    if (!v->wd_started) return;
    pthread_mutex_lock(&v->wd_lock);
    v->wd_armed = on && v->vcpu->watchdog_usec > 0;
    if (on) v->wd_deadline_ns = now_ns() + v->vcpu->watchdog_usec * 1000;
    pthread_mutex_unlock(&v->wd_lock);
}

/* ---- run ---- */

static const char *access_name(int type) {
    switch (type) {
    case UC_MEM_READ_UNMAPPED: return "read from unmapped";
    case UC_MEM_WRITE_UNMAPPED: return "write to unmapped";
    case UC_MEM_FETCH_UNMAPPED: return "instruction fetch from non-RAM";
    case UC_MEM_WRITE_PROT: return "write to read-only";
    case UC_MEM_READ_PROT: return "read from protected";
    case UC_MEM_FETCH_PROT: return "instruction fetch from non-executable";
    default: return "invalid access to";
    }
}

/* uc_emu_start returned: translate why into a KVM exit. */
static void finished(struct ucv *v, struct vlab_exit *e) {
    memset(e, 0, sizeof *e);
    bool stopped = false;
    if (v->wd_started) {
        pthread_mutex_lock(&v->wd_lock);
        stopped = v->stop_pending;
        v->stop_pending = false;
        pthread_mutex_unlock(&v->wd_lock);
    }
    uint64_t rip = 0;
    struct vlab_regs r;
    engine_get_regs(v, &r);
    rip = r.rip;
    switch (v->emu_err) {
    case UC_ERR_OK:
        if (stopped) {
            e->reason = VLAB_EXIT_TIMEOUT;
            snprintf(e->desc, sizeof e->desc, "watchdog: no exit within %llu us (rip %#llx)",
                     (unsigned long long)v->vcpu->watchdog_usec, (unsigned long long)rip);
        } else {
            e->reason = VLAB_EXIT_HLT; /* uc_emu_start returns after hlt, rip past it */
        }
        return;
    case UC_ERR_INSN_INVALID: guest_exception(v, X86_EXC_UD); break;
    case UC_ERR_EXCEPTION:
        e->reason = VLAB_EXIT_SHUTDOWN;
        e->shutdown.vector = -1;
        snprintf(e->desc, sizeof e->desc, "unhandled exception at rip %#llx",
                 (unsigned long long)rip);
        v->dead = true;
        v->dead_exit = *e;
        return;
    case UC_ERR_READ_UNMAPPED:
    case UC_ERR_WRITE_UNMAPPED:
    case UC_ERR_FETCH_UNMAPPED:
    case UC_ERR_WRITE_PROT:
    case UC_ERR_READ_PROT:
    case UC_ERR_FETCH_PROT:
        e->reason = VLAB_EXIT_INTERNAL_ERROR;
        e->internal.suberror = VLAB_INTERNAL_EMULATION;
        if (v->bad_valid)
            snprintf(e->desc, sizeof e->desc, "%s gpa %#llx (%d bytes) at rip %#llx",
                     access_name(v->bad_type), (unsigned long long)v->bad_addr, v->bad_size,
                     (unsigned long long)rip);
        else
            snprintf(e->desc, sizeof e->desc, "%s at rip %#llx", uc_strerror(v->emu_err),
                     (unsigned long long)rip);
        return;
    default:
        e->reason = VLAB_EXIT_INTERNAL_ERROR;
        e->internal.suberror = VLAB_INTERNAL_BACKEND;
        snprintf(e->desc, sizeof e->desc, "unicorn: %s at rip %#llx", uc_strerror(v->emu_err),
                 (unsigned long long)rip);
        return;
    }
    *e = v->pending;
    snprintf(e->desc + strlen(e->desc), sizeof e->desc - strlen(e->desc), " at rip %#llx",
             (unsigned long long)rip);
    v->dead_exit = *e;
}

static int u_run(struct vlab_vcpu *c, struct vlab_exit *exit) {
    struct ucv *v = c->priv;
    if (v->dead) {
        *exit = v->dead_exit;
        return VLAB_OK;
    }
    if (v->state == CORO_IDLE) {
        if (v->rebuild || !v->uc) {
            int rc = build_engine(v);
            if (rc != VLAB_OK) {
                close_engine(v);
                memset(exit, 0, sizeof *exit);
                return rc;
            }
        }
        if (v->entry_fail) {
            memset(exit, 0, sizeof *exit);
            exit->reason = VLAB_EXIT_FAIL_ENTRY;
            exit->fail_entry.hardware_entry_failure_reason = VLAB_ENTRY_INVALID_GUEST_STATE;
            snprintf(exit->desc, sizeof exit->desc, "invalid guest state: %s", v->entry_fail);
            return VLAB_OK;
        }
    }
    arm(v, true);
    vlab_coro_resume(&v->coro);
    arm(v, false);
    v->answer = exit;
    if (v->state == CORO_SUSPENDED) {
        *exit = v->pending;
        if (exit->reason == VLAB_EXIT_IO) exit->io.data = v->iobuf;
        return VLAB_OK;
    }
    finished(v, exit);
    return VLAB_OK;
}

/* ---- vCPU life ---- */

static int u_vcpu_create(struct vlab_vcpu *c) {
    struct ucv *v = calloc(1, sizeof *v);
    if (!v) return vlab_hv_fail(c->hv, VLAB_ENOMEM, "out of memory");
    v->vcpu = c;
    v->wide_next = UINT64_MAX;
    pthread_mutex_init(&v->wd_lock, NULL);
    if (vlab_coro_init(&v->coro, CORO_STACK, coro_main, v) != VLAB_OK) {
        free(v);
        return vlab_hv_fail(c->hv, VLAB_ENOMEM, "cannot allocate the emulation stack");
    }
    /* KVM's reset state, so a VMM that sets nothing sees the same starting point. */
    v->regs.rflags = X86_RFLAGS_FIXED;
    v->regs.rip = 0xfff0;
    struct vlab_sregs *s = &v->sregs;
    vlab_seg_from_attr(&s->cs, 0xf000, 0xf0000, 0xffff, X86_ATTR_CODE16);
    vlab_seg_from_attr(&s->ds, 0, 0, 0xffff, X86_ATTR_DATA16);
    s->es = s->fs = s->gs = s->ss = s->ds;
    vlab_seg_from_attr(&s->tr, 0, 0, 0xffff, X86_SEG_TYPE_TSS_BUSY | X86_SEG_P);
    vlab_seg_from_attr(&s->ldt, 0, 0, 0xffff, X86_SEG_TYPE_LDT | X86_SEG_P);
    s->gdt.limit = s->idt.limit = 0xffff;
    s->cr0 = X86_CR0_ET | X86_CR0_NW | X86_CR0_CD;
    s->apic_base = 0xfee00900;
    v->rebuild = true;
    c->priv = v;
    return VLAB_OK;
}

static void u_vcpu_destroy(struct vlab_vcpu *c) {
    struct ucv *v = c->priv;
    if (!v) return;
    if (v->wd_started) {
        pthread_mutex_lock(&v->wd_lock);
        v->wd_quit = true;
        pthread_mutex_unlock(&v->wd_lock);
        pthread_join(v->wd_thread, NULL);
    }
    close_engine(v);
    vlab_coro_free(&v->coro);
    pthread_mutex_destroy(&v->wd_lock);
    free(v);
    c->priv = NULL;
}

const struct vlab_hv_ops vlab_hv_unicorn_ops = {
    .name = "unicorn",
    .open = u_open,
    .close = u_close,
    .map = u_map,
    .code_changed = u_code_changed,
    .vcpu_create = u_vcpu_create,
    .vcpu_destroy = u_vcpu_destroy,
    .get_regs = u_get_regs,
    .set_regs = u_set_regs,
    .get_sregs = u_get_sregs,
    .set_sregs = u_set_sregs,
    .run = u_run,
    .set_watchdog = u_set_watchdog,
};
