# vlab-guest: 32
# vlab-base: 0x1000
# Compute: a sieve of Eratosthenes and a long arithmetic loop. No sensitive instruction but the
# UART output at the end: the translator's plain copying, branch fix-ups and chaining.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set SIEVE, 0x10000
.set N, 8192
main:
    mov $SIEVE, %edi
    mov $N, %ecx
    xor %eax, %eax
    rep stosb
    mov $2, %ebx
outer:
    cmp $N, %ebx
    jae counted
    cmpb $0, SIEVE(%ebx)
    jne next
    mov %ebx, %edx
    imul %ebx, %edx
inner:
    cmp $N, %edx
    jae next
    movb $1, SIEVE(%edx)
    add %ebx, %edx
    jmp inner
next:
    inc %ebx
    jmp outer
counted:
    xor %eax, %eax
    mov $2, %ebx
1:  cmpb $0, SIEVE(%ebx)
    jne 2f
    inc %eax
2:  inc %ebx
    cmp $N, %ebx
    jb 1b
    mov %eax, 0x8000
    call puthex
    # a long loop of arithmetic with flags carried between instructions
    mov $150000, %ecx
    mov $0x12345678, %eax
    xor %esi, %esi
    xor %edi, %edi
    xor %ebp, %ebp
3:  imul $1103515245, %eax, %eax
    add $12345, %eax
    mov %eax, %ebx
    shr $16, %ebx
    xor %ebx, %esi
    rol $3, %esi
    adc %ebx, %edi
    sbb $1, %edi
    test $1, %eax
    cmovz %esi, %ebp
    setc %dl
    movzbl %dl, %edx
    add %edx, %ebp
    dec %ecx
    jnz 3b
    mov %esi, 0x8004
    mov %edi, 0x8008
    mov %esi, %eax
    call puthex
    mov %edi, %eax
    call puthex
    mov %ebp, %eax
    call puthex
    hlt
