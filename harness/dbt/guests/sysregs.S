# vlab-guest: 32
# vlab-base: 0x1000
# Loads and stores of the system registers the VMM virtualizes: CR0/CR3/CR4, GDTR/IDTR, the
# machine status word, the task register, invlpg, the segment registers (push, pop, mov). Each
# must exit and be emulated.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
main:
    mov $0x00123000, %eax
    mov %eax, %cr3
    mov %cr3, %ebx
    mov %ebx, 0x8000
    mov %cr0, %eax
    mov %eax, 0x8004
    or $0x20, %eax          # CR0.NE
    mov %eax, %cr0
    mov %cr0, %ecx
    mov %ecx, 0x8008
    mov $0x10, %eax         # CR4.PSE
    mov %eax, %cr4
    mov %cr4, %edx
    mov %edx, 0x800c
    lgdt gdt_desc
    lidt idt_desc
    sgdt 0x8010
    sidt 0x8018
    smsw %ax
    mov %eax, 0x8020
    str %ax
    mov %eax, 0x8024
    invlpg 0x2000
    mov $0x00456000, %eax
    mov %eax, %cr3
    mov %cr3, %eax
    call puthex
    mov 0x8012, %eax        # the GDT base as sgdt stored it
    call puthex
    # segment registers: stores show the virtual selectors, loads change them (§3.1)
    push %ds
    pop %eax
    push %cs
    pop %ebx
    shl $16, %ebx
    or %ebx, %eax
    call puthex             # 00080010
    push $0x18
    pop %es
    mov %es, %ecx           # a 32-bit register: zero-extended
    mov %ss, %edx
    push %fs
    push %gs
    pop %fs
    pop %gs
    mov %ecx, %eax
    shl $16, %eax
    mov %dx, %ax
    call puthex             # 00180010
    movl $0xffffffff, 0x8030
    mov %es, 0x8030         # memory: 16 bits
    mov 0x8030, %eax
    call puthex             # ffff0018
    mov $0x10, %eax
    mov %eax, %es
    mov %ax, %fs
    mov %fs, %eax
    call puthex
    hlt
gdt_desc:
    .word 3 * 8 - 1
    .long GDT
