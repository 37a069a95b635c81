# vlab-guest: 64
# vlab-base: 0x10000
# The kvm-hello-world check: compute, leave the result in RAX and at guest-physical 0x400,
# halt. The sum of i*i for i = 1..1000 is 333833500. One VM exit in all: the hlt.
.code64
    xor %eax, %eax
    mov $1, %ecx
1:  mov %rcx, %rdx
    imul %rdx, %rdx
    add %rdx, %rax
    inc %rcx
    cmp $1000, %rcx
    jbe 1b
    mov %rax, 0x400
    hlt
