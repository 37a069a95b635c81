# vlab-guest: 32
# vlab-base: 0x1000
# Interrupts from KVM's in-kernel PIT through its 8259A and the local APIC's LINT0 in
# virtual-wire mode (ExtINT), set up as a Linux without ACPI or MP tables sets them up. The
# IRQ 0 handler OUTs the tick count to port 0x10; once it has seen three ticks the guest
# writes 0x2a to port 0xf4. Between ticks it halts: with an in-kernel irqchip HLT never leaves KVM.
.code32
start:
    movl $0x1ff, 0xfee000f0      # local APIC: software-enabled, spurious vector 0xff
    movl $0x700, 0xfee00350      # LVT0 (LINT0): ExtINT, unmasked: the PIC's output
    mov $tick, %eax              # IDT[0x20]: a 32-bit interrupt gate to tick, CS 0x08
    mov %ax, idt + 0x20 * 8
    movw $0x08, idt + 0x20 * 8 + 2
    movw $0x8e00, idt + 0x20 * 8 + 4
    shr $16, %eax
    mov %ax, idt + 0x20 * 8 + 6
    lidt idtr
    mov $0x11, %al               # 8259A master: ICW1 (edge, ICW4 follows)
    out %al, $0x20
    mov $0x20, %al               # ICW2: IRQ 0 is vector 0x20
    out %al, $0x21
    mov $0x04, %al               # ICW3: the slave on IRQ 2
    out %al, $0x21
    mov $0x01, %al               # ICW4: 8086 mode
    out %al, $0x21
    mov $0xfe, %al               # mask every line but IRQ 0
    out %al, $0x21
    mov $0x34, %al               # PIT channel 0: rate generator, low then high byte
    out %al, $0x43
    mov $0xa9, %al               # 1193 = 1 ms
    out %al, $0x40
    mov $0x04, %al
    out %al, $0x40
    sti
1:  hlt
    cmpl $3, ticks
    jb 1b
    cli
    mov $0x2a, %al
    out %al, $0xf4
    hlt
tick:
    push %eax
    incl ticks
    mov ticks, %eax
    out %al, $0x10
    mov $0x20, %al               # EOI to the PIC
    out %al, $0x20
    pop %eax
    iret
    .align 8
idtr:
    .word 256 * 8 - 1
    .long idt
ticks:
    .long 0
    .align 8
idt:
    .fill 256, 8, 0
