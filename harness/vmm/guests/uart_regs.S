# vlab-guest: 64
# vlab-base: 0x10000
# Exercises the 16550's registers through the VMM's port dispatch and reports one bit per
# check that passed on the exit port (0xf4). The test names the bits that are missing.
#   bit 0  LCR reads back what was written (0x03)
#   bit 1  the divisor latch (DLAB = 1) reads back 0x0001, DLL and DLM apart
#   bit 2  the scratch register holds 0xa5, then 0x5a (an IN answered with stale data fails)
#   bit 3  LSR = 0x60: THRE and TEMT set, no data ready
#   bit 4  IIR = 0x01 (no interrupt pending) with IER = 0
#   bit 5  IER keeps only its four defined bits (0xff reads back 0x0f)
#   bit 6  a port no device owns reads 0xff (port 0x80)
#   bit 7  a 16-bit IN at 0x3fe reads MSR, then SCR in the high byte (one register per byte)
.code64
    xor %r8d, %r8d
    mov $0x3fb, %dx            # LCR
    mov $0x03, %al
    out %al, %dx
    in %dx, %al
    cmp $0x03, %al
    jne 1f
    or $0x01, %r8d
1:  mov $0x83, %al             # DLAB on
    out %al, %dx
    mov $0x3f8, %dx
    mov $0x01, %al
    out %al, %dx               # DLL
    inc %dx
    xor %al, %al
    out %al, %dx               # DLM
    mov $0x3f8, %dx
    in %dx, %al
    mov %al, %bl
    inc %dx
    in %dx, %al
    mov %al, %bh
    cmp $0x0001, %bx
    jne 2f
    or $0x02, %r8d
2:  mov $0x3fb, %dx            # DLAB off again
    mov $0x03, %al
    out %al, %dx
    mov $0x3ff, %dx            # SCR
    mov $0xa5, %al
    out %al, %dx
    in %dx, %al
    cmp $0xa5, %al
    jne 3f
    mov $0x5a, %al
    out %al, %dx
    in %dx, %al
    cmp $0x5a, %al
    jne 3f
    or $0x04, %r8d
3:  mov $0x3fd, %dx            # LSR
    in %dx, %al
    cmp $0x60, %al
    jne 4f
    or $0x08, %r8d
4:  mov $0x3f9, %dx            # IER = 0
    xor %al, %al
    out %al, %dx
    mov $0x3fa, %dx            # IIR
    in %dx, %al
    cmp $0x01, %al
    jne 5f
    or $0x10, %r8d
5:  mov $0x3f9, %dx
    mov $0xff, %al
    out %al, %dx
    in %dx, %al
    mov %al, %bl
    xor %al, %al
    out %al, %dx
    cmp $0x0f, %bl
    jne 6f
    or $0x20, %r8d
6:  in $0x80, %al
    cmp $0xff, %al
    jne 7f
    or $0x40, %r8d
7:  mov $0x3ff, %dx
    mov $0xa5, %al
    out %al, %dx
    mov $0x3fe, %dx
    in %dx, %ax                # AL = MSR, AH = SCR
    cmp $0xa5, %ah
    jne 8f
    or $0x80, %r8d
8:  mov %r8d, %eax
    out %eax, $0xf4
    hlt
