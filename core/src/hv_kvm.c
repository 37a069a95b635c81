/* The kvm backend: /dev/kvm ioctls (Documentation/virt/kvm/api.rst). The guest runs in VMX
 * non-root / SVM guest mode; KVM_RUN returns at each VM exit that the kernel hands to user
 * space, with the details in the mmapped struct kvm_run. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hv_impl.h"
#include "vlab/err.h"

#if !defined(__x86_64__)
#include <sys/utsname.h>

/* KVM's registers, segments and exits used below are x86's: on another host (arm64: Apple
 * Silicon in a container, Graviton) this backend only says so, and `auto` picks unicorn. */
static int k_open(struct vlab_hv *hv) {
    struct utsname u;
    if (uname(&u)) strcpy(u.machine, "unknown");
    return vlab_hv_fail(hv, VLAB_EUNSUPP,
                        "the kvm backend needs an x86-64 host (this one is %s): use the unicorn "
                        "backend",
                        u.machine);
}

const struct vlab_hv_ops vlab_hv_kvm_ops = {.name = "kvm", .open = k_open};
#else

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

/* Where KVM on Intel without unrestricted guest keeps its real-mode TSS (3 pages): a hole
 * just below the BIOS area that no lab guest maps. */
#define KVM_TSS_ADDR    0xfffbd000ul

struct kvm_vm {
    int sys_fd; /* /dev/kvm */
    int vm_fd;
    int run_size;
    bool readonly_mem;
    /* KVM_GET_SUPPORTED_CPUID, fetched by a thread started with the VM: on a nested host each
     * of its CPUID instructions traps to the outer hypervisor, and the VMM's start-up (memory,
     * vCPU, image, entry state) goes on meanwhile. Joined before the first SET_SREGS or RUN. */
    pthread_t cpuid_thread;
    bool cpuid_started;
    struct kvm_cpuid2 *cpuid;
    int cpuid_errno;
};

struct kvm_cpu {
    int fd;
    bool cpuid_set;
    struct kvm_run *run;
    struct vlab_exit *answer; /* the exit the VMM fills (MMIO read data) before the next run */
    bool mmio_read_pending;
    /* watchdog: a per-thread POSIX timer whose signal sets immediate_exit */
    bool timer_ok;
    timer_t timer;
};

/* The watchdog is lazy: arming and disarming a timer around every KVM_RUN costs two system
 * calls per VM exit (measured: 0.88x the exits/s of a bare KVM_RUN loop for those alone). The
 * timer is armed only when no armed deadline covers half a watchdog period ahead, and never
 * disarmed; when it fires, the handler decides: a run that has lasted the whole period is cut
 * (immediate_exit, and the signal interrupts KVM_RUN), a younger one gets the timer re-armed
 * for the rest of its period, and outside a run nothing happens (the next run re-arms). */
static __thread struct kvm_run *tls_run;         /* the run in progress, or NULL */
static __thread struct kvm_cpu *tls_cpu;         /* whose timer the handler re-arms */
static __thread uint64_t tls_run_start;          /* CLOCK_MONOTONIC ns when that run began */
static __thread uint64_t tls_period;             /* the watchdog, ns */
static __thread volatile sig_atomic_t tls_armed; /* a deadline is pending */
static __thread uint64_t tls_armed_at;           /* when it was set */
static __thread volatile sig_atomic_t tls_fired;
#define WATCHDOG_SIGNAL (SIGRTMIN + 5)

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void set_timer(timer_t t, uint64_t ns) {
    struct itimerspec it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)(ns / 1000000000u);
    it.it_value.tv_nsec = (long)(ns % 1000000000u);
    timer_settime(t, 0, &it, NULL); /* async-signal-safe */
}

static void on_watchdog(int sig) {
    (void)sig;
    int saved = errno;
    tls_armed = 0;
    if (tls_run && tls_cpu) {
        uint64_t ran = now_ns() - tls_run_start;
        if (ran >= tls_period) {
            tls_fired = 1;
            /* KVM_RUN returns -EINTR even if the signal lands just before the guest entry */
            tls_run->immediate_exit = 1;
        } else {
            tls_armed = 1;
            tls_armed_at = tls_run_start;
            set_timer(tls_cpu->timer, tls_period - ran);
        }
    }
    errno = saved;
}

