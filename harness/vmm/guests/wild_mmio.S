# vlab-guest: 64
# vlab-base: 0x10000
# A store into the hole between RAM and the block device: neither RAM nor a device.
.code64
    mov $0xe0001234, %ebx
    movl $0xdead, (%rbx)
    hlt
