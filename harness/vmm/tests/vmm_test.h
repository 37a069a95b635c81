/* Shared by the vmm tests: a VM booted with a guest from the guests/ directory next to the
 * test binary, run on a chosen backend.
 *
 * VMM_TEST(name) defines two Criterion tests with one body: `name` on the Unicorn backend
 * (scored: every grading machine has it) and `kvm_name` on /dev/kvm (reported, worth no
 * points, skipped with the reason where /dev/kvm cannot be opened). */
#ifndef VMM_TEST_H
#define VMM_TEST_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "vlab/hv.h"
#include "vmm.h"

#define T_RAM       (4ull << 20)
#define T_SECTORS   64u
#define T_SEED      42u
#define T_WATCHDOG  2000000u /* 2 s of guest time without an exit */
#define T_MAX_EXITS 100000u  /* a backstop so a broken VMM fails instead of hanging */

struct tvm {
    enum vlab_hv_kind kind;
    struct vmm vm;
    struct vmm_config cfg;
    struct vmm_disk disk;
    struct vmm_result res;
    void *image;
    size_t len;
    bool created;
};

/* kind: VLAB_HV_UNICORN or VLAB_HV_KVM; skips (visibly) when kvm cannot be opened. */
void require_backend(enum vlab_hv_kind kind);
/* Default config for kind and mode (T_* above, a disk of T_SECTORS sectors). */
void tvm_config(struct tvm *t, enum vlab_hv_kind kind, enum vmm_mode mode);
/* The file guests/<file> next to the test binary, read into t->image. */
void tvm_read_guest(struct tvm *t, const char *file);
/* tvm_config + vmm_create: asserts it worked (messages name the handout section). */
void tvm_create(struct tvm *t, enum vlab_hv_kind kind, enum vmm_mode mode);
/* After tvm_create: vmm_load of guests/<file>, asserted to work. */
void tvm_load(struct tvm *t, const char *file);
/* After tvm_config (which may be adjusted): create, load guests/<file>, set up the mode. */
void tvm_boot_cfg(struct tvm *t, const char *file);
/* tvm_config + tvm_boot_cfg. */
void tvm_boot(struct tvm *t, enum vlab_hv_kind kind, enum vmm_mode mode, const char *file);
/* vmm_run; asserts it returned a result (not a VMM failure). */
void tvm_run(struct tvm *t);
/* Asserts the outcome, printing the VMM's sentence and the console on failure. */
void tvm_expect(const struct tvm *t, enum vmm_outcome outcome, const char *section);
/* tvm_boot + tvm_run + tvm_expect. */
void tvm_run_guest(struct tvm *t, enum vlab_hv_kind kind, enum vmm_mode mode, const char *file,
                   enum vmm_outcome outcome, const char *section);
void tvm_free(struct tvm *t);

uint64_t tvm_total_exits(const struct tvm *t);
uint64_t tvm_read_u64(const struct tvm *t, uint64_t gpa);
/* This process's address space in bytes (VmSize), what RLIMIT_AS bounds. */
uint64_t tvm_address_space(void);
/* RLIMIT_AS lowered to 16 MiB above what is mapped now, the old limit saved in *old: true if the
 * host enforces it; false (limit restored, a note naming part on stderr) where it does not. */
bool tvm_squeeze_address_space(struct rlimit *old, const char *part);

#define VMM_TEST(name)                                                                             \
    static void name##_body(enum vlab_hv_kind kind);                                               \
    Test(vmm, name) {                                                                              \
        name##_body(VLAB_HV_UNICORN);                                                              \
    }                                                                                              \
    Test(vmm, kvm_##name) {                                                                        \
        require_backend(VLAB_HV_KVM);                                                              \
        name##_body(VLAB_HV_KVM);                                                                  \
    }                                                                                              \
    static void name##_body(enum vlab_hv_kind kind)

#endif
