/* The virtual CPU model: emulation of each sensitive instruction on the virtual state, the
 * devices behind the I/O ports, and virtual interrupt delivery through the guest's IDT. The
 * oracle and the translated run both call these, so they define what "correct" means. */
#include <stdio.h>
#include <string.h>

#include "dbt_vm.h"

/* Capstone register -> Unicorn register, for the general registers the emulated instructions
 * name. */
static int uc_of(x86_reg r) {
    static const struct {
        x86_reg cs;
        int uc;
    } map[] = {
        {X86_REG_EAX, UC_X86_REG_EAX}, {X86_REG_ECX, UC_X86_REG_ECX}, {X86_REG_EDX, UC_X86_REG_EDX},
        {X86_REG_EBX, UC_X86_REG_EBX}, {X86_REG_ESP, UC_X86_REG_ESP}, {X86_REG_EBP, UC_X86_REG_EBP},
        {X86_REG_ESI, UC_X86_REG_ESI}, {X86_REG_EDI, UC_X86_REG_EDI}, {X86_REG_AX, UC_X86_REG_AX},
        {X86_REG_CX, UC_X86_REG_CX},   {X86_REG_DX, UC_X86_REG_DX},   {X86_REG_BX, UC_X86_REG_BX},
        {X86_REG_SI, UC_X86_REG_SI},   {X86_REG_DI, UC_X86_REG_DI},   {X86_REG_BP, UC_X86_REG_BP},
        {X86_REG_SP, UC_X86_REG_SP},   {X86_REG_AL, UC_X86_REG_AL},   {X86_REG_CL, UC_X86_REG_CL},
        {X86_REG_DL, UC_X86_REG_DL},   {X86_REG_BL, UC_X86_REG_BL},   {X86_REG_AH, UC_X86_REG_AH},
        {X86_REG_CH, UC_X86_REG_CH},   {X86_REG_DH, UC_X86_REG_DH},   {X86_REG_BH, UC_X86_REG_BH},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].cs == r) return map[i].uc;
    return -1;
}

static bool guest_rw(struct dbt_vm *vm, uint32_t addr, void *buf, uint32_t len, bool write) {
    if (addr >= DBT_RAM_SIZE || len > DBT_RAM_SIZE - addr) {
        dbt_vm_fail(vm, VLAB_ERANGE, "the VMM %s %u bytes at %#x: outside guest RAM",
                    write ? "writes" : "reads", len, addr);
        return false;
    }
    if (write) {
        /* int's pushes, sgdt, smsw to memory: a write to translated code is one whoever makes it */
        if (dbt_vm_guest_write(vm, addr, buf, len) != VLAB_OK) return false;
        memcpy(vm->ram + addr, buf, len);
    } else
        memcpy(buf, vm->ram + addr, len);
    return true;
}

static bool push32(struct dbt_vm *vm, uint32_t v) {
    uint32_t esp = dbt_reg(vm, UC_X86_REG_ESP) - 4;
    if (!guest_rw(vm, esp, &v, 4, true)) return false;
    dbt_set_reg(vm, UC_X86_REG_ESP, esp);
    return true;
}

static bool pop32(struct dbt_vm *vm, uint32_t *v) {
    uint32_t esp = dbt_reg(vm, UC_X86_REG_ESP);
    if (!guest_rw(vm, esp, v, 4, false)) return false;
    dbt_set_reg(vm, UC_X86_REG_ESP, esp + 4);
    return true;
}

static uint32_t ea(struct dbt_vm *vm, const cs_x86_op *op) {
    uint32_t a = (uint32_t)op->mem.disp;
    if (op->mem.base != X86_REG_INVALID) a += dbt_reg(vm, uc_of(op->mem.base));
    if (op->mem.index != X86_REG_INVALID)
        a += dbt_reg(vm, uc_of(op->mem.index)) * (uint32_t)op->mem.scale;
    return a;
}

