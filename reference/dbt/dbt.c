/* Lab dbt: a basic-block binary translator. Reference solution.
 * The handout is labs/dbt/README.md ("§n" below); the interface is harness/dbt/dbt.h. */
#include "dbt.h"

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- the emitter (given in the skeleton) ---------------------------------------------- */

/* A TC address of a field of the VMM page, as CCF code addresses it. */
#define VP(field) (DBT_VPAGE + (uint32_t)offsetof(struct dbt_vpage, field))

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI }; /* x86 register numbers in ModRM */

struct emit {
    uint8_t *p;    /* host pointer of the next byte */
    uint32_t addr; /* its TC address */
};

static void em_u8(struct emit *e, uint8_t b) {
    *e->p++ = b;
    e->addr++;
}
static void em_u32(struct emit *e, uint32_t v) {
    memcpy(e->p, &v, 4);
    e->p += 4;
    e->addr += 4;
}
static void em_bytes(struct emit *e, const uint8_t *b, size_t n) {
    memcpy(e->p, b, n);
    e->p += n;
    e->addr += (uint32_t)n;
}
/* mov dword [abs], imm32 (10 bytes; no flags change, like every mov) */
static void em_mov_m_imm(struct emit *e, uint32_t abs, uint32_t imm) {
    em_u8(e, 0xc7), em_u8(e, 0x05), em_u32(e, abs), em_u32(e, imm);
}
/* mov [abs], reg32 */
static void em_mov_m_r(struct emit *e, uint32_t abs, int reg) {
    em_u8(e, 0x89), em_u8(e, (uint8_t)(reg << 3 | 5)), em_u32(e, abs);
}
/* mov reg32, [abs] */
static void em_mov_r_m(struct emit *e, int reg, uint32_t abs) {
    em_u8(e, 0x8b), em_u8(e, (uint8_t)(reg << 3 | 5)), em_u32(e, abs);
}
/* jmp rel32 to a TC address */
static void em_jmp(struct emit *e, uint32_t to) {
    em_u8(e, 0xe9), em_u32(e, to - (e->addr + 4));
}

/* The exits (§4.2). A chainable stub is 31 bytes; its first 5 become `jmp ccf` when chained. */
#define STUB_LEN  31
#define CHAIN_LEN 5
static void em_exit_chain(struct emit *e, uint32_t guest_target) {
    uint32_t stub = e->addr;
    em_mov_m_imm(e, VP(exit_pc), guest_target);
    em_mov_m_imm(e, VP(exit_stub), stub);
    em_mov_m_imm(e, VP(exit_reason), DBT_EXIT_BRANCH);
    em_u8(e, 0xf4); /* hlt: Unicorn returns to the dispatcher */
}
#define PLAIN_EXIT_LEN 21
static void em_exit(struct emit *e, uint32_t reason, uint32_t guest_pc) {
    em_mov_m_imm(e, VP(exit_pc), guest_pc);
    em_mov_m_imm(e, VP(exit_reason), reason);
    em_u8(e, 0xf4);
}
static void em_exit_indirect(struct emit *e) {
    em_mov_m_imm(e, VP(exit_reason), DBT_EXIT_INDIRECT);
    em_u8(e, 0xf4);
}

/* ---- the translator's state ------------------------------------------------------------ */

#define HASH_BITS       8
#define MAX_CCFS        8192
#define MAX_LINKS       16384
#define MAX_BLOCK_INSNS 32
#define INSN_ROOM       192 /* the most one guest instruction plus a closing stub can take */
#define BLOCK_ROOM      512 /* free TC a new block needs, or the cache is flushed */
#define MAX_MAP         (3 * MAX_BLOCK_INSNS + 4)

struct ccf {
    uint32_t guest_pc, guest_end; /* guest bytes [guest_pc, guest_end) */
    uint32_t tc, tc_len;
    int next;    /* next CCF in the same hash bucket, -1 at the end */
    int in_link; /* first chained stub jumping here, -1 if none */
    bool live;
};

struct link {
    uint32_t stub;           /* a chained exit stub (TC address) */
    uint8_t orig[CHAIN_LEN]; /* its bytes before chaining */
    int next;
};

