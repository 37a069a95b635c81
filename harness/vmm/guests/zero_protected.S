# vlab-guest: 32
# vlab-base: 0x0
# kvm-hello-world's guest in protected mode: linked at 0, absolute addresses everywhere, so
# it prints its whole string only when loaded at 0 (`--load 0 --entry 0`); anywhere else it
# reads zeros. Prints through the Bochs/QEMU debug console (port 0xe9) one OUT per byte,
# checks that an IN from 0xe9 reads 0xe9, stores 42 at 0x400 (0xbad if the IN was wrong), halts.
.code32
start:
    mov $msg, %esi
1:  lodsb
    test %al, %al
    jz 2f
    out %al, $0xe9
    jmp 1b
2:  movl $42, %ebx
    in $0xe9, %al
    cmp $0xe9, %al
    je 3f
    movl $0xbad, %ebx
3:  movl %ebx, 0x400
    hlt
msg: .asciz "Hello, world! (protected mode, linked at 0)\n"
