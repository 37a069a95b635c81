# Lab vmm: the VMM links Unicorn through libvlab; vlab-vmm is the command-line VMM. In the
# QEMU test VM (make test-vm) its kvm_* tests are graded on real KVM.
vmm_TOOLS := vlab-vmm
# The reference entry states in libvlab (vlab_mode_*) are what the tests compare against, not
# a shortcut for the lab: harness/vmm/policy refuses student code that calls them.
VM_GRADE += vmm:kvm_*
