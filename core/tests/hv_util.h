/* Shared by the hypervisor tests: a VM with 2 MiB of RAM at gpa 0, a guest program from
 * $(BUILD)/core/guests loaded into it, and one vCPU. Each test runs on both backends; the kvm
 * variant skips visibly where there is no /dev/kvm. */
#ifndef VLAB_TEST_HV_UTIL_H
#define VLAB_TEST_HV_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vlab/err.h"
#include "vlab/gpmem.h"
#include "vlab/hv.h"
#include "vlab/loader.h"

#define RAM_SIZE  0x200000ull
#define GUEST_GPA 0x1000ull
#define STACK_TOP 0x80000ull
#define MMIO_BASE 0x10000000ull

struct gvm {
    enum vlab_hv_kind kind;
    struct vlab_gpmem mem;
    struct vlab_hv *hv;
    struct vlab_vcpu *vcpu;
    struct vlab_exit exit;
};

static inline void skip_without_kvm(enum vlab_hv_kind kind) {
    if (kind != VLAB_HV_KVM) return;
#if !defined(__x86_64__)
    cr_skip_test("kvm backend not tested: it needs an x86-64 host, this one is not");
#endif
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        cr_skip_test("kvm backend not tested: cannot open /dev/kvm (%s)%s", strerror(errno),
                     errno == ENOENT ? "; it is tested in the QEMU test VM"
                                     : "; add yourself to the kvm group or run as root");
    close(fd);
}

/* $(BUILD)/core/guests, next to this test binary (or $VLAB_GUEST_DIR). */
static inline void guest_path(const char *name, char *buf, size_t len) {
    const char *dir = getenv("VLAB_GUEST_DIR");
    if (dir) {
        snprintf(buf, len, "%s/%s.bin", dir, name);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    cr_assert(n > 0, "expected /proc/self/exe to name the test binary");
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    int n2 = snprintf(buf, len, "%s/guests/%s.bin", exe, name);
    cr_assert(n2 > 0 && (size_t)n2 < len, "expected the guest path to fit");
}

static inline void gvm_open(struct gvm *g, enum vlab_hv_kind kind) {
    skip_without_kvm(kind);
    memset(g, 0, sizeof *g);
    g->kind = kind;
    vlab_gpmem_init(&g->mem);
    cr_assert_eq(vlab_gpmem_add_ram(&g->mem, 0, RAM_SIZE, "ram"), VLAB_OK, "expected guest RAM");
    char err[256];
    g->hv = vlab_hv_open(kind, err, sizeof err);
    cr_assert_not_null(g->hv, "expected the %s backend to open, got: %s", vlab_hv_kind_name(kind),
                       err);
    cr_assert_eq(vlab_hv_map_gpmem(g->hv, &g->mem), VLAB_OK, "expected RAM mapped: %s",
                 vlab_hv_error(g->hv));
    g->vcpu = vlab_hv_vcpu_create(g->hv, err, sizeof err);
    cr_assert_not_null(g->vcpu, "expected a vCPU, got: %s", err);
}

static inline void gvm_close(struct gvm *g) {
    vlab_hv_close(g->hv);
    vlab_gpmem_destroy(&g->mem);
}

static inline void gvm_load(struct gvm *g, const char *name, uint64_t gpa) {
    char path[PATH_MAX + 64], err[256];
    guest_path(name, path, sizeof path);
    uint64_t size = 0;
    int rc = vlab_load_flat(&g->mem, path, gpa, &size, err, sizeof err);
    cr_assert_eq(rc, VLAB_OK, "expected guest %s loaded at %#llx, got: %s", name,
                 (unsigned long long)gpa, err);
}

enum guest_mode { REAL, PROTECTED, LONG };

static inline void gvm_enter(struct gvm *g, enum guest_mode mode, uint64_t entry) {
    struct vlab_mode_setup s = {
        .entry = entry,
        .stack = STACK_TOP,
        .gdt = 0x500,
        .tss = 0x600,
        .pt_pool_start = 0x100000,
        .pt_pool_end = 0x110000,
        .identity_size = 1ull << 30, /* reaches the MMIO window at 256 MiB */
    };
    int rc = mode == REAL        ? vlab_mode_real(g->vcpu, &s)
             : mode == PROTECTED ? vlab_mode_protected(g->vcpu, &g->mem, &s)
                                 : vlab_mode_long(g->vcpu, &g->mem, &s);
    cr_assert_eq(rc, VLAB_OK, "expected the %s-mode entry state to load, got %d: %s",
                 mode == REAL        ? "real"
                 : mode == PROTECTED ? "protected"
                                     : "long",
                 rc, vlab_hv_error(g->hv));
}

static inline void gvm_run(struct gvm *g) {
    int rc = vlab_hv_run(g->vcpu, &g->exit);
    cr_assert_eq(rc, VLAB_OK, "expected vlab_hv_run to succeed, got %d: %s", rc,
                 vlab_hv_error(g->hv));
}

static inline void expect_exit(struct gvm *g, enum vlab_exit_reason want, const char *why) {
    char s[256];
    vlab_exit_str(&g->exit, s, sizeof s);
    cr_assert_eq(g->exit.reason, want, "%s: expected a %s exit, got %s", why, vlab_exit_name(want),
                 s);
}

/* Runs to the first non-OUT exit, collecting OUT bytes to port into buf. */
static inline size_t run_collect(struct gvm *g, uint16_t port, char *buf, size_t len) {
    size_t n = 0;
    for (;;) {
        gvm_run(g);
        if (g->exit.reason != VLAB_EXIT_IO || g->exit.io.direction != VLAB_IO_OUT) break;
        cr_assert_eq(g->exit.io.port, port, "expected OUT to port %#x, got port %#x", port,
                     g->exit.io.port);
        if (n + 1 < len) buf[n++] = (char)g->exit.io.data[0];
    }
    buf[n] = 0;
    return n;
}

/* One Test per backend around a body taking the backend kind. */
#define HV_TEST(name)                                                                              \
    static void name##_body(enum vlab_hv_kind kind);                                               \
    Test(core, hv_unicorn_##name) {                                                                \
        name##_body(VLAB_HV_UNICORN);                                                              \
    }                                                                                              \
    Test(core, hv_kvm_##name) {                                                                    \
        name##_body(VLAB_HV_KVM);                                                                  \
    }                                                                                              \
    static void name##_body(enum vlab_hv_kind kind)

#endif
