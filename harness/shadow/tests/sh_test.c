#include "sh_test.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define UPPER (X86_PTE_P | X86_PTE_RW | X86_PTE_US)

void sh_env_init(struct sh_env *e, enum sh_mode mode, unsigned quota) {
    sh_env_init_oos(e, mode, quota, false);
}

void sh_env_init_oos(struct sh_env *e, enum sh_mode mode, unsigned quota, bool oos) {
    struct sh_vm_config cfg = {.mode = mode, .seed = 7, .quota = quota, .oos = oos};
    sh_env_init_config(e, &cfg);
}

void sh_env_init_config(struct sh_env *e, const struct sh_vm_config *cfg) {
    memset(e, 0, sizeof *e);
    char err[600];
    int rc = sh_vm_create(&e->vm, cfg, err, sizeof err);
    cr_assert_eq(rc, VLAB_OK, "creating the machine: %s", err);
    e->next_gpa = SH_ENV_FIRST;
    e->pml4 = sh_env_frame(e);
    for (unsigned i = 0; i < SH_ENV_FRAMES; i++)
        sh_env_map_direct(e, e->pml4, SH_ENV_FIRST + ((uint64_t)i << 12));
}

void sh_env_fini(struct sh_env *e) {
    sh_vm_destroy(e->vm);
    e->vm = NULL;
}

uint64_t sh_env_frame(struct sh_env *e) {
    uint64_t gpa = e->next_gpa;
    e->next_gpa += X86_PAGE_SIZE;
    cr_assert(
        sh_gfn_index(gpa) >= 0 &&
            (gpa >= SH_G1_GPA || e->next_gpa <= SH_ENV_FIRST + ((uint64_t)SH_ENV_FRAMES << 12)),
        "test setup: out of guest frames");
    for (unsigned i = 0; i < 512; i++)
        sh_vm_poke(e->vm, gpa + 8 * i, 0);
    return gpa;
}

uint64_t sh_env_new_space(struct sh_env *e) {
    uint64_t pml4 = sh_env_frame(e), k = 8ull * x86_pt_index(SH_KBASE, 4);
    sh_vm_poke(e->vm, pml4 + k, sh_env_peek(e, e->pml4 + k));
    return pml4;
}

uint64_t sh_env_peek(struct sh_env *e, uint64_t gpa) {
    uint64_t v = 0;
    sh_gpa_read(e->vm, gpa, &v);
    return v;
}

uint64_t sh_env_map(struct sh_env *e, uint64_t pml4, uint64_t gva, uint64_t gpa, uint64_t flags) {
    uint64_t table = pml4;
    for (int lvl = 4; lvl >= 2; lvl--) {
        uint64_t g = table + 8ull * x86_pt_index(gva, lvl), v = sh_env_peek(e, g);
        if (!(v & X86_PTE_P)) {
            v = sh_env_frame(e) | UPPER;
            sh_vm_poke(e->vm, g, v);
        }
        table = v & X86_PTE_ADDR_MASK;
    }
    uint64_t g = table + 8ull * x86_pt_index(gva, 1);
    sh_vm_poke(e->vm, g, gpa | flags | X86_PTE_P);
    return g;
}

void sh_env_map_direct(struct sh_env *e, uint64_t pml4, uint64_t gpa) {
    uint64_t table = pml4, gva = SH_KBASE + gpa;
    for (int lvl = 4; lvl >= 2; lvl--) {
        uint64_t g = table + 8ull * x86_pt_index(gva, lvl), v = sh_env_peek(e, g);
        if (!(v & X86_PTE_P)) {
            v = sh_env_frame(e) | X86_PTE_P | X86_PTE_RW;
            sh_vm_poke(e->vm, g, v);
        }
        table = v & X86_PTE_ADDR_MASK;
    }
    sh_vm_poke(e->vm, table + 8ull * x86_pt_index(gva, 1),
               gpa | X86_PTE_P | X86_PTE_RW | X86_PTE_NX);
}

void sh_env_set_cr3(struct sh_env *e, uint64_t cr3) {
    int rc = sh_vm_set_cr3(e->vm, cr3);
    cr_assert_eq(rc, VLAB_OK, "MOV CR3, %#" PRIx64 ": %s", cr3, e->vm->err);
}

struct sh_outcome sh_env_access(struct sh_env *e, uint64_t gva, unsigned access, uint64_t value) {
    struct sh_outcome o;
    sh_vm_access(e->vm, gva, access, value, &o);
    cr_assert(o.rc == VLAB_OK || o.rc == VLAB_EPF, "access to gva %#" PRIx64 ": %s", gva,
              e->vm->err);
    return o;
}

