# vlab-guest: 64
# Long mode: leaves values that need all 64 bits in RAX and R9 (R15 is the VMM's, untouched),
# so the test sees the full registers of the live CPU, not their low halves.
.code64
start:
    movabs $0x1122334455667788, %rax
    lea 1(%rax), %r9
    hlt
