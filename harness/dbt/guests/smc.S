# vlab-guest: 32
# vlab-base: 0x1000
# Self-modifying code: a function whose immediate the guest patches between calls, and a
# JIT that writes small functions into a buffer and calls them, rewriting the same bytes.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set SUM, 0x8000
.set JSUM, 0x8004
.set JIT, 0x20000
main:
    mov $20, %ecx
1:  call patched
    add %eax, SUM
    incl patched + 1        # the imm32 of "mov $imm, %eax"
    loop 1b
    mov SUM, %eax
    call puthex
    mov $1, %ebx
2:  movb $0xb8, JIT         # mov $ebx*7, %eax
    imul $7, %ebx, %eax
    mov %eax, JIT + 1
    movb $0xc3, JIT + 5     # ret
    mov $JIT, %eax
    call *%eax
    add %eax, JSUM
    movb $0x05, JIT         # add $imm, %eax; ret: a different instruction at the same place
    mov %ebx, JIT + 1
    mov $JIT, %edx
    call *%edx
    add %eax, JSUM
    inc %ebx
    cmp $30, %ebx
    jb 2b
    mov JSUM, %eax
    call puthex
    hlt
    .balign 4096            # its own page: the caller's CCFs (and chains) survive the writes
patched:
    mov $100, %eax
    ret
