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
#define FRAME_WORDS 8 /* FP words, r15..r12, rbx, rbp, then the return address */
#elif defined(__aarch64__)
/* The same on AArch64: x19-x30 (x30 is the return address), d8-d15 and FPCR, 176 bytes. */
void vlab_coro_switch(void **save_sp, void *load_sp);
void vlab_coro_trampoline(void);
__asm__(".text\n"
        ".globl vlab_coro_switch\n"
        ".type vlab_coro_switch,%function\n"
        "vlab_coro_switch:\n"
        "  sub sp, sp, #176\n"
        "  stp x19, x20, [sp, #0]\n"
        "  stp x21, x22, [sp, #16]\n"
        "  stp x23, x24, [sp, #32]\n"
        "  stp x25, x26, [sp, #48]\n"
        "  stp x27, x28, [sp, #64]\n"
        "  stp x29, x30, [sp, #80]\n"
        "  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n"
        "  stp d12, d13, [sp, #128]\n"
        "  stp d14, d15, [sp, #144]\n"
        "  mrs x9, fpcr\n"
        "  str x9, [sp, #160]\n"
        "  mov x9, sp\n"
        "  str x9, [x0]\n"
        "  mov sp, x1\n"
        "  ldp x19, x20, [sp, #0]\n"
        "  ldp x21, x22, [sp, #16]\n"
        "  ldp x23, x24, [sp, #32]\n"
        "  ldp x25, x26, [sp, #48]\n"
        "  ldp x27, x28, [sp, #64]\n"
        "  ldp x29, x30, [sp, #80]\n"
        "  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n"
        "  ldp d12, d13, [sp, #128]\n"
        "  ldp d14, d15, [sp, #144]\n"
        "  ldr x9, [sp, #160]\n"
        "  msr fpcr, x9\n"
        "  add sp, sp, #176\n"
        "  ret\n"
        ".size vlab_coro_switch, .-vlab_coro_switch\n"
        /* First entry: x19 = arg, x20 = fn (loaded above); fn never returns. */
        ".globl vlab_coro_trampoline\n"
        ".type vlab_coro_trampoline,%function\n"
        "vlab_coro_trampoline:\n"
        "  mov x0, x19\n"
        "  blr x20\n"
        "  brk #0\n"
        ".size vlab_coro_trampoline, .-vlab_coro_trampoline\n");
#define FRAME_WORDS 22 /* 176 bytes: keeps sp 16-byte aligned, as AArch64 requires */
#else
#error "vlab_coro: only x86-64 and AArch64 hosts are supported"
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
    /* The frame vlab_coro_switch pops, lowest address first. x86-64: FP words, r15, r14, r13,
     * r12, rbx, rbp, then the return address; after `ret` rsp is 16-byte aligned, as the
     * trampoline's `call` needs. AArch64: x19..x30, d8..d15, FPCR. */
    uint64_t *top = (uint64_t *)(p + GUARD + stack_size);
    uint64_t *sp = top - 2 - FRAME_WORDS; /* keep a 16-byte pad below the top */
    memset(sp, 0, FRAME_WORDS * sizeof *sp);
#if defined(__x86_64__)
    sp[7] = (uint64_t)(uintptr_t)vlab_coro_trampoline;
    sp[4] = (uint64_t)(uintptr_t)arg;      /* r12 */
    sp[3] = (uint64_t)(uintptr_t)fn;       /* r13 */
    sp[0] = 0x1f80ull | (0x037full << 32); /* default MXCSR, x87 control word */
#else
    /* FPCR stays 0: round to nearest, no traps (the AArch64 default) */
    sp[0] = (uint64_t)(uintptr_t)arg;                   /* x19 */
    sp[1] = (uint64_t)(uintptr_t)fn;                    /* x20 */
    sp[11] = (uint64_t)(uintptr_t)vlab_coro_trampoline; /* x30 */
#endif
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
