# vlab-guest: 32
# vlab-base: 0x1000
# Indirect control flow: a switch through a jump table, calls through registers and memory,
# a stdcall callee that pops its arguments (ret $8), loop and jecxz.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set ACC, 0x8000
.set FPTR, 0x8004
main:
    xor %esi, %esi
    mov $600, %ecx
1:  mov %ecx, %eax
    xor %edx, %edx
    mov $6, %ebx
    div %ebx                # edx = ecx % 6
    jmp *table(,%edx,4)
case0:
    add $1, %esi
    jmp joined
case1:
    add $10, %esi
    jmp joined
case2:
    xor $0x55, %esi
    jmp joined
case3:
    rol $1, %esi
    jmp joined
case4:
    lea 3(%esi,%esi,2), %esi
    jmp joined
case5:
    not %esi
joined:
    loop 1b
    mov %esi, ACC
    mov %esi, %eax
    call puthex
    # function pointers: through a register, through memory, through a table
    xor %edi, %edi
    mov $200, %ecx
2:  mov $f_add, %ebx
    call *%ebx
    movl $f_mul, FPTR
    call *FPTR
    mov %ecx, %eax
    and $1, %eax
    call *ftab(,%eax,4)
    push $7
    push %ecx
    call f_stdcall
    add %eax, %edi
    loop 2b
    mov %edi, %eax
    call puthex
    # jecxz on both paths
    xor %ecx, %ecx
    jecxz 3f
    incl 0x8008
3:  inc %ecx
    jecxz 4f
    incl 0x800c
4:  mov 0x800c, %eax
    call puthex
    hlt
f_add:
    add $3, %edi
    ret
f_mul:
    imul $5, %edi, %edi
    ret
f_sub:
    sub $1, %edi
    ret
f_stdcall:                  # (a, b) -> a + b, callee pops
    mov 4(%esp), %eax
    add 8(%esp), %eax
    ret $8
table:
    .long case0, case1, case2, case3, case4, case5
ftab:
    .long f_add, f_sub
