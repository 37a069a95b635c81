/* vlab-vmm: runs a guest image on the VMM built from labs/vmm (or reference/vmm), prints
 * what the guest writes to its serial console, and says how it ended.
 *   vlab-vmm [--backend kvm|unicorn|auto] [--mode real|protected|long] [--mem SIZE]
 *            [--trace-exits] [--exits] [--watchdog MS] [--max-exits N] [--max-output BYTES]
 *            [--disk SECTORS] [--load ADDR] [--entry ADDR] [--cmdline TEXT] GUEST
 *   vlab-vmm --linux BZIMAGE [--initrd FILE] [--cmdline TEXT] [--mem SIZE] [--backend kvm]
 *            [--trace-exits] [--watchdog MS] [--max-exits N]
 * Exit status, as QEMU's with isa-debug-exit: (v << 1) | 1 (low 8 bits) when the guest
 * reported v (port 0xf4 or VMM_HC_EXIT), 0 when it halted, 1 when it crashed or was stopped,
 * 2 for a usage error or an image that cannot be loaded. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"
#include "tool.h"
#include "vlab/loader.h"
#include "vmm.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: vlab-vmm [--backend kvm|unicorn|auto] [--mode real|protected|long]\n"
            "                [--mem SIZE] [--trace-exits] [--exits] [--watchdog MS]\n"
            "                [--max-exits N] [--max-output BYTES] [--disk SECTORS]\n"
            "                [--load ADDR] [--entry ADDR] [--cmdline TEXT] GUEST\n"
            "       vlab-vmm --linux BZIMAGE [--initrd FILE] [--cmdline TEXT] [--mem SIZE]\n"
            "                [--backend kvm] [--trace-exits] [--watchdog MS] [--max-exits N]\n"
            "  GUEST is a Multiboot kernel (entered in protected mode, --cmdline for it),\n"
            "  an ELF32 or ELF64 executable (both where their headers say), or a flat\n"
            "  binary: loaded at --load (default 0x10000), entered at --entry (default:\n"
            "  the load address).\n"
            "  SIZE takes K, M or G (default 16M); the mode defaults to long.\n"
            "  --linux boots a bzImage by the 64-bit boot protocol on a minimal PC (kvm only:\n"
            "  in-kernel interrupt controllers and PIT, COM1 on IRQ 4); RAM defaults to 256M,\n"
            "  the watchdog to 120 s. It ends when the guest writes port 0xf4 or reboots.\n"
            "  Exit status: (v << 1) | 1 when the guest reported v (QEMU's isa-debug-exit),\n"
            "  0 when it halted (or, --linux, rebooted), 1 when it crashed or was stopped,\n"
            "  2 for bad usage.\n");
}

/* A guest-physical address: the whole argument a number, or a usage error. */
static bool parse_addr(const char *s, uint64_t *v) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-') return false;
    *v = x;
    return true;
}