struct dbt {
    struct dbt_vm *vm;
    csh cs;
    cs_insn *insn;
    uint8_t *tc;
    uint32_t tc_size, used;
    int bucket[1 << HASH_BITS];
    struct ccf ccf[MAX_CCFS];
    int nccf;
    struct link link[MAX_LINKS];
    int nlink;
    unsigned flushes;
    struct dbt_vpage *vp;
    struct dbt_insn_map map[MAX_MAP]; /* the CCF being translated: TC address -> guest pc */
    uint32_t nmap;
    uint32_t ibl; /* TC address of the indirect-branch lookup routine */
};

static unsigned hash(uint32_t pc) {
    return (pc * 2654435761u) >> (32 - HASH_BITS);
}

/* ---- §4.3: the indirect-branch lookup, in the TC ------------------------------------------ */

static unsigned ibtl_hash(uint32_t pc) {
    return (pc ^ pc >> 8) & (DBT_IBTL_SIZE - 1);
}

/* Restores the flags saved by lahf/seto (AH, AL = OF), eax and ecx: no flag changes after. */
static void em_ibl_restore(struct emit *e) {
    em_mov_r_m(e, EAX, VP(save[2]));
    em_u8(e, 0x04), em_u8(e, 0x7f); /* add al, 0x7f: OF = (al == 1) */
    em_u8(e, 0x9e);                 /* sahf: SF ZF AF PF CF from AH */
    em_mov_r_m(e, EAX, VP(save[0]));
    em_mov_r_m(e, ECX, VP(save[1]));
}

/* CCFs jump here with the guest target in VP(target): a hit in the table jumps straight to the
 * CCF, a miss exits to the dispatcher. The guest's registers and flags come out unchanged;
 * lahf/seto save the flags without pushf (which would touch the guest's stack). */
static void em_ibl(struct emit *e) {
    static const uint8_t mov_eax_ecx[] = {0x89, 0xc8}, shr_eax_8[] = {0xc1, 0xe8, 0x08},
                         xor_eax_ecx[] = {0x31, 0xc8}, seto_al[] = {0x0f, 0x90, 0xc0};
    em_mov_m_r(e, VP(save[0]), EAX);
    em_mov_m_r(e, VP(save[1]), ECX);
    em_u8(e, 0x9f); /* lahf */
    em_bytes(e, seto_al, 3);
    em_mov_m_r(e, VP(save[2]), EAX);
    em_mov_r_m(e, ECX, VP(target));
    em_bytes(e, mov_eax_ecx, 2); /* eax = ibtl_hash(ecx) */
    em_bytes(e, shr_eax_8, 3);
    em_bytes(e, xor_eax_ecx, 2);
    em_u8(e, 0x25), em_u32(e, DBT_IBTL_SIZE - 1);
    em_u8(e, 0x3b), em_u8(e, 0x0c), em_u8(e, 0xc5), em_u32(e, VP(ibtl)); /* cmp ecx, [..+eax*8] */
    em_u8(e, 0x75), em_u8(e, 0);                                         /* jne miss */
    uint8_t *jne = e->p;
    em_u8(e, 0x8b), em_u8(e, 0x0c), em_u8(e, 0xc5), em_u32(e, VP(ibtl) + 4); /* ecx = ccf */
    /* An empty entry is all zero, so it matches guest target 0: ccf 0 is a miss. */
    em_u8(e, 0x85), em_u8(e, 0xc9); /* test ecx, ecx */
    em_u8(e, 0x74), em_u8(e, 0);    /* jz miss */
    uint8_t *jz = e->p;
    em_mov_m_r(e, VP(save[3]), ECX);
    em_ibl_restore(e);
    em_u8(e, 0xff), em_u8(e, 0x25), em_u32(e, VP(save[3])); /* jmp [save3] */
    jne[-1] = (uint8_t)(e->p - jne);
    jz[-1] = (uint8_t)(e->p - jz);
    em_ibl_restore(e); /* miss: */
    em_exit_indirect(e);
}

static void ibtl_insert(struct dbt *t, uint32_t pc, uint32_t ccf) {
    struct dbt_ibtl_entry *en = &t->vp->ibtl[ibtl_hash(pc)];
    en->guest_pc = pc;
    en->ccf = ccf;
}

