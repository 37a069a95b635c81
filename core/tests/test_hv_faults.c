/* Guests that go wrong: each is reported as the exit KVM gives, and the call returns. */
#define _GNU_SOURCE /* unshare, CLONE_NEW* */
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hv_util.h"
#include "vlab/x86.h"

HV_TEST(watchdog_stops_endless_loop) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "loop_forever", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    cr_assert_eq(vlab_hv_set_watchdog(g.vcpu, 20000), VLAB_OK, "expected a watchdog: %s",
                 vlab_hv_error(g.hv));
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_TIMEOUT, "an endless loop under a 20 ms watchdog");
    struct vlab_regs r;
    vlab_hv_get_regs(g.vcpu, &r);
    cr_assert(r.rax > 1000, "expected the loop to have run (RAX counts), got %llu",
              (unsigned long long)r.rax);
    /* The vCPU stays usable: a second run times out again. */
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_TIMEOUT, "a second run of the endless loop");
    gvm_close(&g);
}

HV_TEST(watchdog_quiet_when_guest_exits) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "compute", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    vlab_hv_set_watchdog(g.vcpu, 2000000);
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_HLT, "a short guest under a 2 s watchdog");
    gvm_close(&g);
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The watchdog times each run, not the VMM: thousands of quick runs spread over many watchdog
 * periods (the VMM dawdling between them) never time out, and a run that never exits is cut no
 * sooner than one period after it began. Kills a watchdog armed once and never again, and one
 * that counts from an earlier run. */
HV_TEST(watchdog_times_each_run) {
    const uint64_t period_us = 20000, outs = 600;
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "out_count", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    struct vlab_regs r;
    vlab_hv_get_regs(g.vcpu, &r);
    r.rcx = outs;
    vlab_hv_set_regs(g.vcpu, &r);
    cr_assert_eq(vlab_hv_set_watchdog(g.vcpu, period_us), VLAB_OK, "expected a watchdog: %s",
                 vlab_hv_error(g.hv));
    double t0 = seconds_now();
    uint64_t n = 0;
    for (;;) {
        gvm_run(&g);
        if (g.exit.reason != VLAB_EXIT_IO) break;
        n++;
        usleep(500); /* the VMM's own time: 600 x 0.5 ms spans 15 watchdog periods */
    }
    expect_exit(&g, VLAB_EXIT_HLT, "quick runs, each far shorter than the watchdog");
    cr_assert_eq(n, outs, "expected %llu OUT exits, got %llu", (unsigned long long)outs,
                 (unsigned long long)n);
    cr_assert(seconds_now() - t0 > 5 * period_us / 1e6,
              "the quick runs took %.3f s: too short to span several watchdog periods",
              seconds_now() - t0);

    gvm_close(&g);

    /* a fresh vCPU: its first run arms the timer; the endless run starts 0.2 periods later,
     * so the first expiry comes 0.8 periods into it, which must not end it. The scenario holds
     * only if the endless run did start within half a period (a loaded machine may sleep
     * longer): measured, and tried again when it did not. */
    const uint64_t long_us = 200000;
    double ran = 0, gap = 0;
    for (int attempt = 0; attempt < 5; attempt++) {
        gvm_open(&g, kind);
        gvm_load(&g, "out_count", GUEST_GPA);
        gvm_enter(&g, LONG, GUEST_GPA);
        vlab_hv_get_regs(g.vcpu, &r);
        r.rcx = 1;
        vlab_hv_set_regs(g.vcpu, &r);
        cr_assert_eq(vlab_hv_set_watchdog(g.vcpu, long_us), VLAB_OK);
        double armed = seconds_now();
        gvm_run(&g);
        expect_exit(&g, VLAB_EXIT_IO, "the one OUT");
        gvm_run(&g);
        expect_exit(&g, VLAB_EXIT_HLT, "the HLT after the one OUT");
        usleep((useconds_t)(long_us / 5));
        gvm_load(&g, "loop_forever", GUEST_GPA);
        gvm_enter(&g, LONG, GUEST_GPA);
        double t1 = seconds_now();
        gap = t1 - armed;
        gvm_run(&g);
        ran = seconds_now() - t1;
        expect_exit(&g, VLAB_EXIT_TIMEOUT, "an endless loop after many quick runs");
        gvm_close(&g);
        if (gap < 0.5 * long_us / 1e6) break;
    }
    cr_assert(gap < 0.5 * long_us / 1e6,
              "the machine never started the endless run within half a watchdog period of the "
              "first (%.1f ms): cannot test what an earlier run's timer does",
              gap * 1e3);
    cr_assert(ran >= 0.95 * long_us / 1e6,
              "the endless loop was cut after %.1f ms: a %llu ms watchdog must time this run, "
              "not an earlier one",
              ran * 1e3, (unsigned long long)(long_us / 1000));
}