/* --linux: the harness's own PC (linux.h), not the lab's VMM. */
static int boot_linux(const struct vmm_config *vc, const char *kpath, const char *ipath,
                      bool mem_set, bool watchdog_set) {
    char err[256];
    void *kernel = NULL, *initrd = NULL;
    size_t klen = 0, ilen = 0;
    if (vlab_read_file(kpath, 1u << 30, &kernel, &klen, err, sizeof err) != VLAB_OK ||
        (ipath && vlab_read_file(ipath, 1u << 30, &initrd, &ilen, err, sizeof err) != VLAB_OK)) {
        fprintf(stderr, "vlab-vmm: %s\n", err);
        free(kernel);
        return 2;
    }
    struct vmm_linux_config cfg = {
        .backend = vc->backend,
        .ram_size = mem_set ? vc->ram_size : 0,
        .kernel = kernel,
        .kernel_len = klen,
        .initrd = initrd,
        .initrd_len = ilen,
        .cmdline = vc->cmdline,
        .watchdog_us = watchdog_set ? vc->watchdog_us : 0,
        .max_exits = vc->max_exits,
        .echo = vc->echo,
        .trace = vc->trace,
    };
    static struct vmm_linux_result res;
    int rc = vmm_linux_boot(&cfg, &res);
    free(kernel);
    free(initrd);
    if (res.outcome == VMM_LINUX_REFUSED) {
        fprintf(stderr, "vlab-vmm: --linux %s: %s\n", kpath, res.why);
        return 2;
    }
    (void)rc;
    const struct vlab_linux_layout *l = &res.layout;
    fprintf(stderr,
            "vlab-vmm: linux %s after %llu VM exits to the VMM (%llu IO, %llu UART, %llu MMIO, "
            "%llu to no device; %llu IRQ 4 edges; %llu console bytes): %s\n",
            vmm_linux_outcome_name(res.outcome), (unsigned long long)res.exits,
            (unsigned long long)res.io_exits, (unsigned long long)res.uart_exits,
            (unsigned long long)res.mmio_exits, (unsigned long long)res.unknown_io,
            (unsigned long long)res.irq_edges, (unsigned long long)res.console_bytes, res.why);
    char first[64] = "no console output";
    if (res.console_bytes)
        snprintf(first, sizeof first, "first console byte after %.2f s", res.first_byte_s);
    fprintf(stderr,
            "vlab-vmm: linux: kernel at %#llx (entry %#llx), initramfs at %#llx (%llu bytes), "
            "RAM %llu MiB; %s, whole run %.2f s\n",
            (unsigned long long)l->kernel, (unsigned long long)l->entry,
            (unsigned long long)l->initrd, (unsigned long long)l->initrd_size,
            (unsigned long long)(l->ram_size >> 20), first, res.total_s);
    switch (res.outcome) {
    case VMM_LINUX_EXITED: return (int)((res.code << 1 | 1) & 0xff);
    case VMM_LINUX_RESET: return 0;
    default: return 1;
    }
}