static int kfail(struct vlab_hv *hv, int rc, const char *what) {
    return vlab_hv_fail(hv, rc, "%s: %s", what, strerror(errno));
}

/* The host CPU's features as KVM can virtualize them (the thread's work, or the caller's when
 * no thread could start); without KVM_SET_CPUID2 the guest sees an almost empty CPUID (no long
 * mode bit, for one). */
static void *fetch_cpuid(void *arg) {
    struct kvm_vm *k = arg;
    for (unsigned n = 256; n <= 4096; n *= 2) { /* 256: one call on the CPUs seen so far */
        struct kvm_cpuid2 *cp = calloc(1, sizeof *cp + n * sizeof(struct kvm_cpuid_entry2));
        if (!cp) {
            k->cpuid_errno = ENOMEM;
            return NULL;
        }
        cp->nent = n;
        if (ioctl(k->sys_fd, KVM_GET_SUPPORTED_CPUID, cp) == 0) {
            k->cpuid = cp;
            return NULL;
        }
        k->cpuid_errno = errno;
        free(cp);
        if (errno != E2BIG) return NULL;
    }
    return NULL;
}

static void join_cpuid(struct kvm_vm *k) {
    if (k->cpuid_started) pthread_join(k->cpuid_thread, NULL);
    k->cpuid_started = false;
}

/* What QEMU adds to KVM_GET_SUPPORTED_CPUID for a guest with an in-kernel local APIC: the
 * hypervisor bit (CPUID.1:ECX[31]), without which Linux never looks at KVM's leaves at
 * 0x40000000 and so neither uses kvm-clock nor learns the TSC's frequency from it (it then
 * calibrates the TSC against the PIT, which fails when every port read is a slow VM exit, and
 * runs without a TSC), and the TSC-deadline timer KVM's local APIC emulates but does not list
 * (KVM_CAP_TSC_DEADLINE_TIMER). Only with an irqchip: the lab's guests see the plain list. */
static void linux_cpuid(struct kvm_vm *k) {
    bool deadline = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
    for (unsigned i = 0; i < k->cpuid->nent; i++) {
        struct kvm_cpuid_entry2 *e = &k->cpuid->entries[i];
        if (e->function != 1) continue;
        e->ecx |= 1u << 31;
        if (deadline) e->ecx |= 1u << 24;
    }
}

/* Before the vCPU's first SET_SREGS (CR4 bits KVM checks against the guest's CPUID) or RUN. */
static int set_cpuid(struct vlab_vcpu *c) {
    struct kvm_vm *k = c->hv->priv;
    struct kvm_cpu *p = c->priv;
    if (p->cpuid_set) return VLAB_OK;
    join_cpuid(k);
    if (!k->cpuid) fetch_cpuid(k);
    if (!k->cpuid) {
        errno = k->cpuid_errno;
        return kfail(c->hv, VLAB_EIO, "KVM_GET_SUPPORTED_CPUID");
    }
    if (c->hv->irqchip) linux_cpuid(k);
    if (ioctl(p->fd, KVM_SET_CPUID2, k->cpuid) < 0) return kfail(c->hv, VLAB_EIO, "KVM_SET_CPUID2");
    p->cpuid_set = true;
    return VLAB_OK;
}

