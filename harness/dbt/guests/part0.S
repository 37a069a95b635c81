# vlab-guest: 32
# vlab-base: 0x1000
# Part 0 (run by build/<sol>/dbt/part0, not a test): the guest kernel deprivileged to CPL 3, as
# a trap-and-emulate VMM would run it. It reports through port 0xe0.. what pushf shows after cli
# and after popf; the VMM (the tool) emulates the one instruction that traps.
.code32
start:
    lgdt gdt_desc
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    push $0x23              # ss: ring-3 data
    push $0x70000           # esp
    push $0x202             # eflags: IF = 1, IOPL = 0
    push $0x1b              # cs: ring-3 code
    push $user
    iret                    # to CPL 3
user:
    mov $0x23, %ax
    mov %ax, %ds
    mov %ax, %es
    pushf
    pop %eax
    out %eax, $0xe0         # 1: the flags at entry
    cli                     # 2: privileged: #GP, the VMM clears the virtual IF
    pushf
    pop %eax
    out %eax, $0xe1         # 3: what the guest sees after its cli
    push $0x002
    popf                    # 4: IF = 0 via popf: no trap, no effect
    pushf
    pop %eax
    out %eax, $0xe2         # 5: IF is still set
    push $0x202
    popf                    # 6: "interrupts back on": no trap, the VMM never learns it
    out %al, $0xef          # done
1:  jmp 1b
    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    # 0x08 ring-0 code
    .quad 0x00cf92000000ffff    # 0x10 ring-0 data
    .quad 0x00cffa000000ffff    # 0x18 ring-3 code
    .quad 0x00cff2000000ffff    # 0x20 ring-3 data
gdt_desc:
    .word 5 * 8 - 1
    .long gdt