/* Reads a register or memory operand of the given size. */
static bool get_op(struct dbt_vm *vm, const cs_x86_op *op, uint32_t *v) {
    *v = 0;
    if (op->type == X86_OP_REG) {
        int r = uc_of(op->reg);
        if (r < 0) return false;
        *v = dbt_reg(vm, r);
        if (op->size == 2) *v &= 0xffff;
        if (op->size == 1) *v &= 0xff;
        return true;
    }
    if (op->type == X86_OP_IMM) {
        *v = (uint32_t)op->imm;
        return true;
    }
    if (op->type == X86_OP_MEM) return guest_rw(vm, ea(vm, op), v, op->size, false);
    return false;
}

static bool set_op(struct dbt_vm *vm, const cs_x86_op *op, uint32_t v) {
    if (op->type == X86_OP_REG) {
        int r = uc_of(op->reg);
        if (r < 0) return false;
        if (op->size == 4)
            dbt_set_reg(vm, r, v);
        else if (op->size == 2) {
            uint16_t w = (uint16_t)v;
            uc_reg_write(vm->uc, r, &w);
        } else {
            uint8_t b = (uint8_t)v;
            uc_reg_write(vm->uc, r, &b);
        }
        return true;
    }
    if (op->type == X86_OP_MEM) return guest_rw(vm, ea(vm, op), &v, op->size, true);
    return false;
}

/* ---- devices ---- */

static uint32_t port_in(struct dbt_vm *vm, uint32_t port, uint32_t size) {
    if (port >= VLAB_UART_COM1 && port < VLAB_UART_COM1 + 8)
        return vlab_uart_read(&vm->uart, port - VLAB_UART_COM1);
    if (port == DBT_PORT_TIMER) return vm->cpu.timer_ticks;
    if (port == DBT_PORT_POST) return 0;
    return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
}

static void port_out(struct dbt_vm *vm, uint32_t port, uint32_t v) {
    if (port >= VLAB_UART_COM1 && port < VLAB_UART_COM1 + 8)
        vlab_uart_write(&vm->uart, port - VLAB_UART_COM1, (uint8_t)v);
    else if (port == DBT_PORT_TIMER) {
        vm->cpu.timer_period = v;
        vm->cpu.timer_count = 0;
    }
}

/* The virtual timer counts I/O instructions (the same in every correct run), not time, so
 * that the oracle and the translated run see the interrupt at the same guest instruction. */
static void timer_tick(struct dbt_vm *vm) {
    if (!vm->cpu.timer_period) return;
    if (++vm->cpu.timer_count < vm->cpu.timer_period) return;
    vm->cpu.timer_count = 0;
    vm->cpu.timer_ticks++;
    vm->vp->pending = 1;
}

/* ---- interrupts ---- */

static int deliver(struct dbt_vm *vm, uint32_t vector, uint32_t ret, uint32_t *pc) {
    struct dbt_vcpu *c = &vm->cpu;
    if (vector * 8 + 7 > c->idtr_limit) {
        dbt_vm_fail(vm, VLAB_EINVAL, "vector %#x is beyond the guest IDT limit %#x (pc %#x)",
                    vector, c->idtr_limit, ret);
        return vm->rc;
    }
    uint32_t g[2];
    if (!guest_rw(vm, c->idtr_base + vector * 8, g, 8, false)) return vm->rc;
    uint32_t type = (g[1] >> 8) & 0x1f;
    if (!(g[1] & 0x8000) || (type != 0xe && type != 0xf)) {
        dbt_vm_fail(vm, VLAB_EINVAL,
                    "guest IDT entry %#x is not a present 32-bit interrupt or "
                    "trap gate (%08x %08x)",
                    vector, g[0], g[1]);
        return vm->rc;
    }
    uint32_t image = dbt_guest_eflags(vm);
    if (!push32(vm, image) || !push32(vm, c->cs) || !push32(vm, ret)) return vm->rc;
    if (type == 0xe) vm->vp->vif = 0; /* an interrupt gate clears IF; a trap gate does not */
    *pc = (g[0] & 0xffff) | (g[1] & 0xffff0000u);
    vm->st.irqs++;
    return VLAB_OK;
}