/* An empty cache: no CCF, no chain, no table entry; the lookup routine at the TC's start. */
static void reset(struct dbt *t) {
    memset(t->bucket, 0xff, sizeof t->bucket);
    memset(t->vp->ibtl, 0, sizeof t->vp->ibtl);
    t->nccf = 0;
    t->nlink = 0;
    struct emit e = {.p = t->tc, .addr = DBT_TC_BASE};
    t->ibl = e.addr;
    em_ibl(&e);
    t->used = e.addr - DBT_TC_BASE;
}

static void flush(struct dbt *t) {
    reset(t);
    t->flushes++;
    dbt_tc_flush(t->vm); /* Unicorn's translations of the old CCFs must go too */
}

struct dbt *dbt_create(struct dbt_vm *vm) {
    struct dbt *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->vm = vm;
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &t->cs) != CS_ERR_OK) {
        free(t);
        return NULL;
    }
    cs_option(t->cs, CS_OPT_DETAIL, CS_OPT_ON);
    t->insn = cs_malloc(t->cs);
    t->tc = dbt_tc(vm);
    t->tc_size = dbt_tc_size(vm);
    t->vp = dbt_vp(vm);
    reset(t);
    return t;
}

void dbt_destroy(struct dbt *t) {
    if (!t) return;
    cs_free(t->insn, 1);
    cs_close(&t->cs);
    free(t);
}

static int lookup(struct dbt *t, uint32_t pc) {
    for (int i = t->bucket[hash(pc)]; i >= 0; i = t->ccf[i].next)
        if (t->ccf[i].guest_pc == pc) return i;
    return -1;
}

/* ---- §3: which instructions are sensitive ---------------------------------------------- */

/* Instructions that must exit to the VMM: they read or write state the VMM virtualizes, or
 * leave the guest's flat CPL-0 world. Capstone's CS_GRP_PRIVILEGE is not this list: it misses
 * in/out and pushf/popf/sgdt/sidt/smsw, and flags harmless ones. */
static const unsigned exit_ids[] = {
    X86_INS_IN,    X86_INS_OUT,   X86_INS_INSB,   X86_INS_INSW,  X86_INS_INSD,     X86_INS_OUTSB,
    X86_INS_OUTSW, X86_INS_OUTSD, X86_INS_HLT,    X86_INS_LGDT,  X86_INS_LIDT,     X86_INS_LLDT,
    X86_INS_LTR,   X86_INS_SGDT,  X86_INS_SIDT,   X86_INS_SLDT,  X86_INS_STR,      X86_INS_SMSW,
    X86_INS_LMSW,  X86_INS_CLTS,  X86_INS_INVLPG, X86_INS_INVD,  X86_INS_WBINVD,   X86_INS_RDMSR,
    X86_INS_WRMSR, X86_INS_INT,   X86_INS_INT3,   X86_INS_INTO,  X86_INS_INT1,     X86_INS_IRET,
    X86_INS_IRETD, X86_INS_LAR,   X86_INS_LSL,    X86_INS_VERR,  X86_INS_VERW,     X86_INS_PUSHF,
    X86_INS_POPF,  X86_INS_RETF,  X86_INS_LJMP,   X86_INS_LCALL, X86_INS_SYSENTER, X86_INS_SYSEXIT,
};

static bool is_system_reg(x86_reg r) {
    return (r >= X86_REG_CR0 && r <= X86_REG_CR15) || (r >= X86_REG_DR0 && r <= X86_REG_DR7) ||
           r == X86_REG_CS || r == X86_REG_DS || r == X86_REG_ES || r == X86_REG_SS ||
           r == X86_REG_FS || r == X86_REG_GS;
}

static bool must_exit(const cs_insn *in) {
    for (size_t i = 0; i < sizeof exit_ids / sizeof exit_ids[0]; i++)
        if (in->id == exit_ids[i]) return true;
    /* mov to/from CRn/DRn, loads and stores of segment registers, pop/push of them */
    if (in->id == X86_INS_MOV || in->id == X86_INS_POP || in->id == X86_INS_PUSH) {
        const cs_x86 *x = &in->detail->x86;
        for (int i = 0; i < x->op_count; i++)
            if (x->operands[i].type == X86_OP_REG && is_system_reg(x->operands[i].reg)) return true;
    }
    return false;
}

