# Lab sandbox: the runtime uses libseccomp; vlab-sandbox is the command-line container tool.
sandbox_PKGS  := libseccomp
sandbox_TOOLS := vlab-sandbox
# The benchmark compares launch latency with bubblewrap's.
LAB_DEBS += bubblewrap

# The prober runs inside the containers the tests make: a static executable (the image has no
# libc), next to the binaries in guests/, where the tests and tools look for it.
SB_PROBER := $(SOLOUT)/sandbox/guests/sb-prober
$(SB_PROBER): harness/sandbox/prober/sb-prober.c
	@mkdir -p $(@D)
	$(if $(filter 1,$(V)),,@echo "  CC      $@ (static)")
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -static -o $@ $<
$(SOLOUT)/sandbox/test-sandbox $(SOLOUT)/sandbox/bench-sandbox $(SOLOUT)/sandbox/vlab-sandbox: | $(SB_PROBER)
# The CLI test runs the tool next to the test binary.
$(SOLOUT)/sandbox/test-sandbox: | $(SOLOUT)/sandbox/vlab-sandbox
# In the QEMU test VM (make test-vm) the lab is graded on cgroup v2 with its controllers.
VM_GRADE += sandbox
