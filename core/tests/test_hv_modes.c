/* Each CPU mode entered through the reference entry states, checked by a guest that prints
 * through port 0x10 (and, where it can, reports what it sees of its own state). */
#include <sys/resource.h>

#include "hv_util.h"
#include "vlab/x86.h"

HV_TEST(real_mode_hello) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "real_hello", 0x10000);
    gvm_enter(&g, REAL, 0x10000);
    struct vlab_sregs s;
    cr_assert_eq(vlab_hv_get_sregs(g.vcpu, &s), VLAB_OK, "expected sregs");
    cr_assert_eq(s.cs.selector, 0x1000, "expected CS = 0x1000 for entry 0x10000, got %#x",
                 s.cs.selector);
    cr_assert_eq(s.cs.base, 0x10000, "expected CS base = selector << 4, got %#llx",
                 (unsigned long long)s.cs.base);
    /* TR as at reset (a busy TSS, present): what a later switch to protected mode finds. */
    cr_assert(s.tr.present && s.tr.type == X86_SEG_TYPE_TSS_BUSY && !s.tr.unusable,
              "expected TR a present busy TSS, got type %u P %u", s.tr.type, s.tr.present);
    char out[64];
    run_collect(&g, 0x10, out, sizeof out);
    expect_exit(&g, VLAB_EXIT_HLT, "real-mode hello ends with hlt");
    cr_assert_str_eq(out, "hello from real mode\n",
                     "expected the string found through DS base = 0x1000 << 4, got \"%s\"", out);
    struct vlab_regs r;
    cr_assert_eq(vlab_hv_get_regs(g.vcpu, &r), VLAB_OK, "expected regs");
    cr_assert_eq(r.rip & 0xffff, 0x0f, "expected IP just past hlt (0x0f), got %#llx",
                 (unsigned long long)r.rip);
    gvm_close(&g);
}

HV_TEST(protected_mode_hello) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "pm_hello", GUEST_GPA);
    gvm_enter(&g, PROTECTED, GUEST_GPA);
    char out[64];
    run_collect(&g, 0x10, out, sizeof out);
    expect_exit(&g, VLAB_EXIT_HLT, "protected-mode hello ends with hlt");
    cr_assert_str_eq(out, "hello from protected mode\n", "expected the greeting, got \"%s\"", out);
    struct vlab_regs r;
    vlab_hv_get_regs(g.vcpu, &r);
    cr_assert(r.rax & X86_CR0_PE, "expected the guest to read CR0.PE = 1, got CR0 %#llx",
              (unsigned long long)r.rax);
    cr_assert(!(r.rax & X86_CR0_PG), "expected no paging in flat protected mode");
    gvm_close(&g);
}

HV_TEST(long_mode_hello) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "lm_hello", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    char out[64];
    run_collect(&g, 0x10, out, sizeof out);
    expect_exit(&g, VLAB_EXIT_HLT, "long-mode hello ends with hlt");
    cr_assert_str_eq(out, "hello from long mode\n",
                     "expected the greeting (found RIP-relatively, 64-bit only), got \"%s\"", out);
    struct vlab_regs r;
    vlab_hv_get_regs(g.vcpu, &r);
    cr_assert(r.rax & X86_EFER_LMA, "expected the guest to read EFER.LMA = 1, got EFER %#llx",
              (unsigned long long)r.rax);
    struct vlab_sregs s;
    vlab_hv_get_sregs(g.vcpu, &s);
    cr_assert(s.cr0 & X86_CR0_PG, "expected CR0.PG after the run, got %#llx",
              (unsigned long long)s.cr0);
    cr_assert(s.efer & X86_EFER_LMA, "expected EFER.LMA after the run, got %#llx",
              (unsigned long long)s.efer);
    cr_assert(s.cs.l, "expected a 64-bit CS");
    gvm_close(&g);
}