/* ---- §3.2: the inline sequences on the virtual EFLAGS ---------------------------------- */

static void em_pushfd(struct emit *e) {
    /* The real IF and IOPL are always 0, so the native image has them clear: add the virtual
     * ones with lea, which leaves the guest's flags alone. */
    static const uint8_t mov_eax_esp[] = {0x8b, 0x04, 0x24}, mov_esp_eax[] = {0x89, 0x04, 0x24},
                         lea_eax_ecx[] = {0x8d, 0x04, 0x08};
    em_u8(e, 0x9c); /* pushfd */
    em_mov_m_r(e, VP(save[0]), EAX);
    em_mov_m_r(e, VP(save[1]), ECX);
    em_bytes(e, mov_eax_esp, 3);
    em_mov_r_m(e, ECX, VP(vif));
    em_bytes(e, lea_eax_ecx, 3);
    em_mov_r_m(e, ECX, VP(viopl));
    em_bytes(e, lea_eax_ecx, 3);
    em_bytes(e, mov_esp_eax, 3);
    em_mov_r_m(e, ECX, VP(save[1]));
    em_mov_r_m(e, EAX, VP(save[0]));
}

/* The virtual CPU drops TF (§3.2): a real TF would single-step the CCF itself. NT, AC and ID
 * may load for real (the virtual CPU keeps them as plain bits); popf never sets RF or VM. */
#define EFLAGS_TF 0x100u

static void em_popfd(struct emit *e) {
    static const uint8_t mov_eax_esp[] = {0x8b, 0x04, 0x24}, mov_esp_eax[] = {0x89, 0x04, 0x24},
                         mov_espm4_eax[] = {0x89, 0x44, 0x24, 0xfc};
    em_mov_m_r(e, VP(save[0]), EAX);
    em_bytes(e, mov_eax_esp, 3);
    em_mov_m_r(e, VP(save[2]), EAX); /* the guest's image */
    em_u8(e, 0x25), em_u32(e, DBT_EFLAGS_IF);
    em_mov_m_r(e, VP(vif), EAX);
    em_mov_r_m(e, EAX, VP(save[2]));
    em_u8(e, 0x25), em_u32(e, DBT_EFLAGS_IOPL);
    em_mov_m_r(e, VP(viopl), EAX);
    em_mov_r_m(e, EAX, VP(save[2]));
    em_u8(e, 0x25), em_u32(e, ~(DBT_EFLAGS_IF | DBT_EFLAGS_IOPL | EFLAGS_TF));
    em_bytes(e, mov_esp_eax, 3);
    em_mov_r_m(e, EAX, VP(save[0]));
    em_u8(e, 0x9d); /* popfd of the sanitized image: the real IF, IOPL and TF stay 0 */
    /* Put the guest's own image back in the slot it popped from: the guest may look. */
    em_mov_m_r(e, VP(save[0]), EAX);
    em_mov_r_m(e, EAX, VP(save[2]));
    em_bytes(e, mov_espm4_eax, 4);
    em_mov_r_m(e, EAX, VP(save[0]));
}

/* After sti or popf: a pending virtual interrupt must be taken now (§3.3), so leave through
 * the dispatcher if one is pending; otherwise a chainable exit. jecxz tests without flags. */
static void em_irq_window(struct emit *e, uint32_t next_pc) {
    em_mov_m_r(e, VP(save[1]), ECX);
    em_mov_r_m(e, ECX, VP(pending));
    em_u8(e, 0xe3), em_u8(e, 6 + PLAIN_EXIT_LEN); /* jecxz: none pending */
    em_mov_r_m(e, ECX, VP(save[1]));
    em_exit(e, DBT_EXIT_BRANCH, next_pc);
    em_mov_r_m(e, ECX, VP(save[1]));
    em_exit_chain(e, next_pc);
}

/* ---- §4: control transfers -------------------------------------------------------------- */

static int reg_num(x86_reg r) {
    switch (r) {
    case X86_REG_EAX: return EAX;
    case X86_REG_ECX: return ECX;
    case X86_REG_EDX: return EDX;
    case X86_REG_EBX: return EBX;
    case X86_REG_ESP: return ESP;
    case X86_REG_EBP: return EBP;
    case X86_REG_ESI: return ESI;
    case X86_REG_EDI: return EDI;
    default: return -1;
    }
}