int dbt_maybe_deliver(struct dbt_vm *vm, uint32_t *pc) {
    if (!vm->vp->pending || !vm->vp->vif) return VLAB_OK;
    vm->vp->pending = 0;
    return deliver(vm, DBT_TIMER_VEC, *pc, pc);
}

/* ---- the sensitive instructions ---- */

static bool is_cr(x86_reg r, int *n) {
    if (r >= X86_REG_CR0 && r <= X86_REG_CR15) {
        *n = (int)(r - X86_REG_CR0);
        return true;
    }
    return false;
}

/* The virtual selector a segment register operand names, NULL for any other operand. */
static uint16_t *sreg(struct dbt_vcpu *c, const cs_x86_op *op) {
    if (op->type != X86_OP_REG) return NULL;
    switch (op->reg) {
    case X86_REG_CS: return &c->cs;
    case X86_REG_DS: return &c->ds;
    case X86_REG_ES: return &c->es;
    case X86_REG_SS: return &c->ss;
    case X86_REG_FS: return &c->fs;
    case X86_REG_GS: return &c->gs;
    default: return NULL;
    }
}

static int emulate_insn(struct dbt_vm *vm, const cs_insn *in, uint32_t *next) {
    const cs_x86 *x = &in->detail->x86;
    struct dbt_vcpu *c = &vm->cpu;
    uint32_t v = 0, pc = (uint32_t)in->address;
    *next = pc + in->size;
    switch (in->id) {
    case X86_INS_CLI: vm->vp->vif = 0; return VLAB_OK;
    case X86_INS_STI: vm->vp->vif = DBT_EFLAGS_IF; return VLAB_OK;
    case X86_INS_PUSHFD: return push32(vm, dbt_guest_eflags(vm)) ? VLAB_OK : vm->rc;
    case X86_INS_POPFD:
        if (!pop32(vm, &v)) return vm->rc;
        dbt_set_guest_eflags(vm, v);
        return VLAB_OK;
    case X86_INS_HLT: vm->halted = true; return VLAB_OK;
    case X86_INS_IN:
    case X86_INS_OUT: {
        bool in_ = in->id == X86_INS_IN;
        const cs_x86_op *data = &x->operands[in_ ? 0 : 1], *port = &x->operands[in_ ? 1 : 0];
        uint32_t p = 0;
        if (x->op_count != 2 || !get_op(vm, port, &p)) break;
        p &= 0xffff;
        uint32_t size = data->size;
        vm->st.io++;
        if (in_) {
            v = port_in(vm, p, size);
            if (!set_op(vm, data, v)) break;
            dbt_observe(vm, DBT_OBS_IN, pc, p, size, v);
        } else {
            if (!get_op(vm, data, &v)) break;
            port_out(vm, p, v);
            dbt_observe(vm, DBT_OBS_OUT, pc, p, size, v);
        }
        if (p != DBT_PORT_TIMER) timer_tick(vm);
        return VLAB_OK;
    }
    case X86_INS_PUSH: { /* a segment register: its selector, zero-extended to 32 bits */
        uint16_t *sel = x->op_count == 1 ? sreg(c, &x->operands[0]) : NULL;
        if (!sel) break;
        return push32(vm, *sel) ? VLAB_OK : vm->rc;
    }
    case X86_INS_POP: { /* a selector load: recorded, not checked (the segments stay flat) */
        uint16_t *sel = x->op_count == 1 ? sreg(c, &x->operands[0]) : NULL;
        if (!sel || sel == &c->cs) break;
        if (!pop32(vm, &v)) return vm->rc;
        *sel = (uint16_t)v;
        return VLAB_OK;
    }
    case X86_INS_MOV: {
        int n;
        if (x->op_count != 2) break;
        uint16_t *to = sreg(c, &x->operands[0]), *from = sreg(c, &x->operands[1]);
        if (to && to != &c->cs) {
            if (!get_op(vm, &x->operands[1], &v)) break;
            *to = (uint16_t)v;
            return VLAB_OK;
        }
        if (from) /* to a 32-bit register zero-extended, to memory 16 bits */
            return set_op(vm, &x->operands[0], *from) ? VLAB_OK : vm->rc;
        if (x->operands[0].type == X86_OP_REG && is_cr(x->operands[0].reg, &n)) {
            if (!get_op(vm, &x->operands[1], &v)) break;
            if (n == 0)
                c->cr0 = v;
            else if (n == 2)
                c->cr2 = v;
            else if (n == 3)
                c->cr3 = v;
            else if (n == 4)
                c->cr4 = v;
            else
                break;
            return VLAB_OK;
        }
        if (x->operands[1].type == X86_OP_REG && is_cr(x->operands[1].reg, &n)) {
            v = n == 0 ? c->cr0 : n == 2 ? c->cr2 : n == 3 ? c->cr3 : n == 4 ? c->cr4 : 0;
            if (n == 1 || n > 4) break;
            return set_op(vm, &x->operands[0], v) ? VLAB_OK : vm->rc;
        }
        break;
    }
    case X86_INS_LGDT:
    case X86_INS_LIDT:
    case X86_INS_SGDT:
    case X86_INS_SIDT: {
        if (x->op_count != 1 || x->operands[0].type != X86_OP_MEM) break;
        uint32_t a = ea(vm, &x->operands[0]);
        uint8_t b[6];
        bool gdt = in->id == X86_INS_LGDT || in->id == X86_INS_SGDT;
        if (in->id == X86_INS_LGDT || in->id == X86_INS_LIDT) {
            if (!guest_rw(vm, a, b, 6, false)) return vm->rc;
            uint16_t lim;
            uint32_t base;
            memcpy(&lim, b, 2);
            memcpy(&base, b + 2, 4);
            if (gdt)
                c->gdtr_limit = lim, c->gdtr_base = base;
            else
                c->idtr_limit = lim, c->idtr_base = base;
        } else {
            uint16_t lim = gdt ? c->gdtr_limit : c->idtr_limit;
            uint32_t base = gdt ? c->gdtr_base : c->idtr_base;
            memcpy(b, &lim, 2);
            memcpy(b + 2, &base, 4);
            if (!guest_rw(vm, a, b, 6, true)) return vm->rc;
        }
        return VLAB_OK;
    }
    case X86_INS_SMSW:
        if (x->op_count != 1) break;
        return set_op(vm, &x->operands[0], c->cr0 & 0xffff) ? VLAB_OK : vm->rc;
    case X86_INS_STR:
        if (x->op_count != 1) break;
        return set_op(vm, &x->operands[0], c->tr) ? VLAB_OK : vm->rc;
    case X86_INS_INVLPG: return VLAB_OK; /* no paging in this machine: nothing cached to drop */
    case X86_INS_INT: return deliver(vm, (uint32_t)x->operands[0].imm & 0xff, *next, next);
    case X86_INS_INT3: return deliver(vm, 3, *next, next);
    case X86_INS_IRET:
    case X86_INS_IRETD: {
        uint32_t eip, cs, fl;
        if (in->id == X86_INS_IRET && x->prefix[2] == 0x66) break; /* 16-bit iret */
        if (!pop32(vm, &eip) || !pop32(vm, &cs) || !pop32(vm, &fl)) return vm->rc;
        if ((cs & 0xffff) != c->cs) {
            dbt_vm_fail(vm, VLAB_EUNSUPP,
                        "iret at %#x to selector %#x: only same-privilege "
                        "returns to CS %#x are modelled",
                        pc, cs, c->cs);
            return vm->rc;
        }
        dbt_set_guest_eflags(vm, fl);
        *next = eip;
        return VLAB_OK;
    }
    default: break;
    }
    dbt_vm_fail(vm, VLAB_EUNSUPP, "the VMM cannot emulate \"%s %s\" at guest pc %#x", in->mnemonic,
                in->op_str, pc);
    return vm->rc;
}

