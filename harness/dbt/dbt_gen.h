/* Random guests for lab dbt (issue 13): a seeded list of items that mixes everything the lab
 * claims to handle — safe instructions, cli/sti/pushf/popf (with the EFLAGS bits the virtual
 * CPU does not model), timer interrupts, data words on code pages, stores that patch the
 * immediates of instructions further on in the running block, in later blocks on the same and
 * other pages and in earlier ones, indirect jumps through tables, calls whose callee computes
 * the return address, a stack on a code page — in a loop whose body spans several pages, so
 * blocks straddle pages. The list is laid out into machine code anew each time, so removing an
 * item still gives a valid guest: that is how a difference is minimized. */
#ifndef VLAB_DBT_GEN_H
#define VLAB_DBT_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dbt_vm.h"

/* The timer scaffolding every random guest shares (the generator's, and the random streams of
 * translate_random_streams): a prologue that points IDT gate 0x20 at a handler, loads the IDT
 * and asks for a timer interrupt every 2 I/O instructions; the handler (inc dword
 * [DBT_GEN_TICKS]; iret) and the IDT descriptor at fixed places after the body. */
#define DBT_GEN_TICKS        0x8100u
#define DBT_GEN_HANDLER      0x7000u
#define DBT_GEN_IDTDESC      0x7100u
#define DBT_GEN_PROLOGUE_LEN 31
/* Writes the prologue into p (DBT_GEN_PROLOGUE_LEN bytes). */
void dbt_gen_timer_prologue(uint8_t *p);
/* Writes the handler and the IDT descriptor into code, the guest image from DBT_GUEST_BASE;
 * returns the image's length. The body must end before DBT_GEN_HANDLER. */
size_t dbt_gen_timer_tail(uint8_t *code);

#define DBT_GEN_MAX_ITEMS 256
#define DBT_GEN_CODE_MAX  (0x7200u - DBT_GUEST_BASE) /* the handler and IDT descriptor follow */

struct dbt_gen_item {
    uint8_t kind, form, reg, n;
    uint16_t id;         /* its index when generated: minimizing removes items, ids stay */
    uint32_t v;          /* an immediate, a skip length */
    uint32_t target;     /* the id of the patch site or data word it stores into */
    uint8_t bytes[4][8]; /* up to four raw instructions */
    uint8_t len[4];
};

struct dbt_gen {
    uint64_t seed;
    unsigned n, rounds;
    struct dbt_gen_item it[DBT_GEN_MAX_ITEMS];
};

/* A random guest of about `items` items (at most DBT_GEN_MAX_ITEMS). */
void dbt_gen_random(struct dbt_gen *g, uint64_t seed, unsigned items);
/* Lays the guest out for DBT_GUEST_BASE into code (DBT_GEN_CODE_MAX bytes); its length. */
size_t dbt_gen_emit(const struct dbt_gen *g, uint8_t *code);
/* Runs the guest on the oracle and through the translator with a TC of tc_size (0: the
 * default): 0 when they agree, 1 when they differ or the translated run fails (why says how),
 * -1 when the oracle fails (a generator bug). */
int dbt_gen_check(const struct dbt_gen *g, uint32_t tc_size, char *why, size_t len);
/* Of the last dbt_gen_check that ran both: SMC stops in the translated run, the oracle's
 * interrupts (the tests check that the guests exercise what they claim to). */
extern uint64_t dbt_gen_last_smc_stops, dbt_gen_last_irqs;
/* Removes items while the guest still differs, for at most `seconds` (0: no limit; a run that
 * hangs costs the 2 s watchdog); returns how many are left. */
unsigned dbt_gen_minimize(struct dbt_gen *g, uint32_t tc_size, double seconds);
/* The guest's code as disassembly, one instruction a line. */
void dbt_gen_print(const struct dbt_gen *g, FILE *f);

#endif
