# vlab-guest: 64
# vlab-base: 0x10000
# Hello in long mode: RIP-relative addressing exists only in 64-bit code. Reloads CS with a
# far return to 0x08 and the data segments with 0x10 (the GDT must match the vCPU), reads
# EFER to confirm LMA from the inside, prints, halts.
.code64
start:
    lea reload(%rip), %rax
    pushq $0x08
    push %rax
    lretq
reload:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %ss
    lea msg(%rip), %rsi
    mov $0xc0000080, %ecx
    rdmsr
    test $0x400, %eax       # EFER.LMA
    jnz print
    lea wrong(%rip), %rsi
print:
    lodsb
    test %al, %al
    jz done
    call putc
    jmp print
done:
    hlt
putc:
    mov %al, %bl
    mov $0x3fd, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    mov $0x3f8, %dx
    mov %bl, %al
    out %al, %dx
    ret
msg:   .asciz "Hello from long mode!\n"
wrong: .asciz "EFER.LMA is clear\n"
