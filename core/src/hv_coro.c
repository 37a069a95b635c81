/* Stack switching without swapcontext: glibc's swapcontext saves and restores the signal mask
 * with a system call on every switch, which was most of the cost of a VM exit (347k exits/s
 * measured); this switch saves only the callee-saved registers and the FP control words. */
#include "hv_coro.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "vlab/err.h"

#define GUARD 4096

#if defined(__x86_64__)
/* vlab_coro_switch(void **save_sp, void *load_sp): pushes the callee-saved state, stores rsp
 * in *save_sp, loads load_sp and pops the state saved there. */
void vlab_coro_switch(void **save_sp, void *load_sp);
void vlab_coro_trampoline(void);
__asm__(".text\n"
        ".globl vlab_coro_switch\n"
        ".type vlab_coro_switch,@function\n"
        "vlab_coro_switch:\n"
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  subq $8, %rsp\n"
        "  stmxcsr (%rsp)\n"
        "  fnstcw 4(%rsp)\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  ldmxcsr (%rsp)\n"
        "  fldcw 4(%rsp)\n"
        "  addq $8, %rsp\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size vlab_coro_switch, .-vlab_coro_switch\n"
        /* First entry: r12 = arg, r13 = fn (popped above); fn never returns. */
        ".globl vlab_coro_trampoline\n"
        ".type vlab_coro_trampoline,@function\n"
        "vlab_coro_trampoline:\n"
        "  movq %r12, %rdi\n"
        "  callq *%r13\n"
        "  ud2\n"
        ".size vlab_coro_trampoline, .-vlab_coro_trampoline\n");
#else
#error "vlab_coro: only x86-64 hosts are supported"
#endif

int vlab_coro_init(struct vlab_coro *c, size_t stack_size, void (*fn)(void *), void *arg) {
    if (!c || !fn || stack_size < 65536) return VLAB_EINVAL;
    memset(c, 0, sizeof *c);
    stack_size = (stack_size + 4095) & ~(size_t)4095;
    uint8_t *p = mmap(NULL, stack_size + GUARD, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return VLAB_ENOMEM;
    /* An overflow faults on the guard page instead of corrupting the heap. */
    mprotect(p, GUARD, PROT_NONE);
    c->stack = p;
    c->stack_size = stack_size;
    c->fn = fn;
    c->arg = arg;
    /* The frame vlab_coro_switch pops: FP words, r15..r12, rbx, rbp, then the return address.
     * After `ret` rsp must be 16-byte aligned minus nothing: the trampoline's `call` pushes
     * the return address, so rsp is 16-aligned right before it. */
    uint64_t *top = (uint64_t *)(p + GUARD + stack_size);
    uint64_t *sp = top - 2; /* keep a 16-byte pad; sp + 8 words must be 16-aligned */
    *--sp = (uint64_t)(uintptr_t)vlab_coro_trampoline;
    *--sp = 0;                             /* rbp */
    *--sp = 0;                             /* rbx */
    *--sp = (uint64_t)(uintptr_t)arg;      /* r12 */
    *--sp = (uint64_t)(uintptr_t)fn;       /* r13 */
    *--sp = 0;                             /* r14 */
    *--sp = 0;                             /* r15 */
    *--sp = 0x1f80ull | (0x037full << 32); /* default MXCSR, x87 control word */
    c->self_sp = sp;
    return VLAB_OK;
}

void vlab_coro_free(struct vlab_coro *c) {
    if (c && c->stack) munmap(c->stack, c->stack_size + GUARD);
    if (c) c->stack = NULL;
}

void vlab_coro_resume(struct vlab_coro *c) {
    vlab_coro_switch(&c->caller_sp, c->self_sp);
}

void vlab_coro_yield(struct vlab_coro *c) {
    vlab_coro_switch(&c->self_sp, c->caller_sp);
}
