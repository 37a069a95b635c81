# Lab vmm: the VMM links Unicorn through libvlab; vlab-vmm is the command-line VMM. In the
# QEMU test VM (make test-vm) its kvm_* tests are graded on real KVM.
vmm_TOOLS := vlab-vmm
# The reference entry states in libvlab (vlab_mode_*) are what the tests compare against, not
# a shortcut for the lab: harness/vmm/policy refuses student code that calls them.
VM_GRADE += vmm:kvm_*
# make bench compares vlab-vmm's start-up with kvm-hello-raw: kvm-hello-world's start-up
# sequence in raw ioctls, built alone against libc as kvm-hello-world is.
$(SOLOUT)/vmm/kvm-hello-raw: harness/vmm/bench/raw/kvm_hello_raw.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CSTD) $(WARN) -O2 $< -o $@
$(SOLOUT)/vmm/bench-vmm: | $(SOLOUT)/vmm/kvm-hello-raw
