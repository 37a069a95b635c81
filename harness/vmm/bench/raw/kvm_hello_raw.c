/* make bench: the start-up yardstick for vlab-vmm. kvm-hello-world's long-mode path
 * (github.com/dpw/kvm-hello-world) in raw ioctls and nothing else: /dev/kvm, a VM with its TSS
 * address, 2 MiB of RAM, one vCPU, one 2 MiB identity page, flat 64-bit segments held only in
 * the hidden parts, then KVM_RUN until HLT, each OUT to port 0xe9 written to stdout at once
 * (an IN from it reads 0xe9). bench-vmm times process start to the first byte on stdout for
 * this and for vlab-vmm on the same guest. Built alone (libc only), as kvm-hello-world is.
 *   kvm-hello-raw GUEST   (a flat image linked at 0, e.g. guests/zero_long.bin) */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM (2u << 20)

static int die(const char *what) {
    perror(what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) return fprintf(stderr, "usage: kvm-hello-raw GUEST\n"), 2;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) return die("/dev/kvm");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0 || ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000) < 0) return die("KVM_CREATE_VM");
    uint8_t *mem =
        mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) return die("mmap");
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = RAM, .userspace_addr = (uintptr_t)mem};
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return die("KVM_SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    long size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vcpu < 0 || size <= 0) return die("KVM_CREATE_VCPU");
    struct kvm_run *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) return die("mmap kvm_run");
    FILE *g = fopen(argv[1], "rb");
    if (!g) return die(argv[1]);
    size_t len = fread(mem, 1, 0x2000, g); /* below the page tables */
    fclose(g);
    if (!len) return die("empty guest");

    uint64_t *pml4 = (uint64_t *)(mem + 0x2000), *pdpt = (uint64_t *)(mem + 0x3000),
             *pd = (uint64_t *)(mem + 0x4000);
    pml4[0] = 0x3000 | 7;
    pdpt[0] = 0x4000 | 7;
    pd[0] = 0x87; /* P RW US PS: 0..2 MiB */
    struct kvm_sregs s;
    if (ioctl(vcpu, KVM_GET_SREGS, &s) < 0) return die("KVM_GET_SREGS");
    s.cr3 = 0x2000;
    s.cr4 = 1u << 5; /* PAE */
    s.cr0 = 1u | 1u << 1 | 1u << 4 | 1u << 5 | 1u << 16 | 1u << 18 |
            1u << 31;            /* PE MP ET NE WP AM PG */
    s.efer = 1u << 8 | 1u << 10; /* LME LMA */
    struct kvm_segment seg = {
        .limit = 0xffffffff, .selector = 8, .present = 1, .type = 11, .s = 1, .l = 1, .g = 1};
    s.cs = seg;
    seg.type = 3, seg.selector = 16;
    s.ds = s.es = s.fs = s.gs = s.ss = seg;
    if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0) return die("KVM_SET_SREGS");
    struct kvm_regs r = {.rflags = 2, .rip = 0, .rsp = RAM};
    if (ioctl(vcpu, KVM_SET_REGS, &r) < 0) return die("KVM_SET_REGS");

    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0) < 0) return die("KVM_RUN");
        if (run->exit_reason == KVM_EXIT_HLT) return 0;
        if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0xe9) {
            fprintf(stderr, "kvm-hello-raw: exit %u\n", run->exit_reason);
            return 1;
        }
        uint8_t *d = (uint8_t *)run + run->io.data_offset;
        size_t n = (size_t)run->io.size * run->io.count;
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            if (write(1, d, n) < 0) return die("write");
        } else {
            memset(d, 0xe9, n);
        }
    }
}
