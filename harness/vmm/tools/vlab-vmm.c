/* vlab-vmm: runs a guest image on the VMM built from labs/vmm (or reference/vmm), prints
 * what the guest writes to its serial console, and says how it ended.
 *   vlab-vmm [--backend kvm|unicorn|auto] [--mode real|protected|long] [--mem SIZE]
 *            [--trace-exits] [--exits] [--watchdog MS] [--max-exits N] [--max-output BYTES]
 *            [--disk SECTORS] [--load ADDR] [--entry ADDR] [--cmdline TEXT] GUEST
 * Exit status, as QEMU's with isa-debug-exit: (v << 1) | 1 (low 8 bits) when the guest
 * reported v (port 0xf4 or VMM_HC_EXIT), 0 when it halted, 1 when it crashed or was stopped,
 * 2 for a usage error or an image that cannot be loaded. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "vlab/loader.h"
#include "vmm.h"

static void usage(FILE *out) {
    fprintf(out, "usage: vlab-vmm [--backend kvm|unicorn|auto] [--mode real|protected|long]\n"
                 "                [--mem SIZE] [--trace-exits] [--exits] [--watchdog MS]\n"
                 "                [--max-exits N] [--max-output BYTES] [--disk SECTORS]\n"
                 "                [--load ADDR] [--entry ADDR] [--cmdline TEXT] GUEST\n"
                 "  GUEST is a Multiboot kernel (entered in protected mode, --cmdline for it),\n"
                 "  an ELF32 or ELF64 executable (both where their headers say), or a flat\n"
                 "  binary: loaded at --load (default 0x10000), entered at --entry (default:\n"
                 "  the load address).\n"
                 "  SIZE takes K, M or G (default 16M); the mode defaults to long.\n"
                 "  Exit status: (v << 1) | 1 when the guest reported v (QEMU's isa-debug-exit),\n"
                 "  0 when it halted, 1 when it crashed or was stopped, 2 for bad usage.\n");
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
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    bool entry_set = false, load_set = false;
    int c;
    while ((c = getopt_long(argc, argv, "b:m:M:tew:x:o:d:L:E:c:h", opts, NULL)) != -1) {
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
            break;
        case 'M':
            if (!(cfg.ram_size = hlib_parse_size(optarg))) {
                fprintf(stderr, "vlab-vmm: bad memory size '%s'\n", optarg);
                return 2;
            }
            break;
        case 't': cfg.trace = stderr; break;
        case 'e': histogram = true; break;
        case 'w': cfg.watchdog_us = strtoull(optarg, NULL, 0) * 1000; break;
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
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
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
