# vlab-guest: 64
# The kvm-hello-world check: sum of i*i for i = 1..1000 (333833500) in RAX and at gpa 0x3000.
.code64
start:
    xor %eax, %eax
    mov $1, %ecx
1:  mov %rcx, %rdx
    imul %rdx, %rdx
    add %rdx, %rax
    inc %ecx
    cmp $1000, %ecx
    jbe 1b
    mov %rax, 0x3000
    hlt