static int k_open(struct vlab_hv *hv) {
    struct kvm_vm *k = calloc(1, sizeof *k);
    if (!k) return vlab_hv_fail(hv, VLAB_ENOMEM, "out of memory");
    k->vm_fd = -1;
    k->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (k->sys_fd < 0) {
        int rc = kfail(hv, VLAB_EIO, "open /dev/kvm");
        free(k);
        return rc;
    }
    int api = ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);
    if (api != KVM_API_VERSION) {
        close(k->sys_fd);
        free(k);
        return vlab_hv_fail(hv, VLAB_EUNSUPP, "KVM API version %d, expected %d", api,
                            KVM_API_VERSION);
    }
    k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
    k->run_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (k->vm_fd < 0 || k->run_size < (int)sizeof(struct kvm_run)) {
        int rc = kfail(hv, VLAB_EIO, k->vm_fd < 0 ? "KVM_CREATE_VM" : "KVM_GET_VCPU_MMAP_SIZE");
        if (k->vm_fd >= 0) close(k->vm_fd);
        close(k->sys_fd);
        free(k);
        return rc;
    }
    k->readonly_mem = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
    /* Needed by Intel hosts without unrestricted guest to run real mode; harmless elsewhere. */
    ioctl(k->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
    k->cpuid_started = pthread_create(&k->cpuid_thread, NULL, fetch_cpuid, k) == 0;
    hv->priv = k;
    return VLAB_OK;
}

static void k_close(struct vlab_hv *hv) {
    struct kvm_vm *k = hv->priv;
    if (!k) return;
    join_cpuid(k);
    free(k->cpuid);
    close(k->vm_fd);
    close(k->sys_fd);
    free(k);
    hv->priv = NULL;
}

static int k_map(struct vlab_hv *hv, unsigned slot) {
    struct kvm_vm *k = hv->priv;
    const struct vlab_hv_slot *s = &hv->slot[slot];
    struct kvm_userspace_memory_region r = {.slot = slot};
    if (s->used) {
        if ((s->flags & VLAB_HV_MAP_READONLY) && !k->readonly_mem)
            return vlab_hv_fail(hv, VLAB_EUNSUPP, "this KVM has no KVM_CAP_READONLY_MEM");
        r.flags = (s->flags & VLAB_HV_MAP_READONLY) ? KVM_MEM_READONLY : 0;
        r.guest_phys_addr = s->gpa;
        r.memory_size = s->size;
        r.userspace_addr = (uint64_t)(uintptr_t)s->hva;
    } /* else memory_size 0 deletes the slot */
    if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return kfail(hv, VLAB_EIO, "KVM_SET_USER_MEMORY_REGION");
    return VLAB_OK;
}

static int k_create_irqchip(struct vlab_hv *hv) {
    struct kvm_vm *k = hv->priv;
    if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
        return kfail(hv, VLAB_EIO, "KVM_CREATE_IRQCHIP");
    /* Without KVM_PIT_SPEAKER_DUMMY the PIT also claims port 0x61 (channel 2's gate and
     * output), which Linux reads to calibrate the TSC against the PIT. */
    struct kvm_pit_config pit = {.flags = 0};
    if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0) return kfail(hv, VLAB_EIO, "KVM_CREATE_PIT2");
    return VLAB_OK;
}

static int k_irq_line(struct vlab_hv *hv, unsigned irq, int level) {
    struct kvm_vm *k = hv->priv;
    struct kvm_irq_level l = {.irq = irq, .level = (uint32_t)level};
    if (ioctl(k->vm_fd, KVM_IRQ_LINE, &l) < 0) return kfail(hv, VLAB_EIO, "KVM_IRQ_LINE");
    return VLAB_OK;
}

static int k_code_changed(struct vlab_hv *hv, uint64_t gpa, uint64_t len) {
    (void)hv, (void)gpa, (void)len; /* the CPU snoops its own stores; nothing to flush */
    return VLAB_OK;
}

static int k_vcpu_create(struct vlab_vcpu *c) {
    struct kvm_vm *k = c->hv->priv;
    struct kvm_cpu *p = calloc(1, sizeof *p);
    if (!p) return vlab_hv_fail(c->hv, VLAB_ENOMEM, "out of memory");
    p->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)c->id);
    if (p->fd < 0) {
        int rc = kfail(c->hv, VLAB_EIO, "KVM_CREATE_VCPU");
        free(p);
        return rc;
    }
    p->run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
    if (p->run == MAP_FAILED) {
        int rc = kfail(c->hv, VLAB_EIO, "mmap kvm_run");
        close(p->fd);
        free(p);
        return rc;
    }
    c->priv = p;
    return VLAB_OK;
}