/* jmp/call through a register or memory operand: the guest target into vp->target, computed
 * with the guest's registers as they are (before a call pushes). Returns false if the form is
 * not a 32-bit near one. */
static bool em_indirect_target(struct emit *e, const cs_insn *in) {
    const cs_x86_op *op = &in->detail->x86.operands[0];
    if (op->size != 4) return false;
    if (op->type == X86_OP_REG) {
        int r = reg_num(op->reg);
        if (r < 0) return false;
        em_mov_m_r(e, VP(target), r);
        return true;
    }
    if (op->type != X86_OP_MEM) return false;
    /* The same bytes with opcode FF /2 or /4 turned into 8B /0: mov eax, <the operand>. */
    unsigned k = 0;
    while (k < in->size && in->bytes[k] != 0xff)
        k++;
    if (k + 1 >= in->size) return false;
    uint8_t b[16];
    memcpy(b, in->bytes, in->size);
    b[k] = 0x8b;
    b[k + 1] &= 0xc7;
    em_mov_m_r(e, VP(save[0]), EAX);
    em_bytes(e, b, in->size);
    em_mov_m_r(e, VP(target), EAX);
    em_mov_r_m(e, EAX, VP(save[0]));
    return true;
}

/* ---- §2: translating one block ----------------------------------------------------------- */

static bool is_jcc(unsigned id) {
    switch (id) {
    case X86_INS_JO:
    case X86_INS_JNO:
    case X86_INS_JB:
    case X86_INS_JAE:
    case X86_INS_JE:
    case X86_INS_JNE:
    case X86_INS_JBE:
    case X86_INS_JA:
    case X86_INS_JS:
    case X86_INS_JNS:
    case X86_INS_JP:
    case X86_INS_JNP:
    case X86_INS_JL:
    case X86_INS_JGE:
    case X86_INS_JLE:
    case X86_INS_JG: return true;
    default: return false;
    }
}

/* §8.2: a guest instruction after which the CCF says where the guest is and ends Unicorn's
 * block, so that a store that changed translated code stops the CCF right there. */
static bool may_write(const cs_insn *in) {
    switch (in->id) {
    case X86_INS_PUSH:
    case X86_INS_PUSHAL:
    case X86_INS_PUSHAW:
    case X86_INS_PUSHFD:
    case X86_INS_ENTER:
    case X86_INS_STOSB:
    case X86_INS_STOSW:
    case X86_INS_STOSD:
    case X86_INS_MOVSB:
    case X86_INS_MOVSW:
    case X86_INS_MOVSD: return true;
    default: break;
    }
    /* Capstone 4's operand access flags miss stores (cmpxchg, setcc, fstp, movups): a memory
     * destination is the first operand, and only a few instructions just read it. */
    const cs_x86 *x = &in->detail->x86;
    return x->op_count > 0 && x->operands[0].type == X86_OP_MEM && in->id != X86_INS_CMP &&
           in->id != X86_INS_TEST && in->id != X86_INS_BT && in->id != X86_INS_NOP;
}

/* The CCF's map (§8.2): at tc the guest is at guest_pc. */
static void map_at(struct dbt *t, uint32_t tc, uint32_t guest_pc) {
    if (t->nmap < MAX_MAP) t->map[t->nmap++] = (struct dbt_insn_map){tc, guest_pc};
}

/* After a guest store: jmp .+2 ends Unicorn's block, and the map names the place after it,
 * where a store that changed translated code stops the CCF (§8.2). Ending the block also makes
 * Unicorn save the flags it computes lazily. */
static void em_store_break(struct dbt *t, struct emit *e, uint32_t guest_pc) {
    map_at(t, e->addr, guest_pc); /* a rep string instruction's last round starts a block here */
    em_u8(e, 0xeb), em_u8(e, 0);
    map_at(t, e->addr, guest_pc);
}

static bool is_loop(unsigned id) {
    return id == X86_INS_LOOP || id == X86_INS_LOOPE || id == X86_INS_LOOPNE ||
           id == X86_INS_JECXZ || id == X86_INS_JCXZ;
}

