# vlab-guest: 64
# vlab-base: 0x10000
# Prints without end (no polling: the UART model is infinitely fast anyway).
.code64
    mov $0x3f8, %dx
1:  lea msg(%rip), %rsi
2:  lodsb
    test %al, %al
    jz 1b
    out %al, %dx
    jmp 2b
msg: .asciz "all work and no play makes jack a dull boy\n"
