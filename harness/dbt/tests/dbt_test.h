/* What the dbt tests share: running a guest on the oracle and through the student's translator,
 * comparing everything the guest could observe, and messages that say what was expected, what
 * came and which handout section explains it. */
#ifndef VLAB_DBT_TEST_H
#define VLAB_DBT_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "dbt_vm.h"

/* Far above the grader's per-test limit: only stops a hung direct run of the binary (longer
 * in make test-sanitize's instrumented build). */
#if defined(__SANITIZE_ADDRESS__) || !defined(__x86_64__)
/* (make test-arm64 runs the arm64 build under qemu-user: every host instruction emulated) */
#define DBT_TIMEOUT 300.0
#else
#define DBT_TIMEOUT 60.0
#endif

#define SEC_TRANSLATE   "(handout §2 Translating a block)"
#define SEC_SENSITIVE   "(handout §3 Sensitive instructions)"
#define SEC_IRQ         "(handout §3.3 Virtual interrupts)"
#define SEC_FLAGS       "(handout §3.2 Inline sequences on the virtual EFLAGS)"
#define SEC_EXITS       "(handout §4 Exits and control transfers)"
#define SEC_TRANSP      "(handout §5 Transparency)"
#define SEC_CACHE       "(handout §6 The translation cache)"
#define SEC_CHAIN       "(handout §7 Chaining)"
#define SEC_SMC         "(handout §8 Self-modifying code)"
#define SEC_SMC_PRECISE "(handout §8.2 Precise self-modifying code)"

struct dbt_pair {
    struct dbt_vm *oracle, *dbt;
};

static inline struct dbt_vm *dbt_t_open(const struct dbt_vm_config *cfg) {
    char err[256];
    struct dbt_vm *vm = dbt_vm_open(cfg, err, sizeof err);
    cr_assert_not_null(vm, "expected the machine for guest %s, got: %s",
                       cfg->guest ? cfg->guest : "(generated)", err);
    return vm;
}

/* Runs only the oracle (a harness or guest problem if it fails). */
static inline struct dbt_vm *dbt_t_oracle(const struct dbt_vm_config *cfg) {
    struct dbt_vm *o = dbt_t_open(cfg);
    int rc = dbt_vm_run_oracle(o);
    cr_assert_eq(rc, VLAB_OK, "the oracle failed on guest %s (not your code): %s",
                 cfg->guest ? cfg->guest : "(generated)", o->err);
    return o;
}

/* Runs the translated guest; fails the test with the harness's message on any error. */
static inline struct dbt_vm *dbt_t_translated(const struct dbt_vm_config *cfg, const char *sec) {
    struct dbt_vm *d = dbt_t_open(cfg);
    int rc = dbt_vm_run_translated(d);
    cr_assert_eq(rc, VLAB_OK,
                 "expected guest %s to run to its hlt through your translator, got "
                 "%d (%s): %s %s",
                 cfg->guest ? cfg->guest : "(generated)", rc, vlab_strerror(rc), d->err, sec);
    return d;
}

/* Both runs, and the translated one must be indistinguishable from the oracle's. */
static inline void dbt_t_pair(struct dbt_pair *p, const struct dbt_vm_config *cfg,
                              const char *sec) {
    p->oracle = dbt_t_oracle(cfg);
    p->dbt = dbt_t_translated(cfg, sec);
    char buf[2048];
    const char *diff = dbt_vm_compare(p->oracle, p->dbt, buf, sizeof buf);
    cr_assert_null(diff,
                   "expected the translated run of guest %s to look exactly like the "
                   "oracle's to the guest, but %s %s",
                   cfg->guest ? cfg->guest : "(generated)", diff, sec);
}

static inline void dbt_t_close(struct dbt_pair *p) {
    dbt_vm_close(p->oracle);
    dbt_vm_close(p->dbt);
}

static inline uint32_t dbt_t_word(const struct dbt_vm *vm, uint32_t addr) {
    uint32_t v;
    memcpy(&v, vm->ram + addr, 4);
    return v;
}

/* The guests every check runs over. */
#define DBT_T_GUESTS                                                                               \
    "compute", "timer", "pushf", "uart", "sysregs", "recursion", "indirect", "smc", "syscall",     \
        "codedata", "flags"
#define DBT_T_UART_INPUT "translate me, please"

#endif
