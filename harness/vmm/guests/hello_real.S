# vlab-guest: 16
# vlab-base: 0x0
# Hello in real mode: CS = 0x1000, IP = 0, so labels are offsets from 0. A polling 16550
# driver (wait for LSR.THRE, then write THR), then hlt. Says so if CR0.PE is set after all.
.code16
start:
    mov $msg, %si
    smsw %ax
    test $1, %al
    jz print
    mov $wrong, %si
print:
    lodsb                   # DS:SI: the VMM made DS = CS
    test %al, %al
    jz done
    call putc               # the stack: SS:SP = 0:0xfff0
    jmp print
done:
    hlt
putc:
    mov %al, %bl
    mov $0x3fd, %dx
1:  in %dx, %al
    test $0x20, %al         # LSR.THRE: the transmit holding register is empty
    jz 1b
    mov $0x3f8, %dx
    mov %bl, %al
    out %al, %dx
    ret
msg:   .asciz "Hello from real mode!\n"
wrong: .asciz "CR0.PE is set: this is not real mode\n"
