# vlab-guest: 64
# vlab-base: 0x10000
# An endless loop with no VM exit at all: only the watchdog stops it.
.code64
1:  jmp 1b
