# vlab-guest: 32
# vlab-base: 0x200000
# A Multiboot kernel that is not an ELF (the "a.out kludge"): header flag 16 and its address
# fields say where the file goes (2 MiB), where the bss ends and where to enter. Checks EAX
# and its zeroed bss, prints its command line on port 0xe9, ends through isa-debug-exit
# with 6 (0xe1: wrong EAX, 0xe3: bss not zeroed).
.code32
start:
    jmp _start
    .balign 4
mb_header:
    .long 0x1badb002, 0x10002, -(0x1badb002 + 0x10002)
    .long mb_header, start, load_end, bss_end, _start
_start:
    cmp $0x2badb002, %eax
    jne 8f
    cmpl $0, bss_word
    jne 9f
    mov $s_cmd, %esi
    call puts
    mov 16(%ebx), %esi
    call puts
    mov $s_end, %esi
    call puts
    mov $6, %eax
    out %eax, $0xf4
    hlt
8:  mov $0xe1, %eax
    out %eax, $0xf4
    hlt
9:  mov $0xe3, %eax
    out %eax, $0xf4
    hlt
puts:
    lodsb
    test %al, %al
    jz 1f
    out %al, $0xe9
    jmp puts
1:  ret
s_cmd: .asciz "mb-flat: cmdline '"
s_end: .asciz "'\n"
    .balign 4
load_end:
.set bss_word, load_end
.set bss_end, load_end + 0x100