int dbt_emulate(struct dbt_vm *vm, uint32_t pc, uint32_t *next) {
    size_t avail;
    const uint8_t *p = dbt_guest(vm, pc, &avail);
    if (!p) {
        dbt_vm_fail(vm, VLAB_ERANGE, "emulate: guest pc %#x is outside guest RAM", pc);
        return vm->rc;
    }
    cs_insn *in = NULL;
    size_t n = cs_disasm(vm->cs, p, avail < 16 ? avail : 16, pc, 1, &in);
    if (n != 1) {
        dbt_vm_fail(vm, VLAB_EUNSUPP, "emulate: cannot decode the instruction at guest pc %#x", pc);
        return vm->rc;
    }
    int rc = emulate_insn(vm, in, next);
    cs_free(in, n);
    return rc;
}

/* ---- the oracle's trap: a byte-level test, independent of any decoder ---- */

bool dbt_oracle_sensitive(const uint8_t *p, size_t avail) {
    size_t i = 0;
    while (i < avail && i < 15 &&
           (p[i] == 0x66 || p[i] == 0x67 || p[i] == 0xf2 || p[i] == 0xf3 || p[i] == 0xf0 ||
            p[i] == 0x2e || p[i] == 0x36 || p[i] == 0x3e || p[i] == 0x26 || p[i] == 0x64 ||
            p[i] == 0x65))
        i++;
    if (i >= avail) return false;
    uint8_t b = p[i];
    switch (b) {
    case 0xfa:
    case 0xfb:
    case 0x9c:
    case 0x9d:
    case 0xf4: /* cli sti pushf popf hlt */
    case 0xe4:
    case 0xe5:
    case 0xe6:
    case 0xe7: /* in/out imm8 */
    case 0xec:
    case 0xed:
    case 0xee:
    case 0xef: /* in/out dx */
    case 0x6c:
    case 0x6d:
    case 0x6e:
    case 0x6f: /* ins/outs */
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: /* int3 int into iret */
    case 0x8e:
    case 0x07:
    case 0x17:
    case 0x1f: /* loads of segment registers */
    case 0x8c:
    case 0x06:
    case 0x0e:
    case 0x16:
    case 0x1e: /* stores of them: mov, push */
    case 0xca:
    case 0xcb:
    case 0x9a:
    case 0xea: /* far returns, calls, jumps */ return true;
    case 0x0f:
        if (i + 1 >= avail) return false;
        b = p[i + 1];
        return b == 0x00 || b == 0x01 || b == 0x02 || b == 0x03 || b == 0x06 || b == 0x08 ||
               b == 0x09 || (b >= 0x20 && b <= 0x23) || b == 0x30 || b == 0x32 || b == 0x34 ||
               b == 0x35 || b == 0xa0 || b == 0xa1 || b == 0xa8 || b == 0xa9;
    default: return false;
    }
}