HV_TEST(compute_result_in_rax_and_memory) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "compute", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_HLT, "the compute guest ends with hlt");
    struct vlab_regs r;
    vlab_hv_get_regs(g.vcpu, &r);
    cr_assert_eq(r.rax, 333833500ull,
                 "expected sum of squares 1..1000 = 333833500 in RAX, got %llu",
                 (unsigned long long)r.rax);
    uint64_t m = 0;
    vlab_gpmem_read_u64(&g.mem, 0x3000, &m);
    cr_assert_eq(m, 333833500ull, "expected 333833500 at gpa 0x3000, got %llu",
                 (unsigned long long)m);
    gvm_close(&g);
}

/* Long mode's entry state with one bit cleared (in EFER when efer_bit, else in CR4) must be
 * refused by KVM_SET_SREGS on every backend, with a message that names the bit. */
static void expect_long_sregs_refused(enum vlab_hv_kind kind, bool efer_bit, uint64_t bit,
                                      const char *name, const char *what) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "lm_hello", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    struct vlab_sregs s;
    vlab_hv_get_sregs(g.vcpu, &s);
    if (efer_bit)
        s.efer &= ~bit;
    else
        s.cr4 &= ~bit;
    int rc = vlab_hv_set_sregs(g.vcpu, &s);
    cr_assert_eq(rc, VLAB_EINVAL, "expected EINVAL for %s, got %d", what, rc);
    cr_assert(strstr(vlab_hv_error(g.hv), name), "expected the message to name %s, got %s", name,
              vlab_hv_error(g.hv));
    gvm_close(&g);
}

/* The KVM_SET_SREGS rules hold on every backend: the EFER.LMA pitfall fails the same way. */
HV_TEST(sregs_lma_missing_refused) {
    expect_long_sregs_refused(kind, true, X86_EFER_LMA, "LMA", "LME|PG without LMA");
}

/* What the VMM set and the guest did not touch reads back the same after a run, from the live
 * CPU: CR3, CR4, CR8 (0: kvm without an in-kernel APIC reads a CR8 of 5 back as 0, Unicorn
 * 2.0 does not read CR8 at all) and TR with its every attribute (AVL too, which is not L).
 * Not CR2: Unicorn leaves a fault address of its own there after a run. */
HV_TEST(sregs_read_back_after_run) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "lm_hello", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    struct vlab_sregs s, t;
    vlab_hv_get_sregs(g.vcpu, &s);
    s.tr.avl = 1;
    cr_assert_eq(vlab_hv_set_sregs(g.vcpu, &s), VLAB_OK, "expected the sregs accepted: %s",
                 vlab_hv_error(g.hv));
    char out[64];
    run_collect(&g, 0x10, out, sizeof out);
    expect_exit(&g, VLAB_EXIT_HLT, "long-mode hello ends with hlt");
    cr_assert_eq(vlab_hv_get_sregs(g.vcpu, &t), VLAB_OK, "expected sregs");
    cr_assert_eq(t.cr3, s.cr3, "expected CR3 %#llx, got %#llx", (unsigned long long)s.cr3,
                 (unsigned long long)t.cr3);
    cr_assert_eq(t.cr4, s.cr4, "expected CR4 %#llx, got %#llx", (unsigned long long)s.cr4,
                 (unsigned long long)t.cr4);
    cr_assert_eq(t.cr8, s.cr8, "expected CR8 %#llx, got %#llx", (unsigned long long)s.cr8,
                 (unsigned long long)t.cr8);
    const struct vlab_seg *a = &s.tr, *b = &t.tr;
    cr_assert(
        b->selector == a->selector && b->base == a->base && b->limit == a->limit &&
            b->type == a->type && b->present == a->present && b->s == a->s && b->dpl == a->dpl &&
            b->avl == 1 && b->l == a->l && b->db == a->db && b->g == a->g && !b->unusable,
        "expected TR sel %#x base %#llx limit %#x type %u P %u S %u DPL %u AVL 1 L %u DB %u G "
        "%u usable, got sel %#x base %#llx limit %#x type %u P %u S %u DPL %u AVL %u L %u DB "
        "%u G %u unusable %u",
        a->selector, (unsigned long long)a->base, a->limit, a->type, a->present, a->s, a->dpl, a->l,
        a->db, a->g, b->selector, (unsigned long long)b->base, b->limit, b->type, b->present, b->s,
        b->dpl, b->avl, b->l, b->db, b->g, b->unusable);
    gvm_close(&g);
}

