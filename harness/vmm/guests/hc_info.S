# vlab-guest: 64
# vlab-base: 0x10000
# VMM_HC_GET_INFO into a buffer at 0x600, then VMM_HC_EXIT with the mode it read (the test
# checks the whole structure in memory and the exit code). An unknown hypercall (99) first:
# its -ENOSYS result is left at 0x700.
.code64
    mov $99, %eax
    out %eax, $0xf6
    mov %rax, 0x700
    mov $2, %eax                 # VMM_HC_GET_INFO(rbx = buffer)
    mov $0x600, %ebx
    out %eax, $0xf6
    mov %rax, 0x708
    mov $3, %eax                 # VMM_HC_EXIT(rbx = code)
    movl 0x608, %ebx
    add $0x100, %ebx
    out %eax, $0xf6
    hlt                          # not reached: the VMM stopped at the exit