/* What a guest stored before it faulted survives the shutdown on every backend. */
static void expect_marker(struct gvm *g, uint32_t want, const char *what) {
    uint32_t got = 0;
    cr_assert_eq(vlab_gpmem_read_u32(&g->mem, 0x3000, &got), VLAB_OK, "expected RAM at 0x3000");
    cr_assert_eq(got, want, "expected %s to have run (marker %#x at 0x3000), found %#x", what, want,
                 got);
}

/* Registers after a triple fault are the backend's choice: unicorn keeps them; KVM on AMD
 * re-initializes the vCPU when it intercepts the shutdown (Intel's keeps them). */
static void expect_rax_after_shutdown(struct gvm *g, uint64_t want) {
    struct vlab_regs r;
    cr_assert_eq(vlab_hv_get_regs(g->vcpu, &r), VLAB_OK, "expected the registers after shutdown");
    cr_assert_eq(r.rax, want, "expected RAX %#llx kept after the shutdown, got %#llx",
                 (unsigned long long)want, (unsigned long long)r.rax);
}

HV_TEST(triple_fault_is_shutdown) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "triple_fault", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_SHUTDOWN, "divide by zero with an IDT of limit 0");
    expect_marker(&g, 0x77, "the instructions before the fault");
    if (kind == VLAB_HV_UNICORN) {
        cr_assert_eq(g.exit.shutdown.vector, X86_EXC_DE, "expected #DE (0) as the cause, got %d",
                     g.exit.shutdown.vector);
        expect_rax_after_shutdown(&g, 0x77);
    }
    gvm_close(&g);
}

HV_TEST(ud2_is_shutdown) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "ud2", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_SHUTDOWN, "ud2 without an IDT (#UD -> #GP -> #DF -> triple fault)");
    if (kind == VLAB_HV_UNICORN) {
        cr_assert_eq(g.exit.shutdown.vector, X86_EXC_UD, "expected #UD (6), got %d",
                     g.exit.shutdown.vector);
        cr_assert(strstr(g.exit.desc, "#UD"), "expected the description to name #UD, got %s",
                  g.exit.desc);
    }
    expect_marker(&g, 0x1234, "the instructions before ud2");
    if (kind == VLAB_HV_UNICORN) {
        expect_rax_after_shutdown(&g, 0x1234);
        /* Running a shut-down vCPU again reports the same, it does not resume the guest. */
        gvm_run(&g);
        expect_exit(&g, VLAB_EXIT_SHUTDOWN, "a second run after shutdown");
    }
    /* Loading a fresh state revives it, as a VMM resetting a guest does. */
    gvm_load(&g, "compute", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_HLT, "a new guest loaded into the shut-down vCPU");
    gvm_close(&g);
}

HV_TEST(fetch_from_mmio_is_internal_error) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "mmio_fetch", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_INTERNAL_ERROR, "a jump into MMIO space");
    cr_assert_eq(g.exit.internal.suberror, VLAB_INTERNAL_EMULATION,
                 "expected suberror 1 (emulation), got %u", g.exit.internal.suberror);
    gvm_close(&g);
}

HV_TEST(dump_names_registers) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "compute", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    char buf[4096] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    vlab_hv_dump(g.vcpu, f);
    fclose(f);
    cr_assert(strstr(buf, "rax 0000000013e5e51c"), "expected RAX 333833500 in the dump:\n%s", buf);
    cr_assert(strstr(buf, "efer 0000000000000500"), "expected EFER LME|LMA in the dump:\n%s", buf);
    cr_assert(strstr(buf, "cs  sel 0008"), "expected CS selector 8 in the dump:\n%s", buf);
    gvm_close(&g);
}

