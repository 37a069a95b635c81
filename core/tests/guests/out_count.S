# vlab-guest: 64
# RCX OUTs to port 0x30 (RCX set by the VMM), then HLT: exactly RCX + 1 exits. AL counts down.
.code64
start:
    mov %ecx, %eax
1:  outb %al, $0x30
    dec %eax
    loop 1b
    hlt