/* ---- the CCF check: nothing that must not run natively ---- */

void dbt_check_ccf(struct dbt_vm *vm, uint32_t ccf, uint32_t len) {
    if (vm->native[0]) return;
    const uint8_t *p = vm->tc + (ccf - DBT_TC_BASE);
    cs_insn *in = cs_malloc(vm->cs);
    const uint8_t *code = p;
    size_t size = len;
    uint64_t addr = ccf;
    while (size > 0) {
        if (!cs_disasm_iter(vm->cs, &code, &size, &addr, in)) {
            code++, size--, addr++; /* data or padding: resynchronize */
            continue;
        }
        /* hlt is how a CCF returns to the VMM; pushfd/popfd appear only in the sanitizing
         * sequences (the real IF and IOPL are sentinels the sequences never change); the
         * sentinel check catches a native popfd that would change them. */
        if (in->id == X86_INS_HLT || in->id == X86_INS_PUSHFD || in->id == X86_INS_POPFD) continue;
        if (dbt_oracle_sensitive(vm->tc + (in->address - DBT_TC_BASE), in->size)) {
            snprintf(vm->native, sizeof vm->native,
                     "the CCF for guest pc %#x holds \"%s %s\" at TC %#llx: a sensitive "
                     "instruction would run natively",
                     vm->last_ccf_guest_pc, in->mnemonic, in->op_str,
                     (unsigned long long)in->address);
            break;
        }
    }
    cs_free(in, 1);
}
