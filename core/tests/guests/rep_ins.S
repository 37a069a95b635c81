# vlab-guest: 64
# A `rep insb` of 16 bytes from port 0x30 to 0x3000: one IN exit with a count of 16 on KVM
# (its emulator reads ahead) and on the Unicorn backend, whose answer fills all 16.
.code64
start:
    mov $0x30, %dx
    mov $0x3000, %edi
    mov $16, %ecx
    cld
    rep insb
    hlt
