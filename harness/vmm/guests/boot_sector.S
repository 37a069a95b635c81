# vlab-guest: 16
# vlab-base: 0x7c00
# A boot sector as a BIOS starts one: CS = DS = 0, IP = 0x7c00 (`--mode real --load 0x7c00`).
# Its labels are absolute, so DS must be 0, not the 64 KiB block of the load address. Prints
# through port 0xe9, stores 42 at 0x400 (the BIOS data area: a DS-relative store), halts.
.code16
start:
    mov $msg, %si
1:  lodsb
    test %al, %al
    jz 2f
    out %al, $0xe9
    jmp 1b
2:  movw $42, 0x400
    hlt
msg: .asciz "Hello from a boot sector at 0x7c00!\n"
