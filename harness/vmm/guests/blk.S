# vlab-guest: 64
# vlab-base: 0x10000
# A driver for the block device at 0xd0000000 (registers in harness/vmm/vmm.h). Reports one
# bit per check that passed on the exit port; the test also checks memory and the disk.
#   bit 0  MAGIC reads "VBLK"; STATUS is 0xff before the first command
#   bit 1  read sectors 2..5 into 0x20000 (8-byte write of ADDR): STATUS 0
#   bit 2  write 0x30000 (512 bytes of 0xc3) to sector 7 (ADDR as two halves): STATUS 0
#   bit 3  SECTOR/COUNT/ADDR read back what was written
#   bit 4  sectors past the end, and COUNT 0: STATUS 1 (range)
#   bit 5  a buffer straddling the end of RAM, and one above 4 GiB: STATUS 2 (address)
#   bit 6  an unknown command: STATUS 3
#   bit 7  the page's last bytes (an 8-byte read at 0xff8, a 4-byte one at 0xffc) read 0
# The capacity (SECTORS) is left at 0x900 and RAM size at 0x908 for the test.
.code64
    mov $0xd0000000, %ebp
    xor %r8d, %r8d
    mov $2, %eax                  # ram_size from VMM_HC_GET_INFO
    mov $0x600, %ebx
    out %eax, $0xf6
    mov 0x600, %r12
    mov %r12, 0x908
    movl 0x04(%rbp), %eax
    mov %rax, 0x900
    mov %rax, %r13                # capacity
    cmpl $0x4b4c4256, 0x00(%rbp)
    jne 1f
    cmpl $0xff, 0x1c(%rbp)
    jne 1f
    or $0x01, %r8d
1:  movl $2, 0x08(%rbp)           # read sectors 2..5 -> 0x20000
    movl $4, 0x0c(%rbp)
    mov $0x20000, %rax
    mov %rax, 0x10(%rbp)          # one 8-byte MMIO write: ADDR_LO and ADDR_HI
    movl $1, 0x18(%rbp)           # doorbell: read
    cmpl $0, 0x1c(%rbp)
    jne 2f
    or $0x02, %r8d
2:  mov $0x30000, %edi            # write 512 bytes of 0xc3 to sector 7
    mov $0xc3, %al
    mov $512, %ecx
    rep stosb
    movl $7, 0x08(%rbp)
    movl $1, 0x0c(%rbp)
    movl $0x30000, 0x10(%rbp)
    movl $0, 0x14(%rbp)
    movl $2, 0x18(%rbp)           # doorbell: write
    cmpl $0, 0x1c(%rbp)
    jne 3f
    or $0x04, %r8d
3:  cmpl $7, 0x08(%rbp)
    jne 4f
    cmpl $1, 0x0c(%rbp)
    jne 4f
    mov 0x10(%rbp), %rax          # an 8-byte MMIO read of ADDR
    cmp $0x30000, %rax
    jne 4f
    or $0x08, %r8d
4:  lea -1(%r13), %eax            # the last sector and one past it
    movl %eax, 0x08(%rbp)
    movl $2, 0x0c(%rbp)
    movl $1, 0x18(%rbp)
    cmpl $1, 0x1c(%rbp)
    jne 5f
    movl $0, 0x08(%rbp)
    movl $0, 0x0c(%rbp)
    movl $1, 0x18(%rbp)
    cmpl $1, 0x1c(%rbp)
    jne 5f
    or $0x10, %r8d
5:  movl $0, 0x08(%rbp)
    movl $1, 0x0c(%rbp)
    lea -256(%r12), %rax          # straddles the end of RAM
    mov %rax, 0x10(%rbp)
    movl $1, 0x18(%rbp)
    cmpl $2, 0x1c(%rbp)
    jne 6f
    movl $0x20000, 0x10(%rbp)
    movl $1, 0x14(%rbp)           # 0x1_0002_0000: above 4 GiB, not RAM
    movl $1, 0x18(%rbp)
    cmpl $2, 0x1c(%rbp)
    jne 6f
    or $0x20, %r8d
6:  movl $0, 0x14(%rbp)
    movl $7, 0x18(%rbp)
    cmpl $3, 0x1c(%rbp)
    jne 7f
    or $0x40, %r8d
7:  mov $-1, %rax
    mov 0xff8(%rbp), %rax         # no register there, but inside the device's page
    test %rax, %rax
    jnz 8f
    movl $-1, %eax
    movl 0xffc(%rbp), %eax
    test %eax, %eax
    jnz 8f
    or $0x80, %r8d
8:  mov %r8d, %eax
    out %eax, $0xf4
