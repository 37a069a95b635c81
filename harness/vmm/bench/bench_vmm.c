/* make bench: the VMM on each backend this machine has. VM exits per second (a guest doing
 * OUT to an unowned port, 200,000 exits), guest start to the first serial byte, and the same
 * 16 lines printed one byte per exit (UART) and one hypercall per line. Medians of RUNS runs.
 * On /dev/kvm also the exit cost against a bare KVM_RUN loop (raw ioctls, nothing per exit but
 * the exit reason check) running the same storm guest's bytes in real mode, beside the VMM
 * on the kvm backend in real mode: what the backend and vmm_run add to each exit; and the
 * start-up, process start to the guest's first byte, of vlab-vmm against kvm-hello-raw
 * (kvm-hello-world's sequence, harness/vmm/bench/raw/), same guest, interleaved.
 * Writes build/bench/vmm.md and prints it. Reports only: no bound on time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchjson.h"
#include "tool.h"
#include "vlab/loader.h"
#include "vlab/stats.h"
#include "vmm.h"

#define RUNS       7
#define STORM      200000 /* exits per run; VLAB_VMM_BENCH_EXITS overrides */
#define LINES_FLAG 0x500  /* lines.bin: 0 = UART, 1 = hypercall per line */

static char guest_dir[PATH_MAX + 16];
static char exe_dir[PATH_MAX];
static uint64_t storm = STORM;

/* Time of the first byte the guest prints: the console's echo stream is this cookie. */
struct first_byte {
    uint64_t at;
};
static ssize_t first_write(void *c, const char *buf, size_t len) {
    struct first_byte *f = c;
    (void)buf;
    if (!f->at && len) f->at = vlab_now_ns();
    return (ssize_t)len;
}

struct run {
    uint64_t boot_ns;  /* vmm_create + vmm_load + vmm_setup_mode */
    uint64_t run_ns;   /* vmm_run */
    uint64_t first_ns; /* vmm_run start to the first console byte */
    uint64_t exits;
    uint64_t bytes;
    enum vmm_outcome outcome;
};

static int run_guest_mode(enum vlab_hv_kind kind, enum vmm_mode mode, const char *file,
                          uint8_t flag, uint64_t max_exits, struct run *out) {
    char path[PATH_MAX + 64], err[256];
    snprintf(path, sizeof path, "%s/%s", guest_dir, file);
    void *image;
    size_t len;
    if (vlab_read_file(path, 1u << 24, &image, &len, err, sizeof err) != VLAB_OK) {
        fprintf(stderr, "bench-vmm: %s\n", err);
        return -1;
    }
    struct first_byte fb = {0};
    FILE *echo = fopencookie(&fb, "w", (cookie_io_functions_t){.write = first_write});
    setvbuf(echo, NULL, _IONBF, 0);
    struct vmm_config cfg = {.backend = kind,
                             .mode = mode,
                             .ram_size = 16u << 20,
                             .watchdog_us = 5000000,
                             .max_exits = max_exits,
                             .echo = echo};
    static struct vmm vm;
    memset(&vm, 0, sizeof vm);
    struct vmm_result res;
    int rc = -1;
    uint64_t t0 = vlab_now_ns();
    if (vmm_create(&vm, &cfg) != VLAB_OK || vmm_load(&vm, image, len) != VLAB_OK ||
        vlab_gpmem_write_u8(&vm.mem, LINES_FLAG, flag) != VLAB_OK ||
        vmm_setup_mode(&vm) != VLAB_OK) {
        fprintf(stderr, "bench-vmm: %s on %s: %s\n", file, vlab_hv_kind_name(kind), vm.err);
        goto out;
    }
    uint64_t t1 = vlab_now_ns();
    vmm_run(&vm, &res);
    uint64_t t2 = vlab_now_ns();
    *out = (struct run){.boot_ns = t1 - t0,
                        .run_ns = t2 - t1,
                        .first_ns = fb.at ? fb.at - t1 : 0,
                        .exits = vlab_hv_exit_count(vm.vcpu),
                        .bytes = vm.console.total,
                        .outcome = res.outcome};
    rc = 0;
out:
    vmm_destroy(&vm);
    fclose(echo);
    free(image);
    return rc;
}

static int run_guest(enum vlab_hv_kind kind, const char *file, uint8_t flag, uint64_t max_exits,
                     struct run *out) {
    return run_guest_mode(kind, VMM_MODE_LONG, file, flag, max_exits, out);
}

/* The floor: KVM_RUN in a loop on raw file descriptors, the image at 0x10000 entered in real
 * mode at CS = 0x1000 (the storm's bytes mean the same in 16-bit code), exits counted and
 * nothing else done. out->run_ns covers the exits only. With timers, a POSIX timer is armed
 * before and disarmed after each KVM_RUN, as the kvm backend's watchdog does: its share of
 * the gap. */
