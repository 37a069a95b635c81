# vlab-guest: 64
# Never exits: only the watchdog ends the run.
.code64
start:
    inc %rax
    jmp start