static void k_vcpu_destroy(struct vlab_vcpu *c) {
    struct kvm_vm *k = c->hv->priv;
    struct kvm_cpu *p = c->priv;
    if (!p) return;
    if (p->timer_ok) {
        timer_delete(p->timer);
        if (tls_cpu == p) tls_cpu = NULL, tls_armed = 0;
    }
    munmap(p->run, (size_t)k->run_size);
    close(p->fd);
    free(p);
    c->priv = NULL;
}

static int k_get_regs(struct vlab_vcpu *c, struct vlab_regs *r) {
    struct kvm_cpu *p = c->priv;
    struct kvm_regs k;
    if (ioctl(p->fd, KVM_GET_REGS, &k) < 0) return kfail(c->hv, VLAB_EIO, "KVM_GET_REGS");
    *r = (struct vlab_regs){k.rax, k.rbx, k.rcx, k.rdx, k.rsi, k.rdi, k.rsp, k.rbp, k.r8,
                            k.r9,  k.r10, k.r11, k.r12, k.r13, k.r14, k.r15, k.rip, k.rflags};
    return VLAB_OK;
}

static int k_set_regs(struct vlab_vcpu *c, const struct vlab_regs *r) {
    struct kvm_cpu *p = c->priv;
    struct kvm_regs k = {
        .rax = r->rax,
        .rbx = r->rbx,
        .rcx = r->rcx,
        .rdx = r->rdx,
        .rsi = r->rsi,
        .rdi = r->rdi,
        .rsp = r->rsp,
        .rbp = r->rbp,
        .r8 = r->r8,
        .r9 = r->r9,
        .r10 = r->r10,
        .r11 = r->r11,
        .r12 = r->r12,
        .r13 = r->r13,
        .r14 = r->r14,
        .r15 = r->r15,
        .rip = r->rip,
        .rflags = r->rflags,
    };
    if (ioctl(p->fd, KVM_SET_REGS, &k) < 0) return kfail(c->hv, VLAB_EIO, "KVM_SET_REGS");
    return VLAB_OK;
}

static void seg_in(struct vlab_seg *v, const struct kvm_segment *k) {
    *v = (struct vlab_seg){k->base, k->limit, k->selector, k->type, k->present, k->dpl,
                           k->db,   k->s,     k->l,        k->g,    k->avl,     k->unusable};
}

static void seg_out(struct kvm_segment *k, const struct vlab_seg *v) {
    memset(k, 0, sizeof *k);
    k->base = v->base;
    k->limit = v->limit;
    k->selector = v->selector;
    k->type = v->type;
    k->present = v->present;
    k->dpl = v->dpl;
    k->db = v->db;
    k->s = v->s;
    k->l = v->l;
    k->g = v->g;
    k->avl = v->avl;
    k->unusable = v->unusable;
}

static int k_get_sregs(struct vlab_vcpu *c, struct vlab_sregs *s) {
    struct kvm_cpu *p = c->priv;
    struct kvm_sregs k;
    if (ioctl(p->fd, KVM_GET_SREGS, &k) < 0) return kfail(c->hv, VLAB_EIO, "KVM_GET_SREGS");
    seg_in(&s->cs, &k.cs);
    seg_in(&s->ds, &k.ds);
    seg_in(&s->es, &k.es);
    seg_in(&s->fs, &k.fs);
    seg_in(&s->gs, &k.gs);
    seg_in(&s->ss, &k.ss);
    seg_in(&s->tr, &k.tr);
    seg_in(&s->ldt, &k.ldt);
    s->gdt = (struct vlab_dtable){k.gdt.base, k.gdt.limit};
    s->idt = (struct vlab_dtable){k.idt.base, k.idt.limit};
    s->cr0 = k.cr0, s->cr2 = k.cr2, s->cr3 = k.cr3, s->cr4 = k.cr4, s->cr8 = k.cr8;
    s->efer = k.efer;
    s->apic_base = k.apic_base;
    return VLAB_OK;
}

