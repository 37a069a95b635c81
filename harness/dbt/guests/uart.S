# vlab-guest: 32
# vlab-base: 0x1000
# A polling 16550 driver: programs the line, prints a banner, then echoes its input in upper
# case until no byte is waiting.
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
main:
    mov $COM1 + 3, %dx
    mov $0x80, %al          # DLAB
    out %al, %dx
    mov $COM1, %dx
    mov $1, %al             # divisor 1: 115200 baud
    out %al, %dx
    mov $COM1 + 1, %dx
    xor %al, %al
    out %al, %dx
    mov $COM1 + 3, %dx
    mov $3, %al             # 8N1
    out %al, %dx
    mov $COM1 + 2, %dx
    mov $1, %al             # FIFOs on (without clearing the input already queued)
    out %al, %dx
    mov $COM1 + 7, %dx
    mov $0x5a, %al          # scratch register round trip
    out %al, %dx
    in %dx, %al
    mov %al, 0x8000
    mov $banner, %esi
    call puts
echo:
    mov $COM1 + 5, %dx
    in %dx, %al
    test $1, %al
    jz done
    mov $COM1, %dx
    in %dx, %al
    cmp $'a', %al
    jb 1f
    cmp $'z', %al
    ja 1f
    sub $0x20, %al
1:  call putc
    incl 0x8004
    jmp echo
done:
    mov $'\n', %al
    call putc
    hlt
banner:
    .asciz "hello from the translated guest\n"
