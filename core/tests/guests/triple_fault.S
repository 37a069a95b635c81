# vlab-guest: 64
# Divide by zero with the IDT the entry state leaves (limit 0): #DE cannot be delivered, nor
# the #GP and #DF that follow, so the CPU shuts down (KVM_EXIT_SHUTDOWN). A fault rather than
# int3: KVM on AMD re-injects software interrupts through its emulator, which reports an
# internal error instead when delivery fails.
.code64
# The marker in memory proves the instructions before the fault ran: registers are no proof
# after a shutdown, since KVM on AMD re-initializes the vCPU when it intercepts one.
start:
    mov $0x77, %eax
    mov %eax, 0x3000
    xor %ecx, %ecx
    div %ecx
    hlt