void sh_env_invlpg(struct sh_env *e, uint64_t gva) {
    int rc = sh_vm_invlpg(e->vm, gva);
    cr_assert_eq(rc, VLAB_OK, "INVLPG %#" PRIx64 ": %s", gva, e->vm->err);
}

void sh_env_write_pte(struct sh_env *e, uint64_t pte_gpa, uint64_t val) {
    struct sh_outcome o = sh_env_access(e, SH_KBASE + pte_gpa, VLAB_ACC_WRITE, val);
    cr_assert_eq(o.rc, VLAB_OK,
                 "the guest kernel's write of %#" PRIx64 " to its page-table entry at gpa %#" PRIx64
                 " (through the direct map) faulted with error %#x: a write to a write-protected "
                 "guest page table must be emulated, not injected %s",
                 val, pte_gpa, o.error, SH_SEC_EMUL);
    cr_assert_eq(sh_env_peek(e, pte_gpa), val,
                 "after the guest kernel wrote %#" PRIx64
                 " to its page-table entry at gpa %#" PRIx64 ", guest memory holds %#" PRIx64 " %s",
                 val, pte_gpa, sh_env_peek(e, pte_gpa), SH_SEC_EMUL);
}

void sh_expect_ok(struct sh_env *e, uint64_t gva, unsigned access, uint64_t gpa, const char *sec,
                  const char *what) {
    struct sh_outcome o = sh_env_access(e, gva, access, 0x1234);
    uint64_t hpa = 0;
    sh_p2m(e->vm, gpa, &hpa);
    if (o.rc == VLAB_OK && o.pa == hpa) return;
    char paths[2048];
    sh_vm_paths(e->vm, gva & ~7ull, access, paths, sizeof paths);
    cr_assert_eq(o.rc, VLAB_OK,
                 "%s: access %#x to gva %#" PRIx64 " should succeed at gpa %#" PRIx64
                 " (machine %#" PRIx64 "), but the guest got #PF error %#x cr2 %#" PRIx64 " %s%s",
                 what, access, gva, gpa, hpa, o.error, o.cr2, sec, paths);
    cr_assert_eq(o.pa, hpa,
                 "%s: access %#x to gva %#" PRIx64 " should reach machine address %#" PRIx64
                 " (gpa %#" PRIx64 " through the p2m), reached %#" PRIx64 " %s%s",
                 what, access, gva, hpa, gpa, o.pa, sec, paths);
}

void sh_expect_pf(struct sh_env *e, uint64_t gva, unsigned access, uint32_t error, const char *sec,
                  const char *what) {
    struct sh_outcome o = sh_env_access(e, gva, access, 0x1234);
    if (o.rc == VLAB_EPF && o.error == error && o.cr2 == gva) return;
    char paths[2048];
    sh_vm_paths(e->vm, gva & ~7ull, access, paths, sizeof paths);
    cr_assert_eq(o.rc, VLAB_EPF,
                 "%s: access %#x to gva %#" PRIx64 " should give the guest #PF error %#x, but it "
                 "succeeded (machine address %#" PRIx64 ") %s%s",
                 what, access, gva, error, o.pa, sec, paths);
    cr_assert(o.error == error && o.cr2 == gva,
              "%s: access %#x to gva %#" PRIx64 ": expected #PF error %#x cr2 %#" PRIx64
              ", the guest got error %#x cr2 %#" PRIx64 " %s%s",
              what, access, gva, error, gva, o.error, o.cr2, sec, paths);
}

void sh_diff_run(const char *test, const struct sh_profile *p, enum sh_mode mode, uint64_t seed,
                 uint64_t ops, unsigned quota, struct sh_run *out) {
    struct sh_vm_config cfg = {.mode = mode, .seed = seed, .quota = quota};
    sh_diff_run_config(test, p, &cfg, ops, out);
}

void sh_diff_run_config(const char *test, const struct sh_profile *p,
                        const struct sh_vm_config *cfg, uint64_t ops, struct sh_run *out) {
    static struct sh_os os;
    struct sh_vm *vm;
    char err[600];
    uint64_t seed = cfg->seed;
    int rc = sh_vm_create(&vm, cfg, err, sizeof err);
    cr_assert_eq(rc, VLAB_OK, "%s: creating the machine: %s", test, err);
    if (!sh_os_init(&os, p, seed, vm, true))
        cr_assert_fail("%s: booting the guest: %s %s", test, os.err, SH_SEC_DIFF);
    for (uint64_t i = 0; i < ops; i++)
        if (!sh_os_step(&os)) cr_assert_fail("%s: %s %s", test, os.err, SH_SEC_DIFF);
    if (!sh_os_check_memory(&os)) cr_assert_fail("%s: %s %s", test, os.err, SH_SEC_DIFF);
    if (out) {
        out->c = vm->c;
        out->os = os;
    }
    sh_os_fini(&os);
    sh_vm_destroy(vm);
}