#if defined(__x86_64__)
static int bare_kvm(const void *image, size_t len, uint64_t exits, bool timers, struct run *out) {
    const size_t ram = 1u << 20;
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vmfd = -1, vcpu = -1, rc = -1;
    void *mem = mmap(NULL, ram, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct kvm_run *run = MAP_FAILED;
    long runsz = -1;
    if (kvm < 0 || mem == MAP_FAILED || len > ram - 0x10000) goto out;
    memcpy((uint8_t *)mem + 0x10000, image, len);
    if ((vmfd = ioctl(kvm, KVM_CREATE_VM, 0)) < 0) goto out;
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = ram, .userspace_addr = (uint64_t)mem};
    if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &region) < 0) goto out;
    if ((vcpu = ioctl(vmfd, KVM_CREATE_VCPU, 0)) < 0) goto out;
    if ((runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0) goto out;
    run = mmap(NULL, (size_t)runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) goto out;
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) goto out;
    sregs.cs.selector = 0x1000;
    sregs.cs.base = 0x10000;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) goto out;
    struct kvm_regs regs = {.rip = 0, .rsp = 0xfff0, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) goto out;
    timer_t timer;
    struct sigevent sev = {.sigev_notify = SIGEV_NONE};
    if (timers && timer_create(CLOCK_MONOTONIC, &sev, &timer) < 0) goto out;
    const struct itimerspec arm = {.it_value = {.tv_sec = 5}}, disarm = {{0, 0}, {0, 0}};
    uint64_t t0 = vlab_now_ns(), n = 0;
    for (; n < exits; n++) {
        if (timers) timer_settime(timer, 0, &arm, NULL);
        int r = ioctl(vcpu, KVM_RUN, 0);
        if (timers) timer_settime(timer, 0, &disarm, NULL);
        if (r < 0 || run->exit_reason != KVM_EXIT_IO) break;
    }
    if (timers) timer_delete(timer);
    *out = (struct run){.run_ns = vlab_now_ns() - t0, .exits = n, .outcome = VMM_LIMIT};
    rc = n == exits ? 0 : -1;
    if (rc)
        fprintf(stderr, "bench-vmm: bare KVM_RUN loop stopped after %llu exits (reason %u)\n",
                (unsigned long long)n, run->exit_reason);
out:
    if (run != MAP_FAILED) munmap(run, (size_t)runsz);
    if (vcpu >= 0) close(vcpu);
    if (vmfd >= 0) close(vmfd);
    if (kvm >= 0) close(kvm);
    if (mem != MAP_FAILED) munmap(mem, ram);
    return rc;
}
#else
/* KVM's x86 registers and segments: never reached on another host (main skips kvm there). */
static int bare_kvm(const void *image, size_t len, uint64_t exits, bool timers, struct run *out) {
    (void)image, (void)len, (void)exits, (void)timers, (void)out;
    return -1;
}
#endif

/* Process start to the first byte the program writes on stdout (a pipe), in ns; 0 if none.
 * The whole process is timed, exec and dynamic linking included, as a user waits for it. */
