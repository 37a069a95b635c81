# vlab-guest: 32
# vlab-base: 0x1000
# A long straight-line block whose translation is far larger than the guest code: 40 pushf,
# each an inline sequence of ~45 bytes. In a small TC the translator must end the block (or
# flush) before it runs out of room.
.code32
start:
    xor %ebx, %ebx
    .rept 40
    pushf
    .endr
    .rept 40
    pop %eax
    add %eax, %ebx
    .endr
    mov %ebx, 0x8000
    hlt
