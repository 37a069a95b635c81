# vlab-guest: 64
# An invalid opcode with no IDT: #UD escalates to a triple fault.
.code64
# The marker at 0x3000 outlives the shutdown (KVM on AMD resets the registers).
start:
    mov $0x1234, %eax
    mov %eax, 0x3000
    ud2
    hlt
