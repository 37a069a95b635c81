/* Lab dbt: a basic-block binary translator on Unicorn (VMware-style full virtualization).
 *
 * This is the whole interface between your translator (labs/dbt/dbt.c) and the harness. The
 * harness owns the machine: guest RAM, the virtual CPU (virtual IF and IOPL, CR0/CR3/CR4,
 * GDTR/IDTR, pending virtual interrupts, a virtual timer), a 16550 UART, and the dispatcher loop
 * that runs your compiled code fragments (CCFs) in Unicorn and emulates the sensitive
 * instructions your CCFs exit for. You translate guest basic blocks into CCFs in the translation
 * cache (TC), keep the cache, chain CCFs and invalidate them when the guest writes its own code.
 * The handout is labs/dbt/README.md; section numbers (§) below refer to it.
 *
 * The guest address space (one flat 32-bit protected-mode space, guest CPL 0):
 *   [0, DBT_RAM_SIZE)               guest RAM: code, data, stacks. Mapped readable and writable
 *                                   but NOT executable in the translated run: guest code only
 *                                   ever runs as its translation.
 *   DBT_VPAGE .. +4 KiB             the VMM page, struct dbt_vpage: virtual flags and the exit
 *                                   record your CCFs write before they stop (§3, §4).
 *   DBT_TC_BASE .. +dbt_tc_size()   the translation cache: executable, written only by you
 *                                   through dbt_tc() (the guest cannot write it).
 * The guest never sees an address above DBT_RAM_SIZE: not in a register, not in its memory (§5). */
#ifndef VLAB_DBT_H
#define VLAB_DBT_H

#include <stddef.h>
#include <stdint.h>

#include "vlab/err.h"

#define DBT_RAM_SIZE 0x100000u   /* 1 MiB of guest RAM at guest address 0 */
#define DBT_VPAGE    0x7eff0000u /* struct dbt_vpage, as the CCFs address it */
#define DBT_TC_BASE  0x7f000000u /* the translation cache, as the CCFs address it */
#define DBT_TC_MAX   0x100000u   /* the largest TC the harness maps (tests may map less) */
#define DBT_PAGE     0x1000u

#define DBT_EFLAGS_IF   0x200u /* the EFLAGS bits the VMM virtualizes (§3) */
#define DBT_EFLAGS_IOPL 0x3000u

/* Why a CCF stopped (written to dbt_vpage.exit_reason just before its `hlt`, §4.2). */
enum dbt_exit_reason {
    DBT_EXIT_NONE = 0,     /* nothing written: a CCF stopped without an exit record (a bug) */
    DBT_EXIT_BRANCH = 1,   /* go on at guest exit_pc; exit_stub != 0 names a chainable stub */
    DBT_EXIT_EMULATE = 2,  /* the sensitive instruction at guest exit_pc: the VMM emulates it */
    DBT_EXIT_INDIRECT = 3, /* go on at guest address dbt_vpage.target (ret, jmp/call via r/m) */
};

#define DBT_IBTL_SIZE 256

/* The VMM page at DBT_VPAGE. CCFs read and write it with absolute addresses:
 * DBT_VPAGE + offsetof(struct dbt_vpage, field). */
struct dbt_vpage {
    uint32_t vif;         /* +0x00 the guest's IF: 0 or DBT_EFLAGS_IF (§3.2) */
    uint32_t viopl;       /* +0x04 the guest's IOPL bits: 0 .. DBT_EFLAGS_IOPL */
    uint32_t pending;     /* +0x08 nonzero while a virtual interrupt waits for IF (§3.3) */
    uint32_t exit_reason; /* +0x0c enum dbt_exit_reason; the VMM clears it before each run */
    uint32_t exit_pc;     /* +0x10 guest address (DBT_EXIT_BRANCH, DBT_EXIT_EMULATE) */
    uint32_t exit_stub;   /* +0x14 TC address of the stub that exited, 0 if not chainable;
                           * the VMM clears it before each run (§4.2) */
    uint32_t target;      /* +0x18 guest target of an indirect branch (DBT_EXIT_INDIRECT) */
    uint32_t save[9];     /* +0x1c scratch: your sequences park guest registers here */
    uint32_t spare[48];   /* +0x40 */
    /* +0x100 yours: the indirect-branch lookup table your CCFs search before they exit
     * (§4.3); all zero at the start, and an all-zero entry matches guest target 0: treat
     * ccf == 0 as empty. Reset it when you flush (§6). */
    struct dbt_ibtl_entry {
        uint32_t guest_pc, ccf;
    } ibtl[DBT_IBTL_SIZE];
};

/* The machine (the harness's) and your translator (yours: define struct dbt in dbt.c). */
struct dbt_vm;
struct dbt;

/* ---- What you implement (labs/dbt/dbt.c) ------------------------------------------------ */