/* After a long-mode run every general register is the live CPU's, all 64 bits of it, and the
 * one the guest did not touch is what the VMM set. */
HV_TEST(long_mode_wide_registers) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "wide_regs", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    struct vlab_regs r;
    vlab_hv_get_regs(g.vcpu, &r);
    r.r15 = 0xfedcba9876543210ull;
    cr_assert_eq(vlab_hv_set_regs(g.vcpu, &r), VLAB_OK, "expected regs set");
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_HLT, "wide_regs ends with hlt");
    cr_assert_eq(vlab_hv_get_regs(g.vcpu, &r), VLAB_OK, "expected regs");
    cr_assert_eq(r.rax, 0x1122334455667788ull, "expected RAX 0x1122334455667788, got %#llx",
                 (unsigned long long)r.rax);
    cr_assert_eq(r.r9, 0x1122334455667789ull, "expected R9 0x1122334455667789, got %#llx",
                 (unsigned long long)r.r9);
    cr_assert_eq(r.r15, 0xfedcba9876543210ull, "expected R15 as set, got %#llx",
                 (unsigned long long)r.r15);
    gvm_close(&g);
}

/* The KVM_SET_SREGS rule for long mode without PAE, checked the same on every backend, with a
 * message that says which bit is missing. */
HV_TEST(sregs_long_mode_without_pae_refused) {
    expect_long_sregs_refused(kind, false, X86_CR4_PAE, "PAE", "long mode without CR4.PAE");
}

/* The entry states write their GDT and TSS and not a byte past them: the TSS is 104 bytes
 * (limit 0x67), what follows it is the VMM's. */
Test(core, mode_tss_written_exactly) {
    for (int mode = PROTECTED; mode <= LONG; mode++) {
        struct gvm g;
        gvm_open(&g, VLAB_HV_UNICORN);
        cr_assert_eq(vlab_gpmem_fill(&g.mem, 0x600, 0xee, 0x100), VLAB_OK, "expected a fill");
        gvm_enter(&g, (enum guest_mode)mode, GUEST_GPA);
        for (uint64_t a = 0x600; a < 0x700; a++) {
            uint8_t b;
            vlab_gpmem_read_u8(&g.mem, a, &b);
            cr_assert_eq(b, a < 0x668 ? 0 : 0xee, "%s mode: expected byte %#llx %s, got %#x",
                         mode == LONG ? "long" : "protected", (unsigned long long)a,
                         a < 0x668 ? "zeroed (TSS)" : "untouched (past the TSS)", b);
        }
        gvm_close(&g);
    }
}

/* An entry state starts from a clean slate, not from what the vCPU held: real mode after
 * long mode runs (no EFER.LME/LMA, CR4.PAE or CR3 left over from before). */
HV_TEST(mode_real_after_long) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "real_hello", 0x10000);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_enter(&g, REAL, 0x10000);
    struct vlab_sregs s;
    cr_assert_eq(vlab_hv_get_sregs(g.vcpu, &s), VLAB_OK, "expected sregs");
    cr_assert(s.efer == 0 && s.cr4 == 0 && s.cr3 == 0,
              "expected EFER, CR4 and CR3 cleared, got %#llx %#llx %#llx",
              (unsigned long long)s.efer, (unsigned long long)s.cr4, (unsigned long long)s.cr3);
    char out[64];
    run_collect(&g, 0x10, out, sizeof out);
    expect_exit(&g, VLAB_EXIT_HLT, "real-mode hello ends with hlt");
    cr_assert_str_eq(out, "hello from real mode\n", "expected the greeting, got \"%s\"", out);
    gvm_close(&g);
}