static int k_set_sregs(struct vlab_vcpu *c, const struct vlab_sregs *s) {
    struct kvm_cpu *p = c->priv;
    struct kvm_sregs k;
    int rc = set_cpuid(c);
    if (rc != VLAB_OK) return rc;
    /* Read first: interrupt_bitmap (pending external interrupts) must survive. */
    if (ioctl(p->fd, KVM_GET_SREGS, &k) < 0) return kfail(c->hv, VLAB_EIO, "KVM_GET_SREGS");
    seg_out(&k.cs, &s->cs);
    seg_out(&k.ds, &s->ds);
    seg_out(&k.es, &s->es);
    seg_out(&k.fs, &s->fs);
    seg_out(&k.gs, &s->gs);
    seg_out(&k.ss, &s->ss);
    seg_out(&k.tr, &s->tr);
    seg_out(&k.ldt, &s->ldt);
    k.gdt.base = s->gdt.base, k.gdt.limit = s->gdt.limit;
    k.idt.base = s->idt.base, k.idt.limit = s->idt.limit;
    k.cr0 = s->cr0, k.cr2 = s->cr2, k.cr3 = s->cr3, k.cr4 = s->cr4, k.cr8 = s->cr8;
    k.efer = s->efer;
    k.apic_base = s->apic_base;
    if (ioctl(p->fd, KVM_SET_SREGS, &k) < 0) return kfail(c->hv, VLAB_EINVAL, "KVM_SET_SREGS");
    return VLAB_OK;
}

static int k_set_watchdog(struct vlab_vcpu *c, uint64_t usec) {
    struct kvm_cpu *p = c->priv;
    if (!usec || p->timer_ok) return VLAB_OK;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    /* KVM_RUN returns -EINTR whatever SA_RESTART says; the VMM's own system calls, which the
     * lazy timer may now interrupt between runs, are restarted */
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(WATCHDOG_SIGNAL, &sa, NULL) < 0) return kfail(c->hv, VLAB_EIO, "sigaction");
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = WATCHDOG_SIGNAL;
    /* The signal must hit the thread inside KVM_RUN: the one that runs this vCPU. */
    ev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
    if (timer_create(CLOCK_MONOTONIC, &ev, &p->timer) < 0)
        return kfail(c->hv, VLAB_EIO, "timer_create");
    p->timer_ok = true;
    return VLAB_OK;
}

/* Before a run: the pending deadline will do unless it falls within half a period of now. */
static void arm_lazily(struct kvm_cpu *p, uint64_t start, uint64_t period) {
    if (tls_armed && tls_cpu == p && tls_period == period && start - tls_armed_at < period / 2)
        return;
    tls_cpu = p;
    tls_period = period;
    tls_armed_at = start;
    tls_armed = 1;
    set_timer(p->timer, period);
}

static void internal_desc(struct vlab_exit *e, const struct kvm_run *run) {
    int n = snprintf(e->desc, sizeof e->desc, "KVM internal error, suberror %u%s",
                     run->internal.suberror,
                     run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
                         ? " (instruction emulation failed: e.g. a fetch from MMIO)"
                     : run->internal.suberror == KVM_INTERNAL_ERROR_SIMUL_EX
                         ? " (exception while delivering an exception)"
                         : "");
    /* KVM's extra words (exit reason, vectoring info, ...) help whoever debugs it. */
    for (unsigned i = 0; i < run->internal.ndata && i < 4 && n > 0 && (size_t)n < sizeof e->desc;
         i++)
        n += snprintf(e->desc + n, sizeof e->desc - (size_t)n, "%s%#llx", i ? " " : "; data ",
                      (unsigned long long)run->internal.data[i]);
}