/* Creates your translator for vm (decoder, cache, tables). NULL when it cannot (the stub
 * returns NULL: "not implemented"). */
struct dbt *dbt_create(struct dbt_vm *vm);
void dbt_destroy(struct dbt *t);

/* The dispatcher calls this each time the guest is to go on at guest_pc: return in *ccf the
 * TC address of the CCF for guest_pc, translating the block first if the cache has none (§2,
 * §6). from_stub, when nonzero, is the TC address of the chainable exit stub that led here
 * (its exit_stub): patch it to jump straight to *ccf next time (chaining, §7), unless the
 * cache was flushed since that stub was written. Returns VLAB_OK or an error (VLAB_ENOMEM
 * when a block cannot fit even an empty cache, VLAB_ERANGE for a pc outside guest RAM). */
int dbt_enter(struct dbt *t, uint32_t guest_pc, uint32_t from_stub, uint32_t *ccf);

/* The guest is changing bytes of guest page `page` (4 KiB aligned), which you asked the
 * harness to watch, that a CCF was translated from: every CCF translated from bytes in it is
 * stale. (A store that leaves translated bytes as they are, data next to code, is made by the
 * harness without calling this, and the page stays watched.) Make sure none of them runs again
 * (not through the lookup, not through a chained jump), then return VLAB_OK; the harness
 * makes the write and stops watching the page (§8). It runs inside Unicorn's write hook, in
 * the middle of the CCF that made the store: forget and unchain here, never flush the TC or
 * reuse its bytes (defer a flush to the next dbt_enter, §8.1). When the write changed translated
 * bytes, the harness also stops the run at the start of Unicorn's next block of the TC (Unicorn
 * ends a block at every jump) and the dispatcher goes on at the guest pc your CCF map names for
 * that place, with fresh translations: so after a guest instruction that may write memory, end
 * Unicorn's block (`jmp .+2`) unless an exit follows (§8.2). */
int dbt_invalidate(struct dbt *t, uint32_t page);

/* ---- What the harness gives you ------------------------------------------------------ */

/* Host view of guest memory at guest address pc, and how many bytes follow it in guest RAM
 * (*avail). NULL when pc is outside guest RAM. Read-only for you. */
const uint8_t *dbt_guest(struct dbt_vm *vm, uint32_t pc, size_t *avail);

/* Host view of the VMM page (the same bytes CCFs see at DBT_VPAGE). */
struct dbt_vpage *dbt_vp(struct dbt_vm *vm);

/* Host view of the TC (DBT_TC_BASE maps to dbt_tc()[0]) and its size in bytes. */
uint8_t *dbt_tc(struct dbt_vm *vm);
uint32_t dbt_tc_size(struct dbt_vm *vm);

/* Unicorn keeps its own translation of the code it ran; it does not notice your writes through
 * dbt_tc(). After changing bytes that may already have run (chaining, unchaining, an
 * invalidated CCF), call dbt_tc_sync on them; dbt_tc_flush when you empty the whole cache
 * (it also tells the harness the cache was flushed, §6). New CCFs in unused space need neither. */
int dbt_tc_sync(struct dbt_vm *vm, uint32_t tc_addr, uint32_t len);
int dbt_tc_flush(struct dbt_vm *vm);

/* Write-protects guest page `page` until the guest writes it; then dbt_invalidate runs (§8).
 * Call it for every page a CCF's guest bytes come from. */
int dbt_watch_page(struct dbt_vm *vm, uint32_t page);

/* One line of a CCF's map (§8.2): when the real CPU is about to run TC address tc, the guest
 * is at guest_pc, which has not run yet (its translation, or an exit stub to it, starts at
 * tc). DBT_MAP_TARGET as guest_pc: the guest is at dbt_vpage.target (an indirect branch whose
 * target the CCF has computed). */
struct dbt_insn_map {
    uint32_t tc, guest_pc;
};
#define DBT_MAP_TARGET 0xffffffffu

/* Reports a CCF you just wrote: guest bytes [guest_pc, guest_pc + guest_len) became TC bytes
 * [ccf, ccf + ccf_len), with ninsns guest instructions. Both count every instruction decoded
 * for the block, the sensitive one it exits for included (§2 step 5); a store that changes
 * these bytes is what calls dbt_invalidate. The checks decode it (no sensitive
 * instruction may run natively) and count translations (§6). map[0 .. nmap) is the CCF's map
 * (§8.2): at least its start, and the place right after each guest instruction that may
 * write memory (where the `jmp .+2` ending Unicorn's block is) and the place after that jump. */
void dbt_report_ccf(struct dbt_vm *vm, uint32_t guest_pc, uint32_t guest_len, uint32_t ninsns,
                    uint32_t ccf, uint32_t ccf_len, const struct dbt_insn_map *map, uint32_t nmap);

#endif
