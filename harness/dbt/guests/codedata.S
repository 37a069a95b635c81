# vlab-guest: 32
# vlab-base: 0x1000
# Code and data on the same page: every kind of store lands on a page the translator watches
# because a block runs from it (inc, mov, rep stos, rep movs, push, call, an unaligned store
# straddling two pages with one half on a watched page). Each loop writes again right after
# its block was translated again, so every store meets a write-protected page.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set SUM, 0x8000
main:
    call inc_loop
    call mov_loop
    call stos_loop
    call movs_loop
    call push_loop
    call call_loop
    call straddle_lo
    call straddle_hi
    mov D_INC, %eax         # 50
    call puthex
    mov D_MOV, %eax
    call puthex
    mov SUM, %eax
    call puthex
    hlt

    .org 0x1000             # guest 0x2000: the page of issue 13's first report
inc_loop:
    mov $50, %ecx
1:  incl D_INC              # a data word 0x800 bytes further on this page
    add $3, %eax
    loop 1b
    ret
mov_loop:
    mov $40, %ecx
1:  mov %ecx, D_MOV
    add D_MOV, %ebx
    loop 1b
    mov %ebx, SUM
    ret
stos_loop:
    mov $8, %edx
1:  mov $BUF, %edi
    mov $16, %ecx
    mov %edx, %eax
    cld
    rep stosl
    add BUF + 60, %eax
    add %eax, SUM
    dec %edx
    jnz 1b
    ret
    .org 0x1800
D_INC: .long 0
D_MOV: .long 0
BUF:   .fill 16, 4, 0

    .org 0x2000             # guest 0x3000
movs_loop:
    mov $6, %edx
1:  mov $msg, %esi
    mov $MBUF, %edi
    mov $msg_len, %ecx
    rep movsb               # into a buffer on this code page
    mov MBUF + 3, %eax
    add %eax, SUM
    incb msg                # and the source changes each time
    dec %edx
    jnz 1b
    ret
push_loop:
    mov %esp, %ebp
    mov $STK, %esp          # a stack on this code page
    mov $20, %ecx
1:  push %ecx
    push $0x12345678
    pop %eax
    pop %eax
    add %eax, SUM
    loop 1b
    mov %ebp, %esp
    ret
call_loop:
    mov %esp, %ebp
    mov $STK, %esp
    mov $20, %ecx
1:  call leaf               # pushes its return address onto this code page
    loop 1b
    mov %ebp, %esp
    ret
leaf:
    mov (%esp), %eax
    add %eax, SUM
    addl $7, STK - 8
    ret
msg: .ascii "translated"
    .set msg_len, . - msg
    .org 0x2800
MBUF: .fill 16, 1, 0
    .org 0x2f00
STK:
    .org 0x2ffc
    .long 0

    .org 0x3000             # guest 0x4000: a data page no block runs from
straddle_lo:                # ... except this one: both halves on code pages
    mov $30, %ecx
1:  mov %ecx, %eax
    imul $0x01010101, %eax
    mov %eax, 0x2ffe        # half on 0x2000 (code), half on 0x3000 (code)
    add 0x2ffe, %edx
    add %edx, SUM
    loop 1b
    ret
straddle_hi:
    mov $30, %ecx
1:  mov %ecx, 0x4ffe        # half on this code page, half on 0x5000 (data only)
    add 0x4ffe, %edx
    mov %ecx, 0x5ffe        # half on 0x5000 (data), half on 0x6000 (code)
    add 0x5ffe, %edx
    call page6              # translated again: 0x6000 is watched for the next store
    add %edx, SUM
    loop 1b
    ret

    .org 0x5000             # guest 0x6000: code whose page only the straddling store reaches
    .long 0
page6:
    ret
