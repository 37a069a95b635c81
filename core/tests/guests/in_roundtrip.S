# vlab-guest: 64
# IN data must reach the guest before it goes on: each value read is used by the very next
# instruction and sent back.
.code64
start:
    mov $0x20, %dx
    inb %dx, %al
    add $1, %al
    outb %al, $0x21
    inl $0x22, %eax
    xor $0x5a5a5a5a, %eax
    outl %eax, $0x23
    mov $0x24, %dx
    inw %dx, %ax
    not %ax
    outw %ax, %dx
    hlt