int main(int argc, char **argv) {
    struct vmm_config cfg = {
        .backend = VLAB_HV_AUTO,
        .mode = VMM_MODE_LONG,
        .ram_size = 16u << 20,
        .watchdog_us = 5u * 1000 * 1000,
        .echo = stdout,
    };
    bool histogram = false;
    uint32_t sectors = 64;
    static const struct option opts[] = {
        {"backend", required_argument, 0, 'b'},
        {"mode", required_argument, 0, 'm'},
        {"mem", required_argument, 0, 'M'},
        {"trace-exits", no_argument, 0, 't'},
        {"exits", no_argument, 0, 'e'},
        {"watchdog", required_argument, 0, 'w'},
        {"max-exits", required_argument, 0, 'x'},
        {"max-output", required_argument, 0, 'o'},
        {"disk", required_argument, 0, 'd'},
        {"load", required_argument, 0, 'L'},
        {"entry", required_argument, 0, 'E'},
        {"cmdline", required_argument, 0, 'c'},
        {"linux", required_argument, 0, 'K'},
        {"initrd", required_argument, 0, 'I'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    bool entry_set = false, load_set = false, mem_set = false, watchdog_set = false;
    bool mode_set = false;
    const char *linux_path = NULL, *initrd_path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "b:m:M:tew:x:o:d:L:E:c:K:I:h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (vlab_hv_kind_parse(optarg, &cfg.backend) != VLAB_OK) {
                fprintf(stderr, "vlab-vmm: unknown backend '%s' (kvm, unicorn, auto)\n", optarg);
                return 2;
            }
            break;
        case 'm':
            if (vmm_mode_parse(optarg, &cfg.mode) != VLAB_OK) {
                fprintf(stderr, "vlab-vmm: unknown mode '%s' (real, protected, long)\n", optarg);
                return 2;
            }
            mode_set = true;
            break;
        case 'M':
            if (!(cfg.ram_size = hlib_parse_size(optarg))) {
                fprintf(stderr, "vlab-vmm: bad memory size '%s'\n", optarg);
                return 2;
            }
            mem_set = true;
            break;
        case 't': cfg.trace = stderr; break;
        case 'e': histogram = true; break;
        case 'w':
            cfg.watchdog_us = strtoull(optarg, NULL, 0) * 1000;
            watchdog_set = true;
            break;
        case 'x': cfg.max_exits = strtoull(optarg, NULL, 0); break;
        case 'o': cfg.max_output = hlib_parse_size(optarg); break;
        case 'd': sectors = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'L':
        case 'E':
            if (!parse_addr(optarg, c == 'L' ? &cfg.load_gpa : &cfg.entry_gpa)) {
                fprintf(stderr, "vlab-vmm: bad address '%s' for --%s\n", optarg,
                        c == 'L' ? "load" : "entry");
                return 2;
            }
            cfg.place_flat = true;
            entry_set |= c == 'E';
            load_set |= c == 'L';
            break;
        case 'c': cfg.cmdline = optarg; break;
        case 'K': linux_path = optarg; break;
        case 'I': initrd_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (linux_path) {
        if (optind != argc) {
            fprintf(stderr, "vlab-vmm: --linux takes the kernel; drop the GUEST argument\n");
            return 2;
        }
        /* The boot protocol says where the kernel goes and how it starts: an address or a
         * mode given here would be ignored, and the user should know. */
        if (cfg.place_flat || mode_set) {
            fprintf(stderr, "vlab-vmm: --linux places the kernel and enters it in long mode as "
                            "the boot protocol says: drop --load, --entry and --mode\n");
            return 2;
        }
        return boot_linux(&cfg, linux_path, initrd_path, mem_set, watchdog_set);
    }
    if (initrd_path) {
        fprintf(stderr, "vlab-vmm: --initrd goes with --linux\n");
        return 2;
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    /* --entry alone keeps the default load address; --load alone enters at its first byte. */
    if (cfg.place_flat && !entry_set) cfg.entry_gpa = cfg.load_gpa;
    if (cfg.place_flat && !load_set) cfg.load_gpa = VMM_LOAD_GPA;
    char err[256];
    void *image;
    size_t len;
    if (vlab_read_file(argv[optind], 1u << 30, &image, &len, err, sizeof err) != VLAB_OK) {
        fprintf(stderr, "vlab-vmm: %s\n", err);
        return 2;
    }
    struct vmm_disk disk;
    if (vmm_disk_create(&disk, sectors, 1) != VLAB_OK) {
        fprintf(stderr, "vlab-vmm: cannot allocate the disk\n");
        return 1;
    }
    cfg.disk = &disk;
    static struct vmm vm; /* large: the exit histogram and the error text */
    int status = 1;
    struct vmm_result res;
    if (vmm_create(&vm, &cfg) != VLAB_OK) {
        fprintf(stderr, "vlab-vmm: cannot create the VM: %s\n", vm.err);
    } else if (vmm_load(&vm, image, len) != VLAB_OK) {
        fprintf(stderr, "vlab-vmm: cannot load %s: %s\n", argv[optind], vm.err);
        status = 2;
    } else if (cfg.place_flat && (vm.multiboot || vlab_is_elf(image, len))) {
        /* Silently ignoring the user's address would run the kernel somewhere they did not
         * ask for, or make them think it ran where they did. */
        fprintf(stderr,
                "vlab-vmm: --load and --entry place flat binaries; %s is %s, loaded where its "
                "%s says: drop them\n",
                argv[optind], vm.multiboot ? "a Multiboot kernel" : "an ELF executable",
                vm.multiboot ? "Multiboot header" : "ELF header");
        status = 2;
    } else if (vmm_setup_mode(&vm) != VLAB_OK) {
        fprintf(stderr, "vlab-vmm: cannot enter %s mode: %s\n", vmm_mode_name(cfg.mode), vm.err);
    } else {
        vmm_run(&vm, &res);
        fprintf(stderr, "vlab-vmm: %s on %s after %llu VM exits%s%s\n",
                vmm_outcome_name(res.outcome), vlab_hv_kind_name(vlab_hv_kind(vm.hv)),
                (unsigned long long)vlab_hv_exit_count(vm.vcpu), res.why[0] ? ": " : "", res.why);
        if (res.dump[0]) fputs(res.dump, stderr);
        if (histogram) vmm_print_exits(&vm, stderr);
        status = res.outcome == VMM_EXITED   ? (int)((res.code << 1 | 1) & 0xff)
                 : res.outcome == VMM_HALTED ? 0
                                             : 1;
    }
    vmm_destroy(&vm);
    vmm_disk_destroy(&disk);
    free(image);
    return status;
}
