# vlab-guest: 32
# vlab-base: 0x1000
# pushf/popf saving and restoring IF (and the arithmetic flags) under a virtual timer, and IOPL
# through popf. pushf must show the virtual IF, popf must set it (and take a pending interrupt).
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set TICKS, 0x8000
.set IFOFF, 0x8004
.set IFON, 0x8008
.set BADFL, 0x800c
.set POS, 0x8010
.set IOPL, 0x8014
.set LOG, 0x8100
main:
    mov $0x20, %eax
    mov $timer_isr, %ebx
    call set_gate
    lidt idt_desc
    mov $3, %al
    out %al, $0x40          # every 3rd I/O: inside and outside the cli
    sti
    mov $200, %ecx
1:  pushf                   # IF = 1
    cli
    out %al, $0x80
    incl POS
    pushf
    pop %eax
    and $0x200, %eax
    add %eax, IFOFF         # IF must read 0 here
    stc
    popf                    # IF = 1 again: a pending tick is taken right here
    pushf
    pop %ebx
    and $0x200, %ebx
    add %ebx, IFON
    incl POS
    mov $5, %eax
    cmp $7, %eax            # CF = SF = 1
    pushf
    xor %edx, %edx          # ZF = 1, CF = 0
    popf
    jb 2f
    incl BADFL
2:  out %al, $0x80
    dec %ecx
    jnz 1b
    # IOPL is virtual too: set it through popf, read it back through pushf
    pushf
    pop %eax
    or $0x3000, %eax
    push %eax
    popf
    pushf
    pop %ebx
    and $0x3000, %ebx
    mov %ebx, IOPL
    and $~0x3000, %eax
    push %eax
    popf
    cli
    mov IFOFF, %eax
    call puthex
    mov IFON, %eax
    call puthex
    mov TICKS, %eax
    call puthex
    mov IOPL, %eax
    call puthex
    hlt

timer_isr:
    push %eax
    push %ebx
    mov TICKS, %ebx
    and $63, %ebx
    mov POS, %eax
    mov %eax, LOG(,%ebx,4)
    incl TICKS
    pushf                   # IF = 0 inside an interrupt gate
    pop %eax
    and $0x200, %eax
    add %eax, IFOFF
    pop %ebx
    pop %eax
    iret
