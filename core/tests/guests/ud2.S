# vlab-guest: 64
# An invalid opcode with no IDT: #UD escalates to a triple fault.
.code64
start:
    mov $0x1234, %eax
    ud2
    hlt
