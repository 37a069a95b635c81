/* The lab is to build the entry states, so libvlab's reference ones (vlab_mode_*) answer the
 * student's code with an error; the tests reach the real ones as __real_vlab_mode_*
 * (harness/vmm/lab.mk links with --wrap). */
#include "vlab/err.h"
#include "vlab/hv.h"
#include "vlab/log.h"

static int refuse(const char *name) {
    VLAB_ERROR("vmm",
               "%s is the reference answer, not part of the lab: build the entry state "
               "yourself (handout §3)",
               name);
    return VLAB_ENOTIMPL;
}

int __wrap_vlab_mode_real(struct vlab_vcpu *v, const struct vlab_mode_setup *s);
int __wrap_vlab_mode_protected(struct vlab_vcpu *v, struct vlab_gpmem *m,
                               const struct vlab_mode_setup *s);
int __wrap_vlab_mode_long(struct vlab_vcpu *v, struct vlab_gpmem *m,
                          const struct vlab_mode_setup *s);

int __wrap_vlab_mode_real(struct vlab_vcpu *v, const struct vlab_mode_setup *s) {
    (void)v, (void)s;
    return refuse("vlab_mode_real");
}
int __wrap_vlab_mode_protected(struct vlab_vcpu *v, struct vlab_gpmem *m,
                               const struct vlab_mode_setup *s) {
    (void)v, (void)m, (void)s;
    return refuse("vlab_mode_protected");
}
int __wrap_vlab_mode_long(struct vlab_vcpu *v, struct vlab_gpmem *m,
                          const struct vlab_mode_setup *s) {
    (void)v, (void)m, (void)s;
    return refuse("vlab_mode_long");
}
