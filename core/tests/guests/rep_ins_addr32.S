# vlab-guest: 64
# `rep insb` with an address-size prefix in long mode: the count is ECX, not RCX. First RCX =
# 2^32 + 16 (16 elements), then ECX = 2^31 + 16: more than KVM's 1 KiB read-ahead buffer holds,
# so the first exit asks for 1024.
.code64
start:
    mov $0x30, %dx
    movabs $0x100000010, %rcx
    mov $0x3000, %edi
    cld
    addr32 rep insb
    mov $0x80000010, %ecx
    mov $0x4000, %edi
    addr32 rep insb
    hlt
