# vlab-guest: 32
# vlab-base: 0x1000
# EFLAGS bits the virtual CPU does not model, loaded by popf and by iret: TF (single-step), NT,
# AC, RF, VM, ID, one at a time and all together, with arithmetic flags and instructions after
# each load. pushf shows what the virtual CPU kept: TF, RF and VM never, NT, AC and ID as
# written (handout §3.2). A translated run that lets the real popf set TF single-steps its CCF.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set OUT, 0x8000            # 2 x 7 words: what pushf showed after each popf, then each iret
main:
    mov $0x30, %eax
    mov $iret_handler, %ebx
    call set_gate
    lidt idt_desc
    mov $OUT, %edi
    mov $bits, %esi
    mov $7, %ecx
1:  mov (%esi), %eax
    or $0x8d5, %eax         # CF PF AF ZF SF OF: the arithmetic flags ride along
    push %eax
    popf
    add $1, %ebx            # instructions a single-step trap would stop after
    adc $0, %ebx
    pushf
    pop %eax
    mov %eax, (%edi)
    push $0x2
    popf
    add $4, %esi
    add $4, %edi
    loop 1b
    mov $bits, %esi
    mov $7, %ecx
2:  mov (%esi), %eax        # the handler ORs it into the image iret loads
    int $0x30
    sbb $0, %ebx
    pushf
    pop %eax
    mov %eax, (%edi)
    push $0x2
    popf
    add $4, %esi
    add $4, %edi
    loop 2b
    mov OUT + 24, %eax
    call puthex
    mov OUT + 52, %eax
    call puthex
    mov %ebx, %eax
    call puthex
    hlt
iret_handler:
    or %eax, 8(%esp)
    iret
bits: .long 0x100, 0x4000, 0x40000, 0x10000, 0x20000, 0x200000, 0x274100
