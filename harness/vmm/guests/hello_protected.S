# vlab-guest: 32
# vlab-base: 0x10000
# Hello in 32-bit protected mode. It reloads every segment register from the VMM's GDT first
# (a far jump to 0x08, data selector 0x10): a descriptor in guest memory that does not match
# what the VMM loaded into the vCPU breaks here, as it would at the first interrupt.
.code32
start:
    ljmp $0x08, $reload
reload:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $msg, %esi
    mov %cr0, %eax
    test $1, %al
    jnz print
    mov $wrong, %esi
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
msg:   .asciz "Hello from protected mode!\n"
wrong: .asciz "CR0.PE is clear\n"
