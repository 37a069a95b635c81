# vlab-guest: 32
# vlab-base: 0x1000
# call/ret-heavy recursion: fib(18), Ackermann(2, 3), and a callee that checks the return
# address it was given is the guest's own (a translator must push guest addresses).
.code32
start:
    jmp main
.include "harness/dbt/guests/common.inc"
main:
    mov $18, %eax
    call fib
    mov %eax, 0x8000
    call puthex
    mov $2, %eax
    mov $3, %ebx
    call ack
    mov %eax, 0x8004
    call puthex
    mov $100, %ecx
1:  call whoami
back:
    cmp $back, %eax
    je 2f
    incl 0x8008             # a return address that is not the guest's
2:  loop 1b
    mov 0x8008, %eax
    call puthex
    hlt

fib:                        # eax = fib(eax)
    cmp $2, %eax
    jb 1f
    push %eax
    dec %eax
    call fib
    xchg %eax, (%esp)
    sub $2, %eax
    call fib
    pop %ecx
    add %ecx, %eax
1:  ret

ack:                        # eax = A(eax, ebx)
    test %eax, %eax
    jnz 1f
    lea 1(%ebx), %eax
    ret
1:  test %ebx, %ebx
    jnz 2f
    dec %eax
    mov $1, %ebx
    jmp ack
2:  push %eax
    dec %ebx
    call ack
    mov %eax, %ebx
    pop %eax
    dec %eax
    jmp ack

whoami:
    mov (%esp), %eax
    ret
