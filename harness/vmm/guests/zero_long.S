# vlab-guest: 64
# vlab-base: 0x0
# kvm-hello-world's guest in long mode: linked at 0 and addressing its string absolutely (no
# RIP-relative lea), so it works only loaded at 0. The whole string goes out in one
# `rep outsb` to port 0xe9 (a string I/O exit with a count), then 42 at 0x400 and hlt.
.code64
start:
    mov $msg, %esi
    mov $(msg_end - msg), %ecx
    mov $0xe9, %dx
    cld
    rep outsb
    movq $42, 0x400
    hlt
msg: .ascii "Hello, world! (long mode, linked at 0)\n"
msg_end:
