# vlab-guest: 32
# vlab-base: 0x1000
# Many blocks translated from one patched page (handout §8.1): MANY small functions on one page,
# each a block of its own, all called through a register; then the guest patches every one's
# immediate. The first store invalidates the page: every one of its CCFs must go, whichever
# bucket of the lookup table it sits in, and each is translated again on the next round.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set MANY, 200
main:
    mov $4, %ebp            # rounds
    xor %esi, %esi
1:  xor %edi, %edi
    mov $MANY - 1, %ecx
2:  lea many(,%ecx,8), %eax
    sub %ecx, %eax          # many + 7 * ecx
    call *%eax
    dec %ecx
    jns 2b
    add %edi, %esi
    mov %edi, %eax
    call puthex
    mov $MANY - 1, %ecx     # every immediate one more
3:  lea many + 2(,%ecx,8), %eax
    sub %ecx, %eax
    incl (%eax)
    dec %ecx
    jns 3b
    dec %ebp
    jnz 1b
    mov %esi, %eax
    call puthex
    hlt

.balign 4096
.set k, 0
many:                       # MANY functions of 7 bytes each: add $imm32, %edi; ret
.rept MANY
    .byte 0x81, 0xc7
    .long k * 104729 + 1000
    ret
    .set k, k + 1
.endr
