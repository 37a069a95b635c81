# vlab-guest: 64
# MMIO at 0x10000000 (no memory slot there): each read value is used at once and written back.
.code64
start:
    mov $0x10000000, %rbx
    movl (%rbx), %eax
    add $1, %eax
    movl %eax, 4(%rbx)
    movq 8(%rbx), %rcx
    not %rcx
    movq %rcx, 16(%rbx)
    movb 24(%rbx), %dl
    xor $0xff, %dl
    movb %dl, 25(%rbx)
    movw 26(%rbx), %si
    hlt
