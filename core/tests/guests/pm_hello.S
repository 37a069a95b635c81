# vlab-guest: 32
# 32-bit protected mode with flat segments: prints through port 0x10, then leaves CR0 in EAX.
.code32
start:
    mov $msg, %esi
    mov $0x10, %dx
1:  lodsb
    test %al, %al
    jz 2f
    outb %al, %dx
    jmp 1b
2:  mov %cr0, %eax
    hlt
msg: .asciz "hello from protected mode\n"