Test(core, hv_open_rejects_bad_arguments) {
    char err[128];
    cr_assert_null(vlab_hv_open((enum vlab_hv_kind)7, err, sizeof err), "expected NULL for kind 7");
    cr_assert(strstr(err, "unknown"), "expected an 'unknown backend' message, got %s", err);
    enum vlab_hv_kind k;
    cr_assert_eq(vlab_hv_kind_parse("unicorn", &k), VLAB_OK, "expected 'unicorn' to parse");
    cr_assert_eq(k, VLAB_HV_UNICORN, "expected VLAB_HV_UNICORN");
    cr_assert_eq(vlab_hv_kind_parse("qemu", &k), VLAB_EINVAL, "expected 'qemu' to be refused");
    struct vlab_hv *hv = vlab_hv_open(VLAB_HV_AUTO, err, sizeof err);
    cr_assert_not_null(hv, "expected auto to open a backend: %s", err);
    cr_assert(vlab_hv_kind(hv) != VLAB_HV_AUTO, "expected auto to resolve to a real backend");
    static uint8_t page[8192] __attribute__((aligned(4096)));
    cr_assert_eq(vlab_hv_map(hv, 0, 0x1000, 0x1000, page, 0), VLAB_OK, "expected a slot");
    cr_assert_eq(vlab_hv_map(hv, 1, 0x1800, 0x1000, page + 4096, 0), VLAB_EINVAL,
                 "expected a misaligned gpa refused");
    cr_assert_eq(vlab_hv_map(hv, 1, 0x0, 0x2000, page, 0), VLAB_EINVAL,
                 "expected an overlapping slot refused");
    cr_assert_eq(vlab_hv_map(hv, 99, 0x10000, 0x1000, page, 0), VLAB_EINVAL,
                 "expected slot 99 refused");
    cr_assert_eq(vlab_hv_map(hv, 0, 0, 0, NULL, 0), VLAB_OK, "expected slot 0 deleted");
    cr_assert_eq(vlab_hv_map(hv, 0, 0, 0, NULL, 0), VLAB_ENOENT, "expected no slot 0 any more");
    cr_assert_eq(vlab_hv_run(NULL, NULL), VLAB_EINVAL, "expected EINVAL for a NULL vCPU");
    vlab_hv_close(hv);
    vlab_hv_close(NULL);
}

/* A VMM may give up on a guest in the middle of an exit: closing must not hang or crash. */
HV_TEST(close_with_exit_pending) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "mmio_roundtrip", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    vlab_hv_set_watchdog(g.vcpu, 1000000);
    gvm_run(&g);
    cr_assert_eq(g.exit.reason, VLAB_EXIT_MMIO, "expected the first MMIO exit");
    gvm_close(&g);
    gvm_open(&g, kind);
    gvm_load(&g, "in_roundtrip", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    cr_assert_eq(g.exit.reason, VLAB_EXIT_IO, "expected the first IO exit");
    vlab_hv_vcpu_destroy(g.vcpu);
    gvm_close(&g);
}

/* Guest code rewritten through the host pointer between runs runs as rewritten. */
HV_TEST(code_changed_between_runs) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "compute", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_HLT, "the compute guest");
    static const uint8_t patch[] = {0xb8, 0x2a, 0, 0, 0, 0xf4}; /* mov $42, %eax; hlt */
    vlab_gpmem_write(&g.mem, GUEST_GPA, patch, sizeof patch);
    cr_assert_eq(vlab_hv_code_changed(g.hv, GUEST_GPA, sizeof patch), VLAB_OK,
                 "expected code_changed to succeed");
    struct vlab_regs r;
    vlab_hv_get_regs(g.vcpu, &r);
    r.rip = GUEST_GPA;
    vlab_hv_set_regs(g.vcpu, &r);
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_HLT, "the patched guest");
    vlab_hv_get_regs(g.vcpu, &r);
    cr_assert_eq(r.rax, 42, "expected the new code to run (RAX 42), got %llu",
                 (unsigned long long)r.rax);
    gvm_close(&g);
}

/* A store into a read-only slot: kvm turns it into an MMIO write exit (KVM_MEM_READONLY);
 * unicorn reports an internal error naming the access (docs/architecture.md). */
