# vlab-guest: 32
# vlab-base: 0x1000
# Precise self-modifying code (handout §8.2): each write changes translated bytes that run
# next, and must take effect at the very next guest instruction, as on the oracle.
#   next:     a block patches the first instruction of the block on the next page and jumps
#             there; once its exit is chained, the chained jump must not reach the old CCF.
#   self:     a block patches an immediate further on in itself.
#   adjacent: a block patches the instruction right after the writing one.
#   straddle: a block straddling two pages patches its half on the second page.
#   stack:    a push lands on the immediate of the next instruction in the block.
#   vmm:      the VMM writes translated code for the guest (smsw to memory), between calls.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set SUM, 0x8000
.set RES, 0x8010            # one word per case
main:
    call next_case
    mov %esi, RES
    call self_case
    mov %esi, RES + 4
    call adjacent_case
    mov %esi, RES + 8
    call straddle_case
    mov %esi, RES + 12
    call stack_case
    mov %esi, RES + 16
    call vmm_case
    mov %esi, RES + 20
    mov RES, %eax
    call puthex
    mov RES + 4, %eax
    call puthex
    mov RES + 8, %eax
    call puthex
    mov RES + 12, %eax
    call puthex
    mov RES + 16, %eax
    call puthex
    mov RES + 20, %eax
    call puthex
    hlt
vmm_case:
    xor %esi, %esi
    mov $8, %ecx
1:  call vf                 # translated, then its immediate rewritten by the VMM
    add %eax, %esi
    mov %ecx, %eax
    mov %eax, %cr0          # a different CR0 each time (the VMM keeps it, nothing else)
    smsw vf + 1             # the emulated smsw stores it into vf's immediate
    loop 1b
    mov $0x11, %eax
    mov %eax, %cr0
    ret

    .org 0x1000             # guest 0x2000
next_case:
    xor %esi, %esi
    mov $50, %ecx
1:  incl nb + 1             # the imm32 of nb's mov, on the next page
    jmp nb
nb_back:
    add %eax, %esi
    loop 1b
    ret
self_case:
    xor %esi, %esi
    mov $50, %ecx
1:  incl 2f + 1
    lahf                    # the flags incl set: the stop must keep them
    movzbl %ah, %edx
2:  mov $100, %eax          # patched above, in this very block
    add %edx, %eax
    add %eax, %esi
    loop 1b
    ret
adjacent_case:
    xor %esi, %esi
    mov $50, %ecx
1:  addb $1, 2f + 2         # the imm8 of the very next instruction
2:  add $0x10, %esi
    loop 1b
    ret
stack_case:
    xor %esi, %esi
    mov %esp, %ebp
    mov $60, %ecx
1:  mov $2f + 5, %esp
    push %ecx               # onto the imm32 of the next instruction
2:  mov $7, %eax
    mov %ebp, %esp
    add %eax, %esi
    loop 1b
    ret
    .org 0x1ff0             # guest 0x2ff0: the straddling block starts here
straddle_case:
    xor %esi, %esi
    mov $40, %ecx
1:  incl 2f + 1             # on the second page
    add $3, %edx
    add $4, %edx
    add $5, %edx
    nop
2:  mov $1000, %eax         # guest 0x3000 and after
    add %eax, %esi
    loop 1b
    ret

    .org 0x2100             # guest 0x3100
nb: mov $100, %eax
    jmp nb_back
vf: mov $0x12345678, %eax
    ret
