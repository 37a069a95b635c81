/* Task 3 (handout §4.5): guests that crash, wander, storm, spin or never stop talking. The
 * VMM reports each and carries on; it never crashes or reads outside guest RAM. */
#include <sys/resource.h>

#include "vmm_test.h"

static void expect_dump(const struct tvm *t) {
    cr_assert(strstr(t->res.dump, "rip") && strstr(t->res.dump, "cr0"),
              "expected a register dump in res.dump (vlab_hv_dump), got \"%.100s\" (§4.5)",
              t->res.dump);
    cr_assert(t->res.why[0], "expected a sentence in res.why (handout §4.5)");
}

VMM_TEST(hostile_triple_fault) {
    struct tvm t;
    tvm_run_guest(&t, kind, VMM_MODE_LONG, "triple_fault.bin", VMM_SHUTDOWN, "§4.5");
    cr_assert_eq(tvm_read_u64(&t, 0x700), 0x7e57,
                 "expected the guest to have run up to its ud2 (marker 0x7e57 at 0x700)");
    expect_dump(&t);
    tvm_free(&t);
}

VMM_TEST(hostile_wild_mmio) {
    struct tvm t;
    tvm_run_guest(&t, kind, VMM_MODE_LONG, "wild_mmio.bin", VMM_BAD_MMIO, "§4.4");
    cr_assert_eq(t.res.code, 0xe0001234,
                 "expected res.code = the address the guest touched (0xe0001234), got %#llx "
                 "(handout §4.4)",
                 (unsigned long long)t.res.code);
    cr_assert(strstr(t.res.why, "0xe0001234"),
              "expected the address in res.why, got \"%s\" "
              "(handout §4.4)",
              t.res.why);
    tvm_free(&t);
}

VMM_TEST(hostile_io_storm) {
    struct tvm t;
    tvm_config(&t, kind, VMM_MODE_LONG);
    t.cfg.max_exits = 5000;
    tvm_boot_cfg(&t, "io_storm.bin");
    tvm_run(&t);
    tvm_expect(&t, VMM_LIMIT, "§4.5");
    cr_assert_eq(tvm_total_exits(&t), 5000,
                 "expected the VMM to stop after exactly cfg.max_exits = 5000 exits, got %llu "
                 "(handout §4.5)",
                 (unsigned long long)tvm_total_exits(&t));
    cr_assert_eq(t.vm.unknown_io, 5000,
                 "expected the 5000 OUTs to port 0x80 counted in "
                 "vm->unknown_io, got %llu (handout §4.2)",
                 (unsigned long long)t.vm.unknown_io);
    tvm_free(&t);
}

VMM_TEST(hostile_endless_loop) {
    struct tvm t;
    tvm_config(&t, kind, VMM_MODE_LONG);
    t.cfg.watchdog_us = 200000;
    tvm_boot_cfg(&t, "spin.bin");
    tvm_run(&t);
    tvm_expect(&t, VMM_TIMEOUT, "§4.5 (the watchdog, armed in vmm_create)");
    expect_dump(&t);
    cr_assert_eq(t.vm.exits[VLAB_EXIT_TIMEOUT], 1,
                 "expected the TIMEOUT exit counted in vm->exits like every other, got %llu "
                 "(handout §4.1)",
                 (unsigned long long)t.vm.exits[VLAB_EXIT_TIMEOUT]);
    /* The units: the backend's own TIMEOUT exit says what the watchdog was armed with, and
     * cfg.watchdog_us is microseconds, as vlab_hv_set_watchdog takes them. */
    struct vlab_exit e;
    memset(&e, 0, sizeof e);
    cr_assert_eq(vlab_hv_run(t.vm.vcpu, &e), VLAB_OK, "expected the spinning guest to run on");
    cr_assert(e.reason == VLAB_EXIT_TIMEOUT && strstr(e.desc, "within 200000 us"),
              "expected the watchdog armed with cfg.watchdog_us = 200000 microseconds as they are "
              "(vlab_hv_set_watchdog(vcpu, cfg->watchdog_us)), the backend says \"%s\" "
              "(handout §2.1, §4.5)",
              e.desc);
    tvm_free(&t);
}

VMM_TEST(hostile_endless_output) {
    struct tvm t;
    tvm_config(&t, kind, VMM_MODE_LONG);
    t.cfg.max_output = 10000;
    tvm_boot_cfg(&t, "spew.bin");
    tvm_run(&t);
    tvm_expect(&t, VMM_LIMIT, "§4.5");
    cr_assert(t.vm.console.total > 10000 && t.vm.console.total <= 10001,
              "expected the VMM to stop as soon as the guest printed more than cfg.max_output = "
              "10000 bytes, it printed %llu (handout §4.5)",
              (unsigned long long)t.vm.console.total);
    tvm_free(&t);
}

/* A state VM entry refuses (KVM_RUN fails with KVM_EXIT_FAIL_ENTRY): a data segment in CS.
 * Unicorn only: AMD's SVM, which the test VM emulates, does not check it. */
Test(vmm, hostile_fail_entry) {
    struct tvm t;
    tvm_boot(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED, "hello_protected.bin");
    struct vlab_sregs s;
    cr_assert_eq(vlab_hv_get_sregs(t.vm.vcpu, &s), VLAB_OK);
    s.cs.type = 0x3;
    cr_assert_eq(vlab_hv_set_sregs(t.vm.vcpu, &s), VLAB_OK);
    tvm_run(&t);
    tvm_expect(&t, VMM_FAIL_ENTRY, "§4.5");
    expect_dump(&t);
    cr_assert(strstr(t.res.why, "CS"),
              "expected the backend's reason (CS) in res.why, got \"%s\" "
              "(handout §4.5)",
              t.res.why);
    tvm_free(&t);

    /* The backend itself failing: Unicorn builds its engine at the first run and needs about
     * 1 GiB of address space for it; with 16 MiB left, vlab_hv_run returns an error. */
    tvm_boot(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED, "hello_protected.bin");
    struct rlimit old;
    if (!tvm_squeeze_address_space(&old, "a backend that fails to run")) {
        tvm_free(&t);
        return;
    }
    int rc = vmm_run(&t.vm, &t.res);
    setrlimit(RLIMIT_AS, &old);
    cr_assert(rc != VLAB_OK && t.res.outcome == VMM_ERROR && t.res.why[0],
              "expected a failing vlab_hv_run to end vmm_run with its error, outcome '%s' and a "
              "sentence in res.why; got %s, '%s', \"%s\" (handout §4.1)",
              vmm_outcome_name(VMM_ERROR), vlab_strerror(rc), vmm_outcome_name(t.res.outcome),
              t.res.why);
    tvm_free(&t);
}