static int translate(struct dbt *t, uint32_t pc, int *out) {
    if (t->tc_size - t->used < BLOCK_ROOM) flush(t);
    if (t->tc_size - t->used < BLOCK_ROOM) return VLAB_ENOMEM;
    if (t->nccf == MAX_CCFS) flush(t);
    size_t avail;
    if (!dbt_guest(t->vm, pc, &avail)) return VLAB_ERANGE;

    struct emit e = {.p = t->tc + t->used, .addr = DBT_TC_BASE + t->used};
    const uint32_t start = e.addr;
    uint32_t cur = pc, end = pc;
    unsigned n = 0;
    bool wrote = false; /* the last guest instruction may have written memory */
    t->nmap = 0;
    for (;;) {
        if (wrote) em_store_break(t, &e, cur);
        wrote = false;
        map_at(t, e.addr, cur);
        if (n == MAX_BLOCK_INSNS || DBT_TC_BASE + t->tc_size - e.addr < INSN_ROOM) {
            em_exit_chain(&e, cur); /* a size limit, not a control transfer */
            break;
        }
        const uint8_t *code = dbt_guest(t->vm, cur, &avail);
        uint64_t addr = cur;
        size_t size = avail < 16 ? avail : 16;
        if (!code || !cs_disasm_iter(t->cs, &code, &size, &addr, t->insn)) {
            em_exit(&e, DBT_EXIT_EMULATE, cur); /* the VMM reports what it cannot decode */
            break;
        }
        const cs_insn *in = t->insn;
        const uint32_t next = cur + in->size;
        const cs_x86 *x = &in->detail->x86;
        n++;
        end = next;
        if (in->id == X86_INS_CLI) {
            em_mov_m_imm(&e, VP(vif), 0);
        } else if (in->id == X86_INS_STI) {
            em_mov_m_imm(&e, VP(vif), DBT_EFLAGS_IF);
            em_irq_window(&e, next);
            break;
        } else if (in->id == X86_INS_PUSHFD) {
            em_pushfd(&e);
            wrote = true;
        } else if (in->id == X86_INS_POPFD) {
            em_popfd(&e); /* puts the image back: a store */
            em_store_break(t, &e, next);
            em_irq_window(&e, next);
            break;
        } else if (must_exit(in)) {
            em_exit(&e, DBT_EXIT_EMULATE, cur);
            break;
        } else if (in->id == X86_INS_JMP && x->operands[0].type == X86_OP_IMM) {
            em_exit_chain(&e, (uint32_t)x->operands[0].imm);
            break;
        } else if (is_jcc(in->id)) {
            uint8_t cc = (x->opcode[0] == 0x0f ? x->opcode[1] : x->opcode[0]) & 0x0f;
            em_u8(&e, 0x0f), em_u8(&e, (uint8_t)(0x80 | cc)); /* jcc rel32 */
            em_u32(&e, STUB_LEN); /* over the fall-through stub to the taken one */
            em_exit_chain(&e, next);
            em_exit_chain(&e, (uint32_t)x->operands[0].imm);
            break;
        } else if (is_loop(in->id)) {
            /* Only a rel8 form exists: loop to a near jmp that skips the taken stub. */
            em_bytes(&e, in->bytes, in->size - 1u);
            em_u8(&e, 2);
            em_u8(&e, 0xeb), em_u8(&e, STUB_LEN);
            em_exit_chain(&e, (uint32_t)x->operands[0].imm);
            em_exit_chain(&e, next);
            break;
        } else if (in->id == X86_INS_CALL && x->operands[0].type == X86_OP_IMM) {
            em_u8(&e, 0x68), em_u32(&e, next); /* push the GUEST return address */
            em_exit_chain(&e, (uint32_t)x->operands[0].imm);
            break;
        } else if (in->id == X86_INS_CALL || in->id == X86_INS_JMP) {
            if (!em_indirect_target(&e, in)) {
                em_exit(&e, DBT_EXIT_EMULATE, cur);
                break;
            }
            if (in->id == X86_INS_CALL) {
                em_u8(&e, 0x68), em_u32(&e, next);
                em_store_break(t, &e, DBT_MAP_TARGET); /* the lookup routine is no CCF */
            }
            em_jmp(&e, t->ibl);
            break;
        } else if (in->id == X86_INS_RET) {
            em_u8(&e, 0x8f), em_u8(&e, 0x05), em_u32(&e, VP(target)); /* pop [target] */
            if (x->op_count == 1) { /* ret imm16: lea esp, [esp + imm] */
                em_u8(&e, 0x8d), em_u8(&e, 0xa4), em_u8(&e, 0x24);
                em_u32(&e, (uint32_t)x->operands[0].imm);
            }
            em_jmp(&e, t->ibl);
            break;
        } else {
            em_bytes(&e, in->bytes, in->size); /* safe: runs natively, unchanged */
            wrote = may_write(in);
        }
        cur = next;
    }

    uint32_t len = e.addr - start;
    int i = t->nccf++;
    struct ccf *c = &t->ccf[i];
    *c = (struct ccf){.guest_pc = pc,
                      .guest_end = end > pc ? end : pc + 1,
                      .tc = start,
                      .tc_len = len,
                      .in_link = -1,
                      .live = true};
    c->next = t->bucket[hash(pc)];
    t->bucket[hash(pc)] = i;
    t->used += len;
    for (uint32_t page = pc & ~(DBT_PAGE - 1); page < c->guest_end; page += DBT_PAGE)
        dbt_watch_page(t->vm, page);
    dbt_report_ccf(t->vm, pc, c->guest_end - pc, n, start, len, t->map, t->nmap);
    *out = i;
    return VLAB_OK;
}

