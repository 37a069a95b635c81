/* Private to the hypervisor backends: the operations each backend provides and the state the
 * common layer (hv.c) keeps for all of them. */
#ifndef VLAB_HV_IMPL_H
#define VLAB_HV_IMPL_H

#include <stdarg.h>
#include <stdbool.h>

#include "vlab/hv.h"

struct vlab_hv_slot {
    bool used;
    uint64_t gpa, size;
    void *hva;
    unsigned flags;
};

struct vlab_hv_ops {
    const char *name;
    int (*open)(struct vlab_hv *hv);
    void (*close)(struct vlab_hv *hv);
    int (*map)(struct vlab_hv *hv, unsigned slot); /* hv->slot[slot] already updated */
    int (*code_changed)(struct vlab_hv *hv, uint64_t gpa, uint64_t len);
    int (*vcpu_create)(struct vlab_vcpu *vcpu);
    void (*vcpu_destroy)(struct vlab_vcpu *vcpu);
    int (*get_regs)(struct vlab_vcpu *vcpu, struct vlab_regs *regs);
    int (*set_regs)(struct vlab_vcpu *vcpu, const struct vlab_regs *regs);
    int (*get_sregs)(struct vlab_vcpu *vcpu, struct vlab_sregs *sregs);
    int (*set_sregs)(struct vlab_vcpu *vcpu, const struct vlab_sregs *sregs);
    int (*run)(struct vlab_vcpu *vcpu, struct vlab_exit *exit);
    int (*set_watchdog)(struct vlab_vcpu *vcpu, uint64_t usec);
    int (*create_irqchip)(struct vlab_hv *hv); /* NULL: the backend has none */
    int (*irq_line)(struct vlab_hv *hv, unsigned irq, int level);
};

#define VLAB_HV_MAX_VCPUS 8

struct vlab_hv {
    enum vlab_hv_kind kind;
    const struct vlab_hv_ops *ops;
    struct vlab_hv_slot slot[VLAB_HV_MAX_SLOTS];
    struct vlab_vcpu *vcpu[VLAB_HV_MAX_VCPUS];
    char err[256];
    bool irqchip; /* vlab_hv_create_irqchip succeeded */
    void *priv;   /* backend state */
};

struct vlab_vcpu {
    struct vlab_hv *hv;
    unsigned id;
    uint64_t exits;
    uint64_t watchdog_usec;
    void *priv;
};

extern const struct vlab_hv_ops vlab_hv_kvm_ops;
extern const struct vlab_hv_ops vlab_hv_unicorn_ops;

/* Records a message in hv->err and returns rc (so callers write `return hv_fail(...)`). */
int vlab_hv_fail(struct vlab_hv *hv, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* KVM_SET_SREGS's consistency rules (kvm_is_valid_sregs); NULL if fine, else the reason. */
const char *vlab_sregs_invalid(const struct vlab_sregs *s);

#endif
