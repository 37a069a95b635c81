/* A minimal coroutine: a second stack the unicorn backend runs uc_emu_start on, so a hook can
 * hand a VM exit to the VMM and be resumed later with the VMM's answer. */
#ifndef VLAB_HV_CORO_H
#define VLAB_HV_CORO_H

#include <stddef.h>

struct vlab_coro {
    void *stack;       /* mmapped, with a guard page below */
    size_t stack_size; /* usable bytes */
    void *self_sp;     /* saved stack pointer of the coroutine while suspended */
    void *caller_sp;   /* saved stack pointer of whoever resumed it */
    void (*fn)(void *);
    void *arg;
};

/* Prepares a coroutine that will run fn(arg) on its own stack at the first resume. fn must
 * never return (it yields forever instead). */
int vlab_coro_init(struct vlab_coro *c, size_t stack_size, void (*fn)(void *), void *arg);
void vlab_coro_free(struct vlab_coro *c);
/* Caller side: runs the coroutine until it yields. */
void vlab_coro_resume(struct vlab_coro *c);
/* Coroutine side: returns to the caller of vlab_coro_resume. */
void vlab_coro_yield(struct vlab_coro *c);

#endif
