# vlab-guest: 32
# vlab-base: 0x10000
# QEMU's isa-debug-exit (-device isa-debug-exit,iobase=0xf4,iosize=4): a 4-byte OUT of v to
# port 0xf4 ends the run; QEMU then exits with status (v << 1) | 1. What a test kernel for
# QEMU does at the end of its test run. Anything after the OUT must not run. The value uses
# all four bytes: a VMM that keeps only AL reports 0x10.
.code32
start:
    mov $msg, %esi
1:  lodsb
    test %al, %al
    jz 2f
    out %al, $0xe9
    jmp 1b
2:  mov $0xabcd0010, %eax          # every byte of the status counts (the tool: 33)
    out %eax, $0xf4
    mov $'!', %al
    out %al, $0xe9
    hlt
msg: .asciz "tests passed\n"
