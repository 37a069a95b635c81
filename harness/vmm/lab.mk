# Lab vmm: the VMM links Unicorn through libvlab; vlab-vmm is the command-line VMM. In the
# QEMU test VM (make test-vm) its kvm_* tests are graded on real KVM.
vmm_TOOLS := vlab-vmm
# The reference entry states in libvlab (vlab_mode_*) are what the tests compare against, not
# a shortcut for the lab: calls to them from the student's code land in harness/vmm/guard.c.
vmm_LDLIBS := -Wl,--wrap=vlab_mode_real,--wrap=vlab_mode_protected,--wrap=vlab_mode_long
VM_GRADE += vmm:kvm_*
