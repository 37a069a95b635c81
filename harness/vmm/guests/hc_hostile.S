# vlab-guest: 64
# vlab-base: 0x10000
# Hypercalls with pointers a VMM must refuse. Each result (RAX) is stored at 0x800 + 8 * n
# for the test to check; RAM size comes from VMM_HC_GET_INFO first.
#   0  console write straddling the end of RAM (ram_size - 4, 8 bytes)    -EFAULT
#   1  console write whose end wraps around 2^64                          -EFAULT
#   2  console write from the block device's MMIO page                    -EFAULT
#   3  console write of 4097 bytes                                        -EINVAL
#   4  console write wholly beyond RAM                                     -EFAULT
#   5  get-info into the last 8 bytes of RAM (the structure is 24)        -EFAULT
#   6  console write of 0 bytes from an address beyond RAM                 0
.code64
    mov $2, %eax
    mov $0x600, %ebx
    out %eax, $0xf6
    mov 0x600, %r12              # ram_size
    mov $1, %eax
    lea -4(%r12), %rbx
    mov $8, %ecx
    out %eax, $0xf6
    mov %rax, 0x800
    mov $1, %eax
    mov $-16, %rbx
    mov $32, %ecx
    out %eax, $0xf6
    mov %rax, 0x808
    mov $1, %eax
    mov $0xd0000000, %ebx
    mov $16, %ecx
    out %eax, $0xf6
    mov %rax, 0x810
    mov $1, %eax
    mov $0x10000, %ebx
    mov $4097, %ecx
    out %eax, $0xf6
    mov %rax, 0x818
    mov $1, %eax
    lea 0x1000(%r12), %rbx
    mov $16, %ecx
    out %eax, $0xf6
    mov %rax, 0x820
    mov $2, %eax
    lea -8(%r12), %rbx
    out %eax, $0xf6
    mov %rax, 0x828
    mov $1, %eax
    lea 0x1000(%r12), %rbx
    xor %ecx, %ecx
    out %eax, $0xf6
    mov %rax, 0x830
    mov $0x600d, %eax
    out %eax, $0xf4
