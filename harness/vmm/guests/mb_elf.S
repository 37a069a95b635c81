# vlab-guest: 32
# vlab-base: 0x100000
# A Multiboot kernel as higher-half tutorials build one: an ELF32 executable whose segment is
# linked at virtual 0xc0100000 (VIRT) and loaded at physical 1 MiB, with a Multiboot header
# (flags: page-align, memory info) and a bss. Its entry code runs at physical addresses (the
# boot stub of a higher-half kernel, before it turns paging on), so the loader must enter at
# the entry's physical address: entered at e_entry it touches nothing but a hole. The ELF
# header and program header are written out here because the lab's guest rule makes flat
# binaries: the file below is a complete ELF32 whose one PT_LOAD is the whole file plus 4 KiB
# of bss.
# It checks what a Multiboot loader promises (EAX, the information's flags, a zeroed bss),
# loads its own GDT as real kernels do, prints its command line on COM1 and mem_upper on port
# 0xe9, and ends through isa-debug-exit with 5. A broken promise ends it with 0xe1..0xe4.
.code32
.set VIRT, 0xc0000000
ehdr:
    .byte 0x7f, 'E', 'L', 'F', 1, 1, 1, 0      # ELFCLASS32, little-endian, version 1
    .fill 8, 1, 0
    .word 2, 3                                 # ET_EXEC, EM_386
    .long 1, _start + VIRT, phdr - ehdr, 0, 0  # version, entry (virtual), phoff, shoff, flags
    .word 52, 32, 1, 40, 0, 0                  # ehsize, phentsize, phnum, shentsize, ...
phdr:
    .long 1, 0, ehdr + VIRT, ehdr              # PT_LOAD from offset 0: vaddr, paddr 1 MiB
    .long file_end - ehdr, bss_end - ehdr      # filesz, memsz (the bss after the file)
    .long 7, 0x1000                            # RWX, page-aligned
    .balign 4
mb_header:
    .long 0x1badb002, 0x3, -(0x1badb002 + 0x3)

_start:
    cmp $0x2badb002, %eax
    jne bad_magic
    mov %ebx, %ebp                             # the Multiboot information
    lgdt gdtr
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $stack_top, %esp
    mov (%ebp), %eax
    and $0x45, %eax                            # mem_*, cmdline, mmap
    cmp $0x45, %eax
    jne bad_info
    cmpl $0, bss_word
    jne bad_bss
    mov $s_cmd, %esi
    call com1_puts
    mov 16(%ebp), %esi
    call com1_puts
    mov $s_end, %esi
    call com1_puts
    mov $s_mem, %esi
    call e9_puts
    mov 8(%ebp), %eax
    call e9_hex
    mov $s_kib, %esi
    call e9_puts
    mov $5, %eax
    out %eax, $0xf4
    hlt
bad_magic:
    mov $0xe1, %eax
    out %eax, $0xf4
    hlt
bad_info:
    mov $0xe2, %eax
    out %eax, $0xf4
    hlt
bad_bss:
    mov $0xe3, %eax
    out %eax, $0xf4
    hlt

com1_puts:                                     # a polling 16550 driver
    lodsb
    test %al, %al
    jz 2f
    mov %al, %bl
    mov $0x3fd, %dx
1:  in %dx, %al
    test $0x20, %al
    jz 1b
    mov $0x3f8, %dx
    mov %bl, %al
    out %al, %dx
    jmp com1_puts
2:  ret
e9_puts:
    lodsb
    test %al, %al
    jz 1f
    out %al, $0xe9
    jmp e9_puts
1:  ret
e9_hex:                                        # EAX as 0x and 8 hex digits
    mov %eax, %edx
    mov $'0', %al
    out %al, $0xe9
    mov $'x', %al
    out %al, $0xe9
    mov $8, %ecx
1:  rol $4, %edx
    mov %edx, %eax
    and $0xf, %eax
    mov hex(%eax), %al
    out %al, $0xe9
    loop 1b
    ret

hex:   .ascii "0123456789abcdef"
s_cmd: .asciz "mb-elf: cmdline '"
s_end: .asciz "'\n"
s_mem: .asciz "mb-elf: mem_upper "
s_kib: .asciz " KiB\n"
    .balign 8
gdt:   .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff
gdtr:  .word 23
       .long gdt
file_end:
.set bss_word, file_end
.set stack_top, file_end + 4096
.set bss_end, file_end + 4096
