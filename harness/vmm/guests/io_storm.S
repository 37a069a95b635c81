# vlab-guest: 64
# vlab-base: 0x10000
# OUT to a port nobody owns, forever: every one a VM exit. Only an exit budget stops it.
.code64
1:  out %al, $0x80
    inc %eax
    jmp 1b
