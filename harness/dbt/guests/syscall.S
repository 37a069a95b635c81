# vlab-guest: 32
# vlab-base: 0x1000
# A syscall-heavy loop (Adams & Agesen): int $0x80 into the guest's own handler and iret back.
# Each round trip is two sensitive instructions.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set CALLS, 0x8000
main:
    mov $0x80, %eax
    mov $sys_handler, %ebx
    call set_gate
    lidt idt_desc
    xor %esi, %esi
    mov $2000, %ecx
1:  mov %ecx, %eax
    mov $3, %ebx
    int $0x80
    add %eax, %esi
    loop 1b
    mov %esi, %eax
    call puthex
    mov CALLS, %eax
    call puthex
    hlt
sys_handler:                # eax = eax * ebx + 1
    imul %ebx, %eax
    inc %eax
    incl CALLS
    iret