HV_TEST(readonly_slot_write) {
    skip_without_kvm(kind);
    struct gvm g;
    memset(&g, 0, sizeof g);
    g.kind = kind;
    vlab_gpmem_init(&g.mem);
    static uint8_t rom[0x1000] __attribute__((aligned(4096)));
    cr_assert_eq(vlab_gpmem_add_ram(&g.mem, 0, 0x3000, "low"), VLAB_OK, "expected low RAM");
    cr_assert_eq(vlab_gpmem_add_region(&g.mem, 0x3000, 0x1000, rom, VLAB_MEM_READONLY, "rom"),
                 VLAB_OK, "expected a read-only region");
    cr_assert_eq(vlab_gpmem_add_ram(&g.mem, 0x4000, RAM_SIZE - 0x4000, "high"), VLAB_OK,
                 "expected high RAM");
    char err[256];
    g.hv = vlab_hv_open(kind, err, sizeof err);
    cr_assert_not_null(g.hv, "expected a VM: %s", err);
    int rc = vlab_hv_map_gpmem(g.hv, &g.mem);
    if (rc == VLAB_EUNSUPP) {
        vlab_hv_close(g.hv);
        cr_skip_test("this KVM has no KVM_CAP_READONLY_MEM");
    }
    cr_assert_eq(rc, VLAB_OK, "expected the map: %s", vlab_hv_error(g.hv));
    g.vcpu = vlab_hv_vcpu_create(g.hv, err, sizeof err);
    cr_assert_not_null(g.vcpu, "expected a vCPU: %s", err);
    gvm_load(&g, "compute", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    if (kind == VLAB_HV_KVM) {
        expect_exit(&g, VLAB_EXIT_MMIO, "a store to a read-only slot on kvm");
        cr_assert(g.exit.mmio.is_write && g.exit.mmio.gpa == 0x3000 && g.exit.mmio.len == 8,
                  "expected an 8-byte MMIO write to 0x3000");
    } else {
        expect_exit(&g, VLAB_EXIT_INTERNAL_ERROR, "a store to a read-only slot on unicorn");
        cr_assert(strstr(g.exit.desc, "read-only") && strstr(g.exit.desc, "0x3000"),
                  "expected the description to name the read-only gpa 0x3000, got %s", g.exit.desc);
    }
    uint64_t v;
    memcpy(&v, rom, 8);
    cr_assert_eq(v, 0, "expected the read-only page unchanged, got %#llx", (unsigned long long)v);
    gvm_close(&g);
}

static bool write_proc(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    return ok;
}

enum { RO_UNICORN, RO_NULL, RO_OTHER, RO_NO_NS, RO_NO_MOUNT, RO_STILL_RW };

/* In a mount namespace of its own (a user namespace too when not root: a forked child, as
 * unshare(CLONE_NEWUSER) wants one thread), a read-only regular file at /dev/kvm; then what
 * vlab_hv_open(AUTO) picks. The host's /dev/kvm stays as it is. */
static int auto_with_read_only_kvm(void) {
    unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();
    if (unshare(CLONE_NEWNS) != 0) {
        char map[64];
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return RO_NO_NS;
        snprintf(map, sizeof map, "0 %u 1", uid);
        bool ok =
            write_proc("/proc/self/setgroups", "deny") && write_proc("/proc/self/uid_map", map);
        snprintf(map, sizeof map, "0 %u 1", gid);
        if (!ok || !write_proc("/proc/self/gid_map", map)) return RO_NO_NS;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return RO_NO_MOUNT;
    char path[] = "/tmp/vlab-kvm-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return RO_NO_MOUNT;
    close(fd);
    int rc = mount(path, "/dev/kvm", NULL, MS_BIND, NULL);
    if (rc == 0) rc = mount(NULL, "/dev/kvm", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
    unlink(path);
    if (rc != 0) return RO_NO_MOUNT;
    fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd >= 0) return RO_STILL_RW;
    fd = open("/dev/kvm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return RO_NO_MOUNT;
    close(fd);
    struct vlab_hv *hv = vlab_hv_open(VLAB_HV_AUTO, NULL, 0);
    if (!hv) return RO_NULL;
    rc = vlab_hv_kind(hv) == VLAB_HV_UNICORN ? RO_UNICORN : RO_OTHER;
    vlab_hv_close(hv);
    return rc;
}

/* A /dev/kvm that opens read-only but not read-write (a container given the device read-only)
 * runs no VM: auto must pick unicorn, as with no /dev/kvm at all. */
Test(core, hv_auto_skips_read_only_kvm) {
#if !defined(__x86_64__)
    cr_skip_test("auto never picks kvm on this host");
#endif
    if (access("/dev/kvm", F_OK) != 0) cr_skip_test("no /dev/kvm to stand in for");
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "expected fork to work: %s", strerror(errno));
    if (pid == 0) _exit(auto_with_read_only_kvm());
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid, "expected to reap the child");
    cr_assert(WIFEXITED(st), "expected the child to exit, status %#x", st);
    int rc = WEXITSTATUS(st);
    if (rc == RO_NO_NS) cr_skip_test("no mount namespace of the test's own here");
    cr_assert_neq(rc, RO_NO_MOUNT, "expected a read-only file bound at /dev/kvm in the namespace");
    cr_assert_neq(rc, RO_STILL_RW, "expected the stand-in /dev/kvm not to open read-write");
    cr_assert_eq(rc, RO_UNICORN,
                 "expected auto to fall back to unicorn when /dev/kvm opens only read-only, "
                 "got %s",
                 rc == RO_NULL ? "no backend (vlab_hv_open returned NULL)" : "another backend");
}