static int k_run(struct vlab_vcpu *c, struct vlab_exit *e) {
    struct kvm_cpu *p = c->priv;
    struct kvm_run *run = p->run;
    int rc = set_cpuid(c);
    if (rc != VLAB_OK) return rc;
    /* MMIO read data goes where KVM looks for it when it completes the instruction. */
    if (p->mmio_read_pending && p->answer) memcpy(run->mmio.data, p->answer->mmio.data, 8);
    p->mmio_read_pending = false;
    memset(e, 0, sizeof *e);
    bool timed = p->timer_ok && c->watchdog_usec > 0;
    tls_fired = 0;
    if (timed) {
        /* in this order: a signal in between sees the run and re-arms for it */
        tls_run_start = now_ns();
        tls_run = run;
        arm_lazily(p, tls_run_start, c->watchdog_usec * 1000);
    }
    int r;
    for (;;) {
        r = ioctl(p->fd, KVM_RUN, 0);
        if (r == 0 || tls_fired) break;
        if (errno != EINTR && errno != EAGAIN) break;
        if (run->exit_reason != KVM_EXIT_INTR && errno != EAGAIN) break;
    }
    int err = errno;
    tls_run = NULL;
    run->immediate_exit = 0;
    p->answer = e;
    if (tls_fired && (r < 0 || run->exit_reason == KVM_EXIT_INTR)) {
        e->reason = VLAB_EXIT_TIMEOUT;
        snprintf(e->desc, sizeof e->desc, "watchdog: no exit within %llu us",
                 (unsigned long long)c->watchdog_usec);
        return VLAB_OK;
    }
    if (r < 0) {
        errno = err;
        return kfail(c->hv, VLAB_EIO, "KVM_RUN");
    }
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        e->reason = VLAB_EXIT_IO;
        e->io.direction = run->io.direction == KVM_EXIT_IO_OUT ? VLAB_IO_OUT : VLAB_IO_IN;
        e->io.size = run->io.size;
        e->io.port = run->io.port;
        e->io.count = run->io.count;
        e->io.data = (uint8_t *)run + run->io.data_offset;
        break;
    case KVM_EXIT_MMIO:
        e->reason = VLAB_EXIT_MMIO;
        e->mmio.gpa = run->mmio.phys_addr;
        e->mmio.len = run->mmio.len;
        e->mmio.is_write = run->mmio.is_write;
        memcpy(e->mmio.data, run->mmio.data, sizeof e->mmio.data);
        p->mmio_read_pending = !run->mmio.is_write;
        break;
    case KVM_EXIT_HLT: e->reason = VLAB_EXIT_HLT; break;
    case KVM_EXIT_SHUTDOWN:
        e->reason = VLAB_EXIT_SHUTDOWN;
        e->shutdown.vector = -1;
        snprintf(e->desc, sizeof e->desc, "triple fault (KVM_EXIT_SHUTDOWN)");
        break;
    case KVM_EXIT_FAIL_ENTRY:
        e->reason = VLAB_EXIT_FAIL_ENTRY;
        e->fail_entry.hardware_entry_failure_reason = run->fail_entry.hardware_entry_failure_reason;
        snprintf(e->desc, sizeof e->desc, "VM entry failed, hardware reason %#llx",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        e->reason = VLAB_EXIT_INTERNAL_ERROR;
        e->internal.suberror = run->internal.suberror;
        internal_desc(e, run);
        break;
    default:
        e->reason = VLAB_EXIT_INTERNAL_ERROR;
        e->internal.suberror = VLAB_INTERNAL_BACKEND;
        snprintf(e->desc, sizeof e->desc, "unexpected KVM exit reason %u", run->exit_reason);
        break;
    }
    return VLAB_OK;
}

const struct vlab_hv_ops vlab_hv_kvm_ops = {
    .name = "kvm",
    .open = k_open,
    .close = k_close,
    .map = k_map,
    .code_changed = k_code_changed,
    .vcpu_create = k_vcpu_create,
    .vcpu_destroy = k_vcpu_destroy,
    .get_regs = k_get_regs,
    .set_regs = k_set_regs,
    .get_sregs = k_get_sregs,
    .set_sregs = k_set_sregs,
    .run = k_run,
    .set_watchdog = k_set_watchdog,
    .create_irqchip = k_create_irqchip,
    .irq_line = k_irq_line,
};
#endif /* __x86_64__ */
