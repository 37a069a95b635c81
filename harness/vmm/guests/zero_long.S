# vlab-guest: 64
# vlab-base: 0x0
# kvm-hello-world's guest in long mode: linked at 0 and addressing its string absolutely (no
# RIP-relative lea), so it works only loaded at 0. The whole string goes out in one
# `rep outsb` to port 0xe9, then a `rep insb` reads 100 bytes from port 0xe9 at 0x9000 (on
# KVM, and on the Unicorn backend, one IN exit with a count of 100: the VMM must answer every
# element), then a `rep insw` of 50 words from port 0xe9 at 0x9200 (one exit, size 2, count 50:
# each word is 0xe9 from the debug console and 0xff from port 0xea, where nothing drives the
# bus), then 42 at 0x400 if all 100 bytes read 0xe9 and all 50 words 0xffe9 (0xbad if the
# bytes are wrong, 0xbad2 if the words are) and hlt.
.code64
start:
    mov $msg, %esi
    mov $(msg_end - msg), %ecx
    mov $0xe9, %dx
    cld
    rep outsb
    mov $0x9000, %edi
    mov $100, %ecx
    rep insb
    mov $0x9000, %edi
    mov $100, %ecx
    mov $0xe9, %al
    repe scasb
    jne 1f
    mov $0x9200, %edi
    mov $50, %ecx
    rep insw
    mov $0x9200, %edi
    mov $50, %ecx
    mov $0xffe9, %ax
    repe scasw
    jne 2f
    movq $42, 0x400
    hlt
1:  movq $0xbad, 0x400
    hlt
2:  movq $0xbad2, 0x400
    hlt
msg: .ascii "Hello, world! (long mode, linked at 0)\n"
msg_end:
