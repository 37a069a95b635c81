# vlab-guest: 64
# vlab-base: 0x10000
# The same 16 lines printed two ways, chosen by the byte the test leaves at 0x500:
#   0: through the UART, one OUT (one VM exit) per byte, polling LSR before each;
#   1: through VMM_HC_CONSOLE_WRITE, one hypercall (one VM exit) per line.
# Then the result of the last write (bytes written, or a -errno) on the exit port.
.code64
    lea text(%rip), %rsi
    xor %r12d, %r12d
line:
    cmpb $0, (%rsi)
    je done
    mov %rsi, %rdi               # find the end of the line
1:  cmpb $'\n', (%rdi)
    je 2f
    inc %rdi
    jmp 1b
2:  inc %rdi                     # length includes the newline
    mov %rdi, %rcx
    sub %rsi, %rcx
    cmpb $1, 0x500
    je hypercall
uart:
    mov (%rsi), %bl
    mov $0x3fd, %dx
3:  in %dx, %al
    test $0x20, %al
    jz 3b
    mov $0x3f8, %dx
    mov %bl, %al
    out %al, %dx
    inc %rsi
    cmp %rdi, %rsi
    jne uart
    mov %rcx, %r12
    jmp line
hypercall:
    mov $1, %eax                 # VMM_HC_CONSOLE_WRITE(rbx = buffer, rcx = length)
    mov %rsi, %rbx
    out %eax, $0xf6
    mov %rax, %r12
    mov %rdi, %rsi
    jmp line
done:
    mov %r12, %rax
    out %eax, $0xf4
    hlt
text:
    .ascii "00 Para-virtualization: the guest knows it is virtual\n"
    .ascii "01 and asks the hypervisor, instead of poking hardware.\n"
    .ascii "02 A UART costs one VM exit per byte;\n"
    .ascii "03 a console hypercall costs one per line.\n"
    .ascii "04 Xen's guests call the hypervisor for page tables,\n"
    .ascii "05 interrupts, timers and I/O rings.\n"
    .ascii "06 KVM keeps VMCALL for itself, so vlab's hypercalls\n"
    .ascii "07 go through a reserved I/O port instead.\n"
    .ascii "08 Every pointer the guest passes is checked:\n"
    .ascii "09 the whole buffer must lie in guest RAM.\n"
    .ascii "10 A VM exit costs about a microsecond on hardware,\n"
    .ascii "11 far more under nested or emulated virtualization.\n"
    .ascii "12 Fewer exits is the whole game.\n"
    .ascii "13 virtio does the same with shared rings:\n"
    .ascii "14 one notification per batch of requests.\n"
    .asciz "15 The end.\n"