static uint64_t first_byte_ns(char *const argv[]) {
    int p[2];
    if (pipe(p) < 0) return 0;
    uint64_t t0 = vlab_now_ns(), at = 0;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 2);
        close(p[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    char c;
    if (pid > 0 && read(p[0], &c, 1) == 1) at = vlab_now_ns() - t0;
    while (pid > 0 && read(p[0], &c, 1) > 0) {
    }
    close(p[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    return at;
}

/* Issue 14: vlab-vmm on kvm against kvm-hello-world's start-up sequence (kvm-hello-raw, built
 * beside this binary; VLAB_KVM_HELLO_WORLD may name the real kvm-hello-world, run with -l),
 * the same guest, interleaved, medians of STARTS runs. */
#define STARTS 21
static int bench_startup(char *table, size_t cap, size_t *len) {
    char vmm[PATH_MAX + 16], raw[PATH_MAX + 16], guest[PATH_MAX + 32];
    snprintf(vmm, sizeof vmm, "%s/vlab-vmm", exe_dir);
    snprintf(raw, sizeof raw, "%s/kvm-hello-raw", exe_dir);
    snprintf(guest, sizeof guest, "%s/zero_long.bin", guest_dir);
    char *const av_vmm[] = {vmm, "--backend", "kvm", "--mode", "long", "--load",
                            "0", "--entry",   "0",   guest,    NULL};
    char *const av_raw[] = {raw, guest, NULL};
    const char *khw = getenv("VLAB_KVM_HELLO_WORLD");
    char *const av_khw[] = {(char *)khw, "-l", NULL};
    uint64_t v[STARTS], r[STARTS], k[STARTS];
    for (int i = 0; i < STARTS; i++) {
        v[i] = first_byte_ns(av_vmm);
        r[i] = first_byte_ns(av_raw);
        k[i] = khw ? first_byte_ns(av_khw) : 1;
        if (!v[i] || !r[i] || !k[i]) {
            fprintf(stderr, "bench-vmm: start-up: %s printed nothing\n",
                    !v[i]   ? vmm
                    : !r[i] ? raw
                            : khw);
            return -1;
        }
    }
    double mv = (double)vlab_median_u64(v, STARTS) / 1e6,
           mr = (double)vlab_median_u64(r, STARTS) / 1e6;
    *len += (size_t)snprintf(table + *len, cap - *len,
                             "\nStart-up on kvm, process start to the guest's first byte "
                             "(zero_long.bin, medians of %d interleaved runs): vlab-vmm %.2f ms, "
                             "kvm-hello-raw (kvm-hello-world's sequence in raw ioctls) %.2f ms: "
                             "%.2fx (goal: under 2x)",
                             STARTS, mv, mr, mv / mr);
    if (khw) {
        double mk = (double)vlab_median_u64(k, STARTS) / 1e6;
        *len += (size_t)snprintf(table + *len, cap - *len, "; kvm-hello-world -l %.2f ms: %.2fx",
                                 mk, mv / mk);
    }
    *len += (size_t)snprintf(table + *len, cap - *len, ".\n");
    return 0;
}

/* Median over RUNS runs of one field. */
#define MEDIAN(runs, field)                                                                        \
    ({                                                                                             \
        uint64_t v_[RUNS];                                                                         \
        for (int i_ = 0; i_ < RUNS; i_++)                                                          \
            v_[i_] = (runs)[i_].field;                                                             \
        vlab_median_u64(v_, RUNS);                                                                 \
    })

/* The table's row as data; the VM start is create + load + mode set-up + run to the first byte. */
static void bench_json(const char *name, double rate, struct run *hello, struct run *uart,
                       struct run *hc) {
    char id[64];
    snprintf(id, sizeof id, "exits_per_s.%s", name);
    hlib_bench_value(id, "M exits/s", rate / 1e6, RUNS, name);
    snprintf(id, sizeof id, "vm_start.%s", name);
    hlib_bench_value(id, "ms", (double)(MEDIAN(hello, boot_ns) + MEDIAN(hello, first_ns)) / 1e6,
                     RUNS, name);
    struct {
        const char *how;
        struct run *r;
    } lines[] = {{"uart", uart}, {"hypercall", hc}};
    for (int i = 0; i < 2; i++) {
        uint64_t exits = MEDIAN(lines[i].r, exits), bytes = MEDIAN(lines[i].r, bytes);
        snprintf(id, sizeof id, "%s.exits.%s", lines[i].how, name);
        hlib_bench_value(id, "exits", (double)exits, RUNS, name);
        snprintf(id, sizeof id, "%s.bytes.%s", lines[i].how, name);
        hlib_bench_value(id, "bytes", (double)bytes, RUNS, name);
        snprintf(id, sizeof id, "%s.exits_per_byte.%s", lines[i].how, name);
        hlib_bench_value(id, "exits per byte", bytes ? (double)exits / (double)bytes : NAN, RUNS,
                         name);
    }
}

static int bench_backend(enum vlab_hv_kind kind, char *table, size_t cap, size_t *len) {
    struct run storms[RUNS], hello[RUNS], uart[RUNS], hc[RUNS];
    for (int i = 0; i < RUNS; i++)
        if (run_guest(kind, "io_storm.bin", 0, storm, &storms[i]) ||
            run_guest(kind, "hello_long.bin", 0, 0, &hello[i]) ||
            run_guest(kind, "lines.bin", 0, 0, &uart[i]) ||
            run_guest(kind, "lines.bin", 1, 0, &hc[i]))
            return -1;
    const char *name = vlab_hv_kind_name(kind);
    /* harness/vm sets it: KVM there runs on SVM that QEMU emulates in software. */
    const char *note = kind == VLAB_HV_KVM && getenv("VLAB_IN_TEST_VM")
                           ? " (emulated SVM in the QEMU test VM)"
                           : "";
    double rate = (double)MEDIAN(storms, exits) * 1e9 / (double)MEDIAN(storms, run_ns);
    bench_json(name, rate, hello, uart, hc);
    *len += (size_t)snprintf(
        table + *len, cap - *len,
        "| %s%s | %.2f M | %.1f µs | %.1f µs | %llu / %llu | %llu / %llu |\n", name, note,
        rate / 1e6, (double)MEDIAN(hello, boot_ns) / 1e3, (double)MEDIAN(hello, first_ns) / 1e3,
        (unsigned long long)MEDIAN(uart, exits), (unsigned long long)MEDIAN(uart, bytes),
        (unsigned long long)MEDIAN(hc, exits), (unsigned long long)MEDIAN(hc, bytes));
    return 0;
}

/* Issue 14 item 4: exits/s of the VMM on the kvm backend against the bare loop, same bytes,
 * same mode, same count, interleaved so both see the same machine load. */
static int bench_exit_cost(char *table, size_t cap, size_t *len) {
    char path[PATH_MAX + 64], err[256];
    snprintf(path, sizeof path, "%s/io_storm.bin", guest_dir);
    void *image;
    size_t ilen;
    if (vlab_read_file(path, 1u << 24, &image, &ilen, err, sizeof err) != VLAB_OK) {
        fprintf(stderr, "bench-vmm: %s\n", err);
        return -1;
    }
    struct run vmm[RUNS], bare[RUNS], timed[RUNS];
    int rc = 0;
    for (int i = 0; i < RUNS && !rc; i++)
        rc = run_guest_mode(VLAB_HV_KVM, VMM_MODE_REAL, "io_storm.bin", 0, storm, &vmm[i]) ||
             bare_kvm(image, ilen, storm, false, &bare[i]) ||
             bare_kvm(image, ilen, storm, true, &timed[i]);
    free(image);
    if (rc) return -1;
    double v = (double)MEDIAN(vmm, exits) * 1e9 / (double)MEDIAN(vmm, run_ns);
    double b = (double)MEDIAN(bare, exits) * 1e9 / (double)MEDIAN(bare, run_ns);
    double t = (double)MEDIAN(timed, exits) * 1e9 / (double)MEDIAN(timed, run_ns);
    *len += (size_t)snprintf(table + *len, cap - *len,
                             "\nExit cost on kvm, real mode, %llu exits: the VMM on the kvm "
                             "backend %.3f M exits/s, a bare KVM_RUN loop %.3f M exits/s "
                             "(%.2fx of the bare loop); the bare loop arming and disarming a "
                             "timer around each KVM_RUN, as the backend's watchdog does, "
                             "%.3f M exits/s (%.2fx).\n",
                             (unsigned long long)storm, v / 1e6, b / 1e6, v / b, t / 1e6, t / b);
    return 0;
}

int main(int argc, char **argv) {
    (void)argc;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return 1;
    exe[n] = 0;
    *strrchr(exe, '/') = 0;
    snprintf(exe_dir, sizeof exe_dir, "%s", exe);
    snprintf(guest_dir, sizeof guest_dir, "%s/guests", exe);
    const char *env = getenv("VLAB_VMM_BENCH_EXITS");
    if (env && strtoull(env, NULL, 0) > 0) storm = strtoull(env, NULL, 0);
    char table[4096];
    size_t len = (size_t)snprintf(
        table, sizeof table,
        "# vmm: VM exits on each backend (%s)\n\n"
        "Medians of %d runs. Exits/s: a guest doing OUT to an unowned port, %llu exits. Boot: "
        "vmm_create + vmm_load + vmm_setup_mode. First byte: vmm_run start to the guest's first "
        "serial byte. Lines: the same 16 lines (exits / bytes) through the UART, one exit per "
        "byte plus the LSR poll, and through one hypercall per line.\n\n"
        "| backend | exits/s | boot | first byte | UART exits / bytes | hypercall exits / bytes |\n"
        "|---|---:|---:|---:|---:|---:|\n",
        strstr(argv[0], "/reference/") ? "reference/vmm" : "labs/vmm", RUNS,
        (unsigned long long)storm);
    if (bench_backend(VLAB_HV_UNICORN, table, sizeof table, &len)) return 1;
#if defined(__x86_64__)
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    char why[128];
    snprintf(why, sizeof why, "/dev/kvm: %s", strerror(errno));
#else
    int fd = -1;
    const char *why = "the kvm backend needs an x86-64 host";
#endif
    if (fd >= 0) {
        close(fd);
        if (bench_backend(VLAB_HV_KVM, table, sizeof table, &len)) return 1;
        if (bench_exit_cost(table, sizeof table, &len)) return 1;
        if (bench_startup(table, sizeof table, &len)) return 1;
    } else {
        len += (size_t)snprintf(table + len, sizeof table - len,
                                "| kvm | not measured: %s | | | | |\n", why);
        hlib_bench_missing("vm_start.kvm", "ms", "kvm", why);
        hlib_bench_missing("uart.exits_per_byte.kvm", "exits per byte", "kvm", why);
        hlib_bench_missing("hypercall.exits_per_byte.kvm", "exits per byte", "kvm", why);
    }
    int rc = hlib_bench_table("vmm", table) ? 1 : 0;
    return hlib_bench_json("vmm") ? 1 : rc;
}
