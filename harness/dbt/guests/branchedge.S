# vlab-guest: 32
# vlab-base: 0x1000
# Control transfers at their edges (handout §4): a call to guest address 0 (an all-zero entry of
# the lookup table matches it), calls through ESP-relative memory, loope/loopne/jcxz whose
# targets leave the block, jcc with 32-bit displacements, every flag (OF included) across the
# lookup routine of call/jmp/ret, more hot indirect targets than the table has slots, and
# jumps through each general register (ESP too), calls through the other seven, and both
# through (%reg).
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set OUT, 0x8000
.set FPTR, 0x8004
.set SAVESP, 0x8008
main:
    xor %edi, %edi
    xor %esi, %esi
    # -- a function at guest address 0: mov $42, %eax; ret
    movl $0x00002ab8, 0
    movw $0xc300, 4
    xor %ebx, %ebx
    call *%ebx
    add %eax, %edi
    xor %ebx, %ebx
    call *%ebx              # again: now through the table
    add %eax, %edi
    mov %edi, %eax
    call puthex

    # -- calls whose target is read through ESP: computed before the return address is pushed
    push $f_one
    call *(%esp)
    add $4, %esp
    push $f_two
    push $0
    call *4(%esp)
    add $8, %esp
    push $f_one
    push $f_two
    call *(%esp)
    call *4(%esp)
    add $8, %esp
    mov %edi, %eax
    call puthex

    # -- the loop family, targets in other blocks
    mov $5, %ecx
    xor %eax, %eax
1:  inc %eax
    cmp $3, %eax
    loopne 1b               # leaves when eax == 3: ecx = 2
    add %ecx, %edi
    mov $4, %ecx
    test %esp, %esp         # ZF = 0
    loope 2f                # not taken (ZF = 0), ecx = 3
    add $100, %edi
2:  add %ecx, %edi
    cmp %eax, %eax          # ZF = 1
    loope 3f                # taken, ecx = 2
    add $1000, %edi
3:  add %ecx, %edi
    mov $0x10000, %ecx
    jcxz 4f                 # CX = 0: taken (jecxz would not be)
    add $10000, %edi
4:  mov $0x10001, %ecx
    jcxz 5f                 # CX = 1: not taken
    add $7, %edi
5:  mov $1, %ecx
    jecxz 6f
    loop 6f                 # ecx = 0: not taken
    add $3, %edi
6:  mov %edi, %eax
    call puthex

    # -- jcc rel32: each condition, both ways
    mov $0, %eax
    mov $-1, %edx
    mov $0x7fffffff, %ebx
    xor %ecx, %ecx
7:  add %ebx, %edx          # a changing mix of CF, OF, SF, ZF, PF
    {disp32} jo 10f
    inc %eax
10: {disp32} jc 11f
    add $2, %eax
11: {disp32} jz 12f
    add $4, %eax
12: {disp32} jbe 13f
    add $8, %eax
13: {disp32} js 14f
    add $16, %eax
14: {disp32} jp 15f
    add $32, %eax
15: {disp32} jl 16f
    add $64, %eax
16: {disp32} jle 17f
    add $128, %eax
17: {disp32} jno 18f
    add $256, %eax
18: {disp32} jnc 19f
    add $512, %eax
19: {disp32} jnz 20f
    add $1024, %eax
20: {disp32} ja 21f
    add $2048, %eax
21: {disp32} jns 22f
    add $4096, %eax
22: {disp32} jnp 23f
    add $8192, %eax
23: {disp32} jge 24f
    add $16384, %eax
24: {disp32} jg 25f
    add $32768, %eax
25: rol $7, %eax
    inc %ecx
    cmp $40, %ecx
    {disp32} jne 7b
    call puthex

    # -- the flags, OF included, across the lookup routine (call *r, jmp *r, ret)
    mov $12, %ebp
8:  mov $0x7fffffff, %eax
    add %ebp, %eax          # OF = 1, SF = 1, CF = 0
    mov $f_flags, %ebx
    call *%ebx              # f_flags records the flags it was called with
    pushf                   # ... and those its ret left
    pop %edx
    and $0x8d5, %edx
    add %edx, %esi
    mov $0x80000000, %eax
    add %eax, %eax          # OF = 1, CF = 1, ZF = 1
    mov $9f, %ebx
    jmp *%ebx
9:  seto %al
    setc %ah
    movzbl %al, %edx
    add %edx, %esi
    movzbl %ah, %edx
    add %edx, %esi
    shl $1, %esi
    dec %ebp
    jnz 8b
    mov %esi, %eax
    call puthex

    # -- more hot indirect targets than the lookup table has slots: some share one
    xor %edi, %edi
    mov $3, %ebp
30: mov $HOT - 1, %ecx
31: lea hot(,%ecx,8), %eax
    sub %ecx, %eax          # hot + 7 * ecx
    call *%eax
    dec %ecx
    jns 31b
    dec %ebp
    jnz 30b
    mov %edi, %eax
    call puthex

    # -- call and jmp through each general register, and through (%reg) with no displacement
    # (FF /2 or /4 with ModRM alone: the shortest memory form). Each register holds another
    # target, so a translation that reads the wrong register reaches the wrong function.
    movl $0, OUT
    mov $g_1, %eax
    mov $g_2, %ecx
    mov $g_4, %edx
    mov $g_8, %ebx
    mov $g_16, %ebp
    mov $g_32, %esi
    mov $g_64, %edi
    call *%eax
    call *%ecx
    call *%edx
    call *%ebx
    call *%ebp
    call *%esi
    call *%edi
    movl $g_128, FPTR
    mov $FPTR, %ebx
    call *(%ebx)
    mov $j_1, %eax          # the jumps: each target jumps on through the next register
    mov $j_2, %ecx
    mov $j_3, %edx
    mov $j_4, %ebx
    mov $j_6, %ebp
    mov $j_7, %esi
    mov $j_8, %edi
    jmp *%eax
j_1: addl $0x100, OUT
    jmp *%ecx
j_2: addl $0x200, OUT
    jmp *%edx
j_3: addl $0x400, OUT
    jmp *%ebx
j_4: addl $0x800, OUT
    mov %esp, SAVESP
    mov $j_5, %esp
    jmp *%esp
j_5: mov SAVESP, %esp
    addl $0x1000, OUT
    jmp *%ebp
j_6: addl $0x2000, OUT
    jmp *%esi
j_7: addl $0x4000, OUT
    jmp *%edi
j_8: addl $0x8000, OUT
    movl $j_9, FPTR
    mov $FPTR, %eax
    jmp *(%eax)
j_9: addl $0x10000, OUT
    mov OUT, %eax
    call puthex
    hlt

g_1:  addl $1, OUT
    ret
g_2:  addl $2, OUT
    ret
g_4:  addl $4, OUT
    ret
g_8:  addl $8, OUT
    ret
g_16: addl $16, OUT
    ret
g_32: addl $32, OUT
    ret
g_64: addl $64, OUT
    ret
g_128: addl $128, OUT
    ret

f_one:
    add $1, %edi
    ret
f_two:
    add $0x20, %edi
    ret
f_flags:                    # records the flags, leaves OF = 1 (0x7fffffff + 1) for the ret
    pushf
    pop %edx
    and $0x8d5, %edx        # OF DF SF ZF AF PF CF
    add %edx, %esi
    mov $0x7fffffff, %edx
    inc %edx
    ret

.set HOT, 300
.set k, 0
hot:                        # HOT functions of 7 bytes each: add $imm32, %edi; ret
.rept HOT
    .byte 0x81, 0xc7
    .long k * 7919 + 1000
    ret
    .set k, k + 1
.endr
