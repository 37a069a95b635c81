# vlab-guest: 64
# Jumps into MMIO space: there is no instruction to fetch (KVM: internal error, emulation).
.code64
start:
    mov $0x10000000, %rax
    jmp *%rax
