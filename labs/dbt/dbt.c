/* Lab dbt: a basic-block binary translator. This is the only file you edit.
 * Read labs/dbt/README.md (the handout) first; "§n" below refers to its sections, and the
 * interface you implement is harness/dbt/dbt.h. `make grade LAB=dbt` grades it. */
#include "dbt.h"

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- The emitter: given, use it as it is or change it ---------------------------------- */

/* The address of a field of the VMM page, as CCF code addresses it (an absolute disp32). */
#define VP(field) (DBT_VPAGE + (uint32_t)offsetof(struct dbt_vpage, field))

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI }; /* x86 register numbers in ModRM */

struct emit {
    uint8_t *p;    /* host pointer of the next byte (inside dbt_tc(vm)) */
    uint32_t addr; /* its TC address (DBT_TC_BASE + offset) */
};

static inline void em_u8(struct emit *e, uint8_t b) {
    *e->p++ = b;
    e->addr++;
}
static inline void em_u32(struct emit *e, uint32_t v) {
    memcpy(e->p, &v, 4);
    e->p += 4;
    e->addr += 4;
}
static inline void em_bytes(struct emit *e, const uint8_t *b, size_t n) {
    memcpy(e->p, b, n);
    e->p += n;
    e->addr += (uint32_t)n;
}
/* mov dword [abs], imm32 (10 bytes; like every mov, it leaves the flags alone) */
static inline void em_mov_m_imm(struct emit *e, uint32_t abs, uint32_t imm) {
    em_u8(e, 0xc7), em_u8(e, 0x05), em_u32(e, abs), em_u32(e, imm);
}
/* mov [abs], reg32 */
static inline void em_mov_m_r(struct emit *e, uint32_t abs, int reg) {
    em_u8(e, 0x89), em_u8(e, (uint8_t)(reg << 3 | 5)), em_u32(e, abs);
}
/* mov reg32, [abs] */
static inline void em_mov_r_m(struct emit *e, int reg, uint32_t abs) {
    em_u8(e, 0x8b), em_u8(e, (uint8_t)(reg << 3 | 5)), em_u32(e, abs);
}
/* jmp rel32 to a TC address */
static inline void em_jmp(struct emit *e, uint32_t to) {
    em_u8(e, 0xe9), em_u32(e, to - (e->addr + 4));
}

/* The exits (§4.2). A chainable stub is STUB_LEN bytes; chaining (§7) overwrites its first
 * CHAIN_LEN bytes with `jmp <ccf>`, unchaining puts them back. */
#define STUB_LEN  31
#define CHAIN_LEN 5
static inline void em_exit_chain(struct emit *e, uint32_t guest_target) {
    uint32_t stub = e->addr;
    em_mov_m_imm(e, VP(exit_pc), guest_target);
    em_mov_m_imm(e, VP(exit_stub), stub);
    em_mov_m_imm(e, VP(exit_reason), DBT_EXIT_BRANCH);
    em_u8(e, 0xf4); /* hlt: Unicorn returns to the dispatcher */
}
/* A plain exit (21 bytes): DBT_EXIT_BRANCH without a stub, or DBT_EXIT_EMULATE. */
static inline void em_exit(struct emit *e, uint32_t reason, uint32_t guest_pc) {
    em_mov_m_imm(e, VP(exit_pc), guest_pc);
    em_mov_m_imm(e, VP(exit_reason), reason);
    em_u8(e, 0xf4);
}
/* After your code stored the guest target in VP(target). */
static inline void em_exit_indirect(struct emit *e) {
    em_mov_m_imm(e, VP(exit_reason), DBT_EXIT_INDIRECT);
    em_u8(e, 0xf4);
}

/* ---- Your translator ----------------------------------------------------------------- */

struct dbt {
    struct dbt_vm *vm;
    csh cs;
    /* TODO: the TC allocation pointer, the guest pc -> CCF lookup table (§6), what chaining
     * and invalidation need to remember (§7, §8), the indirect-branch table in the VMM page
     * (dbt_vp(vm)->ibtl) and where your lookup routine sits in the TC (§4.3). dbt_invalidate
     * runs inside Unicorn's write hook, in the middle of a CCF: it may forget and unchain,
     * never flush or reuse TC bytes (§8.1). */
};

/* Task 1-2 (§2, §3): translate the block at guest pc into a new CCF. An outline:
 *   room left in the TC for a block?                       no -> flush (§6)
 *       (forget every CCF, chain and vp->ibtl entry; keep or re-emit the lookup routine)
 *   for each instruction (cs_disasm_iter), up to a limit:
 *       cli / sti / pushfd / popfd   -> inline sequence on VP(vif), VP(viopl)     (§3.2)
 *                                       (after sti and popf: the interrupt window, §3.3)
 *       other sensitive instruction  -> em_exit(DBT_EXIT_EMULATE, its pc); end    (§3.1)
 *       jmp/jcc/loop/call rel        -> exit stubs to the guest targets; end     (§4)
 *       ret, jmp/call via r/m        -> guest target into VP(target), then
 *                                       em_exit_indirect (later: your lookup routine) (§4.3)
 *       anything else                -> copy its bytes unchanged                  (§2)
 *   guest_len and ninsns count every decoded instruction, the one you exit for too (§2)
 *   dbt_watch_page each page the guest bytes came from; dbt_report_ccf.           (§8, §6) */

struct dbt *dbt_create(struct dbt_vm *vm) {
    (void)vm;
    return NULL; /* TODO: allocate, cs_open(CS_ARCH_X86, CS_MODE_32), CS_OPT_DETAIL on */
}

void dbt_destroy(struct dbt *t) {
    (void)t; /* TODO */
}

int dbt_enter(struct dbt *t, uint32_t guest_pc, uint32_t from_stub, uint32_t *ccf) {
    (void)t;
    (void)guest_pc;
    (void)from_stub;
    (void)ccf;
    return VLAB_ENOTIMPL; /* TODO: look up or translate (§6), chain from_stub (§7) */
}

int dbt_invalidate(struct dbt *t, uint32_t page) {
    (void)t;
    (void)page;
    return VLAB_ENOTIMPL; /* TODO: drop and unchain every CCF from this page (§8) */
}
