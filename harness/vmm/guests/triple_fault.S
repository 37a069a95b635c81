# vlab-guest: 64
# vlab-base: 0x10000
# The VMM gave no IDT (limit 0): the #UD cannot be delivered, nor the #DF after it. A triple
# fault: KVM reports KVM_EXIT_SHUTDOWN. The marker at 0x700 proves the guest ran up to here.
.code64
    movq $0x7e57, 0x700
    ud2
