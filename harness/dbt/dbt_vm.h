/* The harness side of lab dbt: the machine both executors run on, the two executors (the
 * oracle, an ideal trap-and-emulate machine, and the translated run that drives the student's
 * translator), and what the checks observe. Tests and benches use this; students use dbt.h. */
#ifndef VLAB_DBT_VM_H
#define VLAB_DBT_VM_H

#include <capstone/capstone.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unicorn/unicorn.h>

#include "dbt.h"
#include "vlab/uart.h"

#define DBT_GUEST_BASE  0x1000u  /* every guest is assembled for and loaded at this address */
#define DBT_GUEST_STACK 0x80000u /* initial ESP */
#define DBT_OBS_MAX     2048u    /* observations kept (all are counted and hashed) */

/* Devices on the virtual machine's I/O ports. */
#define DBT_PORT_TIMER                                                                             \
    0x40u                   /* out: timer period in I/O instructions (0 = off); in: ticks raised   \
                             */
#define DBT_PORT_POST 0x80u /* out: ignored (an I/O instruction that advances the timer) */
#define DBT_TIMER_VEC 0x20u /* the vector the virtual timer raises */

/* Sentinels the real (Unicorn) CPU keeps for the whole translated run: no guest instruction
 * that would change them may run natively (§3). */
#define DBT_SENTINEL_CR3  0x0badc000u
#define DBT_SENTINEL_GDTR 0x7eff0800u
#define DBT_SENTINEL_IDTR 0x7eff0c00u

/* The virtual CPU state beyond the general registers (which stay in Unicorn's registers). The
 * virtual IF and IOPL live in the VMM page (struct dbt_vpage) so that CCFs can reach them. */
struct dbt_vcpu {
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t gdtr_base, idtr_base;
    uint16_t gdtr_limit, idtr_limit;
    uint16_t cs, tr;
    uint16_t ds, es, ss, fs, gs; /* selectors only: the segments stay flat (§3.1) */
    uint32_t timer_period, timer_count, timer_ticks;
};

enum dbt_obs_kind { DBT_OBS_OUT = 1, DBT_OBS_IN = 2, DBT_OBS_END = 3 };

/* Everything the guest can observe, at one I/O instruction or at the end. */
struct dbt_obs {
    uint32_t kind, port, size, value; /* value: OUT data, or the data IN returned */
    uint32_t pc;                      /* the I/O instruction; at END the pc after the hlt */
    uint32_t regs[8];                 /* eax ecx edx ebx esp ebp esi edi */
    uint32_t eflags;                  /* arithmetic flags and DF | virtual IF | virtual IOPL */
    uint32_t cr0, cr3, cr4, gdtr_base, idtr_base, gdtr_limit, idtr_limit;
    uint64_t ram_hash; /* of all guest RAM (0 when the run does not hash RAM) */
};

struct dbt_stats {
    uint64_t dispatches;     /* dbt_enter calls: dispatcher entries */
    uint64_t chain_requests; /* of them with a from_stub */
    uint64_t exits_branch, exits_indirect, exits_emulate;
    uint64_t exits_flags;    /* emulate exits for cli/sti/pushf/popf (adaptive: should be 0) */
    uint64_t io, irqs;       /* I/O instructions, virtual interrupts delivered */
    uint64_t translations;   /* CCFs reported */
    uint64_t retranslations; /* of a guest pc already translated since the last flush and
                                not invalidated */
    uint64_t guest_bytes, ccf_bytes, ccf_insns;
    uint64_t empty_ccfs;   /* reported with guest_len 0 (§2 step 5: the exiting insn counts) */
    uint32_t empty_ccf_pc; /* the first of them */
    uint64_t syncs, flushes, invalidations;
    uint64_t smc_stops;   /* CCFs stopped after a store that changed translated bytes (§8.2) */
    uint64_t guest_insns; /* the oracle only: instructions executed */
    uint64_t enter_ns;    /* wall time inside dbt_enter (lookups and translations; bench only) */
};

struct dbt_vm_config {
    const char *guest;   /* guests/<guest>.bin next to the binary, or ... */
    const uint8_t *code; /* ... these bytes (generated guests), loaded at DBT_GUEST_BASE */
    size_t code_len;
    uint32_t tc_size;        /* 0: DBT_TC_MAX */
    bool no_chain;           /* the dispatcher never passes a from_stub (the baseline) */
    bool no_ram_hash;        /* observations without the RAM hash (benchmarks) */
    const char *uart_input;  /* queued for the guest's UART */
    uint64_t max_dispatches; /* 0: 500,000 (the reference: 220,000 unchained) */
    uint64_t max_insns;      /* oracle: 0: 200,000,000 */
    double watchdog_s;       /* CPU seconds; 0: 2 s (the reference needs < 0.05 s per guest) */
    /* dbt_vm_compare's own reruns: keep a copy of guest RAM as it is at this I/O observation
     * (1-based; 0: none), so a memory difference can name its address. */
    uint32_t ram_copy_at;
};

