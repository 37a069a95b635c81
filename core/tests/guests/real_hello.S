# vlab-guest: 16
# vlab-base: 0x0
# Real mode, loaded at gpa 0x10000 and entered at CS:IP = 0x1000:0000: the string is found
# only if the segment base is selector << 4 (offsets here start at 0).
.code16
start:
    mov $msg, %si
    mov $0x10, %dx
1:  lodsb
    test %al, %al
    jz 2f
    outb %al, %dx
    jmp 1b
2:  hlt
msg: .asciz "hello from real mode\n"