/* A data-segment type in CS: VMX refuses the entry. */
HV_TEST(bad_cs_type_fails_entry) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "pm_hello", GUEST_GPA);
    gvm_enter(&g, PROTECTED, GUEST_GPA);
    struct vlab_sregs s;
    vlab_hv_get_sregs(g.vcpu, &s);
    s.cs.type = X86_SEG_TYPE_DATA_RW;
    int rc = vlab_hv_set_sregs(g.vcpu, &s);
    if (rc != VLAB_OK) { /* KVM may refuse it at SET_SREGS already */
        cr_assert_eq(rc, VLAB_EINVAL, "expected OK or EINVAL, got %d", rc);
        gvm_close(&g);
        return;
    }
    gvm_run(&g);
    if (kind == VLAB_HV_UNICORN) {
        expect_exit(&g, VLAB_EXIT_FAIL_ENTRY, "CS with a data type");
        cr_assert_eq(g.exit.fail_entry.hardware_entry_failure_reason,
                     VLAB_ENTRY_INVALID_GUEST_STATE, "expected reason 0x80000021, got %#llx",
                     (unsigned long long)g.exit.fail_entry.hardware_entry_failure_reason);
        cr_assert(strstr(g.exit.desc, "code segment"),
                  "expected the reason to name the CS type, "
                  "got %s",
                  g.exit.desc);
    } else {
        cr_assert(g.exit.reason != VLAB_EXIT_HLT, "expected the guest not to run normally");
    }
    gvm_close(&g);
}

/* A reference entry state that cannot be built is refused with a sentence that names what was
 * wrong (vlab_hv_error), not only an error code. */
static void expect_refusal(struct gvm *g, int rc, const char *want) {
    cr_assert_neq(rc, VLAB_OK, "expected a refusal mentioning \"%s\"", want);
    cr_assert(strstr(vlab_hv_error(g->hv), want) != NULL,
              "expected the refusal to say \"%s\", got \"%s\"", want, vlab_hv_error(g->hv));
}

HV_TEST(mode_refusals_say_why) {
    struct gvm g;
    gvm_open(&g, kind);
    struct vlab_mode_setup s = {.entry = 0x200000, .stack = 0x8000};
    expect_refusal(&g, vlab_mode_real(g.vcpu, &s), "entry 0x200000 is above 1 MiB");
    s = (struct vlab_mode_setup){.entry = 0x1000, .stack = 0};
    expect_refusal(&g, vlab_mode_real(g.vcpu, &s), "stack 0 must be above 0");
    s = (struct vlab_mode_setup){.entry = 0x1000, .stack = 0x8000, .gdt = RAM_SIZE + 0x1000};
    expect_refusal(&g, vlab_mode_protected(g.vcpu, &g.mem, &s), "the GDT at");
    s = (struct vlab_mode_setup){.entry = 0x1000,
                                 .stack = 0x8000,
                                 .gdt = 0x500,
                                 .tss = 0x600,
                                 .pt_pool_start = 0x100000,
                                 .pt_pool_end = 0x110000,
                                 .identity_size = 0x1000};
    expect_refusal(&g, vlab_mode_long(g.vcpu, &g.mem, &s), "identity_size 0x1000 must be");
    s.identity_size = 1ull << 30;
    s.pt_pool_start = RAM_SIZE + 0x10000;
    s.pt_pool_end = RAM_SIZE + 0x20000;
    expect_refusal(&g, vlab_mode_long(g.vcpu, &g.mem, &s), "the page-table pool");
    s.pt_pool_start = 0x100000;
    s.pt_pool_end = 0x101000; /* one table page: no room for a PDPT and a PD */
    expect_refusal(&g, vlab_mode_long(g.vcpu, &g.mem, &s), "is too small");
    gvm_close(&g);
}

