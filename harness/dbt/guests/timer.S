# vlab-guest: 32
# vlab-base: 0x1000
# Critical sections under a virtual timer: cli ... sti around I/O that makes the timer fire.
# The handler counts interrupts taken inside a critical section (there must be none) and logs
# where the main loop was at each tick, so an interrupt taken late or early changes memory.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
.set IN_CS, 0x8000
.set TICKS, 0x8004
.set BAD, 0x8008
.set POS, 0x800c
.set LOG, 0x8100
main:
    mov $0x20, %eax
    mov $timer_isr, %ebx
    call set_gate
    lidt idt_desc
    mov $4, %al
    out %al, $0x40          # every 4th I/O: the tick moves round the loop's three
    sti
    mov $300, %ecx
loop_:
    cli
    movl $1, IN_CS
    out %al, $0x80
    incl POS
    out %al, $0x80
    movl $0, IN_CS
    sti
    incl POS
    out %al, $0x80
    addl $2, POS
    dec %ecx
    jnz loop_
    cli
    mov $0, %al
    out %al, $0x40          # timer off
    mov TICKS, %eax
    call puthex
    mov BAD, %eax
    call puthex
    hlt

timer_isr:
    push %eax
    push %ebx
    cmpl $0, IN_CS
    je 1f
    incl BAD
1:  mov TICKS, %ebx
    and $63, %ebx
    mov POS, %eax
    mov %eax, LOG(,%ebx,4)
    incl TICKS
    pop %ebx
    pop %eax
    iret