/* ---- §6, §7: the cache and chaining -------------------------------------------------------- */

static void chain(struct dbt *t, uint32_t stub, int target) {
    if (stub < DBT_TC_BASE || stub - DBT_TC_BASE > t->used - CHAIN_LEN) return;
    if (t->nlink == MAX_LINKS) return; /* stays unchained: correct, only slower */
    struct link *l = &t->link[t->nlink];
    uint8_t *p = t->tc + (stub - DBT_TC_BASE);
    memcpy(l->orig, p, CHAIN_LEN);
    l->stub = stub;
    l->next = t->ccf[target].in_link;
    t->ccf[target].in_link = t->nlink++;
    struct emit e = {.p = p, .addr = stub};
    em_jmp(&e, t->ccf[target].tc);
    dbt_tc_sync(t->vm, stub, CHAIN_LEN); /* Unicorn may hold the stub's old code */
}

int dbt_enter(struct dbt *t, uint32_t guest_pc, uint32_t from_stub, uint32_t *ccf) {
    unsigned flushes = t->flushes;
    int i = lookup(t, guest_pc);
    if (i < 0) {
        int rc = translate(t, guest_pc, &i);
        if (rc != VLAB_OK) return rc;
    }
    if (from_stub && t->flushes == flushes) chain(t, from_stub, i);
    *ccf = t->ccf[i].tc;
    ibtl_insert(t, guest_pc, *ccf); /* the next indirect branch here finds it in the TC */
    return VLAB_OK;
}

/* ---- §8: self-modifying code --------------------------------------------------------------- */

static void kill(struct dbt *t, int i) {
    struct ccf *c = &t->ccf[i];
    int *pp = &t->bucket[hash(c->guest_pc)];
    while (*pp != i)
        pp = &t->ccf[*pp].next;
    *pp = c->next;
    c->live = false;
    struct dbt_ibtl_entry *en = &t->vp->ibtl[ibtl_hash(c->guest_pc)];
    if (en->guest_pc == c->guest_pc && en->ccf == c->tc) en->guest_pc = en->ccf = 0;
    /* Every chained jump into it goes back to its exit stub: the next time that path runs,
     * the dispatcher translates the new code. (Its own bytes stay: Unicorn may be running
     * them right now, until the harness stops it at its next block, §8.2.) */
    for (int l = c->in_link; l >= 0; l = t->link[l].next) { /* unchain */
        memcpy(t->tc + (t->link[l].stub - DBT_TC_BASE), t->link[l].orig, CHAIN_LEN);
        dbt_tc_sync(t->vm, t->link[l].stub, CHAIN_LEN);
    }
    c->in_link = -1;
}

int dbt_invalidate(struct dbt *t, uint32_t page) {
    for (int i = 0; i < t->nccf; i++) {
        struct ccf *c = &t->ccf[i];
        if (c->live && c->guest_pc < page + DBT_PAGE && c->guest_end > page) kill(t, i);
    }
    return VLAB_OK;
}