/* A real-mode base that is not selector * 16 is the VMM's error, and is said as one (on kvm
 * the guest would run from the base given; Unicorn derives the base from the selector). */
Test(core, hv_unicorn_real_mode_base_mismatch) {
    struct gvm g;
    gvm_open(&g, VLAB_HV_UNICORN);
    struct vlab_sregs s;
    cr_assert_eq(vlab_hv_get_sregs(g.vcpu, &s), VLAB_OK, "expected sregs");
    s.cs.selector = 0x1000;
    s.cs.base = 0;
    int rc = vlab_hv_set_sregs(g.vcpu, &s);
    const char *err = vlab_hv_error(g.hv);
    cr_assert(rc == VLAB_EINVAL && strstr(err, "CS") && strstr(err, "0x10000"),
              "expected VLAB_EINVAL naming CS and the base it should have (0x10000), not a limit "
              "of the backend; got %s: %s",
              vlab_strerror(rc), err);
    gvm_close(&g);
}

/* Unicorn cannot move a vCPU to a new mode with an OUT half done (its engine is rebuilt for the
 * new sregs); it says so instead of losing the instruction. (kvm accepts it: the OUT completes
 * on the next KVM_RUN.) */
Test(core, hv_unicorn_sregs_refused_while_exit_pending) {
    struct gvm g;
    gvm_open(&g, VLAB_HV_UNICORN);
    gvm_load(&g, "lm_hello", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    expect_exit(&g, VLAB_EXIT_IO, "lm_hello's first OUT");
    struct vlab_sregs s;
    cr_assert_eq(vlab_hv_get_sregs(g.vcpu, &s), VLAB_OK, "expected sregs");
    int rc = vlab_hv_set_sregs(g.vcpu, &s);
    cr_assert_eq(rc, VLAB_EUNSUPP, "expected EUNSUPP with an exit pending, got %s: %s",
                 vlab_strerror(rc), vlab_hv_error(g.hv));
    char out[64];
    run_collect(&g, 0x10, out, sizeof out);
    expect_exit(&g, VLAB_EXIT_HLT, "the guest goes on after the refusal");
    cr_assert_str_eq(out, "ello from long mode\n", "expected the rest of the greeting, got \"%s\"",
                     out);
    gvm_close(&g);
}

/* The address space this process has mapped (VmSize), in bytes. */
static uint64_t vm_size(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert_not_null(f, "expected /proc/self/statm");
    unsigned long pages = 0;
    cr_assert_eq(fscanf(f, "%lu", &pages), 1, "expected VmSize in /proc/self/statm");
    fclose(f);
    return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void limit_address_space(uint64_t bytes) {
    struct rlimit rl = {bytes, bytes};
    cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0, "expected RLIMIT_AS lowered: %s", strerror(errno));
}

/* Unicorn's engine needs ~1 GiB of address space for translated code: under a lower
 * RLIMIT_AS (the grader's) a run fails with a sentence and reason NONE, not a dead process.
 * (Criterion runs each test in a process of its own, so the limit ends with it.) */
Test(core, hv_unicorn_low_address_space_is_an_error) {
    struct gvm g;
    gvm_open(&g, VLAB_HV_UNICORN);
    gvm_load(&g, "lm_hello", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    limit_address_space(vm_size() + (256ull << 20));
    memset(&g.exit, 0xa5, sizeof g.exit);
    int rc = vlab_hv_run(g.vcpu, &g.exit);
    cr_assert_eq(rc, VLAB_ENOMEM, "expected ENOMEM, got %s", vlab_strerror(rc));
    cr_assert_eq(g.exit.reason, VLAB_EXIT_NONE, "expected reason NONE with the error, got %d",
                 (int)g.exit.reason);
    cr_assert(strstr(vlab_hv_error(g.hv), "RLIMIT_AS"),
              "expected the message to name RLIMIT_AS, "
              "got %s",
              vlab_hv_error(g.hv));
    gvm_close(&g);
}

/* Each new sregs rebuilds the engine: what the last build probed and reserved is given back,
 * so a VMM that switches modes many times stays within the same address space. */
Test(core, hv_unicorn_engine_rebuilds_do_not_leak) {
    struct gvm g;
    gvm_open(&g, VLAB_HV_UNICORN);
    gvm_load(&g, "lm_hello", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    limit_address_space(vm_size() + (3ull << 30));
    for (int i = 0; i < 6; i++) {
        gvm_enter(&g, LONG, GUEST_GPA); /* new sregs: the next run builds a new engine */
        char out[64];
        run_collect(&g, 0x10, out, sizeof out);
        expect_exit(&g, VLAB_EXIT_HLT, "long-mode hello ends with hlt");
    }
    gvm_close(&g);
}

/* What Unicorn cannot represent (hidden segment state it can only load from a descriptor) is
 * refused up front with a sentence, not run differently: a non-zero DS base in protected mode,
 * 16-bit protected mode, compatibility mode. */
Test(core, hv_unicorn_unrepresentable_state_refused) {
    struct gvm g;
    gvm_open(&g, VLAB_HV_UNICORN);
    gvm_load(&g, "pm_hello", GUEST_GPA);
    static const struct {
        enum guest_mode mode;
        const char *what;
    } c[] = {{PROTECTED, "segment base"}, {PROTECTED, "16-bit"}, {LONG, "compatibility"}};
    for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
        gvm_enter(&g, c[i].mode, GUEST_GPA);
        struct vlab_sregs s;
        cr_assert_eq(vlab_hv_get_sregs(g.vcpu, &s), VLAB_OK, "expected sregs");
        if (i == 0) s.ds.base = 0x1000;
        if (i == 1) s.cs.db = 0;
        if (i == 2) s.cs.l = 0, s.cs.db = 1;
        int rc = vlab_hv_set_sregs(g.vcpu, &s);
        cr_assert(rc == VLAB_EUNSUPP && strstr(vlab_hv_error(g.hv), c[i].what),
                  "expected EUNSUPP naming \"%s\", got %s: %s", c[i].what, vlab_strerror(rc),
                  vlab_hv_error(g.hv));
    }
    gvm_enter(&g, PROTECTED, GUEST_GPA); /* the flat state still runs after the refusals */
    char out[64];
    run_collect(&g, 0x10, out, sizeof out);
    expect_exit(&g, VLAB_EXIT_HLT, "protected-mode hello ends with hlt");
    cr_assert_str_eq(out, "hello from protected mode\n", "expected the greeting, got \"%s\"", out);
    gvm_close(&g);
}

/* The vCPU's CPUID is the host's as the backend can virtualize it: long mode included. */
HV_TEST(cpuid_has_long_mode) {
    struct gvm g;
    gvm_open(&g, kind);
    gvm_load(&g, "cpuid_lm", GUEST_GPA);
    gvm_enter(&g, LONG, GUEST_GPA);
    gvm_run(&g);
    cr_assert(g.exit.reason == VLAB_EXIT_IO && g.exit.io.port == 0x11 && g.exit.io.size == 4,
              "expected the guest's OUT of CPUID 0x80000001's EDX on port 0x11");
    uint32_t edx;
    memcpy(&edx, g.exit.io.data, 4);
    cr_assert(edx & (1u << 29),
              "expected CPUID 0x80000001 EDX bit 29 (long mode) set, EDX %#x: the vCPU's CPUID "
              "was never set (KVM_SET_CPUID2)",
              edx);
    gvm_close(&g);
}