struct dbt_vm {
    struct dbt_vm_config cfg;
    uc_engine *uc;
    csh cs;
    uint8_t *ram, *tc;
    struct dbt_vpage *vp;
    uint32_t tc_size;
    bool translated; /* which executor runs */
    struct dbt_vcpu cpu;
    struct vlab_uart uart;
    struct dbt_obs *obs;
    uint32_t nobs;
    uint64_t obs_total, obs_hash; /* every observation is counted and folded into obs_hash */
    struct dbt_obs end;
    uint8_t *ram_copy; /* guest RAM at observation cfg.ram_copy_at, when asked for */
    FILE *dump;        /* VLAB_DBT_DUMP: the debugging view of the translated run (dbt_dump.c) */
    bool halted;
    struct dbt_stats st;
    int rc;         /* first error of the run, VLAB_OK when none */
    char err[1024]; /* what went wrong, with context */
    /* the translated run's checks */
    uint8_t *xlated;  /* per guest byte: translated since the last flush */
    uint8_t *code;    /* per guest byte: in a reported CCF since its page was last invalidated */
    uint32_t *resume; /* per TC byte: from the CCF maps, guest pc + 1, DBT_MAP_TARGET or 0 */
    bool has_maps;    /* the translator reports CCF maps (§8.2) */
    bool smc_stop;    /* a store changed translated bytes: stop before Unicorn's next block */
    uint32_t smc_addr, smc_tb; /* the store; the TC address of the block stopped before */
    bool watched[DBT_RAM_SIZE / DBT_PAGE];
    char native[512]; /* the first sensitive instruction found in a CCF or sentinel broken */
    uint32_t last_ccf_guest_pc;
    struct dbt *t;
    uc_hook hooks[4];
    /* watchdog */
    pthread_t wd;
    bool wd_on;
    clockid_t wd_clock; /* the CPU time of the thread that runs the guest */
    pthread_mutex_t wd_mu;
    pthread_cond_t wd_cv;
    volatile bool wd_stop, wd_fired;
};

/* Builds the machine and loads the guest. NULL with a message in err. */
struct dbt_vm *dbt_vm_open(const struct dbt_vm_config *cfg, char *err, size_t len);
void dbt_vm_close(struct dbt_vm *vm);

/* The executors. Each may be called once per vm. VLAB_OK when the guest reached its final
 * hlt; otherwise the error with vm->err saying what happened. */
int dbt_vm_run_oracle(struct dbt_vm *vm);
int dbt_vm_run_translated(struct dbt_vm *vm);
/* The guest run natively in Unicorn, without any virtualization (only for guests without
 * sensitive instructions but UART output): the speed baseline of the benchmark. */
int dbt_vm_run_direct(struct dbt_vm *vm);

/* A TC or VMM-page address the translated guest could see (and the oracle's did not have):
 * NULL when none, else a description in buf. */
const char *dbt_vm_leak(const struct dbt_vm *oracle, const struct dbt_vm *dbt, char *buf,
                        size_t len);
/* Compares two runs' observations: NULL when equal, else a description in buf. When guest
 * memory differs at an I/O observation, both guests are run again up to it (they are
 * deterministic) to name the first differing address and both values. */
const char *dbt_vm_compare(const struct dbt_vm *oracle, const struct dbt_vm *dbt, char *buf,
                           size_t len);

/* --- inside the harness --- */
void dbt_vm_fail(struct dbt_vm *vm, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Emulates the sensitive instruction at pc on the virtual CPU; *next = where the guest goes on.
 * Sets vm->halted for hlt. */
int dbt_emulate(struct dbt_vm *vm, uint32_t pc, uint32_t *next);
/* Delivers a pending virtual interrupt if the virtual IF allows; *pc is the return address on
 * entry and the handler on return. */
int dbt_maybe_deliver(struct dbt_vm *vm, uint32_t *pc);
/* Byte-level test the oracle uses: does the instruction at p start with a sensitive opcode? */
bool dbt_oracle_sensitive(const uint8_t *p, size_t avail);
void dbt_observe(struct dbt_vm *vm, uint32_t kind, uint32_t pc, uint32_t port, uint32_t size,
                 uint32_t value);
uint32_t dbt_guest_eflags(struct dbt_vm *vm);
void dbt_set_guest_eflags(struct dbt_vm *vm, uint32_t image);
uint32_t dbt_reg(struct dbt_vm *vm, int ucreg);
void dbt_set_reg(struct dbt_vm *vm, int ucreg, uint32_t v);
/* The guest, or the VMM on its behalf, is about to write buf to [addr, addr + len) in the
 * translated run: if that changes translated bytes, the watched pages in it are invalidated
 * and unwatched first (§8). */
int dbt_vm_guest_write(struct dbt_vm *vm, uint32_t addr, const void *buf, uint32_t len);
/* Decodes a CCF and records the first instruction in it that must never run natively. */
void dbt_check_ccf(struct dbt_vm *vm, uint32_t ccf, uint32_t len);
/* The debugging view (dbt_dump.c): with VLAB_DBT_DUMP=file, a translated run appends its CCFs,
 * disassembled next to their guest blocks, and its syncs, flushes and invalidations. */
void dbt_dump_open(struct dbt_vm *vm);
void dbt_dump_close(struct dbt_vm *vm);
void dbt_dump_ccf(struct dbt_vm *vm, uint32_t guest_pc, uint32_t guest_len, uint32_t ninsns,
                  uint32_t ccf, uint32_t ccf_len, const struct dbt_insn_map *map, uint32_t nmap);
void dbt_dump_sync(struct dbt_vm *vm, uint32_t tc_addr, uint32_t len);
void dbt_dump_event(struct dbt_vm *vm, const char *what, uint32_t arg);
/* Is v an address in the TC or the VMM page (which the guest must never see)? */
static inline bool dbt_is_vmm_addr(uint32_t v) {
    return (v >= DBT_VPAGE && v < DBT_VPAGE + DBT_PAGE) ||
           (v >= DBT_TC_BASE && v < DBT_TC_BASE + DBT_TC_MAX);
}

#endif
