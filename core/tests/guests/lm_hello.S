# vlab-guest: 64
# Long mode: prints through port 0x10 with a RIP-relative address (64-bit only), then leaves
# EFER (rdmsr) in RAX so the test sees LMA from inside the guest.
.code64
start:
    lea msg(%rip), %rsi
    mov $0x10, %dx
1:  lodsb
    test %al, %al
    jz 2f
    outb %al, %dx
    jmp 1b
2:  mov $0xc0000080, %ecx
    rdmsr
    shl $32, %rdx
    or %rdx, %rax
    hlt
msg: .asciz "hello from long mode\n"
