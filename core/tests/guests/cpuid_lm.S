# vlab-guest: 64
# CPUID 0x80000001: EDX (bit 29 is long mode) goes out on port 0x11, 4 bytes. A VMM that never
# gave the vCPU a CPUID (KVM_SET_CPUID2) shows a guest without long mode, while it runs in it.
.code64
start:
    mov $0x80000001, %eax
    cpuid
    mov %edx, %eax
    outl %eax, $0x11
    hlt
