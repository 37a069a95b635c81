/* A freestanding C guest (ELF64, long mode): greets through one console hypercall, asks the
 * VMM about the machine, prints the RAM size in hex, and exits with code 0xc0de. */
#include <stdint.h>

#define HC_CONSOLE_WRITE 1
#define HC_GET_INFO      2
#define HC_EXIT          3

struct info {
    uint64_t ram_size;
    uint32_t mode, backend;
    uint64_t exits;
};

static inline long hypercall(long nr, uint64_t a0, uint64_t a1) {
    long ret;
    __asm__ volatile("outl %%eax, $0xf6" : "=a"(ret) : "a"(nr), "b"(a0), "c"(a1) : "memory");
    return ret;
}

static uint64_t len(const char *s) {
    uint64_t n = 0;
    while (s[n])
        n++;
    return n;
}

static void puts_hc(const char *s) {
    hypercall(HC_CONSOLE_WRITE, (uint64_t)s, len(s));
}

__attribute__((section(".text.start"), noreturn)) void _start(void) {
    static struct info info;
    static char line[] = "RAM: 0x0000000000000000 bytes\n";
    puts_hc("Hello from C in long mode!\n");
    if (hypercall(HC_GET_INFO, (uint64_t)&info, 0) == 0) {
        for (int i = 0; i < 16; i++)
            line[7 + i] = "0123456789abcdef"[(info.ram_size >> (60 - 4 * i)) & 0xf];
        puts_hc(line);
    }
    hypercall(HC_EXIT, 0xc0de, 0);
    for (;;)
        __asm__ volatile("hlt");
}
